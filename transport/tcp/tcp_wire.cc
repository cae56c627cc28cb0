// Copyright 2026 The vifiler Authors.

#include "transport/tcp/tcp_wire.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace transport {
namespace tcp {
namespace {

void Put(char* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t Get(const char* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return value;
}

}  // namespace

std::string EncodeHello(const std::string& handshake, const LinkParams& params) {
  std::string out = handshake;
  out.resize(kHelloSize);
  Put(&out[kHandshakeSize], params.credits, 4);
  Put(&out[kHandshakeSize + 4], params.max_message_size, 4);
  return out;
}

LinkParams DecodeHelloParams(absl::string_view hello) {
  LinkParams params;
  if (hello.size() < kHelloSize) return params;
  params.credits = static_cast<uint32_t>(Get(hello.data() + kHandshakeSize, 4));
  params.max_message_size = static_cast<uint32_t>(Get(hello.data() + kHandshakeSize + 4, 4));
  return params;
}

std::string EncodeReply(bool accepted, const LinkParams& params, absl::string_view reason) {
  reason = reason.substr(0, 255);
  std::string out(kReplySize, '\0');
  Put(&out[0], kReplyMagic, 4);
  out[4] = accepted ? 1 : 0;
  Put(&out[5], reason.size(), 1);
  Put(&out[8], params.credits, 4);
  Put(&out[12], params.max_message_size, 4);
  out.append(reason.data(), reason.size());
  return out;
}

absl::StatusOr<Reply> DecodeReplyHeader(absl::string_view data) {
  if (data.size() < kReplySize || Get(data.data(), 4) != kReplyMagic) {
    return absl::InvalidArgumentError("malformed handshake reply");
  }
  Reply reply;
  reply.accepted = data[4] == 1;
  reply.reason_length = static_cast<uint8_t>(data[5]);
  reply.params.credits = static_cast<uint32_t>(Get(data.data() + 8, 4));
  reply.params.max_message_size = static_cast<uint32_t>(Get(data.data() + 12, 4));
  return reply;
}

void EncodeFrameHeader(const FrameHeader& header, char* out) {
  Put(out, header.payload_length, 4);
  out[4] = static_cast<char>(header.type);
  out[5] = static_cast<char>(header.status);
  out[6] = 0;
  out[7] = 0;
  Put(out + 8, header.credits, 4);
  Put(out + 12, header.key, 4);
  Put(out + 16, header.address, 8);
  Put(out + 24, header.length, 4);
  Put(out + 28, header.id, 4);
}

FrameHeader DecodeFrameHeader(const char* in) {
  FrameHeader header;
  header.payload_length = static_cast<uint32_t>(Get(in, 4));
  header.type = static_cast<FrameType>(in[4]);
  header.status = static_cast<FrameStatus>(in[5]);
  header.credits = static_cast<uint32_t>(Get(in + 8, 4));
  header.key = static_cast<uint32_t>(Get(in + 12, 4));
  header.address = Get(in + 16, 8);
  header.length = static_cast<uint32_t>(Get(in + 24, 4));
  header.id = static_cast<uint32_t>(Get(in + 28, 4));
  return header;
}

absl::Status StatusFromFrame(FrameStatus status, absl::string_view reason) {
  std::string text = absl::StrCat("remote access failed at the peer: ", reason);
  switch (status) {
    case FrameStatus::kOk:
      return absl::OkStatus();
    case FrameStatus::kNotFound:
      return absl::NotFoundError(text);
    case FrameStatus::kOutOfRange:
      return absl::OutOfRangeError(text);
    case FrameStatus::kPermission:
      return absl::PermissionDeniedError(text);
    case FrameStatus::kInternal:
      break;
  }
  return absl::InternalError(text);
}

FrameStatus FrameStatusFrom(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return FrameStatus::kOk;
    case absl::StatusCode::kNotFound:
      return FrameStatus::kNotFound;
    case absl::StatusCode::kOutOfRange:
      return FrameStatus::kOutOfRange;
    case absl::StatusCode::kPermissionDenied:
      return FrameStatus::kPermission;
    default:
      return FrameStatus::kInternal;
  }
}

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler
