// Copyright 2026 The vifiler Authors.
//
// Device queries for the rdma fabric: whether any usable device exists (RdmaDeviceAvailable,
// declared in transport/fabric.h) and the attributes of the port a connection runs on.

#ifndef VIFILER_TRANSPORT_RDMA_RDMA_DEVICE_H_
#define VIFILER_TRANSPORT_RDMA_RDMA_DEVICE_H_

#include <infiniband/verbs.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace vifiler {
namespace transport {
namespace rdma {

// What a connection needs to know about its device and port.
struct PortInfo {
  ibv_mtu active_mtu = IBV_MTU_1024;
  // Bytes, from active_mtu.
  uint32_t active_mtu_bytes = 1024;
  uint8_t link_layer = IBV_LINK_LAYER_UNSPECIFIED;
  // Limits for one-sided reads (ibv_device_attr).
  int max_qp_rd_atom = 0;
  int max_qp_init_rd_atom = 0;
  uint32_t max_msg_size = 0;
  int max_qp_wr = 0;
  int max_cqe = 0;
};

// Queries device and port attributes. UnavailableError when the port is not active.
absl::StatusOr<PortInfo> QueryPort(ibv_context* context, uint8_t port_num);

// 256 for IBV_MTU_256 ... 4096 for IBV_MTU_4096.
uint32_t MtuBytes(ibv_mtu mtu);

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_RDMA_RDMA_DEVICE_H_
