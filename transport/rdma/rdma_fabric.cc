// Copyright 2026 The vifiler Authors.

#include "transport/rdma/rdma_fabric.h"

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "transport/handshake.h"
#include "transport/rdma/rdma_common.h"
#include "transport/rdma/rdma_connection.h"
#include "transport/rdma/rdma_listener.h"

namespace vifiler {
namespace transport {
namespace {

// rdma_cm's own resolve timeouts are capped so a deadline far away still gets a prompt error.
constexpr int kMaxResolveMs = 5000;
// IB_CM_REJ_CONSUMER_DEFINED: the listener called rdma_reject (its reason is private data).
// Anything else (e.g. 8, invalid service id) means nobody listens on that port.
constexpr int kConsumerReject = 28;

// Owns an rdma_cm id and its event channel until a connection takes them over.
class CmIdGuard {
 public:
  CmIdGuard() = default;
  ~CmIdGuard() {
    if (id != nullptr) rdma_destroy_id(id);
    if (channel != nullptr) rdma_destroy_event_channel(channel);
  }
  CmIdGuard(const CmIdGuard&) = delete;
  CmIdGuard& operator=(const CmIdGuard&) = delete;
  void Release() {
    id = nullptr;
    channel = nullptr;
  }
  rdma_event_channel* channel = nullptr;
  rdma_cm_id* id = nullptr;
};

class RdmaFabric : public Fabric {
 public:
  explicit RdmaFabric(const FabricOptions& options) : options_(options) {}
  FabricKind kind() const override { return FabricKind::kRdma; }
  absl::string_view name() const override { return "rdma"; }

  absl::StatusOr<std::unique_ptr<Listener>> Listen(const Endpoint& endpoint) override {
    absl::StatusOr<std::unique_ptr<rdma::RdmaListener>> listener =
        rdma::RdmaListener::Create(endpoint, options_);
    if (!listener.ok()) return listener.status();
    return std::unique_ptr<Listener>(std::move(*listener));
  }

  absl::StatusOr<std::unique_ptr<Connection>> Connect(const Endpoint& endpoint,
                                                      const PeerIdentity& identity,
                                                      absl::Time deadline) override;

