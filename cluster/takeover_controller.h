// Copyright 2026 The vifiler Authors.
//
// TakeoverController: one filer of an HA pair. Serves its own volume on its primary port, keeps
// the interconnect and its mailbox heartbeat going, watches its partner, and takes over the
// partner's volume on the secondary port when the partner fails; gives it back on request.
//
// Contract (DESIGN.md, "Failover, on a time line" and the invariants):
//  - At start the filer reads its volume's ownership record: if its partner holds it, it waits
//    for giveback instead of serving (its primary port stays closed).
//  - Takeover happens when the partner sends FAILING, or when it has missed heartbeat_misses
//    heartbeats AND its mailbox on the shared storage is stale for as long. A fresh mailbox
//    with a silent interconnect means a broken interconnect: no takeover, the state is
//    reported and watched. A partner that announced HALTING is not taken over.
//  - Takeover claims the partner volume with a higher epoch, opens it (reply cache and
//    handles come with it) and only then starts the secondary port. The secondary port exists
//    only in the takeover state.
//  - Every mutation on either volume is guarded by the epoch this filer claimed; a filer that
//    finds its own volume claimed by its partner stops serving it and waits for giveback.
//  - Giveback: notice to the secondary-port clients, refuse new requests, drain, close the
//    secondary port, transfer ownership back, tell the partner (GIVEBACK_DONE); the partner
//    reclaims its volume and opens its primary port.
//  - Every state change is logged with a timestamp.
// Thread-safe.

#ifndef VIFILER_CLUSTER_TAKEOVER_CONTROLLER_H_
#define VIFILER_CLUSTER_TAKEOVER_CONTROLLER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/admin_handler.h"
#include "cluster/filer_state.h"
#include "cluster/interconnect.h"
#include "cluster/mailbox.h"
#include "cluster/ownership.h"
#include "filer/data_access_port.h"
#include "filer/volume_service.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

namespace vifiler {
namespace cluster {

struct PairOptions {
  std::string name;
  std::string volume;
  std::string address;
  std::string partner;  // empty: a single filer without a partner
  std::string partner_volume;
  uint16_t primary_discriminator = 7300;
  uint16_t secondary_discriminator = 7301;
  uint16_t interconnect_discriminator = 7302;
  absl::Duration heartbeat_interval = absl::Milliseconds(100);
  int heartbeat_misses = 3;
  bool auto_giveback = false;
  // A partner not seen alive since this filer started is taken over silently only after this.
  absl::Duration takeover_grace = absl::Seconds(5);
  // With auto_giveback: how long the partner must have been waiting for giveback.
  absl::Duration auto_giveback_delay = absl::Seconds(2);
  filer::ServiceOptions service;  // service.filer_name is set from name
};

class TakeoverController : public AdminHandler {
 public:
  TakeoverController(transport::Fabric* fabric, transport::NameResolver* resolver,
                     PairOptions options);
  ~TakeoverController() override;
  TakeoverController(const TakeoverController&) = delete;
  TakeoverController& operator=(const TakeoverController&) = delete;

  absl::Status Start();
  // Blocks until Halt() ran (admin or signal) or the deadline passes; true when halted.
  bool WaitForHalt(absl::Time deadline);
  // Best-effort FAILING to the partner from a dying process (fatal signal path).
  void SendFailing(const std::string& reason);

  FilerState state() const;

  // AdminHandler
  std::string Status() override;
  absl::Status Takeover() override;
  absl::Status Giveback() override;
  absl::Status Halt(bool takeover) override;
  absl::Status SetInterconnectCut(bool cut) override;

 private:
  // A volume this filer serves: the service and the port it is served on.
  struct Served {
    std::unique_ptr<OwnershipGuard> guard;
    std::unique_ptr<filer::VolumeService> service;
    std::unique_ptr<filer::DataAccessPort> port;
  };

  void MonitorLoop();
  void Tick();
  void OnMessage(const InterconnectMessage& message);
  InterconnectMessage Heartbeat();

  // Claims the volume at dir (epoch + 1), opens it and starts a port on discriminator.
  absl::StatusOr<std::unique_ptr<Served>> Serve(const std::string& dir, uint16_t discriminator,
                                                const std::string& label);
  // Closes the port after draining; with notice, tells its clients first.
  void Unserve(std::unique_ptr<Served> served, bool notice);
  absl::Status TakeoverLocked(const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status GivebackLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReclaimOwnLocked(const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RelinquishOwnLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetState(FilerState state, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool PartnerSilent() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HandedBackLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool PartnerMailboxStale() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration Threshold() const {
    return options_.heartbeat_interval * options_.heartbeat_misses;
  }

  transport::Fabric* const fabric_;
  transport::NameResolver* const resolver_;
  const PairOptions options_;
  const bool paired_;
  const uint64_t incarnation_;

  std::unique_ptr<Interconnect> interconnect_;
  std::unique_ptr<MailboxWriter> mailbox_;
  std::unique_ptr<MailboxReader> partner_mailbox_;

  mutable absl::Mutex mu_;
  FilerState state_ ABSL_GUARDED_BY(mu_) = FilerState::kStarting;
  std::unique_ptr<Served> own_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Served> partner_ ABSL_GUARDED_BY(mu_);
  uint64_t own_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  // What the partner told us.
  FilerState partner_state_ ABSL_GUARDED_BY(mu_) = FilerState::kStarting;
  uint64_t partner_incarnation_ ABSL_GUARDED_BY(mu_) = 0;
  bool partner_failing_ ABSL_GUARDED_BY(mu_) = false;
  bool partner_halting_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time partner_waiting_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Duration partner_mailbox_age_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  bool reported_split_ ABSL_GUARDED_BY(mu_) = false;
  bool halted_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  const absl::Time started_ = absl::Now();
  // The partner was seen alive (heard, or its mailbox moved) since this filer started.
  bool partner_seen_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t partner_first_counter_ ABSL_GUARDED_BY(mu_) = 0;
  // Read by the heartbeat without mu_, so a long drain never delays heartbeats.
  std::atomic<FilerState> published_state_{FilerState::kStarting};
  std::atomic<uint64_t> published_epoch_{0};
  std::thread monitor_;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_TAKEOVER_CONTROLLER_H_
