// Copyright 2026 The vifiler Authors.
//
// DecidePairAction, rule by rule: takeover only of a partner that is silent on the
// interconnect AND on storage (never of one whose mailbox moves), FAILING, HALTING, the
// startup grace, reclaiming a free own volume, waiting while the live partner holds it,
// giveback (admin and automatic), dropping failed volumes, relinquishing on request.

#include "cluster/pair_state_machine.h"

#include "gtest/gtest.h"

namespace vifiler {
namespace cluster {
namespace {

constexpr absl::Duration kLong = absl::Seconds(10);

PairInputs Serving() {
  PairInputs in;
  in.paired = true;
  in.since_start = kLong;
  in.holds_own = true;
  in.own_record = OwnRecord::kHeldBySelf;
  in.since_heard = absl::Milliseconds(50);
  in.partner_state = FilerState::kServing;
  in.partner_storage_silence = absl::Milliseconds(50);
  in.partner_seen_alive = true;
  return in;
}

PairAction Act(const PairInputs& in) { return DecidePairAction(in, PairConfig()).action; }

TEST(PairStateMachineTest, HealthyPairDoesNothing) { EXPECT_EQ(Act(Serving()), PairAction::kNone); }

TEST(PairStateMachineTest, TakesOverOnlyWhenInterconnectAndStorageAreBothSilent) {
  PairInputs in = Serving();
  in.since_heard = absl::Seconds(1);
  PairDecision d = DecidePairAction(in, PairConfig());
  EXPECT_EQ(d.action, PairAction::kNone) << "a fresh mailbox means a broken link, not a death";
  EXPECT_TRUE(d.interconnect_broken);
  in.partner_storage_silence = absl::Seconds(1);
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
  in.since_heard = absl::Milliseconds(50);  // heard again: storage alone is not enough
  EXPECT_EQ(Act(in), PairAction::kNone);
  // A partner that writes no mailbox we watch counts as silent storage.
  in.since_heard = absl::Seconds(1);
  in.partner_storage_silence = absl::InfiniteDuration();
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
}

TEST(PairStateMachineTest, FailingTakesOverAtOnceHaltingNever) {
  PairInputs in = Serving();
  in.partner_failing = true;
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
  in = Serving();
  in.partner_halting = true;
  in.since_heard = kLong;
  in.partner_storage_silence = kLong;
  EXPECT_EQ(Act(in), PairAction::kNone);
}

TEST(PairStateMachineTest, AReleasedPartnerVolumeIsTakenOverWithoutWaitingForSilence) {
  PairInputs in = Serving();
  in.partner_released = true;  // its guard fenced and released it: it cannot write any more
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
  in.partner_halting = true;  // halted without takeover: leave it
  EXPECT_EQ(Act(in), PairAction::kNone);
}

TEST(PairStateMachineTest, PartnerNeverSeenGetsTheGrace) {
  PairInputs in = Serving();
  in.partner_seen_alive = false;
  in.since_heard = absl::InfiniteDuration();
  in.partner_storage_silence = absl::InfiniteDuration();
  in.since_start = absl::Seconds(1);
  EXPECT_EQ(Act(in), PairAction::kNone);
  in.since_start = absl::Seconds(6);
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
}

TEST(PairStateMachineTest, OwnVolumeIsReclaimedWhenFreeAndWaitedForWhileThePartnerHoldsIt) {
  PairInputs in = Serving();
  in.holds_own = false;
  in.own_record = OwnRecord::kFree;
  EXPECT_EQ(Act(in), PairAction::kReclaimOwn);
  in.own_record = OwnRecord::kHeldByPartner;
  EXPECT_EQ(Act(in), PairAction::kNone) << "waits for giveback";
  in.own_record = OwnRecord::kUnknown;
  EXPECT_EQ(Act(in), PairAction::kNone);
  // The partner holding it died: reclaim it first, then (next step) take the partner's over.
  in.own_record = OwnRecord::kHeldByPartner;
  in.since_heard = kLong;
  in.partner_storage_silence = kLong;
  EXPECT_EQ(Act(in), PairAction::kReclaimOwn);
  in.holds_own = true;
  in.own_record = OwnRecord::kHeldBySelf;
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
  // A waiting filer whose partner sent FAILING takes nothing before its own volume is back.
  in = Serving();
  in.holds_own = false;
  in.own_record = OwnRecord::kHeldByPartner;
  in.partner_failing = true;
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
}

TEST(PairStateMachineTest, GivebackOnRequestOrAutomaticallyAfterTheDelay) {
  PairInputs in = Serving();
  in.holds_partner = true;
  in.partner_state = FilerState::kWaitingForGiveback;
  in.partner_waiting_for = absl::Seconds(5);
  EXPECT_EQ(Act(in), PairAction::kNone) << "no auto giveback configured";
  in.admin_giveback = true;
  EXPECT_EQ(Act(in), PairAction::kGiveBack);
  in.admin_giveback = false;
  PairConfig config;
  config.auto_giveback = true;
  EXPECT_EQ(DecidePairAction(in, config).action, PairAction::kGiveBack);
  in.partner_waiting_for = absl::Seconds(1);
  EXPECT_EQ(DecidePairAction(in, config).action, PairAction::kNone);
  in.partner_waiting_for = absl::Seconds(5);
  in.since_heard = kLong;  // a silent partner gets nothing back
  EXPECT_EQ(DecidePairAction(in, config).action, PairAction::kNone);
}

TEST(PairStateMachineTest, AnAdminGivebackWaitsForAPartnerHeardWaitingForIt) {
  PairInputs in = Serving();
  in.holds_partner = true;
  in.partner_state = FilerState::kWaitingForGiveback;
  in.admin_giveback = true;
  in.since_heard = absl::Seconds(1);  // restarted, its interconnect not up (yet)
  in.partner_storage_silence = absl::InfiniteDuration();
  PairDecision d = DecidePairAction(in, PairConfig());
  EXPECT_EQ(d.action, PairAction::kNone);
  EXPECT_NE(d.giveback_blocked.find("not heard on the interconnect"), std::string::npos)
      << d.giveback_blocked;
  in.since_heard = absl::Milliseconds(50);
  in.partner_state = FilerState::kStarting;  // heard, but not ready to take its volume
  d = DecidePairAction(in, PairConfig());
  EXPECT_EQ(d.action, PairAction::kNone);
  EXPECT_NE(d.giveback_blocked.find("starting"), std::string::npos) << d.giveback_blocked;
  in.partner_state = FilerState::kWaitingForGiveback;
  d = DecidePairAction(in, PairConfig());
  EXPECT_EQ(d.action, PairAction::kGiveBack);
  EXPECT_TRUE(d.giveback_blocked.empty());
}

TEST(PairStateMachineTest, AVolumeJustRelinquishedIsLeftToThePartner) {
  // Released for an administrative takeover; the partner has not claimed it yet.
  PairInputs in = Serving();
  in.holds_own = false;
  in.own_record = OwnRecord::kFree;
  in.since_relinquished = absl::Milliseconds(40);
  EXPECT_EQ(Act(in), PairAction::kNone);
  // The partner never took it (it died meanwhile): after the grace it is reclaimed.
  in.since_relinquished = absl::Seconds(6);
  EXPECT_EQ(Act(in), PairAction::kReclaimOwn);
  // Released without a relinquish (a giveback): reclaimed at once.
  in.since_relinquished = absl::InfiniteDuration();
  EXPECT_EQ(Act(in), PairAction::kReclaimOwn);
}

TEST(PairStateMachineTest, APartnerJustGivenItsVolumeBackIsNotTakenOverOnAPause) {
  // The partner took its volume back a moment ago and is claiming it (its mailbox does not
  // move yet); its interconnect pauses.
  PairInputs in = Serving();
  in.since_gave_back = absl::Seconds(1);
  in.since_heard = absl::Seconds(1);
  in.partner_storage_silence = absl::InfiniteDuration();
  EXPECT_EQ(Act(in), PairAction::kNone);
  // Once claimed, its mailbox moves: the usual rule (silent on both) applies.
  in.partner_storage_silence = absl::Milliseconds(50);
  EXPECT_EQ(Act(in), PairAction::kNone);
  in.partner_storage_silence = absl::Seconds(1);
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
  // Never claimed: after the grace it is dead like any silent partner.
  in.partner_storage_silence = absl::InfiniteDuration();
  in.since_gave_back = absl::Seconds(6);
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
  // FAILING needs no grace.
  in.since_gave_back = absl::Seconds(1);
  in.partner_failing = true;
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
}

TEST(PairStateMachineTest, FailedVolumesAreDroppedFirstAndHaltBeatsEverything) {
  PairInputs in = Serving();
  in.holds_partner = true;
  in.partner_volume_failed = true;
  EXPECT_EQ(Act(in), PairAction::kDropPartner);
  in.own_failed = true;
  EXPECT_EQ(Act(in), PairAction::kDropOwn);
  in.admin_halt = true;
  EXPECT_EQ(Act(in), PairAction::kHalt);
}

TEST(PairStateMachineTest, AdministrativeTakeover) {
  PairInputs in = Serving();
  in.admin_takeover = true;
  PairDecision d = DecidePairAction(in, PairConfig());
  EXPECT_EQ(d.action, PairAction::kNone);
  EXPECT_TRUE(d.ask_partner_to_relinquish);
  // The partner's side: asked, it relinquishes its own volume.
  PairInputs partner = Serving();
  partner.relinquish_requested = true;
  EXPECT_EQ(Act(partner), PairAction::kRelinquishOwn);
  // Silent partner with stale storage: take over; with fresh storage: refuse (nothing).
  in.since_heard = kLong;
  in.partner_halting = true;  // even one that said HALTING, when the admin insists
  in.partner_storage_silence = kLong;
  EXPECT_EQ(Act(in), PairAction::kTakeOverPartner);
  in.partner_storage_silence = absl::Milliseconds(10);
  EXPECT_EQ(Act(in), PairAction::kNone);
}

TEST(PairStateMachineTest, SingleFilerOnlyReclaimsItsVolume) {
  PairInputs in;
  in.own_record = OwnRecord::kFree;
  EXPECT_EQ(Act(in), PairAction::kReclaimOwn);
  in.holds_own = true;
  in.since_heard = absl::InfiniteDuration();
  EXPECT_EQ(Act(in), PairAction::kNone);
}

TEST(PairStateMachineTest, TakeoverPossibleSaysWhyNot) {
  std::string why;
  EXPECT_TRUE(TakeoverPossible(Serving(), PairConfig(), &why));
  PairInputs in = Serving();
  in.since_heard = kLong;
  EXPECT_FALSE(TakeoverPossible(in, PairConfig(), &why));
  EXPECT_EQ(why, "interconnect down");
}

}  // namespace
}  // namespace cluster
}  // namespace vifiler
