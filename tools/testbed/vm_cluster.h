// Copyright 2026 The vifiler Authors.
//
// VmCluster: a handle on tools/rxe-vm/vm-cluster for host-side programs (the hosts test suite,
// vifiler-bench --failover --testbed). The script boots
// throw-away QEMU guests that act as separate hosts (each its own kernel, page cache, clock,
// IPv4 address and rxe0) on one private Ethernet segment, with shared virtio-blk disks
// (/dev/disk/by-id/virtio-NAME in every guest, the host cache bypassed), and cuts their power,
// partitions their network and boots them again. See tools/rxe-vm/README.md ("vm-cluster").
//
// Contract:
//  - The script is Options::script, or else $VIFILER_VM_CLUSTER (meson sets it for the tests).
//    Every call runs it once and is bounded
//    in time: the script's own deadline (exec/wait --timeout, --boot-timeout) plus a margin,
//    after which the script is SIGKILLed.
//  - A failure of the harness (bad arguments, a guest that is down or does not boot, a
//    deadline) is an error status whose message carries the script's stderr. A command that
//    ran in a guest and failed is not an error: see ExecResult::exit_code.
//  - Up() returns once every guest runs its agent; when it fails no QEMU is left running.
//  - The destructor stops every guest ("down": SIGKILL of each QEMU by its recorded pid) and
//    deletes the cluster directory, disk images and logs included ("down --purge"), unless
//    Options::keep_dir or VIFILER_KEEP_CLUSTER=1 (then it prints where the directory is).
//  - Commands run in a guest as root, with this process's environment plus `env`, in this
//    process's current directory (or `cwd`), stdin /dev/null. The guest sees the host root
//    read-only at the same paths (stale if the host changes a file after the boot) and each of
//    Options::shares read-write at the same path: run binaries and write logs from a share.
//  - Guest i (1-based, in Options::hosts order) is 10.77.0.(10+i); its hostname is its name and
//    its /etc/hosts names every guest plus Options::extra_hosts and AppendHosts() lines.
// Exec, Start, Wait, Output and Signal may run concurrently (each is an independent run of the
// script; it serialises state changes on the directory); everything else from one thread.

#ifndef VIFILER_TOOLS_TESTBED_VM_CLUSTER_H_
#define VIFILER_TOOLS_TESTBED_VM_CLUSTER_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vifiler {
namespace testbed {

// What a command run in a guest did.
struct ExecResult {
  // The command's exit status (128 + N when killed by signal N); -1 when not known (Output()
  // of a job, which may still run).
  int exit_code = -1;
  std::string out;
  std::string err;
};

class VmCluster {
 public:
  struct Options {
    // Cluster directory (created if missing; may be reused after Down()). Empty: a new one
    // under $TMPDIR (or /tmp). Keep it out of the shares.
    std::string dir;
    // Guest names: 1 to 8, each [a-z][a-z0-9]{0,9}.
    std::vector<std::string> hosts;
    // Shared disks (name [a-z][a-z0-9]{0,15}, size in MiB): sparse raw images in dir/disks,
    // attached to every guest; an existing image of that name is kept.
    std::vector<std::pair<std::string, int>> disks;
    // Host directories every guest mounts read-write at the same path (9p).
    std::vector<std::string> shares;
    // Extra /etc/hosts lines of every guest: name, address (e.g. failover aliases).
    std::vector<std::pair<std::string, std::string>> extra_hosts;
    int memory_mib = 1024;
    int vcpus = 2;
    bool rxe = true;  // create rxe0 on eth0 in every guest
    absl::Duration boot_timeout = absl::Seconds(300);
    bool keep_dir = false;  // do not delete dir on destruction (also VIFILER_KEEP_CLUSTER=1)
    // Path of tools/rxe-vm/vm-cluster; empty: $VIFILER_VM_CLUSTER.
    std::string script;
  };

  // Boots the guests and returns once all run their agent. Prints nothing on success (the
  // script's boot report is boot_log()).
  static absl::StatusOr<std::unique_ptr<VmCluster>> Up(const Options& options);
  ~VmCluster();
  VmCluster(const VmCluster&) = delete;
  VmCluster& operator=(const VmCluster&) = delete;

  const std::string& dir() const { return dir_; }
  const std::vector<std::string>& hosts() const { return options_.hosts; }
  // The script's stderr of the last Up(): per-guest boot times.
  const std::string& boot_log() const { return boot_log_; }
  // The guest's address (fixed for the cluster's life: restarts keep it).
  absl::StatusOr<std::string> Ip(const std::string& host) const;

  // Runs argv in the guest and waits for it. After timeout the job's process group is
  // SIGKILLed and DeadlineExceededError returned (its output so far in the message).
  // UnavailableError when the guest is down or went down while the command ran,
  // FailedPreconditionError when it is paused.
  absl::StatusOr<ExecResult> Exec(const std::string& host, const std::vector<std::string>& argv,
                                  absl::Duration timeout, const std::vector<std::string>& env = {},
                                  const std::string& cwd = "");
  // Starts argv in the background (env: "K=V" entries); returns its job id once it runs.
  absl::StatusOr<std::string> Start(const std::string& host, const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env = {},
                                    const std::string& cwd = "");
  // Waits for a job of Start(): its status and all its output. DeadlineExceededError after
  // timeout (the job keeps running).
  absl::StatusOr<ExecResult> Wait(const std::string& host, const std::string& job,
                                  absl::Duration timeout);
  // A job's output so far (exit_code -1: use Wait for the status).
  absl::StatusOr<ExecResult> Output(const std::string& host, const std::string& job);
  // Sends sig to the job's process group (OK when it already exited).
  absl::Status Signal(const std::string& host, const std::string& job, int sig);

  // Power cut: SIGKILL of the guest's QEMU. Its page cache is lost; nothing reaches its peers.
  absl::Status PowerCut(const std::string& host);
  // Powers the guest on again (after PowerCut) or power-cycles it: fresh RAM, same disks and
  // address; returns once its agent runs.
  absl::Status Restart(const std::string& host);

  // Network cuts (silent: frames vanish, no carrier change, no RST). They survive restarts.
  absl::Status Isolate(const std::string& host);
  // Drops every frame between a and b (one_way: only a -> b).
  absl::Status Partition(const std::string& a, const std::string& b, bool one_way = false);
  // Removes all cuts; with a: all cuts of a; with a and b: the a-b cuts.
  absl::Status Heal(const std::string& a = "", const std::string& b = "");
  // Link down/up on host's ports (to peer only, or to all): host sees carrier loss.
  absl::Status Unplug(const std::string& host, const std::string& peer = "");
  absl::Status Plug(const std::string& host, const std::string& peer = "");

  // Stops / continues the guest's vCPUs (a hung host); inbound frames are dropped meanwhile.
  absl::Status Pause(const std::string& host);
  absl::Status Resume(const std::string& host);

  // Adds /etc/hosts lines (name, address): at once in guests that are up, at the next boot in
  // the others (paused ones included). For programs that take a hosts file (--hosts_file),
  // writing the file into a share is simpler still.
  absl::Status AppendHosts(const std::vector<std::pair<std::string, std::string>>& name_ip);

  // host -> "booting" | "up" | "paused" | "down".
  absl::StatusOr<std::map<std::string, std::string>> States();
  // The guest's kernel console log, all boots (for failure messages).
  absl::StatusOr<std::string> Console(const std::string& host);

  // Stops every guest; dir stays (Up with the same dir may reuse it).
  absl::Status Down();

 private:
  struct Run {
    int exit_code;
    std::string out, err;
  };
  explicit VmCluster(Options options, std::string script, bool made_dir);
  // Runs the script with args, killed after hard_timeout.
  absl::StatusOr<Run> RunScript(const std::vector<std::string>& args,
                                absl::Duration hard_timeout) const;
  // RunScript; an error unless it exits 0.
  absl::Status Check(const std::vector<std::string>& args,
                     absl::Duration hard_timeout = absl::Seconds(120)) const;
  // Maps an exec/wait run to its result or error.
  absl::StatusOr<ExecResult> JobResult(const std::string& what, absl::StatusOr<Run> run) const;

  Options options_;
  std::string script_;
  std::string dir_;
  bool made_dir_;
  bool owned_ = true;  // false: Up found another cluster in dir; leave it alone
  std::string boot_log_;
  std::map<std::string, std::string> ips_;
};

}  // namespace testbed
}  // namespace vifiler

#endif  // VIFILER_TOOLS_TESTBED_VM_CLUSTER_H_
