// Copyright 2026 The vifiler Authors.
//
// The tcp fabric's wire format. All integers are little-endian.
//
// Connection set-up: the connector sends kHelloSize bytes, the shared handshake (handshake.h)
// followed by its parameters [u32 credits][u32 max_message_size]. The listener answers with a
// reply [u32 kReplyMagic][u8 accepted][u8 reason length][u16 0][u32 credits]
// [u32 max_message_size] and the reason text. When accepted, the reply carries the negotiated
// parameters (the smaller of both sides'), which both ends then use.
//
// Then both directions carry frames: a kFrameHeaderSize header
//   [u32 payload length][u8 type][u8 status][u16 0][u32 credits][u32 key][u64 address]
//   [u32 length][u32 id]
// followed by the payload. `credits` (every type) returns receive credits to the peer.
//   kData      payload = one message; takes one credit.
//   kCredit    credit return only.
//   kWrite     payload is written at `address` of the region with `key`.
//   kReadReq   request `id`: read `length` bytes at `address` of the region with `key`.
//   kReadResp  answers request `id`: status kOk and the bytes, or an error status and a reason.
//   kError     the sender closes the connection; payload = the reason.

#ifndef VIFILER_TRANSPORT_TCP_TCP_WIRE_H_
#define VIFILER_TRANSPORT_TCP_TCP_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/connection.h"
#include "transport/handshake.h"

namespace vifiler {
namespace transport {
namespace tcp {

// Largest payload of one one-sided frame; longer transfers are split.
inline constexpr size_t kMaxTransfer = 16 * 1024 * 1024;
// Largest error reason carried by kReadResp or kError.
inline constexpr size_t kMaxReasonLength = 1024;

inline constexpr size_t kHelloSize = kHandshakeSize + 8;
inline constexpr uint32_t kReplyMagic = 0x52464956;  // "VIFR"
inline constexpr size_t kReplySize = 16;

// What one side offers or the two agreed on.
struct LinkParams {
  uint32_t credits = 0;
  uint32_t max_message_size = 0;
};

std::string EncodeHello(const std::string& handshake, const LinkParams& params);
// Decodes the parameters that follow the handshake in a kHelloSize hello.
LinkParams DecodeHelloParams(absl::string_view hello);

struct Reply {
  bool accepted = false;
  LinkParams params;
  uint8_t reason_length = 0;
};
std::string EncodeReply(bool accepted, const LinkParams& params, absl::string_view reason);
// InvalidArgumentError unless `data` (kReplySize bytes) starts with kReplyMagic.
absl::StatusOr<Reply> DecodeReplyHeader(absl::string_view data);

enum class FrameType : uint8_t {
  kData = 1,
  kCredit = 2,
  kWrite = 3,
  kReadReq = 4,
  kReadResp = 5,
  kError = 6,
};

// Status codes in kReadResp frames.
enum class FrameStatus : uint8_t {
  kOk = 0,
  kNotFound = 1,    // unknown or revoked key
  kOutOfRange = 2,  // outside the region
  kPermission = 3,  // region registered without that remote right (Access)
  kInternal = 4,
};

inline constexpr size_t kFrameHeaderSize = 32;

struct FrameHeader {
  uint32_t payload_length = 0;
  FrameType type = FrameType::kData;
  FrameStatus status = FrameStatus::kOk;
  uint32_t credits = 0;
  uint32_t key = 0;      // kWrite, kReadReq
  uint64_t address = 0;  // kWrite, kReadReq
  uint32_t length = 0;   // kReadReq: bytes requested
  uint32_t id = 0;       // kReadReq, kReadResp
};

void EncodeFrameHeader(const FrameHeader& header, char* out);
// Decodes without validating the type; the reader validates.
FrameHeader DecodeFrameHeader(const char* in);

absl::Status StatusFromFrame(FrameStatus status, absl::string_view reason);
FrameStatus FrameStatusFrom(const absl::Status& status);

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_TCP_TCP_WIRE_H_
