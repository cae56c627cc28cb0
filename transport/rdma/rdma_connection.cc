// Copyright 2026 The vifiler Authors.

#include "transport/rdma/rdma_connection.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/log.h"
#include "transport/pinned_memory.h"
#include "transport/rdma/rdma_common.h"

namespace vifiler {
namespace transport {
namespace rdma {
namespace {

// Receive work requests carry this bit and the buffer index in their wr_id.
constexpr uint64_t kRecvTag = uint64_t{1} << 63;
// One-sided operations in flight per connection; more wait for a free slot.
constexpr uint32_t kMaxOneSided = 16;
// Extra send buffers beyond the credit window: credit messages and sends whose completion has
// not been polled yet although the peer already returned their credit.
constexpr int kExtraSendSlots = 4;
// Inline sizes tried when creating the QP, largest first; the device may refuse any of them.
constexpr uint32_t kInlineAttempts[] = {256, 64, 0};
// ACK timeout exponent: 4.096 us * 2^16 = 268 ms, retried retry_count (7) times.
constexpr uint8_t kAckTimeout = 16;
// How long a closed connection waits for the flush of an operation it posted, so the
// caller's memory is no longer in use when the call returns.
constexpr absl::Duration kFlushWait = absl::Seconds(1);
// Poll timeout of the completion thread; it also drains the CQ on each timeout.
constexpr int kPollTimeoutMs = 500;

void PutU16(char* out, uint16_t v) {
  out[0] = static_cast<char>(v & 0xff);
  out[1] = static_cast<char>(v >> 8);
}

uint16_t GetU16(const char* in) {
  return static_cast<uint16_t>(static_cast<uint8_t>(in[0]) |
                               (static_cast<uint16_t>(static_cast<uint8_t>(in[1])) << 8));
}

absl::Status CompletionStatus(const ibv_wc& wc, const std::string& name) {
  switch (wc.status) {
    case IBV_WC_SUCCESS:
      return absl::OkStatus();
    case IBV_WC_WR_FLUSH_ERR:
      return absl::UnavailableError(absl::StrCat("connection to ", name, " closed"));
    case IBV_WC_REM_ACCESS_ERR:
      return absl::PermissionDeniedError(absl::StrCat(
          "remote access error (bad key or range) on connection to ", name, "; connection closed"));
    default:
      return absl::UnavailableError(absl::StrCat("work request failed on connection to ", name,
                                                 ": ", ibv_wc_status_str(wc.status)));
  }
}

}  // namespace

RdmaMemoryRegion::~RdmaMemoryRegion() {
  if (ibv_dereg_mr(mr_) != 0) VIFILER_PLOG(Warning) << "ibv_dereg_mr";
  RemovePinned(pinned_);
}

RemoteBuffer RdmaMemoryRegion::Describe() const {
  RemoteBuffer out;
  out.address = reinterpret_cast<uint64_t>(data_);
  out.key = mr_->rkey;
  out.length = static_cast<uint32_t>(size_);
  return out;
}

RdmaConnection::RdmaConnection(rdma_cm_id* id, rdma_event_channel* channel,
                               const FabricOptions& options, PeerIdentity peer)
    : options_(options),
      id_(id),
      channel_(channel),
      peer_(std::move(peer)),
      name_(peer_.address),
      credits_(std::min<uint32_t>(std::max<uint32_t>(options.credits, 1), 0xffff)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) VIFILER_PLOG(Error) << "eventfd";
}

RdmaConnection::~RdmaConnection() {
  Close();
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof(one)) != sizeof(one)) VIFILER_PLOG(Error) << "eventfd write";
    thread_.join();
  }
  if (qp_created_) rdma_destroy_qp(id_);
  if (cq_ != nullptr && ibv_destroy_cq(cq_) != 0) VIFILER_PLOG(Warning) << "ibv_destroy_cq";
  if (comp_channel_ != nullptr && ibv_destroy_comp_channel(comp_channel_) != 0) {
    VIFILER_PLOG(Warning) << "ibv_destroy_comp_channel";
  }
  if (recv_mr_ != nullptr) ibv_dereg_mr(recv_mr_);
  if (send_mr_ != nullptr) ibv_dereg_mr(send_mr_);
  RemovePinned(pinned_);
  if (pd_ != nullptr && ibv_dealloc_pd(pd_) != 0) {
    VIFILER_PLOG(Warning) << "ibv_dealloc_pd (a MemoryRegion outlived its connection?)";
  }
  rdma_destroy_id(id_);
  if (channel_ != nullptr) rdma_destroy_event_channel(channel_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

uint64_t RdmaConnection::MessageBufferBytes(const FabricOptions& options) {
  const uint64_t buffers = 2 * uint64_t{options.credits} + 2 + kExtraSendSlots;
  return buffers * (kHeaderSize + options.max_message_size);
}

absl::Status RdmaConnection::Prepare() {
  if (options_.max_message_size == 0 || options_.max_message_size > (1u << 30)) {
    return absl::InvalidArgumentError("max_message_size must be in (0, 1 GiB]");
  }
  absl::StatusOr<PortInfo> port = QueryPort(id_->verbs, id_->port_num);
  if (!port.ok()) return port.status();
  port_ = *port;
  pd_ = ibv_alloc_pd(id_->verbs);
  if (pd_ == nullptr) return ErrnoStatus(absl::StatusCode::kResourceExhausted, "ibv_alloc_pd");
  comp_channel_ = ibv_create_comp_channel(id_->verbs);
  if (comp_channel_ == nullptr) {
    return ErrnoStatus(absl::StatusCode::kResourceExhausted, "ibv_create_comp_channel");
  }
  absl::Status status = SetNonBlocking(comp_channel_->fd);
  if (!status.ok()) return status;

  recv_buffers_ = static_cast<int>(credits_.window()) + 2;
  send_slots_ = static_cast<int>(credits_.window()) + kExtraSendSlots;
  send_depth_ = static_cast<uint32_t>(send_slots_) + kMaxOneSided;
  if (port_.max_qp_wr > 0 && send_depth_ > static_cast<uint32_t>(port_.max_qp_wr)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "credits ", credits_.window(), " exceed the device's max_qp_wr ", port_.max_qp_wr));
  }
  int cqe = recv_buffers_ + static_cast<int>(send_depth_);
  cq_ = ibv_create_cq(id_->verbs, cqe, this, comp_channel_, 0);
  if (cq_ == nullptr) return ErrnoStatus(absl::StatusCode::kResourceExhausted, "ibv_create_cq");
  if (ibv_req_notify_cq(cq_, 0) != 0) {
    return ErrnoStatus(absl::StatusCode::kInternal, "ibv_req_notify_cq");
  }
  status = CreateQueuePair();
  if (!status.ok()) return status;

  uint8_t timeout = kAckTimeout;
  if (rdma_set_option(id_, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &timeout, sizeof(timeout)) !=
      0) {
    VIFILER_PLOG(Warning) << "rdma_set_option(ACK_TIMEOUT); using the rdma_cm default";
  }

  buffer_size_ = static_cast<uint32_t>(kHeaderSize + options_.max_message_size);
  recv_memory_.resize(static_cast<size_t>(recv_buffers_) * buffer_size_);
  send_memory_.resize(static_cast<size_t>(send_slots_) * buffer_size_);
  // The message buffers. A memlock limit too small for them is a FailedPrecondition: no retry
  // of this connection can succeed, and a client says so at once instead of retrying.
  const uint64_t recv_pinned = PinnedSpan(recv_memory_.data(), recv_memory_.size());
  const uint64_t send_pinned = PinnedSpan(send_memory_.data(), send_memory_.size());
  recv_mr_ = ibv_reg_mr(pd_, recv_memory_.data(), recv_memory_.size(), IBV_ACCESS_LOCAL_WRITE);
  if (recv_mr_ == nullptr) {
    return PinFailure(errno,
                      absl::StrCat("registering the connection's ", recv_pinned + send_pinned,
                                   " bytes of message buffers"),
                      recv_pinned + send_pinned, absl::StatusCode::kFailedPrecondition);
  }
  AddPinned(recv_pinned);
  pinned_ += recv_pinned;
  send_mr_ = ibv_reg_mr(pd_, send_memory_.data(), send_memory_.size(), IBV_ACCESS_LOCAL_WRITE);
  if (send_mr_ == nullptr) {
    return PinFailure(errno,
                      absl::StrCat("registering the connection's ", recv_pinned + send_pinned,
                                   " bytes of message buffers"),
                      send_pinned, absl::StatusCode::kFailedPrecondition);
  }
  AddPinned(send_pinned);
  pinned_ += send_pinned;

  absl::MutexLock lock(&mu_);
  for (int i = send_slots_ - 1; i >= 0; --i) free_slots_.push_back(i);
  for (int i = 0; i < recv_buffers_; ++i) {
    status = PostReceive(i);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status RdmaConnection::CreateQueuePair() {
  int last_errno = 0;
  for (uint32_t inline_size : kInlineAttempts) {
    ibv_qp_init_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.send_cq = cq_;
    attr.recv_cq = cq_;
    attr.qp_type = IBV_QPT_RC;
    attr.sq_sig_all = 0;
    attr.cap.max_send_wr = send_depth_;
    attr.cap.max_recv_wr = static_cast<uint32_t>(recv_buffers_);
    attr.cap.max_send_sge = 1;
    attr.cap.max_recv_sge = 1;
    attr.cap.max_inline_data = inline_size;
    if (rdma_create_qp(id_, pd_, &attr) != 0) {
      last_errno = errno;
      VIFILER_LOG(Debug) << "rdma_create_qp with max_inline_data " << inline_size
                         << " failed: " << std::strerror(last_errno);
      continue;
    }
    qp_created_ = true;
    max_inline_ = attr.cap.max_inline_data;
    ibv_qp_attr qp_attr;
    ibv_qp_init_attr init_attr;
    if (ibv_query_qp(id_->qp, &qp_attr, IBV_QP_CAP, &init_attr) == 0) {
      max_inline_ = std::min(max_inline_, qp_attr.cap.max_inline_data);
    }
    VIFILER_LOG(Debug) << "QP " << id_->qp->qp_num << ": max_inline_data " << max_inline_
                       << " (asked " << inline_size << "), active mtu " << port_.active_mtu_bytes;
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrCat("rdma_create_qp: ", std::strerror(last_errno)));
}

rdma_conn_param RdmaConnection::ConnParam() const {
  rdma_conn_param param;
  std::memset(&param, 0, sizeof(param));
  param.responder_resources =
      static_cast<uint8_t>(std::clamp(port_.max_qp_rd_atom, 0, static_cast<int>(kMaxOneSided)));
  param.initiator_depth = static_cast<uint8_t>(
      std::clamp(port_.max_qp_init_rd_atom, 0, static_cast<int>(kMaxOneSided)));
  param.flow_control = 1;
  param.retry_count = 7;
  param.rnr_retry_count = 7;  // infinite: a receiver that is late reposting is not an error
  return param;
}

absl::Status RdmaConnection::Start() {
  if (channel_ == nullptr) {
    channel_ = rdma_create_event_channel();
    if (channel_ == nullptr) {
      return ErrnoStatus(absl::StatusCode::kResourceExhausted, "rdma_create_event_channel");
    }
    absl::Status status = SetNonBlocking(channel_->fd);
    if (!status.ok()) return status;
    if (rdma_migrate_id(id_, channel_) != 0) {
      return ErrnoStatus(absl::StatusCode::kInternal, "rdma_migrate_id");
    }
  }
  VIFILER_LOG(Debug) << "connection to " << name_ << " established: path mtu "
                     << MtuBytes(path_mtu()) << ", active mtu " << port_.active_mtu_bytes
                     << ", max inline " << max_inline_;
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

ibv_mtu RdmaConnection::path_mtu() const {
  ibv_qp_attr attr;
  ibv_qp_init_attr init_attr;
  if (!qp_created_ || ibv_query_qp(id_->qp, &attr, IBV_QP_PATH_MTU, &init_attr) != 0) {
    return port_.active_mtu;
  }
  return attr.path_mtu;
}

uint64_t RdmaConnection::inline_sends() const {
  absl::MutexLock lock(&mu_);
  return inline_sends_;
}

uint64_t RdmaConnection::credit_messages_sent() const {
  absl::MutexLock lock(&mu_);
  return credit_messages_;
}

bool RdmaConnection::IsOpen() const {
  absl::MutexLock lock(&mu_);
  return !closed_;
}

absl::Status RdmaConnection::ClosedStatus() const {
  if (local_close_) return absl::UnavailableError(absl::StrCat("connection to ", name_, " closed"));
  return absl::UnavailableError(close_reason_.message());
}

absl::Status RdmaConnection::PostReceive(int buffer) {
  ibv_sge sge;
  sge.addr = reinterpret_cast<uint64_t>(recv_memory_.data()) +
             static_cast<uint64_t>(buffer) * buffer_size_;
  sge.length = buffer_size_;
  sge.lkey = recv_mr_->lkey;
  ibv_recv_wr wr;
  std::memset(&wr, 0, sizeof(wr));
  wr.wr_id = kRecvTag | static_cast<uint64_t>(buffer);
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  int rc = ibv_post_recv(id_->qp, &wr, &bad);
  if (rc != 0) {
    errno = rc;
    return ErrnoStatus(absl::StatusCode::kUnavailable, "ibv_post_recv");
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RdmaConnection::AcquireSlot(absl::Time deadline) {
  auto ready = [this]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !free_slots_.empty(); };
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("timed out waiting for a send buffer on connection to ", name_));
  }
  if (closed_) return ClosedStatus();
  int slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

absl::Status RdmaConnection::PostMessage(uint16_t type, uint16_t credits, absl::string_view payload,
                                         std::shared_ptr<Waiter> waiter, absl::Time deadline) {
  absl::StatusOr<int> slot = AcquireSlot(deadline);
  if (!slot.ok()) return slot.status();
  char* buffer = send_memory_.data() + static_cast<size_t>(*slot) * buffer_size_;
  if (type == kTypeData) {
    credits = static_cast<uint16_t>(credits_.TakePending());
  } else {
    credits = static_cast<uint16_t>(credits_.TakePendingIfDue());
    if (credits == 0) {
      free_slots_.push_back(*slot);
      return absl::OkStatus();
    }
  }
  PutU16(buffer, type);
  PutU16(buffer + 2, credits);
  if (!payload.empty()) std::memcpy(buffer + kHeaderSize, payload.data(), payload.size());
  uint32_t length = static_cast<uint32_t>(kHeaderSize + payload.size());

  ibv_sge sge;
  sge.addr = reinterpret_cast<uint64_t>(buffer);
  sge.length = length;
  sge.lkey = send_mr_->lkey;
  ibv_send_wr wr;
  std::memset(&wr, 0, sizeof(wr));
  wr.wr_id = next_wr_id_++;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  wr.send_flags = IBV_SEND_SIGNALED;
  if (length <= max_inline_) {
    wr.send_flags |= IBV_SEND_INLINE;
    ++inline_sends_;
  }
  if (type == kTypeCredit) ++credit_messages_;
  SendRecord record;
  record.slot = *slot;
  record.waiter = std::move(waiter);
  in_flight_[wr.wr_id] = std::move(record);
  ibv_send_wr* bad = nullptr;
  int rc = ibv_post_send(id_->qp, &wr, &bad);
  if (rc != 0) {
    in_flight_.erase(wr.wr_id);
    free_slots_.push_back(*slot);
    return absl::UnavailableError(
        absl::StrCat("ibv_post_send on connection to ", name_, ": ", std::strerror(rc)));
  }
  return absl::OkStatus();
}

absl::Status RdmaConnection::Send(absl::string_view message, absl::Time deadline) {
  if (message.size() > options_.max_message_size) {
    return absl::InvalidArgumentError(absl::StrCat("message of ", message.size(),
                                                   " bytes exceeds max_message_size ",
                                                   options_.max_message_size));
  }
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return ClosedStatus();
  }
  absl::Status status = credits_.Acquire(deadline);
  if (!status.ok()) {
    absl::MutexLock lock(&mu_);
    if (closed_) return ClosedStatus();
    return absl::DeadlineExceededError(
        absl::StrCat("timed out waiting for a send credit on connection to ", name_));
  }
  if (absl::Now() >= deadline) {
    credits_.Grant(1);
    return absl::DeadlineExceededError(
        absl::StrCat("send on connection to ", name_, ": deadline passed"));
  }
  auto waiter = std::make_shared<Waiter>();
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return ClosedStatus();
    status = PostMessage(kTypeData, 0, message, waiter, deadline);
  }
  if (!status.ok()) {
    // The credit is spent but nothing was sent: give it back.
    credits_.Grant(1);
    if (absl::IsUnavailable(status)) Shutdown(status, false);
    return status;
  }
  return Wait(waiter, deadline, "send", false);
}

