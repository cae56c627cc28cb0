// Copyright 2026 The vifiler Authors.
//
// Interconnect: the link between the two filers of a pair, made of two one-way channels.
//
// Authentication: with options.key (the pair key, cluster/pair_key.h) every connection opens
// with the mutual challenge-response of cluster/interconnect_auth.h (deadline ConnectTimeout()
// on each side) and carries every message as a frame with a MAC and an in-order counter; a
// connection that fails any of it is closed, and nothing it sent is delivered. Without a key
// (a trusted private link: vifilerd --interconnect_trusted) messages travel bare and anyone
// who reaches the listener and names itself the partner is believed.
//
// Incoming: Start() listens on options.local. Each accepted connection must present purpose
// transport::kPurposeInterconnect (else it is closed at once) and gets its own reader thread,
// which authenticates it (with a key), then decodes messages and hands each to on_message. A
// connection is closed when it fails authentication, when a message is malformed or its frame
// does not verify, when its sender is not options.partner_name, when it stays silent for
// IdleTimeout(), or when a newer connection of the partner proves itself: completes the
// handshake (with a key) or delivers its first message (without). Only a proven connection
// closes older ones, so a stranger never displaces the partner's link. At most
// kMaxInboundConnections are kept; beyond that the oldest unproven one goes (the oldest proven
// one only when every connection is proven). Refused connections are logged as WARNINGs at
// most once per kRefusalLogInterval, with a count of those not logged.
//
// Outgoing: a dial thread resolves options.partner_name through the NameResolver on every
// attempt, connects to it at options.partner_discriminator (deadline ConnectTimeout()),
// authenticates (with a key; the partner proves itself first), and redials with exponential
// backoff (kMinDialBackoff .. min(kMaxDialBackoff, 2 heartbeat intervals)) whenever the link
// drops. A partner that fails authentication is logged as a WARNING (once per streak).
// A heartbeat thread sends heartbeat() every heartbeat_interval while connected (and once
// right after each connect), each send with a deadline of one interval; a send that fails
// drops the connection, so a dead or wedged partner never blocks the heartbeat thread for
// longer than one interval. Senders on the outgoing connection take turns (frames must leave
// in counter order), waiting for their turn no longer than their own deadline; no lock is held
// across network I/O.
//
// Every outgoing message (heartbeats and Send) is stamped: sender = options.name, sequence =
// the next number of this Interconnect (1, 2, ...), incarnation = incarnation() unless the
// message already carries a non-zero one.
//
// Callbacks (heartbeat, on_message) run on internal threads, never under an internal lock;
// they must not call Stop() or destroy the Interconnect. on_message is called concurrently
// only when two partner connections overlap for a moment (partner restart).
//
// Thread-safe. Start() once; Stop() is idempotent and bounded (about ConnectTimeout()).

#ifndef VIFILER_CLUSTER_INTERCONNECT_H_
#define VIFILER_CLUSTER_INTERCONNECT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/interconnect_auth.h"
#include "cluster/interconnect_message.h"
#include "cluster/pair_key.h"
#include "transport/connection.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

namespace vifiler {
namespace cluster {

inline constexpr uint16_t kDefaultInterconnectDiscriminator = 7302;
inline constexpr absl::Duration kMinDialBackoff = absl::Milliseconds(20);
inline constexpr absl::Duration kMaxDialBackoff = absl::Seconds(1);
inline constexpr size_t kMaxInboundConnections = 8;
inline constexpr absl::Duration kRefusalLogInterval = absl::Seconds(10);

struct InterconnectOptions {
  // This filer's name: the sender of every message it sends.
  std::string name;
  // This filer's address and interconnect discriminator, where the partner connects.
  transport::Endpoint local = {"", kDefaultInterconnectDiscriminator};
  // The partner's name, resolved on every dial attempt; also the only accepted sender.
  std::string partner_name;
  uint16_t partner_discriminator = kDefaultInterconnectDiscriminator;
  absl::Duration heartbeat_interval = absl::Milliseconds(100);
  // The pair key both filers hold: every connection is authenticated with it. Null: none (a
  // trusted private link).
  std::shared_ptr<const PairKey> key;
};

class Interconnect {
 public:
  using Handler = std::function<void(const InterconnectMessage&)>;

  // fabric and resolver must outlive the Interconnect. heartbeat is called each interval (on
  // the heartbeat thread, only while connected) to build the heartbeat to send.
  Interconnect(transport::Fabric* fabric, transport::NameResolver* resolver,
               InterconnectOptions options, std::function<InterconnectMessage()> heartbeat,
               Handler on_message);
  Interconnect(const Interconnect&) = delete;
  Interconnect& operator=(const Interconnect&) = delete;
  ~Interconnect();  // Stop()

  // Listens on options.local (the listener's error when it cannot; InvalidArgumentError for
  // bad options; FailedPreconditionError when called twice), then starts the accept, dial and
  // heartbeat threads.
  absl::Status Start();
  // Closes the listener and every connection and joins all threads. Bounded.
  void Stop();

  // Sends m now on the outgoing connection (e.g. FAILING before stopping), stamped as above.
  // UnavailableError if not connected (or cut); a failed send drops the connection.
  absl::Status Send(const InterconnectMessage& m, absl::Time deadline);

