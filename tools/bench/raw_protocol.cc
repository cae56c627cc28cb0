// Copyright 2026 The vifiler Authors.

#include "tools/bench/raw_protocol.h"

#include <algorithm>

#include "absl/status/status.h"
#include "protocol/codec.h"

namespace vifiler {
namespace bench {

std::string EncodeRawRequest(const RawRequest& request, size_t size) {
  std::string out;
  out.reserve(std::max(size, kRawRequestHeaderSize));
  protocol::Encoder e(&out);
  e.PutU32(static_cast<uint32_t>(request.op));
  e.PutU32(request.reply_size);
  e.PutU64(request.tag);
  e.PutU64(request.buffer.address);
  e.PutU32(request.buffer.key);
  e.PutU32(request.buffer.length);
  if (out.size() < size) out.resize(size, '\0');
  return out;
}

absl::StatusOr<RawRequest> DecodeRawRequest(absl::string_view message) {
  if (message.size() < kRawRequestHeaderSize) {
    return absl::InvalidArgumentError("raw request shorter than its header");
  }
  protocol::Decoder d(message.substr(0, kRawRequestHeaderSize));
  RawRequest r;
  uint32_t op = 0;
  d.GetU32(&op);
  d.GetU32(&r.reply_size);
  d.GetU64(&r.tag);
  d.GetU64(&r.buffer.address);
  d.GetU32(&r.buffer.key);
  d.GetU32(&r.buffer.length);
  absl::Status s = d.Finish();
  if (!s.ok()) return s;
  if (op < static_cast<uint32_t>(RawOp::kPing) || op > static_cast<uint32_t>(RawOp::kBulkWrite)) {
    return absl::InvalidArgumentError("unknown raw op");
  }
  if (r.reply_size < kRawReplyHeaderSize) {
    return absl::InvalidArgumentError("raw reply size below the reply header");
  }
  r.op = static_cast<RawOp>(op);
  return r;
}

std::string EncodeRawReply(const RawReply& reply, size_t size) {
  std::string out;
  out.reserve(std::max(size, kRawReplyHeaderSize));
  protocol::Encoder e(&out);
  e.PutU64(reply.tag);
  e.PutU32(reply.status);
  if (out.size() < size) out.resize(size, '\0');
  return out;
}

absl::StatusOr<RawReply> DecodeRawReply(absl::string_view message) {
  if (message.size() < kRawReplyHeaderSize) {
    return absl::InvalidArgumentError("raw reply shorter than its header");
  }
  protocol::Decoder d(message.substr(0, kRawReplyHeaderSize));
  RawReply r;
  d.GetU64(&r.tag);
  d.GetU32(&r.status);
  absl::Status s = d.Finish();
  if (!s.ok()) return s;
  return r;
}

}  // namespace bench
}  // namespace vifiler
