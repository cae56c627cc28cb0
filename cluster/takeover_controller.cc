// Copyright 2026 The vifiler Authors.

#include "cluster/takeover_controller.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cluster/ownership_record.h"
#include "glog/logging.h"
#include "transport/pinned_memory.h"

namespace vifiler {
namespace cluster {
namespace {

constexpr absl::Duration kDrainTimeout = absl::Seconds(10);
constexpr absl::Duration kRequestTimeout = absl::Seconds(30);
// An admin giveback waits this long for the partner to be heard waiting for giveback (it
// restarts and links up, or an interconnect pause passes) before it is refused.
constexpr absl::Duration kGivebackWaitForPartner = absl::Seconds(3);
// Beyond the claim's wait: activation (mount, journal recovery, reply log) and the port.
constexpr absl::Duration kAcquireTimeout = absl::Seconds(60);
constexpr absl::Duration kRetryAfterFailure = absl::Seconds(1);

std::string Timestamp() {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(), absl::LocalTimeZone());
}

// The FAILING details DoHalt and kRelinquishOwn send: a takeover the administrator asked for.
constexpr char kHaltedByAdministrator[] = "halted by the administrator";
constexpr char kRelinquished[] = "relinquished for an administrative takeover";

bool IsPlannedFailing(absl::string_view detail) {
  return detail == kHaltedByAdministrator || detail == kRelinquished;
}

int64_t Millis(absl::Duration d) {
  return d == absl::InfiniteDuration() ? -1 : absl::ToInt64Milliseconds(d);
}

}  // namespace

TakeoverController::TakeoverController(transport::Fabric* fabric, transport::NameResolver* resolver,
                                       PairOptions options, FenceGuard* guard)
    : fabric_(fabric),
      resolver_(resolver),
      options_(std::move(options)),
      guard_(guard),
      paired_(!options_.partner.empty()),
      incarnation_(absl::Uniform<uint64_t>(absl::BitGen(), 1, UINT64_MAX)) {
  config_.detection = options_.heartbeat_interval * options_.heartbeat_misses;
  config_.takeover_grace = options_.takeover_grace;
  config_.auto_giveback = options_.auto_giveback;
  config_.auto_giveback_delay = options_.auto_giveback_delay;
}

TakeoverController::~TakeoverController() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    wake_ = true;
  }
  if (actor_.joinable()) actor_.join();
  if (interconnect_ != nullptr) interconnect_->Stop();
  // Volumes still held (no halt): hand them over cleanly, so a successor need not wait.
  if (partner_ != nullptr) partner_->Release(false, "", kDrainTimeout).IgnoreError();
  if (own_ != nullptr) own_->Release(false, "", kDrainTimeout).IgnoreError();
}

FilerState TakeoverController::state() const { return published_state_.load(); }

FilerState TakeoverController::ComputeState() const {
  if (own_ != nullptr && partner_ != nullptr) return FilerState::kTakeover;
  if (own_ != nullptr) return FilerState::kServing;
  if (partner_ != nullptr) return FilerState::kTakeover;
  return paired_ ? FilerState::kWaitingForGiveback : FilerState::kStarting;
}

HeldVolumeOptions TakeoverController::VolumeOptions(bool own) const {
  HeldVolumeOptions o;
  o.filer = options_.name;
  o.incarnation = incarnation_;
  o.label = own ? "own" : "partner";
  o.endpoint = transport::Endpoint{
      options_.address, own ? options_.primary_discriminator : options_.secondary_discriminator};
  o.port_label = own ? "primary" : "secondary";
  o.lease_interval = options_.heartbeat_interval;
  o.lease_duration = options_.lease_duration;
  o.claim_margin = options_.claim_margin;
  // Mutations stop before the guard acts (its margin), with room for their own I/O.
  const absl::Duration guard_margin =
      guard_ != nullptr ? guard_->options().margin : absl::ZeroDuration();
  o.mutation_margin = guard_margin + options_.heartbeat_interval / 2;
  o.guard = guard_;
  o.service = options_.service;
  if (!own) o.service.exports = options_.partner_exports;
  TakeoverController* self = const_cast<TakeoverController*>(this);
  o.on_failed = [self](const std::string& volume, const absl::Status& why) {
    self->OnVolumeFailed(volume, why);
  };
  return o;
}

