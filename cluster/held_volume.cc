// Copyright 2026 The vifiler Authors.

#include "cluster/held_volume.h"

#include "absl/strings/str_cat.h"
#include "filer/posix_volume.h"
#include "glog/logging.h"
#include "protocol/codec.h"

namespace vifiler {
namespace cluster {

HeldVolume::HeldVolume(storage::VolumeStorage* storage, HeldVolumeOptions options)
    : storage_(storage), options_(std::move(options)) {}

HeldVolume::~HeldVolume() {
  if (!done_) Drop("closed without a giveback");
}

absl::StatusOr<std::unique_ptr<HeldVolume>> HeldVolume::Acquire(storage::VolumeStorage* storage,
                                                                const MailboxObservation& observed,
                                                                transport::Fabric* fabric,
                                                                const HeldVolumeOptions& options,
                                                                absl::Time deadline) {
  std::unique_ptr<HeldVolume> held(new HeldVolume(storage, options));
  const std::string what = absl::StrCat(options.label, " volume ", storage->description());
  // 1. Claim: wait out whatever lease the previous holder may still have.
  ClaimOptions co;
  co.volume = options.label;
  co.taker = options.filer;
  co.incarnation = options.incarnation;
  co.lease_duration = options.lease_duration;
  co.margin = options.claim_margin;
  co.progress = [&what](const ClaimProgress& p) {
    if (p.phase != ClaimPhase::kWaiting) VLOG(1) << what << ": " << p.ToString();
  };
  absl::StatusOr<ClaimResult> claim =
      ClaimVolume(storage->ownership_record(), storage->mailbox(), observed, co, deadline);
  if (!claim.ok()) {
    return absl::Status(claim.status().code(),
                        absl::StrCat("claiming ", what, ": ", claim.status().message()));
  }
  held->claim_ = *claim;
  held->epoch_ = claim->claim.epoch;
  LOG(INFO) << options.filer << ": claimed " << what << " at epoch " << held->epoch_ << " (waited "
            << absl::FormatDuration(claim->waited) << ", "
            << ClaimWaitReasonName(claim->wait.reason) << ")";

  // 2. Lease: renewed from now on; the guard enforces it.
  LeaseOptions lo;
  lo.volume = options.label;
  lo.owner = options.filer;
  lo.incarnation = options.incarnation;
  lo.epoch = held->epoch_;
  lo.interval = options.lease_interval;
  lo.duration = options.lease_duration;
  lo.guard = options.guard;
  lo.fence_devices = storage->fence_devices();
  lo.mailbox_path = storage->mailbox_path();
  lo.mailbox_offset = storage->mailbox_offset();
  const std::string label = options.label;
  auto on_failed = options.on_failed;
  lo.on_lost = [label, on_failed](const absl::Status& why) {
    if (on_failed) on_failed(label, why);
  };
  held->lease_ = std::make_unique<Lease>(storage->ownership_record(), storage->mailbox(), lo);
  if (absl::Status s = held->lease_->Start(deadline); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("lease on ", what, ": ", s.message()));
  }

  // 3. Activation (mount, journal recovery), then the reply log and the service.
  absl::StatusOr<storage::ActiveVolume> active = storage->Activate();
  if (!active.ok()) {
    return absl::Status(active.status().code(),
                        absl::StrCat("activating ", what, ": ", active.status().message()));
  }
  held->active_ = true;
  held->active_mailbox_ = std::move(active->mailbox);
  filer::PosixVolume::Options vo;
  vo.sync_mode = storage->is_device() ? filer::PosixVolume::SyncMode::kFileSystem
                                      : filer::PosixVolume::SyncMode::kPerFile;
  absl::StatusOr<std::unique_ptr<filer::PosixVolume>> volume =
      filer::PosixVolume::Open(active->root, vo);
  if (!volume.ok()) return volume.status();
  filer::ServiceOptions so = options.service;
  so.filer_name = options.filer;
  so.epoch = held->epoch_;
  so.on_failure = [label, on_failed](const absl::Status& why) {
    if (on_failed) on_failed(label, why);
  };
  Lease* lease = held->lease_.get();
  const absl::Duration margin = options.mutation_margin;
  absl::StatusOr<std::unique_ptr<filer::VolumeService>> service = filer::VolumeService::Open(
      std::move(*volume), std::move(active->reply_log), so, [lease, margin, label]() {
        if (lease->Valid(margin)) return absl::OkStatus();
        return absl::FailedPreconditionError(
            absl::StrCat("no valid lease on the ", label, " volume"));
      });
  if (!service.ok()) return service.status();
  held->service_ = std::move(*service);

  // 4. The port.
  held->port_ = std::make_unique<filer::DataAccessPort>(fabric, options.endpoint,
                                                        held->service_.get(), options.port_label);
  if (absl::Status s = held->port_->Start(); !s.ok()) return s;
  return held;
}

LeaseStatus HeldVolume::lease_status() const {
  return lease_ != nullptr ? lease_->status() : LeaseStatus();
}

absl::Status HeldVolume::Release(bool notice, const std::string& notice_text,
                                 absl::Duration drain) {
  if (done_) return absl::OkStatus();
  if (port_ != nullptr && notice) {
    protocol::MessageHeader h;
    h.opcode = protocol::Opcode::kNotice;
    protocol::NoticeMessage n;
    n.kind = protocol::NoticeKind::kGivingBack;
    n.detail = notice_text;
    port_->Broadcast(protocol::EncodeMessage(h, n));
  }
  if (service_ != nullptr) {
    service_->StopAccepting();
    absl::Status drained = service_->Drain(absl::Now() + drain);
    if (!drained.ok()) LOG(WARNING) << options_.label << " volume: drain: " << drained;
  }
  if (port_ != nullptr) port_->Stop();
  port_.reset();
  absl::Status failed = service_ != nullptr ? service_->status() : absl::OkStatus();
  service_.reset();  // flushes and closes the reply log, closes every file of the volume
  active_mailbox_.reset();
  if (!failed.ok()) {
    Drop(absl::StrCat("its service failed: ", failed.message()));
    return failed;
  }
  if (active_) {
    if (absl::Status s = storage_->Deactivate(); !s.ok()) {
      Drop(absl::StrCat("cannot deactivate: ", s.message()));
      return s;
    }
    active_ = false;
  }
  if (lease_ != nullptr) {
    absl::Status s = lease_->Release();
    lease_.reset();
    if (!s.ok()) LOG(WARNING) << options_.label << " volume: lease release: " << s;
  }
  done_ = true;
  return absl::OkStatus();
}

void HeldVolume::Drop(const std::string& why) {
  if (done_) return;
  done_ = true;
  LOG(WARNING) << options_.filer << ": dropping the " << options_.label << " volume: " << why;
  if (service_ != nullptr) service_->StopAccepting();
  if (active_) {
    absl::Status fenced = storage_->Fence();
    if (!fenced.ok()) LOG(ERROR) << options_.label << " volume: fence: " << fenced;
  }
  if (port_ != nullptr) port_->Stop();
  port_.reset();
  service_.reset();
  active_mailbox_.reset();
  if (active_) {
    absl::Status s = storage_->Deactivate();
    if (!s.ok()) LOG(WARNING) << options_.label << " volume: deactivate after fence: " << s;
    active_ = false;
  }
  if (lease_ != nullptr) lease_->Abandon();
  lease_.reset();
}

}  // namespace cluster
}  // namespace vifiler
