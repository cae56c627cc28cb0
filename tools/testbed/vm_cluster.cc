// Copyright 2026 The vifiler Authors.

#include "tools/testbed/vm_cluster.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/run_command.h"

namespace vifiler {
namespace testbed {

namespace {

// Margins over the script's own deadlines before it is SIGKILLed: exec waits up to 60 s for a
// job to start and 10 s for a killed job's status; up/restart may wait for the kernel cache
// lock and rebuild the initramfs (a 70 MB download) before the boot deadline starts.
constexpr absl::Duration kExecMargin = absl::Seconds(90);
constexpr absl::Duration kBootMargin = absl::Minutes(5);
constexpr absl::Duration kCommandTimeout = absl::Seconds(120);
constexpr size_t kMaxMessageBytes = 4000;

// Whole seconds for the script's --timeout options, rounded up, at least 1 (0 means none).
std::string Seconds(absl::Duration d) {
  return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)))));
}

std::string Tail(const std::string& s) {
  if (s.size() <= kMaxMessageBytes) return s;
  return absl::StrCat("...", s.substr(s.size() - kMaxMessageBytes));
}

// True when the script itself printed a line containing needle (its lines start with
// "vm-cluster: "; a job's own stderr is interleaved with them).
bool HarnessSaid(const std::string& err, absl::string_view needle) {
  for (absl::string_view line : absl::StrSplit(err, '\n')) {
    if (absl::StartsWith(line, "vm-cluster: ") && absl::StrContains(line, needle)) return true;
  }
  return false;
}

bool HarnessFailed(const std::string& err) { return HarnessSaid(err, ""); }

// The error for a failed script run whose stderr is err: Unavailable when the guest is down
// (or went down), FailedPrecondition when it is paused or still booting, else Internal.
absl::Status HarnessError(const std::string& message, const std::string& err) {
  if (HarnessSaid(err, "went down") || HarnessSaid(err, "is down") ||
      HarnessSaid(err, "not running")) {
    return absl::UnavailableError(message);
  }
  if (HarnessSaid(err, "is paused") || HarnessSaid(err, "is booting")) {
    return absl::FailedPreconditionError(message);
  }
  return absl::InternalError(message);
}

std::string MakeScratchDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/", prefix, "-XXXXXX");
  char* made = mkdtemp(tmpl.data());
  return made != nullptr ? std::string(made) : std::string();
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

bool KeepFromEnv() {
  const char* v = getenv("VIFILER_KEEP_CLUSTER");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace

VmCluster::VmCluster(Options options, std::string script, bool made_dir)
    : options_(std::move(options)),
      script_(std::move(script)),
      dir_(options_.dir),
      made_dir_(made_dir) {}

absl::StatusOr<std::unique_ptr<VmCluster>> VmCluster::Up(const Options& options) {
  std::string script = options.script;
  if (script.empty()) {
    const char* env = getenv("VIFILER_VM_CLUSTER");
    if (env == nullptr || *env == '\0') {
      return absl::FailedPreconditionError(
          "VIFILER_VM_CLUSTER is not set (the path of tools/rxe-vm/vm-cluster; meson test sets "
          "it)");
    }
    script = env;
  }
  if (access(script.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("vm-cluster script ", script, " is not an executable"));
  }
  if (options.hosts.empty()) return absl::InvalidArgumentError("VmCluster: no hosts");
  Options opts = options;
  bool made_dir = false;
  if (opts.dir.empty()) {
    opts.dir = MakeScratchDir("vifiler-vmc");
    if (opts.dir.empty()) return absl::InternalError("VmCluster: cannot create a directory");
    made_dir = true;
  }
  std::vector<std::string> args = {"up", opts.dir, "--hosts", absl::StrJoin(opts.hosts, ",")};
  for (const auto& [name, mib] : opts.disks) {
    args.insert(args.end(), {"--disk", absl::StrCat(name, ":", mib)});
  }
  for (const std::string& share : opts.shares) args.insert(args.end(), {"--share", share});
  for (const auto& [name, ip] : opts.extra_hosts) {
    args.insert(args.end(), {"--add-host", absl::StrCat(name, "=", ip)});
  }
  args.insert(args.end(), {"-m", absl::StrCat(opts.memory_mib), "-s", absl::StrCat(opts.vcpus),
                           "--boot-timeout", Seconds(opts.boot_timeout)});
  if (!opts.rxe) args.push_back("--no-rxe");

  // From here on the destructor stops whatever was started (and purges as configured).
  std::unique_ptr<VmCluster> cluster(new VmCluster(opts, script, made_dir));
  absl::StatusOr<Run> run = cluster->RunScript(args, opts.boot_timeout + kBootMargin);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    // Another cluster in that directory (running, or its lock held): not ours to stop.
    if (HarnessSaid(run->err, "a cluster is running in") || HarnessSaid(run->err, "cannot lock")) {
      cluster->owned_ = false;
    }
    std::string message = absl::StrCat("vm-cluster up ", opts.dir, " failed (exit ", run->exit_code,
                                       "):\n", Tail(run->err));
    // "up: ..." messages reject the arguments; the others are boot failures
    if (HarnessSaid(run->err, "vm-cluster: up: ")) return absl::InvalidArgumentError(message);
    return absl::UnavailableError(message);
  }
  cluster->boot_log_ = run->err;
  for (absl::string_view line : absl::StrSplit(run->out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() == 2) cluster->ips_[f[0]] = f[1];
  }
  for (const std::string& host : opts.hosts) {
    if (cluster->ips_.count(host) == 0) {
      return absl::InternalError(
          absl::StrCat("vm-cluster up printed no address for ", host, ":\n", run->out));
    }
  }
  return cluster;
}

