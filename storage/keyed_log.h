// Copyright 2026 The vifiler Authors.
//
// KeyedLog: a durable map from short keys to small values, kept as a ring of record blocks
// on a BlockFile (format: storage/keyed_log_format.h), with group commit. It holds the reply
// cache of a volume (filer/reply_cache.h), on the volume's storage so that whichever filer
// serves the volume next reads it back.
//
// Contract:
//  - Open() reads the whole region back (the live map as of the last durable batch, plus
//    whatever a torn last batch left) and is then ready to append, stamping every block it
//    writes with options.epoch.
//  - Put() appends an entry in memory and returns its log sequence number (LSN, 1, 2, ...);
//    a background flusher writes everything appended so far as one batch: first every
//    distinct Effect attached to the batch's entries is made durable (Effect::Sync), then the
//    batch's blocks are written, then the BlockFile is synced. So an entry never becomes
//    durable before the effect it vouches for, and many writers share one flush.
//  - WhenDurable(lsn, done) calls done(OK) once every entry up to lsn is durable, or
//    done(error) if the log failed first; callbacks run on the log's completion thread, in
//    LSN order, never under the log's lock.
//  - A failed effect sync, block write, block sync or write_guard refusal fails the log for
//    good: every waiting and later call gets the error. (The volume must then be abandoned:
//    its owner can no longer promise durability.)
//  - Space: the ring must hold every live entry. Before a block is overwritten, the live
//    entries it holds have been copied forward into an earlier, already durable batch. Put()
//    refuses with ResourceExhaustedError, appending nothing, when live data would exceed half
//    the usable ring, so a caller can refuse a request before executing it.
//  - options.sync false skips the effect syncs and the block sync (no durability: a
//    benchmark baseline and tests on throw-away directories only).
// Thread-safe.

#ifndef VIFILER_STORAGE_KEYED_LOG_H_
#define VIFILER_STORAGE_KEYED_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/block_file.h"
#include "storage/keyed_log_format.h"

namespace vifiler {
namespace storage {

class KeyedLog {
 public:
  // Something an entry vouches for that must be durable before the entry is: a file's data,
  // a directory's entries, a whole file system.
  class Effect {
   public:
    virtual ~Effect() = default;
    virtual absl::Status Sync() = 0;
    // Effects of one batch with equal identities are synced once.
    virtual const void* identity() const = 0;
  };

  struct Options {
    uint64_t epoch = 0;
    bool sync = true;
    // Asked before every batch is written; an error fails the log (fencing: a filer whose
    // lease ran out must not write).
    std::function<absl::Status()> write_guard;
  };

  struct Stats {
    uint64_t blocks = 0;  // ring size
    uint64_t batches = 0;
    uint64_t blocks_written = 0;
    uint64_t entries_written = 0;
    uint64_t entries_copied = 0;  // copied forward to keep them live
    uint64_t effect_syncs = 0;
    uint64_t live_entries = 0;
    uint64_t live_bytes = 0;
    uint64_t durable_lsn = 0;
  };

  using LiveMap = absl::flat_hash_map<std::string, std::string>;

  // Reads the log back into *recovered (key -> value) and starts the flusher. The region must
  // be at least 8 blocks.
  static absl::StatusOr<std::unique_ptr<KeyedLog>> Open(std::unique_ptr<BlockFile> file,
                                                        const Options& options, LiveMap* recovered);
  // Flushes what was appended (bounded by a few seconds), then stops; pending callbacks get
  // an error if that fails.
  ~KeyedLog();
  KeyedLog(const KeyedLog&) = delete;
  KeyedLog& operator=(const KeyedLog&) = delete;

  // Sets key to value (empty value: erases key). InvalidArgumentError for an empty key or an
  // entry over kMaxEntrySize; ResourceExhaustedError when the log is full; the log's error
  // once it failed.
  absl::StatusOr<uint64_t> Put(absl::string_view key, absl::string_view value,
                               std::vector<std::shared_ptr<Effect>> effects = {});
  // True when an entry of `bytes` fits with a margin (a tenth of the capacity) to spare, so
  // that a caller that checked before executing a request can still record its reply after.
  bool HasRoom(size_t bytes) const;
  void WhenDurable(uint64_t lsn, std::function<void(absl::Status)> done);
  // DeadlineExceededError if not durable by deadline.
  absl::Status WaitDurable(uint64_t lsn, absl::Time deadline);
  // The LSN of the last Put (0 if none).
  uint64_t last_lsn() const;
  // OK, or the error that failed the log.
  absl::Status status() const;
  Stats stats() const;

 private:
  struct Pending {
    LogEntry entry;
    uint64_t lsn;
    std::vector<std::shared_ptr<Effect>> effects;
  };
  struct Live {
    std::string value;
    uint64_t block;  // number of the block holding the newest written copy
  };
  struct Batch {
    std::vector<std::string> payloads;  // one per block
    std::vector<LogEntry> entries;      // in block order, with their block index in `blocks`
    std::vector<uint64_t> blocks;
    std::vector<std::shared_ptr<Effect>> effects;
    uint64_t first_block = 0;
    uint64_t last_lsn = 0;
    size_t copied = 0;
  };

  KeyedLog(std::unique_ptr<BlockFile> file, const Options& options, uint64_t ring_blocks);

  absl::Status Recover(LiveMap* recovered);
  void FlushLoop();
  void CompletionLoop();
  // Takes copies and pending entries for the next batch (true if there is anything to write).
  bool TakeBatch(Batch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteBatch(const Batch& batch);
  void Commit(const Batch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Fail(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetLive(const LogEntry& entry, uint64_t block) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves callbacks whose LSN is durable (or all, after a failure) to the completion queue.
  void ReleaseWaiters() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t CapacityBytes() const;

  const std::unique_ptr<BlockFile> file_;
  const Options options_;
  const uint64_t ring_blocks_;
  const uint64_t headroom_;   // see the copy-forward rule in keyed_log.cc
  const uint64_t max_batch_;  // blocks per batch

  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_lsn_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t durable_lsn_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_block_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Live> live_ ABSL_GUARDED_BY(mu_);
  uint64_t live_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Block number -> keys whose newest written copy is there.
  absl::btree_map<uint64_t, absl::flat_hash_set<std::string>> by_block_ ABSL_GUARDED_BY(mu_);
  std::multimap<uint64_t, std::function<void(absl::Status)>> waiters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::function<void(absl::Status)>, absl::Status>> completions_
      ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);

  std::thread flusher_;
  std::thread completer_;
};

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_KEYED_LOG_H_
