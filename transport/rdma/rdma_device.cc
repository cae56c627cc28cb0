// Copyright 2026 The vifiler Authors.

#include "transport/rdma/rdma_device.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "transport/fabric.h"
#include "transport/rdma/ipoib_address.h"

namespace vifiler {
namespace transport {
namespace rdma {
namespace {

// An IPv4-mapped (::ffff:a.b.c.d) or global IPv6 GID means the RoCE netdev has an address.
bool GidHasIpAddress(const ibv_gid& gid) {
  static const uint8_t kZero[16] = {0};
  if (std::memcmp(gid.raw, kZero, sizeof(kZero)) == 0) return false;
  static const uint8_t kV4Prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(gid.raw, kV4Prefix, sizeof(kV4Prefix)) == 0) return true;
  // fe80::/10 is link local: the default GID every RoCE port has.
  return !(gid.raw[0] == 0xfe && (gid.raw[1] & 0xc0) == 0x80);
}

bool PortUsable(ibv_context* context, uint8_t port_num) {
  ibv_port_attr attr;
  if (ibv_query_port(context, port_num, &attr) != 0) return false;
  if (attr.state != IBV_PORT_ACTIVE) return false;
  // On InfiniBand the IP address lives on an IPoIB netdev the GID table does not show.
  if (attr.link_layer != IBV_LINK_LAYER_ETHERNET) {
    return IpoibPortHasAddress(ibv_get_device_name(context->device), port_num);
  }
  int entries = attr.gid_tbl_len < 64 ? attr.gid_tbl_len : 64;
  for (int i = 0; i < entries; ++i) {
    ibv_gid gid;
    if (ibv_query_gid(context, port_num, i, &gid) == 0 && GidHasIpAddress(gid)) return true;
  }
  return false;
}

}  // namespace

uint32_t MtuBytes(ibv_mtu mtu) {
  switch (mtu) {
    case IBV_MTU_256:
      return 256;
    case IBV_MTU_512:
      return 512;
    case IBV_MTU_1024:
      return 1024;
    case IBV_MTU_2048:
      return 2048;
    case IBV_MTU_4096:
      return 4096;
  }
  return 256;
}

absl::StatusOr<PortInfo> QueryPort(ibv_context* context, uint8_t port_num) {
  if (context == nullptr) return absl::UnavailableError("no RDMA device bound");
  ibv_port_attr port;
  if (ibv_query_port(context, port_num, &port) != 0) {
    return absl::UnavailableError(
        absl::StrCat("ibv_query_port failed on ", ibv_get_device_name(context->device)));
  }
  if (port.state != IBV_PORT_ACTIVE) {
    return absl::UnavailableError(absl::StrCat(
        "port ", port_num, " of ", ibv_get_device_name(context->device), " is not active"));
  }
  ibv_device_attr device;
  if (ibv_query_device(context, &device) != 0) {
    return absl::UnavailableError("ibv_query_device failed");
  }
  PortInfo info;
  info.active_mtu = port.active_mtu;
  info.active_mtu_bytes = MtuBytes(port.active_mtu);
  info.link_layer = port.link_layer;
  info.max_qp_rd_atom = device.max_qp_rd_atom;
  info.max_qp_init_rd_atom = device.max_qp_init_rd_atom;
  info.max_msg_size = port.max_msg_sz;
  info.max_qp_wr = device.max_qp_wr;
  info.max_cqe = device.max_cqe;
  return info;
}

}  // namespace rdma

bool RdmaDeviceAvailable() {
  int count = 0;
  ibv_device** devices = ibv_get_device_list(&count);
  if (devices == nullptr) return false;
  bool found = false;
  for (int d = 0; d < count && !found; ++d) {
    ibv_context* context = ibv_open_device(devices[d]);
    if (context == nullptr) continue;
    ibv_device_attr attr;
    if (ibv_query_device(context, &attr) == 0) {
      for (uint8_t port = 1; port <= attr.phys_port_cnt && !found; ++port) {
        found = rdma::PortUsable(context, port);
      }
    }
    ibv_close_device(context);
  }
  ibv_free_device_list(devices);
  return found;
}

}  // namespace transport
}  // namespace vifiler
