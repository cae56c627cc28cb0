// Copyright 2026 The vifiler Authors.

#include "transport/tcp/tcp_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "transport/log.h"
#include "transport/writable_memory.h"

namespace vifiler {
namespace transport {
namespace tcp {
namespace {

// Read requests the peer may have outstanding before it is cut off.
constexpr size_t kMaxQueuedReadRequests = 1024;
// How long the service thread may take to write one answer before the connection is broken.
constexpr absl::Duration kServiceWriteTimeout = absl::Seconds(30);
// How long a departing error notice may take.
constexpr absl::Duration kNoticeTimeout = absl::Seconds(1);
// How often idle service and reader threads look at the stop flag.
constexpr absl::Duration kIdleCheck = absl::Milliseconds(500);

absl::Status CheckRemoteRange(const RemoteBuffer& remote, uint64_t remote_offset, size_t length) {
  if (remote_offset > remote.length || length > remote.length - remote_offset) {
    return absl::OutOfRangeError(absl::StrCat(length, " bytes at offset ", remote_offset,
                                              " outside the remote buffer of ", remote.length,
                                              " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckRanges(const MemoryRegion& local, size_t local_offset, const RemoteBuffer& remote,
                         uint64_t remote_offset, size_t length) {
  if (local_offset > local.size() || length > local.size() - local_offset) {
    return absl::OutOfRangeError(absl::StrCat(length, " bytes at offset ", local_offset,
                                              " outside the local region of ", local.size(),
                                              " bytes"));
  }
  return CheckRemoteRange(remote, remote_offset, length);
}

}  // namespace

TcpConnection::TcpConnection(ScopedFd fd, PeerIdentity peer, const LinkParams& params)
    : fd_(std::move(fd)),
      peer_(std::move(peer)),
      max_message_size_(params.max_message_size),
      table_(std::make_shared<MemoryTable>()),
      credits_(params.credits),
      stream_(fd_.get(), &stop_) {
  reader_ = std::thread([this] { ReaderLoop(); });
  service_ = std::thread([this] { ServiceLoop(); });
}

TcpConnection::~TcpConnection() {
  Close();
  reader_.join();
  service_.join();
}

absl::Status TcpConnection::Send(absl::string_view message, absl::Time deadline) {
  if (message.size() > max_message_size_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message of ", message.size(), " bytes exceeds the maximum of ", max_message_size_));
  }
  absl::Status status = credits_.Acquire(deadline);
  if (!status.ok()) {
    absl::MutexLock lock(&mu_);
    return Stopped() ? ClosedStatus() : status;
  }
  FrameHeader header;
  header.type = FrameType::kData;
  header.payload_length = static_cast<uint32_t>(message.size());
  status = WriteFrame(&header, message.data(), message.size(), deadline);
  if (absl::IsDeadlineExceeded(status)) credits_.Grant(1);  // nothing went out
  return status;
}

absl::StatusOr<std::string> TcpConnection::Receive(absl::Time deadline) {
  std::string message;
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || broken_ || !inbox_.empty();
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("no message from ", peer_.address, " before the deadline"));
    }
    // After the peer left, what it sent before is still delivered; after Close() nothing is.
    if (closed_ || inbox_.empty()) return ClosedStatus();
    message = std::move(inbox_.front());
    inbox_.pop_front();
  }
  credits_.Consumed();
  uint32_t due = credits_.TakePendingIfDue();
  if (due > 0) {
    absl::MutexLock lock(&mu_);
    credits_to_return_ += due;
  }
  return message;
}

absl::StatusOr<std::unique_ptr<MemoryRegion>> TcpConnection::RegisterMemory(void* data, size_t size,
                                                                            Access access) {
  if (data == nullptr && size > 0) return absl::InvalidArgumentError("null memory region");
  if (size > UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("region of ", size, " bytes is over 4 GiB"));
  }
  {
    absl::MutexLock lock(&mu_);
    if (Stopped()) return ClosedStatus();
  }
  // The reader thread copies into memory this side or the peer writes: memory that cannot be
  // written is refused here, as a device refuses to register it, rather than fault there.
  if ((access == Access::kLocalSink || access == Access::kRemoteSink ||
       access == Access::kRemoteAny) &&
      !IsWritable(data, size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("registering ", size, " bytes to be written: not writable memory"));
  }
  char* bytes = static_cast<char*>(data);
  uint32_t key = table_->Add(bytes, size, access);
  return std::unique_ptr<MemoryRegion>(new TcpMemoryRegion(table_, bytes, size, key));
}

absl::Status TcpConnection::WriteRemote(const MemoryRegion& local, size_t local_offset,
                                        const RemoteBuffer& remote, uint64_t remote_offset,
                                        size_t length, absl::Time deadline) {
  absl::Status status = CheckRanges(local, local_offset, remote, remote_offset, length);
  if (!status.ok()) return status;
  return WriteFrom(local.data() + local_offset, length, remote, remote_offset, deadline);
}

absl::Status TcpConnection::WriteRemoteCopy(absl::string_view local, const RemoteBuffer& remote,
                                            uint64_t remote_offset, absl::Time deadline) {
  absl::Status status = CheckRemoteRange(remote, remote_offset, local.size());
  if (!status.ok()) return status;
  return WriteFrom(local.data(), local.size(), remote, remote_offset, deadline);
}

absl::Status TcpConnection::WriteFrom(const char* data, size_t length, const RemoteBuffer& remote,
                                      uint64_t remote_offset, absl::Time deadline) {
  if (length == 0) {
    absl::MutexLock lock(&mu_);
    return Stopped() ? ClosedStatus() : absl::OkStatus();
  }
  for (size_t done = 0; done < length;) {
    size_t chunk = std::min(length - done, kMaxTransfer);
    FrameHeader header;
    header.type = FrameType::kWrite;
    header.payload_length = static_cast<uint32_t>(chunk);
    header.key = remote.key;
    header.address = remote.address + remote_offset + done;
    absl::Status status = WriteFrame(&header, data + done, chunk, deadline);
    if (!status.ok()) return status;
    done += chunk;
  }
  return absl::OkStatus();
}

absl::Status TcpConnection::ReadRemote(const MemoryRegion& local, size_t local_offset,
                                       const RemoteBuffer& remote, uint64_t remote_offset,
                                       size_t length, absl::Time deadline) {
  absl::Status status = CheckRanges(local, local_offset, remote, remote_offset, length);
  if (!status.ok()) return status;
  return ReadInto(local.data() + local_offset, length, remote, remote_offset, deadline);
}

absl::Status TcpConnection::ReadRemoteCopy(char* local, size_t length, const RemoteBuffer& remote,
                                           uint64_t remote_offset, absl::Time deadline) {
  absl::Status status = CheckRemoteRange(remote, remote_offset, length);
  if (!status.ok()) return status;
  return ReadInto(local, length, remote, remote_offset, deadline);
}

absl::Status TcpConnection::ReadInto(char* destination, size_t length, const RemoteBuffer& remote,
                                     uint64_t remote_offset, absl::Time deadline) {
  if (length == 0) {
    absl::MutexLock lock(&mu_);
    return Stopped() ? ClosedStatus() : absl::OkStatus();
  }
  for (size_t done = 0; done < length;) {
    size_t chunk = std::min(length - done, kMaxTransfer);
    absl::Status status = ReadChunk(destination + done, remote, remote_offset + done,
                                    static_cast<uint32_t>(chunk), deadline);
    if (!status.ok()) return status;
    done += chunk;
  }
  return absl::OkStatus();
}

absl::Status TcpConnection::ReadChunk(char* destination, const RemoteBuffer& remote,
                                      uint64_t remote_offset, uint32_t length,
                                      absl::Time deadline) {
  PendingRead pending{destination, length, false, absl::OkStatus()};
  uint32_t id = next_read_id_.fetch_add(1, std::memory_order_relaxed);
  {
    absl::MutexLock lock(&mu_);
    if (Stopped()) return ClosedStatus();
    reads_[id] = &pending;
  }
  FrameHeader header;
  header.type = FrameType::kReadReq;
  header.key = remote.key;
  header.address = remote.address + remote_offset;
  header.length = length;
  header.id = id;
  absl::Status status = WriteFrame(&header, nullptr, 0, deadline);

  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    auto answered = [this, &pending]()
                        ABSL_SHARED_LOCKS_REQUIRED(mu_) { return pending.done || Stopped(); };
    if (!mu_.AwaitWithDeadline(absl::Condition(&answered), deadline)) {
      status = absl::DeadlineExceededError(
          absl::StrCat("no answer to a remote read from ", peer_.address, " before the deadline"));
    } else if (pending.done) {
      status = pending.status;
    } else {
      status = ClosedStatus();
    }
  }
  reads_.erase(id);  // a late answer is dropped and never touches `destination`
  return status;
}

void TcpConnection::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
  }
  ShutdownSocket();
}