VmCluster::~VmCluster() {
  if (!owned_) return;
  const bool keep = options_.keep_dir || KeepFromEnv();
  if (access((dir_ + "/cluster.conf").c_str(), F_OK) == 0) {  // "up" got that far
    std::vector<std::string> args = {"down", dir_};
    if (!keep) args.push_back("--purge");
    absl::Status status = Check(args);
    if (!status.ok()) std::cerr << "VmCluster: " << status << "\n";
  }
  if (keep) {
    std::cerr << "VmCluster: directory kept (VIFILER_KEEP_CLUSTER / keep_dir): " << dir_ << "\n";
  } else if (made_dir_) {
    RemoveTree(dir_);  // "up" failed before the directory became a cluster directory
  }
}

absl::StatusOr<VmCluster::Run> VmCluster::RunScript(const std::vector<std::string>& args,
                                                    absl::Duration hard_timeout) const {
  std::vector<std::string> argv = {script_};
  argv.insert(argv.end(), args.begin(), args.end());
  Run run;
  absl::StatusOr<int> rc = tools::RunCommand(argv, &run.out, &run.err, hard_timeout);
  if (!rc.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("vm-cluster ", absl::StrJoin(args, " "), ": killed after ",
                     absl::FormatDuration(hard_timeout), " (", rc.status().message(), ")"));
  }
  run.exit_code = *rc;
  return run;
}

absl::Status VmCluster::Check(const std::vector<std::string>& args,
                              absl::Duration hard_timeout) const {
  absl::StatusOr<Run> run = RunScript(args, hard_timeout);
  if (!run.ok()) return run.status();
  if (run->exit_code == 0) return absl::OkStatus();
  return HarnessError(absl::StrCat("vm-cluster ", absl::StrJoin(args, " "), " failed (exit ",
                                   run->exit_code, "): ", Tail(run->err)),
                      run->err);
}

absl::StatusOr<ExecResult> VmCluster::JobResult(const std::string& what,
                                                absl::StatusOr<Run> run) const {
  if (!run.ok()) return run.status();
  if (run->exit_code == 124 && HarnessSaid(run->err, "timeout after")) {
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": timed out\nstdout: ", Tail(run->out), "\nstderr: ", Tail(run->err)));
  }
  if (run->exit_code == 125 && HarnessFailed(run->err)) {
    return HarnessError(absl::StrCat(what, ": the harness failed (exit 125): ", Tail(run->err)),
                        run->err);
  }
  return ExecResult{run->exit_code, std::move(run->out), std::move(run->err)};
}

absl::StatusOr<std::string> VmCluster::Ip(const std::string& host) const {
  auto it = ips_.find(host);
  if (it == ips_.end()) return absl::NotFoundError(absl::StrCat("no guest ", host));
  return it->second;
}

namespace {
// exec's options for env and cwd, then "--" and argv.
void AddCommand(std::vector<std::string>& args, const std::vector<std::string>& argv,
                const std::vector<std::string>& env, const std::string& cwd) {
  if (!cwd.empty()) args.insert(args.end(), {"--cwd", cwd});
  for (const std::string& kv : env) args.insert(args.end(), {"--env", kv});
  args.push_back("--");
  args.insert(args.end(), argv.begin(), argv.end());
}
}  // namespace

absl::StatusOr<ExecResult> VmCluster::Exec(const std::string& host,
                                           const std::vector<std::string>& argv,
                                           absl::Duration timeout,
                                           const std::vector<std::string>& env,
                                           const std::string& cwd) {
  if (argv.empty()) return absl::InvalidArgumentError("Exec: empty argv");
  std::vector<std::string> args = {"exec", dir_, host, "--timeout", Seconds(timeout)};
  AddCommand(args, argv, env, cwd);
  return JobResult(absl::StrCat("exec on ", host, ": ", absl::StrJoin(argv, " ")),
                   RunScript(args, timeout + kExecMargin));
}

absl::StatusOr<std::string> VmCluster::Start(const std::string& host,
                                             const std::vector<std::string>& argv,
                                             const std::vector<std::string>& env,
                                             const std::string& cwd) {
  if (argv.empty()) return absl::InvalidArgumentError("Start: empty argv");
  std::vector<std::string> args = {"exec", dir_, host, "--bg"};
  AddCommand(args, argv, env, cwd);
  absl::StatusOr<Run> run = RunScript(args, kExecMargin);
  if (!run.ok()) return run.status();
  std::string id(absl::StripAsciiWhitespace(run->out));
  if (run->exit_code != 0 || !absl::StartsWith(id, "j")) {
    std::string message = absl::StrCat("start on ", host, ": ", absl::StrJoin(argv, " "),
                                       " failed (exit ", run->exit_code, "): ", Tail(run->err));
    return HarnessError(message, run->err);
  }
  return id;
}

absl::StatusOr<ExecResult> VmCluster::Wait(const std::string& host, const std::string& job,
                                           absl::Duration timeout) {
  return JobResult(
      absl::StrCat("wait for job ", job, " on ", host),
      RunScript({"wait", dir_, host, job, "--timeout", Seconds(timeout)}, timeout + kExecMargin));
}

absl::StatusOr<ExecResult> VmCluster::Output(const std::string& host, const std::string& job) {
  absl::StatusOr<Run> run = RunScript({"output", dir_, host, job}, kCommandTimeout);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("output of job ", job, " on ", host, " failed: ", Tail(run->err)));
  }
  return ExecResult{-1, std::move(run->out), std::move(run->err)};
}

absl::Status VmCluster::Signal(const std::string& host, const std::string& job, int sig) {
  return Check({"signal", dir_, host, job, absl::StrCat(sig)});
}

absl::Status VmCluster::PowerCut(const std::string& host) { return Check({"kill", dir_, host}); }

absl::Status VmCluster::Restart(const std::string& host) {
  return Check({"restart", dir_, host, "--boot-timeout", Seconds(options_.boot_timeout)},
               options_.boot_timeout + kBootMargin);
}

absl::Status VmCluster::Isolate(const std::string& host) { return Check({"isolate", dir_, host}); }

absl::Status VmCluster::Partition(const std::string& a, const std::string& b, bool one_way) {
  std::vector<std::string> args = {"partition", dir_, a, b};
  if (one_way) args.push_back("--oneway");
  return Check(args);
}

absl::Status VmCluster::Heal(const std::string& a, const std::string& b) {
  std::vector<std::string> args = {"heal", dir_};
  if (!a.empty()) args.push_back(a);
  if (!a.empty() && !b.empty()) args.push_back(b);
  return Check(args);
}

absl::Status VmCluster::Unplug(const std::string& host, const std::string& peer) {
  std::vector<std::string> args = {"unplug", dir_, host};
  if (!peer.empty()) args.push_back(peer);
  return Check(args);
}

absl::Status VmCluster::Plug(const std::string& host, const std::string& peer) {
  std::vector<std::string> args = {"plug", dir_, host};
  if (!peer.empty()) args.push_back(peer);
  return Check(args);
}

absl::Status VmCluster::Pause(const std::string& host) { return Check({"pause", dir_, host}); }

absl::Status VmCluster::Resume(const std::string& host) { return Check({"resume", dir_, host}); }

absl::Status VmCluster::AppendHosts(
    const std::vector<std::pair<std::string, std::string>>& name_ip) {
  if (name_ip.empty()) return absl::OkStatus();
  std::vector<std::string> args = {"add-host", dir_};
  for (const auto& [name, ip] : name_ip) args.insert(args.end(), {name, ip});
  // one exec per running guest
  return Check(args, kCommandTimeout + absl::Seconds(60) * static_cast<int64_t>(ips_.size()));
}

absl::StatusOr<std::map<std::string, std::string>> VmCluster::States() {
  absl::StatusOr<Run> run = RunScript({"status", dir_}, kCommandTimeout);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat("vm-cluster status failed: ", Tail(run->err)));
  }
  std::map<std::string, std::string> states;
  // NAME IP STATE PID BOOTS RSS
  for (absl::string_view line : absl::StrSplit(run->out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 3 && ips_.count(f[0]) > 0) states[f[0]] = f[2];
  }
  return states;
}

absl::StatusOr<std::string> VmCluster::Console(const std::string& host) {
  absl::StatusOr<Run> run = RunScript({"console", dir_, host}, kCommandTimeout);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat("vm-cluster console failed: ", Tail(run->err)));
  }
  return run->out;
}

absl::Status VmCluster::Down() { return Check({"down", dir_}); }

}  // namespace testbed
}  // namespace vifiler
