// Copyright 2026 The vifiler Authors.
//
// PairTestbed: an HA pair of vifilerd on separate (emulated) hosts, for the hosts test suite and
// vifiler-bench --failover --testbed. It boots three vm-cluster guests (VmCluster): `a` runs
// filer-a, `b` runs filer-b, `c` runs clients; two shared disks `va` and `vb` (filer-a's and
// filer-b's volumes, formatted by `vifilerd --format`) are attached to all three, like
// dual-attached SAN disks.
//
// Contract:
//  - Create() boots the guests, writes the pair's hosts file into the share (filer-a, filer-b and
//    their -failover names), formats both volumes, and starts the status watcher on c (see
//    tools/testbed/status_watch.h; the testbed appends --testbed_filers, --testbed_out_dir and
//    --testbed_secret to options.watch_command). Filers are not started.
//  - The binaries run in the guests from options.build_dir, which the guests see read-only at the
//    same path (the host root); options.share_dir is shared read-write (hosts file, the filers'
//    logs share/filer-X.log, the status files share/status-filer-X, whatever the caller adds).
//  - Filers run with --admin_secret=kAdminSecret so that the watcher on c may ask their status;
//    Ctl() runs vifilerctl on the filer's own host (or another) with that secret.
//  - Status() reads the watcher's last file (no guest command: cheap); WaitStatus() polls it and
//    only accepts answers the watcher obtained after the call began. It fails when the watcher
//    stops writing.
//  - The testbed tracks the vifilerd job of each host: PowerCut()/Restart() forget it (a power
//    cut ends every job), StartFiler() records it. Use the testbed's PowerCut/Restart rather
//    than the cluster's so that this stays true.
//  - RestoreBothUp() drives the pair back to "both up" on a fabric (restarting guests that are
//    down, starting filers that are not running, giving back, switching the fabric by halting
//    and restarting both), bounded in time. What it did goes to *actions; anything a healthy
//    pair should not need (a filer process that died by itself, a pair stuck where nobody can
//    give back) goes to *anomalies, with the evidence, after which it still recovers.
//  - Restart() and Create() boot a guest up to three times when its kernel dies while booting
//    (an emulation flake on a loaded host, reported on stderr).
//  - Every call is bounded; a step that does not finish in time is an error whose message
//    carries the states seen. LogTails() is for failure messages.
// Not thread-safe: one thread.

#ifndef VIFILER_TOOLS_TESTBED_PAIR_TESTBED_H_
#define VIFILER_TOOLS_TESTBED_PAIR_TESTBED_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/testbed/vm_cluster.h"

namespace vifiler {
namespace testbed {

inline constexpr char kAdminSecret[] = "vifiler-testbed-secret";

struct PairTestbedOptions {
  // Build directory: tools/vifilerd, tools/vifilerctl (run in the guests at the same path).
  std::string build_dir;
  // An existing, empty host directory every guest mounts read-write at the same path.
  std::string share_dir;
  // argv prefix of the status watcher run on c (see status_watch.h).
  std::vector<std::string> watch_command;
  int disk_mib = 256;
  int memory_mib = 1024;
  // Extra flags of every vifilerd start (e.g. timing).
  std::vector<std::string> filer_flags;
  std::string vm_cluster_script;  // empty: $VIFILER_VM_CLUSTER
  bool keep_cluster = false;      // keep the cluster directory (also VIFILER_KEEP_CLUSTER=1)
  absl::Duration boot_timeout = absl::Seconds(300);
};

// One answer of a filer, as the watcher wrote it.
struct FilerStatus {
  uint64_t seq = 0;  // 0: no file yet
  bool reachable = false;
  std::map<std::string, std::string> kv;  // the whole file, seq/unix_ms/reachable included
  std::string Get(const std::string& key) const;
  // "state=... epoch=... primary_port=... secondary_port=... partner_state=... interconnect=..."
  // or "unreachable (error)".
  std::string Summary() const;
};

class PairTestbed {
 public:
  static absl::StatusOr<std::unique_ptr<PairTestbed>> Create(const PairTestbedOptions& options);
  ~PairTestbed();
  PairTestbed(const PairTestbed&) = delete;
  PairTestbed& operator=(const PairTestbed&) = delete;

  // "a" -> "filer-a", "b" -> "filer-b".
  static std::string FilerName(const std::string& host) { return "filer-" + host; }
  // "a" <-> "b".
  static std::string Partner(const std::string& host) { return host == "a" ? "b" : "a"; }
  // "/dev/disk/by-id/virtio-va" for host a.
  static std::string VolumeDevice(const std::string& host) {
    return "/dev/disk/by-id/virtio-v" + host;
  }

  VmCluster& cluster() { return *cluster_; }
  const std::string& share_dir() const { return options_.share_dir; }
  const std::string& hosts_file() const { return hosts_file_; }
  std::string Ip(const std::string& host) const;
  // build_dir + "/" + relative.
  std::string Bin(const std::string& relative) const;

  // Starts vifilerd for the host's filer in the background (log: share/filer-X.log, appended).
  absl::Status StartFiler(const std::string& host, const std::string& fabric,
                          const std::vector<std::string>& extra_flags = {});
  // The job of the host's vifilerd of this boot; empty when none was started (or it was
  // forgotten: power cut, restart, exit seen).
  const std::string& filer_job(const std::string& host) const;
  // The fabric the host's filer was started with ("" when none).
  const std::string& filer_fabric(const std::string& host) const;
  // Waits for the host's vifilerd job to exit (its exit code: 128 + N when killed by signal N),
  // then forgets the job. DeadlineExceededError while it runs.
  absl::StatusOr<int> WaitFilerExit(const std::string& host, absl::Duration timeout);
  absl::Status SignalFiler(const std::string& host, int sig);
  // vifilerctl halt (without takeover) and waits for the process to exit.
  absl::Status HaltFiler(const std::string& host, absl::Duration timeout = absl::Seconds(90));

  absl::Status PowerCut(const std::string& host);
  absl::Status Restart(const std::string& host);

  // vifilerctl --secret=... --timeout_ms=ANSWER_TIMEOUT COMMAND filer-X, run on host `on`
  // (default: the filer's host X). `status` also asks the partner: use a short answer_timeout
  // when the partner cannot be reached.
  absl::StatusOr<ExecResult> Ctl(const std::string& command, const std::string& filer_host,
                                 const std::string& on = "",
                                 absl::Duration timeout = absl::Seconds(90),
                                 absl::Duration answer_timeout = absl::Seconds(30));

  FilerStatus Status(const std::string& host) const;
  // Polls Status(host) until pred holds for an answer obtained after the call began. On timeout
  // (or when the watcher stops writing) an error naming `what` and the last answer.
  absl::StatusOr<FilerStatus> WaitStatus(const std::string& host,
                                         const std::function<bool(const FilerStatus&)>& pred,
                                         absl::Duration timeout, const std::string& what);
  // Each filer: state=up, primary_port=open, secondary_port=closed, partner_state=up.
  bool BothUp(std::string* states) const;
  absl::Status WaitBothUp(absl::Duration timeout);
  absl::Status RestoreBothUp(const std::string& fabric, absl::Duration timeout,
                             std::vector<std::string>* actions,
                             std::vector<std::string>* anomalies);

  // The last `lines` lines of both filers' logs and their last status answers.
  std::string LogTails(int lines = 40) const;

 private:
  explicit PairTestbed(PairTestbedOptions options) : options_(std::move(options)) {}
  std::string FilerLog(const std::string& host) const;

  PairTestbedOptions options_;
  std::unique_ptr<VmCluster> cluster_;
  std::string hosts_file_;
  std::string key_file_;  // the pair key (--pair_key_file)
  std::map<std::string, std::string> ips_;
  std::map<std::string, std::string> filer_job_;
  std::map<std::string, std::string> filer_fabric_;
  std::string watch_job_;
};

// The last `lines` lines of a host file ("" when it cannot be read).
std::string FileTail(const std::string& path, int lines);
// The whole file ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);

}  // namespace testbed
}  // namespace vifiler

#endif  // VIFILER_TOOLS_TESTBED_PAIR_TESTBED_H_
