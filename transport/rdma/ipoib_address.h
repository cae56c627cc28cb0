// Copyright 2026 The vifiler Authors.
//
// Whether an InfiniBand port has an IP address: on InfiniBand the address lives on an IPoIB
// network interface, which the port's GID table does not show (unlike RoCE, where the GIDs
// carry the addresses). The fabric's `auto` choice picks rdma only for a port that has one:
// rdma_cm resolves and binds IP addresses, so a port without IPoIB address reaches nobody.
//
// Contract:
//  - IpoibInterfaces(sysfs, device, port) lists the network interfaces of `device` (an IB
//    device name, e.g. "mlx5_0") that are IPoIB interfaces (type 32, ARPHRD_INFINIBAND) of
//    `port` (1-based): the entries of SYSFS/class/infiniband/DEVICE/device/net/ whose
//    SYSFS/class/net/IF/type is 32 and whose dev_port (or, on kernels without it, dev_id, in
//    hex) is port - 1. An interface that says neither is taken to belong to every port.
//    `sysfs` is "/sys" but for tests. An unreadable tree lists nothing.
//  - HasRoutableAddress(interfaces, addresses) says whether one of `interfaces` has an IPv4
//    address, or an IPv6 address that is not link-local, in `addresses` (a getifaddrs list;
//    entries without an address are skipped).
//  - IpoibPortHasAddress(device, port) puts the two together on this host.

#ifndef VIFILER_TRANSPORT_RDMA_IPOIB_ADDRESS_H_
#define VIFILER_TRANSPORT_RDMA_IPOIB_ADDRESS_H_

#include <ifaddrs.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace vifiler {
namespace transport {
namespace rdma {

std::vector<std::string> IpoibInterfaces(absl::string_view sysfs, absl::string_view device,
                                         uint8_t port);
bool HasRoutableAddress(const std::vector<std::string>& interfaces, const ifaddrs* addresses);
bool IpoibPortHasAddress(absl::string_view device, uint8_t port);

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_RDMA_IPOIB_ADDRESS_H_