bool TcpConnection::IsOpen() const {
  absl::MutexLock lock(&mu_);
  return !Stopped();
}

absl::Status TcpConnection::AcquireWriter(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto writable = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !writer_busy_ || Stopped(); };
  if (!mu_.AwaitWithDeadline(absl::Condition(&writable), deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("timed out waiting to write to ", peer_.address));
  }
  if (Stopped()) return ClosedStatus();
  writer_busy_ = true;
  return absl::OkStatus();
}

void TcpConnection::ReleaseWriter() {
  absl::MutexLock lock(&mu_);
  writer_busy_ = false;
}

absl::Status TcpConnection::WriteFrame(FrameHeader* header, const char* payload, size_t n,
                                       absl::Time deadline) {
  if (absl::Status s = AcquireWriter(deadline); !s.ok()) return s;
  uint32_t piggybacked = credits_.TakePending();
  header->credits += piggybacked;
  unreturned_.fetch_sub(header->credits, std::memory_order_relaxed);
  char encoded[kFrameHeaderSize];
  EncodeFrameHeader(*header, encoded);
  iovec iov[2] = {{encoded, kFrameHeaderSize}, {const_cast<char*>(payload), n}};
  size_t written = 0;
  absl::Status status = WriteFully(fd_.get(), iov, n > 0 ? 2 : 1, deadline, &written);
  ReleaseWriter();
  if (status.ok()) return status;
  if (absl::IsDeadlineExceeded(status) && written == 0) {
    unreturned_.fetch_add(header->credits, std::memory_order_relaxed);
    for (uint32_t i = 0; i < piggybacked; ++i) credits_.Consumed();  // still owed to the peer
    header->credits -= piggybacked;
    return absl::DeadlineExceededError(absl::StrCat("timed out writing to ", peer_.address));
  }
  Fail(absl::UnavailableError(
      absl::StrCat("connection to ", peer_.address, " failed: ", status.message())));
  absl::MutexLock lock(&mu_);
  return ClosedStatus();
}

