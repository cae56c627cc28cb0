// Copyright 2026 The vifiler Authors.
//
// The messages of the raw fabric baseline, exchanged between vifiler-bench and its raw server
// child over a bare transport::Connection (purpose kPurposeBenchmark). They carry no file
// protocol, only what the transfer needs, so the baseline is what the fabric itself costs.
//
// Request (little-endian; padded with zeros to the size the measurement wants):
//   u32 op, u32 reply_size, u64 tag, u64 buffer.address, u32 buffer.key, u32 buffer.length
// Reply (padded to reply_size, at least kRawReplyHeaderSize):
//   u64 tag, u32 status (0: done; otherwise the server could not do it)
//
// kPing: the server answers at once. kBulkRead: the server WriteRemote()s buffer.length bytes
// from its registered staging buffer into the client's buffer, then answers (the mirror of a
// direct vifiler read). kBulkWrite: the server ReadRemote()s them into its staging buffer, then
// answers (the mirror of a direct write).

#ifndef VIFILER_TOOLS_BENCH_RAW_PROTOCOL_H_
#define VIFILER_TOOLS_BENCH_RAW_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/connection.h"

namespace vifiler {
namespace bench {

enum class RawOp : uint32_t { kPing = 1, kBulkRead = 2, kBulkWrite = 3 };

inline constexpr size_t kRawRequestHeaderSize = 32;
inline constexpr size_t kRawReplyHeaderSize = 12;
// The discriminator the raw server listens on by default.
inline constexpr uint16_t kDefaultRawDiscriminator = 7399;

struct RawRequest {
  RawOp op = RawOp::kPing;
  uint32_t reply_size = kRawReplyHeaderSize;
  uint64_t tag = 0;
  transport::RemoteBuffer buffer;
};

struct RawReply {
  uint64_t tag = 0;
  uint32_t status = 0;
};

// The request padded to max(size, kRawRequestHeaderSize) bytes.
std::string EncodeRawRequest(const RawRequest& request, size_t size);
// InvalidArgumentError for short messages, unknown ops or a reply size below the header.
absl::StatusOr<RawRequest> DecodeRawRequest(absl::string_view message);

// The reply padded to max(size, kRawReplyHeaderSize) bytes.
std::string EncodeRawReply(const RawReply& reply, size_t size);
absl::StatusOr<RawReply> DecodeRawReply(absl::string_view message);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_RAW_PROTOCOL_H_
