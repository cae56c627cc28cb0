// Copyright 2026 The vifiler Authors.
//
// The tcp fabric: the Fabric contract over TCP sockets, for hosts without RDMA. The
// discriminator is the TCP port. Messages, credits and one-sided operations travel as frames
// on the connection's single stream (tcp_wire.h); see tcp_connection.h and tcp_listener.h.

#ifndef VIFILER_TRANSPORT_TCP_TCP_FABRIC_H_
#define VIFILER_TRANSPORT_TCP_TCP_FABRIC_H_

#include <memory>

#include "transport/fabric.h"

namespace vifiler {
namespace transport {

// Never fails. options.credits and options.max_message_size are this side's offer; a
// connection uses the smaller of both sides' values.
std::unique_ptr<Fabric> NewTcpFabric(const FabricOptions& options);

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_TCP_TCP_FABRIC_H_