void TcpConnection::ReaderLoop() {
  char encoded[kFrameHeaderSize];
  for (;;) {
    absl::Status status = stream_.ReadExact(encoded, kFrameHeaderSize);
    if (status.ok()) status = HandleFrame(DecodeFrameHeader(encoded));
    if (!status.ok()) {
      if (absl::IsUnavailable(status) || absl::IsCancelled(status)) {
        Fail(absl::UnavailableError(absl::StrCat("connection closed by peer ", peer_.address, " (",
                                                 status.message(), ")")));
      } else {
        VIFILER_LOG(Warning) << "closing connection to " << peer_.address << ": " << status;
        FailWithNotice(status.message());
      }
      return;
    }
  }
}

absl::Status TcpConnection::HandleFrame(const FrameHeader& header) {
  if (header.credits > 0) credits_.Grant(header.credits);
  const uint32_t n = header.payload_length;
  switch (header.type) {
    case FrameType::kData: {
      if (n > max_message_size_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "protocol error: message of ", n, " bytes over the maximum of ", max_message_size_));
      }
      if (unreturned_.fetch_add(1, std::memory_order_relaxed) + 1 >
          static_cast<int64_t>(credits_.window())) {
        return absl::InvalidArgumentError("protocol error: peer overran the credit window");
      }
      std::string message(n, '\0');
      absl::Status status = stream_.ReadExact(message.data(), n);
      if (!status.ok()) return status;
      absl::MutexLock lock(&mu_);
      if (inbox_.size() >= credits_.window()) {
        return absl::InvalidArgumentError("protocol error: peer overran the credit window");
      }
      inbox_.push_back(std::move(message));
      return absl::OkStatus();
    }
    case FrameType::kCredit:
      if (n != 0) return absl::InvalidArgumentError("protocol error: credit frame with payload");
      return absl::OkStatus();
    case FrameType::kWrite:
      return HandleRemoteWrite(header);
    case FrameType::kReadReq: {
      if (n != 0 || header.length > kMaxTransfer) {
        return absl::InvalidArgumentError("protocol error: malformed read request");
      }
      absl::MutexLock lock(&mu_);
      if (read_requests_.size() >= kMaxQueuedReadRequests) {
        return absl::InvalidArgumentError("protocol error: too many outstanding read requests");
      }
      read_requests_.push_back(ReadRequest{header.id, header.key, header.address, header.length});
      return absl::OkStatus();
    }
    case FrameType::kReadResp:
      return HandleReadResponse(header);
    case FrameType::kError: {
      if (n > kMaxReasonLength) {
        return absl::InvalidArgumentError("protocol error: oversized error frame");
      }
      std::string reason(n, '\0');
      absl::Status status = stream_.ReadExact(reason.data(), n);
      if (!status.ok()) return status;
      return absl::UnavailableError(reason);
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("protocol error: unknown frame type ", static_cast<int>(header.type)));
}

absl::Status TcpConnection::HandleRemoteWrite(const FrameHeader& header) {
  const uint32_t n = header.payload_length;
  if (n > kMaxTransfer) {
    return absl::InvalidArgumentError(
        absl::StrCat("protocol error: remote write of ", n, " bytes"));
  }
  // Validated before a byte of the payload is read or any memory set aside for it. The payload
  // then goes from the socket straight into the registered region: whatever has arrived is
  // moved under the table lock without waiting (so a region is never removed while bytes land
  // in it, and removal never waits on the network); the wait for more is outside the lock.
  absl::Status status = table_->Check(header.key, header.address, n, /*write=*/true);
  for (size_t done = 0; status.ok() && done < n;) {
    absl::Status read;
    size_t got = 0;
    status = table_->FillIn(
        header.key, header.address + done, n - done,
        [this, &read](char* where, size_t length, size_t* filled) {
          read = stream_.ReadAvailable(where, length, filled);
          return absl::OkStatus();
        },
        &got);
    if (!read.ok()) return read;
    done += got;
    if (status.ok() && got == 0) {
      if (absl::Status waited = stream_.WaitReadable(); !waited.ok()) return waited;
    }
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("remote write rejected: ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status TcpConnection::HandleReadResponse(const FrameHeader& header) {
  const uint32_t n = header.payload_length;
  if (header.status != FrameStatus::kOk) {
    if (n > kMaxReasonLength) {
      return absl::InvalidArgumentError("protocol error: oversized read response");
    }
    std::string reason(n, '\0');
    absl::Status status = stream_.ReadExact(reason.data(), n);
    if (!status.ok()) return status;
    absl::MutexLock lock(&mu_);
    auto it = reads_.find(header.id);
    if (it == reads_.end()) return absl::OkStatus();  // the reader gave up already
    it->second->status = StatusFromFrame(header.status, reason);
    it->second->done = true;
    reads_.erase(it);
    return absl::OkStatus();
  }
  if (n > kMaxTransfer) {
    return absl::InvalidArgumentError("protocol error: oversized read response");
  }
  // The bytes go from the socket straight into the waiting reader's destination, only while it
  // still waits (it may give up at its deadline, and its destination with it): what has arrived
  // is moved under mu_ without waiting; the wait for more is outside it. Bytes nobody waits
  // for any more are read into the scratch buffer and dropped.
  for (size_t done = 0; done < n;) {
    size_t got = 0;
    bool waited_for = false;
    absl::Status read;
    {
      absl::MutexLock lock(&mu_);
      auto it = reads_.find(header.id);
      if (it != reads_.end() && n == it->second->length) {
        waited_for = true;
        read = stream_.ReadAvailable(it->second->destination + done, n - done, &got);
      }
    }
    if (!waited_for) {
      read = stream_.ReadAvailable(Scratch(), std::min<size_t>(n - done, kScratchSize), &got);
    }
    if (!read.ok()) return read;
    done += got;
    if (got == 0) {
      if (absl::Status waited = stream_.WaitReadable(); !waited.ok()) return waited;
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = reads_.find(header.id);
  if (it == reads_.end()) return absl::OkStatus();  // the reader gave up already
  PendingRead* pending = it->second;
  if (n != pending->length) {
    pending->status = absl::InternalError(
        absl::StrCat("remote read answered with ", n, " bytes, ", pending->length, " asked"));
  }
  pending->done = true;
  reads_.erase(it);
  return absl::OkStatus();
}

char* TcpConnection::Scratch() {
  if (scratch_ == nullptr) scratch_.reset(new char[kScratchSize]);
  return scratch_.get();
}

void TcpConnection::ServiceLoop() {
  for (;;) {
    uint32_t credits = 0;
    bool have_request = false;
    ReadRequest request = {};
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return Stopped() || credits_to_return_ > 0 || !read_requests_.empty();
      };
      mu_.AwaitWithTimeout(absl::Condition(&work), kIdleCheck);
      if (Stopped()) return;
      credits = credits_to_return_;
      credits_to_return_ = 0;
      if (!read_requests_.empty()) {
        request = read_requests_.front();
        read_requests_.pop_front();
        have_request = true;
      }
    }
    if (credits > 0) {
      FrameHeader header;
      header.type = FrameType::kCredit;
      header.credits = credits;
      absl::Status status = WriteFrame(&header, nullptr, 0, absl::Now() + kServiceWriteTimeout);
      if (!status.ok()) {
        Fail(absl::UnavailableError(
            absl::StrCat("cannot return credits to ", peer_.address, ": ", status.message())));
        return;
      }
    }
    if (have_request && !ServeRead(request)) return;
  }
}

bool TcpConnection::ServeRead(const ReadRequest& request) {
  // Validate first: a request for an unknown key or outside a region costs nothing but its
  // error answer. An accepted one is streamed through the fixed service buffer, its first piece
  // copied before the frame starts, so a region revoked by then still gets an error answer.
  const uint32_t n = request.length;
  const size_t first = std::min<size_t>(n, kScratchSize);
  absl::Status status = table_->Check(request.key, request.address, n, /*write=*/false);
  if (status.ok() && n > 0) {
    status = table_->CopyOut(request.key, request.address, ServiceBuffer(), first);
  }
  FrameHeader header;
  header.type = FrameType::kReadResp;
  header.id = request.id;
  header.status = FrameStatusFrom(status);
  const absl::Time deadline = absl::Now() + kServiceWriteTimeout;
  if (!status.ok()) {
    const std::string reason(status.message().substr(0, kMaxReasonLength));
    header.payload_length = static_cast<uint32_t>(reason.size());
    status = WriteFrame(&header, reason.data(), reason.size(), deadline);
  } else {
    header.payload_length = n;
    status = StreamReadAnswer(&header, request, first, deadline);
  }
  if (!status.ok()) {
    Fail(absl::UnavailableError(
        absl::StrCat("cannot answer a remote read from ", peer_.address, ": ", status.message())));
    return false;
  }
  return true;
}

absl::Status TcpConnection::StreamReadAnswer(FrameHeader* header, const ReadRequest& request,
                                             size_t first, absl::Time deadline) {
  if (absl::Status s = AcquireWriter(deadline); !s.ok()) return s;
  header->credits += credits_.TakePending();
  unreturned_.fetch_sub(header->credits, std::memory_order_relaxed);
  char encoded[kFrameHeaderSize];
  EncodeFrameHeader(*header, encoded);
  char* buffer = ServiceBuffer();
  iovec iov[2] = {{encoded, kFrameHeaderSize}, {buffer, first}};
  size_t written = 0;
  absl::Status status = WriteFully(fd_.get(), iov, first > 0 ? 2 : 1, deadline, &written);
  for (size_t done = first; status.ok() && done < request.length;) {
    const size_t piece = std::min<size_t>(request.length - done, kScratchSize);
    // Once the frame has started, a failed copy (the region was revoked meanwhile) cannot be
    // answered: the connection breaks (by the caller), so no stale bytes reach the peer as data.
    status = table_->CopyOut(request.key, request.address + done, buffer, piece);
    if (!status.ok()) break;
    iovec data = {buffer, piece};
    status = WriteFully(fd_.get(), &data, 1, deadline, &written);
    done += piece;
  }
  ReleaseWriter();
  return status;
}

char* TcpConnection::ServiceBuffer() {
  if (service_buffer_ == nullptr) service_buffer_.reset(new char[kScratchSize]);
  return service_buffer_.get();
}

void TcpConnection::Fail(absl::Status reason) {
  {
    absl::MutexLock lock(&mu_);
    if (Stopped()) return;
    broken_ = true;
    failure_ = std::move(reason);
  }
  ShutdownSocket();
}

void TcpConnection::FailWithNotice(absl::string_view reason) {
  FrameHeader header;
  header.type = FrameType::kError;
  std::string text(reason.substr(0, kMaxReasonLength));
  header.payload_length = static_cast<uint32_t>(text.size());
  // Best effort: the connection is broken afterwards whatever happens.
  WriteFrame(&header, text.data(), text.size(), absl::Now() + kNoticeTimeout).IgnoreError();
  Fail(absl::UnavailableError(absl::StrCat("closed connection to ", peer_.address, ": ", reason)));
}

absl::Status TcpConnection::ClosedStatus() const {
  if (broken_ && !closed_) return failure_;
  return absl::UnavailableError(absl::StrCat("connection to ", peer_.address, " closed"));
}

void TcpConnection::ShutdownSocket() {
  stop_.store(true, std::memory_order_release);
  credits_.Close();
  ::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler
