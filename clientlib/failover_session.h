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
//  - Reconnecting is single-flight: one caller reconnects, the others wait for it. It tries
//    the home filer's primary port and the failover name's secondary port concurrently, one
//    attempt thread per target, each target retried with its own backoff: a dead host that
//    never answers holds up only its own attempt. The first session made wins; a partner
//    session waits a moment (kPrimaryGrace) for a pending primary attempt, and a primary that
//    succeeds within it is preferred. Losing sessions are closed. A target never has two
//    attempts at once; an attempt still running when a reconnect ends is left to finish on its
//    own (a session it makes is closed at once) and is joined by the next reconnect, which
//    waits for its result instead of starting another attempt to that target, or by the
//    destructor. Threads are never detached.
//  - Keepalive (ClientOptions::keepalive_interval/timeout): while requests are outstanding,
//    the caller receiving for everyone wakes at least every keepalive_interval, probes the
//    filer (kNull on slot kProbeSlot) after keepalive_interval of silence and declares the link
//    lost (reconnect, replay) after keepalive_timeout of silence. An idle session sends
//    nothing.
//  - root() is the root handle of the first session, for the session's lifetime; a later
//    session reporting another root is logged and counted (ClientStats::root_mismatches), and
//    the first root kept.
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
#include <thread>
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
  // The slot keepalive probes carry; never a real slot (those are below protocol::kMaxSlots).
  static constexpr uint32_t kProbeSlot = 0xFFFFFFFF;
  // How long a partner session that is ready waits for a pending primary attempt.
  static constexpr absl::Duration kPrimaryGrace = absl::Milliseconds(20);

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
  // One connection attempt to one target, on its own thread. done, result and error are
  // written once by the thread, under attempts_mu_. An attempt still running when a reconnect
  // ends is orphaned: should it make a session, the thread closes it at once.
  struct Attempt {
    Target target;
    std::thread thread;
    bool orphaned = false;
    bool done = false;
    absl::StatusOr<std::shared_ptr<Link>> result;
    std::string error;
  };

  FailoverSession(ClientOptions options, std::string filer_name,
                  std::unique_ptr<transport::Fabric> fabric);

  // Returns the link to use; reconnects (or waits for the reconnect in progress) when the
  // current one is absent or has failed.
  absl::StatusOr<std::shared_ptr<Link>> CurrentLink(absl::Time deadline);
  absl::StatusOr<std::shared_ptr<Link>> Reconnect(absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The targets a reconnect tries, the primary first.
  std::vector<Target> Targets() const;
  // Runs on an attempt's thread.
  void RunAttempt(Attempt* attempt, absl::Time deadline);
  absl::StatusOr<std::shared_ptr<Link>> ConnectTo(const Target& target, absl::Time deadline,
                                                  std::string* error);
  // Sends a keepalive probe on link; false when it could not be sent.
  bool SendProbe(Link* link, uint64_t sequence);
  // Waits for the reply on slot index: the first waiting caller receives on the link for
  // everyone (no receiving thread, no extra hand-off on the data path), hands each reply to
  // its slot and runs the keepalive (probes; marks the link failed after keepalive_timeout of
  // silence). Returns the reply, or "" on failure or timeout.
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
  // Learned from the first session, kept for the session's lifetime.
  protocol::FileHandle root_ ABSL_GUARDED_BY(mu_);
  // The last session's.
  uint32_t inline_threshold_ ABSL_GUARDED_BY(mu_) = 0;

  // Connection attempts, one slot per target (null: none running or unharvested). Only the
  // reconnecting caller (single-flight) and the destructor start, harvest and join them.
  absl::Mutex attempts_mu_;
  std::vector<std::unique_ptr<Attempt>> attempts_ ABSL_GUARDED_BY(attempts_mu_);
};

}  // namespace client
}  // namespace vifiler

#endif  // VIFILER_CLIENTLIB_FAILOVER_SESSION_H_
