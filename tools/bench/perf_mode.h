// Copyright 2026 The vifiler Authors.
//
// The performance mode of vifiler-bench: measures, in one run and on one fabric, the raw fabric
// (process to process, against a raw server child started from this same binary) and vifiler
// (through the client library, against a running filer), and prints each vifiler figure beside
// its raw baseline with the ratio and, on tcp, the targets judged PASS or FAIL.
//
// The raw server child listens on the filer's resolved address with raw_discriminator; it is
// stopped by PID (SIGTERM, then SIGKILL after a bounded wait) before RunPerformance returns.

#ifndef VIFILER_TOOLS_BENCH_PERF_MODE_H_
#define VIFILER_TOOLS_BENCH_PERF_MODE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "clientlib/client.h"

namespace vifiler {
namespace bench {

struct PerfOptions {
  std::string server;            // filer name, e.g. filer-a
  client::ClientOptions client;  // fabric, hosts file, discriminators, ...
  std::string self_path;         // this binary, re-executed as the raw server
  uint16_t raw_discriminator = 7399;
  int raw_server_cpu = -1;  // -1: raw server may run on every CPU
  pid_t filer_pid = 0;      // 0: look for a local vifilerd with the filer's address
  absl::Duration warmup = absl::Milliseconds(200);
  absl::Duration duration = absl::Seconds(2);
  int bulk_outstanding = 4;   // raw bulk and vifiler 1 MiB sequential runs
  int many_outstanding = 16;  // the "16 outstanding" 4 KiB read run
  size_t small_size = 4096;
  size_t bulk_size = 1 << 20;
  size_t file_size = 64 << 20;
  bool enforce_targets = false;
};

// Returns the process exit code: 0, or 1 when a measurement failed (or, with enforce_targets,
// a target was missed).
int RunPerformance(const PerfOptions& options);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_PERF_MODE_H_
