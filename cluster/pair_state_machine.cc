// Copyright 2026 The vifiler Authors.

#include "cluster/pair_state_machine.h"

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace cluster {
namespace {

PairDecision Do(PairAction action, std::string reason) {
  PairDecision d;
  d.action = action;
  d.reason = std::move(reason);
  return d;
}

std::string Ms(absl::Duration d) {
  return d == absl::InfiniteDuration() ? "ever" : absl::StrCat(absl::ToInt64Milliseconds(d), " ms");
}

}  // namespace

const char* PairActionName(PairAction action) {
  switch (action) {
    case PairAction::kNone:
      return "none";
    case PairAction::kHalt:
      return "halt";
    case PairAction::kDropOwn:
      return "drop-own";
    case PairAction::kDropPartner:
      return "drop-partner";
    case PairAction::kReclaimOwn:
      return "reclaim-own";
    case PairAction::kRelinquishOwn:
      return "relinquish-own";
    case PairAction::kTakeOverPartner:
      return "take-over-partner";
    case PairAction::kGiveBack:
      return "give-back";
  }
  return "?";
}

PairDecision DecidePairAction(const PairInputs& in, const PairConfig& config) {
  if (in.admin_halt) return Do(PairAction::kHalt, "halt requested");
  if (in.holds_own && in.own_failed) return Do(PairAction::kDropOwn, "own volume failed");
  if (in.holds_partner && in.partner_volume_failed) {
    return Do(PairAction::kDropPartner, "partner volume failed");
  }
  if (!in.paired) {
    if (!in.holds_own && in.own_record == OwnRecord::kFree) {
      return Do(PairAction::kReclaimOwn, "start");
    }
    return PairDecision();
  }

  const bool silent = in.since_heard > config.detection;
  const bool storage_silent = in.partner_storage_silence >= config.detection;
  // Just given back and not claimed yet (the partner writes no mailbox we watch yet).
  const bool handing_back = in.since_gave_back < config.takeover_grace &&
                            in.partner_storage_silence == absl::InfiniteDuration();
  const bool graced =
      (in.partner_seen_alive || in.since_start >= config.takeover_grace) && !handing_back;
  const bool dead = silent && storage_silent && !in.partner_halting && graced;

  if (in.relinquish_requested && in.holds_own && !in.holds_partner) {
    return Do(PairAction::kRelinquishOwn, "the partner asked for this filer's volume");
  }
  // 4. Own volume.
  if (!in.holds_own) {
    if (in.own_record == OwnRecord::kFree) {
      // Relinquished a moment ago: the partner is taking it over (it died meanwhile: the grace
      // ends and this filer takes its volume back).
      if (in.since_relinquished < config.takeover_grace) return PairDecision();
      return Do(PairAction::kReclaimOwn, "own volume is free");
    }
    if (in.own_record == OwnRecord::kHeldByPartner && dead) {
      return Do(PairAction::kReclaimOwn,
                absl::StrCat("the partner holding this filer's volume is gone (silent for ",
                             Ms(in.since_heard), ", storage unchanged for ",
                             Ms(in.partner_storage_silence), ")"));
    }
  }
  // 5. Giveback.
  if (in.holds_partner) {
    const bool partner_ready = !silent && in.partner_state == FilerState::kWaitingForGiveback;
    if (in.admin_giveback) {
      if (partner_ready) return Do(PairAction::kGiveBack, "giveback requested");
      PairDecision wait;
      wait.giveback_blocked =
          silent ? absl::StrCat("the partner is not heard on the interconnect (silent for ",
                                Ms(in.since_heard), ")")
                 : absl::StrCat("the partner is ", FilerStateName(in.partner_state),
                                ", not waiting for giveback");
      return wait;
    }
    if (config.auto_giveback && partner_ready &&
        in.partner_waiting_for >= config.auto_giveback_delay) {
      return Do(PairAction::kGiveBack, absl::StrCat("automatic giveback: the partner waited ",
                                                    Ms(in.partner_waiting_for)));
    }
    return PairDecision();
  }
  // 6. Takeover. A filer that does not hold its own volume only takes the partner's over when
  // the partner is gone (it reclaims its own first, rule 3).
  if (in.partner_failing && !in.partner_halting) {
    return Do(PairAction::kTakeOverPartner, "partner sent FAILING");
  }
  if (in.partner_released && in.holds_own && !in.partner_halting) {
    return Do(PairAction::kTakeOverPartner, "partner released its volume on storage");
  }
  if (dead) {
    return Do(PairAction::kTakeOverPartner,
              absl::StrCat("partner silent for ", Ms(in.since_heard),
                           " and its storage unchanged for ", Ms(in.partner_storage_silence)));
  }
  PairDecision none;
  if (silent && !in.partner_halting && !storage_silent) none.interconnect_broken = true;
  if (in.admin_takeover) {
    if (!silent) {
      none.ask_partner_to_relinquish = true;
    } else if (storage_silent) {
      return Do(PairAction::kTakeOverPartner, "administrative takeover of a silent partner");
    }
  }
  return none;
}

bool TakeoverPossible(const PairInputs& in, const PairConfig& config, std::string* why_not) {
  if (!in.paired) {
    *why_not = "no partner";
  } else if (!in.holds_own) {
    *why_not = "this filer does not serve its own volume";
  } else if (in.holds_partner) {
    *why_not = "already in takeover";
  } else if (in.since_heard > config.detection) {
    *why_not = "interconnect down";
  } else if (in.partner_halting) {
    *why_not = "partner halted without takeover";
  } else {
    why_not->clear();
    return true;
  }
  return false;
}

}  // namespace cluster
}  // namespace vifiler
