// Copyright 2026 The vifiler Authors.

#include "cluster/takeover_controller.h"

#include <sys/stat.h>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "filer/volume.h"
#include "glog/logging.h"
#include "protocol/codec.h"
#include "storage/block_file.h"

namespace vifiler {
namespace cluster {
namespace {

constexpr absl::Duration kDrainTimeout = absl::Seconds(10);
constexpr absl::Duration kRelinquishTimeout = absl::Seconds(10);
constexpr uint64_t kReplyLogBytes = 16 << 20;

std::string MetaDir(const std::string& volume) {
  return absl::StrCat(volume, "/", filer::kMetaDirName);
}

std::string Timestamp() {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(), absl::LocalTimeZone());
}

int64_t Millis(absl::Duration d) {
  return d == absl::InfiniteDuration() ? -1 : absl::ToInt64Milliseconds(d);
}

}  // namespace

TakeoverController::TakeoverController(transport::Fabric* fabric, transport::NameResolver* resolver,
                                       PairOptions options)
    : fabric_(fabric),
      resolver_(resolver),
      options_(std::move(options)),
      paired_(!options_.partner.empty()),
      incarnation_(absl::Uniform<uint64_t>(absl::BitGen(), 1, UINT64_MAX)) {}

TakeoverController::~TakeoverController() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (monitor_.joinable()) monitor_.join();
  if (interconnect_ != nullptr) interconnect_->Stop();
  if (mailbox_ != nullptr) mailbox_->Stop();
  absl::MutexLock lock(&mu_);
  if (partner_ != nullptr) Unserve(std::move(partner_), false);
  if (own_ != nullptr) Unserve(std::move(own_), false);
}

FilerState TakeoverController::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

void TakeoverController::SetState(FilerState state, const std::string& why) {
  if (state != state_) {
    LOG(WARNING) << Timestamp() << " " << options_.name << ": " << FilerStateName(state_) << " -> "
                 << FilerStateName(state) << " (" << why << ")";
  }
  state_ = state;
  published_state_ = state;
  published_epoch_ = own_epoch_;
}

absl::Status TakeoverController::Start() {
  absl::MutexLock lock(&mu_);
  mkdir(MetaDir(options_.volume).c_str(), 0755);
  absl::StatusOr<OwnershipRecord> record = VolumeOwnership(options_.volume).Read();
  if (!record.ok()) return record.status();
  if (paired_ && record->owner == options_.partner) {
    own_epoch_ = 0;
    SetState(FilerState::kWaitingForGiveback,
             absl::StrCat("volume taken over by ", options_.partner, " at epoch ", record->epoch));
  } else {
    absl::Status s = ReclaimOwnLocked("start");
    if (!s.ok()) return s;
  }
  if (paired_) {
    mkdir(MetaDir(options_.partner_volume).c_str(), 0755);
    absl::StatusOr<OwnershipRecord> theirs = VolumeOwnership(options_.partner_volume).Read();
    if (theirs.ok() && theirs->owner == options_.name) {
      absl::Status s = TakeoverLocked("this filer held the partner volume before it restarted");
      if (!s.ok()) LOG(ERROR) << "cannot resume takeover: " << s;
    }
    mailbox_ = std::make_unique<MailboxWriter>(MetaDir(options_.volume) + "/mailbox", options_.name,
                                               options_.heartbeat_interval);
    absl::Status s = mailbox_->Start();
    if (!s.ok()) return s;
    partner_mailbox_ =
        std::make_unique<MailboxReader>(MetaDir(options_.partner_volume) + "/mailbox");
    partner_mailbox_->Observe();
    partner_first_counter_ = partner_mailbox_->last_counter();
    InterconnectOptions io;
    io.name = options_.name;
    io.local = transport::Endpoint{options_.address, options_.interconnect_discriminator};
    io.partner_name = options_.partner;
    io.partner_discriminator = options_.interconnect_discriminator;
    io.heartbeat_interval = options_.heartbeat_interval;
    interconnect_ = std::make_unique<Interconnect>(
        fabric_, resolver_, io, [this] { return Heartbeat(); },
        [this](const InterconnectMessage& m) { OnMessage(m); });
    s = interconnect_->Start();
    if (!s.ok()) return s;
  }
  monitor_ = std::thread(&TakeoverController::MonitorLoop, this);
  return absl::OkStatus();
}

InterconnectMessage TakeoverController::Heartbeat() {
  InterconnectMessage m;
  m.type = InterconnectMessageType::kHeartbeat;
  m.sender = options_.name;
  m.incarnation = incarnation_;
  m.state = published_state_.load();
  m.epoch = published_epoch_.load();
  return m;
}

