// Copyright 2026 The vifiler Authors.
//
// The rdma fabric: librdmacm connection management (RDMA_PS_TCP, the discriminator is the
// rdma_cm port) and libibverbs RC queue pairs for messages and one-sided RDMA WRITE / READ.

#ifndef VIFILER_TRANSPORT_RDMA_RDMA_FABRIC_H_
#define VIFILER_TRANSPORT_RDMA_RDMA_FABRIC_H_

#include <memory>

#include "transport/fabric.h"

namespace vifiler {
namespace transport {

// Returns a Fabric whose listeners and connections run over rdma_cm + verbs. Creating it never
// fails; Listen/Connect report a missing device as UnavailableError.
std::unique_ptr<Fabric> NewRdmaFabric(const FabricOptions& options);

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_RDMA_RDMA_FABRIC_H_
