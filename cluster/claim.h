// Copyright 2026 The vifiler Authors.
//
// ClaimVolume: the claimant's side of volume ownership on shared storage (the owner's side,
// renewals and the guard, is cluster/lease.h). A filer takes a volume, whether its partner's at
// takeover or its own at start or after giveback, only through ClaimVolume followed by
// Lease::Start, and uses it only while the Lease is valid.
//
// The protocol (times are this host's CLOCK_MONOTONIC, LeaseClockNow()):
//   1. Read the ownership record (holder O at epoch E) and the mailbox.
//   2. Write the claim {taker, E' = max(E, the mailbox's epoch, min_epoch) + 1, claimed,
//      incarnation} and sync it. T_cd = the time the sync returned.
//   3. Re-read the mailbox after T_cd, and bound the end of every lease anyone may still hold:
//      - blank mailbox, and the observer never saw a valid one: no renewal ever completed, so no
//        lease exists; no wait (a fresh volume).
//      - the record read in 1 names O at epoch E, and either it says released or the mailbox's
//        last beat, by O itself at epoch E (same incarnation), says released: O released within
//        its lease after its last renewal, and nobody renewed since; no wait.
//      - the mailbox still shows the beat c that the caller's MailboxObserver has been seeing
//        since f (the completion time of the read that first showed it): every lease ends by
//        f + L; wait until f + L + M.
//      - anything else (a new beat, a torn block, a read error): every lease ends by T_cd + L;
//        wait until T_cd + L + M.
//      L is the largest of the caller's lease duration and every L the mailbox showed; M is a
//      margin for the clock rate difference between hosts and for scheduling.
//   4. Wait until then (bounded by the deadline; reported through `progress`). While waiting,
//      read the mailbox every 25 ms: a beat of the previous holder O (same epoch and
//      incarnation) marked released (a clean giveback, or O's fence guard after O died and its
//      devices were fenced) means O holds no lease any more: stop waiting. Then re-read the
//      record. If it still holds this claim (same taker, epoch and incarnation, state claimed),
//      the taker owns the volume at E' and may start its Lease and then activate the volume.
//      Otherwise another claim (or a late release) overwrote it: the claim is lost, reported as
//      AbortedError; there is no retry loop inside.
//
// Why the bounds hold. An owner's renewal writes the mailbox, and only after that write returned
// reads the record; it extends the lease to t_issue + L only when that read still shows its own
// holding (cluster/lease.h).
//  - Every renewal whose record read was served before the claim landed (before T_cd) started
//    before T_cd: its mailbox write returned before the read was issued, and t_issue precedes the
//    write. A renewal whose read was served after T_cd sees the claim and extends nothing. So
//    every lease ends by T_cd + L.
//  - A renewal that started after f wrote a beat the owner had never written before (counters
//    only grow, and the beat names writer, incarnation and epoch), after c was already on
//    storage. If that renewal extended the lease, its write returned before T_cd, so the re-read
//    after T_cd would show its beat, or a later one, not c. So when the re-read still shows c,
//    every lease-extending renewal started at or before f, and every lease ends by f + L.
//  - A stale write cannot break this: a late release overwrites a claim, and its claimant then
//    fails its final check; a claimant that later reads that stale "released" record finds a
//    mailbox last written by whoever renewed after it, not by the releaser, and waits.
// Two concurrent claimants both write a claim at E'; the later write stands, so exactly one
// finds its own claim at the end of its wait. A claimant whose claim lands after the other
// already verified wins the record; the other's next renewal sees the claim and reports the
// loss, and whatever lease it had earned is waited out by the later claimant (rules above).
//
// Every I/O goes through the BlockFiles given (not owned). No lock is held; the wait decision
// (ComputeClaimWait) is a pure function, apart from the I/O.

#ifndef VIFILER_CLUSTER_CLAIM_H_
#define VIFILER_CLUSTER_CLAIM_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cluster/lease_mailbox.h"
#include "cluster/ownership_record.h"
#include "storage/block_file.h"

namespace vifiler {
namespace cluster {

enum class ClaimWaitReason {
  kNeverRenewed,     // blank mailbox: no wait
  kReleased,         // a clean release by the mailbox's last writer: no wait
  kRenewalsStopped,  // the observed beat did not change: until f + L + M
  kRenewalsMoving,   // changed, unreadable or not observed before: until T_cd + L + M
};
const char* ClaimWaitReasonName(ClaimWaitReason reason);

struct ClaimWait {
  ClaimWaitReason reason = ClaimWaitReason::kRenewalsMoving;
  absl::Duration until = absl::ZeroDuration();           // LeaseClockNow() time
  absl::Duration lease_duration = absl::ZeroDuration();  // the L used
};

// Step 3 of the protocol. previous: the record read before the claim. observed: the caller's
// mailbox observation from before the claim. reread: the mailbox read after t_cd.
ClaimWait ComputeClaimWait(const OwnerRead& previous, const MailboxObservation& observed,
                           const absl::StatusOr<MailboxRead>& reread, absl::Duration t_cd,
                           absl::Duration lease_duration, absl::Duration margin);

enum class ClaimPhase {
  kClaimed,  // the claim is written and synced; the wait is known
  kWaiting,  // every progress_interval during the wait
  kOwned,    // the claim stood after the wait
  kLost,     // it did not
};

struct ClaimProgress {
  ClaimPhase phase = ClaimPhase::kClaimed;
  std::string volume;
  uint64_t epoch = 0;
  ClaimWait wait;
  absl::Duration remaining = absl::ZeroDuration();  // of the wait
  std::string ToString() const;
};

struct ClaimOptions {
  std::string volume;  // a label for messages
  std::string taker;   // this filer
  uint64_t incarnation = 0;
  // L: at least the lease duration the owners use (a larger one in the mailbox is used instead).
  absl::Duration lease_duration = absl::Seconds(1);
  absl::Duration margin = absl::Milliseconds(100);  // M
  // The claim's epoch is above this too (e.g. the highest epoch seen in the reply log), for a
  // volume whose record and mailbox are both unreadable.
  uint64_t min_epoch = 0;
  // Called on the caller's thread at each phase and every progress_interval while waiting.
  std::function<void(const ClaimProgress&)> progress;
  absl::Duration progress_interval = absl::Milliseconds(250);
};

struct ClaimResult {
  OwnerRecord claim;  // what now stands: its owner, epoch and incarnation go to LeaseOptions
  OwnerRead previous;
  ClaimWait wait;
  absl::Duration claimed_at = absl::ZeroDuration();  // T_cd
  absl::Duration waited = absl::ZeroDuration();      // from T_cd to the final read
};

// Claims the volume whose record and mailbox are in `ownership` and `mailbox` (block 0 of each),
// per the protocol above. `observed` is the caller's MailboxObserver's last observation of this
// volume's mailbox (a default-constructed one when there is none: then the wait is the full
// T_cd + L + M unless the mailbox is blank or released). Errors:
//  - AbortedError: the claim was overwritten during the wait (lost to another claimant).
//  - DeadlineExceededError: the deadline passed before the claim was written, or the wait would
//    end after it (the claim is then left on storage: the previous holder stops renewing; retry).
//  - DataLossError: the record is damaged and no epoch is known (see min_epoch).
//  - the BlockFile's error when an I/O fails (a failed final read leaves the outcome unknown).
absl::StatusOr<ClaimResult> ClaimVolume(storage::BlockFile* ownership, storage::BlockFile* mailbox,
                                        const MailboxObservation& observed,
                                        const ClaimOptions& options, absl::Time deadline);

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_CLAIM_H_
