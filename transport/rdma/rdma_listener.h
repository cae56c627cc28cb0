// Copyright 2026 The vifiler Authors.
//
// RdmaListener: the Listener contract over an rdma_cm id listening in RDMA_PS_TCP on
// (address, discriminator = rdma_cm port).
//
// It owns an rdma_cm event channel and one thread blocked in poll() on it (with a timeout and a
// wake-up eventfd). CONNECT_REQUEST: the handshake in the private data is validated (on
// failure rdma_reject with the reason as private data, e.g. "bad magic"), the connection's
// QP, CQ and buffers are created and rdma_accept is called. ESTABLISHED: the connection moves
// to its own event channel, starts its completion thread and is queued for Accept.
// Close() destroys the listening id (the port is free; later connects are refused), fails
// pending and later Accept calls with CancelledError and drops connections not yet accepted.
//
// Overload. Setting a connection up (PD, CQ, QP, registration of its message buffers) is slow
// next to a connect request, and a connector gives up after its own timeout (the client's
// connect_timeout, 2 s by default) and asks again. Served first come, first served, a burst of
// requests (a reconnect storm after a takeover) collapses: by the time a request's turn comes
// its connector has given up, every setup is wasted (rdma_create_qp fails: the request is
// gone) and the retries queue behind the stale requests. So the thread reads every queued
// event first, and serves connect requests newest first (an older request is served once
// the burst has passed, if its connector still waits); a request that finds
// kMaxQueuedRequests newer ones ahead of it is rejected at once with the reason "listener
// busy" (cheap; a connector retries, and its new request is served first). A setup that
// fails because the request has gone is logged at INFO.
// Thread-safe.

#ifndef VIFILER_TRANSPORT_RDMA_RDMA_LISTENER_H_
#define VIFILER_TRANSPORT_RDMA_RDMA_LISTENER_H_

#include <rdma/rdma_cma.h>

#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "transport/fabric.h"
#include "transport/rdma/rdma_common.h"
#include "transport/rdma/rdma_connection.h"

namespace vifiler {
namespace transport {
namespace rdma {

class RdmaListener : public Listener {
 public:
  // Binds and listens. Discriminator 0 picks a free port (see endpoint()).
  static absl::StatusOr<std::unique_ptr<RdmaListener>> Create(const Endpoint& endpoint,
                                                              const FabricOptions& options);
  ~RdmaListener() override;
  RdmaListener(const RdmaListener&) = delete;
  RdmaListener& operator=(const RdmaListener&) = delete;

  absl::StatusOr<std::unique_ptr<Connection>> Accept(absl::Time deadline) override;
  void Close() override;
  const Endpoint& endpoint() const override { return endpoint_; }

 private:
  RdmaListener(rdma_event_channel* channel, rdma_cm_id* id, Endpoint endpoint,
               const FabricOptions& options);

  void Run();
  // Reads every queued event: connect requests go to requests_, the others are handled.
  void DrainEvents();
  // Handles one event other than a connect request; acks it.
  void HandleEvent(rdma_cm_event* event);
  // Sets the requested connection up (or rejects it); acks the event.
  void HandleConnectRequest(rdma_cm_event* event);
  // Rejects a connect request the listener will not serve; acks the event.
  void Shed(rdma_cm_event* event);
  // rdma_reject with reason as private data; false when the request is gone (its connector
  // gave up), which is not logged.
  bool Reject(rdma_cm_id* child, absl::string_view reason);

  const FabricOptions options_;
  rdma_event_channel* channel_;
  rdma_cm_id* listen_id_;
  const Endpoint endpoint_;
  int wake_fd_ = -1;
  std::thread thread_;

  // Serialises Close() calls, so every caller returns after the endpoint is free.
  absl::Mutex close_mu_;
  bool torn_down_ ABSL_GUARDED_BY(close_mu_) = false;

  // Connections between CONNECT_REQUEST and ESTABLISHED. Only the listener thread (and Close,
  // after joining it) touches this.
  absl::flat_hash_map<rdma_cm_id*, std::unique_ptr<RdmaConnection>> pending_;
  // Connect requests read and not yet served (their events not yet acked), oldest first.
  // Only the listener thread (and Close, after joining it) touches this.
  std::deque<rdma_cm_event*> requests_;
  uint64_t shed_ = 0;  // requests rejected as "listener busy", for the log

  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::unique_ptr<RdmaConnection>> ready_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_RDMA_RDMA_LISTENER_H_
