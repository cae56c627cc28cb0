// Copyright 2026 The vifiler Authors.
//
// RawSession: a data access session spoken directly, without the client library, to send what
// a well-behaved client never would (replays with chosen flags, malformed messages, silence).
//
// Contract: Open() connects to fabric.address_a:7300 as client_id and creates a session with 4
// slots (an error status when the filer refuses it). Request() sends one request on the
// session and waits for one message back (5 s bounds on both); Call() does the same with a
// message the caller encoded. Close() drops the connection. Not thread-safe.

#ifndef VIFILER_TESTS_INTEGRATION_RAW_SESSION_H_
#define VIFILER_TESTS_INTEGRATION_RAW_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "tests/integration/test_env.h"
#include "transport/fabric.h"

namespace vifiler {
namespace testing {

class RawSession {
 public:
  absl::Status Open(const TestFabric& fabric, const std::string& client_id);
  absl::StatusOr<std::string> Call(const std::string& message);

  template <typename Body>
  absl::StatusOr<protocol::MessageHeader> Request(protocol::Opcode op, uint32_t slot, uint64_t seq,
                                                  const Body& body, std::string* reply = nullptr,
                                                  uint32_t flags = 0) {
    protocol::MessageHeader h;
    h.opcode = op;
    h.session_id = session_;
    h.slot = slot;
    h.sequence = seq;
    h.flags = flags;
    absl::StatusOr<std::string> r = Call(protocol::EncodeMessage(h, body));
    if (!r.ok()) return r.status();
    if (reply != nullptr) *reply = *r;
    return protocol::DecodeHeader(*r);
  }

  void Close() { conn_.reset(); }
  transport::Connection* connection() { return conn_.get(); }
  const protocol::FileHandle& root() const { return root_; }

 private:
  std::unique_ptr<transport::Fabric> fabric_;
  std::unique_ptr<transport::Connection> conn_;
  uint64_t session_ = 0;
  protocol::FileHandle root_;
};

}  // namespace testing
}  // namespace vifiler

#endif  // VIFILER_TESTS_INTEGRATION_RAW_SESSION_H_
