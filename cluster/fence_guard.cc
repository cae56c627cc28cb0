// Copyright 2026 The vifiler Authors.

#include "cluster/fence_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cluster/lease_mailbox.h"
#include "cluster/ownership_record.h"
#include "storage/block_file.h"

namespace vifiler {
namespace cluster {

// Slot states in the shared page.
enum : uint32_t {
  kSlotFree = 0,
  kSlotSetup = 1,  // being acquired: names being written, invisible to the guard
  kSlotIdle = 2,
  kSlotActive = 3,
  kSlotFenceAtExpiry = 4,
  kSlotFenced = 5,
};

struct GuardSlot {
  std::atomic<uint32_t> state{kSlotFree};
  // Odd while the names below are being written (a sequence lock for the guard's copies).
  std::atomic<uint32_t> generation{0};
  std::atomic<int64_t> lease_until_ns{0};
  char volume[FenceGuard::kMaxVolumeLabel + 1] = {};
  char devices[FenceGuard::kMaxDevices][FenceGuard::kMaxDeviceName + 1] = {};
  // The release to write when the filer dies (has_release 0: none).
  uint32_t has_release = 0;
  char record_path[FenceGuard::kMaxRecordPath + 1] = {};
  uint64_t record_offset = 0;
  char owner[kMaxFilerName + 1] = {};
  uint64_t epoch = 0;
  uint64_t incarnation = 0;
  int64_t lease_ns = 0;
};

struct GuardPage {
  GuardSlot slots[FenceGuard::kMaxSlots];
};

namespace {

constexpr size_t kPageSize = 4096;
static_assert(sizeof(GuardPage) <= kPageSize, "the guard's slots must fit in one page");
static_assert(std::atomic<int64_t>::is_always_lock_free &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "the shared page needs address-free atomics");

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

// Threads of this process per /proc/self/status; 0 when unknown.
int ThreadCount() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    int n = 0;
    if (absl::ConsumePrefix(&rest, "Threads:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &n)) {
      return n;
    }
  }
  return 0;
}

// ---- The guard process ----

struct SlotCopy {
  int index = 0;
  uint32_t state = kSlotFree;
  int64_t lease_until_ns = 0;
  std::string volume;
  std::vector<std::string> devices;
  bool has_release = false;
  FenceGuard::Release release;
};

void IgnoreSignal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_IGN;
  sigaction(sig, &sa, nullptr);
}

void DefaultSignal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigaction(sig, &sa, nullptr);
}

void OnAlarm(int) {}

// One line to stderr, abandoned after 200 ms (a full pipe must not hold the guard).
void WriteLine(const std::string& text) {
  const std::string line = text + "\n";
  struct itimerval timer;
  memset(&timer, 0, sizeof(timer));
  timer.it_value.tv_usec = 200000;
  setitimer(ITIMER_REAL, &timer, nullptr);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) break;  // EINTR from the alarm, or an error: give up
    done += static_cast<size_t>(n);
  }
  memset(&timer, 0, sizeof(timer));
  setitimer(ITIMER_REAL, &timer, nullptr);
}

void SleepNs(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  nanosleep(&ts, nullptr);
}

// Copies a slot the guard acts on; false when the filer is rewriting it (then it is not the
// slot the guard meant to act on any more).
bool CopySlot(const GuardPage& page, int index, SlotCopy* out) {
  const GuardSlot& slot = page.slots[index];
  for (int attempt = 0; attempt < 64; ++attempt) {
    const uint32_t before = slot.generation.load(std::memory_order_acquire);
    if ((before & 1) != 0) {
      SleepNs(100000);
      continue;
    }
    char volume[sizeof(slot.volume)];
    char devices[FenceGuard::kMaxDevices][FenceGuard::kMaxDeviceName + 1];
    memcpy(volume, slot.volume, sizeof(volume));
    memcpy(devices, slot.devices, sizeof(devices));
    const bool has_release = slot.has_release != 0;
    FenceGuard::Release release;
    if (has_release) {
      release.mailbox_path.assign(slot.record_path,
                                  strnlen(slot.record_path, sizeof(slot.record_path)));
      release.mailbox_offset = slot.record_offset;
      release.lease_duration = absl::Nanoseconds(slot.lease_ns);
      release.owner.assign(slot.owner, strnlen(slot.owner, sizeof(slot.owner)));
      release.epoch = slot.epoch;
      release.incarnation = slot.incarnation;
    }
    out->state = slot.state.load(std::memory_order_acquire);
    out->lease_until_ns = slot.lease_until_ns.load(std::memory_order_acquire);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.generation.load(std::memory_order_relaxed) != before) continue;
    out->index = index;
    out->has_release = has_release;
    out->release = std::move(release);
    out->volume.assign(volume, strnlen(volume, sizeof(volume)));
    out->devices.clear();
    for (const auto& device : devices) {
      const size_t n = strnlen(device, sizeof(device));
      if (n > 0) out->devices.emplace_back(device, n);
    }
    return true;
  }
  return false;
}

// Every slot the guard must fence when the filer goes: ACTIVE or FENCE_AT_EXPIRY.
std::vector<SlotCopy> HeldSlots(const GuardPage& page) {
  std::vector<SlotCopy> held;
  for (int i = 0; i < FenceGuard::kMaxSlots; ++i) {
    const uint32_t state = page.slots[i].state.load(std::memory_order_acquire);
    if (state != kSlotActive && state != kSlotFenceAtExpiry) continue;
    SlotCopy copy;
    if (CopySlot(page, i, &copy) &&
        (copy.state == kSlotActive || copy.state == kSlotFenceAtExpiry)) {
      held.push_back(std::move(copy));
    }
  }
  return held;
}

std::string Describe(const SlotCopy& slot) {
  return absl::StrCat(slot.volume.empty() ? absl::StrCat("slot ", slot.index) : slot.volume, " [",
                      absl::StrJoin(slot.devices, ","), "]");
}

// Runs the fence action for every slot, each in a child, all waited for at most fence_timeout.
// Returns a short summary per slot ("ok", "failed", "timed out", "no action").
std::vector<std::string> RunFences(const std::vector<SlotCopy>& slots,
                                   const FenceGuardOptions& options) {
  std::vector<std::string> outcome(slots.size(), "no action");
  if (!options.fence) return outcome;
  std::vector<pid_t> children(slots.size(), -1);
  for (size_t i = 0; i < slots.size(); ++i) {
    const pid_t child = fork();
    if (child == 0) {
      absl::Status s = options.fence(slots[i].volume, slots[i].devices);
      if (!s.ok()) {
        WriteLine(
            absl::StrCat("vifiler guard: fencing ", Describe(slots[i]), " failed: ", s.ToString()));
      }
      _exit(s.ok() ? 0 : 1);
    }
    if (child < 0) {  // cannot fork: fence here, unbounded, rather than not at all
      outcome[i] = options.fence(slots[i].volume, slots[i].devices).ok() ? "ok" : "failed";
      continue;
    }
    children[i] = child;
    outcome[i] = "timed out";
  }
  const int64_t deadline = MonotonicNs() + absl::ToInt64Nanoseconds(options.fence_timeout);
  while (true) {
    bool waiting = false;
    for (size_t i = 0; i < children.size(); ++i) {
      if (children[i] < 0) continue;
      int status = 0;
      const pid_t r = waitpid(children[i], &status, WNOHANG);
      if (r == 0) {
        waiting = true;
        continue;
      }
      outcome[i] =
          r == children[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed";
      children[i] = -1;
    }
    if (!waiting || MonotonicNs() >= deadline) break;
    SleepNs(1000000);
  }
  for (pid_t child : children) {
    if (child < 0) continue;
    kill(child, SIGKILL);
    waitpid(child, nullptr, WNOHANG);  // never wait for a child stuck in the kernel
  }
  return outcome;
}

std::string Summary(const std::vector<SlotCopy>& slots, const std::vector<std::string>& outcome) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < slots.size(); ++i) {
    parts.push_back(absl::StrCat(Describe(slots[i]), ": ", outcome[i]));
  }
  return absl::StrJoin(parts, "; ");
}

void CloseOtherFds(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  unsigned int from = 0;
  for (int fd : keep) {
    if (fd < 0) continue;
    const unsigned int upto = static_cast<unsigned int>(fd);
    if (upto > from && close_range(from, upto - 1, 0) != 0) {
      for (unsigned int f = from; f < upto; ++f) close(static_cast<int>(f));
    }
    from = upto + 1;
  }
  if (close_range(from, ~0u, 0) != 0) {
    for (unsigned int f = from; f < from + 4096; ++f) close(static_cast<int>(f));
  }
}

