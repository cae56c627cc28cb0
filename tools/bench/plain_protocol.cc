// Copyright 2026 The vifiler Authors.

#include "tools/bench/plain_protocol.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace bench {

namespace {

template <typename T>
void Put(char** out, T value) {
  std::memcpy(*out, &value, sizeof(value));
  *out += sizeof(value);
}

template <typename T>
T Get(const char** in) {
  T value;
  std::memcpy(&value, *in, sizeof(value));
  *in += sizeof(value);
  return value;
}

absl::Status IoError(const char* what, int error) {
  if (error == EAGAIN || error == EWOULDBLOCK) {
    return absl::DeadlineExceededError(absl::StrCat(what, ": socket timed out"));
  }
  if (error == EPIPE || error == ECONNRESET) {
    return absl::UnavailableError(absl::StrCat(what, ": ", strerror(error)));
  }
  return absl::InternalError(absl::StrCat(what, ": ", strerror(error)));
}

}  // namespace

void EncodePlainRequest(const PlainRequest& request, char out[kPlainRequestSize]) {
  Put(&out, static_cast<uint32_t>(request.op));
  Put(&out, request.length);
  Put(&out, request.offset);
  Put(&out, request.tag);
}

PlainRequest DecodePlainRequest(const char in[kPlainRequestSize]) {
  PlainRequest request;
  request.op = static_cast<PlainOp>(Get<uint32_t>(&in));
  request.length = Get<uint32_t>(&in);
  request.offset = Get<uint64_t>(&in);
  request.tag = Get<uint64_t>(&in);
  return request;
}

void EncodePlainReply(const PlainReply& reply, char out[kPlainReplySize]) {
  Put(&out, reply.tag);
  Put(&out, reply.status);
  Put(&out, reply.length);
}

PlainReply DecodePlainReply(const char in[kPlainReplySize]) {
  PlainReply reply;
  reply.tag = Get<uint64_t>(&in);
  reply.status = Get<uint32_t>(&in);
  reply.length = Get<uint32_t>(&in);
  return reply;
}

absl::Status ConfigurePlainSocket(int fd, absl::Duration timeout) {
  const int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    return IoError("TCP_NODELAY", errno);
  }
  const timeval tv = absl::ToTimeval(timeout);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    return IoError("socket timeouts", errno);
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return IoError("write", errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, char* data, size_t n) {
  while (n > 0) {
    const ssize_t r = read(fd, data, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError("read", errno);
    }
    if (r == 0) return absl::UnavailableError("read: peer closed the connection");
    data += r;
    n -= static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace vifiler
