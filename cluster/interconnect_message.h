// Copyright 2026 The vifiler Authors.
//
// InterconnectMessage: what the two filers of a pair tell each other on the interconnect
// (heartbeats, failure notices, giveback handshakes), and its wire format.
//
// Wire format (little-endian): u32 magic "VIFI", u16 version, u16 type, u64 incarnation,
// u64 sequence, u32 state, u64 epoch, sender as u32 length + bytes, detail as u32 length +
// bytes. DecodeInterconnectMessage never reads past its input and rejects (InvalidArgumentError
// with a reason) a bad magic or version, unknown types and states, strings over
// kMaxInterconnectString bytes, truncated input and trailing bytes.

#ifndef VIFILER_CLUSTER_INTERCONNECT_MESSAGE_H_
#define VIFILER_CLUSTER_INTERCONNECT_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cluster/filer_state.h"

namespace vifiler {
namespace cluster {

inline constexpr uint32_t kInterconnectMagic = 0x49464956;  // "VIFI" in memory order
inline constexpr uint16_t kInterconnectVersion = 1;
// Longest sender and detail strings, in bytes.
inline constexpr size_t kMaxInterconnectString = 256;

// Values are on the wire: never renumber.
enum class InterconnectMessageType : uint16_t {
  kHeartbeat = 1,
  kFailing = 2,
  kHalting = 3,
  kRelinquishRequest = 4,
  kGivebackDone = 5,
};

const char* InterconnectMessageTypeName(InterconnectMessageType type);

struct InterconnectMessage {
  InterconnectMessageType type = InterconnectMessageType::kHeartbeat;
  std::string sender;
  uint64_t incarnation = 0;  // random per process start
  uint64_t sequence = 0;
  FilerState state = FilerState::kStarting;
  uint64_t epoch = 0;  // sender's epoch on its own volume
  std::string detail;
};

// Strings longer than kMaxInterconnectString are truncated to it (and logged), so the result
// always decodes.
std::string EncodeInterconnectMessage(const InterconnectMessage& m);
absl::StatusOr<InterconnectMessage> DecodeInterconnectMessage(absl::string_view data);

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_INTERCONNECT_MESSAGE_H_