 private:
  const FabricOptions options_;
};

// Waits for `expected`; any other event or the deadline becomes an error naming `where`.
absl::Status Expect(rdma_event_channel* channel, rdma_cm_event_type expected,
                    const std::string& where, const char* step, absl::Time deadline) {
  absl::StatusOr<rdma::CmEvent> event = rdma::NextCmEvent(channel, deadline);
  if (!event.ok()) {
    if (absl::IsDeadlineExceeded(event.status())) {
      return absl::DeadlineExceededError(
          absl::StrCat("rdma connect to ", where, ": timed out in ", step));
    }
    return absl::UnavailableError(
        absl::StrCat("rdma connect to ", where, ": ", event.status().message()));
  }
  if (event->type == expected) return absl::OkStatus();
  switch (event->type) {
    case RDMA_CM_EVENT_REJECTED: {
      std::string reason = rdma::RejectReason(event->private_data);
      if (event->status == kConsumerReject && !reason.empty()) {
        return absl::UnavailableError(
            absl::StrCat("rdma connect to ", where, ": rejected by the listener: ", reason));
      }
      return absl::UnavailableError(absl::StrCat("rdma connect to ", where,
                                                 ": connection refused (no listener on that "
                                                 "discriminator; reject status ",
                                                 event->status, ")"));
    }
    case RDMA_CM_EVENT_UNREACHABLE:
      return absl::UnavailableError(
          absl::StrCat("rdma connect to ", where, ": unreachable (", event->status, ")"));
    case RDMA_CM_EVENT_ADDR_ERROR:
      return absl::UnavailableError(absl::StrCat(
          "rdma connect to ", where, ": address resolution failed (", event->status, ")"));
    case RDMA_CM_EVENT_ROUTE_ERROR:
      return absl::UnavailableError(absl::StrCat(
          "rdma connect to ", where, ": route resolution failed (", event->status, ")"));
    default:
      return absl::UnavailableError(absl::StrCat("rdma connect to ", where, ": ", step,
                                                 " failed: ", rdma_event_str(event->type), " (",
                                                 event->status, ")"));
  }
}

// An address that did not resolve to an RDMA device: FailedPreconditionError when this host
// has no RDMA device at all (retrying cannot help), else `status` unchanged.
absl::Status NoDeviceOr(absl::Status status) {
  int count = 0;
  ibv_device** devices = ibv_get_device_list(&count);
  if (devices != nullptr) ibv_free_device_list(devices);
  if (devices != nullptr && count > 0) return status;
  return absl::FailedPreconditionError(
      absl::StrCat(status.message(), " (this host has no RDMA device)"));
}

absl::StatusOr<std::unique_ptr<Connection>> RdmaFabric::Connect(const Endpoint& endpoint,
                                                                const PeerIdentity& identity,
                                                                absl::Time deadline) {
  absl::StatusOr<std::string> handshake = EncodeHandshake(identity);
  if (!handshake.ok()) return handshake.status();
  absl::StatusOr<sockaddr_storage> address = rdma::ToSockaddr(endpoint);
  if (!address.ok()) return address.status();
  const std::string where = rdma::FormatSockaddr(reinterpret_cast<sockaddr*>(&*address));

  CmIdGuard guard;
  guard.channel = rdma_create_event_channel();
  if (guard.channel == nullptr) {
    // No rdma_cm device node: this host has no RDMA stack, and asking again will not add one.
    const bool absent = errno == ENODEV || errno == ENOENT || errno == ENXIO;
    return rdma::ErrnoStatus(
        absent ? absl::StatusCode::kFailedPrecondition : absl::StatusCode::kUnavailable,
        absl::StrCat("rdma connect to ", where, ": no RDMA support on this host"));
  }
  absl::Status status = rdma::SetNonBlocking(guard.channel->fd);
  if (!status.ok()) return status;
  if (rdma_create_id(guard.channel, &guard.id, nullptr, RDMA_PS_TCP) != 0) {
    guard.id = nullptr;
    return rdma::ErrnoStatus(absl::StatusCode::kUnavailable,
                             absl::StrCat("rdma connect to ", where, ": rdma_create_id"));
  }
  int timeout_ms = std::max(1, rdma::MillisUntil(deadline, kMaxResolveMs));
  if (rdma_resolve_addr(guard.id, nullptr, reinterpret_cast<sockaddr*>(&*address), timeout_ms) !=
      0) {
    return NoDeviceOr(
        rdma::ErrnoStatus(absl::StatusCode::kUnavailable,
                          absl::StrCat("rdma connect to ", where, ": rdma_resolve_addr")));
  }
  status =
      Expect(guard.channel, RDMA_CM_EVENT_ADDR_RESOLVED, where, "address resolution", deadline);
  if (!status.ok()) return absl::IsDeadlineExceeded(status) ? status : NoDeviceOr(status);
  timeout_ms = std::max(1, rdma::MillisUntil(deadline, kMaxResolveMs));
  if (rdma_resolve_route(guard.id, timeout_ms) != 0) {
    return rdma::ErrnoStatus(absl::StatusCode::kUnavailable,
                             absl::StrCat("rdma connect to ", where, ": rdma_resolve_route"));
  }
  status = Expect(guard.channel, RDMA_CM_EVENT_ROUTE_RESOLVED, where, "route resolution", deadline);
  if (!status.ok()) return status;

  PeerIdentity self = identity;
  self.address = where;
  auto connection =
      std::make_unique<rdma::RdmaConnection>(guard.id, guard.channel, options_, std::move(self));
  rdma_event_channel* channel = guard.channel;
  rdma_cm_id* id = guard.id;
  guard.Release();  // the connection owns id and channel now
  status = connection->Prepare();
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("rdma connect to ", where, ": ", status.message()));
  }
  rdma_conn_param param = connection->ConnParam();
  param.private_data = handshake->data();
  param.private_data_len = static_cast<uint8_t>(handshake->size());
  if (rdma_connect(id, &param) != 0) {
    return rdma::ErrnoStatus(absl::StatusCode::kUnavailable,
                             absl::StrCat("rdma connect to ", where, ": rdma_connect"));
  }
  status = Expect(channel, RDMA_CM_EVENT_ESTABLISHED, where, "connect", deadline);
  if (!status.ok()) return status;
  status = connection->Start();
  if (!status.ok()) return status;
  return std::unique_ptr<Connection>(std::move(connection));
}

}  // namespace

std::unique_ptr<Fabric> NewRdmaFabric(const FabricOptions& options) {
  return std::make_unique<RdmaFabric>(options);
}

}  // namespace transport
}  // namespace vifiler
