// Copyright 2026 The vifiler Authors.

#include "cluster/interconnect_message.h"

#include <glog/logging.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "protocol/codec.h"

namespace vifiler {
namespace cluster {
namespace {

absl::string_view Bounded(absl::string_view s, absl::string_view field) {
  if (s.size() <= kMaxInterconnectString) return s;
  LOG(WARNING) << "interconnect message " << field << " of " << s.size() << " bytes truncated to "
               << kMaxInterconnectString;
  return s.substr(0, kMaxInterconnectString);
}

bool KnownType(uint16_t type) {
  return type >= static_cast<uint16_t>(InterconnectMessageType::kHeartbeat) &&
         type <= static_cast<uint16_t>(InterconnectMessageType::kGivebackDone);
}

bool KnownState(uint32_t state) { return state <= static_cast<uint32_t>(FilerState::kHalting); }

}  // namespace

const char* InterconnectMessageTypeName(InterconnectMessageType type) {
  switch (type) {
    case InterconnectMessageType::kHeartbeat:
      return "HEARTBEAT";
    case InterconnectMessageType::kFailing:
      return "FAILING";
    case InterconnectMessageType::kHalting:
      return "HALTING";
    case InterconnectMessageType::kRelinquishRequest:
      return "RELINQUISH_REQUEST";
    case InterconnectMessageType::kGivebackDone:
      return "GIVEBACK_DONE";
  }
  return "UNKNOWN";
}

std::string EncodeInterconnectMessage(const InterconnectMessage& m) {
  std::string out;
  protocol::Encoder e(&out);
  e.PutU32(kInterconnectMagic);
  e.PutU16(kInterconnectVersion);
  e.PutU16(static_cast<uint16_t>(m.type));
  e.PutU64(m.incarnation);
  e.PutU64(m.sequence);
  e.PutU32(static_cast<uint32_t>(m.state));
  e.PutU64(m.epoch);
  e.PutString(Bounded(m.sender, "sender"));
  e.PutString(Bounded(m.detail, "detail"));
  return out;
}

absl::StatusOr<InterconnectMessage> DecodeInterconnectMessage(absl::string_view data) {
  protocol::Decoder d(data);
  uint32_t magic = 0;
  uint16_t version = 0;
  if (!d.GetU32(&magic)) return d.status();
  if (magic != kInterconnectMagic) {
    return absl::InvalidArgumentError(absl::StrCat("bad interconnect magic 0x", absl::Hex(magic)));
  }
  if (!d.GetU16(&version)) return d.status();
  if (version != kInterconnectVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported interconnect version ", version));
  }
  InterconnectMessage m;
  uint16_t type = 0;
  uint32_t state = 0;
  d.GetU16(&type);
  d.GetU64(&m.incarnation);
  d.GetU64(&m.sequence);
  d.GetU32(&state);
  d.GetU64(&m.epoch);
  d.GetString(&m.sender, kMaxInterconnectString);
  d.GetString(&m.detail, kMaxInterconnectString);
  if (absl::Status status = d.Finish(); !status.ok()) return status;
  if (!KnownType(type)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown interconnect message type ", type));
  }
  if (!KnownState(state)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown filer state ", state));
  }
  m.type = static_cast<InterconnectMessageType>(type);
  m.state = static_cast<FilerState>(state);
  return m;
}

}  // namespace cluster
}  // namespace vifiler
