// Copyright 2026 The vifiler Authors.
//
// TakeoverController: one filer of an HA pair (or a single filer without a partner). Serves its
// own volume on its primary port, keeps the interconnect going, watches its partner through the
// interconnect and through the mailboxes on shared storage, takes over the partner's volume on
// its secondary port when the partner fails, and gives it back.
//
// Design: one actor thread makes every change. Each tick (a quarter heartbeat interval, or
// sooner when an event arrives) it
//   1. observes, without any lock: the mailboxes on storage (the partner's lease heartbeats),
//      and its own volume's ownership record while it does not hold it;
//   2. takes a snapshot of the events (interconnect messages, admin requests, failed volumes)
//      under a short lock;
//   3. asks DecidePairAction (cluster/pair_state_machine.h: every rule of the pair, pure);
//   4. carries the action out, without any lock: claiming a volume waits out the previous
//      holder's lease, activating it mounts it with journal recovery and recovers its reply
//      log (cluster/held_volume.h). Heartbeats, the admin port and Status() never wait for it.
// Admin requests (takeover, giveback, halt) are queued for the actor and answered when it has
// acted, within a deadline.
//
// Safety rests on storage, not on the interconnect: a volume is used only under a lease on it
// (cluster/lease.h), taken only by a claim that waits out every lease its previous holder could
// still have (cluster/claim.h), and enforced by the fence guard (cluster/fence_guard.h) even if
// this process is frozen. A silent interconnect with a live mailbox is a broken link: reported,
// never taken over.
// Every state change is logged with its reason. Thread-safe.

#ifndef VIFILER_CLUSTER_TAKEOVER_CONTROLLER_H_
#define VIFILER_CLUSTER_TAKEOVER_CONTROLLER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/admin_handler.h"
#include "cluster/fence_guard.h"
#include "cluster/filer_state.h"
#include "cluster/held_volume.h"
#include "cluster/interconnect.h"
#include "cluster/lease_mailbox.h"
#include "cluster/pair_state_machine.h"
#include "filer/volume_service.h"
#include "storage/volume_storage.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

namespace vifiler {
namespace cluster {

struct PairOptions {
  std::string name;
  std::string volume;  // a directory or a block device formatted by vifilerd --format
  std::string address;
  std::string partner;  // empty: a single filer without a partner
  std::string partner_volume;
  uint16_t primary_discriminator = 7300;
  uint16_t secondary_discriminator = 7301;
  uint16_t interconnect_discriminator = 7302;
  // Authenticates the interconnect (InterconnectOptions::key); null: a trusted link.
  std::shared_ptr<const PairKey> pair_key;
  absl::Duration heartbeat_interval = absl::Milliseconds(100);
  int heartbeat_misses = 3;
  // Lease on a held volume (renewed every heartbeat_interval) and the claimant's margin.
  absl::Duration lease_duration = absl::Milliseconds(600);
  absl::Duration claim_margin = absl::Milliseconds(100);
  bool auto_giveback = false;
  // A partner not seen alive since this filer started is taken over silently only after this.
  absl::Duration takeover_grace = absl::Seconds(5);
  // With auto_giveback: how long the partner must have been waiting for giveback.
  absl::Duration auto_giveback_delay = absl::Seconds(2);
  // Where device volumes get their dm device nodes and mount points.
  std::string run_dir = "/run/vifiler";
  storage::VolumeStorageOptions storage;
  filer::ServiceOptions service;  // service.filer_name and epoch are set per volume
  // The partner's volume's export policy, while this filer serves it (service.exports is the
  // own volume's).
  filer::ExportPolicy partner_exports;
};

class TakeoverController : public AdminHandler {
 public:
  // guard: the fence guard spawned by the process (not owned; may be null in tests, then a
  // frozen filer is not stopped).
  TakeoverController(transport::Fabric* fabric, transport::NameResolver* resolver,
                     PairOptions options, FenceGuard* guard);
  ~TakeoverController() override;
  TakeoverController(const TakeoverController&) = delete;
  TakeoverController& operator=(const TakeoverController&) = delete;

  // Opens both volumes' storage, refuses to start when another process serves this filer's
  // volume, then starts the interconnect and the actor (which claims the own volume unless the
  // partner holds it). Returns once the own volume is served or known to be held by the
  // partner, or with the error that stopped it.
  absl::Status Start();
  // Blocks until halted (admin, signal) or the deadline passes; true when halted.
  bool WaitForHalt(absl::Time deadline);
  // Best-effort FAILING to the partner from a dying process (fatal signal path).
  void SendFailing(const std::string& reason);

  FilerState state() const;

  // AdminHandler. Status() is "key=value" lines, one per key; vifilerctl, the tests and the
  // testbed's status watch parse them, so keys are only ever added, never renamed. Always:
  // name, state, address, volume, epoch, primary_port, durable, fence_guard, clients (client
  // connections on both data ports), and the limits: max_connections, max_sessions,
  // max_inflight_per_session, session_lease_ms, idle_timeout_ms. With the primary port open:
  // requests, replays, connections, lease_ms_left, reply-log counters, sessions,
  // session_clients, sessions_expired, session_expired_refusals, and the direct transfers:
  // direct_reads_mapped, direct_staged, direct_copied, mapping_refusals
  // (filer::ServiceCounters). Always, too: pinned_bytes (registered for RDMA by this process)
  // and memlock_limit (transport/pinned_memory.h). Once this filer took over (gave
  // back) the partner's volume: last_takeover_time and last_takeover_reason (last_giveback_time,
  // last_giveback_reason). Paired: partner, partner_state, partner_volume, secondary_port (and
  // its counters when open), interconnect (connected | down | cut), heartbeat_age_ms,
  // partner_mailbox_age_ms, partner_mailbox (fresh | stale against the detection threshold, or
  // none: no partner heartbeat on storage to watch, e.g. while this filer holds the partner's
  // volume), takeover_possible (yes | no) and, when no, takeover_impossible_because, and warning
  // when the interconnect is down while the partner's storage heartbeat is fresh.
  std::string Status() override;
  absl::Status Takeover() override;
  absl::Status Giveback() override;
  absl::Status Halt(bool takeover) override;
  absl::Status SetInterconnectCut(bool cut) override;

