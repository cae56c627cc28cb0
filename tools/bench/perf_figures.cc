// Copyright 2026 The vifiler Authors.

#include "tools/bench/perf_figures.h"

#include <algorithm>
#include <cstdint>

namespace vifiler {
namespace bench {

Summary Summarize(Figures& f) {
  Summary s;
  s.read_p50_us = absl::ToDoubleMicroseconds(f.small_read.latency.Percentile(50));
  s.read_p99_us = absl::ToDoubleMicroseconds(f.small_read.latency.Percentile(99));
  s.write_p50_us = absl::ToDoubleMicroseconds(f.small_write.latency.Percentile(50));
  s.write_p99_us = absl::ToDoubleMicroseconds(f.small_write.latency.Percentile(99));
  s.read_ops = f.small_read.OpsPerSecond();
  s.read_many_ops = f.small_read_many.OpsPerSecond();
  s.seq_read_mibs = f.seq_read.MiBPerSecond();
  s.seq_write_mibs = f.seq_write.MiBPerSecond();
  s.fewest_operations =
      std::min({f.small_read.operations, f.small_write.operations, f.small_read_many.operations,
                f.seq_read.operations, f.seq_write.operations});
  return s;
}

Summary MedianOf(const std::vector<Summary>& rounds) {
  Summary m;
  if (rounds.empty()) return m;
  auto median = [&rounds](double Summary::*field) {
    std::vector<double> values;
    for (const Summary& r : rounds) values.push_back(r.*field);
    std::sort(values.begin(), values.end());
    return values[(values.size() - 1) / 2];
  };
  m.read_p50_us = median(&Summary::read_p50_us);
  m.read_p99_us = median(&Summary::read_p99_us);
  m.write_p50_us = median(&Summary::write_p50_us);
  m.write_p99_us = median(&Summary::write_p99_us);
  m.read_ops = median(&Summary::read_ops);
  m.read_many_ops = median(&Summary::read_many_ops);
  m.seq_read_mibs = median(&Summary::seq_read_mibs);
  m.seq_write_mibs = median(&Summary::seq_write_mibs);
  uint64_t fewest = rounds[0].fewest_operations;
  for (const Summary& r : rounds) fewest = std::min(fewest, r.fewest_operations);
  m.fewest_operations = fewest;
  return m;
}

}  // namespace bench
}  // namespace vifiler
