// Copyright 2026 The vifiler Authors.

#include "filer/reply_slot.h"

#include <utility>

#include "filer/sequence_window.h"

namespace vifiler {
namespace filer {

bool ReplySlot::Settled() const {
  return state == State::kIdle || state == State::kReplied || state == State::kExpired;
}

ReplySlot::Verdict ReplySlot::Begin(uint64_t request, absl::Time now) {
  if (request < sequence) return Verdict::kMisordered;
  if (!SequenceInWindow(sequence, request, now)) return Verdict::kOutOfWindow;
  if (request == sequence && state == State::kExpired) return Verdict::kExpired;
  if (request == sequence && state == State::kReplied) return Verdict::kReplay;
  if (!Settled()) return Verdict::kBusy;
  sequence = request;
  state = State::kExecuting;
  reply.clear();
  return Verdict::kExecute;
}

void ReplySlot::Recorded(uint64_t request, std::string encoded_reply) {
  if (request != sequence) return;
  state = State::kPending;
  logged = true;
  reply = std::move(encoded_reply);
}

void ReplySlot::Durable(uint64_t request) {
  if (request == sequence && state == State::kPending) state = State::kReplied;
}

void ReplySlot::Finished(uint64_t request) {
  if (request == sequence && state == State::kExecuting) state = State::kIdle;
}

void ReplySlot::NotExecuted(uint64_t request) {
  if (request != sequence) return;
  state = State::kIdle;
  logged = true;
}

}  // namespace filer
}  // namespace vifiler