absl::Status RdmaConnection::SendCreditsIfDue() {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::OkStatus();
    // Credit messages do not wait for their completion; the send buffer comes back when the
    // completion thread polls it. If none frees up soon the credits stay pending and ride on
    // the next data message or credit message.
    status =
        PostMessage(kTypeCredit, 0, absl::string_view(), nullptr, absl::Now() + absl::Seconds(1));
  }
  if (absl::IsUnavailable(status)) Shutdown(status, false);
  return status;
}

absl::StatusOr<std::string> RdmaConnection::Receive(absl::Time deadline) {
  std::string message;
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !received_.empty(); };
    if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("timed out waiting for a message on connection to ", name_));
    }
    if (local_close_ || received_.empty()) return ClosedStatus();
    Received received = received_.front();
    received_.pop_front();
    const char* data =
        recv_memory_.data() + static_cast<size_t>(received.buffer) * buffer_size_ + kHeaderSize;
    message.assign(data, received.length);
    if (closed_) return message;
    absl::Status status = PostReceive(received.buffer);
    if (!status.ok()) {
      VIFILER_LOG(Warning) << "connection to " << name_ << ": " << status;
      return message;
    }
  }
  credits_.Consumed();
  absl::Status status = SendCreditsIfDue();
  if (!status.ok() && !absl::IsUnavailable(status)) {
    VIFILER_LOG(Warning) << "credit message to " << name_ << " deferred: " << status;
  }
  return message;
}

absl::StatusOr<std::unique_ptr<MemoryRegion>> RdmaConnection::RegisterMemory(void* data,
                                                                             size_t size,
                                                                             Access access) {
  if (data == nullptr || size == 0) {
    return absl::InvalidArgumentError("RegisterMemory needs a non-empty buffer");
  }
  if (size > 0xffffffffu) {
    return absl::InvalidArgumentError("RegisterMemory: regions are limited to 4 GiB - 1");
  }
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return ClosedStatus();
  }
  // Only the rights the use needs: a right to write makes the kernel pin the pages for
  // writing, which memory mapped read-only refuses (EFAULT). Remote write needs local write.
  int flags = 0;
  switch (access) {
    case Access::kLocalSource:
      break;
    case Access::kLocalSink:
      flags = IBV_ACCESS_LOCAL_WRITE;
      break;
    case Access::kRemoteSource:
      flags = IBV_ACCESS_REMOTE_READ;
      break;
    case Access::kRemoteSink:
      flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
      break;
    case Access::kRemoteAny:
      flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
      break;
  }
  const uint64_t pinned = PinnedSpan(data, size);
  ibv_mr* mr = ibv_reg_mr(pd_, data, size, flags);
  if (mr == nullptr) {
    return PinFailure(errno, absl::StrCat("ibv_reg_mr of ", size, " bytes"), pinned,
                      absl::StatusCode::kResourceExhausted);
  }
  AddPinned(pinned);
  return std::unique_ptr<MemoryRegion>(
      new RdmaMemoryRegion(mr, static_cast<char*>(data), size, pd_, pinned));
}

absl::Status RdmaConnection::WriteRemote(const MemoryRegion& local, size_t local_offset,
                                         const RemoteBuffer& remote, uint64_t remote_offset,
                                         size_t length, absl::Time deadline) {
  return OneSided(IBV_WR_RDMA_WRITE, local, local_offset, remote, remote_offset, length, deadline);
}

absl::Status RdmaConnection::ReadRemote(const MemoryRegion& local, size_t local_offset,
                                        const RemoteBuffer& remote, uint64_t remote_offset,
                                        size_t length, absl::Time deadline) {
  return OneSided(IBV_WR_RDMA_READ, local, local_offset, remote, remote_offset, length, deadline);
}

absl::Status RdmaConnection::WriteRemoteCopy(absl::string_view local, const RemoteBuffer& remote,
                                             uint64_t remote_offset, absl::Time deadline) {
  return CopyOneSided(true, const_cast<char*>(local.data()), local.size(), remote, remote_offset,
                      deadline);
}

absl::Status RdmaConnection::ReadRemoteCopy(char* local, size_t length, const RemoteBuffer& remote,
                                            uint64_t remote_offset, absl::Time deadline) {
  return CopyOneSided(false, local, length, remote, remote_offset, deadline);
}

absl::Status RdmaConnection::CopyOneSided(bool to_remote, char* local, size_t length,
                                          const RemoteBuffer& remote, uint64_t remote_offset,
                                          absl::Time deadline) {
  const char* what = to_remote ? "RDMA write" : "RDMA read";
  if (remote_offset > remote.length || length > remote.length - remote_offset) {
    return absl::OutOfRangeError(absl::StrCat(what, ": remote range [", remote_offset, ", +",
                                              length, ") exceeds buffer of ", remote.length));
  }
  if (length == 0) {
    absl::MutexLock lock(&mu_);
    return closed_ ? ClosedStatus() : absl::OkStatus();
  }
  for (size_t done = 0; done < length;) {
    absl::StatusOr<int> slot;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return ClosedStatus();
      slot = AcquireSlot(deadline);
    }
    if (!slot.ok()) return slot.status();
    char* buffer = send_memory_.data() + static_cast<size_t>(*slot) * buffer_size_;
    const size_t piece = std::min<size_t>(length - done, buffer_size_);
    if (to_remote) std::memcpy(buffer, local + done, piece);
    // The slot stays ours until the work request is done (or flushed by a close).
    absl::Status status = PostOneSided(to_remote ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ,
                                       reinterpret_cast<uint64_t>(buffer), send_mr_->lkey, remote,
                                       remote_offset + done, piece, deadline);
    if (status.ok() && !to_remote) std::memcpy(local + done, buffer, piece);
    {
      absl::MutexLock lock(&mu_);
      free_slots_.push_back(*slot);
    }
    if (!status.ok()) return status;
    done += piece;
  }
  return absl::OkStatus();
}

