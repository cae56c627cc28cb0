// Copyright 2026 The vifiler Authors.
//
// Limits: how much client state one volume service and its data access port keep, so that a
// filer serving thousands of short- or long-lived clients holds bounded state. vifilerd sets
// them from flags (README: "Limits"); `vifilerctl status` reports them.

#ifndef VIFILER_FILER_SERVICE_LIMITS_H_
#define VIFILER_FILER_SERVICE_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {

struct Limits {
  // Client connections one data access port serves at once; a connection beyond is closed
  // as soon as it is accepted (the client retries).
  size_t max_connections = 1024;
  // Client identities (each with at most one session) a volume service keeps at once; a new
  // one beyond is refused with kBusy until a lease expires.
  size_t max_sessions = 4096;
  // Requests one session may have in flight: the slots a session is granted (1..kMaxSlots).
  uint32_t max_inflight_per_session = protocol::kMaxSlots;
  // A client's session and reply-cache state are dropped once it has had no connection and
  // no request for this long (filer/session_table.h).
  absl::Duration session_lease = absl::Minutes(10);
  // A data connection on which nothing arrived and no request ran for this long is closed
  // (ZeroDuration: never). TCP keepalive reaps vanished hosts independently of it.
  absl::Duration idle_timeout = absl::Minutes(5);
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_SERVICE_LIMITS_H_
