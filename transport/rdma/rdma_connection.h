// Copyright 2026 The vifiler Authors.
//
// RdmaConnection: the Connection contract (transport/connection.h) over one rdma_cm id with an
// RC queue pair.
//
//  - Messages: every send carries a 4-byte header [u16 type DATA|CREDIT][u16 credits
//    returned]. credits + 2 receive buffers of header + max_message_size bytes are posted before
//    the connection is made; a DATA send takes a credit from the CreditWindow and piggybacks the
//    pending returns; a CREDIT message takes none. Payloads that fit the queried max inline size
//    go IBV_SEND_INLINE.
//  - Completions: one CQ with a completion channel. A per-connection thread blocks in poll() on
//    the completion channel, the connection's rdma_cm event channel and a wake-up eventfd (with
//    a timeout), then drains the CQ: receives are queued for Receive (credit messages are
//    reposted at once), send and one-sided completions wake the caller that waits for them.
//  - Every send and one-sided operation is signaled; its caller waits for the completion until
//    its deadline. A send that misses it returns DeadlineExceededError (the message was copied
//    and is still delivered); a one-sided operation that misses it closes the connection, so
//    the caller's memory is no longer in use when the call returns.
//  - DISCONNECTED, DEVICE_REMOVAL, an error completion or Close() close the connection:
//    pending and later calls fail with UnavailableError. After a peer disconnect the messages
//    that already arrived can still be received; after a local Close() nothing can.
//
// Life cycle: constructed around an rdma_cm id whose route is resolved (connector) or that came
// with a CONNECT_REQUEST (listener); Prepare() creates PD, CQ, QP and buffers; the creator then
// rdma_connect()s / rdma_accept()s and calls Start() once ESTABLISHED.

#ifndef VIFILER_TRANSPORT_RDMA_RDMA_CONNECTION_H_
#define VIFILER_TRANSPORT_RDMA_RDMA_CONNECTION_H_

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "transport/connection.h"
#include "transport/credit_window.h"
#include "transport/fabric.h"
#include "transport/rdma/rdma_device.h"

namespace vifiler {
namespace transport {
namespace rdma {

// A buffer registered with a connection's protection domain. Deregistered on destruction, when
// its pinned bytes leave the process's count (transport/pinned_memory.h).
class RdmaMemoryRegion : public MemoryRegion {
 public:
  RdmaMemoryRegion(ibv_mr* mr, char* data, size_t size, ibv_pd* pd, uint64_t pinned)
      : mr_(mr), data_(data), size_(size), pd_(pd), pinned_(pinned) {}
  ~RdmaMemoryRegion() override;
  RdmaMemoryRegion(const RdmaMemoryRegion&) = delete;
  RdmaMemoryRegion& operator=(const RdmaMemoryRegion&) = delete;

  char* data() const override { return data_; }
  size_t size() const override { return size_; }
  RemoteBuffer Describe() const override;

  uint32_t lkey() const { return mr_->lkey; }
  ibv_pd* pd() const { return pd_; }

 private:
  ibv_mr* const mr_;
  char* const data_;
  const size_t size_;
  ibv_pd* const pd_;
  const uint64_t pinned_;
};

class RdmaConnection : public Connection {
 public:
  // Takes ownership of id and of channel (the id's event channel; null while the id still
  // reports to a listener's channel). `peer` is the identity peer() reports.
  RdmaConnection(rdma_cm_id* id, rdma_event_channel* channel, const FabricOptions& options,
                 PeerIdentity peer);
  ~RdmaConnection() override;
  RdmaConnection(const RdmaConnection&) = delete;
  RdmaConnection& operator=(const RdmaConnection&) = delete;

  // Bytes of message buffers (send and receive) a connection with these options registers:
  // what it pins for as long as it lives.
  static uint64_t MessageBufferBytes(const FabricOptions& options);

  // Creates PD, completion channel, CQ, QP (querying max inline) and the send and receive
  // buffers, and posts the receives. The id's device and port must be known. A memlock limit
  // too small for the buffers is FailedPrecondition (transport/pinned_memory.h).
  absl::Status Prepare();
  // Fills the retry, rnr and rd_atomic fields; the caller adds the private data.
  rdma_conn_param ConnParam() const;
  // Moves the id to its own event channel when it has none yet, and starts the completion
  // thread. Call once the connection is ESTABLISHED.
  absl::Status Start();

  // Connection.
  size_t max_message_size() const override { return options_.max_message_size; }
  absl::Status Send(absl::string_view message, absl::Time deadline) override;
  absl::StatusOr<std::string> Receive(absl::Time deadline) override;
  absl::StatusOr<std::unique_ptr<MemoryRegion>> RegisterMemory(void* data, size_t size,
                                                               Access access) override;
  absl::Status WriteRemote(const MemoryRegion& local, size_t local_offset,
                           const RemoteBuffer& remote, uint64_t remote_offset, size_t length,
                           absl::Time deadline) override;
  absl::Status ReadRemote(const MemoryRegion& local, size_t local_offset,
                          const RemoteBuffer& remote, uint64_t remote_offset, size_t length,
                          absl::Time deadline) override;
  // Piece by piece through a send buffer (one at a time, each waited for).
  absl::Status WriteRemoteCopy(absl::string_view local, const RemoteBuffer& remote,
                               uint64_t remote_offset, absl::Time deadline) override;
  absl::Status ReadRemoteCopy(char* local, size_t length, const RemoteBuffer& remote,
                              uint64_t remote_offset, absl::Time deadline) override;
  void Close() override;
  bool IsOpen() const override;
  const PeerIdentity& peer() const override { return peer_; }

  // What was queried, for tests and logs.
  const PortInfo& port_info() const { return port_; }
  // The path MTU the QP runs with (set by rdma_cm from the route; at most the active MTU).
  ibv_mtu path_mtu() const;
  // Largest payload (header included) that goes IBV_SEND_INLINE; 0 when inline is off.
  uint32_t max_inline_data() const { return max_inline_; }
  uint64_t inline_sends() const;
  uint64_t credit_messages_sent() const;
  ibv_qp* qp() const { return id_->qp; }

 private:
  // What a signaled work request waits for.
  struct Waiter {
    bool done = false;
    absl::Status status;
  };
  // One posted send work request.
  struct SendRecord {
    int slot = -1;  // send buffer, or -1 for one-sided ops
    std::shared_ptr<Waiter> waiter;
    bool one_sided = false;
  };
  struct Received {
    int buffer;
    uint32_t length;
  };

  absl::Status CreateQueuePair();
  absl::Status PostReceive(int buffer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits for a free send buffer; returns its index.
  absl::StatusOr<int> AcquireSlot(absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies header + payload into a slot and posts it. waiter may be null (credit messages).
  absl::Status PostMessage(uint16_t type, uint16_t credits, absl::string_view payload,
                           std::shared_ptr<Waiter> waiter, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SendCreditsIfDue();
  absl::Status OneSided(ibv_wr_opcode opcode, const MemoryRegion& local, size_t local_offset,
                        const RemoteBuffer& remote, uint64_t remote_offset, size_t length,
                        absl::Time deadline);
  // Checks the remote range and the port's message size; posts the work request on
  // [address, +length) with lkey and waits for it.
  absl::Status PostOneSided(ibv_wr_opcode opcode, uint64_t address, uint32_t lkey,
                            const RemoteBuffer& remote, uint64_t remote_offset, size_t length,
                            absl::Time deadline);
  // The copying one-sided calls: `to_remote` copies local into the peer's buffer.
  absl::Status CopyOneSided(bool to_remote, char* local, size_t length, const RemoteBuffer& remote,
                            uint64_t remote_offset, absl::Time deadline);
  // Waits for a posted work request. When the deadline passes first and closes_on_timeout
  // (the request uses the caller's memory), closes the connection.
  absl::Status Wait(const std::shared_ptr<Waiter>& waiter, absl::Time deadline, const char* what,
                    bool closes_on_timeout);

  void Run();
  void DrainCompletions();
  void HandleCompletion(const ibv_wc& wc);
  void HandleCmEvents();
  // Closes with a reason. local: Close() was called (queued messages are dropped too).
  void Shutdown(const absl::Status& reason, bool local);
  // The first half of Shutdown: records the reason; true the first time (the caller must then
  // call Disconnect() without holding mu_).
  bool MarkClosed(const absl::Status& reason, bool local) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Disconnect();
  absl::Status ClosedStatus() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const FabricOptions options_;
  rdma_cm_id* const id_;
  rdma_event_channel* channel_;
  PeerIdentity peer_;
  std::string name_;  // for messages: the peer's address

  PortInfo port_;
  ibv_pd* pd_ = nullptr;
  ibv_comp_channel* comp_channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  bool qp_created_ = false;
  uint32_t max_inline_ = 0;
  uint32_t send_depth_ = 0;
  uint32_t buffer_size_ = 0;  // header + max_message_size
  int recv_buffers_ = 0;
  int send_slots_ = 0;
  std::vector<char> recv_memory_;
  std::vector<char> send_memory_;
  ibv_mr* recv_mr_ = nullptr;
  ibv_mr* send_mr_ = nullptr;
  uint64_t pinned_ = 0;  // by recv_mr_ and send_mr_
  int wake_fd_ = -1;
  std::thread thread_;

  CreditWindow credits_;

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool local_close_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status close_reason_ ABSL_GUARDED_BY(mu_);
  std::deque<Received> received_ ABSL_GUARDED_BY(mu_);
  std::vector<int> free_slots_ ABSL_GUARDED_BY(mu_);
  uint32_t one_sided_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_wr_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, SendRecord> in_flight_ ABSL_GUARDED_BY(mu_);
  uint64_t inline_sends_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t credit_messages_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_RDMA_RDMA_CONNECTION_H_
