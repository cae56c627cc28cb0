// Copyright 2026 The vifiler Authors.
//
// The messages of the plain-socket baseline: what a minimal file server over one blocking TCP
// socket needs and nothing more, so that vifiler's figures on tcp can be compared with what the
// kernel's sockets and page cache cost by themselves. Both ends are in vifiler-bench (the
// server is a child process of it, see plain_server.h); nothing of vifiler's transport is used.
//
// Request (host byte order: both ends run on one host):
//   u32 op, u32 length, u64 offset, u64 tag; a write is followed by length bytes of data.
// Reply:
//   u64 tag, u32 status (0, or the errno of the server's pread/pwrite/fdatasync, or EINVAL for
//   a request outside the file), u32 length; a read's reply is followed by length bytes.
//
// The blocking helpers move whole buffers and fail (never hang) when the socket's timeouts
// (SO_RCVTIMEO/SO_SNDTIMEO, set by ConfigurePlainSocket) expire.

#ifndef VIFILER_TOOLS_BENCH_PLAIN_PROTOCOL_H_
#define VIFILER_TOOLS_BENCH_PLAIN_PROTOCOL_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace vifiler {
namespace bench {

enum class PlainOp : uint32_t { kRead = 1, kWrite = 2 };

inline constexpr size_t kPlainRequestSize = 24;
inline constexpr size_t kPlainReplySize = 16;
// The largest read or write the server accepts.
inline constexpr uint32_t kMaxPlainLength = 16u << 20;
// The TCP port the plain server listens on by default.
inline constexpr uint16_t kDefaultPlainPort = 7398;

struct PlainRequest {
  PlainOp op = PlainOp::kRead;
  uint32_t length = 0;
  uint64_t offset = 0;
  uint64_t tag = 0;
};

struct PlainReply {
  uint64_t tag = 0;
  uint32_t status = 0;
  uint32_t length = 0;
};

void EncodePlainRequest(const PlainRequest& request, char out[kPlainRequestSize]);
PlainRequest DecodePlainRequest(const char in[kPlainRequestSize]);
void EncodePlainReply(const PlainReply& reply, char out[kPlainReplySize]);
PlainReply DecodePlainReply(const char in[kPlainReplySize]);

// TCP_NODELAY, and send and receive timeouts of `timeout`.
absl::Status ConfigurePlainSocket(int fd, absl::Duration timeout);
// Writes (reads) exactly n bytes; UnavailableError when the peer closed, DeadlineExceededError
// when the socket timed out, InternalError on other failures.
absl::Status WriteAll(int fd, const char* data, size_t n);
absl::Status ReadAll(int fd, char* data, size_t n);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_PLAIN_PROTOCOL_H_
