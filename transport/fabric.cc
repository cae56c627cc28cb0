// Copyright 2026 The vifiler Authors.

#include "transport/fabric.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "transport/rdma/rdma_fabric.h"
#include "transport/tcp/tcp_fabric.h"

namespace vifiler {
namespace transport {

std::string Endpoint::ToString() const {
  if (absl::StrContains(address, ':')) return absl::StrCat("[", address, "]:", discriminator);
  return absl::StrCat(address, ":", discriminator);
}

absl::StatusOr<std::unique_ptr<Fabric>> CreateFabric(absl::string_view kind,
                                                     const FabricOptions& options) {
  if (kind == "tcp") return NewTcpFabric(options);
  if (kind == "rdma") return NewRdmaFabric(options);
  if (kind == "auto") {
    if (RdmaDeviceAvailable()) return NewRdmaFabric(options);
    return NewTcpFabric(options);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown fabric \"", kind, "\"; choose tcp, rdma or auto"));
}

}  // namespace transport
}  // namespace vifiler
