// Copyright 2026 The vifiler Authors.
//
// The volume mailbox: a filer's second, independent sign of life, on the shared storage. The
// owner of a volume runs a MailboxWriter that bumps a counter in a small file on the volume
// every interval; its partner runs a MailboxReader on the same file and calls Observe() every
// heartbeat interval. The mailbox is stale when Observe() >= misses * interval.
//
// Record (kMailboxRecordSize bytes, written with one pwrite at offset 0):
//   "<name> <counter> <unix time ns> <checksum>" padded with spaces, then '\n'
// where checksum is the FNV-1a 64 hash (16 hex digits) of "<name> <counter> <unix time ns>".
// A torn or garbled record fails the checksum and is treated like a missing one.

#ifndef VIFILER_CLUSTER_MAILBOX_H_
#define VIFILER_CLUSTER_MAILBOX_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vifiler {
namespace cluster {

inline constexpr size_t kMailboxRecordSize = 256;
// Longest writer name; names must not contain whitespace.
inline constexpr size_t kMaxMailboxName = 128;

struct MailboxRecord {
  std::string name;
  uint64_t counter = 0;
  int64_t unix_time_ns = 0;
};

// Exposed for tests and tools. EncodeMailboxRecord needs a valid name (see above).
std::string EncodeMailboxRecord(const MailboxRecord& record);
// nullopt unless data starts with a complete record whose checksum matches.
std::optional<MailboxRecord> DecodeMailboxRecord(absl::string_view data);

// Writes the mailbox every interval on its own thread. Thread-safe. A failed write is logged
// and retried on the next tick (the counter then does not advance on storage, as it should
// not: a filer that cannot reach its storage shows no sign of life there).
class MailboxWriter {
 public:
  MailboxWriter(std::string path, std::string name, absl::Duration interval);
  MailboxWriter(const MailboxWriter&) = delete;
  MailboxWriter& operator=(const MailboxWriter&) = delete;
  ~MailboxWriter();  // Stop()

  // Creates/opens the file, continues the counter from a valid record already there (so a
  // reader sees a change after a restart), writes once (the error if that fails), then starts
  // the thread. InvalidArgumentError for a bad name or interval; FailedPreconditionError when
  // called twice.
  absl::Status Start();
  // Joins the thread (bounded by one write) and closes the file. Idempotent.
  void Stop();
  // The counter of the last successful write (0 before the first).
  uint64_t counter() const;

 private:
  void Run();
  // One pwrite of the next counter value (no fdatasync: see WriteNext).
  absl::Status WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const std::string path_;
  const std::string name_;
  const absl::Duration interval_;

  absl::Mutex stop_mu_;   // serialises Start and Stop
  absl::Mutex write_mu_;  // held by whoever writes
  int fd_ ABSL_GUARDED_BY(write_mu_) = -1;
  uint64_t next_counter_ ABSL_GUARDED_BY(write_mu_) = 1;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t counter_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

// Watches a mailbox written by another filer. Not thread-safe (one controller thread).
class MailboxReader {
 public:
  explicit MailboxReader(std::string path);

  // Reads the record now; returns how long the counter has not changed as seen by this
  // reader (on this host's monotonic clock, since the first time this reader saw the current
  // value). A missing/unreadable/torn record counts as unchanged; before any valid record the
  // time counts from the first Observe().
  absl::Duration Observe();
  // The last valid counter seen (0 if none).
  uint64_t last_counter() const { return last_counter_; }
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  bool seen_any_ = false;
  bool observed_ = false;
  uint64_t last_counter_ = 0;
  absl::Duration since_ = absl::ZeroDuration();  // monotonic time of the last change
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_MAILBOX_H_
