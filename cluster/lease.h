// Copyright 2026 The vifiler Authors.
//
// Lease: the owner's side of volume ownership on shared storage. A filer may mutate a volume
// only while it holds a valid lease on it; the lease is earned by renewals against the ownership
// record (cluster/ownership_record.h) and the mailbox (cluster/lease_mailbox.h), both on the
// shared device, and it is enforced, when the filer cannot enforce it itself, by the fence guard
// (cluster/fence_guard.h). The claimant's side is cluster/claim.h.
//
// The protocol (all times are this host's CLOCK_MONOTONIC, LeaseClockNow()):
//
// Renewal (owner), every interval I (default 100 ms), on the lease's own thread:
//   1. t_issue = now.
//   2. Write the mailbox: {owner, epoch, counter + 1, incarnation, L, unix time}. The counter
//      grows by one on every attempt, whether its write succeeds or not.
//   3. Only after that write returned, read the ownership record.
//   4. If the record still names this filer (name, epoch and incarnation) in state claimed, the
//      lease is valid until t_issue + L (never moved backwards). If it names anything else, the
//      volume is lost: the lease stops being valid at once, on_lost is called (once), and
//      renewals stop. A failed or slow write or read, or a blank or damaged record, simply does
//      not extend the lease; the next attempt may.
// Why this is safe against a claimant (cluster/claim.h has its side): the claimant writes its
// claim, syncs, and at that completion time T_cd re-reads the mailbox. A renewal extends the
// lease only if its read of the record was served before the claim landed, i.e. before T_cd; its
// mailbox write had returned before that read was issued, so before T_cd, and t_issue was
// earlier still: every lease this owner can hold ends by T_cd + L. And a renewal that started
// after the claimant's first sighting f of the current mailbox value wrote a new value that the
// re-read after T_cd would show, so if the re-read still shows that value every such lease ends
// by f + L. The claimant waits out the bound plus a margin M (for clock rate differences and
// scheduling) before it uses the volume.
//
// Valid(margin) is lease_until - margin > now, and false once the lease is lost, abandoned or
// being released. Callers check it before they start a mutation and before they acknowledge it,
// with a margin that covers the mutation's own I/O.
//
// The guard. With a FenceGuard, Start() takes a slot for the volume and every extension
// publishes lease_until into it. If renewals stop (the filer is frozen, starved, or its storage
// fails) the guard fences the volume's devices and SIGKILLs the filer just before lease_until,
// so a frozen filer cannot land a stale write after the partner took over. If the guard dies,
// the next renewal notices (FenceGuard::alive()), the lease stops being extendable and on_lost
// reports it: the filer must stop serving. Without a guard (tests, a filer with no partner) the
// lease still times out in memory, but nothing stops a frozen process.
//
// Ending a lease:
//  - Release(): a clean giveback. The caller has stopped and flushed every write to the volume.
//    Renewals stop, Valid() turns false, and within the lease the record is rewritten as
//    {owner, epoch, released}; the next claimant then need not wait (cluster/claim.h says when).
//  - Abandon() (and the destructor): renewals stop, Valid() turns false, and the guard fences the
//    volume when the lease ends instead of killing the filer.
//  - Loss (the record names someone else, or the guard died): Valid() turns false at once and
//    on_lost runs on the renewal thread. The guard slot stays ACTIVE: unless the caller stops
//    using the volume and calls Abandon() before the lease ends, the guard kills the process at
//    its end. That is deliberate: a filer that cannot quiesce in time must not outlive its lease.
//
// Thread-safe. No lock is held across disk I/O; the renewal decision (JudgeRenewal) is a pure
// function of the I/O results, apart from the I/O.

#ifndef VIFILER_CLUSTER_LEASE_H_
#define VIFILER_CLUSTER_LEASE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/fence_guard.h"
#include "cluster/lease_mailbox.h"
#include "cluster/ownership_record.h"
#include "storage/block_file.h"

namespace vifiler {
namespace cluster {

struct LeaseOptions {
  std::string volume;  // a label for messages and the guard slot
  // Who holds the lease: what ClaimVolume() wrote into the record.
  std::string owner;
  uint64_t incarnation = 0;
  uint64_t epoch = 0;
  absl::Duration interval = absl::Milliseconds(100);  // I
  absl::Duration duration = absl::Seconds(1);         // L; must exceed I
  FenceGuard* guard = nullptr;                        // not owned; may be null
  std::vector<std::string> fence_devices;             // for the guard slot
  // Where the mailbox is (file or device, byte offset): with it the guard writes a released
  // beat after fencing the volume when this process dies (FenceGuard::Release). Empty: it
  // does not, and a taker waits the lease out.
  std::string mailbox_path;
  uint64_t mailbox_offset = 0;
  // Called once, on the renewal thread, with no lock held, when the lease can no longer be
  // extended for a reason renewals cannot fix: FailedPreconditionError naming the record's
  // holder when the volume was claimed away; UnavailableError when the fence guard died.
  std::function<void(const absl::Status&)> on_lost;
};

struct LeaseStatus {
  bool valid = false;
  absl::Duration until = absl::ZeroDuration();  // LeaseClockNow() time; zero: never valid
  uint64_t counter = 0;                         // of the last attempt
  uint64_t renewals = 0;                        // attempts that extended the lease
  uint64_t failed_renewals = 0;                 // attempts that did not
  absl::Status last_error;                      // of the last attempt that did not extend
  absl::Status lost;                            // OK unless lost
  bool released = false;
  bool abandoned = false;
};

// The decision on one renewal attempt, from its I/O results only.
enum class RenewalVerdict {
  kExtend,  // valid until t_issue + L
  kKeep,    // no extension (I/O failed, record blank or damaged); try again next interval
  kLost,    // the record names another holder, or the guard is gone: stop renewing
};
// write: the mailbox write. read: the record read after it (not looked at when the write
// failed). *why explains kKeep and kLost.
RenewalVerdict JudgeRenewal(const OwnerRecord& mine, const absl::Status& write,
                            const absl::StatusOr<OwnerRead>& read, bool guard_alive,
                            absl::Status* why);

class Lease {
 public:
  // The BlockFiles are not owned and must outlive the lease.
  Lease(storage::BlockFile* ownership, storage::BlockFile* mailbox, LeaseOptions options);
  ~Lease();  // Abandon()
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // Takes a guard slot (if there is a guard), continues the mailbox counter from what is on
  // storage, and renews every interval, synchronously, until one renewal extends the lease;
  // then starts the renewal thread. FailedPreconditionError when the record names someone else
  // (or Start ran before); DeadlineExceededError with the last I/O error when no renewal
  // succeeded by the deadline; InvalidArgumentError for bad options. on_lost is not called for
  // what Start reports.
  absl::Status Start(absl::Time deadline);

  // lease_until - margin > now, while the lease is neither lost, abandoned nor released.
  bool Valid(absl::Duration margin = absl::ZeroDuration()) const;
  // The end of the lease (LeaseClockNow() time); zero before the first extension.
  absl::Duration until() const;
  LeaseStatus status() const;
  const LeaseOptions& options() const { return options_; }

  // Clean giveback: see the header comment. Stops renewals (bounded by one renewal's I/O);
  // fails with FailedPreconditionError when the lease is lost, not started, already ended, or
  // ran out before the release could be written, and with the I/O error when the release write
  // failed. In every failure case the lease is abandoned (the guard fences at its end) and the
  // next claimant waits it out.
  absl::Status Release();
  // Stops renewing and lets the guard fence the volume at the lease's end. Idempotent.
  void Abandon();

 private:
  // One renewal: the I/O without the lock, then the verdict applied under it. Returns the verdict
  // and its reason.
  RenewalVerdict RenewOnce(absl::Status* why);
  void Run();
  void SetInvalid() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  OwnerRecord Mine(OwnershipState state) const;

  const OwnershipStore ownership_;
  const MailboxStore mailbox_;
  const LeaseOptions options_;

  // Valid()'s fast path: lease_until in ns while usable, 0 otherwise. Written under mu_.
  std::atomic<int64_t> valid_until_ns_{0};

  absl::Mutex stop_mu_;  // serialises Start, Release and Abandon
  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  bool abandoned_ ABSL_GUARDED_BY(mu_) = false;
  bool releasing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration until_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  uint64_t next_counter_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t last_counter_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t renewals_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failed_renewals_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  absl::Status lost_status_ ABSL_GUARDED_BY(mu_);
  int slot_ ABSL_GUARDED_BY(mu_) = -1;
  std::thread thread_;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_LEASE_H_
