// Copyright 2026 The vifiler Authors.
//
// ReplyCache: exactly-once execution of requests, per client and slot, persisted on the volume.
//
// A client owns a fixed number of slots; each slot carries one request at a time, numbered by
// a sequence that grows by one or more per new request. For each (client, slot) the cache keeps
// the last sequence seen and, for mutating operations, the encoded reply. A request whose
// sequence equals the slot's is a replay: a mutating one is answered from the cache, never
// executed again; a non-mutating one is simply executed again. A lower sequence is misordered.
// If the same (slot, sequence) is still executing (the client reconnected and replayed while
// the old connection's request is running) the replay waits for it.
//
// Mutating replies are written to <dir>/<client id in hex> before they are acknowledged, one
// fixed-size record per slot, so the partner filer recovers them with the volume on takeover
// and a replayed request still runs at most once (invariant 3). Thread-safe.

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
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vifiler {
namespace filer {

class ReplyCache {
 public:
  // Largest encoded reply a slot record holds; mutating replies are far smaller.
  static constexpr size_t kMaxReplySize = 480;

  enum class Verdict {
    kExecute,     // new request (or a non-mutating replay): execute it, then call Finish
    kReplay,      // answered from the cache: *reply holds the encoded reply
    kMisordered,  // sequence lower than the slot's
    kBusy,        // the same request is still executing past the deadline
  };

  // dir is created if missing. sync: fdatasync every record before it is acknowledged
  // (survives a machine crash, not just a filer process death).
  ReplyCache(std::string dir, bool sync);
  ~ReplyCache();
  ReplyCache(const ReplyCache&) = delete;
  ReplyCache& operator=(const ReplyCache&) = delete;

  // slot must be below protocol::kMaxSlots (the caller validates it).
  Verdict Begin(absl::string_view client_id, uint32_t slot, uint64_t sequence, std::string* reply,
                absl::Time deadline);
  // Records the reply of a request Begin said to execute and releases the slot. For mutating
  // requests the reply is persisted first; an error means it was not, and the caller must not
  // acknowledge the request.
  absl::Status Finish(absl::string_view client_id, uint32_t slot, uint64_t sequence, bool mutating,
                      absl::string_view reply);
  // Releases a slot Begin said to execute without recording a reply (the request was not
  // executed).
  void Abandon(absl::string_view client_id, uint32_t slot, uint64_t sequence);

  uint64_t replays() const { return replays_.load(); }

 private:
  struct Slot {
    uint64_t sequence = 0;
    bool executing = false;
    bool has_reply = false;
    std::string reply;
  };
  struct Client {
    int fd = -1;
    std::vector<Slot> slots;
  };

  Client* GetClient(absl::string_view client_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Persist(Client* client, uint32_t slot, uint64_t sequence, absl::string_view reply)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const bool sync_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Client>> clients_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> replays_{0};
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_REPLY_CACHE_H_
