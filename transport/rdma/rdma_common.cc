// Copyright 2026 The vifiler Authors.

#include "transport/rdma/rdma_common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace transport {
namespace rdma {

absl::StatusOr<sockaddr_storage> ToSockaddr(const Endpoint& endpoint) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  std::string port = std::to_string(endpoint.discriminator);
  int rc = getaddrinfo(endpoint.address.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad rdma endpoint address '", endpoint.address, "': ", gai_strerror(rc)));
  }
  sockaddr_storage out;
  std::memset(&out, 0, sizeof(out));
  std::memcpy(&out, result->ai_addr, std::min<size_t>(result->ai_addrlen, sizeof(out)));
  freeaddrinfo(result);
  return out;
}

std::string FormatSockaddr(const sockaddr* address) {
  if (address == nullptr) return "?";
  char text[INET6_ADDRSTRLEN] = {0};
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return absl::StrCat(text, ":", ntohs(in->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    return absl::StrCat("[", text, "]:", ntohs(in6->sin6_port));
  }
  return "?";
}

int MillisUntil(absl::Time deadline, int max_ms) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, max_ms));
}

absl::Status ErrnoStatus(absl::StatusCode code, absl::string_view what) {
  int error = errno;
  return absl::Status(code, absl::StrCat(what, ": ", std::strerror(error)));
}

absl::Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoStatus(absl::StatusCode::kInternal, "fcntl(O_NONBLOCK)");
  }
  return absl::OkStatus();
}

CmEvent CopyCmEvent(const rdma_cm_event& event) {
  CmEvent out;
  out.type = event.event;
  out.status = event.status;
  out.id = event.id;
  out.listen_id = event.listen_id;
  if (event.param.conn.private_data != nullptr && event.param.conn.private_data_len > 0) {
    out.private_data.assign(static_cast<const char*>(event.param.conn.private_data),
                            event.param.conn.private_data_len);
  }
  out.initiator_depth = event.param.conn.initiator_depth;
  out.responder_resources = event.param.conn.responder_resources;
  return out;
}

absl::StatusOr<CmEvent> PollCmEvent(rdma_event_channel* channel) {
  rdma_cm_event* event = nullptr;
  if (rdma_get_cm_event(channel, &event) != 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return absl::NotFoundError("no cm event");
    return ErrnoStatus(absl::StatusCode::kUnavailable, "rdma_get_cm_event");
  }
  CmEvent out = CopyCmEvent(*event);
  rdma_ack_cm_event(event);
  return out;
}

absl::StatusOr<CmEvent> NextCmEvent(rdma_event_channel* channel, absl::Time deadline) {
  while (true) {
    absl::StatusOr<CmEvent> event = PollCmEvent(channel);
    if (event.ok() || !absl::IsNotFound(event.status())) return event;
    int wait_ms = MillisUntil(deadline, 1000);
    if (wait_ms == 0 && absl::Now() >= deadline) {
      return absl::DeadlineExceededError("timed out waiting for an rdma_cm event");
    }
    pollfd pfd;
    pfd.fd = channel->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
      return ErrnoStatus(absl::StatusCode::kInternal, "poll(cm channel)");
    }
  }
}

std::string RejectReason(absl::string_view private_data) {
  size_t end = private_data.find('\0');
  std::string reason(private_data.substr(0, end));
  // Keep only printable characters: the reason comes from the network.
  reason.erase(
      std::remove_if(reason.begin(), reason.end(), [](char c) { return c < 0x20 || c > 0x7e; }),
      reason.end());
  return reason;
}

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler
