// Copyright 2026 The vifiler Authors.
//
// Small helpers shared by the rdma fabric's files: endpoint <-> sockaddr conversion, deadline
// arithmetic, errno statuses, and waiting (with a deadline) for one rdma_cm event.

#ifndef VIFILER_TRANSPORT_RDMA_RDMA_COMMON_H_
#define VIFILER_TRANSPORT_RDMA_RDMA_COMMON_H_

#include <rdma/rdma_cma.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "transport/fabric.h"

namespace vifiler {
namespace transport {
namespace rdma {

// Wire header in front of every message: [u16 type][u16 credits returned], little-endian.
inline constexpr size_t kHeaderSize = 4;
inline constexpr uint16_t kTypeData = 1;
inline constexpr uint16_t kTypeCredit = 2;

// Parses a numeric IPv4/IPv6 address and sets the port. InvalidArgumentError otherwise.
absl::StatusOr<sockaddr_storage> ToSockaddr(const Endpoint& endpoint);

// "10.0.0.1:7300" or "[fe80::1]:7300"; "?" for an unknown family.
std::string FormatSockaddr(const sockaddr* address);

// Milliseconds until deadline, clamped to [0, max_ms].
int MillisUntil(absl::Time deadline, int max_ms);

// A status with `code`, `what` and strerror(errno) (errno read on entry).
absl::Status ErrnoStatus(absl::StatusCode code, absl::string_view what);

// Sets O_NONBLOCK on fd.
absl::Status SetNonBlocking(int fd);

// What the caller needs from one rdma_cm event, copied out before the event is acked.
struct CmEvent {
  rdma_cm_event_type type = RDMA_CM_EVENT_ADDR_ERROR;
  int status = 0;
  rdma_cm_id* id = nullptr;
  rdma_cm_id* listen_id = nullptr;
  // The private data of a REJECTED or CONNECT_REQUEST event (may be zero padded).
  std::string private_data;
  uint8_t initiator_depth = 0;
  uint8_t responder_resources = 0;
};

// Takes the next event from a non-blocking channel, waiting until deadline, and acks it.
// DeadlineExceededError when none arrives in time.
absl::StatusOr<CmEvent> NextCmEvent(rdma_event_channel* channel, absl::Time deadline);

// The same without waiting: NotFoundError when no event is queued.
absl::StatusOr<CmEvent> PollCmEvent(rdma_event_channel* channel);

// Copies the event's fields (without acking it).
CmEvent CopyCmEvent(const rdma_cm_event& event);

// The printable reason in a reject's private data: bytes up to the first NUL.
std::string RejectReason(absl::string_view private_data);

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_RDMA_RDMA_COMMON_H_
