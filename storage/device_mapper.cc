// Copyright 2026 The vifiler Authors.

#include "storage/device_mapper.h"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace storage {
namespace dm {
namespace {

constexpr char kControlPath[] = "/dev/mapper/control";
constexpr unsigned kControlMajor = 10;  // misc
constexpr char kFallbackNodeDir[] = "/dev/vifiler";
constexpr size_t kBufferSize = 16384;

// One ioctl argument: struct dm_ioctl followed by its data, on the caller's stack.
struct alignas(8) IoctlBuffer {
  char bytes[kBufferSize];
  dm_ioctl* io() { return reinterpret_cast<dm_ioctl*>(bytes); }
  char* data() { return bytes + sizeof(dm_ioctl); }
  size_t data_room() const { return kBufferSize - sizeof(dm_ioctl); }
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  const int fd_;
};

dm_ioctl* Init(IoctlBuffer* buf, const char* name, uint32_t flags) {
  memset(buf->bytes, 0, sizeof(dm_ioctl));
  dm_ioctl* io = buf->io();
  io->version[0] = DM_VERSION_MAJOR;
  io->data_size = kBufferSize;
  io->data_start = sizeof(dm_ioctl);
  io->flags = flags;
  if (name != nullptr) strncpy(io->name, name, DM_NAME_LEN - 1);
  return io;
}

// 0 or errno; EINTR is retried unless `interruptible`.
int Ioctl(int fd, unsigned long request, IoctlBuffer* buf, bool interruptible = false) {
  while (true) {
    if (ioctl(fd, request, buf->bytes) == 0) return 0;
    if (errno != EINTR || interruptible) return errno;
  }
}

dev_t DecodeDev(uint64_t dev) {
  // The kernel encodes with huge_encode_dev(): minor low byte, 12 bits major, rest of minor.
  const unsigned major_number = static_cast<unsigned>((dev & 0xfff00) >> 8);
  const unsigned minor_number = static_cast<unsigned>((dev & 0xff) | ((dev >> 12) & 0xfff00));
  return makedev(major_number, minor_number);
}

absl::Status Error(const char* what, const std::string& name, int err) {
  std::string hint;
  if (err == EPERM || err == EACCES) hint = " (device-mapper needs CAP_SYS_ADMIN)";
  if (err == ENODEV) hint = " (is the dm_mod kernel module loaded?)";
  return absl::ErrnoToStatus(err, absl::StrCat("device-mapper ", what, " ", name, hint));
}

// The misc minor of "device-mapper" in /proc/misc, or -1 when dm_mod is not loaded. Fixed
// buffer, plain syscalls.
int ControlMinor() {
  const int fd = open("/proc/misc", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[4096];
  size_t length = 0;
  while (length < sizeof(text) - 1) {
    const ssize_t n = read(fd, text + length, sizeof(text) - 1 - length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    length += static_cast<size_t>(n);
  }
  close(fd);
  text[length] = '\0';
  // Lines are "MINOR NAME".
  for (char* line = text; *line != '\0';) {
    char* end = strchr(line, '\n');
    if (end != nullptr) *end = '\0';
    char* name = nullptr;
    const long minor_number = strtol(line, &name, 10);
    while (name != nullptr && *name == ' ') ++name;
    if (name != nullptr && strcmp(name, "device-mapper") == 0)
      return static_cast<int>(minor_number);
    if (end == nullptr) break;
    line = end + 1;
  }
  return -1;
}

// Opens the control device, creating its node (when dm_mod is loaded but there is no devtmpfs
// node); -errno on failure.
int OpenControl() {
  int fd = open(kControlPath, O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    const int minor_number = ControlMinor();
    if (minor_number < 0) return -ENODEV;
    mkdir("/dev/mapper", 0755);
    if (mknod(kControlPath, S_IFCHR | 0600,
              makedev(kControlMajor, static_cast<unsigned>(minor_number))) != 0 &&
        errno != EEXIST) {
      return -errno;
    }
    fd = open(kControlPath, O_RDWR | O_CLOEXEC);
  }
  return fd >= 0 ? fd : -errno;
}

absl::Status ControlError(int neg_errno) {
  const int err = -neg_errno;
  std::string hint;
  if (err == ENOENT || err == ENODEV || err == ENXIO) {
    hint = " (is the dm_mod kernel module loaded?)";
  } else if (err == EPERM || err == EACCES) {
    hint = " (device-mapper needs CAP_SYS_ADMIN)";
  }
  return absl::ErrnoToStatus(err, absl::StrCat("open ", kControlPath, hint));
}

absl::Status CheckName(const std::string& name) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("bad device-mapper name '", name, "'"));
  }
  return absl::OkStatus();
}

void NoopHandler(int) {}

// A one-shot timer that sends SIGALRM to this thread only, so that a blocking ioctl in this
// thread returns EINTR after `after`. SIGALRM's handler is a no-op installed without SA_RESTART
// for the object's lifetime and the previous one restored after; SIGALRM is unblocked in this
// thread meanwhile. Raw syscalls: nothing here allocates.
class ThreadAlarm {
 public:
  explicit ThreadAlarm(absl::Duration after) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = NoopHandler;
    sigemptyset(&action.sa_mask);
    installed_ = sigaction(SIGALRM, &action, &old_action_) == 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    masked_ = pthread_sigmask(SIG_UNBLOCK, &set, &old_mask_) == 0;
    struct sigevent event;
    memset(&event, 0, sizeof(event));
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = SIGALRM;
    event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    armed_ = syscall(SYS_timer_create, CLOCK_MONOTONIC, &event, &timer_) == 0;
    if (armed_) {
      struct itimerspec when;
      memset(&when, 0, sizeof(when));
      if (after < absl::Nanoseconds(1)) after = absl::Nanoseconds(1);
      when.it_value = absl::ToTimespec(after);
      syscall(SYS_timer_settime, timer_, 0, &when, nullptr);
    }
  }
  ~ThreadAlarm() {
    // A signal the timer raised is delivered to this thread (unblocked, handler still ours) at
    // the latest on return from timer_delete, before the old disposition comes back.
    if (armed_) syscall(SYS_timer_delete, timer_);
    if (masked_) pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    if (installed_) sigaction(SIGALRM, &old_action_, nullptr);
  }
  ThreadAlarm(const ThreadAlarm&) = delete;
  ThreadAlarm& operator=(const ThreadAlarm&) = delete;
  bool armed() const { return armed_; }

 private:
  struct sigaction old_action_;
  sigset_t old_mask_;
  int timer_ = -1;  // kernel timer id
  bool installed_ = false;
  bool masked_ = false;
  bool armed_ = false;
};

// Walks the dm_target_spec list a DM_TABLE_STATUS left in buf. fn(spec, params) for each.
template <typename Fn>
bool ForEachTarget(IoctlBuffer* buf, Fn fn) {
  dm_ioctl* io = buf->io();
  if (io->flags & DM_BUFFER_FULL_FLAG) return false;
  size_t at = io->data_start;
  for (uint32_t i = 0; i < io->target_count; ++i) {
    if (at + sizeof(dm_target_spec) >= kBufferSize) return false;
    const dm_target_spec* spec = reinterpret_cast<const dm_target_spec*>(buf->bytes + at);
    const char* params = buf->bytes + at + sizeof(dm_target_spec);
    if (strnlen(params, kBufferSize - (at + sizeof(dm_target_spec))) ==
        kBufferSize - (at + sizeof(dm_target_spec))) {
      return false;
    }
    fn(*spec, params);
    at = io->data_start + spec->next;  // for status, `next` counts from the first spec
  }
  return true;
}

// Loads a one-target table into NAME's inactive slot; 0 or errno.
int LoadOneTarget(int control, const char* name, uint64_t sectors, const char* type,
                  const char* params, IoctlBuffer* buf) {
  dm_ioctl* io = Init(buf, name, 0);
  io->target_count = 1;
  dm_target_spec* spec = reinterpret_cast<dm_target_spec*>(buf->data());
  memset(spec, 0, sizeof(*spec));
  spec->sector_start = 0;
  spec->length = sectors;
  strncpy(spec->target_type, type, DM_MAX_TYPE_NAME - 1);
  char* p = buf->data() + sizeof(dm_target_spec);
  const size_t room = buf->data_room() - sizeof(dm_target_spec);
  const size_t length = strlen(params);
  if (length + 8 > room) return E2BIG;
  memcpy(p, params, length + 1);
  spec->next = static_cast<uint32_t>((sizeof(dm_target_spec) + length + 1 + 7) & ~size_t{7});
  return Ioctl(control, DM_TABLE_LOAD, buf);
}

// Suspends without flushing or freezing a file system, waiting at most `limit` for bios in
// flight; 0 or errno (EINTR: the limit passed, and the kernel undid the suspend).
int SuspendNoFlush(int control, const char* name, absl::Duration limit, IoctlBuffer* buf) {
  Init(buf, name, DM_SUSPEND_FLAG | DM_NOFLUSH_FLAG | DM_SKIP_LOCKFS_FLAG);
  ThreadAlarm alarm(limit);
  if (!alarm.armed()) return EAGAIN;
  return Ioctl(control, DM_DEV_SUSPEND, buf, /*interruptible=*/true);
}

absl::Status SuspendError(const char* what, const std::string& name, int err,
                          absl::Duration limit) {
  if (err == EINTR) {
    return absl::DeadlineExceededError(absl::StrCat(
        what, " ", name, ": I/O in flight to the backing device did not complete within ",
        absl::FormatDuration(limit), "; the device is NOT suspended and NOT fenced"));
  }
  if (err == EAGAIN) return absl::InternalError(absl::StrCat(what, " ", name, ": no timer"));
  return Error("suspend", name, err);
}

}  // namespace

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() >= DM_NAME_LEN) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return name != "." && name != ".." && name != "control";
}

std::string NodePath(const std::string& node_dir, const std::string& name) {
  return absl::StrCat(node_dir, "/", name);
}

absl::StatusOr<std::string> NodeDirectory(const std::string& preferred) {
  std::string dir = preferred;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // mkdir -p
    for (size_t at = 1; at <= dir.size(); ++at) {
      if (at == dir.size() || dir[at] == '/') {
        const std::string prefix = dir.substr(0, at);
        if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
          return absl::ErrnoToStatus(errno, absl::StrCat("create ", prefix));
        }
      }
    }
    struct statvfs vfs;
    if (statvfs(dir.c_str(), &vfs) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("statvfs ", dir));
    }
    if ((vfs.f_flag & ST_NODEV) == 0) return dir;
    dir = kFallbackNodeDir;
  }
  return absl::FailedPreconditionError(absl::StrCat("no directory for device nodes: ", preferred,
                                                    " and ", kFallbackNodeDir, " are nodev"));
}

absl::StatusOr<Device> CreateLinear(const std::string& name, dev_t backing, uint64_t start_sector,
                                    uint64_t sectors, const std::string& node_dir) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  if (sectors == 0) return absl::InvalidArgumentError(absl::StrCat("empty dm device ", name));
  const int control = OpenControl();
  if (control < 0) return ControlError(control);
  Fd fd(control);
  IoctlBuffer buf;
  Init(&buf, name.c_str(), 0);
  if (int err = Ioctl(control, DM_DEV_CREATE, &buf); err != 0) {
    if (err == EBUSY) {
      return absl::AlreadyExistsError(absl::StrCat("dm device ", name, " already exists"));
    }
    return Error("create", name, err);
  }
  Device device;
  device.name = name;
  device.dev = DecodeDev(buf.io()->dev);
  char params[64];
  snprintf(params, sizeof(params), "%u:%u %llu", major(backing), minor(backing),
           static_cast<unsigned long long>(start_sector));
  absl::Status status;
  int err = LoadOneTarget(control, name.c_str(), sectors, "linear", params, &buf);
  if (err != 0) status = Error("load linear table into", name, err);
  if (status.ok()) {
    Init(&buf, name.c_str(), 0);  // resume: activates the loaded table
    err = Ioctl(control, DM_DEV_SUSPEND, &buf);
    if (err != 0) status = Error("resume", name, err);
  }
  if (status.ok()) {
    device.node = NodePath(node_dir, name);
    unlink(device.node.c_str());
    if (mknod(device.node.c_str(), S_IFBLK | 0600, device.dev) != 0) {
      status = absl::ErrnoToStatus(errno, absl::StrCat("mknod ", device.node));
    }
  }
  if (!status.ok()) {
    Init(&buf, name.c_str(), 0);
    Ioctl(control, DM_DEV_REMOVE, &buf);
    return status;
  }
  return device;
}

absl::Status Fence(const std::string& name, absl::Duration drain_limit) {
  if (!ValidName(name)) return CheckName(name);
  const int control = OpenControl();
  if (control < 0) return ControlError(control);
  Fd fd(control);
  IoctlBuffer buf;
  const char* n = name.c_str();

  // 1. The active table: its length, and whether it is fenced already.
  Init(&buf, n, DM_STATUS_TABLE_FLAG);
  if (int err = Ioctl(control, DM_TABLE_STATUS, &buf); err != 0) {
    if (err == ENXIO) return absl::NotFoundError(absl::StrCat("no dm device ", name, " to fence"));
    return Error("table status of", name, err);
  }
  const bool suspended = (buf.io()->flags & DM_SUSPEND_FLAG) != 0;
  const bool active = (buf.io()->flags & DM_ACTIVE_PRESENT_FLAG) != 0;
  uint64_t sectors = 0;
  bool only_error = true;
  const bool parsed = ForEachTarget(&buf, [&](const dm_target_spec& spec, const char*) {
    if (spec.sector_start + spec.length > sectors) sectors = spec.sector_start + spec.length;
    if (strncmp(spec.target_type, "error", DM_MAX_TYPE_NAME) != 0) only_error = false;
  });
  if (!parsed) return absl::InternalError(absl::StrCat("cannot parse the table of ", name));
  // No table: the device has no sectors, every I/O to it fails already.
  if (!active || sectors == 0) return absl::OkStatus();
  if (only_error && !suspended) return absl::OkStatus();

  // 2. Suspend without flushing: bios already at the backing device are waited for (bounded by
  // the alarm), later ones are held back.
  if (int err = SuspendNoFlush(control, n, drain_limit, &buf); err != 0) {
    return SuspendError("fence", name, err, drain_limit);
  }
  // 3. The error target over the same length. On failure the device stays suspended: I/O
  // waits, nothing reaches the disk.
  int err = LoadOneTarget(control, n, sectors, "error", "", &buf);
  if (err != 0) return Error("load error table into (left suspended)", name, err);
  // 4. Resume with the error table: held-back and later I/O fails with EIO.
  Init(&buf, n, DM_NOFLUSH_FLAG | DM_SKIP_LOCKFS_FLAG);
  err = Ioctl(control, DM_DEV_SUSPEND, &buf);
  if (err != 0) {
    return Error("resume with error table (left suspended)", name, err);
  }
  return absl::OkStatus();
}

absl::Status Suspend(const std::string& name, absl::Duration drain_limit) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  const int control = OpenControl();
  if (control < 0) return ControlError(control);
  Fd fd(control);
  IoctlBuffer buf;
  if (int err = SuspendNoFlush(control, name.c_str(), drain_limit, &buf); err != 0) {
    if (err == ENXIO) return absl::NotFoundError(absl::StrCat("no dm device ", name));
    return SuspendError("suspend", name, err, drain_limit);
  }
  return absl::OkStatus();
}

absl::Status Resume(const std::string& name) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  const int control = OpenControl();
  if (control < 0) return ControlError(control);
  Fd fd(control);
  IoctlBuffer buf;
  Init(&buf, name.c_str(), DM_NOFLUSH_FLAG | DM_SKIP_LOCKFS_FLAG);
  if (int err = Ioctl(control, DM_DEV_SUSPEND, &buf); err != 0) return Error("resume", name, err);
  return absl::OkStatus();
}

absl::Status Remove(const std::string& name, bool* deferred) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  if (deferred != nullptr) *deferred = false;
  const int control = OpenControl();
  if (control < 0) return ControlError(control);
  Fd fd(control);
  IoctlBuffer buf;
  Init(&buf, name.c_str(), 0);
  int err = Ioctl(control, DM_DEV_REMOVE, &buf);
  if (err == EBUSY) {
    Init(&buf, name.c_str(), DM_DEFERRED_REMOVE);
    err = Ioctl(control, DM_DEV_REMOVE, &buf);
    if (err == 0 && deferred != nullptr) *deferred = true;
  }
  if (err == ENXIO) return absl::OkStatus();
  if (err != 0) return Error("remove", name, err);
  return absl::OkStatus();
}

absl::Status Rename(const std::string& name, const std::string& new_name) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  if (absl::Status s = CheckName(new_name); !s.ok()) return s;
  const int control = OpenControl();
  if (control < 0) return ControlError(control);
  Fd fd(control);
  IoctlBuffer buf;
  Init(&buf, name.c_str(), 0);
  memcpy(buf.data(), new_name.c_str(), new_name.size() + 1);
  if (int err = Ioctl(control, DM_DEV_RENAME, &buf); err != 0) {
    return Error("rename", absl::StrCat(name, " to ", new_name), err);
  }
  return absl::OkStatus();
}

absl::StatusOr<Info> GetInfo(const std::string& name) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  const int control = OpenControl();
  if (control < 0) return ControlError(control);
  Fd fd(control);
  IoctlBuffer buf;
  Init(&buf, name.c_str(), 0);
  Info info;
  if (int err = Ioctl(control, DM_DEV_STATUS, &buf); err != 0) {
    if (err == ENXIO) return info;
    return Error("status of", name, err);
  }
  const dm_ioctl* io = buf.io();
  info.exists = true;
  info.dev = DecodeDev(io->dev);
  info.open_count = io->open_count;
  info.suspended = (io->flags & DM_SUSPEND_FLAG) != 0;
  info.active_table = (io->flags & DM_ACTIVE_PRESENT_FLAG) != 0;
  info.deferred_remove = (io->flags & DM_DEFERRED_REMOVE) != 0;
  return info;
}

absl::StatusOr<bool> Exists(const std::string& name) {
  absl::StatusOr<Info> info = GetInfo(name);
  if (!info.ok()) return info.status();
  return info->exists;
}

absl::StatusOr<std::vector<Target>> ActiveTable(const std::string& name) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  const int control = OpenControl();
  if (control < 0) return ControlError(control);
  Fd fd(control);
  IoctlBuffer buf;
  Init(&buf, name.c_str(), DM_STATUS_TABLE_FLAG);
  if (int err = Ioctl(control, DM_TABLE_STATUS, &buf); err != 0) {
    if (err == ENXIO) return absl::NotFoundError(absl::StrCat("no dm device ", name));
    return Error("table status of", name, err);
  }
  std::vector<Target> targets;
  if ((buf.io()->flags & DM_ACTIVE_PRESENT_FLAG) == 0) return targets;
  const bool parsed = ForEachTarget(&buf, [&](const dm_target_spec& spec, const char* params) {
    Target t;
    t.start = spec.sector_start;
    t.length = spec.length;
    t.type = std::string(spec.target_type, strnlen(spec.target_type, DM_MAX_TYPE_NAME));
    t.params = params;
    targets.push_back(std::move(t));
  });
  if (!parsed) return absl::InternalError(absl::StrCat("cannot parse the table of ", name));
  return targets;
}

}  // namespace dm
}  // namespace storage
}  // namespace vifiler
