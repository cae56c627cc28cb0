// Copyright 2026 The vifiler Authors.
//
// FilerPair: the two vifilerd processes (filer-a, filer-b) the failover mode starts and owns,
// with their volumes, hosts file and log files in one directory.
//
// Contract:
//  - Start() starts both and returns once each serves its primary port and each sees the
//    other up on the interconnect (bounded by timeout).
//  - StartFiler() starts one (again) without waiting: a restarted filer whose volume is taken
//    over waits for giveback.
//  - Kill() SIGKILLs one and reaps it; StopAll() stops both by PID (SIGTERM, then SIGKILL
//    after grace). The destructor stops any still running.
// Not thread-safe: one controlling thread, which must be the main thread (see ChildProcess).

#ifndef VIFILER_TOOLS_BENCH_FILER_PAIR_H_
#define VIFILER_TOOLS_BENCH_FILER_PAIR_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clientlib/client.h"
#include "tools/bench/admin_client.h"
#include "tools/child_process.h"

namespace vifiler {
namespace bench {

using tools::ChildProcess;
using tools::TailOfFile;

class FilerPair {
 public:
  enum Which { kA = 0, kB = 1 };

  // dir must exist. fabric: "tcp" or "rdma".
  FilerPair(std::string vifilerd, std::string dir, std::string fabric, std::string address_a,
            std::string address_b, AdminClient* admin);
  ~FilerPair();
  FilerPair(const FilerPair&) = delete;
  FilerPair& operator=(const FilerPair&) = delete;

  absl::Status Start(absl::Duration timeout);
  absl::Status StartFiler(Which which);
  // Connects (failover off) to the filer's primary port until it answers or timeout passes.
  absl::Status WaitServing(Which which, absl::Duration timeout);
  void Kill(Which which);
  void StopAll(absl::Duration grace);

  const std::string& hosts_file() const { return hosts_file_; }
  const std::string& address(Which which) const { return address_[which]; }
  // The last lines of both filers' logs.
  std::string LogTails(int lines) const;

 private:
  const std::string vifilerd_;
  const std::string dir_;
  const std::string fabric_;
  std::string address_[2];
  std::string name_[2];
  std::string volume_[2];
  std::string log_[2];
  std::string hosts_file_;
  std::string key_file_;  // the pair key (--pair_key_file)
  AdminClient* const admin_;
  std::unique_ptr<ChildProcess> process_[2];
};

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_FILER_PAIR_H_