absl::Status RdmaConnection::OneSided(ibv_wr_opcode opcode, const MemoryRegion& local,
                                      size_t local_offset, const RemoteBuffer& remote,
                                      uint64_t remote_offset, size_t length, absl::Time deadline) {
  const char* what = opcode == IBV_WR_RDMA_WRITE ? "RDMA write" : "RDMA read";
  const auto* region = dynamic_cast<const RdmaMemoryRegion*>(&local);
  if (region == nullptr || region->pd() != pd_) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": local region was not registered with this connection"));
  }
  if (local_offset > local.size() || length > local.size() - local_offset) {
    return absl::OutOfRangeError(absl::StrCat(what, ": local range [", local_offset, ", +", length,
                                              ") exceeds region of ", local.size()));
  }
  return PostOneSided(opcode, reinterpret_cast<uint64_t>(local.data()) + local_offset,
                      region->lkey(), remote, remote_offset, length, deadline);
}

absl::Status RdmaConnection::PostOneSided(ibv_wr_opcode opcode, uint64_t address, uint32_t lkey,
                                          const RemoteBuffer& remote, uint64_t remote_offset,
                                          size_t length, absl::Time deadline) {
  const char* what = opcode == IBV_WR_RDMA_WRITE ? "RDMA write" : "RDMA read";
  if (remote_offset > remote.length || length > remote.length - remote_offset) {
    return absl::OutOfRangeError(absl::StrCat(what, ": remote range [", remote_offset, ", +",
                                              length, ") exceeds buffer of ", remote.length));
  }
  if (port_.max_msg_size != 0 && length > port_.max_msg_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " of ", length, " bytes exceeds the port's max message size"));
  }
  auto waiter = std::make_shared<Waiter>();
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return ClosedStatus();
    if (length == 0) return absl::OkStatus();
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closed_ || one_sided_in_flight_ < kMaxOneSided;
    };
    if (absl::Now() >= deadline || !mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(what, " to ", name_, " timed out"));
    }
    if (closed_) return ClosedStatus();
    ibv_sge sge;
    sge.addr = address;
    sge.length = static_cast<uint32_t>(length);
    sge.lkey = lkey;
    ibv_send_wr wr;
    std::memset(&wr, 0, sizeof(wr));
    wr.wr_id = next_wr_id_++;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = opcode;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = remote.address + remote_offset;
    wr.wr.rdma.rkey = remote.key;
    SendRecord record;
    record.waiter = waiter;
    record.one_sided = true;
    in_flight_[wr.wr_id] = std::move(record);
    ++one_sided_in_flight_;
    ibv_send_wr* bad = nullptr;
    int rc = ibv_post_send(id_->qp, &wr, &bad);
    if (rc != 0) {
      in_flight_.erase(wr.wr_id);
      --one_sided_in_flight_;
      return absl::UnavailableError(
          absl::StrCat(what, ": ibv_post_send on connection to ", name_, ": ", std::strerror(rc)));
    }
  }
  return Wait(waiter, deadline, what, true);
}