absl::Status TakeoverController::Start() {
  auto open = [this](const std::string& spec,
                     const char* which) -> absl::StatusOr<std::unique_ptr<storage::VolumeStorage>> {
    return storage::VolumeStorage::Open(spec, absl::StrCat("vif-", options_.name, "-", which),
                                        options_.run_dir, options_.storage);
  };
  absl::StatusOr<std::unique_ptr<storage::VolumeStorage>> own = open(options_.volume, "own");
  if (!own.ok()) return own.status();
  own_storage_ = std::move(*own);
  own_mailbox_ = std::make_unique<MailboxObserver>(own_storage_->mailbox());
  own_mailbox_->Observe();
  if (paired_) {
    absl::StatusOr<std::unique_ptr<storage::VolumeStorage>> theirs =
        open(options_.partner_volume, "partner");
    if (!theirs.ok()) return theirs.status();
    partner_storage_ = std::move(*theirs);
    partner_mailbox_ = std::make_unique<MailboxObserver>(partner_storage_->mailbox());
    partner_mailbox_->Observe();

    InterconnectOptions io;
    io.name = options_.name;
    io.local = transport::Endpoint{options_.address, options_.interconnect_discriminator};
    io.partner_name = options_.partner;
    io.partner_discriminator = options_.interconnect_discriminator;
    io.heartbeat_interval = options_.heartbeat_interval;
    io.key = options_.pair_key;
    interconnect_ = std::make_unique<Interconnect>(
        fabric_, resolver_, io, [this] { return Heartbeat(); },
        [this](const InterconnectMessage& m) { OnMessage(m); });
    if (absl::Status s = interconnect_->Start(); !s.ok()) return s;
  }

  // Another process with this filer's name serving this volume (started twice, on this host or
  // another)? Its renewals would show in the mailbox within a lease: refuse rather than claim
  // the volume from under it. Watching a lease long also lets the claim skip most of its wait.
  absl::StatusOr<OwnerRead> record = OwnershipStore(own_storage_->ownership_record()).Read();
  if (record.ok() && record->state == BlockState::kValid && record->record.owner == options_.name &&
      record->record.state == OwnershipState::kClaimed) {
    const absl::Time until = absl::Now() + options_.lease_duration + options_.claim_margin;
    const MailboxObservation before = own_mailbox_->last();
    while (absl::Now() < until) {
      absl::SleepFor(options_.heartbeat_interval / 2);
      MailboxObservation now = own_mailbox_->Observe();
      if (now.seen && now.entry.writer == options_.name &&
          (!before.seen || !SameBeat(now.entry, before.entry))) {
        return absl::FailedPreconditionError(absl::StrCat(
            "volume ", own_storage_->description(), " is being served by another vifilerd named ",
            options_.name, " (incarnation ", absl::Hex(now.entry.incarnation),
            ", lease renewed just now): refusing to start a second one"));
      }
    }
  }

  actor_ = std::thread(&TakeoverController::Run, this);
  absl::MutexLock lock(&mu_);
  auto settled = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return started_serving_ || !start_error_.ok() || halted_;
  };
  mu_.AwaitWithDeadline(absl::Condition(&settled),
                        absl::Now() + kAcquireTimeout + options_.lease_duration * 2);
  if (!start_error_.ok()) return start_error_;
  if (!started_serving_) return absl::DeadlineExceededError("the own volume did not come up");
  return absl::OkStatus();
}

// ---- events from other threads

InterconnectMessage TakeoverController::Heartbeat() {
  InterconnectMessage m;
  m.type = InterconnectMessageType::kHeartbeat;
  m.sender = options_.name;
  m.incarnation = incarnation_;
  m.state = published_state_.load();
  m.epoch = published_epoch_.load();
  return m;
}

void TakeoverController::SendToPartner(InterconnectMessageType type, const std::string& detail) {
  if (interconnect_ == nullptr) return;
  InterconnectMessage m = Heartbeat();
  m.type = type;
  m.detail = detail;
  absl::Status s = interconnect_->Send(m, absl::Now() + options_.heartbeat_interval * 2);
  LOG(INFO) << options_.name << ": sent " << InterconnectMessageTypeName(type) << " (" << detail
            << "): " << s;
}

void TakeoverController::SendFailing(const std::string& reason) {
  SendToPartner(InterconnectMessageType::kFailing, reason);
}

void TakeoverController::OnMessage(const InterconnectMessage& m) {
  absl::MutexLock lock(&mu_);
  if (stop_ || halted_ || m.sender != options_.partner) return;
  partner_heard_ = true;
  if (m.incarnation != partner_incarnation_) {
    partner_incarnation_ = m.incarnation;
    partner_halting_ = false;
  }
  partner_state_ = m.state;
  if (m.state == FilerState::kWaitingForGiveback) {
    if (partner_waiting_since_ == absl::InfiniteFuture()) partner_waiting_since_ = absl::Now();
  } else {
    partner_waiting_since_ = absl::InfiniteFuture();
  }
  switch (m.type) {
    case InterconnectMessageType::kHeartbeat:
      return;
    case InterconnectMessageType::kFailing:
      // FAILING after a halt or relinquish the administrator asked for is expected.
      if (IsPlannedFailing(m.detail)) {
        LOG(INFO) << options_.name << ": partner sent FAILING: " << m.detail;
        if (interconnect_ != nullptr) interconnect_->ExpectPartnerLeaving();
      } else {
        LOG(WARNING) << options_.name << ": partner sent FAILING: " << m.detail;
      }
      partner_failing_ = true;
      partner_halting_ = false;
      break;
    case InterconnectMessageType::kHalting:
      LOG(INFO) << options_.name << ": partner is halting without takeover: " << m.detail;
      if (interconnect_ != nullptr) interconnect_->ExpectPartnerLeaving();
      partner_halting_ = true;
      break;
    case InterconnectMessageType::kRelinquishRequest:
      relinquish_requested_ = true;
      break;
    case InterconnectMessageType::kGivebackDone:
      break;  // a hint: the ownership record is what counts
  }
  wake_ = true;
}

void TakeoverController::OnVolumeFailed(const std::string& volume, const absl::Status& why) {
  LOG(ERROR) << options_.name << ": the " << volume << " volume failed: " << why;
  absl::MutexLock lock(&mu_);
  if (volume == "own") {
    own_failed_ = true;
  } else {
    partner_volume_failed_ = true;
  }
  wake_ = true;
}

// ---- the actor

void TakeoverController::Run() {
  const absl::Duration tick = options_.heartbeat_interval / 4;
  while (Step()) {
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return wake_ || stop_; };
    mu_.AwaitWithTimeout(absl::Condition(&woken), tick);
    wake_ = false;
    if (stop_) return;
  }
}

bool TakeoverController::Step() {
  PairInputs in = Gather();
  PairDecision decision = DecidePairAction(in, config_);
  if (decision.interconnect_broken) {
    // Before the partner was ever heard, within the startup grace, a silent interconnect is
    // the partner starting (or this filer's first dial): INFO, once. After that: a WARNING.
    const bool news =
        in.since_heard != absl::InfiniteDuration() || in.since_start > config_.takeover_grace;
    if (news && !reported_broken_) {
      LOG(WARNING) << Timestamp() << " " << options_.name
                   << ": interconnect down but the partner's mailbox is fresh: the interconnect "
                      "failed, not the partner; not taking over";
      reported_broken_ = true;
    } else if (!news && !noted_silent_at_start_) {
      LOG(INFO) << Timestamp() << " " << options_.name << ": " << options_.partner
                << "'s mailbox is fresh but the interconnect is not up yet; not taking over";
      noted_silent_at_start_ = true;
    }
  } else {
    reported_broken_ = false;
  }
  const bool retry_wait =
      absl::Now() < retry_after_ && (decision.action == PairAction::kReclaimOwn ||
                                     decision.action == PairAction::kTakeOverPartner);
  if (decision.action != PairAction::kNone && !retry_wait) {
    Carry(decision, in);
    in.holds_own = own_ != nullptr;
    in.holds_partner = partner_ != nullptr;
  }
  Publish(in, decision);
  CompleteRequests(in, decision);
  absl::MutexLock lock(&mu_);
  return !halted_;
}