void TakeoverController::SendFailing(const std::string& reason) {
  if (interconnect_ == nullptr) return;
  InterconnectMessage m = Heartbeat();
  m.type = InterconnectMessageType::kFailing;
  m.detail = reason;
  absl::Status s = interconnect_->Send(m, absl::Now() + options_.heartbeat_interval * 2);
  LOG(WARNING) << Timestamp() << " " << options_.name << ": sent FAILING (" << reason << "): " << s;
}

absl::StatusOr<std::unique_ptr<TakeoverController::Served>> TakeoverController::Serve(
    const std::string& dir, uint16_t discriminator, const std::string& label) {
  VolumeOwnership ownership(dir);
  absl::StatusOr<OwnershipRecord> claimed = ownership.Claim(options_.name);
  if (!claimed.ok()) return claimed.status();
  auto served = std::make_unique<Served>();
  served->guard =
      std::make_unique<OwnershipGuard>(ownership.record_path(), options_.name, claimed->epoch);
  absl::StatusOr<std::unique_ptr<filer::Volume>> volume = filer::Volume::Open(dir);
  if (!volume.ok()) return volume.status();
  storage::BlockFileOptions lo;
  lo.create = true;
  lo.size = kReplyLogBytes;
  absl::StatusOr<std::unique_ptr<storage::BlockFile>> log =
      storage::OpenBlockFile(absl::StrCat(MetaDir(dir), "/replylog"), lo);
  if (!log.ok()) return log.status();
  filer::ServiceOptions so = options_.service;
  so.filer_name = options_.name;
  so.epoch = claimed->epoch;
  OwnershipGuard* guard = served->guard.get();
  absl::StatusOr<std::unique_ptr<filer::VolumeService>> service = filer::VolumeService::Open(
      std::move(*volume), std::move(*log), so, [guard] { return guard->Check(); });
  if (!service.ok()) return service.status();
  served->service = std::move(*service);
  served->port = std::make_unique<filer::DataAccessPort>(
      fabric_, transport::Endpoint{options_.address, discriminator}, served->service.get(), label);
  absl::Status s = served->port->Start();
  if (!s.ok()) return s;
  LOG(WARNING) << Timestamp() << " " << options_.name << ": serving " << dir << " on " << label
               << " port " << served->port->endpoint().ToString() << " at epoch " << claimed->epoch;
  return served;
}

void TakeoverController::Unserve(std::unique_ptr<Served> served, bool notice) {
  if (notice) {
    protocol::MessageHeader h;
    h.opcode = protocol::Opcode::kNotice;
    protocol::NoticeMessage n;
    n.kind = protocol::NoticeKind::kGivingBack;
    n.detail = absl::StrCat(options_.name, " hands the volume back to ", options_.partner);
    served->port->Broadcast(protocol::EncodeMessage(h, n));
  }
  served->service->StopAccepting();
  absl::Status drained = served->service->Drain(absl::Now() + kDrainTimeout);
  if (!drained.ok()) LOG(WARNING) << "drain: " << drained;
  served->port->Stop();
}

absl::Status TakeoverController::ReclaimOwnLocked(const std::string& reason) {
  absl::StatusOr<std::unique_ptr<Served>> served =
      Serve(options_.volume, options_.primary_discriminator, "primary");
  if (!served.ok()) {
    LOG(ERROR) << options_.name << ": cannot serve own volume: " << served.status();
    return served.status();
  }
  own_ = std::move(*served);
  own_epoch_ = own_->guard->epoch();
  SetState(partner_ != nullptr ? FilerState::kTakeover : FilerState::kServing, reason);
  return absl::OkStatus();
}

void TakeoverController::RelinquishOwnLocked() {
  if (own_ != nullptr) Unserve(std::move(own_), false);
  SetState(FilerState::kWaitingForGiveback, "own volume relinquished");
}

absl::Status TakeoverController::TakeoverLocked(const std::string& reason) {
  if (partner_ != nullptr) return absl::OkStatus();
  LOG(WARNING) << Timestamp() << " " << options_.name << ": taking over " << options_.partner
               << "'s volume: " << reason;
  absl::StatusOr<std::unique_ptr<Served>> served =
      Serve(options_.partner_volume, options_.secondary_discriminator, "secondary");
  if (!served.ok()) {
    LOG(ERROR) << options_.name << ": takeover failed: " << served.status();
    return served.status();
  }
  partner_ = std::move(*served);
  partner_failing_ = false;
  if (state_ != FilerState::kWaitingForGiveback) SetState(FilerState::kTakeover, reason);
  return absl::OkStatus();
}

absl::Status TakeoverController::GivebackLocked() {
  if (partner_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(options_.name, " is not in takeover"));
  }
  LOG(WARNING) << Timestamp() << " " << options_.name << ": giving back " << options_.partner
               << "'s volume";
  Unserve(std::move(partner_), /*notice=*/true);
  absl::StatusOr<OwnershipRecord> handed =
      VolumeOwnership(options_.partner_volume).Transfer(options_.name, options_.partner);
  if (!handed.ok()) LOG(ERROR) << "giveback: " << handed.status();
  SetState(own_ != nullptr ? FilerState::kServing : FilerState::kWaitingForGiveback, "giveback");
  partner_waiting_since_ = absl::InfiniteFuture();
  if (interconnect_ != nullptr) {
    InterconnectMessage m = Heartbeat();
    m.type = InterconnectMessageType::kGivebackDone;
    interconnect_->Send(m, absl::Now() + options_.heartbeat_interval * 2).IgnoreError();
  }
  return handed.status();
}

bool TakeoverController::HandedBackLocked() const {
  // The partner transferred the volume back: it names us, at an epoch after the one we held.
  absl::StatusOr<OwnershipRecord> record = VolumeOwnership(options_.volume).Read();
  return record.ok() && record->owner == options_.name && record->epoch > own_epoch_;
}

bool TakeoverController::PartnerSilent() const {
  return interconnect_ == nullptr || interconnect_->SinceLastHeard() > Threshold();
}

bool TakeoverController::PartnerMailboxStale() const { return partner_mailbox_age_ >= Threshold(); }

void TakeoverController::OnMessage(const InterconnectMessage& m) {
  absl::MutexLock lock(&mu_);
  if (stop_ || halted_ || m.sender != options_.partner) return;
  partner_seen_ = true;
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
      break;
    case InterconnectMessageType::kFailing:
      LOG(WARNING) << Timestamp() << " " << options_.name << ": partner sent FAILING: " << m.detail;
      if (state_ == FilerState::kServing) {
        TakeoverLocked(absl::StrCat("partner sent FAILING: ", m.detail)).IgnoreError();
      } else {
        partner_failing_ = true;
      }
      break;
    case InterconnectMessageType::kHalting:
      LOG(WARNING) << Timestamp() << " " << options_.name
                   << ": partner is halting without takeover: " << m.detail;
      partner_halting_ = true;
      break;
    case InterconnectMessageType::kRelinquishRequest:
      if (state_ == FilerState::kServing && own_ != nullptr) {
        RelinquishOwnLocked();
        InterconnectMessage reply = Heartbeat();
        reply.type = InterconnectMessageType::kFailing;
        reply.detail = "relinquished for an administrative takeover";
        interconnect_->Send(reply, absl::Now() + options_.heartbeat_interval * 2).IgnoreError();
      }
      break;
    case InterconnectMessageType::kGivebackDone:
      // Only a hint to look now: the ownership record is what counts.
      if (state_ == FilerState::kWaitingForGiveback && HandedBackLocked()) {
        ReclaimOwnLocked("partner gave the volume back").IgnoreError();
      }
      break;
  }
}

void TakeoverController::MonitorLoop() {
  const absl::Duration tick = options_.heartbeat_interval / 4;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_ || halted_) return;
      Tick();
    }
    absl::SleepFor(tick);
  }
}

void TakeoverController::Tick() {
  if (!paired_) return;
  partner_mailbox_age_ = partner_mailbox_->Observe();
  // Alive means its mailbox moved since we started watching, not merely "not stale yet".
  if (partner_mailbox_->last_counter() != partner_first_counter_) partner_seen_ = true;
  // A volume this filer serves but no longer owns (it was presumed dead) is let go at once.
  if (own_ != nullptr) {
    absl::Status owner = own_->guard->Check();
    if (!owner.ok()) {
      LOG(WARNING) << Timestamp() << " " << options_.name << ": lost own volume: " << owner;
      RelinquishOwnLocked();
    }
  }
  if (partner_ != nullptr) {
    absl::Status owner = partner_->guard->Check();
    if (!owner.ok()) {
      LOG(WARNING) << Timestamp() << " " << options_.name << ": lost partner volume: " << owner;
      Unserve(std::move(partner_), false);
      if (state_ == FilerState::kTakeover) SetState(FilerState::kServing, "partner volume claimed");
    }
  }
  const bool silent = PartnerSilent();
  const bool dead = silent && PartnerMailboxStale() && !partner_halting_ &&
                    (partner_seen_ || absl::Now() - started_ >= options_.takeover_grace);
  switch (state_) {
    case FilerState::kServing:
      if (partner_failing_) {
        TakeoverLocked("partner sent FAILING").IgnoreError();
      } else if (dead) {
        TakeoverLocked(absl::StrCat("partner missed ", options_.heartbeat_misses,
                                    " heartbeats and its mailbox is stale"))
            .IgnoreError();
      } else if (silent && !partner_halting_ && !PartnerMailboxStale()) {
        if (!reported_split_) {
          LOG(WARNING) << Timestamp() << " " << options_.name
                       << ": interconnect down but the partner's mailbox is fresh: the "
                          "interconnect failed, not the partner; not taking over";
          reported_split_ = true;
        }
      } else if (!silent) {
        reported_split_ = false;
      }
      break;
    case FilerState::kTakeover:
      if (options_.auto_giveback && !silent && partner_state_ == FilerState::kWaitingForGiveback &&
          absl::Now() - partner_waiting_since_ >= options_.auto_giveback_delay) {
        GivebackLocked().IgnoreError();
      }
      break;
    case FilerState::kWaitingForGiveback: {
      if (HandedBackLocked()) {
        ReclaimOwnLocked("partner gave the volume back").IgnoreError();
      } else if (dead) {
        ReclaimOwnLocked("the partner holding this filer's volume is gone").IgnoreError();
      }
      break;
    }
    default:
      break;
  }
}

