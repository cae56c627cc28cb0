// Copyright 2026 The vifiler Authors.

#include "transport/handshake.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace vifiler {
namespace transport {
namespace {

void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLE(absl::string_view in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in[pos + i])} << (8 * i);
  return v;
}

}  // namespace

absl::StatusOr<std::string> EncodeHandshake(const PeerIdentity& identity) {
  if (identity.identity.size() > kMaxIdentityLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("identity longer than %d bytes", kMaxIdentityLength));
  }
  std::string out;
  out.reserve(kHandshakeSize);
  PutLE(&out, kHandshakeMagic, 4);
  PutLE(&out, kHandshakeVersion, 2);
  PutLE(&out, identity.purpose, 2);
  PutLE(&out, identity.identity.size(), 1);
  out.append(identity.identity);
  out.resize(kHandshakeSize, '\0');
  return out;
}

absl::StatusOr<PeerIdentity> DecodeHandshake(absl::string_view data) {
  if (data.size() < kHandshakeSize) return absl::InvalidArgumentError("truncated handshake");
  if (GetLE(data, 0, 4) != kHandshakeMagic) return absl::InvalidArgumentError("bad magic");
  uint64_t version = GetLE(data, 4, 2);
  if (version != kHandshakeVersion) {
    return absl::InvalidArgumentError(absl::StrFormat("unsupported version %d", version));
  }
  PeerIdentity identity;
  identity.purpose = static_cast<uint16_t>(GetLE(data, 6, 2));
  size_t length = GetLE(data, 8, 1);
  if (length > kMaxIdentityLength) return absl::InvalidArgumentError("identity too long");
  identity.identity.assign(data.data() + 9, length);
  return identity;
}

}  // namespace transport
}  // namespace vifiler