PairInputs TakeoverController::Gather() {
  PairInputs in;
  in.paired = paired_;
  in.since_start = absl::Now() - started_;
  in.holds_own = own_ != nullptr;
  in.holds_partner = partner_ != nullptr;

  // Storage, without any lock: whose mailboxes move, and who holds the own volume.
  auto partner_silence = [this](const MailboxObservation& o) {
    if (!o.seen || o.entry.writer != options_.partner) return absl::InfiniteDuration();
    return o.unchanged();
  };
  const MailboxObservation own_obs = own_mailbox_->Observe();
  if (paired_) {
    const MailboxObservation partner_obs = partner_mailbox_->Observe();
    in.partner_storage_silence = std::min(partner_silence(own_obs), partner_silence(partner_obs));
    in.partner_released = partner_obs.seen && partner_obs.entry.released &&
                          partner_obs.entry.writer == options_.partner;
  }
  if (in.holds_own) {
    in.own_record = OwnRecord::kHeldBySelf;
  } else {
    absl::StatusOr<OwnerRead> read = OwnershipStore(own_storage_->ownership_record()).Read();
    if (!read.ok() || read->state == BlockState::kDamaged) {
      in.own_record = OwnRecord::kUnknown;
    } else if (read->state == BlockState::kBlank ||
               read->record.state == OwnershipState::kReleased) {
      in.own_record = OwnRecord::kFree;
    } else if (read->record.owner == options_.partner) {
      // Held by the partner, unless its last beat on this volume released it (it died and its
      // guard fenced the volume), or the claim is an earlier run's of the partner (the partner
      // that answers on the interconnect now is another process: both hosts lost power while
      // it held this volume) and nothing renews that claim's lease any more.
      const bool released = own_obs.seen && own_obs.entry.released &&
                            own_obs.entry.writer == options_.partner &&
                            own_obs.entry.epoch == read->record.epoch &&
                            own_obs.entry.incarnation == read->record.incarnation;
      const bool renewing = own_obs.seen && own_obs.entry.writer == options_.partner &&
                            own_obs.entry.incarnation == read->record.incarnation &&
                            own_obs.unchanged() < config_.detection;
      uint64_t partner_incarnation = 0;
      {
        absl::MutexLock lock(&mu_);
        partner_incarnation = partner_incarnation_;
      }
      const bool earlier_run =
          interconnect_ != nullptr && interconnect_->SinceLastHeard() <= config_.detection &&
          partner_incarnation != 0 && partner_incarnation != read->record.incarnation;
      in.own_record =
          released || (earlier_run && !renewing) ? OwnRecord::kFree : OwnRecord::kHeldByPartner;
    } else if (read->record.owner == options_.name &&
               (read->record.incarnation != incarnation_ || !paired_)) {
      // An earlier run of this filer (or this one, after its volume failed, with no partner to
      // take it): free once nothing renews it.
      const bool renewing = own_obs.seen && own_obs.entry.writer == options_.name &&
                            own_obs.entry.incarnation == read->record.incarnation &&
                            own_obs.unchanged() < config_.detection;
      in.own_record = renewing ? OwnRecord::kUnknown : OwnRecord::kFree;
    } else {
      in.own_record = OwnRecord::kUnknown;
    }
  }

  // A relinquished volume is the partner's to take: not reclaimed while it is on its way there.
  if (in.own_record == OwnRecord::kHeldByPartner || in.holds_own) {
    relinquished_at_ = absl::InfinitePast();
  }
  in.since_relinquished = relinquished_at_ == absl::InfinitePast() ? absl::InfiniteDuration()
                                                                   : absl::Now() - relinquished_at_;

  absl::MutexLock lock(&mu_);
  // partner_heard_ comes from the interconnect only: a partner whose mailbox moves but that was
  // never heard is starting (its link not up yet) or cut off, and gets the startup grace.
  in.since_heard =
      interconnect_ != nullptr ? interconnect_->SinceLastHeard() : absl::InfiniteDuration();
  in.partner_state = partner_state_;
  in.partner_waiting_for = partner_waiting_since_ == absl::InfiniteFuture()
                               ? absl::ZeroDuration()
                               : absl::Now() - partner_waiting_since_;
  in.partner_failing = partner_failing_;
  in.partner_halting = partner_halting_;
  in.relinquish_requested = relinquish_requested_;
  in.partner_seen_alive = partner_heard_;
  in.since_gave_back = gave_back_at_ == absl::InfinitePast() ? absl::InfiniteDuration()
                                                             : absl::Now() - gave_back_at_;
  in.own_failed = own_failed_;
  in.partner_volume_failed = partner_volume_failed_;
  for (const Request* r : requests_) {
    if (r->done) continue;
    if (r->kind == RequestKind::kHalt) in.admin_halt = true;
    if (r->kind == RequestKind::kTakeover) in.admin_takeover = true;
    if (r->kind == RequestKind::kGiveback) in.admin_giveback = true;
  }
  return in;
}

