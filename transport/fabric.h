// Copyright 2026 The vifiler Authors.
//
// Fabric: the factory for listeners and connections of one kind (rdma or tcp). A listener is
// reached by (host address, discriminator): the rdma_cm port on rdma, the TCP port on tcp.

#ifndef VIFILER_TRANSPORT_FABRIC_H_
#define VIFILER_TRANSPORT_FABRIC_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "transport/connection.h"

namespace vifiler {
namespace transport {

enum class FabricKind { kTcp, kRdma };

// Where a listener is: a numeric IPv4/IPv6 host address and a discriminator.
struct Endpoint {
  std::string address;
  uint16_t discriminator = 0;
  std::string ToString() const;
};

// Tunables shared by both fabrics. Defaults suit loopback and soft-RoCE.
struct FabricOptions {
  // Largest message Send accepts (and each posted receive buffer's size).
  size_t max_message_size = 64 * 1024 + 256;
  // Receive buffers posted per connection = send credits granted to the peer.
  uint32_t credits = 16;
};

// Accepts connections on one endpoint. Contract: Accept waits until deadline; Close() makes
// pending and later Accept calls fail with CancelledError and frees the endpoint, so a new
// connection attempt is refused. Thread-safe.
class Listener {
 public:
  virtual ~Listener() = default;
  virtual absl::StatusOr<std::unique_ptr<Connection>> Accept(absl::Time deadline) = 0;
  virtual void Close() = 0;
  virtual const Endpoint& endpoint() const = 0;
};

// Thread-safe. Connect errors say what happened: UnavailableError for refused/rejected/
// unreachable (with the reason), DeadlineExceededError for timeouts, InvalidArgumentError for
// bad endpoints or identities, FailedPreconditionError when this host cannot use the fabric at
// all (rdma without an RDMA stack or device). The last two do not go away by retrying.
class Fabric {
 public:
  virtual ~Fabric() = default;
  virtual FabricKind kind() const = 0;
  virtual absl::string_view name() const = 0;
  virtual absl::StatusOr<std::unique_ptr<Listener>> Listen(const Endpoint& endpoint) = 0;
  virtual absl::StatusOr<std::unique_ptr<Connection>> Connect(const Endpoint& endpoint,
                                                              const PeerIdentity& identity,
                                                              absl::Time deadline) = 0;
};

// "tcp", "rdma" or "auto" (rdma when an RDMA device with an IP address exists, else tcp).
absl::StatusOr<std::unique_ptr<Fabric>> CreateFabric(absl::string_view kind,
                                                     const FabricOptions& options = {});

// True when at least one RDMA device has an active port with an IP address.
bool RdmaDeviceAvailable();

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_FABRIC_H_
