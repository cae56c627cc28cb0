// Copyright 2026 The vifiler Authors.

#include "transport/tcp/socket_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace transport {
namespace tcp {
namespace {

std::string ErrnoText(int error) { return absl::StrCat(strerror(error), " (errno ", error, ")"); }

// Milliseconds for poll(): -1 for an infinite deadline, rounded up, at most INT_MAX.
int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

}  // namespace

ScopedFd& ScopedFd::operator=(ScopedFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int ScopedFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void ScopedFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

absl::StatusOr<SocketAddress> ParseAddress(const std::string& address, uint16_t port) {
  SocketAddress result;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    result.length = sizeof(sockaddr_in);
    return result;
  }
  result.storage = {};
  if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    result.length = sizeof(sockaddr_in6);
    return result;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not a numeric IPv4 or IPv6 address: \"", address, "\""));
}

std::string FormatAddress(const sockaddr* address, socklen_t length) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    return absl::StrCat(text, ":", ntohs(v4->sin_port));
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return absl::StrCat("[", text, "]:", ntohs(v6->sin6_port));
  }
  return "unknown";
}

std::string PeerAddressOf(int fd) {
  sockaddr_storage storage = {};
  socklen_t length = sizeof(storage);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return "unknown";
  return FormatAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

absl::Status SetNoDelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    return absl::InternalError(absl::StrCat("setsockopt(TCP_NODELAY): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::Status SetKeepAlive(int fd) {
  const int one = 1;
  const int idle = static_cast<int>(absl::ToInt64Seconds(kKeepAliveIdle));
  const int interval = static_cast<int>(absl::ToInt64Seconds(kKeepAliveInterval));
  const int count = kKeepAliveCount;
  const unsigned int user_timeout = static_cast<unsigned int>(
      absl::ToInt64Milliseconds(kKeepAliveIdle + kKeepAliveInterval * kKeepAliveCount));
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval)) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count)) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout)) != 0) {
    return absl::InternalError(absl::StrCat("setsockopt(keepalive): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ScopedFd> NewTcpSocket(const SocketAddress& address) {
  ScopedFd fd(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return absl::UnavailableError(absl::StrCat("socket: ", ErrnoText(errno)));
  }
  absl::Status status = SetNoDelay(fd.get());
  if (!status.ok()) return status;
  return fd;
}

absl::StatusOr<ScopedFd> ConnectTcp(const Endpoint& endpoint, absl::Time deadline) {
  absl::StatusOr<SocketAddress> address = ParseAddress(endpoint.address, endpoint.discriminator);
  if (!address.ok()) return address.status();
  if (endpoint.discriminator == 0) {
    return absl::InvalidArgumentError("cannot connect to discriminator 0");
  }
  absl::StatusOr<ScopedFd> fd = NewTcpSocket(*address);
  if (!fd.ok()) return fd.status();
  int error = 0;
  if (::connect(fd->get(), address->get(), address->length) != 0) {
    error = errno;
    if (error == EINPROGRESS || error == EINTR) {
      absl::Status waited = WaitFor(fd->get(), POLLOUT, deadline);
      if (!waited.ok()) {
        return absl::DeadlineExceededError(
            absl::StrCat("timed out connecting to ", endpoint.ToString()));
      }
      socklen_t length = sizeof(error);
      if (getsockopt(fd->get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    }
  }
  if (error == ECONNREFUSED) {
    return absl::UnavailableError(absl::StrCat("connection refused by ", endpoint.ToString()));
  }
  if (error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", endpoint.ToString(), ": ", ErrnoText(error)));
  }
  return fd;
}

absl::Status WaitFor(int fd, short events, absl::Time deadline) {
  for (;;) {
    pollfd p = {fd, events, 0};
    int n = ::poll(&p, 1, PollTimeoutMs(deadline));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", ErrnoText(errno)));
    }
    if (n == 0 && absl::Now() >= deadline) {
      return absl::DeadlineExceededError("deadline exceeded on socket");
    }
  }
}

absl::Status WriteFully(int fd, iovec* iov, int count, absl::Time deadline, size_t* written) {
  *written = 0;
  while (count > 0) {
    if (iov->iov_len == 0) {
      ++iov;
      --count;
      continue;
    }
    msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(std::min(count, IOV_MAX));
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      int error = errno;
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) {
        absl::Status waited = WaitFor(fd, POLLOUT, deadline);
        if (!waited.ok()) return waited;
        continue;
      }
      return absl::UnavailableError(absl::StrCat("send: ", ErrnoText(error)));
    }
    size_t left = static_cast<size_t>(n);
    *written += left;
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return absl::OkStatus();
}

absl::Status ReadFully(int fd, char* data, size_t n, absl::Time deadline) {
  while (n > 0) {
    ssize_t got = ::recv(fd, data, n, 0);
    if (got > 0) {
      data += got;
      n -= static_cast<size_t>(got);
      continue;
    }
    if (got == 0) return absl::UnavailableError("connection closed by peer");
    int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      absl::Status waited = WaitFor(fd, POLLIN, deadline);
      if (!waited.ok()) return waited;
      continue;
    }
    return absl::UnavailableError(absl::StrCat("recv: ", ErrnoText(error)));
  }
  return absl::OkStatus();
}

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler
