// Copyright 2026 The vifiler Authors.

#include "transport/tcp/tcp_fabric.h"

#include <algorithm>
#include <cstdint>

#include "transport/tcp/tcp_connector.h"
#include "transport/tcp/tcp_listener.h"
#include "transport/tcp/tcp_wire.h"

namespace vifiler {
namespace transport {
namespace {

class TcpFabric : public Fabric {
 public:
  explicit TcpFabric(const FabricOptions& options) {
    params_.credits = std::max<uint32_t>(options.credits, 1);
    params_.max_message_size =
        static_cast<uint32_t>(std::clamp<size_t>(options.max_message_size, 1, UINT32_MAX));
  }

  FabricKind kind() const override { return FabricKind::kTcp; }
  absl::string_view name() const override { return "tcp"; }

  absl::StatusOr<std::unique_ptr<Listener>> Listen(const Endpoint& endpoint) override {
    absl::StatusOr<std::unique_ptr<tcp::TcpListener>> listener =
        tcp::TcpListener::Create(endpoint, params_);
    if (!listener.ok()) return listener.status();
    return std::unique_ptr<Listener>(std::move(*listener));
  }

  absl::StatusOr<std::unique_ptr<Connection>> Connect(const Endpoint& endpoint,
                                                      const PeerIdentity& identity,
                                                      absl::Time deadline) override {
    return tcp::ConnectTcpPeer(endpoint, identity, params_, deadline);
  }

 private:
  tcp::LinkParams params_;
};

}  // namespace

std::unique_ptr<Fabric> NewTcpFabric(const FabricOptions& options) {
  return std::make_unique<TcpFabric>(options);
}

}  // namespace transport
}  // namespace vifiler
