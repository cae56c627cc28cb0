// Copyright 2026 The vifiler Authors.
//
// Interconnect: the link between the two filers of a pair, made of two one-way channels.
//
// Incoming: Start() listens on options.local. Each accepted connection must present purpose
// transport::kPurposeInterconnect (else it is closed at once) and gets its own reader thread,
// which decodes messages and hands each to on_message. A connection is closed when a message
// is malformed, when its sender is not options.partner_name, when it stays silent for
// IdleTimeout(), or when the partner's next connection delivers its first message (the newer
// connection wins). At most kMaxInboundConnections are kept; the oldest goes beyond that.
//
// Outgoing: a dial thread resolves options.partner_name through the NameResolver on every
// attempt, connects to it at options.partner_discriminator (deadline ConnectTimeout()), and
// redials with exponential backoff (kMinDialBackoff .. min(kMaxDialBackoff, 2 heartbeat
// intervals)) whenever the link drops.
// A heartbeat thread sends heartbeat() every heartbeat_interval while connected (and once
// right after each connect), each send with a deadline of one interval; a send that fails
// drops the connection, so a dead or wedged partner never blocks the heartbeat thread for
// longer than one interval.
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
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/interconnect_message.h"
#include "transport/connection.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

namespace vifiler {
namespace cluster {

inline constexpr uint16_t kDefaultInterconnectDiscriminator = 7302;
inline constexpr absl::Duration kMinDialBackoff = absl::Milliseconds(20);
inline constexpr absl::Duration kMaxDialBackoff = absl::Seconds(1);
inline constexpr size_t kMaxInboundConnections = 8;

struct InterconnectOptions {
  // This filer's name: the sender of every message it sends.
  std::string name;
  // This filer's address and interconnect discriminator, where the partner connects.
  transport::Endpoint local = {"", kDefaultInterconnectDiscriminator};
  // The partner's name, resolved on every dial attempt; also the only accepted sender.
  std::string partner_name;
  uint16_t partner_discriminator = kDefaultInterconnectDiscriminator;
  absl::Duration heartbeat_interval = absl::Milliseconds(100);
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
    bool finished = false;
  };

  void AcceptLoop();
  void DialLoop();
  void HeartbeatLoop();
  void ReadLoop(Inbound* inbound);

  // Admits an accepted connection (starts its reader) unless stopping or cut.
  void AdmitInbound(std::shared_ptr<transport::Connection> connection);
  // Joins the readers that finished (all readers when all is set).
  void ReapInbound(bool all);
  // Waits for the outgoing connection to drop; returns why (OK when stopping). With announce,
  // logs the connection once it has been up for a while.
  absl::Status WaitWhileConnected(const std::shared_ptr<transport::Connection>& connection,
                                  bool announce);
  // Sleeps up to timeout; returns early when stopping or when the cut state changes.
  void Pause(absl::Duration timeout);
  absl::Status SendOn(const std::shared_ptr<transport::Connection>& connection,
                      InterconnectMessage m, absl::Time deadline);
  void DropOutgoing(const std::shared_ptr<transport::Connection>& connection,
                    const absl::Status& why);

  transport::Fabric* const fabric_;
  transport::NameResolver* const resolver_;
  const InterconnectOptions options_;
  const std::function<InterconnectMessage()> heartbeat_;
  const Handler on_message_;
  const uint64_t incarnation_;
  std::atomic<uint64_t> next_sequence_{1};

  absl::Mutex stop_mu_;  // serialises Start and Stop

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool cut_ ABSL_GUARDED_BY(mu_) = false;
  bool send_now_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<transport::Connection> outgoing_ ABSL_GUARDED_BY(mu_);
  absl::Status drop_reason_ ABSL_GUARDED_BY(mu_);  // why outgoing_ was last dropped
  std::vector<std::unique_ptr<Inbound>> inbound_ ABSL_GUARDED_BY(mu_);
  // Monotonic time of the last valid message from the partner; InfinitePast if never.
  absl::Duration last_heard_ ABSL_GUARDED_BY(mu_) = -absl::InfiniteDuration();
  transport::Endpoint local_endpoint_ ABSL_GUARDED_BY(mu_);

  // Set by Start() before the threads start, closed by Stop(); Listener is thread-safe.
  std::unique_ptr<transport::Listener> listener_;
  std::thread accept_thread_;
  std::thread dial_thread_;
  std::thread heartbeat_thread_;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_INTERCONNECT_H_