 private:
  enum class RequestKind { kTakeover, kGiveback, kHalt };
  struct Request {
    RequestKind kind;
    bool takeover = false;  // halt: with takeover
    absl::Time deadline;
    bool done = false;
    absl::Status result;
    bool asked_partner = false;
    // giveback: how long it may wait for a partner that cannot take its volume back yet.
    absl::Time wait_for_partner_until = absl::InfinitePast();
  };
  // What the actor publishes for Status() and heartbeats.
  struct Published {
    FilerState state = FilerState::kStarting;
    uint64_t own_epoch = 0;
    uint64_t partner_epoch = 0;
    bool primary_open = false;
    bool secondary_open = false;
    filer::ServiceCounters own_counters;
    filer::ServiceCounters partner_counters;
    int own_connections = 0;
    int partner_connections = 0;
    LeaseStatus own_lease;
    LeaseStatus partner_lease;
    absl::Duration partner_storage_silence = absl::InfiniteDuration();
    bool interconnect_broken = false;
    bool takeover_possible = false;
    std::string takeover_impossible_because;
    std::string last_change;  // "2026-12-01 12:00:00.000 takeover: partner sent FAILING"
    std::string action_in_progress;
  };

  void Run();
  // One tick: observe, decide, act. Returns false once halted.
  bool Step();
  PairInputs Gather();
  void Carry(const PairDecision& decision, const PairInputs& in);
  void AcquireOwn(const std::string& reason);
  void AcquirePartner(const std::string& reason);
  void ReleasePartner(bool notice, const std::string& why);
  void ReleaseOwn(const std::string& why);
  void DoHalt(bool takeover);
  void Publish(const PairInputs& in, const PairDecision& decision);
  void CompleteRequests(const PairInputs& in, const PairDecision& decision);
  void NoteChange(const std::string& what);
  absl::Status PostAndWait(Request request);
  void OnMessage(const InterconnectMessage& message);
  void OnVolumeFailed(const std::string& volume, const absl::Status& why);
  InterconnectMessage Heartbeat();
  void SendToPartner(InterconnectMessageType type, const std::string& detail);
  HeldVolumeOptions VolumeOptions(bool own) const;
  FilerState ComputeState() const;

  transport::Fabric* const fabric_;
  transport::NameResolver* const resolver_;
  const PairOptions options_;
  FenceGuard* const guard_;
  const bool paired_;
  const uint64_t incarnation_;
  const absl::Time started_ = absl::Now();
  PairConfig config_;

  // Storage of both volumes (opened by Start, used by the actor only).
  std::unique_ptr<storage::VolumeStorage> own_storage_;
  std::unique_ptr<storage::VolumeStorage> partner_storage_;
  std::unique_ptr<MailboxObserver> own_mailbox_;
  std::unique_ptr<MailboxObserver> partner_mailbox_;
  // Held by the actor thread only.
  std::unique_ptr<HeldVolume> own_;
  std::unique_ptr<HeldVolume> partner_;
  absl::Time retry_after_ = absl::InfinitePast();  // after a failed acquisition
  bool reported_broken_ = false;        // the broken interconnect was logged as a WARNING
  bool noted_silent_at_start_ = false;  // the not-yet-connected interconnect was logged (INFO)
  // When this filer relinquished its own volume to the partner (an administrative takeover),
  // until the partner is seen holding it; InfinitePast otherwise.
  absl::Time relinquished_at_ = absl::InfinitePast();

  std::unique_ptr<Interconnect> interconnect_;

  mutable absl::Mutex mu_;
  // Events, written by other threads.
  FilerState partner_state_ ABSL_GUARDED_BY(mu_) = FilerState::kStarting;
  uint64_t partner_incarnation_ ABSL_GUARDED_BY(mu_) = 0;
  bool partner_failing_ ABSL_GUARDED_BY(mu_) = false;
  bool partner_halting_ ABSL_GUARDED_BY(mu_) = false;
  bool relinquish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool partner_heard_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time partner_waiting_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool own_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool partner_volume_failed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Request*> requests_ ABSL_GUARDED_BY(mu_);
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool halted_ ABSL_GUARDED_BY(mu_) = false;
  bool started_serving_ ABSL_GUARDED_BY(mu_) = false;  // own served, or known held by partner
  absl::Status start_error_ ABSL_GUARDED_BY(mu_);
  Published published_ ABSL_GUARDED_BY(mu_);
  // The last takeover of the partner's volume and the last giveback of it by this filer (this
  // process's lifetime): when (Timestamp()) and why. Empty time: none yet.
  struct Event {
    std::string time;
    std::string reason;
  };
  Event last_takeover_ ABSL_GUARDED_BY(mu_);
  Event last_giveback_ ABSL_GUARDED_BY(mu_);
  absl::Time gave_back_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t publications_ ABSL_GUARDED_BY(mu_) = 0;  // Publish() calls so far
  // Read by heartbeats without mu_.
  std::atomic<FilerState> published_state_{FilerState::kStarting};
  std::atomic<uint64_t> published_epoch_{0};
  std::thread actor_;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_TAKEOVER_CONTROLLER_H_
