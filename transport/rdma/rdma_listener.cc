// Copyright 2026 The vifiler Authors.

#include "transport/rdma/rdma_listener.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/handshake.h"
#include "transport/log.h"

namespace vifiler {
namespace transport {
namespace rdma {
namespace {

constexpr int kBacklog = 64;
// See the header: how many connect requests may wait.
constexpr size_t kMaxQueuedRequests = 64;
constexpr int kPollTimeoutMs = 500;
// Reject private data is at most 148 bytes on IB/RoCE; reasons are short.
constexpr size_t kMaxRejectReason = 128;

}  // namespace

absl::StatusOr<std::unique_ptr<RdmaListener>> RdmaListener::Create(const Endpoint& endpoint,
                                                                   const FabricOptions& options) {
  absl::StatusOr<sockaddr_storage> address = ToSockaddr(endpoint);
  if (!address.ok()) return address.status();
  std::string where = absl::StrCat(endpoint.address, ":", endpoint.discriminator);
  rdma_event_channel* channel = rdma_create_event_channel();
  if (channel == nullptr) {
    return ErrnoStatus(absl::StatusCode::kUnavailable,
                       absl::StrCat("rdma listen on ", where, ": rdma_create_event_channel"));
  }
  absl::Status status = SetNonBlocking(channel->fd);
  rdma_cm_id* id = nullptr;
  if (status.ok() && rdma_create_id(channel, &id, nullptr, RDMA_PS_TCP) != 0) {
    status = ErrnoStatus(absl::StatusCode::kUnavailable,
                         absl::StrCat("rdma listen on ", where, ": rdma_create_id"));
  }
  if (status.ok() && rdma_bind_addr(id, reinterpret_cast<sockaddr*>(&*address)) != 0) {
    if (errno == EADDRINUSE) {
      status = absl::AlreadyExistsError(
          absl::StrCat("rdma listen on ", where, ": discriminator already in use"));
    } else {
      status = ErrnoStatus(absl::StatusCode::kUnavailable,
                           absl::StrCat("rdma listen on ", where,
                                        ": rdma_bind_addr (no RDMA device with that address?)"));
    }
  }
  if (status.ok() && rdma_listen(id, kBacklog) != 0) {
    status = ErrnoStatus(absl::StatusCode::kUnavailable,
                         absl::StrCat("rdma listen on ", where, ": rdma_listen"));
  }
  if (!status.ok()) {
    if (id != nullptr) rdma_destroy_id(id);
    rdma_destroy_event_channel(channel);
    return status;
  }
  Endpoint bound = endpoint;
  bound.discriminator = ntohs(rdma_get_src_port(id));
  return std::unique_ptr<RdmaListener>(new RdmaListener(channel, id, bound, options));
}

RdmaListener::RdmaListener(rdma_event_channel* channel, rdma_cm_id* id, Endpoint endpoint,
                           const FabricOptions& options)
    : options_(options), channel_(channel), listen_id_(id), endpoint_(std::move(endpoint)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) VIFILER_PLOG(Error) << "eventfd";
  thread_ = std::thread([this] { Run(); });
}

RdmaListener::~RdmaListener() {
  Close();
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::StatusOr<std::unique_ptr<Connection>> RdmaListener::Accept(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !ready_.empty(); };
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    return absl::DeadlineExceededError(absl::StrCat("no connection on rdma ", endpoint_.address,
                                                    ":", endpoint_.discriminator, " in time"));
  }
  if (closed_) {
    return absl::CancelledError(absl::StrCat("rdma listener on ", endpoint_.address, ":",
                                             endpoint_.discriminator, " closed"));
  }
  std::unique_ptr<Connection> connection = std::move(ready_.front());
  ready_.pop_front();
  return connection;
}

void RdmaListener::Close() {
  absl::MutexLock close_lock(&close_mu_);
  if (torn_down_) return;
  torn_down_ = true;
  std::deque<std::unique_ptr<RdmaConnection>> unaccepted;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    unaccepted.swap(ready_);
  }
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) != sizeof(one)) VIFILER_PLOG(Error) << "eventfd write";
  if (thread_.joinable()) thread_.join();
  // Connect requests never served: rejected (the port is closing) and acked.
  while (!requests_.empty()) {
    rdma_cm_event* event = requests_.front();
    requests_.pop_front();
    rdma_cm_id* child = event->id;
    Reject(child, "listener closed");
    rdma_ack_cm_event(event);
    rdma_destroy_id(child);
  }
  // Every event was acked, so the ids can go.
  rdma_destroy_id(listen_id_);
  listen_id_ = nullptr;
  pending_.clear();
  unaccepted.clear();
  rdma_destroy_event_channel(channel_);
  channel_ = nullptr;
}

