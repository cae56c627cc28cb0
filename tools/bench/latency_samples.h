// Copyright 2026 The vifiler Authors.
//
// LatencySamples: durations collected by one measurement, summarised as nearest-rank
// percentiles. Not thread-safe: each thread fills its own and Merge() combines them.

#ifndef VIFILER_TOOLS_BENCH_LATENCY_SAMPLES_H_
#define VIFILER_TOOLS_BENCH_LATENCY_SAMPLES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace vifiler {
namespace bench {

class LatencySamples {
 public:
  void Add(absl::Duration d) {
    nanos_.push_back(absl::ToInt64Nanoseconds(d));
    sorted_ = false;
  }
  void Merge(const LatencySamples& other);
  size_t count() const { return nanos_.size(); }
  // p in [0, 100]; ZeroDuration when empty.
  absl::Duration Percentile(double p);
  absl::Duration Max() { return Percentile(100); }

 private:
  std::vector<int64_t> nanos_;
  bool sorted_ = true;
};

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_LATENCY_SAMPLES_H_
