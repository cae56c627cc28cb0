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
//  - Every call (and Open) ends by its deadline (ClientOptions::call_timeout, CallDeadline; see
//    the Client contract), with DeadlineExceededError; a reply it no longer waits for is
//    dropped when it comes, and the link is not failed for it. A call that runs out of
//    failover_deadline gets UnavailableError.
//  - Hopeless reconnects fail at once: when every target's first attempt in a reconnect fails
//    in a way no retry can fix (its name does not resolve: no hosts file, name absent from it,
//    no such name in DNS; or this host cannot use the fabric: no RDMA stack or device, a bad
//    endpoint), Open() and Call() fail without waiting for failover_deadline, with that status
//    (NotFound, FailedPrecondition, InvalidArgument) naming each target and its reason. When
//    one of the first attempts fails transiently (refused, reset, timed out, session refused),
//    the reconnect retries every target until the deadline, permanent failures included (the
//    hosts file is re-read on each attempt), and logs once, as a warning, that it is retrying
//    and for how long, if it is still retrying after kRetryNoticeAfter (or half the time to the
//    deadline); a new session that then connects reports it as an event. A target refused for
//    the memlock limit (FailedPrecondition) while another attempt of this reconnect held its
//    own registration is tried once more alone before that refusal counts as permanent.
//  - A filer that makes sessions and then refuses them (answers kNotOwner / kBadSession, or
//    drops the connection, before answering any request on it) is not reconnected to in a
//    tight loop: from the second consecutive session that served nothing, each reconnect
//    waits a backoff first (kFirstBackoff doubling to kMaxBackoff), reports no event, and the
//    client logs once, as a warning, that the filer refuses its sessions; a session that then
//    serves a request ends that, reported as an event. The call still gives up
//    failover_deadline after its first trouble, its status naming the filer, the endpoint
//    and what it did (e.g. "refused the request: NOT_OWNER").
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
//  - The witness: the partner's secondary port exists only while the partner holds this
//    filer's volume (it fenced this filer first). So while a link to the home filer's primary
//    port has been silent for kWitnessAfterProbes keepalive intervals with requests
//    outstanding, one thread at a time tries to connect to the failover name's secondary
//    port (every kWitnessRetry); once it accepts, the link is failed at once (reconnect,
//    replay on the partner) instead of at keepalive_timeout: a client of a host that lost
//    power resumes as soon as the takeover is done. A refused or unanswered witness
//    connection changes nothing. Counted in ClientStats::witness_failovers.
//  - root() is the root handle of the first session, for the session's lifetime; a later
//    session reporting another root is logged and counted (ClientStats::root_mismatches), and
//    the first root kept.
//  - Direct transfers: the caller's buffer is registered with each connection a request is
//    sent on, with only the rights the filer's access needs (a write's source: remote read;
//    a read's sink: local and remote write), and the body is rebuilt with that registration.
//    A registration that fails is a local matter, never a link failure: the bytes go through
//    a bounce buffer registered instead (counted in ClientStats::bounced_transfers); if that
//    fails too, Call() fails at once with the registration's status (ResourceExhausted for
//    the memlock limit, naming it) and, when the request was not sent anywhere yet, sets
//    Direct::unregistrable so the caller may move the bytes inline instead. A bounced read
//    whose buffer turns out not to be writable fails with InvalidArgument, never a fault.
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
#include "transport/page_buffer.h"

namespace vifiler {
namespace client {

class FailoverSession {
 public:
  // The slot keepalive probes carry; never a real slot (those are below protocol::kMaxSlots).
  static constexpr uint32_t kProbeSlot = 0xFFFFFFFF;
  // Backoff between connection attempts to one target, and between reconnects replacing
  // sessions that served nothing (see the contract above).
  static constexpr absl::Duration kFirstBackoff = absl::Milliseconds(5);
  static constexpr absl::Duration kMaxBackoff = absl::Milliseconds(100);
  // How long a partner session that is ready waits for a pending primary attempt.
  static constexpr absl::Duration kPrimaryGrace = absl::Milliseconds(20);
  // The "retrying" notice comes only once a reconnect has failed this long (or half its time to
  // the deadline, if shorter): an ordinary takeover is over sooner and says nothing.
  static constexpr absl::Duration kRetryNoticeAfter = absl::Seconds(2);
  // The witness starts after this many keepalive intervals of silence, and tries again after
  // kWitnessRetry while the silence lasts.
  static constexpr int kWitnessAfterProbes = 2;
  static constexpr absl::Duration kWitnessRetry = absl::Milliseconds(20);

  // Builds a request body; buffer is the registered direct-transfer buffer, or null.
  using BodyBuilder = std::function<std::string(const protocol::RemoteBuffer* buffer)>;
  // A direct transfer's buffer [data, data + length), which the filer writes (a read's sink)
  // or only reads (a write's source: it may be read-only memory).
  struct Direct {
    char* data = nullptr;
    size_t length = 0;
    bool filer_writes = false;
    // Out: Call() failed because no memory could be registered for the transfer, before the
    // request was sent on any connection (see the contract).
    bool unregistrable = false;
  };

  static absl::StatusOr<std::unique_ptr<FailoverSession>> Open(const std::string& filer_name,
                                                               ClientOptions options);
  ~FailoverSession();
  FailoverSession(const FailoverSession&) = delete;
  FailoverSession& operator=(const FailoverSession&) = delete;

  // Sends a request and returns the reply message (header + body) when its status is kOk; a
  // filer error becomes a status carrying the ErrorCode (see ErrorCodeOf). direct, when not
  // null, is registered for the filer's one-sided access.
  absl::StatusOr<std::string> Call(protocol::Opcode op, const BodyBuilder& body,
                                   Direct* direct = nullptr);

  uint32_t inline_threshold() const;
  // Counts a direct transfer the caller moved inline because it was unregistrable.
  void NoteInlineFallback();
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
    bool permanent = false;  // see ConnectTo
    // Another attempt of this process ran at some time during this one. A limit the
    // attempts share (the memlock limit) may then have refused this one for the other's sake.
    bool overlapped = false;
  };

  FailoverSession(ClientOptions options, std::string filer_name,
                  std::unique_ptr<transport::Fabric> fabric);

  // The deadline of a call starting now: ClientOptions::call_timeout and CallDeadline.
  absl::Time CallDeadlineFromNow() const;
  // The status of a call that ended at its deadline while doing `what`; PastDeadline also
  // counts it in stats_ (and takes mu_).
  absl::Status PastDeadlineStatus(absl::string_view what) const;
  absl::Status PastDeadline(absl::string_view what) ABSL_LOCKS_EXCLUDED(mu_);
  // Returns the link to use; reconnects (or waits for the reconnect in progress) when the
  // current one is absent or has failed.
  absl::StatusOr<std::shared_ptr<Link>> CurrentLink(absl::Time deadline);
  absl::StatusOr<std::shared_ptr<Link>> Reconnect(absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The targets a reconnect tries, the primary first.
  std::vector<Target> Targets() const;
  // Runs on an attempt's thread.
  void RunAttempt(Attempt* attempt, absl::Time deadline);
  // Opens a session on target. On failure *error names the target and the reason, and
  // *permanent says whether retrying cannot help: the name does not resolve (NotFound from the
  // resolver: no such name, no hosts file) or the fabric cannot connect from this host at all
  // (InvalidArgument, FailedPrecondition). Refused, reset, timed out and anything after the
  // connection opened are transient.
  absl::StatusOr<std::shared_ptr<Link>> ConnectTo(const Target& target, absl::Time deadline,
                                                  std::string* error, bool* permanent);
  // Registers direct's buffer with connection for the filer's access; when that fails (or
  // failed on an earlier connection: *bounce is set), a bounce buffer holding a copy of it.
  absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> RegisterDirect(
      transport::Connection* connection, const Direct* direct, transport::PageBuffer* bounce);
  // Sends a keepalive probe on link; false when it could not be sent.
  bool SendProbe(Link* link, uint64_t sequence);
  // Waits for the reply on slot index: the first waiting caller receives on the link for
  // everyone (no receiving thread, no extra hand-off on the data path), hands each reply to
  // its slot and runs the keepalive (probes; marks the link failed after keepalive_timeout of
  // silence). Returns the reply, or "" on failure or timeout.
  std::string AwaitReply(const std::shared_ptr<Link>& link, uint32_t index, absl::Time deadline);
  // Starts the witness for link unless one runs (see the contract above).
  void MaybeStartWitness(const std::shared_ptr<Link>& link) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The witness thread's body: returns when link fails, hears again, goes idle, or the
  // session is being destroyed.
  void RunWitness(std::shared_ptr<Link> link);
  void Deliver(Link* link, std::string message, std::vector<std::string>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks link failed and closes it; reason (the first one given) is what the filer or the
  // connection did, e.g. "refused the request: NOT_OWNER".
  void Fail(Link* link, const std::string& reason);
  // Records that link answered a request (anything but a refusal): ends a run of refused
  // sessions.
  void Served(Link* link);
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
  // Consecutive reconnects that replaced a session which served no request; since when, and
  // whether the warning about it was logged. Reset when a session serves a request.
  int unserved_streak_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time unserved_since_ ABSL_GUARDED_BY(mu_);
  bool unserved_announced_ ABSL_GUARDED_BY(mu_) = false;
  // Learned from the first session, kept for the session's lifetime.
  protocol::FileHandle root_ ABSL_GUARDED_BY(mu_);
  // The last session's.
  uint32_t inline_threshold_ ABSL_GUARDED_BY(mu_) = 0;
  // The witness thread (joinable until joined by the next start or the destructor).
  std::thread witness_ ABSL_GUARDED_BY(mu_);
  bool witness_running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Connection attempts, one slot per target (null: none running or unharvested). Only the
  // reconnecting caller (single-flight) and the destructor start, harvest and join them.
  absl::Mutex attempts_mu_;
  std::vector<std::unique_ptr<Attempt>> attempts_ ABSL_GUARDED_BY(attempts_mu_);
};

}  // namespace client
}  // namespace vifiler

#endif  // VIFILER_CLIENTLIB_FAILOVER_SESSION_H_