std::string TakeoverController::Status() {
  absl::MutexLock lock(&mu_);
  std::string out;
  auto line = [&out](absl::string_view key, const auto& value) {
    absl::StrAppend(&out, key, "=", value, "\n");
  };
  line("name", options_.name);
  line("state", FilerStateName(state_));
  line("address", options_.address);
  line("volume", options_.volume);
  line("epoch", own_epoch_);
  line("primary_port", own_ != nullptr ? "open" : "closed");
  if (own_ != nullptr) {
    filer::ServiceCounters c = own_->service->counters();
    line("requests", c.requests);
    line("replays", c.replays);
    line("connections", own_->port->connections());
  }
  if (paired_) {
    line("partner", options_.partner);
    line("partner_state", FilerStateName(partner_state_));
    line("partner_volume", options_.partner_volume);
    line("secondary_port", partner_ != nullptr ? "open" : "closed");
    if (partner_ != nullptr) {
      filer::ServiceCounters c = partner_->service->counters();
      line("partner_epoch", partner_->guard->epoch());
      line("secondary_requests", c.requests);
      line("secondary_replays", c.replays);
      line("secondary_connections", partner_->port->connections());
    }
    line("interconnect", interconnect_->cut()         ? "cut"
                         : interconnect_->connected() ? "connected"
                                                      : "down");
    line("heartbeat_age_ms", Millis(interconnect_->SinceLastHeard()));
    line("partner_mailbox_age_ms", Millis(partner_mailbox_age_));
  }
  return out;
}

absl::Status TakeoverController::Takeover() {
  absl::MutexLock lock(&mu_);
  if (!paired_) return absl::FailedPreconditionError("this filer has no partner");
  if (partner_ != nullptr) return absl::FailedPreconditionError("already in takeover");
  if (state_ != FilerState::kServing) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot take over while ", FilerStateName(state_)));
  }
  if (!PartnerSilent()) {
    InterconnectMessage m = Heartbeat();
    m.type = InterconnectMessageType::kRelinquishRequest;
    absl::Status s = interconnect_->Send(m, absl::Now() + absl::Seconds(1));
    if (!s.ok()) return s;
    auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return partner_ != nullptr; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&done), absl::Now() + kRelinquishTimeout)) {
      return absl::DeadlineExceededError("partner did not relinquish its volume");
    }
    return absl::OkStatus();
  }
  if (PartnerMailboxStale()) return TakeoverLocked("administrative takeover of a silent partner");
  return absl::FailedPreconditionError(
      "the partner's mailbox is fresh but the interconnect is down: refusing a takeover that "
      "could split the brain");
}

absl::Status TakeoverController::Giveback() {
  absl::MutexLock lock(&mu_);
  return GivebackLocked();
}

absl::Status TakeoverController::Halt(bool takeover) {
  absl::MutexLock lock(&mu_);
  if (halted_) return absl::OkStatus();
  SetState(FilerState::kHalting, takeover ? "halt with takeover" : "halt");
  if (own_ != nullptr) Unserve(std::move(own_), false);
  if (partner_ != nullptr) Unserve(std::move(partner_), false);
  if (paired_) {
    InterconnectMessage m = Heartbeat();
    m.type = takeover ? InterconnectMessageType::kFailing : InterconnectMessageType::kHalting;
    m.detail = takeover ? "halted by the administrator" : "halted without takeover";
    absl::Status s = interconnect_->Send(m, absl::Now() + options_.heartbeat_interval * 2);
    LOG(WARNING) << Timestamp() << " " << options_.name << ": sent "
                 << (takeover ? "FAILING" : "HALTING") << ": " << s;
  }
  halted_ = true;
  return absl::OkStatus();
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

}  // namespace cluster
}  // namespace vifiler
