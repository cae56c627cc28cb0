// Copyright 2026 The vifiler Authors.
//
// DecidePairAction: what one filer of a pair does next, decided from what it knows now. A pure
// function: no I/O, no clock, no locks. The TakeoverController (cluster/takeover_controller.h)
// gathers the inputs (interconnect, the mailboxes and ownership records on storage, admin
// requests, its own volumes' health), calls it, and carries the action out; so every rule of
// the pair is here, testable on its own (tests/cluster/pair_state_machine_test.cc).
//
// The rules, first that applies:
//  1. Halt requested: halt (releasing what this filer holds).
//  2. A volume this filer holds failed (its lease was lost or its service could not record):
//     drop it at once.
//  3. Asked by the partner to relinquish its own volume (an administrative takeover), and not
//     holding the partner's: relinquish it (the partner takes it over on the FAILING that
//     follows).
//  4. Not holding its own volume, and its ownership record is free for it (never claimed,
//     released, held by this filer's earlier incarnation, or by an earlier incarnation of the
//     partner whose lease nobody renews) or the partner holding it is dead: reclaim it. A record
//     held by the live partner means: wait for giveback. A volume this filer just relinquished
//     to the partner (admin takeover) is free until the partner claims it: it is left to the
//     partner for the takeover grace, not reclaimed in that window.
//  5. Holding the partner's volume: give it back when asked (admin), or automatically once the
//     partner has waited for giveback for auto_giveback_delay; either only while the partner is
//     heard on the interconnect and says it waits for giveback (a volume handed to a partner
//     that cannot be reached would serve nobody; an admin request waits until then).
//  6. Not holding the partner's volume: take it over when the partner sent FAILING (it dies,
//     halts with takeover, or relinquished its volume for an administrative takeover), when
//     the partner released its volume on storage and did not say HALTING (its process died
//     and its fence guard fenced and released the volume: nothing waits for silence), when
//     the administrator asks and the partner is silent with stale storage, or when the
//     partner is dead: silent on the interconnect for the
//     detection threshold AND its mailboxes on storage unchanged as long, and not HALTING; a
//     partner not heard on the interconnect since this filer started gets the startup grace first,
//     and so does a partner this filer just gave its volume back to, until it has claimed it
//     (its mailbox moves again) or the grace has passed: it was alive when it took the volume
//     back, and a short interconnect pause then must not take the volume straight back.
//     Silent with fresh storage is a broken interconnect: report it, never take over.
//  7. Otherwise nothing.
// An administrative takeover of a live partner is a request to it (it relinquishes, then rule
// 5 applies); the controller sends that request, the state machine only reports it.

#ifndef VIFILER_CLUSTER_PAIR_STATE_MACHINE_H_
#define VIFILER_CLUSTER_PAIR_STATE_MACHINE_H_

#include <string>

#include "absl/time/time.h"
#include "cluster/filer_state.h"

namespace vifiler {
namespace cluster {

// What the ownership record of this filer's own volume said when last read.
enum class OwnRecord {
  kUnknown,        // not read (or unreadable)
  kFree,           // never claimed, released, or held by an earlier run of either filer
                   // that nothing renews
  kHeldByPartner,  // claimed by the partner
  kHeldBySelf,     // claimed by this process (it holds the volume)
};

struct PairInputs {
  bool paired = false;
  absl::Duration since_start;
  // What this filer holds now, and whether it is failing.
  bool holds_own = false;
  bool holds_partner = false;
  bool own_failed = false;
  bool partner_volume_failed = false;
  OwnRecord own_record = OwnRecord::kUnknown;
  // The partner, as heard on the interconnect (since_heard: InfiniteDuration if never).
  absl::Duration since_heard = absl::InfiniteDuration();
  FilerState partner_state = FilerState::kStarting;
  absl::Duration partner_waiting_for = absl::ZeroDuration();  // in kWaitingForGiveback
  bool partner_failing = false;       // sent FAILING since it was last seen serving
  bool partner_halting = false;       // sent HALTING (this incarnation)
  bool relinquish_requested = false;  // the partner asks for this filer's volume (admin takeover)
  // How long no mailbox the partner writes has changed (InfiniteDuration: it writes none that
  // this filer watches, or never did).
  absl::Duration partner_storage_silence = absl::InfiniteDuration();
  // Heard on the interconnect since this filer started. A moving mailbox alone does not count:
  // a starting partner renews its lease before its link is up, and may pause longer than the
  // detection threshold while it starts.
  bool partner_seen_alive = false;
  // How long ago this filer relinquished its own volume for an administrative takeover, while
  // the partner is not yet seen holding it (InfiniteDuration: not relinquished, or taken).
  absl::Duration since_relinquished = absl::InfiniteDuration();
  // How long ago this filer last gave the partner's volume back (InfiniteDuration: never).
  absl::Duration since_gave_back = absl::InfiniteDuration();
  // The last beat on the partner's own volume is the partner's release: it holds no lease on
  // it any more (it died and its guard fenced the volume, or it let the volume go).
  bool partner_released = false;
  // Administrator requests pending.
  bool admin_halt = false;
  bool admin_takeover = false;
  bool admin_giveback = false;
};

struct PairConfig {
  absl::Duration detection = absl::Milliseconds(300);  // heartbeat interval x misses
  absl::Duration takeover_grace = absl::Seconds(5);
  bool auto_giveback = false;
  absl::Duration auto_giveback_delay = absl::Seconds(2);
};

enum class PairAction {
  kNone,
  kHalt,
  kDropOwn,
  kDropPartner,
  kReclaimOwn,
  kRelinquishOwn,
  kTakeOverPartner,
  kGiveBack,
};
const char* PairActionName(PairAction action);

struct PairDecision {
  PairAction action = PairAction::kNone;
  std::string reason;
  // The interconnect is silent but the partner's storage is fresh: a broken link, not a dead
  // partner (for the status and one log line).
  bool interconnect_broken = false;
  // An administrative takeover of a live partner: ask it to relinquish.
  bool ask_partner_to_relinquish = false;
  // An admin giveback waits: why the partner cannot take its volume back now (empty: it can,
  // or none is asked for).
  std::string giveback_blocked;
};

PairDecision DecidePairAction(const PairInputs& in, const PairConfig& config);

// True when this filer could take over its partner right now if it failed (for the status):
// paired, holding its own volume, not already holding the partner's, the interconnect up.
bool TakeoverPossible(const PairInputs& in, const PairConfig& config, std::string* why_not);

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_PAIR_STATE_MACHINE_H_