class Guard {
 public:
  Guard(GuardPage* page, int from_filer, pid_t filer, const FenceGuardOptions& options)
      : page_(*page),
        from_filer_(from_filer),
        filer_(filer),
        options_(options),
        tick_ns_(std::max<int64_t>(absl::ToInt64Nanoseconds(options.tick), 1000000)),
        margin_ns_(absl::ToInt64Nanoseconds(options.margin)) {}

  [[noreturn]] void Run() {
    // glibc 2.36's <sys/pidfd.h> lacks extern "C": the pidfd system calls are made directly.
    filer_pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, filer_, 0));
    // Still our parent after pidfd_open: the pidfd names the filer, not a reused pid.
    if (getppid() != filer_) FilerGone();
    while (true) {
      const int64_t now = MonotonicNs();
      int64_t wake = now + tick_ns_;
      std::vector<SlotCopy> ended;
      for (int i = 0; i < FenceGuard::kMaxSlots; ++i) {
        const GuardSlot& slot = page_.slots[i];
        const uint32_t state = slot.state.load(std::memory_order_acquire);
        if (state != kSlotActive && state != kSlotFenceAtExpiry) continue;
        const int64_t act_at = slot.lease_until_ns.load(std::memory_order_acquire) - margin_ns_;
        if (act_at > now) {
          wake = std::min(wake, act_at);
          continue;
        }
        SlotCopy copy;
        if (!CopySlot(page_, i, &copy) || copy.lease_until_ns - margin_ns_ > MonotonicNs()) {
          continue;  // rewritten or renewed meanwhile
        }
        if (copy.state == kSlotActive) LeaseRanOut(copy);
        if (copy.state == kSlotFenceAtExpiry) ended.push_back(std::move(copy));
      }
      if (!ended.empty()) FenceEnded(ended);
      WaitForInput(std::max<int64_t>(wake - MonotonicNs(), 0));
    }
  }

 private:
  // An active lease was not renewed in time: fence everything held, kill the filer, exit.
  [[noreturn]] void LeaseRanOut(const SlotCopy& expired) {
    const int64_t left_ms = (expired.lease_until_ns - MonotonicNs()) / 1000000;
    std::vector<SlotCopy> held = HeldSlots(page_);
    std::stable_partition(held.begin(), held.end(),
                          [&](const SlotCopy& s) { return s.index == expired.index; });
    if (held.empty() || held[0].index != expired.index) held.insert(held.begin(), expired);
    const std::vector<std::string> outcome = RunFences(held, options_);
    const bool killed = KillFiler();
    WriteLine(absl::StrCat(
        "vifiler guard: the lease on ", Describe(expired), " was not renewed (it ends in ", left_ms,
        " ms; guard margin ", absl::FormatDuration(options_.margin), "): fenced ",
        Summary(held, outcome), "; ", killed ? "killed" : "could not kill", " filer pid ", filer_));
    _exit(2);
  }

  // Volumes the filer stopped using reached their lease's end: fence them, the filer lives on.
  void FenceEnded(const std::vector<SlotCopy>& ended) {
    const std::vector<std::string> outcome = RunFences(ended, options_);
    for (const SlotCopy& slot : ended) {
      uint32_t expected = kSlotFenceAtExpiry;
      page_.slots[slot.index].state.compare_exchange_strong(expected, kSlotFenced,
                                                            std::memory_order_acq_rel);
    }
    if (options_.fence) {
      WriteLine(absl::StrCat("vifiler guard: lease ended on a volume filer pid ", filer_,
                             " no longer uses: fenced ", Summary(ended, outcome)));
    }
  }

  [[noreturn]] void FilerGone() {
    const std::vector<SlotCopy> held = HeldSlots(page_);
    if (!held.empty()) {
      const std::vector<std::string> outcome = RunFences(held, options_);
      std::string released;
      for (size_t i = 0; i < held.size(); ++i) {
        if (held[i].state != kSlotActive || !held[i].has_release) continue;
        if (outcome[i] != "ok" && outcome[i] != "no action") continue;
        absl::Status s = WriteRelease(held[i].release);
        absl::StrAppend(&released, "; released ", held[i].volume, ": ",
                        s.ok() ? "ok" : std::string(s.message()));
      }
      WriteLine(absl::StrCat("vifiler guard: filer pid ", filer_, " is gone: fenced ",
                             Summary(held, outcome), released));
    }
    _exit(0);
  }

  // The filer is dead and the volume fenced: nothing of this host can write it any more. Its
  // last word, in its name, on its mailbox.
  static absl::Status WriteRelease(const FenceGuard::Release& r) {
    storage::BlockFileOptions o;
    o.offset = r.mailbox_offset;
    o.size = storage::kBlockSize;
    absl::StatusOr<std::unique_ptr<storage::BlockFile>> file =
        storage::OpenBlockFile(r.mailbox_path, o);
    if (!file.ok()) return file.status();
    MailboxStore box(file->get());
    absl::StatusOr<MailboxRead> now = box.Read();
    if (!now.ok()) return now.status();
    if (now->state != BlockState::kValid || now->entry.writer != r.owner ||
        now->entry.incarnation != r.incarnation || now->entry.epoch != r.epoch) {
      return absl::FailedPreconditionError("the mailbox's last beat is not the holder's");
    }
    MailboxEntry last = now->entry;
    ++last.counter;
    last.released = true;
    last.unix_time_ns = absl::ToUnixNanos(absl::Now());
    if (absl::Status s = box.Write(last); !s.ok()) return s;
    return (*file)->Sync();
  }

  bool KillFiler() {
    if (filer_pidfd_ >= 0)
      return syscall(SYS_pidfd_send_signal, filer_pidfd_, SIGKILL, nullptr, 0) == 0;
    if (getppid() != filer_) return false;  // it is gone already; the pid may be reused
    return kill(filer_, SIGKILL) == 0;
  }

  void WaitForInput(int64_t timeout_ns) {
    struct pollfd p;
    p.fd = from_filer_;
    p.events = POLLIN;
    p.revents = 0;
    struct timespec ts;
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    const int r = ppoll(&p, 1, &ts, nullptr);
    if (r <= 0) return;  // timeout or EINTR
    char buffer[64];
    const ssize_t n = read(from_filer_, buffer, sizeof(buffer));
    if (n > 0) return;  // a poke: look at the slots again
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    FilerGone();  // EOF (or the pipe broke): the filer is gone
  }

  GuardPage& page_;
  const int from_filer_;
  const pid_t filer_;
  const FenceGuardOptions& options_;
  const int64_t tick_ns_;
  const int64_t margin_ns_;
  int filer_pidfd_ = -1;
};

[[noreturn]] void GuardMain(GuardPage* page, int from_filer, int to_filer, pid_t filer,
                            const FenceGuardOptions& options) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig :
       {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU}) {
    IgnoreSignal(sig);
  }
  // The filer's handlers (fatal-signal reporting and the like) must not run here.
  for (int sig : {SIGCHLD, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS}) {
    DefaultSignal(sig);
  }
  struct sigaction alarm;
  memset(&alarm, 0, sizeof(alarm));
  alarm.sa_handler = OnAlarm;  // no SA_RESTART: a blocked write returns EINTR
  sigaction(SIGALRM, &alarm, nullptr);
  prctl(PR_SET_NAME, "vifiler-guard", 0, 0, 0);
  // Best effort: wake up promptly on a loaded host (refused without the privilege).
  setpriority(PRIO_PROCESS, 0, -10);
  std::vector<int> keep = options.keep_fds;
  keep.insert(keep.end(), {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, from_filer, to_filer});
  CloseOtherFds(keep);
  fcntl(from_filer, F_SETFL, fcntl(from_filer, F_GETFL) | O_NONBLOCK);
  Guard(page, from_filer, filer, options).Run();
}

const char* SlotStateName(uint32_t state) {
  switch (state) {
    case kSlotFree:
      return "free";
    case kSlotSetup:
      return "setup";
    case kSlotIdle:
      return "idle";
    case kSlotActive:
      return "active";
    case kSlotFenceAtExpiry:
      return "fence-at-expiry";
    case kSlotFenced:
      return "fenced";
  }
  return "unknown";
}

}  // namespace

// ---- The filer's side ----

absl::StatusOr<std::unique_ptr<FenceGuard>> FenceGuard::Spawn(FenceGuardOptions options) {
  if (options.tick <= absl::ZeroDuration() || options.margin < absl::ZeroDuration() ||
      options.fence_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("fence guard: tick and fence_timeout must be positive");
  }
  // A thread that has just been joined may still be counted for a moment: look a few times.
  int threads = ThreadCount();
  for (int i = 0; i < 10 && threads > 1; ++i) {
    absl::SleepFor(absl::Milliseconds(2));
    threads = ThreadCount();
  }
  if (threads > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("fence guard: must be spawned before any thread starts (this process runs ",
                     threads, " threads)"));
  }
  void* memory =
      mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return ErrnoError("fence guard: mmap");
  GuardPage* page = new (memory) GuardPage();
  int to_guard[2];
  int from_guard[2];
  if (pipe2(to_guard, O_CLOEXEC) != 0) {
    absl::Status s = ErrnoError("fence guard: pipe");
    munmap(memory, kPageSize);
    return s;
  }
  if (pipe2(from_guard, O_CLOEXEC) != 0) {
    absl::Status s = ErrnoError("fence guard: pipe");
    close(to_guard[0]);
    close(to_guard[1]);
    munmap(memory, kPageSize);
    return s;
  }
  const pid_t filer = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    absl::Status s = ErrnoError("fence guard: fork");
    for (int fd : {to_guard[0], to_guard[1], from_guard[0], from_guard[1]}) close(fd);
    munmap(memory, kPageSize);
    return s;
  }
  if (pid == 0) {
    close(to_guard[1]);
    close(from_guard[0]);
    GuardMain(page, to_guard[0], from_guard[1], filer, options);
  }
  close(to_guard[0]);
  close(from_guard[1]);
  fcntl(to_guard[1], F_SETFL, fcntl(to_guard[1], F_GETFL) | O_NONBLOCK);
  fcntl(from_guard[0], F_SETFL, fcntl(from_guard[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<FenceGuard>(
      new FenceGuard(page, pid, to_guard[1], from_guard[0], std::move(options)));
}

FenceGuard::FenceGuard(GuardPage* page, pid_t pid, int to_guard, int from_guard,
                       FenceGuardOptions options)
    : page_(page),
      pid_(pid),
      options_(std::move(options)),
      from_guard_(from_guard),
      to_guard_(to_guard) {}

FenceGuard::~FenceGuard() {
  Stop(absl::Now() + options_.fence_timeout + absl::Seconds(2)).IgnoreError();
  close(from_guard_);
  page_->~GuardPage();
  munmap(page_, kPageSize);
}

bool FenceGuard::Reap(bool block_until_deadline, absl::Time deadline, absl::Status* status) const {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (!reaped_) {
        int wstatus = 0;
        const pid_t r = waitpid(pid_, &wstatus, WNOHANG);
        if (r == pid_) {
          reaped_ = true;
          if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
            exit_ = absl::OkStatus();
          } else if (WIFEXITED(wstatus)) {
            exit_ = absl::InternalError(
                absl::StrCat("fence guard exited with status ", WEXITSTATUS(wstatus)));
          } else {
            exit_ = absl::InternalError(
                absl::StrCat("fence guard killed by signal ", WTERMSIG(wstatus)));
          }
        } else if (r < 0 && errno != EINTR) {  // not our child any more: someone else reaped it
          reaped_ = true;
          exit_ = absl::InternalError(absl::StrCat("fence guard: waitpid: ", strerror(errno)));
        }
      }
      if (reaped_) {
        if (status != nullptr) *status = exit_;
        return true;
      }
    }
    if (!block_until_deadline || absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
}

bool FenceGuard::alive() const {
  if (dead_.load(std::memory_order_acquire)) return false;
  struct pollfd p;
  p.fd = from_guard_;
  p.events = POLLIN;
  p.revents = 0;
  if (poll(&p, 1, 0) <= 0) return true;
  if ((p.revents & POLLIN) != 0) {
    char c;
    const ssize_t n = read(from_guard_, &c, 1);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return true;
  }
  dead_.store(true, std::memory_order_release);
  Reap(false, absl::InfinitePast(), nullptr);
  return false;
}

absl::Status FenceGuard::Stop(absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (to_guard_ >= 0) {
      close(to_guard_);
      to_guard_ = -1;
    }
  }
  absl::Status status;
  if (!Reap(true, deadline, &status)) {
    kill(pid_, SIGKILL);  // still our unreaped child: the pid cannot have been reused
    Reap(true, absl::Now() + absl::Seconds(1), &status);
    if (status.ok()) status = absl::DeadlineExceededError("fence guard did not exit in time");
  }
  dead_.store(true, std::memory_order_release);
  return status;
}

void FenceGuard::Poke() {
  absl::MutexLock lock(&mu_);
  if (to_guard_ >= 0) {
    const char c = 'p';
    if (write(to_guard_, &c, 1) < 0) {
      // Full pipe (the guard has pokes to read already) or a dead guard: nothing to do.
    }
  }
}

absl::StatusOr<int> FenceGuard::AcquireSlot(absl::string_view volume,
                                            const std::vector<std::string>& devices,
                                            const Release* release) {
  if (release != nullptr &&
      (release->mailbox_path.empty() || release->mailbox_path.size() > kMaxRecordPath ||
       !ValidFilerName(release->owner) || release->lease_duration <= absl::ZeroDuration())) {
    return absl::InvalidArgumentError("fence guard: bad release (record path or owner)");
  }
  if (devices.size() > static_cast<size_t>(kMaxDevices)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fence guard: ", devices.size(), " devices, at most ", kMaxDevices));
  }
  for (const std::string& device : devices) {
    if (device.empty() || device.size() > kMaxDeviceName ||
        device.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("fence guard: bad device name \"", device,
                                                     "\" (1..", kMaxDeviceName, " bytes)"));
    }
  }
  for (int i = 0; i < kMaxSlots; ++i) {
    GuardSlot& slot = page_->slots[i];
    uint32_t expected = kSlotFree;
    if (!slot.state.compare_exchange_strong(expected, kSlotSetup, std::memory_order_acq_rel)) {
      expected = kSlotFenced;
      if (!slot.state.compare_exchange_strong(expected, kSlotSetup, std::memory_order_acq_rel)) {
        continue;
      }
    }
    slot.generation.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    memset(slot.volume, 0, sizeof(slot.volume));
    memcpy(slot.volume, volume.data(), std::min(volume.size(), kMaxVolumeLabel));
    memset(slot.devices, 0, sizeof(slot.devices));
    for (size_t d = 0; d < devices.size(); ++d) {
      memcpy(slot.devices[d], devices[d].data(), devices[d].size());
    }
    slot.has_release = release != nullptr ? 1 : 0;
    memset(slot.record_path, 0, sizeof(slot.record_path));
    memset(slot.owner, 0, sizeof(slot.owner));
    if (release != nullptr) {
      memcpy(slot.record_path, release->mailbox_path.data(), release->mailbox_path.size());
      memcpy(slot.owner, release->owner.data(), release->owner.size());
      slot.record_offset = release->mailbox_offset;
      slot.lease_ns = absl::ToInt64Nanoseconds(release->lease_duration);
      slot.epoch = release->epoch;
      slot.incarnation = release->incarnation;
    }
    slot.generation.fetch_add(1, std::memory_order_release);
    slot.lease_until_ns.store(0, std::memory_order_relaxed);
    slot.state.store(kSlotIdle, std::memory_order_release);
    return i;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("fence guard: all ", kMaxSlots, " volume slots are in use"));
}

void FenceGuard::Publish(int slot, absl::Duration lease_until) {
  if (!ValidSlot(slot)) return;
  GuardSlot& s = page_->slots[slot];
  const uint32_t state = s.state.load(std::memory_order_acquire);
  if (state != kSlotIdle && state != kSlotActive) return;
  s.lease_until_ns.store(absl::ToInt64Nanoseconds(lease_until), std::memory_order_release);
  uint32_t expected = kSlotIdle;
  if (s.state.compare_exchange_strong(expected, kSlotActive, std::memory_order_acq_rel)) Poke();
}

void FenceGuard::FenceAtExpiry(int slot) {
  if (!ValidSlot(slot)) return;
  GuardSlot& s = page_->slots[slot];
  uint32_t expected = kSlotActive;
  if (s.state.compare_exchange_strong(expected, kSlotFenceAtExpiry, std::memory_order_acq_rel)) {
    Poke();
    return;
  }
  expected = kSlotIdle;
  s.state.compare_exchange_strong(expected, kSlotFree, std::memory_order_acq_rel);
}

void FenceGuard::FreeSlot(int slot) {
  if (!ValidSlot(slot)) return;
  page_->slots[slot].state.store(kSlotFree, std::memory_order_release);
}

std::string FenceGuard::SlotState(int slot) const {
  if (!ValidSlot(slot)) return "invalid";
  return SlotStateName(page_->slots[slot].state.load(std::memory_order_acquire));
}

}  // namespace cluster
}  // namespace vifiler
