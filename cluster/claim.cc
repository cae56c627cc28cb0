// Copyright 2026 The vifiler Authors.

#include "cluster/claim.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace vifiler {
namespace cluster {

const char* ClaimWaitReasonName(ClaimWaitReason reason) {
  switch (reason) {
    case ClaimWaitReason::kNeverRenewed:
      return "the mailbox was never written";
    case ClaimWaitReason::kReleased:
      return "released cleanly by the last mailbox writer";
    case ClaimWaitReason::kRenewalsStopped:
      return "the mailbox stopped changing";
    case ClaimWaitReason::kRenewalsMoving:
      return "the mailbox changed or could not be read";
  }
  return "unknown";
}

namespace {

// The mailbox's last beat is a release by the holder of `record`.
bool ReleasedBy(const MailboxRead& read, const OwnerRecord& record) {
  return read.state == BlockState::kValid && read.entry.released &&
         read.entry.writer == record.owner && read.entry.incarnation == record.incarnation &&
         read.entry.epoch == record.epoch;
}

}  // namespace

ClaimWait ComputeClaimWait(const OwnerRead& previous, const MailboxObservation& observed,
                           const absl::StatusOr<MailboxRead>& reread, absl::Duration t_cd,
                           absl::Duration lease_duration, absl::Duration margin) {
  ClaimWait wait;
  wait.lease_duration = lease_duration;
  if (observed.seen) {
    wait.lease_duration = std::max(wait.lease_duration, observed.entry.lease_duration);
  }
  const bool valid = reread.ok() && reread->state == BlockState::kValid;
  if (valid) wait.lease_duration = std::max(wait.lease_duration, reread->entry.lease_duration);
  const absl::Duration lease = wait.lease_duration;

  if (reread.ok() && reread->state == BlockState::kBlank && !observed.seen) {
    wait.reason = ClaimWaitReason::kNeverRenewed;
    wait.until = t_cd;
    return wait;
  }
  if (valid) {
    const MailboxEntry& last = reread->entry;
    if (previous.state == BlockState::kValid &&
        (previous.record.state == OwnershipState::kReleased || last.released) &&
        last.writer == previous.record.owner && last.incarnation == previous.record.incarnation &&
        last.epoch == previous.record.epoch) {
      wait.reason = ClaimWaitReason::kReleased;
      wait.until = t_cd;
      return wait;
    }
    if (observed.seen && SameBeat(observed.entry, last)) {
      wait.reason = ClaimWaitReason::kRenewalsStopped;
      wait.until = observed.first_seen + lease + margin;
      return wait;
    }
  }
  wait.reason = ClaimWaitReason::kRenewalsMoving;
  wait.until = t_cd + lease + margin;
  return wait;
}

std::string ClaimProgress::ToString() const {
  const char* what = "";
  switch (phase) {
    case ClaimPhase::kClaimed:
      what = "claimed";
      break;
    case ClaimPhase::kWaiting:
      what = "waiting";
      break;
    case ClaimPhase::kOwned:
      what = "owned";
      break;
    case ClaimPhase::kLost:
      what = "lost";
      break;
  }
  return absl::StrCat(volume, " epoch ", epoch, ": ", what, " (", ClaimWaitReasonName(wait.reason),
                      "; lease ", absl::FormatDuration(wait.lease_duration), "; ",
                      absl::FormatDuration(std::max(remaining, absl::ZeroDuration())),
                      " left to wait)");
}

// How often a waiting claimant looks for a release by the previous holder.
constexpr absl::Duration kReleaseLookInterval = absl::Milliseconds(25);

absl::StatusOr<ClaimResult> ClaimVolume(storage::BlockFile* ownership, storage::BlockFile* mailbox,
                                        const MailboxObservation& observed,
                                        const ClaimOptions& options, absl::Time deadline) {
  if (!ValidFilerName(options.taker)) {
    return absl::InvalidArgumentError(absl::StrCat("claim: bad taker \"", options.taker, "\""));
  }
  if (options.lease_duration <= absl::ZeroDuration() || options.margin < absl::ZeroDuration() ||
      options.progress_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("claim: need a positive lease, interval and margin >= 0");
  }
  // The deadline on the lease clock, so that the wait and the deadline compare directly.
  const absl::Duration mono_deadline = LeaseClockNow() + (deadline - absl::Now());
  const std::string what = absl::StrCat("claim of ", options.volume, " by ", options.taker);
  if (LeaseClockNow() >= mono_deadline) {
    return absl::DeadlineExceededError(what + ": deadline passed before the claim was written");
  }
  const OwnershipStore store(ownership);
  const MailboxStore box(mailbox);

  ClaimResult result;
  absl::StatusOr<OwnerRead> previous = store.Read();
  if (!previous.ok()) return previous.status();
  result.previous = *previous;
  const absl::StatusOr<MailboxRead> before = box.Read();

  uint64_t epoch = options.min_epoch;
  bool epoch_known = options.min_epoch > 0 || previous->state != BlockState::kDamaged;
  if (previous->state == BlockState::kValid) epoch = std::max(epoch, previous->record.epoch);
  if (before.ok() && before->state == BlockState::kValid) {
    epoch = std::max(epoch, before->entry.epoch);
    epoch_known = true;
  }
  if (!epoch_known) {
    return absl::DataLossError(
        absl::StrCat(what,
                     ": the ownership record is damaged and the mailbox shows no epoch; pass the "
                     "highest epoch known from elsewhere as min_epoch"));
  }

  OwnerRecord claim;
  claim.owner = options.taker;
  claim.epoch = epoch + 1;
  claim.state = OwnershipState::kClaimed;
  claim.incarnation = options.incarnation;
  claim.unix_time_ns = absl::ToUnixNanos(absl::Now());
  if (absl::Status s = store.Write(claim); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(what, ": writing the claim: ", s.message()));
  }
  result.claim = claim;
  result.claimed_at = LeaseClockNow();  // T_cd
  const absl::StatusOr<MailboxRead> reread = box.Read();
  result.wait = ComputeClaimWait(*previous, observed, reread, result.claimed_at,
                                 options.lease_duration, options.margin);

  ClaimProgress progress;
  progress.volume = options.volume;
  progress.epoch = claim.epoch;
  progress.wait = result.wait;
  auto report = [&](ClaimPhase phase) {
    if (!options.progress) return;
    progress.phase = phase;
    progress.remaining = result.wait.until - LeaseClockNow();
    options.progress(progress);
  };
  if (result.wait.until > mono_deadline) {
    return absl::DeadlineExceededError(absl::StrCat(
        what, ": claim at epoch ", claim.epoch, " written, but ",
        ClaimWaitReasonName(result.wait.reason), " and the previous holder's lease may last ",
        absl::FormatDuration(result.wait.until - LeaseClockNow()),
        " more, past the deadline; the claim stays on storage"));
  }
  report(ClaimPhase::kClaimed);
  // While waiting, watch the mailbox: a released beat from the previous holder (its clean
  // giveback, or its fence guard after it died and its volume was fenced) means it holds no
  // lease any more, and the wait ends.
  const bool holder_known = previous->state == BlockState::kValid;
  absl::Duration next_look = LeaseClockNow();
  while (true) {
    const absl::Duration left = result.wait.until - LeaseClockNow();
    if (left <= absl::ZeroDuration()) break;
    absl::SleepFor(std::min({left, options.progress_interval, kReleaseLookInterval}));
    if (holder_known && LeaseClockNow() >= next_look) {
      next_look = LeaseClockNow() + kReleaseLookInterval;
      absl::StatusOr<MailboxRead> now = box.Read();
      if (now.ok() && ReleasedBy(*now, previous->record)) {
        result.wait.reason = ClaimWaitReason::kReleased;
        result.wait.until = LeaseClockNow();
        break;
      }
    }
    if (result.wait.until > LeaseClockNow()) report(ClaimPhase::kWaiting);
  }
  absl::StatusOr<OwnerRead> final_read = store.Read();
  result.waited = LeaseClockNow() - result.claimed_at;
  if (!final_read.ok()) {
    return absl::Status(final_read.status().code(),
                        absl::StrCat(what, ": the final read failed, outcome unknown: ",
                                     final_read.status().message()));
  }
  if (final_read->state == BlockState::kValid && SameHolder(final_read->record, claim) &&
      final_read->record.state == OwnershipState::kClaimed) {
    report(ClaimPhase::kOwned);
    return result;
  }
  report(ClaimPhase::kLost);
  return absl::AbortedError(absl::StrCat(what, " at epoch ", claim.epoch,
                                         " lost: the record now says ",
                                         DescribeOwnerRead(*final_read)));
}

}  // namespace cluster
}  // namespace vifiler
