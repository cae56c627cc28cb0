// Copyright 2026 The vifiler Authors.

#include "tests/integration/raw_session.h"

#include "absl/time/clock.h"

namespace vifiler {
namespace testing {

absl::Status RawSession::Open(const TestFabric& fabric, const std::string& client_id) {
  auto f = transport::CreateFabric(fabric.fabric);
  if (!f.ok()) return f.status();
  fabric_ = std::move(*f);
  transport::PeerIdentity id;
  id.identity = client_id;
  id.purpose = transport::kPurposeDataAccess;
  auto c = fabric_->Connect({fabric.address_a, 7300}, id, absl::Now() + absl::Seconds(5));
  if (!c.ok()) return c.status();
  conn_ = std::move(*c);
  protocol::SessionCreateRequest req;
  req.client_id = client_id;
  req.slots = 4;
  std::string reply;
  auto h = Request(protocol::Opcode::kSessionCreate, 0, 0, req, &reply);
  if (!h.ok()) return h.status();
  if (h->status != protocol::ErrorCode::kOk) {
    return absl::UnavailableError(protocol::ErrorCodeName(h->status));
  }
  protocol::SessionCreateReply created;
  absl::Status s = protocol::DecodeMessageBody(reply, &created);
  session_ = created.session_id;
  root_ = created.root;
  return s;
}

absl::StatusOr<std::string> RawSession::Call(const std::string& message) {
  absl::Status s = conn_->Send(message, absl::Now() + absl::Seconds(5));
  if (!s.ok()) return s;
  return conn_->Receive(absl::Now() + absl::Seconds(5));
}

}  // namespace testing
}  // namespace vifiler
