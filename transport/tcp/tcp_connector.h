// Copyright 2026 The vifiler Authors.
//
// The connecting side of the tcp fabric: connects, sends the hello (handshake.h plus this
// side's LinkParams, tcp_wire.h) and waits for the listener's answer, all before one deadline.

#ifndef VIFILER_TRANSPORT_TCP_TCP_CONNECTOR_H_
#define VIFILER_TRANSPORT_TCP_TCP_CONNECTOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "transport/connection.h"
#include "transport/fabric.h"
#include "transport/tcp/tcp_wire.h"

namespace vifiler {
namespace transport {
namespace tcp {

// UnavailableError when refused ("connection refused by ADDR:PORT"), rejected ("rejected by
// ADDR:PORT: bad magic") or cut off; DeadlineExceededError when the deadline passes;
// InvalidArgumentError for a bad endpoint or identity.
absl::StatusOr<std::unique_ptr<Connection>> ConnectTcpPeer(const Endpoint& endpoint,
                                                           const PeerIdentity& identity,
                                                           const LinkParams& params,
                                                           absl::Time deadline);

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_TCP_TCP_CONNECTOR_H_
