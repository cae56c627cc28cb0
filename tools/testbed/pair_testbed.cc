// Copyright 2026 The vifiler Authors.

#include "tools/testbed/pair_testbed.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tools/testbed/status_watch.h"

namespace vifiler {
namespace testbed {
namespace {

constexpr absl::Duration kPoll = absl::Milliseconds(50);
// The watcher writes a status file at least every request timeout (1.5 s) plus its interval;
// this much silence means it is stuck or gone.
constexpr absl::Duration kWatcherSilence = absl::Seconds(20);
// RestoreBothUp: a filer whose admin port has not answered for this long is checked for exit.
constexpr absl::Duration kUnreachableCheck = absl::Seconds(8);
// RestoreBothUp: one filer waiting for giveback while the other is up without holding its
// volume for this long is the stuck state (nobody can give back).
constexpr absl::Duration kStuckLimit = absl::Seconds(20);

// A guest kernel that panics early under emulation on a loaded host ("IO-APIC + timer doesn't
// work!") is a test bed flake, not a product failure: boot again.
constexpr int kBootAttempts = 3;
bool BootFlake(const absl::Status& s) {
  return absl::StrContains(s.message(), "died while booting");
}
std::string FirstLine(absl::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

const std::vector<std::string>& PairHosts() {
  static const std::vector<std::string>* hosts = new std::vector<std::string>{"a", "b"};
  return *hosts;
}

bool ServingAlone(const FilerStatus& s) {
  return s.reachable && s.Get("state") == "up" && s.Get("primary_port") == "open" &&
         s.Get("secondary_port") == "closed" && s.Get("partner_state") == "up";
}

}  // namespace

std::string FileTail(const std::string& path, int lines) {
  std::ifstream in(path);
  if (!in) return "";
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const std::string& l : last) absl::StrAppend(&out, l, "\n");
  return out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FilerStatus::Get(const std::string& key) const {
  auto it = kv.find(key);
  return it == kv.end() ? std::string() : it->second;
}

std::string FilerStatus::Summary() const {
  if (seq == 0) return "no status yet";
  if (!reachable) return absl::StrCat("unreachable (", Get("error"), ")");
  std::string out;
  for (const char* key :
       {"state", "epoch", "primary_port", "secondary_port", "partner_epoch", "partner_state",
        "interconnect", "partner_mailbox_age_ms", "lease_ms_left", "in_progress", "last_change"}) {
    auto it = kv.find(key);
    if (it != kv.end()) absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", it->second);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<PairTestbed>> PairTestbed::Create(
    const PairTestbedOptions& options) {
  if (options.build_dir.empty() || options.share_dir.empty() || options.watch_command.empty()) {
    return absl::InvalidArgumentError("PairTestbed: build_dir, share_dir and watch_command needed");
  }
  std::unique_ptr<PairTestbed> tb(new PairTestbed(options));
  VmCluster::Options vo;
  vo.hosts = {"a", "b", "c"};
  vo.disks = {{"va", options.disk_mib}, {"vb", options.disk_mib}};
  // The guests see the host's root read-only, but /tmp is their own tmpfs: share the build
  // directory too, so that a build under /tmp (a clone there) is visible in them. share_dir is
  // usually inside it and is mounted after it.
  vo.shares = {options.build_dir, options.share_dir};
  vo.memory_mib = options.memory_mib;
  vo.script = options.vm_cluster_script;
  vo.keep_dir = options.keep_cluster;
  vo.boot_timeout = options.boot_timeout;
  absl::StatusOr<std::unique_ptr<VmCluster>> up = VmCluster::Up(vo);
  for (int attempt = 2; !up.ok() && BootFlake(up.status()) && attempt <= kBootAttempts; ++attempt) {
    std::cerr << "[testbed] the guests did not boot: " << FirstLine(up.status().message())
              << "; attempt " << attempt << " of " << kBootAttempts << std::endl;
    up = VmCluster::Up(vo);
  }
  if (!up.ok()) return up.status();
  tb->cluster_ = std::move(*up);
  for (const std::string& host : tb->cluster_->hosts()) {
    absl::StatusOr<std::string> ip = tb->cluster_->Ip(host);
    if (!ip.ok()) return ip.status();
    tb->ips_[host] = *ip;
  }

  tb->hosts_file_ = options.share_dir + "/hosts";
  {
    std::ofstream hosts(tb->hosts_file_);
    hosts << tb->ips_["a"] << " filer-a\n"
          << tb->ips_["b"] << " filer-b\n"
          << tb->ips_["b"] << " filer-a-failover\n"
          << tb->ips_["a"] << " filer-b-failover\n";
    if (!hosts) return absl::InternalError("cannot write " + tb->hosts_file_);
  }
  // The pair key both filers authenticate their interconnect with (64 random hex digits, mode
  // 0600); the guests read it through the share.
  tb->key_file_ = options.share_dir + "/pair.key";
  {
    std::random_device random;
    std::string key;
    for (int i = 0; i < 8; ++i) key += absl::StrCat(absl::Hex(random(), absl::kZeroPad8));
    key += "\n";
    const int fd = open(tb->key_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const bool written = fd >= 0 &&
                         write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
                         fchmod(fd, 0600) == 0;
    if (fd >= 0) close(fd);
    if (!written) return absl::InternalError("cannot write " + tb->key_file_);
  }

  for (const std::string& host : PairHosts()) {
    absl::StatusOr<ExecResult> r =
        tb->cluster_->Exec(host,
                           {tb->Bin("tools/vifilerd"), "--format", "--volume=" + VolumeDevice(host),
                            "--format_label=v" + host},
                           absl::Seconds(180));
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return absl::InternalError(absl::StrCat("vifilerd --format on ", host, " failed (exit ",
                                              r->exit_code, "): ", r->out, r->err));
    }
  }

  std::vector<std::string> watch = {"sh", "-c", "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1", "sh",
                                    options.share_dir + "/watch.log"};
  watch.insert(watch.end(), options.watch_command.begin(), options.watch_command.end());
  watch.push_back(
      absl::StrCat("--testbed_filers=filer-a=", tb->ips_["a"], ",filer-b=", tb->ips_["b"]));
  watch.push_back("--testbed_out_dir=" + options.share_dir);
  watch.push_back(absl::StrCat("--testbed_secret=", kAdminSecret));
  absl::StatusOr<std::string> job = tb->cluster_->Start("c", watch);
  if (!job.ok()) return job.status();
  tb->watch_job_ = *job;
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while (tb->Status("a").seq == 0 || tb->Status("b").seq == 0) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the status watcher on c wrote no status files in 90 s; its log:\n",
                       FileTail(options.share_dir + "/watch.log", 20)));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return tb;
}

PairTestbed::~PairTestbed() { cluster_.reset(); }

std::string PairTestbed::Ip(const std::string& host) const {
  auto it = ips_.find(host);
  return it == ips_.end() ? std::string() : it->second;
}

std::string PairTestbed::Bin(const std::string& relative) const {
  return options_.build_dir + "/" + relative;
}

std::string PairTestbed::FilerLog(const std::string& host) const {
  return absl::StrCat(options_.share_dir, "/", FilerName(host), ".log");
}

const std::string& PairTestbed::filer_job(const std::string& host) const {
  static const std::string* none = new std::string();
  auto it = filer_job_.find(host);
  return it == filer_job_.end() ? *none : it->second;
}

const std::string& PairTestbed::filer_fabric(const std::string& host) const {
  static const std::string* none = new std::string();
  auto it = filer_fabric_.find(host);
  return it == filer_fabric_.end() ? *none : it->second;
}

absl::Status PairTestbed::StartFiler(const std::string& host, const std::string& fabric,
                                     const std::vector<std::string>& extra_flags) {
  if (!filer_job(host).empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(FilerName(host), " already runs as job ", filer_job(host)));
  }
  const std::string partner = Partner(host);
  std::vector<std::string> argv = {
      "sh",
      "-c",
      "log=$1; shift; echo \"=== $(date '+%F %T.%N') $(hostname) boot $VMC_BOOT: $*\" >>\"$log\";"
      " exec \"$@\" >>\"$log\" 2>&1",
      "sh",
      FilerLog(host),
      Bin("tools/vifilerd"),
      "--name=" + FilerName(host),
      "--address=" + Ip(host),
      "--volume=" + VolumeDevice(host),
      "--partner=" + FilerName(partner),
      "--partner_volume=" + VolumeDevice(partner),
      "--hosts_file=" + hosts_file_,
      "--pair_key_file=" + key_file_,
      "--fabric=" + fabric,
      absl::StrCat("--admin_secret=", kAdminSecret)};
  argv.insert(argv.end(), options_.filer_flags.begin(), options_.filer_flags.end());
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  absl::StatusOr<std::string> job = cluster_->Start(host, argv);
  if (!job.ok()) return job.status();
  filer_job_[host] = *job;
  filer_fabric_[host] = fabric;
  return absl::OkStatus();
}

absl::StatusOr<int> PairTestbed::WaitFilerExit(const std::string& host, absl::Duration timeout) {
  const std::string job = filer_job(host);
  if (job.empty()) return absl::FailedPreconditionError(FilerName(host) + " has no job");
  absl::StatusOr<ExecResult> r = cluster_->Wait(host, job, timeout);
  if (absl::IsDeadlineExceeded(r.status())) return r.status();
  filer_job_.erase(host);
  filer_fabric_.erase(host);
  if (!r.ok()) return r.status();
  return r->exit_code;
}

absl::Status PairTestbed::SignalFiler(const std::string& host, int sig) {
  const std::string& job = filer_job(host);
  if (job.empty()) return absl::FailedPreconditionError(FilerName(host) + " has no job");
  return cluster_->Signal(host, job, sig);
}

absl::Status PairTestbed::HaltFiler(const std::string& host, absl::Duration timeout) {
  absl::StatusOr<ExecResult> r = Ctl("halt", host);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("vifilerctl halt ", FilerName(host), " failed: ", r->out, r->err));
  }
  absl::StatusOr<int> code = WaitFilerExit(host, timeout);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(
        absl::StrCat(FilerName(host), " exited with ", *code, " after halt"));
  }
  return absl::OkStatus();
}

absl::Status PairTestbed::PowerCut(const std::string& host) {
  filer_job_.erase(host);
  filer_fabric_.erase(host);
  return cluster_->PowerCut(host);
}

absl::Status PairTestbed::Restart(const std::string& host) {
  filer_job_.erase(host);
  filer_fabric_.erase(host);
  absl::Status s;
  for (int attempt = 1; attempt <= kBootAttempts; ++attempt) {
    s = cluster_->Restart(host);
    if (s.ok() || !BootFlake(s)) return s;
    std::cerr << "[testbed] guest " << host << " did not boot (attempt " << attempt << " of "
              << kBootAttempts << "): " << FirstLine(s.message()) << std::endl;
  }
  return s;
}

absl::StatusOr<ExecResult> PairTestbed::Ctl(const std::string& command,
                                            const std::string& filer_host, const std::string& on,
                                            absl::Duration timeout, absl::Duration answer_timeout) {
  std::vector<std::string> argv = {
      Bin("tools/vifilerctl"), "--hosts_file=" + hosts_file_,
      absl::StrCat("--secret=", kAdminSecret),
      absl::StrCat("--timeout_ms=", absl::ToInt64Milliseconds(answer_timeout))};
  for (absl::string_view word : absl::StrSplit(command, ' ', absl::SkipEmpty())) {
    argv.emplace_back(word);
  }
  argv.push_back(FilerName(filer_host));
  return cluster_->Exec(on.empty() ? filer_host : on, argv, timeout);
}

FilerStatus PairTestbed::Status(const std::string& host) const {
  FilerStatus s;
  s.kv = ParseStatusLines(
      ReadWholeFile(absl::StrCat(options_.share_dir, "/status-", FilerName(host))));
  s.seq = std::strtoull(s.Get("seq").c_str(), nullptr, 10);
  s.reachable = s.Get("reachable") == "yes";
  return s;
}

absl::StatusOr<FilerStatus> PairTestbed::WaitStatus(
    const std::string& host, const std::function<bool(const FilerStatus&)>& pred,
    absl::Duration timeout, const std::string& what) {
  const absl::Time deadline = absl::Now() + timeout;
  FilerStatus s = Status(host);
  const uint64_t start_seq = s.seq;
  uint64_t last_seq = s.seq;
  absl::Time last_change = absl::Now();
  while (true) {
    s = Status(host);
    const absl::Time now = absl::Now();
    if (s.seq != last_seq) {
      last_seq = s.seq;
      last_change = now;
    }
    if (s.seq >= start_seq + 2 && pred(s)) return s;
    if (now - last_change > kWatcherSilence) {
      return absl::InternalError(absl::StrCat(
          what, ": the status watcher on c stopped writing (",
          absl::FormatDuration(now - last_change), " without a new status of ", FilerName(host),
          "); its log:\n", FileTail(options_.share_dir + "/watch.log", 20)));
    }
    if (now >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": not reached within ", absl::FormatDuration(timeout),
                       "; last status of ", FilerName(host), ": ", s.Summary(), "; of ",
                       FilerName(Partner(host)), ": ", Status(Partner(host)).Summary()));
    }
    absl::SleepFor(kPoll);
  }
}

bool PairTestbed::BothUp(std::string* states) const {
  const FilerStatus a = Status("a");
  const FilerStatus b = Status("b");
  if (states != nullptr) {
    *states = absl::StrCat("filer-a: ", a.Summary(), " | filer-b: ", b.Summary());
  }
  return ServingAlone(a) && ServingAlone(b);
}

absl::Status PairTestbed::WaitBothUp(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (const std::string& host : PairHosts()) {
    absl::StatusOr<FilerStatus> s =
        WaitStatus(host, ServingAlone, std::max(absl::Seconds(1), deadline - absl::Now()),
                   FilerName(host) + " up");
    if (!s.ok()) return s.status();
  }
  std::string states;
  if (BothUp(&states)) return absl::OkStatus();
  return WaitBothUp(std::max(absl::Seconds(5), deadline - absl::Now()));
}

absl::Status PairTestbed::RestoreBothUp(const std::string& fabric, absl::Duration timeout,
                                        std::vector<std::string>* actions,
                                        std::vector<std::string>* anomalies) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  auto act = [&](const std::string& what) {
    actions->push_back(absl::StrCat(
        "+", absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(100))), " ",
        what));
  };
  std::map<std::string, absl::Time> unreachable_since;
  std::map<std::string, uint64_t> seq_at_start;
  absl::Time stuck_since = absl::InfiniteFuture();
  while (true) {
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      std::string states;
      BothUp(&states);
      return absl::DeadlineExceededError(absl::StrCat(
          "the pair is not both up on ", fabric, " after ", absl::FormatDuration(timeout), ": ",
          states, "; actions: ", absl::StrJoin(*actions, "; ")));
    }
    // Guests that are down are powered on again.
    absl::StatusOr<std::map<std::string, std::string>> guests = cluster_->States();
    if (!guests.ok()) return guests.status();
    for (const std::string& host : PairHosts()) {
      if ((*guests)[host] == "down") {
        act("power on " + host);
        absl::Status s = Restart(host);
        if (!s.ok()) return s;
      }
    }
    // Filers that do not run are started, on the fabric of a running partner (the interconnect
    // needs both on one fabric) or else the one asked for.
    for (const std::string& host : PairHosts()) {
      if (!filer_job(host).empty()) continue;
      const std::string& partner_fabric = filer_fabric(Partner(host));
      const std::string use = partner_fabric.empty() ? fabric : partner_fabric;
      act(absl::StrCat("start ", FilerName(host), " (", use, ")"));
      absl::Status s = StartFiler(host, use);
      if (!s.ok()) return s;
      unreachable_since[host] = absl::Now();
      seq_at_start[host] = Status(host).seq;
    }
    // A filer that stays unreachable may have exited (a guard kill, a failed start).
    std::map<std::string, FilerStatus> st;
    std::map<std::string, bool> fresh;
    for (const std::string& host : PairHosts()) {
      st[host] = Status(host);
      fresh[host] = st[host].seq > seq_at_start[host] + 1;
      if (st[host].reachable && fresh[host]) {
        unreachable_since.erase(host);
        continue;
      }
      if (unreachable_since.count(host) == 0) unreachable_since[host] = absl::Now();
      if (absl::Now() - unreachable_since[host] < kUnreachableCheck) continue;
      absl::StatusOr<int> code = WaitFilerExit(host, absl::Seconds(1));
      if (absl::IsDeadlineExceeded(code.status())) {
        unreachable_since[host] = absl::Now();  // still running: check again later
        continue;
      }
      anomalies->push_back(absl::StrCat(
          FilerName(host), "'s process had ended by itself (",
          code.ok() ? absl::StrCat("exit ", *code) : code.status().ToString(),
          "; found while restoring the pair); its log ends:\n", FileTail(FilerLog(host), 15)));
      act(FilerName(host) + " exited");
      unreachable_since.erase(host);
    }
    if (filer_job("a").empty() || filer_job("b").empty()) continue;

    const FilerStatus& a = st["a"];
    const FilerStatus& b = st["b"];
    if (ServingAlone(a) && ServingAlone(b) && fresh["a"] && fresh["b"]) {
      if (filer_fabric("a") == fabric && filer_fabric("b") == fabric) return absl::OkStatus();
      for (const std::string& host : PairHosts()) {
        act(absl::StrCat("halt ", FilerName(host), " (", filer_fabric(host), " -> ", fabric, ")"));
        absl::Status s = HaltFiler(host);
        if (!s.ok()) return s;
      }
      continue;
    }
    bool stuck = false;
    for (const std::string& host : PairHosts()) {
      const FilerStatus& mine = st[host];
      const FilerStatus& other = st[Partner(host)];
      if (!mine.reachable || !other.reachable) continue;
      if (mine.Get("state") == "takeover" && other.Get("state") == "waiting-for-giveback") {
        act("giveback " + FilerName(host));
        absl::StatusOr<ExecResult> r = Ctl("giveback", host);
        if (!r.ok()) return r.status();
        if (r->exit_code != 0) act("giveback failed: " + r->err);
        absl::SleepFor(absl::Milliseconds(500));
      } else if (mine.Get("state") == "up" && other.Get("state") == "waiting-for-giveback") {
        stuck = true;
        if (stuck_since == absl::InfiniteFuture()) stuck_since = absl::Now();
        if (absl::Now() - stuck_since >= kStuckLimit) {
          anomalies->push_back(absl::StrCat(
              FilerName(Partner(host)), " has waited for giveback for ",
              absl::FormatDuration(absl::Now() - stuck_since), " while ", FilerName(host),
              " is up without holding its volume (nobody can give it back; ",
              FilerName(Partner(host)), "'s volume is served by nobody). ", FilerName(host), ": ",
              mine.Summary(), " | ", FilerName(Partner(host)), ": ", other.Summary(),
              ". Worked around by killing ", FilerName(host),
              " (SIGKILL: its partner then reclaims its own volume and takes the other over), "
              "restarting it and giving back."));
          act(absl::StrCat("stuck: SIGKILL ", FilerName(host)));
          absl::Status k = SignalFiler(host, SIGKILL);
          if (!k.ok()) return k;
          absl::StatusOr<int> code = WaitFilerExit(host, absl::Seconds(60));
          if (!code.ok()) return code.status();
          absl::StatusOr<FilerStatus> took = WaitStatus(
              Partner(host),
              [](const FilerStatus& x) {
                return x.reachable && x.Get("state") != "waiting-for-giveback" &&
                       x.Get("primary_port") == "open";
              },
              absl::Seconds(90), FilerName(Partner(host)) + " reclaims its volume");
          if (!took.ok()) return took.status();
          act(absl::StrCat(FilerName(Partner(host)), " ", took->Get("state")));
          stuck_since = absl::InfiniteFuture();
        }
      }
    }
    if (!stuck) stuck_since = absl::InfiniteFuture();
    absl::SleepFor(absl::Milliseconds(300));
  }
}

std::string PairTestbed::LogTails(int lines) const {
  std::string out;
  for (const std::string& host : PairHosts()) {
    absl::StrAppend(&out, "--- ", FilerLog(host), " (last ", lines, " lines):\n",
                    FileTail(FilerLog(host), lines));
  }
  for (const std::string& host : PairHosts()) {
    absl::StrAppend(&out, "--- last status of ", FilerName(host), ": ", Status(host).Summary(),
                    "\n");
  }
  return out;
}

}  // namespace testbed
}  // namespace vifiler
