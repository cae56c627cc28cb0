// Copyright 2026 The vifiler Authors.
//
// SessionTable: the sessions of one volume service and the leases of their clients, so that
// what the filer keeps per client is bounded and goes away when the client does.
//
// A client (its client id, stable across reconnects and failover) has at most one session; a
// new session replaces the old one. A client is *held* while one of its connections is open
// or one of its requests runs; a client that is not held keeps its lease for `lease` after the
// last time it was held or sent a request (Find renews it). Expire() drops every client whose
// lease ran out, with its session, and returns their ids: the caller drops their reply-cache
// state (its records in the reply log included).
//
// Session ids: the high 32 bits are a random tag of this table, the low 32 bits a counter. A
// session id this table issued and no longer holds (expired, replaced, destroyed) is told
// apart from one it never issued without remembering it (Find says kExpired).
//
// Limits: at most max_clients clients; Create() for a new client beyond that is refused with
// ResourceExhaustedError (clients restored from the reply log are never refused).
// Thread-safe; every call is short and does no I/O. Time is passed in (tests drive it).

#ifndef VIFILER_FILER_SESSION_TABLE_H_
#define VIFILER_FILER_SESSION_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vifiler {
namespace filer {

class SessionTable {
 public:
  struct Session {
    std::string client_id;
    uint32_t slots = 0;
  };
  enum class Lookup { kFound, kUnknown, kExpired };

  SessionTable(absl::Duration lease, size_t max_clients);
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // A new session for client_id (replacing its old one); renews the client's lease. Clients
  // Restore()d from the reply log count as known (never refused for the limit).
  absl::StatusOr<uint64_t> Create(absl::string_view client_id, uint32_t slots, absl::Time now,
                                  Session* session);
  // The session with this id, renewing its client's lease.
  Lookup Find(uint64_t session_id, absl::Time now, Session* session);
  // Ends the session (the client destroyed it); returns its client id, or "" if unknown. The
  // client itself is dropped once it is no longer held.
  std::string Destroy(uint64_t session_id, absl::Time now);
  // A client found in the reply log after a restart or takeover: its lease starts now.
  void Restore(absl::string_view client_id, absl::Time now);

  // Holding a client (a connection bound to it, a request running) keeps it from expiring;
  // Release renews its lease. Hold on an unknown client adds it (its session may have been
  // replaced meanwhile).
  void Hold(absl::string_view client_id);
  void Release(absl::string_view client_id, absl::Time now);

  // Drops the clients whose lease ran out; returns their ids.
  std::vector<std::string> Expire(absl::Time now);

  size_t clients() const;
  size_t sessions() const;
  uint64_t expired() const;
  absl::Duration lease() const { return lease_; }

 private:
  struct Client {
    uint64_t session_id = 0;  // 0: none
    uint32_t slots = 0;
    int holds = 0;
    absl::Time last_active;
  };

  bool Issued(uint64_t session_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration lease_;
  const size_t max_clients_;
  const uint32_t tag_;

  mutable absl::Mutex mu_;
  uint32_t next_counter_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<std::string, Client> clients_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::string> sessions_ ABSL_GUARDED_BY(mu_);
  uint64_t expired_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_SESSION_TABLE_H_