void TakeoverController::Carry(const PairDecision& d, const PairInputs& in) {
  switch (d.action) {
    case PairAction::kNone:
      return;
    case PairAction::kHalt: {
      bool takeover = false;
      {
        absl::MutexLock lock(&mu_);
        for (const Request* r : requests_) {
          if (r->kind == RequestKind::kHalt && r->takeover) takeover = true;
        }
      }
      DoHalt(takeover);
      return;
    }
    case PairAction::kDropOwn: {
      own_->Drop(d.reason);
      own_.reset();
      {
        absl::MutexLock lock(&mu_);
        own_failed_ = false;
      }
      NoteChange(absl::StrCat("dropped own volume: ", d.reason));
      if (paired_) SendFailing("own volume failed on this filer");
      retry_after_ = absl::Now() + kRetryAfterFailure;
      return;
    }
    case PairAction::kDropPartner:
      partner_->Drop(d.reason);
      partner_.reset();
      {
        absl::MutexLock lock(&mu_);
        partner_volume_failed_ = false;
      }
      NoteChange(absl::StrCat("dropped partner volume: ", d.reason));
      return;
    case PairAction::kRelinquishOwn:
      ReleaseOwn(d.reason);
      relinquished_at_ = absl::Now();
      {
        absl::MutexLock lock(&mu_);
        relinquish_requested_ = false;
      }
      SendFailing(kRelinquished);
      return;
    case PairAction::kReclaimOwn:
      AcquireOwn(d.reason);
      return;
    case PairAction::kTakeOverPartner:
      AcquirePartner(d.reason);
      return;
    case PairAction::kGiveBack:
      ReleasePartner(true, d.reason);
      return;
  }
  (void)in;
}

void TakeoverController::AcquireOwn(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    published_.action_in_progress = "claiming own volume";
  }
  LOG(INFO) << Timestamp() << " " << options_.name << ": claiming own volume (" << reason << ")";
  const absl::Time deadline = absl::Now() + kAcquireTimeout + options_.lease_duration * 2;
  absl::StatusOr<std::unique_ptr<HeldVolume>> held = HeldVolume::Acquire(
      own_storage_.get(), own_mailbox_->last(), fabric_, VolumeOptions(true), deadline);
  absl::MutexLock lock(&mu_);
  published_.action_in_progress.clear();
  if (!held.ok()) {
    LOG(ERROR) << options_.name << ": cannot serve own volume: " << held.status();
    retry_after_ = absl::Now() + kRetryAfterFailure;
    // A claim lost to the partner (both claimed at once: this filer starting, the partner taking
    // over a volume it saw silent) is not a start failure: the next round reads the record, finds
    // the volume held by the partner and waits for giveback.
    const bool lost_to_partner = paired_ && absl::IsAborted(held.status());
    if (!started_serving_ && start_error_.ok() && !lost_to_partner) start_error_ = held.status();
    return;
  }
  own_ = std::move(*held);
  relinquish_requested_ = false;
  started_serving_ = true;
  published_state_ = ComputeState();
  published_epoch_ = own_->epoch();
  published_.last_change =
      absl::StrCat(Timestamp(), " serving own volume at epoch ", own_->epoch(), " (", reason, ")");
  LOG(INFO) << options_.name << ": " << published_.last_change;
}

void TakeoverController::AcquirePartner(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    published_.action_in_progress = "taking over the partner's volume";
  }
  // A state change, not a fault: the fault (a dead or failing partner) is logged where it is
  // seen.
  LOG(INFO) << Timestamp() << " " << options_.name << ": taking over " << options_.partner
            << "'s volume: " << reason;
  const absl::Time deadline = absl::Now() + kAcquireTimeout + options_.lease_duration * 2;
  absl::StatusOr<std::unique_ptr<HeldVolume>> held = HeldVolume::Acquire(
      partner_storage_.get(), partner_mailbox_->last(), fabric_, VolumeOptions(false), deadline);
  {
    absl::MutexLock lock(&mu_);
    published_.action_in_progress.clear();
    if (!held.ok()) {
      LOG(ERROR) << options_.name << ": takeover failed: " << held.status();
      retry_after_ = absl::Now() + kRetryAfterFailure;
      return;
    }
    partner_failing_ = false;
  }
  partner_ = std::move(*held);
  {
    absl::MutexLock lock(&mu_);
    last_takeover_ = Event{Timestamp(), reason};
  }
  NoteChange(absl::StrCat("took over ", options_.partner, "'s volume at epoch ", partner_->epoch(),
                          ": ", reason));
}

void TakeoverController::ReleasePartner(bool notice, const std::string& why) {
  LOG(INFO) << Timestamp() << " " << options_.name << ": giving back " << options_.partner
            << "'s volume (" << why << ")";
  {
    absl::MutexLock lock(&mu_);
    last_giveback_ = Event{Timestamp(), why};
    gave_back_at_ = absl::Now();
  }
  absl::Status s = partner_->Release(
      notice, absl::StrCat(options_.name, " hands the volume back to ", options_.partner),
      kDrainTimeout);
  partner_.reset();
  if (!s.ok()) LOG(ERROR) << options_.name << ": giveback was not clean: " << s;
  NoteChange(absl::StrCat("gave back ", options_.partner, "'s volume (", why, ")"));
  SendToPartner(InterconnectMessageType::kGivebackDone, "");
}

void TakeoverController::ReleaseOwn(const std::string& why) {
  absl::Status s = own_->Release(false, "", kDrainTimeout);
  own_.reset();
  if (!s.ok()) LOG(ERROR) << options_.name << ": own volume not released cleanly: " << s;
  NoteChange(absl::StrCat("released own volume (", why, ")"));
}

void TakeoverController::DoHalt(bool takeover) {
  {
    absl::MutexLock lock(&mu_);
    published_.state = FilerState::kHalting;
  }
  published_state_ = FilerState::kHalting;
  // HALTING goes before the releases: the partner must know not to take the volumes over
  // before it sees them released on storage.
  if (paired_ && !takeover) {
    SendToPartner(InterconnectMessageType::kHalting, "halted without takeover");
  }
  if (partner_ != nullptr) {
    partner_->Release(true, absl::StrCat(options_.name, " is halting"), kDrainTimeout)
        .IgnoreError();
    partner_.reset();
  }
  if (own_ != nullptr) {
    own_->Release(false, "", kDrainTimeout).IgnoreError();
    own_.reset();
  }
  if (paired_ && takeover) {
    SendToPartner(InterconnectMessageType::kFailing, kHaltedByAdministrator);
  }
  NoteChange(takeover ? "halted (partner takes over)" : "halted");
  absl::MutexLock lock(&mu_);
  halted_ = true;
}

void TakeoverController::NoteChange(const std::string& what) {
  const FilerState state = ComputeState();
  absl::MutexLock lock(&mu_);
  published_.last_change = absl::StrCat(Timestamp(), " ", FilerStateName(state), ": ", what);
  LOG(INFO) << options_.name << ": " << published_.last_change;
}

void TakeoverController::Publish(const PairInputs& in, const PairDecision& decision) {
  Published p;
  {
    absl::MutexLock lock(&mu_);
    p.last_change = published_.last_change;
    p.action_in_progress = published_.action_in_progress;
    p.state = halted_ ? FilerState::kHalting : ComputeState();
  }
  if (own_ != nullptr) {
    p.own_epoch = own_->epoch();
    p.primary_open = true;
    p.own_counters = own_->service()->counters();
    p.own_connections = own_->port()->connections();
    p.own_lease = own_->lease_status();
  }
  if (partner_ != nullptr) {
    p.partner_epoch = partner_->epoch();
    p.secondary_open = true;
    p.partner_counters = partner_->service()->counters();
    p.partner_connections = partner_->port()->connections();
    p.partner_lease = partner_->lease_status();
  }
  p.partner_storage_silence = in.partner_storage_silence;
  p.interconnect_broken = decision.interconnect_broken;
  p.takeover_possible = TakeoverPossible(in, config_, &p.takeover_impossible_because);
  published_state_ = p.state;
  published_epoch_ = p.own_epoch;
  absl::MutexLock lock(&mu_);
  if (!started_serving_ && paired_ && in.own_record == OwnRecord::kHeldByPartner) {
    started_serving_ = true;  // waits for giveback
    p.last_change = absl::StrCat(Timestamp(), " waiting-for-giveback: ", options_.partner,
                                 " holds this filer's volume");
    LOG(INFO) << options_.name << ": " << p.last_change;
  }
  published_ = std::move(p);
  ++publications_;
}

