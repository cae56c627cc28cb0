// Copyright 2026 The vifiler Authors.
//
// ReplyCache: exactly-once execution of requests, per client and slot, kept in the volume's
// reply log (storage/keyed_log.h; record format in filer/reply_record.h) so that whichever
// filer serves the volume next answers replays the same way.
//
// A client owns slots; each slot carries one request at a time, numbered by a sequence that
// grows with every new request. Per (client, slot) the cache holds the last sequence seen and
// one of these states:
//   idle      nothing to replay (a read ran, or a mutation did not execute)
//   executing a request is running
//   pending   a mutation executed; its reply is recorded but not yet durable
//   replied   the reply is durable: a replay gets it, the mutation never runs again
// Begin() decides: a new sequence executes; the sequence of a replied mutation is answered
// from the cache; the sequence of a request still executing or pending waits for it (the
// client reconnected and replayed while the first copy runs); a lower sequence is misordered.
//
// Mutations record their reply with RecordReply(), attaching the effects the log must sync
// first, and call MarkDurable() once the log says the entry is durable: only then is the reply
// sent (so a reply never promises what a power cut could undo). Namespace operations first
// record their Intent and wait until it is durable before executing.
// Thread-safe; no lock is held while waiting for the log.

#ifndef VIFILER_FILER_REPLY_CACHE_H_
#define VIFILER_FILER_REPLY_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "filer/reply_record.h"
#include "storage/keyed_log.h"

namespace vifiler {
namespace filer {

class ReplyCache {
 public:
  enum class Verdict {
    kExecute,     // execute it, then RecordReply (mutations) or Finish
    kReplay,      // answered from the cache: *reply holds the encoded reply
    kMisordered,  // sequence lower than the slot's
    kBusy,        // the same request is still running past the deadline, or another sequence
  };

  // An intent found in the log without a reply: its fate must be decided before serving.
  struct Unresolved {
    std::string client_id;
    uint32_t slot = 0;
    uint64_t sequence = 0;
    Intent intent;
  };

  explicit ReplyCache(storage::KeyedLog* log);
  ReplyCache(const ReplyCache&) = delete;
  ReplyCache& operator=(const ReplyCache&) = delete;

  // Loads what the log recovered. Undecodable records are logged and skipped.
  std::vector<Unresolved> Load(const storage::KeyedLog::LiveMap& live);

  // slot must be below protocol::kMaxSlots.
  Verdict Begin(absl::string_view client_id, uint32_t slot, uint64_t sequence, std::string* reply,
                absl::Time deadline);
  // Appends the intent of a request Begin said to execute; returns the LSN to wait for.
  absl::StatusOr<uint64_t> RecordIntent(absl::string_view client_id, uint32_t slot,
                                        uint64_t sequence, const Intent& intent);
  // Appends the reply of a mutation (executed, or refused without effect); the slot is
  // pending until MarkDurable.
  absl::StatusOr<uint64_t> RecordReply(
      absl::string_view client_id, uint32_t slot, uint64_t sequence, absl::string_view reply,
      std::vector<std::shared_ptr<storage::KeyedLog::Effect>> effects);
  // Appends "seen, not executed" for an intent found not to have run (the slot goes idle).
  absl::StatusOr<uint64_t> RecordNotExecuted(absl::string_view client_id, uint32_t slot,
                                             uint64_t sequence);
  // The reply recorded for (slot, sequence) is durable: replays get it from now on.
  void MarkDurable(absl::string_view client_id, uint32_t slot, uint64_t sequence);
  // A request Begin said to execute finished without a reply to keep (a read, or a mutation
  // refused before it did anything and before any intent was recorded): the slot goes idle.
  void Finish(absl::string_view client_id, uint32_t slot, uint64_t sequence);
  // The client destroyed its session: forget its slots, here and in the log. Slots still
  // running keep their state.
  void Forget(absl::string_view client_id);

  // True when the log has room for a reply, checked before a mutation executes.
  bool HasRoom() const;
  uint64_t replays() const { return replays_.load(); }
  size_t clients() const;

 private:
  enum class State { kIdle, kExecuting, kPending, kReplied };
  struct Slot {
    uint64_t sequence = 0;
    State state = State::kIdle;
    bool logged = false;  // the log holds a record for this slot
    std::string reply;
  };
  struct Client {
    std::vector<Slot> slots;
  };

  Slot* GetSlot(absl::string_view client_id, uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::KeyedLog* const log_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Client>> clients_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> replays_{0};
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_REPLY_CACHE_H_
