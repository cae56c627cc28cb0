// Copyright 2026 The vifiler Authors.
//
// HeldVolume: one volume this filer holds, from claim to giveback: claimed on storage
// (cluster/claim.h), leased (cluster/lease.h, enforced by the fence guard), activated
// (storage/volume_storage.h: for a device, dm devices and the file system mounted with journal
// recovery), its reply log recovered and pending intents resolved (filer/volume_service.h),
// and served on a data access port.
//
// Contract:
//  - Acquire() does all of that on the caller's thread, in that order, each step bounded by
//    the deadline; a step that fails undoes the earlier ones (a claimed-but-unused volume is
//    abandoned: its lease runs out and the next claimant waits it out). It is slow (the claim
//    waits out the previous holder's lease; mounting replays a journal): the caller must hold
//    no lock.
//  - Every mutation the service executes first asks the lease: it must stay valid for at
//    least mutation_margin more (the fence guard acts guard_margin before the lease's end;
//    mutation_margin must exceed it).
//  - on_failed is called (once, from a lease or request thread, no lock held) when the lease
//    is lost or the service failed: the owner must Drop() the volume soon.
//  - Release() hands the volume over cleanly: optional notice to connected clients, stop
//    accepting, drain, close the port, flush and close the reply log, deactivate (unmount),
//    and release the lease (the next claimant need not wait). If a step fails it falls back to
//    Drop().
//  - Drop() stops at once: the port is closed, the storage fenced, the lease abandoned (the
//    guard fences at its end).
// Not thread-safe apart from the accessors; one owner thread drives it.

#ifndef VIFILER_CLUSTER_HELD_VOLUME_H_
#define VIFILER_CLUSTER_HELD_VOLUME_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cluster/claim.h"
#include "cluster/fence_guard.h"
#include "cluster/lease.h"
#include "cluster/lease_mailbox.h"
#include "filer/data_access_port.h"
#include "filer/volume_service.h"
#include "storage/volume_storage.h"
#include "transport/fabric.h"

namespace vifiler {
namespace cluster {

struct HeldVolumeOptions {
  std::string filer;  // this filer's name: the claimant and lease holder
  uint64_t incarnation = 0;
  std::string label;  // "own" / "partner", for messages
  transport::Endpoint endpoint;
  std::string port_label;  // "primary" / "secondary"
  absl::Duration lease_interval = absl::Milliseconds(100);
  absl::Duration lease_duration = absl::Milliseconds(600);
  absl::Duration claim_margin = absl::Milliseconds(100);
  absl::Duration mutation_margin = absl::Milliseconds(150);
  FenceGuard* guard = nullptr;  // not owned; may be null (no enforcement of a frozen process)
  filer::ServiceOptions service;
  std::function<void(const std::string& volume, const absl::Status& why)> on_failed;
};

class HeldVolume {
 public:
  // storage and fabric must outlive the HeldVolume. observed: the caller's observation of the
  // volume's mailbox (cluster/claim.h uses it to shorten the wait).
  static absl::StatusOr<std::unique_ptr<HeldVolume>> Acquire(storage::VolumeStorage* storage,
                                                             const MailboxObservation& observed,
                                                             transport::Fabric* fabric,
                                                             const HeldVolumeOptions& options,
                                                             absl::Time deadline);
  ~HeldVolume();  // Drop() unless released
  HeldVolume(const HeldVolume&) = delete;
  HeldVolume& operator=(const HeldVolume&) = delete;

  absl::Status Release(bool notice, const std::string& notice_text, absl::Duration drain);
  void Drop(const std::string& why);

  uint64_t epoch() const { return epoch_; }
  filer::VolumeService* service() const { return service_.get(); }
  filer::DataAccessPort* port() const { return port_.get(); }
  LeaseStatus lease_status() const;
  const ClaimResult& claim() const { return claim_; }

 private:
  HeldVolume(storage::VolumeStorage* storage, HeldVolumeOptions options);

  storage::VolumeStorage* const storage_;
  const HeldVolumeOptions options_;
  ClaimResult claim_;
  uint64_t epoch_ = 0;
  std::unique_ptr<Lease> lease_;
  bool active_ = false;
  std::unique_ptr<storage::BlockFile> active_mailbox_;
  std::unique_ptr<filer::VolumeService> service_;
  std::unique_ptr<filer::DataAccessPort> port_;
  bool done_ = false;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_HELD_VOLUME_H_
