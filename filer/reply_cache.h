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
//   expired   the client's lease expired and the reply was dropped: a replay of that
//             sequence is answered kExpired (SESSION_EXPIRED), never executed
// Begin() decides: a new sequence executes; the sequence of a replied mutation is answered
// from the cache; the sequence of a request still executing or pending waits for it (the
// client reconnected and replayed while the first copy runs); a lower sequence is misordered;
// a sequence too far ahead of the slot's (filer/sequence_window.h) is out of the window and
// refused without changing the slot.
//
// Client records: before a client's first mutation without an intent executes (an intent
// does the same by itself), RecordClient() puts one record for the client itself (no slot),
// so that whoever serves the volume next knows the client had state here and restores its
// lease (filer/session_table.h); reads never write anything.
// Forget() erases every record of a client (it destroyed its session). Expire() drops what a
// client whose lease ran out kept (replies, intents resolved, its client record) but keeps,
// per slot whose reply it drops, that sequence as a small kExpired record: a replay of it
// is then refused, not executed, whenever it comes back, across restarts and takeovers. Those
// records go after kExpiredRecordLife (DropExpired): a client gone longer than the lease plus
// that is a stranger again.
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
#include "filer/reply_slot.h"
#include "storage/keyed_log.h"

namespace vifiler {
namespace filer {

class ReplyCache {
 public:
  // kExecute: execute it, then RecordReply (mutations) or Finish; kReplay: *reply holds the
  // answer; kBusy also when the same request is still running past the deadline. See
  // filer/reply_slot.h.
  using Verdict = ReplySlot::Verdict;

  // How long the sequences of an expired client are kept (see Expire).
  static constexpr absl::Duration kExpiredRecordLife = absl::Hours(24);

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
  // Appends the client's own record unless it has one; returns the LSN to wait for before the
  // client's mutation executes (0: nothing to wait for).
  absl::StatusOr<uint64_t> RecordClient(absl::string_view client_id);
  // The client destroyed its session: forget its slots, here and in the log. False (nothing
  // forgotten) while one of its requests is still running.
  bool Forget(absl::string_view client_id);
  // The client's lease expired: keep only its slots' last sequences (see the contract). False
  // (nothing changed) while one of its requests is still running.
  bool Expire(absl::string_view client_id, absl::Time now);
  // Erases the sequences of clients that expired before `cutoff`; returns how many clients.
  size_t DropExpired(absl::Time cutoff);
  // The clients the cache holds state for (expired ones not included).
  std::vector<std::string> client_ids() const;
  // Clients whose last sequences are kept after their lease expired.
  size_t expired_clients() const;

  // True when the log has room for a reply, checked before a mutation executes.
  bool HasRoom() const;
  uint64_t replays() const { return replays_.load(); }
  size_t clients() const;

 private:
  using State = ReplySlot::State;
  using Slot = ReplySlot;
  struct Client {
    std::vector<Slot> slots;
    bool recorded = false;  // the log holds the client's own record
  };
  // What an expired client left: its slots' last sequences (all logged as kExpired).
  struct Expired {
    absl::Time at;
    std::vector<std::pair<uint32_t, uint64_t>> sequences;  // (slot, sequence)
  };

  Client* GetClient(absl::string_view client_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Slot* GetSlot(absl::string_view client_id, uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::KeyedLog* const log_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Client>> clients_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Expired> expired_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> replays_{0};
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_REPLY_CACHE_H_
