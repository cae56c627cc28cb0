// Copyright 2026 The vifiler Authors.

#include "tools/bench/admin_client.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cluster/admin_server.h"

namespace vifiler {
namespace bench {

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Create(uint16_t discriminator) {
  absl::StatusOr<std::unique_ptr<transport::Fabric>> tcp = transport::CreateFabric("tcp");
  if (!tcp.ok()) return tcp.status();
  return std::unique_ptr<AdminClient>(new AdminClient(std::move(*tcp), discriminator));
}

absl::StatusOr<std::string> AdminClient::Command(const std::string& address,
                                                 const std::string& command,
                                                 absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  transport::PeerIdentity identity;
  identity.identity = "vifiler-bench";
  identity.purpose = transport::kPurposeAdmin;
  absl::StatusOr<std::unique_ptr<transport::Connection>> c =
      fabric_->Connect({address, discriminator_}, identity, deadline);
  if (!c.ok()) return c.status();
  absl::Status s = (*c)->Send(cluster::EncodeAdminRequest(command, ""), deadline);
  if (!s.ok()) return s;
  absl::StatusOr<std::string> reply = (*c)->Receive(deadline);
  (*c)->Close();
  if (!reply.ok()) return reply.status();
  return cluster::ParseAdminReply(*reply);
}

absl::StatusOr<std::map<std::string, std::string>> AdminClient::Status(const std::string& address,
                                                                       absl::Duration timeout) {
  absl::StatusOr<std::string> body = Command(address, "status", timeout);
  if (!body.ok()) return body.status();
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(*body, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

absl::Status AdminClient::WaitFor(const std::string& address, const std::string& key,
                                  const std::string& value, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "(no answer)";
  while (absl::Now() < deadline) {
    absl::StatusOr<std::map<std::string, std::string>> status =
        Status(address, std::min(absl::Seconds(2), deadline - absl::Now()));
    if (status.ok()) {
      last = (*status)[key];
      if (last == value) return absl::OkStatus();
    } else {
      last = std::string(status.status().message());
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(address, ": ", key, " is '", last, "', not '", value, "'"));
}

}  // namespace bench
}  // namespace vifiler
