// Copyright 2026 The vifiler Authors.

#include "tools/bench/message_sizes.h"

#include <string>

#include "protocol/codec.h"
#include "protocol/messages.h"

namespace vifiler {
namespace bench {

RoundTripSize InlineReadSize(size_t length) {
  protocol::MessageHeader header;
  header.opcode = protocol::Opcode::kRead;
  protocol::ReadRequest request;
  request.length = static_cast<uint32_t>(length);
  protocol::ReadReply reply;
  reply.count = static_cast<uint32_t>(length);
  reply.data.assign(length, 'x');
  return {protocol::EncodeMessage(header, request).size(),
          protocol::EncodeMessage(header, reply).size()};
}

RoundTripSize InlineWriteSize(size_t length) {
  protocol::MessageHeader header;
  header.opcode = protocol::Opcode::kWrite;
  protocol::WriteRequest request;
  request.length = static_cast<uint32_t>(length);
  request.data.assign(length, 'x');
  protocol::WriteReply reply;
  reply.count = static_cast<uint32_t>(length);
  return {protocol::EncodeMessage(header, request).size(),
          protocol::EncodeMessage(header, reply).size()};
}

}  // namespace bench
}  // namespace vifiler
