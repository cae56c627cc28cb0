// Copyright 2026 The vifiler Authors.
//
// FenceGuard: a separate process that makes a filer's leases (cluster/lease.h) binding even when
// the filer itself cannot act on them: frozen by SIGSTOP inside a mutation, starved, or dead.
//
// The filer forks the guard very early, before any thread starts (Spawn() refuses otherwise),
// and shares one page with it (mmap MAP_SHARED|MAP_ANONYMOUS before the fork). The page holds
// kMaxSlots slots; a slot belongs to one volume this filer holds a lease on and has a state, the
// lease's end ("lease until", CLOCK_MONOTONIC ns, the clock of LeaseClockNow()) and the names of
// the volume's dm devices to fence (fixed-size char arrays). The filer writes slots; the guard
// only reads them (and marks a slot fenced).
//
// The guard, single-threaded, sleeps until the earliest (lease_until - margin) of its slots or
// for one tick, whichever comes first, and then:
//  - a slot whose lease is ACTIVE and was not renewed before lease_until - margin: it runs the
//    fence action for that volume (and for every other volume still held), SIGKILLs the filer
//    (a stopped process dies too), writes one line to stderr saying why, and exits (status 2).
//    Acting `margin` before the end puts the fence in place before the partner may claim.
//  - a slot the filer stopped using without a clean release (FenceAtExpiry): at its end it runs
//    the fence action for that volume only and marks the slot fenced; the filer lives on.
//  - when the filer dies for any reason (the pipe from the filer reaches EOF: exit, crash,
//    SIGKILL, Stop()), it fences every volume still held, so that nothing dirty in this host's
//    page cache can reach the shared disk after the partner takes over; then, for each ACTIVE
//    slot whose fence worked and that carries a Release, it writes a released beat into the
//    mailbox (only if the last beat there is that holder's), so the partner can take over
//    without waiting for the lease to run out; and exits (status 0).
// The fence action is a callback chosen before Spawn (the guard is a fork of the filer; default:
// none). It runs in a child of the guard, waited for at most fence_timeout, so a hung fence
// cannot stall the guard; stderr lines are written under a 200 ms alarm; every sleep is bounded
// by the tick. Nothing in the guard waits without a bound.
//
// The other direction: a pipe from the guard reaches EOF in the filer when the guard dies.
// alive() turns false, and a Lease using this guard stops extending (it reports the loss); the
// filer must then stop serving. The guard ignores SIGINT, SIGTERM, SIGHUP and SIGQUIT (a signal
// sent to the whole process group, e.g. by systemd, kills only the filer, and the guard then
// fences), but not SIGKILL. It raises its own scheduling priority when allowed (nice -10).
//
// Slot states (the filer moves a slot along these; the guard acts on ACTIVE and FENCE_AT_EXPIRY):
//   FREE -AcquireSlot-> IDLE -Publish-> ACTIVE -FenceAtExpiry-> FENCE_AT_EXPIRY -guard-> FENCED
//   any -FreeSlot-> FREE;  FENCED -AcquireSlot-> IDLE.
// Device names are written only while a slot is being acquired (invisible to the guard), under a
// sequence counter the guard checks, so it never acts on a half-written name.
//
// Thread-safe (in the filer). Leases that use a guard must end before it is destroyed.

#ifndef VIFILER_CLUSTER_FENCE_GUARD_H_
#define VIFILER_CLUSTER_FENCE_GUARD_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vifiler {
namespace cluster {

struct GuardPage;  // the shared page (fence_guard.cc)

// Fences one volume: makes its devices refuse I/O from this host (e.g. storage::FenceDevices).
// Runs in a child of the guard process; must not rely on any thread of the filer.
using FenceAction =
    std::function<absl::Status(const std::string& volume, const std::vector<std::string>& devices)>;

struct FenceGuardOptions {
  // The longest the guard sleeps between looks at the slots (tests use a few ms).
  absl::Duration tick = absl::Milliseconds(100);
  // The guard acts this long before a lease's end. This margin plus the claimant's margin M
  // (cluster/claim.h) must cover the guard's wake-up latency and the fence action's duration:
  // the fence must be in place before the partner uses the volume.
  absl::Duration margin = absl::Milliseconds(100);
  // How long the guard waits for the fence actions before it goes on (kills, exits) regardless.
  absl::Duration fence_timeout = absl::Seconds(2);
  FenceAction fence;  // empty: no fence action
  // File descriptors the guard keeps open; it closes every other one except 0, 1, 2 and its
  // pipes (so it does not hold the filer's sockets and files). Tests keep a pipe to see it exit.
  std::vector<int> keep_fds;
};

class FenceGuard {
 public:
  static constexpr int kMaxSlots = 4;  // a filer holds at most its own and its partner's volume
  static constexpr int kMaxDevices = 3;
  static constexpr size_t kMaxDeviceName = 127;
  static constexpr size_t kMaxVolumeLabel = 47;
  static constexpr size_t kMaxRecordPath = 191;

  // What to write when the filer dies holding the volume: after the guard has fenced the
  // volume, it writes a last beat into the mailbox at (path, offset), marked released, as the
  // holder (owner, epoch, incarnation) would, if the mailbox's last beat is that holder's, so
  // that the partner's claim need not wait out a lease nobody can use any more
  // (cluster/claim.h).
  struct Release {
    std::string mailbox_path;
    uint64_t mailbox_offset = 0;
    std::string owner;
    uint64_t epoch = 0;
    uint64_t incarnation = 0;
    absl::Duration lease_duration;
  };

  // Forks the guard process. FailedPreconditionError when this process already runs more than
  // one thread; InvalidArgumentError for bad options; InternalError when a system call fails.
  static absl::StatusOr<std::unique_ptr<FenceGuard>> Spawn(FenceGuardOptions options);

  ~FenceGuard();  // Stop() with a deadline of fence_timeout + 2 s, then unmaps the page
  FenceGuard(const FenceGuard&) = delete;
  FenceGuard& operator=(const FenceGuard&) = delete;

  pid_t pid() const { return pid_; }
  const FenceGuardOptions& options() const { return options_; }

  // False once the guard process is gone (its pipe reached EOF) or stopped. Never blocks.
  bool alive() const;

  // Ends the guard: closes the pipe to it, so that it fences every volume still held and exits;
  // waits for it until deadline, then SIGKILLs it. Returns how it ended (OK: exit status 0).
  // Idempotent.
  absl::Status Stop(absl::Time deadline);

  // Reserves a free slot for a volume (label for messages, truncated to kMaxVolumeLabel) and its
  // devices (at most kMaxDevices names of 1..kMaxDeviceName bytes). The slot is IDLE: the guard
  // ignores it until Publish(). ResourceExhaustedError when no slot is free.
  // With release, the guard also releases the volume when the filer dies (see Release).
  absl::StatusOr<int> AcquireSlot(absl::string_view volume, const std::vector<std::string>& devices,
                                  const Release* release = nullptr);
  // Sets the slot's lease end (LeaseClockNow() time) and makes it ACTIVE. Ignored unless the
  // slot is IDLE or ACTIVE.
  void Publish(int slot, absl::Duration lease_until);
  // The filer stopped using the volume without a clean release: the guard fences it at the
  // lease's end instead of killing the filer. An IDLE slot is freed.
  void FenceAtExpiry(int slot);
  // The slot is no longer watched; nothing is fenced (a clean release).
  void FreeSlot(int slot);

  // For tests and status: the slot's state name ("free", "idle", "active", "fence-at-expiry",
  // "fenced", "setup").
  std::string SlotState(int slot) const;

 private:
  FenceGuard(GuardPage* page, pid_t pid, int to_guard, int from_guard, FenceGuardOptions options);
  void Poke();
  bool ValidSlot(int slot) const { return slot >= 0 && slot < kMaxSlots; }
  // Reaps the guard if it exited; true when it has been reaped (exit status in *status).
  bool Reap(bool block_until_deadline, absl::Time deadline, absl::Status* status) const;

  GuardPage* const page_;
  const pid_t pid_;
  const FenceGuardOptions options_;
  const int from_guard_;

  mutable std::atomic<bool> dead_{false};
  mutable absl::Mutex mu_;
  int to_guard_ ABSL_GUARDED_BY(mu_);
  mutable bool reaped_ ABSL_GUARDED_BY(mu_) = false;
  mutable absl::Status exit_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_FENCE_GUARD_H_