  // Since the last valid message received from the partner (on this host's monotonic clock);
  // InfiniteDuration if never.
  absl::Duration SinceLastHeard() const;
  // The outgoing connection is up.
  bool connected() const;
  // How many times the outgoing connection came up (authenticated, with a key).
  uint64_t connections_made() const { return connections_made_.load(); }

  // The partner said it is stopping (HALTING, or a FAILING the administrator asked for): the
  // next loss of the outgoing connection and the failed redials after it are expected, and
  // logged at INFO instead of WARNING, until the link is up again.
  void ExpectPartnerLeaving();

  // Logging of the outgoing link: before it was ever up (the partner not started yet), failing
  // to reach the partner is INFO, once per streak; after it was up, losing it and failing to
  // reach the partner are WARNINGs (once per streak), unless ExpectPartnerLeaving() was called.

  // Test hook: while cut, the interconnect behaves as a broken link: the outgoing connection
  // is closed and not redialed, nothing is sent, incoming connections are closed at once and
  // nothing received is delivered.
  void SetCut(bool cut);
  bool cut() const;

  // Random, chosen at construction.
  uint64_t incarnation() const { return incarnation_; }
  const InterconnectOptions& options() const { return options_; }
  // Where the listener listens (its discriminator, if options.local asked for 0); only valid
  // after a successful Start().
  transport::Endpoint local_endpoint() const;

  absl::Duration ConnectTimeout() const;
  absl::Duration IdleTimeout() const;

 private:
  struct Inbound {
    std::shared_ptr<transport::Connection> connection;
    std::thread thread;
    // Guarded by mu_. proven: authenticated (with a key) or has delivered a message from the
    // partner (without).
    bool finished = false;
    bool proven = false;
  };
  // The outgoing connection with the sealer of its frames (null without a key). Only the
  // sender whose turn it is (sending, guarded by mu_) uses the sealer and sends.
  struct Outgoing {
    std::shared_ptr<transport::Connection> connection;
    std::unique_ptr<FrameSealer> sealer;
    bool sending = false;
  };

  void AcceptLoop();
  void DialLoop();
  void HeartbeatLoop();
  void ReadLoop(Inbound* inbound);

  // Admits an accepted connection (starts its reader) unless stopping or cut.
  void AdmitInbound(std::shared_ptr<transport::Connection> connection);
  // Joins the readers that finished (all readers when all is set).
  void ReapInbound(bool all);
  // The handshakes of interconnect_auth.h on a fresh connection, each bounded by
  // ConnectTimeout(); the error says which step failed.
  absl::StatusOr<std::unique_ptr<FrameOpener>> AuthenticateInbound(
      transport::Connection* connection);
  absl::StatusOr<std::unique_ptr<FrameSealer>> AuthenticateOutgoing(
      transport::Connection* connection);
  // Marks inbound proven and returns the connections admitted before it that are still open
  // (to be closed: the partner's newest proven connection wins). Empty when stopping or cut.
  std::vector<std::shared_ptr<transport::Connection>> Prove(Inbound* inbound);
  // Logs a refused incoming connection, rate-limited (kRefusalLogInterval).
  void LogRefused(const std::string& peer, absl::string_view why, bool warning = true);
  // Waits for the outgoing connection to drop; returns why (OK when stopping). With announce,
  // logs the connection once it has been up for a while.
  absl::Status WaitWhileConnected(const std::shared_ptr<Outgoing>& link, bool announce);
  // Sleeps up to timeout; returns early when stopping or when the cut state changes.
  void Pause(absl::Duration timeout);
  absl::Status SendOn(const std::shared_ptr<Outgoing>& link, InterconnectMessage m,
                      absl::Time deadline);
  void DropOutgoing(const std::shared_ptr<Outgoing>& link, const absl::Status& why);

  transport::Fabric* const fabric_;
  transport::NameResolver* const resolver_;
  const InterconnectOptions options_;
  const std::function<InterconnectMessage()> heartbeat_;
  const Handler on_message_;
  const uint64_t incarnation_;
  std::atomic<uint64_t> next_sequence_{1};
  std::atomic<bool> partner_leaving_{false};
  std::atomic<uint64_t> connections_made_{0};

  absl::Mutex stop_mu_;  // serialises Start and Stop

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool cut_ ABSL_GUARDED_BY(mu_) = false;
  bool send_now_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<Outgoing> outgoing_ ABSL_GUARDED_BY(mu_);
  absl::Status drop_reason_ ABSL_GUARDED_BY(mu_);  // why outgoing_ was last dropped
  std::vector<std::unique_ptr<Inbound>> inbound_ ABSL_GUARDED_BY(mu_);
  // Monotonic time of the last valid message from the partner; InfinitePast if never.
  absl::Duration last_heard_ ABSL_GUARDED_BY(mu_) = -absl::InfiniteDuration();
  transport::Endpoint local_endpoint_ ABSL_GUARDED_BY(mu_);
  // Rate limit of LogRefused: monotonic time of the last report, refusals since not logged.
  absl::Duration last_refusal_log_ ABSL_GUARDED_BY(mu_) = -absl::InfiniteDuration();
  int64_t unlogged_refusals_ ABSL_GUARDED_BY(mu_) = 0;

  // Set by Start() before the threads start, closed by Stop(); Listener is thread-safe.
  std::unique_ptr<transport::Listener> listener_;
  std::thread accept_thread_;
  std::thread dial_thread_;
  std::thread heartbeat_thread_;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_INTERCONNECT_H_
