// Copyright 2026 The vifiler Authors.
//
// The lease mailbox of a volume: one storage::RecordBlock of kind kMailbox next to the ownership
// record (cluster/ownership_record.h), written only by the volume's current owner (whichever
// filer owns it, home or partner) as the first half of every lease renewal (cluster/lease.h),
// and watched by the other filer (MailboxObserver) to tell a live owner from a dead one and to
// bound how long a claimant must wait (cluster/claim.h).
//
// Block: kind kMailbox, epoch = the writer's ownership epoch, sequence = the counter.
// Payload (little-endian):
//    0  u8   payload version (1)
//    1  u8   flags: bit 0 released (the writer holds no lease any more); other bits zero
//    2  u16  length n of the writer name (1..kMaxFilerName)
//    4  u32  zero
//    8  u64  epoch (the same as the block's epoch field)
//   16  u64  counter: grows by one on every write attempt of the writer, successful or not
//   24  u64  incarnation of the writing process (random per process start)
//   32  i64  lease duration L the writer uses, ns (> 0)
//   40  i64  unix time of the write, ns (informational only)
//   48  n bytes: writer name
//
// A "beat" is what identifies one write attempt: (writer, incarnation, epoch, counter). A writer
// never writes the same beat twice, so a reader that sees the same beat twice knows no write of
// that writer landed in between, and any other writer's write shows a different beat even when
// its counter happens to be equal.
//
// Time: every lease time is measured on this host's CLOCK_MONOTONIC (LeaseClockNow()), never the
// wall clock, and is never compared with another host's clock; only durations (L, M) cross hosts.

#ifndef VIFILER_CLUSTER_LEASE_MAILBOX_H_
#define VIFILER_CLUSTER_LEASE_MAILBOX_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/ownership_record.h"
#include "storage/block_file.h"

namespace vifiler {
namespace cluster {

// CLOCK_MONOTONIC as a duration since its origin: the clock of every lease time on this host
// (also the clock of the fence guard's shared page).
absl::Duration LeaseClockNow();

struct MailboxEntry {
  std::string writer;
  uint64_t epoch = 0;
  uint64_t counter = 0;
  uint64_t incarnation = 0;
  absl::Duration lease_duration = absl::ZeroDuration();
  int64_t unix_time_ns = 0;
  // The writer holds no lease on the volume any more: its last word, written by a clean
  // release (Lease::Release) or by its fence guard after the writer died and the volume was
  // fenced. A claimant that sees it from the holder it claims from need not wait.
  bool released = false;
};

// Same (writer, incarnation, epoch, counter): the same write attempt.
bool SameBeat(const MailboxEntry& a, const MailboxEntry& b);
std::string DescribeEntry(const MailboxEntry& entry);

// Encode needs a valid writer name and a positive lease duration; decode returns nullopt for
// anything that is not exactly a version-1 payload with valid fields.
std::string EncodeMailboxPayload(const MailboxEntry& entry);
std::optional<MailboxEntry> DecodeMailboxPayload(absl::string_view payload);
std::string EncodeMailboxBlock(const MailboxEntry& entry);

// `entry` is meaningful only when state is kValid.
struct MailboxRead {
  BlockState state = BlockState::kBlank;
  MailboxEntry entry;
};
MailboxRead DecodeMailboxBlock(absl::string_view block);

// Reads and writes the entry in block 0 of a BlockFile (not owned).
class MailboxStore {
 public:
  explicit MailboxStore(storage::BlockFile* file) : file_(file) {}

  absl::StatusOr<MailboxRead> Read() const;
  // One write, no sync: the mailbox is a liveness signal; a direct BlockFile makes it visible to
  // the other host once Write returns, and nothing needs it after a power cut.
  absl::Status Write(const MailboxEntry& entry) const;

 private:
  storage::BlockFile* const file_;
};

// What a MailboxObserver has seen. Times are LeaseClockNow() values.
struct MailboxObservation {
  // A valid entry was read at least once; `entry` is the current value (the last valid one).
  bool seen = false;
  MailboxEntry entry;
  // When this observer first saw the current value: the completion time of the read that first
  // returned it, so the value was certainly on storage at that time. Before any valid entry: the
  // completion time of the first Observe().
  absl::Duration first_seen = absl::ZeroDuration();
  // Completion time of the last Observe() and what it read (kValid, kBlank, kDamaged; an I/O
  // error counts as kDamaged).
  absl::Duration last_read = absl::ZeroDuration();
  BlockState last_state = BlockState::kBlank;
  uint64_t reads = 0;

  // How long the value has not changed as of the last read.
  absl::Duration unchanged() const { return last_read - first_seen; }
};

// Watches a mailbox written by another filer. Observe() reads the block once and updates the
// observation: a new beat resets first_seen; the same beat, a blank, torn or garbage block, or a
// read error is "no change" (a writer whose writes do not land shows no sign of life).
// Observe() must not run concurrently with itself (one watcher thread); last() may be called
// from any thread.
class MailboxObserver {
 public:
  explicit MailboxObserver(storage::BlockFile* mailbox) : store_(mailbox) {}

  MailboxObservation Observe();
  MailboxObservation last() const;

 private:
  const MailboxStore store_;
  mutable absl::Mutex mu_;
  MailboxObservation observation_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_LEASE_MAILBOX_H_
