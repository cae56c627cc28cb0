// Copyright 2026 The vifiler Authors.
//
// The performance mode of vifiler-bench: measures, in one run, a baseline and vifiler (through
// the client library, against a running filer) with the same sizes and requests in flight, and
// prints each vifiler figure beside the baseline's with the ratio and, on tcp against the plain
// baseline, the targets judged PASS or FAIL.
//
// Baselines, each served by a child process started from this same binary at the filer's
// resolved address and stopped by PID (SIGTERM, then SIGKILL after a bounded wait) before the
// measurement returns:
//  - plain (the default on tcp): a minimal file server over one blocking TCP socket
//    (plain_server.h) serving a real file of the same size with pread/pwrite (+ fdatasync);
//  - raw (the default on rdma): vifiler's own transport between two processes, no file at all
//    (raw_server.h). It shows what the fabric layer costs, not what a file server could do.
// vifiler's files are written once, the baseline server started once; then `runs` rounds
// alternate baseline and vifiler, and each figure printed is the median of its rounds.
// RunBaselineOnly measures the plain baseline alone (no filer needed): the smoke test's mode.

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
  std::string baseline = "auto";  // auto (plain on tcp, raw on rdma), plain or raw
  uint16_t plain_port = 7398;
  std::string plain_dir = "/tmp";  // where the plain server creates its file
  bool plain_sync_writes = true;
  std::string plain_address;  // RunBaselineOnly: the address the plain server listens on
  int raw_server_cpu = -1;    // -1: raw server may run on every CPU
  pid_t filer_pid = 0;        // 0: look for a local vifilerd with the filer's address
  absl::Duration warmup = absl::Milliseconds(200);
  absl::Duration duration = absl::Seconds(2);
  int bulk_outstanding = 4;   // raw bulk and vifiler 1 MiB sequential runs
  int many_outstanding = 16;  // the "16 outstanding" 4 KiB read run
  size_t small_size = 4096;
  size_t bulk_size = 1 << 20;
  size_t file_size = size_t{1} << 30;
  int runs = 3;  // interleaved rounds (baseline, vifiler, ...); the report prints medians
  bool enforce_targets = false;
};

// Returns the process exit code: 0, or 1 when a measurement failed (or, with enforce_targets,
// a target was missed).
int RunPerformance(const PerfOptions& options);

// Measures the plain baseline alone on options.plain_address and prints its figures. Returns 0,
// or 1 when the measurement failed, a figure is zero, or the server child did not stop cleanly
// (exit status 0 after SIGTERM).
int RunBaselineOnly(const PerfOptions& options);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_PERF_MODE_H_