absl::Status RdmaConnection::Wait(const std::shared_ptr<Waiter>& waiter, absl::Time deadline,
                                  const char* what, bool closes_on_timeout) {
  Waiter* w = waiter.get();
  auto done = [w]() { return w->done; };
  {
    absl::MutexLock lock(&mu_);
    auto done_or_closed = [this, w]()
                              ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return w->done || closed_; };
    mu_.AwaitWithDeadline(absl::Condition(&done_or_closed), deadline);
    if (w->done) return w->status;
    if (closed_) {
      mu_.AwaitWithTimeout(absl::Condition(&done), kFlushWait);
      return ClosedStatus();
    }
  }
  if (!closes_on_timeout) {
    // The message sits in our own send buffer and will still be delivered in order; the
    // completion thread frees the buffer when it completes.
    return absl::DeadlineExceededError(
        absl::StrCat(what, " on connection to ", name_, " did not complete before its deadline"));
  }
  // The operation still uses the caller's memory: stop the QP so the memory is free again.
  absl::Status timeout = absl::DeadlineExceededError(
      absl::StrCat(what, " on connection to ", name_,
                   " did not complete before its deadline; connection closed"));
  Shutdown(absl::UnavailableError(timeout.message()), false);
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&done), kFlushWait);
  return timeout;
}

bool RdmaConnection::MarkClosed(const absl::Status& reason, bool local) {
  if (local) local_close_ = true;
  if (closed_) return false;
  closed_ = true;
  close_reason_ = reason;
  if (!local) VIFILER_LOG(Info) << "closing connection to " << name_ << ": " << reason.message();
  return true;
}

void RdmaConnection::Disconnect() {
  credits_.Close();
  // Moves the QP to the error state (flushing every posted work request) and tells the peer.
  // Fails harmlessly when the connection was never established or is already disconnected.
  rdma_disconnect(id_);
}

void RdmaConnection::Shutdown(const absl::Status& reason, bool local) {
  bool first;
  {
    absl::MutexLock lock(&mu_);
    first = MarkClosed(reason, local);
  }
  if (first) Disconnect();
}

void RdmaConnection::Close() {
  Shutdown(absl::UnavailableError(absl::StrCat("connection to ", name_, " closed")), true);
}

void RdmaConnection::Run() {
  pollfd fds[3];
  fds[0].fd = comp_channel_->fd;
  fds[1].fd = channel_->fd;
  fds[2].fd = wake_fd_;
  while (true) {
    for (pollfd& fd : fds) {
      fd.events = POLLIN;
      fd.revents = 0;
    }
    int n = poll(fds, 3, kPollTimeoutMs);
    if (n < 0 && errno != EINTR) {
      VIFILER_PLOG(Error) << "poll";
      break;
    }
    if (fds[2].revents != 0) break;
    if (fds[0].revents != 0) {
      ibv_cq* cq = nullptr;
      void* context = nullptr;
      while (ibv_get_cq_event(comp_channel_, &cq, &context) == 0) ibv_ack_cq_events(cq, 1);
      if (ibv_req_notify_cq(cq_, 0) != 0) VIFILER_PLOG(Error) << "ibv_req_notify_cq";
    }
    // Drain after re-arming so no completion is left behind; the timeout drains as well.
    DrainCompletions();
    if (fds[1].revents != 0) HandleCmEvents();
  }
}

