// Copyright 2026 The vifiler Authors.
//
// The connect-time handshake both fabrics use: rdma carries it in the rdma_cm private data
// (at most 56 bytes in RDMA_PS_TCP), tcp sends it as the first bytes on the socket. A listener
// rejects a peer whose magic or version does not match, with a reason.
//
// Layout (kHandshakeSize bytes, little-endian): u32 magic "VIFT", u16 version, u16 purpose,
// u8 identity length, kMaxIdentityLength identity bytes (zero padded).

#ifndef VIFILER_TRANSPORT_HANDSHAKE_H_
#define VIFILER_TRANSPORT_HANDSHAKE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/connection.h"

namespace vifiler {
namespace transport {

inline constexpr uint32_t kHandshakeMagic = 0x54464956;  // "VIFT"
inline constexpr uint16_t kHandshakeVersion = 1;
inline constexpr size_t kHandshakeSize = 4 + 2 + 2 + 1 + kMaxIdentityLength;

// InvalidArgumentError when the identity is longer than kMaxIdentityLength.
absl::StatusOr<std::string> EncodeHandshake(const PeerIdentity& identity);
// InvalidArgumentError ("bad magic", "unsupported version N", "truncated") for anything else
// than a well-formed handshake. The returned identity has no address.
absl::StatusOr<PeerIdentity> DecodeHandshake(absl::string_view data);

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_HANDSHAKE_H_
