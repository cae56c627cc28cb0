// Copyright 2026 The vifiler Authors.

#include "filer/sequence_window.h"

namespace vifiler {
namespace filer {
namespace {
// Must match the clock-derived start of clientlib/failover_session.cc.
constexpr int kClockShift = 10;
}  // namespace

uint64_t SequenceCeiling(absl::Time now) {
  const int64_t micros = absl::ToUnixMicros(now + kSequenceClockAllowance);
  if (micros <= 0) return 0;
  const uint64_t limit = UINT64_MAX >> kClockShift;
  if (static_cast<uint64_t>(micros) >= limit) return UINT64_MAX;
  return static_cast<uint64_t>(micros) << kClockShift;
}

bool SequenceInWindow(uint64_t last, uint64_t sequence, absl::Time now) {
  if (sequence <= last) return true;
  if (sequence - last <= kSequenceWindow) return true;
  return sequence <= SequenceCeiling(now);
}

}  // namespace filer
}  // namespace vifiler
