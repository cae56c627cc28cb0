// Copyright 2026 The vifiler Authors.
//
// TcpListener: the Listener contract (fabric.h) on one TCP endpoint (SO_REUSEADDR; port 0
// picks a free port, which endpoint() then reports).
//
// Accept multiplexes the listening socket and every peer still in its handshake with poll, and
// gives each peer kHandshakeTimeout to send its hello, so a slow or junk peer never holds up
// the others. A peer whose hello is malformed (bad magic, unsupported version, bad parameters)
// gets a reject reply with the reason and is closed; a well-formed one gets an accept reply
// with the negotiated parameters and becomes the returned connection. At most
// kMaxHandshakes peers wait in their handshake; the oldest is dropped beyond that.
//
// One Accept runs the loop at a time; concurrent callers wait their turn until their deadline.
// Close() wakes pending Accept calls (CancelledError) and closes the socket before it returns,
// so later connection attempts are refused. Thread-safe.

#ifndef VIFILER_TRANSPORT_TCP_TCP_LISTENER_H_
#define VIFILER_TRANSPORT_TCP_TCP_LISTENER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "transport/accept_backoff.h"
#include "transport/fabric.h"
#include "transport/tcp/socket_io.h"
#include "transport/tcp/tcp_wire.h"

namespace vifiler {
namespace transport {
namespace tcp {

inline constexpr absl::Duration kHandshakeTimeout = absl::Seconds(5);
inline constexpr size_t kMaxHandshakes = 128;
// Descriptors an accept must leave free for the rest of the process (files of the volume, the
// reply log): a connection whose descriptor is within this many of RLIMIT_NOFILE is closed at
// once and accepting pauses as after EMFILE. (Descriptors are allocated lowest first, so a
// socket numbered that high means nearly all below it are taken.)
inline constexpr int kReservedDescriptors = 16;

class TcpListener : public Listener {
 public:
  // UnavailableError when the endpoint cannot be bound (in use, not a local address),
  // InvalidArgumentError for an address that is not numeric.
  static absl::StatusOr<std::unique_ptr<TcpListener>> Create(const Endpoint& endpoint,
                                                             const LinkParams& params);
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener() override;

  absl::StatusOr<std::unique_ptr<Connection>> Accept(absl::Time deadline) override;
  void Close() override;
  const Endpoint& endpoint() const override { return endpoint_; }

 private:
  // A peer in its handshake.
  struct Handshake {
    ScopedFd fd;
    std::string address;
    std::string hello;
    absl::Time deadline;
  };
  enum class Progress { kWaiting, kDropped, kAccepted };

  TcpListener(ScopedFd fd, ScopedFd wake_fd, Endpoint endpoint, const LinkParams& params);

  // The loop of one Accept call; runs while accepting_ is held.
  absl::StatusOr<std::unique_ptr<Connection>> AcceptLoop(absl::Time deadline);
  void TakeNewPeers();
  // Reads from one peer; on a complete hello answers it and, when accepted, fills *connection.
  Progress Advance(Handshake* peer, std::unique_ptr<Connection>* connection);
  bool IsClosed() const;

  ScopedFd fd_;             // reset by Close() once no Accept runs
  const ScopedFd wake_fd_;  // eventfd, readable once Close() was called
  const Endpoint endpoint_;
  const LinkParams params_;

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool accepting_ ABSL_GUARDED_BY(mu_) = false;
  // Used only by the thread holding accepting_, or by Close() once nobody holds it.
  std::vector<Handshake> handshakes_;
  // accept(2) ran out of descriptors or memory: the listening socket is not polled until then.
  absl::Time accept_paused_until_ = absl::InfinitePast();
  AcceptBackoff backoff_;
};

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_TCP_TCP_LISTENER_H_