void TakeoverController::CompleteRequests(const PairInputs& in, const PairDecision& decision) {
  const bool holds_own = own_ != nullptr;
  const bool holds_partner = partner_ != nullptr;
  const FilerState state = ComputeState();
  bool ask_partner = false;
  {
    absl::MutexLock lock(&mu_);
    for (Request* r : requests_) {
      if (r->done) continue;
      switch (r->kind) {
        case RequestKind::kHalt:
          if (halted_) r->done = true;
          break;
        case RequestKind::kGiveback:
          if (!holds_partner) {
            r->done = true;
            if (decision.action != PairAction::kGiveBack) {
              r->result =
                  absl::FailedPreconditionError(absl::StrCat(options_.name, " is not in takeover"));
            }
          } else if (!decision.giveback_blocked.empty() &&
                     absl::Now() >= r->wait_for_partner_until) {
            r->done = true;
            r->result = absl::FailedPreconditionError(absl::StrCat(
                "not giving ", options_.partner, "'s volume back: ", decision.giveback_blocked));
          }
          break;
        case RequestKind::kTakeover:
          if (holds_partner) {
            r->done = true;
          } else if (!paired_) {
            r->done = true;
            r->result = absl::FailedPreconditionError("this filer has no partner");
          } else if (!holds_own) {
            r->done = true;
            r->result = absl::FailedPreconditionError(
                absl::StrCat("cannot take over while ", FilerStateName(state)));
          } else if (decision.ask_partner_to_relinquish && !r->asked_partner) {
            r->asked_partner = true;
            ask_partner = true;
          } else if (in.since_heard > config_.detection &&
                     in.partner_storage_silence < config_.detection) {
            r->done = true;
            r->result = absl::FailedPreconditionError(
                "the partner's mailbox is fresh but the interconnect is down: refusing a takeover "
                "that could split the brain");
          }
          break;
      }
      if (!r->done && absl::Now() >= r->deadline) {
        r->done = true;
        r->result = absl::DeadlineExceededError("the request was not carried out in time");
      }
    }
  }
  if (ask_partner) {
    SendToPartner(InterconnectMessageType::kRelinquishRequest, "administrative takeover");
  }
}

absl::Status TakeoverController::PostAndWait(Request request) {
  absl::MutexLock lock(&mu_);
  if (halted_ && request.kind != RequestKind::kHalt) {
    return absl::FailedPreconditionError("this filer is halted");
  }
  requests_.push_back(&request);
  wake_ = true;
  auto done = [&request]() { return request.done; };
  if (!mu_.AwaitWithDeadline(absl::Condition(&done), request.deadline + absl::Seconds(1))) {
    request.result = absl::DeadlineExceededError("no answer from the controller in time");
  }
  requests_.erase(std::find(requests_.begin(), requests_.end(), &request));
  return request.result;
}

// ---- AdminHandler

absl::Status TakeoverController::Takeover() {
  Request r;
  r.kind = RequestKind::kTakeover;
  r.deadline = absl::Now() + kRequestTimeout;
  return PostAndWait(std::move(r));
}

absl::Status TakeoverController::Giveback() {
  Request r;
  r.kind = RequestKind::kGiveback;
  r.deadline = absl::Now() + kRequestTimeout;
  r.wait_for_partner_until = absl::Now() + kGivebackWaitForPartner;
  return PostAndWait(std::move(r));
}

absl::Status TakeoverController::Halt(bool takeover) {
  Request r;
  r.kind = RequestKind::kHalt;
  r.takeover = takeover;
  r.deadline = absl::Now() + kRequestTimeout;
  {
    absl::MutexLock lock(&mu_);
    if (halted_) return absl::OkStatus();
  }
  return PostAndWait(std::move(r));
}

bool TakeoverController::WaitForHalt(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto halted = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return halted_; };
  return mu_.AwaitWithDeadline(absl::Condition(&halted), deadline);
}

absl::Status TakeoverController::SetInterconnectCut(bool cut) {
  if (interconnect_ == nullptr) return absl::FailedPreconditionError("this filer has no partner");
  interconnect_->SetCut(cut);
  LOG(WARNING) << Timestamp() << " " << options_.name << ": interconnect "
               << (cut ? "cut (test hook)" : "restored");
  return absl::OkStatus();
}

std::string TakeoverController::Status() {
  Published p;
  FilerState partner_state;
  Event last_takeover;
  Event last_giveback;
  {
    // A fresh snapshot from the actor (its next tick, woken now), unless it is busy with a long
    // action: then the last one, with the action in progress named.
    absl::MutexLock lock(&mu_);
    const uint64_t seen = publications_;
    wake_ = true;
    auto fresh = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return publications_ > seen + 1 || halted_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&fresh), options_.heartbeat_interval * 2);
    p = published_;
    partner_state = partner_state_;
    last_takeover = last_takeover_;
    last_giveback = last_giveback_;
  }
  std::string out;
  auto line = [&out](absl::string_view key, const auto& value) {
    absl::StrAppend(&out, key, "=", value, "\n");
  };
  auto lease_left = [](const LeaseStatus& l) {
    return l.valid ? Millis(std::max(absl::ZeroDuration(), l.until - LeaseClockNow())) : -1;
  };
  line("name", options_.name);
  line("state", FilerStateName(p.state));
  line("address", options_.address);
  line("volume", own_storage_ != nullptr ? own_storage_->description() : options_.volume);
  line("epoch", p.own_epoch);
  line("primary_port", p.primary_open ? "open" : "closed");
  line("durable", options_.service.durable ? "yes" : "NO (acknowledged writes can be lost)");
  line("fence_guard", guard_ == nullptr ? "none" : guard_->alive() ? "running" : "DEAD");
  if (p.primary_open) {
    line("requests", p.own_counters.requests);
    line("replays", p.own_counters.replays);
    line("connections", p.own_connections);
    line("lease_ms_left", lease_left(p.own_lease));
    line("reply_log_live_entries", p.own_counters.log.live_entries);
    line("reply_log_batches", p.own_counters.log.batches);
    line("resolved_intents", p.own_counters.resolved_intents);
    line("sessions", p.own_counters.live_sessions);
    line("session_clients", p.own_counters.live_clients);
    line("sessions_expired", p.own_counters.expired_clients);
    line("session_expired_refusals", p.own_counters.expired_replays);
    line("direct_reads_mapped", p.own_counters.direct_reads_mapped);
    line("direct_staged", p.own_counters.direct_staged);
    line("direct_copied", p.own_counters.direct_copied);
    line("mapping_refusals", p.own_counters.mapping_refusals);
  }
  line("pinned_bytes", transport::PinnedBytes());
  line("memlock_limit", transport::DescribeMemlockLimit(transport::GetMemlockLimit()));
  const filer::Limits& limits = options_.service.limits;
  line("max_connections", limits.max_connections);
  line("max_sessions", limits.max_sessions);
  line("max_inflight_per_session", limits.max_inflight_per_session);
  line("session_lease_ms", absl::ToInt64Milliseconds(limits.session_lease));
  line("idle_timeout_ms", absl::ToInt64Milliseconds(limits.idle_timeout));
  line("exports", options_.service.exports.ToString());
  line("setid_bits", options_.service.allow_setid ? "kept" : "cleared");
  line("clients", p.own_connections + p.partner_connections);
  if (!p.action_in_progress.empty()) line("in_progress", p.action_in_progress);
  if (!p.last_change.empty()) line("last_change", p.last_change);
  if (!last_takeover.time.empty()) {
    line("last_takeover_time", last_takeover.time);
    line("last_takeover_reason", last_takeover.reason);
  }
  if (!last_giveback.time.empty()) {
    line("last_giveback_time", last_giveback.time);
    line("last_giveback_reason", last_giveback.reason);
  }
  if (paired_) {
    line("partner", options_.partner);
    line("partner_state", FilerStateName(partner_state));
    line("partner_volume",
         partner_storage_ != nullptr ? partner_storage_->description() : options_.partner_volume);
    line("partner_exports", options_.partner_exports.ToString());
    line("secondary_port", p.secondary_open ? "open" : "closed");
    if (p.secondary_open) {
      line("partner_epoch", p.partner_epoch);
      line("secondary_requests", p.partner_counters.requests);
      line("secondary_replays", p.partner_counters.replays);
      line("secondary_connections", p.partner_connections);
      line("partner_lease_ms_left", lease_left(p.partner_lease));
      line("secondary_resolved_intents", p.partner_counters.resolved_intents);
      line("secondary_sessions", p.partner_counters.live_sessions);
    }
    line("interconnect", interconnect_->cut()         ? "cut"
                         : interconnect_->connected() ? "connected"
                                                      : "down");
    line("heartbeat_age_ms", Millis(interconnect_->SinceLastHeard()));
    line("partner_mailbox_age_ms", Millis(p.partner_storage_silence));
    line("partner_mailbox", p.partner_storage_silence == absl::InfiniteDuration() ? "none"
                            : p.partner_storage_silence < config_.detection       ? "fresh"
                                                                                  : "stale");
    line("takeover_possible", p.takeover_possible ? "yes" : "no");
    if (!p.takeover_possible) line("takeover_impossible_because", p.takeover_impossible_because);
    if (p.interconnect_broken) {
      line("warning", "interconnect down while the partner's storage heartbeat is fresh");
    }
  }
  return out;
}

}  // namespace cluster
}  // namespace vifiler