void RdmaConnection::DrainCompletions() {
  ibv_wc wcs[16];
  while (true) {
    int n = ibv_poll_cq(cq_, 16, wcs);
    if (n <= 0) {
      if (n < 0) VIFILER_LOG(Error) << "ibv_poll_cq failed on connection to " << name_;
      return;
    }
    for (int i = 0; i < n; ++i) HandleCompletion(wcs[i]);
  }
}

void RdmaConnection::HandleCompletion(const ibv_wc& wc) {
  absl::Status failure;
  bool disconnect = false;
  if ((wc.wr_id & kRecvTag) != 0) {
    int buffer = static_cast<int>(wc.wr_id & ~kRecvTag);
    if (wc.status != IBV_WC_SUCCESS) {
      if (wc.status != IBV_WC_WR_FLUSH_ERR) failure = CompletionStatus(wc, name_);
    } else if (wc.byte_len < kHeaderSize) {
      failure = absl::UnavailableError(absl::StrCat("short message from ", name_));
    } else {
      const char* data = recv_memory_.data() + static_cast<size_t>(buffer) * buffer_size_;
      uint16_t type = GetU16(data);
      uint16_t returned = GetU16(data + 2);
      if (returned > 0) credits_.Grant(returned);
      absl::MutexLock lock(&mu_);
      if (type == kTypeData) {
        received_.push_back(Received{buffer, wc.byte_len - static_cast<uint32_t>(kHeaderSize)});
      } else if (type == kTypeCredit) {
        if (!closed_) failure = PostReceive(buffer);
      } else {
        failure =
            absl::UnavailableError(absl::StrCat("message of unknown type ", type, " from ", name_));
      }
    }
  } else {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(wc.wr_id);
    if (it != in_flight_.end()) {
      SendRecord record = std::move(it->second);
      in_flight_.erase(it);
      if (record.slot >= 0) free_slots_.push_back(record.slot);
      if (record.one_sided) --one_sided_in_flight_;
      absl::Status status = CompletionStatus(wc, name_);
      if (wc.status != IBV_WC_SUCCESS && wc.status != IBV_WC_WR_FLUSH_ERR) {
        // The QP is in the error state: close before waking the caller, so it sees a closed
        // connection when it returns.
        disconnect = MarkClosed(absl::UnavailableError(status.message()), false);
      }
      if (record.waiter != nullptr) {
        record.waiter->status = status;
        if (!status.ok() && closed_ && wc.status == IBV_WC_WR_FLUSH_ERR) {
          record.waiter->status = ClosedStatus();
        }
        record.waiter->done = true;
      }
    }
  }
  if (disconnect) Disconnect();
  if (!failure.ok()) Shutdown(absl::UnavailableError(failure.message()), false);
}

void RdmaConnection::HandleCmEvents() {
  while (true) {
    absl::StatusOr<CmEvent> event = PollCmEvent(channel_);
    if (!event.ok()) return;
    switch (event->type) {
      case RDMA_CM_EVENT_DISCONNECTED:
        // Receives that completed before the disconnect stay receivable.
        DrainCompletions();
        Shutdown(absl::UnavailableError(absl::StrCat("peer ", name_, " disconnected")), false);
        break;
      case RDMA_CM_EVENT_DEVICE_REMOVAL:
        Shutdown(absl::UnavailableError(
                     absl::StrCat("RDMA device removed; connection to ", name_, " closed")),
                 false);
        break;
      case RDMA_CM_EVENT_TIMEWAIT_EXIT:
        break;
      default:
        VIFILER_LOG(Debug) << "connection to " << name_ << ": rdma_cm event "
                           << rdma_event_str(event->type);
        break;
    }
  }
}

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler
