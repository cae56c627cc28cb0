// Copyright 2026 The vifiler Authors.
//
// The figures of one round of the performance mode, for vifiler or a baseline (the same sizes
// and requests in flight for both), and their summary: the scalars the report prints, and the
// per-scalar median over several interleaved rounds (the host is shared and noisy; one round
// says little).

#ifndef VIFILER_TOOLS_BENCH_PERF_FIGURES_H_
#define VIFILER_TOOLS_BENCH_PERF_FIGURES_H_

#include <vector>

#include "tools/bench/raw_client.h"

namespace vifiler {
namespace bench {

// What one round measured.
struct Figures {
  RunResult small_read;       // 4 KiB, 1 outstanding, successive offsets
  RunResult small_write;      // 4 KiB, 1 outstanding
  RunResult small_read_many;  // 4 KiB, many outstanding, random offsets
  RunResult seq_read;         // 1 MiB, bulk_outstanding, successive offsets
  RunResult seq_write;        // 1 MiB, bulk_outstanding
};

// The scalars of a round (latencies in microseconds).
struct Summary {
  double read_p50_us = 0;
  double read_p99_us = 0;
  double write_p50_us = 0;
  double write_p99_us = 0;
  double read_ops = 0;       // small reads per second, 1 outstanding
  double read_many_ops = 0;  // small random reads per second, many outstanding
  double seq_read_mibs = 0;
  double seq_write_mibs = 0;
  uint64_t fewest_operations = 0;  // of the round's five runs: 0 means one measured nothing
};

Summary Summarize(Figures& figures);
// Per-scalar median (the lower middle for an even count); a zero Summary when empty.
Summary MedianOf(const std::vector<Summary>& rounds);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_PERF_FIGURES_H_
