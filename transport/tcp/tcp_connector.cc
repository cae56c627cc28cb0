// Copyright 2026 The vifiler Authors.

#include "transport/tcp/tcp_connector.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/handshake.h"
#include "transport/tcp/socket_io.h"
#include "transport/tcp/tcp_connection.h"

namespace vifiler {
namespace transport {
namespace tcp {
namespace {

// Maps a socket failure during the handshake to the Connect contract.
absl::Status HandshakeFailure(const Endpoint& endpoint, const absl::Status& status) {
  if (absl::IsDeadlineExceeded(status)) {
    return absl::DeadlineExceededError(
        absl::StrCat("timed out in the handshake with ", endpoint.ToString()));
  }
  return absl::UnavailableError(
      absl::StrCat("handshake with ", endpoint.ToString(), " failed: ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> ConnectTcpPeer(const Endpoint& endpoint,
                                                           const PeerIdentity& identity,
                                                           const LinkParams& params,
                                                           absl::Time deadline) {
  absl::StatusOr<std::string> handshake = EncodeHandshake(identity);
  if (!handshake.ok()) return handshake.status();
  absl::StatusOr<ScopedFd> fd = ConnectTcp(endpoint, deadline);
  if (!fd.ok()) return fd.status();

  std::string hello = EncodeHello(*handshake, params);
  iovec iov = {hello.data(), hello.size()};
  size_t written = 0;
  absl::Status status = WriteFully(fd->get(), &iov, 1, deadline, &written);
  if (!status.ok()) return HandshakeFailure(endpoint, status);

  char header[kReplySize];
  status = ReadFully(fd->get(), header, kReplySize, deadline);
  if (!status.ok()) return HandshakeFailure(endpoint, status);
  absl::StatusOr<Reply> reply = DecodeReplyHeader(absl::string_view(header, kReplySize));
  if (!reply.ok()) return HandshakeFailure(endpoint, reply.status());
  if (!reply->accepted) {
    std::string reason(reply->reason_length, '\0');
    status = ReadFully(fd->get(), reason.data(), reason.size(), deadline);
    if (!status.ok()) reason = "no reason given";
    return absl::UnavailableError(absl::StrCat("rejected by ", endpoint.ToString(), ": ", reason));
  }
  const LinkParams& agreed = reply->params;
  if (reply->reason_length != 0 || agreed.credits == 0 || agreed.credits > params.credits ||
      agreed.max_message_size == 0 || agreed.max_message_size > params.max_message_size) {
    return absl::UnavailableError(
        absl::StrCat("handshake with ", endpoint.ToString(), " failed: bad parameters"));
  }
  PeerIdentity self = identity;
  self.address = endpoint.ToString();
  return std::unique_ptr<Connection>(new TcpConnection(std::move(*fd), std::move(self), agreed));
}

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler
