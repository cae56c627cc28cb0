// Copyright 2026 The vifiler Authors.
//
// Shared setup of the integration tests: which fabric and host addresses to use, scratch
// directories, hosts files, and filer processes started and stopped by the test.
//
// Environment: VIFILER_TEST_FABRIC (tcp | rdma; default tcp), VIFILER_RDMA_ADDR and
// VIFILER_RDMA_ADDR2 (the two filer addresses on rdma; on tcp two addresses of a loopback /24
// chosen from the test process's pid, or VIFILER_TCP_ADDR and VIFILER_TCP_ADDR2),
// VIFILERD / VIFILER / VIFILERCTL (paths of the binaries, set by meson).

#ifndef VIFILER_TESTS_INTEGRATION_TEST_ENV_H_
#define VIFILER_TESTS_INTEGRATION_TEST_ENV_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clientlib/client.h"
#include "tools/child_process.h"
#include "tools/run_command.h"

namespace vifiler {
namespace testing {

using tools::RunCommand;

struct TestFabric {
  std::string fabric;  // "tcp" or "rdma"
  std::string address_a;
  std::string address_b;
};
TestFabric GetTestFabric();

std::string BinaryPath(const char* env_name);
// How much slower than an idle native host these tests run: VIFILER_TEST_TIME_SCALE (default 1;
// the soft-RoCE VM, software-emulated, sets more). Timing bounds are multiplied by it.
double TimeScale();
absl::Duration Scaled(absl::Duration bound);
// The lease the test filers hold their volumes with: VIFILER_TEST_LEASE_MS (default 600 ms,
// vifilerd's own default). A starved filer is stopped by its fence guard when its lease runs
// out, so a software-emulated host needs a longer one.
absl::Duration TestLease();
// A fresh directory under $TMPDIR (or /tmp); removed by RemoveTree.
std::string MakeScratchDir(const std::string& prefix);
void RemoveTree(const std::string& path);
// Writes a hosts file mapping each name to its address; returns its path.
std::string WriteHostsFile(const std::string& dir, const std::map<std::string, std::string>& hosts);
// The hosts file of a pair: filer-a, filer-b and their failover names.
std::string WritePairHostsFile(const std::string& dir, const TestFabric& fabric);
// A fresh random pair key (64 hex digits) in dir/name, mode 0600; returns its path.
std::string WritePairKeyFile(const std::string& dir, const std::string& name = "pair.key");

// A vifilerd process. Start() returns once the filer serves its primary port (or times out).
class FilerProcess {
 public:
  FilerProcess(std::string name, std::string volume, std::string address, std::string hosts_file,
               std::string log_path, std::vector<std::string> extra_flags = {});
  // A command prefix the filer is started under (e.g. setpriv, prlimit); none by default.
  void set_wrapper(std::vector<std::string> wrapper) { wrapper_ = std::move(wrapper); }
  absl::Status Start(absl::Duration ready_timeout = absl::Seconds(20));
  // Starts without waiting for the primary port (a filer that must wait for giveback).
  absl::Status StartNoWait();
  absl::Status WaitServing(absl::Duration timeout);
  void Kill();  // SIGKILL + reap
  int Stop();   // SIGTERM, bounded; returns the wait status
  // The running (or last) vifilerd process; null before the first start.
  tools::ChildProcess* process() { return process_.get(); }
  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;

 private:
  std::vector<std::string> Argv() const;
  std::string name_, volume_, address_, hosts_file_, log_path_;
  std::vector<std::string> extra_flags_;
  std::vector<std::string> wrapper_;
  std::unique_ptr<tools::ChildProcess> process_;
};

// Client options for tests: the fabric under test, the hosts file, short timeouts.
client::ClientOptions TestClientOptions(const std::string& hosts_file);

// Connects with failover disabled, retrying until the deadline: "is the filer serving".
absl::Status WaitForFiler(const std::string& name, const std::string& hosts_file,
                          uint16_t discriminator, absl::Duration timeout);

// Sends one admin command ("status", "takeover", ...) to the filer at address:7303 and returns
// the reply ("OK\n..." or "ERROR ...").
absl::StatusOr<std::string> AdminCommand(const std::string& address, const std::string& command);
// The key=value lines of a filer's status; an error when it does not answer.
absl::StatusOr<std::map<std::string, std::string>> AdminStatus(const std::string& address);
// Polls the filer's status until key has value; returns how long that took.
absl::StatusOr<absl::Duration> WaitForStatus(const std::string& address, const std::string& key,
                                             const std::string& value, absl::Duration timeout);

// A pair of filers (filer-a on address_a, filer-b on address_b) with volumes, a hosts file and
// a pair key file (both filers get --pair_key_file) in a scratch directory.
class FilerPair {
 public:
  // extra_flags go to both filers, a_flags to filer-a only.
  explicit FilerPair(std::vector<std::string> extra_flags = {},
                     std::vector<std::string> a_flags = {});
  ~FilerPair();
  absl::Status Start();
  FilerProcess& a() { return *a_; }
  FilerProcess& b() { return *b_; }
  // Restarts the filer (a new process on the same volume) without waiting for it to serve.
  absl::Status Restart(FilerProcess& filer);
  const std::string& dir() const { return dir_; }
  const std::string& hosts() const { return hosts_; }
  const std::string& pair_key_file() const { return key_; }
  const std::string& volume_a() const { return volume_a_; }
  const std::string& volume_b() const { return volume_b_; }
  const TestFabric& fabric() const { return fabric_; }
  std::string Logs() const;

 private:
  TestFabric fabric_;
  std::string dir_, hosts_, key_, volume_a_, volume_b_;
  std::unique_ptr<FilerProcess> a_, b_;
};

}  // namespace testing
}  // namespace vifiler

#endif  // VIFILER_TESTS_INTEGRATION_TEST_ENV_H_
