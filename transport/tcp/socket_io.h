// Copyright 2026 The vifiler Authors.
//
// Small socket helpers for the tcp fabric: an owning file descriptor, address parsing and
// formatting, and deadline-bounded reads, writes and connects on non-blocking sockets. Every
// call retries on EINTR, handles partial transfers and never raises SIGPIPE.

#ifndef VIFILER_TRANSPORT_TCP_SOCKET_IO_H_
#define VIFILER_TRANSPORT_TCP_SOCKET_IO_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "transport/fabric.h"

namespace vifiler {
namespace transport {
namespace tcp {

// Owns a file descriptor; closes it on destruction. Movable, not copyable.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A socket address with its length.
struct SocketAddress {
  sockaddr_storage storage = {};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Parses a numeric IPv4 or IPv6 address and a port. InvalidArgumentError otherwise.
absl::StatusOr<SocketAddress> ParseAddress(const std::string& address, uint16_t port);
// "1.2.3.4:5" or "[::1]:5".
std::string FormatAddress(const sockaddr* address, socklen_t length);
// The peer's address of a connected socket, or "unknown".
std::string PeerAddressOf(int fd);

// Creates a non-blocking, close-on-exec TCP socket for the family of `address`, with
// TCP_NODELAY set.
absl::StatusOr<ScopedFd> NewTcpSocket(const SocketAddress& address);
absl::Status SetNoDelay(int fd);

// TCP keepalive on an accepted data connection, so that a peer host that vanishes (power cut,
// cable pulled: no FIN, no RST) is noticed by the kernel and the connection fails: probes
// after kKeepAliveIdle of silence, every kKeepAliveInterval, kKeepAliveCount unanswered probes
// end it; TCP_USER_TIMEOUT bounds the time sent data may stay unacknowledged the same way.
inline constexpr absl::Duration kKeepAliveIdle = absl::Seconds(30);
inline constexpr absl::Duration kKeepAliveInterval = absl::Seconds(5);
inline constexpr int kKeepAliveCount = 4;
absl::Status SetKeepAlive(int fd);

// Connects a non-blocking socket to `endpoint` before `deadline`. UnavailableError ("connection
// refused by ADDR:PORT", unreachable, ...), DeadlineExceededError when the deadline passes.
absl::StatusOr<ScopedFd> ConnectTcp(const Endpoint& endpoint, absl::Time deadline);

// Waits until fd is readable (events = POLLIN) or writable (POLLOUT), or deadline.
// Returns OK when ready (or on error/hangup, so the next I/O call reports it),
// DeadlineExceededError when the deadline passes.
absl::Status WaitFor(int fd, short events, absl::Time deadline);

// Writes every byte of iov[0..count) (the array is modified) before deadline. *written receives
// the number of bytes written, also on failure. UnavailableError on a socket error,
// DeadlineExceededError when the deadline passes.
absl::Status WriteFully(int fd, iovec* iov, int count, absl::Time deadline, size_t* written);
// Reads exactly n bytes before deadline. UnavailableError on end of stream or socket error.
absl::Status ReadFully(int fd, char* data, size_t n, absl::Time deadline);

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_TCP_SOCKET_IO_H_