void RdmaListener::Run() {
  pollfd fds[2];
  fds[0].fd = channel_->fd;
  fds[1].fd = wake_fd_;
  while (true) {
    for (pollfd& fd : fds) {
      fd.events = POLLIN;
      fd.revents = 0;
    }
    if (poll(fds, 2, kPollTimeoutMs) < 0 && errno != EINTR) {
      VIFILER_PLOG(Error) << "poll";
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    DrainEvents();
    while (!requests_.empty()) {
      // The newest request first: its connector is the likeliest to be still waiting.
      rdma_cm_event* newest = requests_.back();
      requests_.pop_back();
      HandleConnectRequest(newest);
      DrainEvents();  // ESTABLISHED events and newer requests, before the next setup
    }
  }
}

void RdmaListener::DrainEvents() {
  rdma_cm_event* event = nullptr;
  while (rdma_get_cm_event(channel_, &event) == 0) {
    if (event->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
      HandleEvent(event);
      continue;
    }
    requests_.push_back(event);
    if (requests_.size() > kMaxQueuedRequests) {
      Shed(requests_.front());
      requests_.pop_front();
    }
  }
}

void RdmaListener::Shed(rdma_cm_event* event) {
  rdma_cm_id* child = event->id;
  Reject(child, "listener busy");
  rdma_ack_cm_event(event);
  rdma_destroy_id(child);
  // Overload is reported, at a bounded rate: the first, then every 100th.
  if (shed_++ % 100 == 0) {
    VIFILER_LOG(Warning) << "rdma listener on " << endpoint_.address << ":"
                         << endpoint_.discriminator << " is overloaded: rejected a connect request"
                         << " as busy (more than " << kMaxQueuedRequests << " queued); " << shed_
                         << " so far";
  }
}

bool RdmaListener::Reject(rdma_cm_id* child, absl::string_view reason) {
  std::string text(reason.substr(0, kMaxRejectReason));
  if (rdma_reject(child, text.data(), static_cast<uint8_t>(text.size())) == 0) return true;
  // EINVAL: the connection manager no longer holds the request (its connector gave up).
  if (errno != EINVAL) VIFILER_PLOG(Warning) << "rdma_reject";
  return false;
}

void RdmaListener::HandleConnectRequest(rdma_cm_event* event) {
  rdma_cm_id* child = event->id;
  CmEvent copy = CopyCmEvent(*event);
  std::string peer_address = FormatSockaddr(rdma_get_peer_addr(child));
  bool closed;
  {
    absl::MutexLock lock(&mu_);
    closed = closed_;
  }
  absl::StatusOr<PeerIdentity> identity = DecodeHandshake(copy.private_data);
  std::unique_ptr<RdmaConnection> connection;
  absl::Status status;
  bool accept_failed = false;
  if (closed) {
    status = absl::CancelledError("listener closed");
  } else if (!identity.ok()) {
    status = identity.status();
  } else {
    identity->address = peer_address;
    connection = std::make_unique<RdmaConnection>(child, nullptr, options_, *identity);
    status = connection->Prepare();
    if (status.ok()) {
      rdma_conn_param param = connection->ConnParam();
      param.responder_resources = std::min(param.responder_resources, copy.initiator_depth);
      param.initiator_depth = std::min(param.initiator_depth, copy.responder_resources);
      if (rdma_accept(child, &param) != 0) {
        // The request is gone (the peer gave up or went away before it was answered): there
        // is nobody to reject and nothing wrong with this filer.
        accept_failed = true;
        status = ErrnoStatus(absl::StatusCode::kUnavailable, "rdma_accept");
      }
    }
  }
  if (status.ok()) {
    pending_[child] = std::move(connection);
    rdma_ack_cm_event(event);
    return;
  }
  // A request whose connector gave up while it waited cannot be set up (rdma_create_qp fails:
  // the connection manager dropped it) nor rejected: the connector's business, INFO.
  const bool gone = accept_failed || !Reject(child, status.message());
  if (gone || closed) {
    VIFILER_LOG(Info) << "rdma listener on " << endpoint_.address << ":" << endpoint_.discriminator
                      << " drops the connection request of " << peer_address << ": "
                      << status.message() << (gone ? " (the request is gone)" : "");
  } else {
    VIFILER_LOG(Warning) << "rdma listener on " << endpoint_.address << ":"
                         << endpoint_.discriminator << " rejects " << peer_address << ": "
                         << status.message();
  }
  rdma_ack_cm_event(event);
  if (connection != nullptr) {
    connection.reset();  // destroys the child id
  } else {
    rdma_destroy_id(child);
  }
}

void RdmaListener::HandleEvent(rdma_cm_event* event) {
  rdma_cm_id* id = event->id;
  rdma_cm_event_type type = event->event;
  rdma_ack_cm_event(event);
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    if (type == RDMA_CM_EVENT_DEVICE_REMOVAL) {
      VIFILER_LOG(Error) << "rdma listener on " << endpoint_.address << ":"
                         << endpoint_.discriminator << ": device removed";
    } else {
      VIFILER_LOG(Debug) << "rdma listener: ignoring " << rdma_event_str(type);
    }
    return;
  }
  std::unique_ptr<RdmaConnection> connection = std::move(it->second);
  pending_.erase(it);
  if (type != RDMA_CM_EVENT_ESTABLISHED) {
    // REJECTED, DISCONNECTED, UNREACHABLE, CONNECT_ERROR: the peer gave up (its connect timed
    // out, it went away) between its request and the end of the handshake. Its business, not
    // a fault of this listener, and it retries or has left: INFO.
    VIFILER_LOG(Info) << "connection from " << connection->peer().address
                      << " ended before it was established: " << rdma_event_str(type);
    return;
  }
  absl::Status status = connection->Start();
  if (!status.ok()) {
    VIFILER_LOG(Warning) << "connection from " << connection->peer().address << ": " << status;
    return;
  }
  absl::MutexLock lock(&mu_);
  // When closed, `connection` is destroyed on return, after `lock` is released.
  if (closed_) return;
  ready_.push_back(std::move(connection));
}

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler
