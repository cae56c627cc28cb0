// Copyright 2026 The vifiler Authors.
//
// FailoverSession: the client's session with a filer pair. Owns the connection and the slot
// table, and moves the session between the home filer's primary port and
// the partner's secondary port when the one in use fails.
//
// Contract:
//  - Call() sends one request on a free slot with the slot's next sequence number and waits
//    for its reply. If the connection fails, the reply does not come within request_timeout,
//    or the filer answers kNotOwner / kBadSession, Call() waits for a new connection and
//    resends the same request (same slot and sequence, kFlagReplay set): the filer's reply
//    cache makes that exactly-once. Only when no filer could be reached for
//    failover_deadline does Call() fail, with UnavailableError naming every endpoint tried.
//  - Reconnecting is single-flight: one caller reconnects, the others wait for it.
//  - Direct transfers: the caller's buffer is registered with each connection a request is
//    sent on, and the body is rebuilt with that registration.
// Thread-safe.

#ifndef VIFILER_CLIENTLIB_FAILOVER_SESSION_H_
#define VIFILER_CLIENTLIB_FAILOVER_SESSION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "clientlib/client.h"
#include "protocol/messages.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

namespace vifiler {
namespace client {

class FailoverSession {
 public:
  // Builds a request body; buffer is the registered direct-transfer buffer, or null.
  using BodyBuilder = std::function<std::string(const protocol::RemoteBuffer* buffer)>;

  static absl::StatusOr<std::unique_ptr<FailoverSession>> Open(const std::string& filer_name,
                                                               ClientOptions options);
  ~FailoverSession();
  FailoverSession(const FailoverSession&) = delete;
  FailoverSession& operator=(const FailoverSession&) = delete;

  // Sends a request and returns the reply message (header + body) when its status is kOk; a
  // filer error becomes a status carrying the ErrorCode (see ErrorCodeOf). direct, when not
  // null, is [direct, direct + direct_length), registered for the filer's one-sided access.
  absl::StatusOr<std::string> Call(protocol::Opcode op, const BodyBuilder& body, char* direct,
                                   size_t direct_length);

  uint32_t inline_threshold() const;
  protocol::FileHandle root() const;
  ClientStats stats() const;
  const std::string& client_id() const { return options_.client_id; }

 private:
  // One connection to one filer port, with its receiving thread.
  struct Link;
  struct Slot {
    bool busy = false;
    uint64_t sequence = 0;
    bool has_reply = false;
    std::string reply;
  };
  struct Target {
    std::string name;  // name resolved for this attempt
    uint16_t discriminator;
    bool partner;
  };

  FailoverSession(ClientOptions options, std::string filer_name,
                  std::unique_ptr<transport::Fabric> fabric);

  // Returns the link to use; reconnects (or waits for the reconnect in progress) when the
  // current one is absent or has failed.
  absl::StatusOr<std::shared_ptr<Link>> CurrentLink(absl::Time deadline);
  absl::StatusOr<std::shared_ptr<Link>> Reconnect(absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::shared_ptr<Link>> ConnectTo(const Target& target, std::string* error);
  // Waits for the reply on slot index: the first waiting caller receives on the link for
  // everyone (no receiving thread, no extra hand-off on the data path) and hands each reply to
  // its slot. Returns the reply, or "" on failure or timeout.
  std::string AwaitReply(Link* link, uint32_t index, absl::Time deadline);
  void Deliver(Link* link, std::string message, std::vector<std::string>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Fail(Link* link, const std::string& reason);
  void Event(const std::string& text);

  const ClientOptions options_;
  const std::string filer_name_;
  const std::unique_ptr<transport::Fabric> fabric_;
  transport::NameResolver resolver_;

  mutable absl::Mutex mu_;
  std::shared_ptr<Link> link_ ABSL_GUARDED_BY(mu_);
  bool reconnecting_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  ClientStats stats_ ABSL_GUARDED_BY(mu_);
  bool ever_connected_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace client
}  // namespace vifiler

#endif  // VIFILER_CLIENTLIB_FAILOVER_SESSION_H_
