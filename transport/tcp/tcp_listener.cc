// Copyright 2026 The vifiler Authors.

#include "transport/tcp/tcp_listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "transport/handshake.h"
#include "transport/log.h"
#include "transport/tcp/tcp_connection.h"

namespace vifiler {
namespace transport {
namespace tcp {
namespace {

// How long Close() waits for a running Accept to notice.
constexpr absl::Duration kCloseWait = absl::Seconds(10);
// Connections taken from the backlog per poll round.
constexpr int kAcceptBurst = 64;

int PollTimeoutMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  if (left > absl::Hours(1)) return 3600 * 1000;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
}

// Best effort: the reply of a handshake fits in an empty socket buffer.
bool SendReply(int fd, const std::string& reply) {
  ssize_t n;
  do {
    n = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(reply.size());
}

// True when descriptor fd leaves fewer than kReservedDescriptors free below the soft limit.
bool NearDescriptorLimit(int fd) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return false;
  return static_cast<rlim_t>(fd) + kReservedDescriptors >= limit.rlim_cur;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpListener>> TcpListener::Create(const Endpoint& endpoint,
                                                                 const LinkParams& params) {
  absl::StatusOr<SocketAddress> address = ParseAddress(endpoint.address, endpoint.discriminator);
  if (!address.ok()) return address.status();
  absl::StatusOr<ScopedFd> fd = NewTcpSocket(*address);
  if (!fd.ok()) return fd.status();
  int one = 1;
  if (setsockopt(fd->get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::bind(fd->get(), address->get(), address->length) != 0 || ::listen(fd->get(), 128) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", endpoint.ToString(), ": ", strerror(errno)));
  }
  Endpoint bound = endpoint;
  sockaddr_storage storage = {};
  socklen_t length = sizeof(storage);
  if (getsockname(fd->get(), reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    if (storage.ss_family == AF_INET) {
      bound.discriminator = ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
    } else if (storage.ss_family == AF_INET6) {
      bound.discriminator = ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
    }
  }
  ScopedFd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  return std::unique_ptr<TcpListener>(
      new TcpListener(std::move(*fd), std::move(wake), bound, params));
}

TcpListener::TcpListener(ScopedFd fd, ScopedFd wake_fd, Endpoint endpoint, const LinkParams& params)
    : fd_(std::move(fd)),
      wake_fd_(std::move(wake_fd)),
      endpoint_(std::move(endpoint)),
      params_(params) {}

TcpListener::~TcpListener() { Close(); }

absl::StatusOr<std::unique_ptr<Connection>> TcpListener::Accept(absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    auto turn = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || !accepting_; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&turn), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("no connection on ", endpoint_.ToString(), " before the deadline"));
    }
    if (closed_) {
      return absl::CancelledError(absl::StrCat("listener on ", endpoint_.ToString(), " closed"));
    }
    accepting_ = true;
  }
  absl::StatusOr<std::unique_ptr<Connection>> result = AcceptLoop(deadline);
  absl::MutexLock lock(&mu_);
  accepting_ = false;
  return result;
}

void TcpListener::Close() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  closed_ = true;
  uint64_t one = 1;
  if (::write(wake_fd_.get(), &one, sizeof(one)) < 0) {
    VIFILER_LOG(Error) << "cannot wake the accepting thread: " << strerror(errno);
  }
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !accepting_; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&idle), kCloseWait)) {
    VIFILER_LOG(Error) << "Accept on " << endpoint_.ToString() << " did not stop; socket left open";
    return;
  }
  fd_.reset();
  handshakes_.clear();
}

bool TcpListener::IsClosed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

absl::StatusOr<std::unique_ptr<Connection>> TcpListener::AcceptLoop(absl::Time deadline) {
  std::vector<pollfd> polled;
  for (;;) {
    if (IsClosed()) {
      return absl::CancelledError(absl::StrCat("listener on ", endpoint_.ToString(), " closed"));
    }
    // Drop peers whose handshake took too long.
    absl::Time now = absl::Now();
    absl::Time wake_at = deadline;
    auto expired = [now](const Handshake& h) { return h.deadline <= now; };
    for (const Handshake& h : handshakes_) {
      if (expired(h)) VIFILER_LOG(Info) << "handshake from " << h.address << " timed out";
    }
    handshakes_.erase(std::remove_if(handshakes_.begin(), handshakes_.end(), expired),
                      handshakes_.end());
    for (const Handshake& h : handshakes_) wake_at = std::min(wake_at, h.deadline);

    // While accept(2) lacks resources the listening socket is left alone (it stays readable:
    // polling it would spin); handshakes in progress go on.
    const bool paused = now < accept_paused_until_;
    if (paused) wake_at = std::min(wake_at, accept_paused_until_);
    polled.clear();
    polled.push_back({wake_fd_.get(), POLLIN, 0});
    polled.push_back({fd_.get(), static_cast<short>(paused ? 0 : POLLIN), 0});
    for (const Handshake& h : handshakes_) polled.push_back({h.fd.get(), POLLIN, 0});
    int n = ::poll(polled.data(), polled.size(), PollTimeoutMs(wake_at));
    if (n < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
    if (n > 0) {
      // Peers first (their indices shift once new peers are appended).
      std::unique_ptr<Connection> connection;
      for (size_t i = 2; i < polled.size(); ++i) {
        if (polled[i].revents == 0) continue;
        Handshake& peer = handshakes_[i - 2];
        Progress progress = Advance(&peer, connection ? nullptr : &connection);
        if (progress != Progress::kWaiting) peer.fd.reset();
      }
      handshakes_.erase(std::remove_if(handshakes_.begin(), handshakes_.end(),
                                       [](const Handshake& h) { return !h.fd.valid(); }),
                        handshakes_.end());
      if (polled[1].revents != 0) TakeNewPeers();
      if (connection) return connection;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no connection on ", endpoint_.ToString(), " before the deadline"));
    }
  }
}

void TcpListener::TakeNewPeers() {
  for (int i = 0; i < kAcceptBurst; ++i) {
    int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == EINTR || error == ECONNABORTED) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) return;
      const absl::Time now = absl::Now();
      uint64_t suppressed = 0;
      if (AcceptBackoff::IsResourceError(error)) {
        const absl::Duration pause = backoff_.Failed();
        accept_paused_until_ = now + pause;
        if (backoff_.ShouldLog(now, &suppressed)) {
          VIFILER_LOG(Warning) << "accept on " << endpoint_.ToString() << ": " << strerror(error)
                               << "; not accepting for " << absl::FormatDuration(pause) << " ("
                               << suppressed << " more such failures since the last "
                               << "report)";
        }
      } else {
        // Another failure of the listening socket: bounded too (it may repeat on every poll).
        accept_paused_until_ = now + AcceptBackoff::kFirst;
        if (backoff_.ShouldLog(now, &suppressed)) {
          VIFILER_LOG(Warning) << "accept on " << endpoint_.ToString() << ": " << strerror(error)
                               << " (" << suppressed << " more failures since the last report)";
        }
      }
      return;
    }
    if (NearDescriptorLimit(fd)) {
      ::close(fd);
      const absl::Time now = absl::Now();
      const absl::Duration pause = backoff_.Failed();
      accept_paused_until_ = now + pause;
      uint64_t suppressed = 0;
      if (backoff_.ShouldLog(now, &suppressed)) {
        VIFILER_LOG(Warning) << "accept on " << endpoint_.ToString() << ": fewer than "
                             << kReservedDescriptors << " descriptors left; closed a new "
                             << "connection, not accepting for " << absl::FormatDuration(pause)
                             << " (" << suppressed << " more such refusals since the last report)";
      }
      return;
    }
    backoff_.Succeeded();
    Handshake peer;
    peer.fd.reset(fd);
    peer.address = PeerAddressOf(fd);
    peer.deadline = absl::Now() + kHandshakeTimeout;
    absl::Status status = SetNoDelay(fd);
    if (status.ok()) status = SetKeepAlive(fd);
    if (!status.ok()) VIFILER_LOG(Warning) << peer.address << ": " << status;
    if (handshakes_.size() >= kMaxHandshakes) {
      VIFILER_LOG(Warning) << "too many handshakes on " << endpoint_.ToString() << "; dropping "
                           << handshakes_.front().address;
      handshakes_.erase(handshakes_.begin());
    }
    handshakes_.push_back(std::move(peer));
  }
}

TcpListener::Progress TcpListener::Advance(Handshake* peer,
                                           std::unique_ptr<Connection>* connection) {
  if (connection == nullptr) return Progress::kWaiting;  // one connection per round
  char buffer[kHelloSize];
  size_t want = kHelloSize - peer->hello.size();
  ssize_t n;
  do {
    n = ::recv(peer->fd.get(), buffer, want, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Progress::kWaiting;
  if (n <= 0) {
    VIFILER_LOG(Info) << "peer " << peer->address << " left during the handshake";
    return Progress::kDropped;
  }
  peer->hello.append(buffer, static_cast<size_t>(n));
  if (peer->hello.size() < kHelloSize) return Progress::kWaiting;

  absl::StatusOr<PeerIdentity> identity = DecodeHandshake(peer->hello);
  LinkParams offered = DecodeHelloParams(peer->hello);
  absl::Status status = identity.status();
  if (status.ok() && (offered.credits == 0 || offered.max_message_size == 0)) {
    status = absl::InvalidArgumentError("bad link parameters");
  }
  if (!status.ok()) {
    VIFILER_LOG(Warning) << "rejected connection from " << peer->address << " on "
                         << endpoint_.ToString() << ": " << status.message();
    SendReply(peer->fd.get(), EncodeReply(false, LinkParams(), status.message()));
    return Progress::kDropped;
  }
  LinkParams agreed;
  agreed.credits = std::min(offered.credits, params_.credits);
  agreed.max_message_size = std::min(offered.max_message_size, params_.max_message_size);
  if (!SendReply(peer->fd.get(), EncodeReply(true, agreed, ""))) {
    VIFILER_LOG(Info) << "cannot answer " << peer->address << "; dropped";
    return Progress::kDropped;
  }
  identity->address = peer->address;
  *connection = std::make_unique<TcpConnection>(std::move(peer->fd), std::move(*identity), agreed);
  return Progress::kAccepted;
}

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler
