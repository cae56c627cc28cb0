// Copyright 2026 The vifiler Authors.

#include "cluster/lease.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace vifiler {
namespace cluster {

RenewalVerdict JudgeRenewal(const OwnerRecord& mine, const absl::Status& write,
                            const absl::StatusOr<OwnerRead>& read, bool guard_alive,
                            absl::Status* why) {
  if (!guard_alive) {
    *why = absl::UnavailableError(
        "the fence guard process is gone: the lease can no longer be enforced, so it is not "
        "extended; stop serving the volume");
    return RenewalVerdict::kLost;
  }
  if (!write.ok()) {
    *why = write;
    return RenewalVerdict::kKeep;
  }
  if (!read.ok()) {
    *why = read.status();
    return RenewalVerdict::kKeep;
  }
  if (read->state != BlockState::kValid) {
    *why = absl::UnavailableError(absl::StrCat("read ", DescribeOwnerRead(*read)));
    return RenewalVerdict::kKeep;
  }
  const OwnerRecord& record = read->record;
  if (SameHolder(record, mine) && record.state == OwnershipState::kClaimed) {
    *why = absl::OkStatus();
    return RenewalVerdict::kExtend;
  }
  *why = absl::FailedPreconditionError(absl::StrCat("the ownership record now says ",
                                                    DescribeOwner(record), "; this filer held ",
                                                    DescribeOwner(mine)));
  return RenewalVerdict::kLost;
}

Lease::Lease(storage::BlockFile* ownership, storage::BlockFile* mailbox, LeaseOptions options)
    : ownership_(ownership), mailbox_(mailbox), options_(std::move(options)) {}

Lease::~Lease() { Abandon(); }

OwnerRecord Lease::Mine(OwnershipState state) const {
  OwnerRecord record;
  record.owner = options_.owner;
  record.epoch = options_.epoch;
  record.state = state;
  record.incarnation = options_.incarnation;
  record.unix_time_ns = absl::ToUnixNanos(absl::Now());
  return record;
}

void Lease::SetInvalid() { valid_until_ns_.store(0, std::memory_order_release); }

bool Lease::Valid(absl::Duration margin) const {
  const int64_t until = valid_until_ns_.load(std::memory_order_acquire);
  return until != 0 && absl::Nanoseconds(until) - margin > LeaseClockNow();
}

absl::Duration Lease::until() const {
  absl::MutexLock lock(&mu_);
  return until_;
}

LeaseStatus Lease::status() const {
  LeaseStatus s;
  s.valid = Valid();
  absl::MutexLock lock(&mu_);
  s.until = until_;
  s.counter = last_counter_;
  s.renewals = renewals_;
  s.failed_renewals = failed_renewals_;
  s.last_error = last_error_;
  s.lost = lost_status_;
  s.released = released_;
  s.abandoned = abandoned_;
  return s;
}

RenewalVerdict Lease::RenewOnce(absl::Status* why) {
  MailboxEntry entry;
  {
    absl::MutexLock lock(&mu_);
    entry.counter = next_counter_++;
    last_counter_ = entry.counter;
  }
  // t_issue is taken before the mailbox write starts: the lease this attempt can earn is
  // measured from a time no later than any time the write could have been seen.
  const absl::Duration t_issue = LeaseClockNow();
  entry.writer = options_.owner;
  entry.epoch = options_.epoch;
  entry.incarnation = options_.incarnation;
  entry.lease_duration = options_.duration;
  entry.unix_time_ns = absl::ToUnixNanos(absl::Now());
  const absl::Status write = mailbox_.Write(entry);
  // The record is read only after the mailbox write returned (see the header comment).
  absl::StatusOr<OwnerRead> read =
      write.ok() ? ownership_.Read() : absl::StatusOr<OwnerRead>(write);
  const bool guard_alive = options_.guard == nullptr || options_.guard->alive();
  const RenewalVerdict verdict =
      JudgeRenewal(Mine(OwnershipState::kClaimed), write, read, guard_alive, why);

  absl::MutexLock lock(&mu_);
  switch (verdict) {
    case RenewalVerdict::kExtend:
      ++renewals_;
      if (!lost_) {
        until_ = std::max(until_, t_issue + options_.duration);
        if (!stop_)
          valid_until_ns_.store(absl::ToInt64Nanoseconds(until_), std::memory_order_release);
        if (options_.guard != nullptr && slot_ >= 0) options_.guard->Publish(slot_, until_);
      }
      break;
    case RenewalVerdict::kKeep:
      ++failed_renewals_;
      last_error_ = *why;
      break;
    case RenewalVerdict::kLost:
      ++failed_renewals_;
      last_error_ = *why;
      if (!lost_) {
        lost_ = true;
        lost_status_ = *why;
        SetInvalid();
      }
      break;
  }
  return verdict;
}

absl::Status Lease::Start(absl::Time deadline) {
  absl::MutexLock stop_lock(&stop_mu_);
  if (!ValidFilerName(options_.owner)) {
    return absl::InvalidArgumentError(absl::StrCat("lease: bad owner \"", options_.owner, "\""));
  }
  if (options_.interval <= absl::ZeroDuration() || options_.duration <= options_.interval) {
    return absl::InvalidArgumentError("lease: need 0 < interval < duration");
  }
  if (options_.epoch == 0) return absl::InvalidArgumentError("lease: epoch 0 is never owned");
  if (options_.guard != nullptr &&
      options_.guard->options().margin + options_.interval >= options_.duration) {
    return absl::InvalidArgumentError(
        "lease: the guard's margin plus the interval must be shorter than the lease");
  }
  {
    absl::MutexLock lock(&mu_);
    if (started_ || stop_) return absl::FailedPreconditionError("lease: Start() ran before");
  }
  int slot = -1;
  if (options_.guard != nullptr) {
    if (!options_.guard->alive()) {
      return absl::UnavailableError("lease: the fence guard process is gone");
    }
    FenceGuard::Release release;
    release.mailbox_path = options_.mailbox_path;
    release.mailbox_offset = options_.mailbox_offset;
    release.owner = options_.owner;
    release.epoch = options_.epoch;
    release.incarnation = options_.incarnation;
    release.lease_duration = options_.duration;
    absl::StatusOr<int> acquired =
        options_.guard->AcquireSlot(options_.volume, options_.fence_devices,
                                    options_.mailbox_path.empty() ? nullptr : &release);
    if (!acquired.ok()) return acquired.status();
    slot = *acquired;
  }
  absl::StatusOr<MailboxRead> previous = mailbox_.Read();
  {
    absl::MutexLock lock(&mu_);
    slot_ = slot;
    if (previous.ok() && previous->state == BlockState::kValid) {
      next_counter_ = previous->entry.counter + 1;
    }
  }
  absl::Status why;
  while (true) {
    const RenewalVerdict verdict = RenewOnce(&why);
    if (verdict == RenewalVerdict::kExtend) break;
    const absl::Duration left = deadline - absl::Now();
    if (verdict == RenewalVerdict::kLost || left <= absl::ZeroDuration()) {
      {
        absl::MutexLock lock(&mu_);
        stop_ = true;
        SetInvalid();
      }
      if (options_.guard != nullptr) options_.guard->FreeSlot(slot);
      if (verdict == RenewalVerdict::kLost) return why;
      return absl::DeadlineExceededError(
          absl::StrCat("lease on ", options_.volume, ": no renewal succeeded: ", why.ToString()));
    }
    absl::SleepFor(std::min(options_.interval, left));
  }
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  thread_ = std::thread(&Lease::Run, this);
  return absl::OkStatus();
}

void Lease::Run() {
  absl::Duration next = LeaseClockNow() + options_.interval;
  bool failing = false;
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      while (!stop_) {
        const absl::Duration left = next - LeaseClockNow();
        if (left <= absl::ZeroDuration()) break;
        mu_.AwaitWithTimeout(absl::Condition(&stopping), left);
      }
      if (stop_) return;
    }
    // Attempts are spaced from their issue times; one that ran long is followed at once.
    next = LeaseClockNow() + options_.interval;
    absl::Status why;
    const RenewalVerdict verdict = RenewOnce(&why);
    if (verdict == RenewalVerdict::kLost) {
      LOG(WARNING) << "lease on " << options_.volume << ": lost: " << why;
      if (options_.on_lost) options_.on_lost(why);
      return;
    }
    if (verdict == RenewalVerdict::kKeep && !failing) {
      LOG(WARNING) << "lease on " << options_.volume << ": renewal not extended: " << why;
    } else if (verdict == RenewalVerdict::kExtend && failing) {
      LOG(INFO) << "lease on " << options_.volume << ": renewing again";
    }
    failing = verdict == RenewalVerdict::kKeep;
  }
}

