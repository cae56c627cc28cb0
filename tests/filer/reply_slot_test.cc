// Copyright 2026 The vifiler Authors.
//
// ReplySlot: each transition of a reply-cache slot, alone.

#include "filer/reply_slot.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace vifiler {
namespace filer {
namespace {

using State = ReplySlot::State;
using Verdict = ReplySlot::Verdict;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

TEST(ReplySlotTest, ANewSequenceExecutesThenIsRecordedThenDurable) {
  ReplySlot slot;
  EXPECT_EQ(slot.Begin(5, kNow), Verdict::kExecute);
  EXPECT_EQ(slot.state, State::kExecuting);
  EXPECT_EQ(slot.Begin(5, kNow), Verdict::kBusy) << "the same request still runs";
  slot.Recorded(5, "reply-5");
  EXPECT_EQ(slot.state, State::kPending);
  EXPECT_TRUE(slot.logged);
  EXPECT_EQ(slot.Begin(5, kNow), Verdict::kBusy) << "not durable yet";
  slot.Durable(5);
  EXPECT_EQ(slot.state, State::kReplied);
  EXPECT_EQ(slot.Begin(5, kNow), Verdict::kReplay);
  EXPECT_EQ(slot.reply, "reply-5");
  EXPECT_EQ(slot.Begin(4, kNow), Verdict::kMisordered);
  EXPECT_EQ(slot.Begin(6, kNow), Verdict::kExecute);
  EXPECT_TRUE(slot.reply.empty());
}

TEST(ReplySlotTest, AFinishedOrNotExecutedRequestLeavesNothingToReplay) {
  ReplySlot slot;
  ASSERT_EQ(slot.Begin(1, kNow), Verdict::kExecute);
  slot.Finished(1);
  EXPECT_EQ(slot.state, State::kIdle);
  EXPECT_FALSE(slot.logged);
  EXPECT_EQ(slot.Begin(1, kNow), Verdict::kExecute) << "a read or a refused mutation runs again";
  slot.NotExecuted(1);
  EXPECT_EQ(slot.state, State::kIdle);
  EXPECT_TRUE(slot.logged);
}

TEST(ReplySlotTest, CallsForAnotherSequenceChangeNothing) {
  ReplySlot slot;
  ASSERT_EQ(slot.Begin(7, kNow), Verdict::kExecute);
  slot.Recorded(6, "old");
  slot.Finished(6);
  slot.NotExecuted(8);
  EXPECT_EQ(slot.state, State::kExecuting);
  slot.Recorded(7, "r");
  slot.Durable(6);
  EXPECT_EQ(slot.state, State::kPending);
  slot.Finished(7);
  EXPECT_EQ(slot.state, State::kPending) << "only an executing request finishes";
}

TEST(ReplySlotTest, AnExpiredReplyIsRefusedNewSequencesRun) {
  ReplySlot slot;
  slot.sequence = 9;
  slot.state = State::kExpired;
  slot.logged = true;
  EXPECT_TRUE(slot.Settled());
  EXPECT_EQ(slot.Begin(9, kNow), Verdict::kExpired);
  EXPECT_EQ(slot.Begin(8, kNow), Verdict::kMisordered);
  EXPECT_EQ(slot.Begin(10, kNow), Verdict::kExecute);
}

TEST(ReplySlotTest, ASequenceOutOfTheWindowChangesNothing) {
  ReplySlot slot;
  ASSERT_EQ(slot.Begin(3, kNow), Verdict::kExecute);
  slot.Finished(3);
  EXPECT_EQ(slot.Begin(UINT64_MAX, kNow), Verdict::kOutOfWindow);
  EXPECT_EQ(slot.sequence, 3u);
  EXPECT_EQ(slot.state, State::kIdle);
}

}  // namespace
}  // namespace filer
}  // namespace vifiler
