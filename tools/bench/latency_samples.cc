// Copyright 2026 The vifiler Authors.

#include "tools/bench/latency_samples.h"

#include <algorithm>
#include <cmath>

namespace vifiler {
namespace bench {

void LatencySamples::Merge(const LatencySamples& other) {
  nanos_.insert(nanos_.end(), other.nanos_.begin(), other.nanos_.end());
  sorted_ = false;
}

absl::Duration LatencySamples::Percentile(double p) {
  if (nanos_.empty()) return absl::ZeroDuration();
  if (!sorted_) {
    std::sort(nanos_.begin(), nanos_.end());
    sorted_ = true;
  }
  const double rank = std::ceil(p / 100.0 * static_cast<double>(nanos_.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  index = std::min(index, nanos_.size() - 1);
  return absl::Nanoseconds(nanos_[index]);
}

}  // namespace bench
}  // namespace vifiler