void Lease::Abandon() {
  absl::MutexLock stop_lock(&stop_mu_);
  int slot;
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || abandoned_ || released_) return;
    abandoned_ = true;
    stop_ = true;
    SetInvalid();
    slot = slot_;
  }
  if (thread_.joinable()) thread_.join();
  if (options_.guard != nullptr && slot >= 0) options_.guard->FenceAtExpiry(slot);
}

absl::Status Lease::Release() {
  absl::MutexLock stop_lock(&stop_mu_);
  int slot;
  {
    absl::MutexLock lock(&mu_);
    if (!started_) return absl::FailedPreconditionError("lease: never started");
    if (released_ || abandoned_) {
      return absl::FailedPreconditionError(absl::StrCat("lease on ", options_.volume, " already ",
                                                        released_ ? "released" : "abandoned"));
    }
    releasing_ = true;
    stop_ = true;
    SetInvalid();
    slot = slot_;
  }
  if (thread_.joinable()) thread_.join();
  absl::Duration until;
  absl::Status lost;
  {
    absl::MutexLock lock(&mu_);
    until = until_;
    lost = lost_status_;
  }
  FenceGuard* const guard = options_.guard;
  // From here on the guard fences at the lease's end rather than killing this process: the
  // release write is the only write left, and a stale one is harmless (cluster/claim.h).
  if (guard != nullptr && slot >= 0) guard->FenceAtExpiry(slot);
  auto give_up = [&](absl::Status status) {
    absl::MutexLock lock(&mu_);
    releasing_ = false;
    abandoned_ = true;
    return status;
  };
  const std::string what = absl::StrCat("cannot release ", options_.volume, ": ");
  if (!lost.ok()) return give_up(absl::FailedPreconditionError(what + std::string(lost.message())));
  if (until <= LeaseClockNow()) {
    return give_up(absl::FailedPreconditionError(what + "the lease ran out first"));
  }
  absl::StatusOr<OwnerRead> read = ownership_.Read();
  if (!read.ok()) return give_up(read.status());
  const OwnerRecord mine = Mine(OwnershipState::kReleased);
  if (read->state != BlockState::kValid || !SameHolder(read->record, mine) ||
      read->record.state != OwnershipState::kClaimed) {
    return give_up(absl::FailedPreconditionError(
        absl::StrCat(what, "the record says ", DescribeOwnerRead(*read))));
  }
  if (absl::Status s = ownership_.Write(mine); !s.ok()) return give_up(s);
  {
    // A last beat that says so, for a claimant already waiting (cluster/claim.h).
    MailboxEntry last;
    {
      absl::MutexLock lock(&mu_);
      last.counter = next_counter_++;
    }
    last.writer = options_.owner;
    last.epoch = options_.epoch;
    last.incarnation = options_.incarnation;
    last.lease_duration = options_.duration;
    last.unix_time_ns = absl::ToUnixNanos(absl::Now());
    last.released = true;
    absl::Status s = mailbox_.Write(last);
    if (!s.ok()) LOG(WARNING) << "lease on " << options_.volume << ": released beat: " << s;
  }
  if (LeaseClockNow() >= until) {
    LOG(WARNING) << "lease on " << options_.volume
                 << ": the release landed after the lease ran out (a claim made meanwhile was "
                    "overwritten and will fail its check)";
  }
  {
    absl::MutexLock lock(&mu_);
    releasing_ = false;
    released_ = true;
  }
  if (guard != nullptr && slot >= 0) guard->FreeSlot(slot);
  return absl::OkStatus();
}

}  // namespace cluster
}  // namespace vifiler
