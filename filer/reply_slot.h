// Copyright 2026 The vifiler Authors.
//
// ReplySlot: one slot of the reply cache and its state machine, apart from the cache's map,
// locking, waiting and log (filer/reply_cache.h), so that each transition is tested alone.
//
// States (the slot's last sequence is `sequence`):
//   idle      nothing to replay (a read ran, or a mutation did not execute)
//   executing a request is running
//   pending   a mutation executed; its reply is recorded but not yet durable
//   replied   the reply is durable: a replay gets it, the mutation never runs again
//   expired   the client's lease expired and the reply was dropped: a replay is refused
// Begin() decides what a request gets; a new sequence (within the window of
// filer/sequence_window.h) moves the slot to executing. The other calls move the slot on as
// its request progresses and do nothing when the slot has moved on to another sequence or is
// not in the state they expect. Not thread-safe: the cache locks.

#ifndef VIFILER_FILER_REPLY_SLOT_H_
#define VIFILER_FILER_REPLY_SLOT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace vifiler {
namespace filer {

struct ReplySlot {
  enum class State { kIdle, kExecuting, kPending, kReplied, kExpired };
  enum class Verdict {
    kExecute,      // execute it (the slot is now executing)
    kReplay,       // answered from the slot: `reply` holds the encoded reply
    kMisordered,   // sequence lower than the slot's
    kOutOfWindow,  // sequence too far ahead of the slot's: refused, nothing changed
    kBusy,         // a request is still executing or pending on the slot
    kExpired,      // the slot's reply was dropped when the client's lease expired: refused
  };

  // Idle, replied or expired: no request of the slot is running.
  bool Settled() const;
  // What a request with `sequence`, arriving at `now`, gets. A caller that finds the same
  // sequence still running (not Settled) waits for it before asking.
  Verdict Begin(uint64_t sequence, absl::Time now);
  // executing -> pending: the reply of an executed mutation is recorded (not yet durable).
  void Recorded(uint64_t sequence, std::string encoded_reply);
  // pending -> replied: the recorded reply is durable.
  void Durable(uint64_t sequence);
  // executing -> idle: the request finished without a reply to keep.
  void Finished(uint64_t sequence);
  // -> idle: an intent of the request was resolved as not executed.
  void NotExecuted(uint64_t sequence);

  uint64_t sequence = 0;
  State state = State::kIdle;
  bool logged = false;  // the log holds a record for this slot
  std::string reply;
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_REPLY_SLOT_H_
