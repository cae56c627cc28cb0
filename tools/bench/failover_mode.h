// Copyright 2026 The vifiler Authors.
//
// The failover mode of vifiler-bench: starts its own pair of filers (filer-a, filer-b, volumes
// and a hosts file in a fresh temp dir), streams 4 KiB writes and exclusive creates through a
// failover-enabled Client to filer-a's volume, and `kills` times SIGKILLs filer-a, waits for
// filer-b's takeover, restarts filer-a and gives its volume back. Reports the client-visible
// stall (kill to the first request completed on filer-b) as p50/p99/max, acknowledged writes
// lost and requests executed twice, and judges them against the targets.
//
// The bench owns the filer processes: they are stopped by PID (SIGTERM, then SIGKILL after a
// bounded wait) before RunFailover returns, and die with the bench if it dies. Their logs stay
// in the temp dir and are printed when a step fails; the dir is removed unless keep.

#ifndef VIFILER_TOOLS_BENCH_FAILOVER_MODE_H_
#define VIFILER_TOOLS_BENCH_FAILOVER_MODE_H_

#include <string>

#include "absl/time/time.h"
#include "clientlib/client.h"

namespace vifiler {
namespace bench {

struct FailoverOptions {
  std::string vifilerd;          // path of the filer binary
  client::ClientOptions client;  // fabric and discriminators; hosts file is the bench's own
  std::string address_a = "127.0.0.2";
  std::string address_b = "127.0.0.3";
  uint16_t admin_discriminator = 7303;
  int kills = 5;
  absl::Duration write_interval = absl::Milliseconds(1);
  bool keep = false;
  bool enforce_correctness = false;  // exit 1 when writes were lost or requests ran twice
  bool enforce_targets = false;      // exit 1 also when a stall target is missed
};

// Returns the process exit code: 1 when a step failed, or when enforce_* asks and a check
// failed; otherwise 0.
int RunFailover(const FailoverOptions& options);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_FAILOVER_MODE_H_
