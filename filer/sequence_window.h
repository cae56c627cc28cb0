// Copyright 2026 The vifiler Authors.
//
// The sequence window: which sequence numbers a reply-cache slot accepts as new requests.
//
// A client numbers each slot's requests with a sequence that grows by one per request, and the
// client library starts its slots from its clock (microseconds since the Unix epoch, shifted
// left by 10: clientlib/failover_session.cc) so that a restarted client never presents a
// (slot, sequence) the filer cached from its previous run. A slot's sequence never goes back,
// so one request with a huge sequence (2^64 - 1) would make every later request of that client
// misordered, for good once recorded in the reply log. Hence a sequence ahead of the slot's last
// one is accepted only when it is
//   - at most kSequenceWindow ahead of it (clients that number from small values), or
//   - no later than SequenceCeiling(now): the sequence a clock-started client could have
//     reached by now, with kSequenceClockAllowance for clocks ahead of this filer's;
// anything further is out of the window and refused without being recorded anywhere.

#ifndef VIFILER_FILER_SEQUENCE_WINDOW_H_
#define VIFILER_FILER_SEQUENCE_WINDOW_H_

#include <cstdint>

#include "absl/time/time.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {

// How far ahead of a slot's last sequence a request may jump (the most requests a session can
// have in flight).
inline constexpr uint64_t kSequenceWindow = protocol::kMaxSlots;
// How far ahead of this filer's clock a client's clock-started sequences may be.
inline constexpr absl::Duration kSequenceClockAllowance = absl::Hours(1);

// The largest sequence a client starting its slots from its clock can use at `now`.
uint64_t SequenceCeiling(absl::Time now);

// True when `sequence` may be executed on a slot whose last sequence is `last`: not above it
// (the reply cache tells replays from misordered requests), or ahead of it within the window.
bool SequenceInWindow(uint64_t last, uint64_t sequence, absl::Time now);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_SEQUENCE_WINDOW_H_
