// Copyright 2026 The vifiler Authors.
//
// TcpConnection: the Connection contract (connection.h) over one connected TCP socket whose
// handshake is done. Frames are described in tcp_wire.h.
//
// Threads:
//  - the reader thread reads every frame: queues messages for Receive (at most the credit
//    window; a peer that sends more is cut off), applies credit returns, serves the passive
//    side of remote writes against the MemoryTable and completes this side's ReadRemote calls;
//  - the service thread writes what the reader must not wait for: answers to the peer's read
//    requests and credit-only frames;
//  - application threads write their own frames.
// One writer slot, taken with the caller's deadline, serialises all writes, so frames never
// interleave and a WriteRemote is in the stream ahead of every later Send. A write that stops
// half-way breaks the connection (the stream would be out of step).
//
// One-sided errors: a bad read request is answered with an error status (the connection stays
// up); a bad remote write cannot be answered, so the passive side sends an error frame and
// closes the connection, and the active side's later calls fail with UnavailableError.
//
// Memory: nothing a peer sends makes this side allocate before the request is validated, and no
// buffer grows to the largest frame seen. A remote write's key and range are checked before its
// payload is read, which then goes from the socket straight into the registered region (what
// has arrived is moved under the memory table's lock without waiting; a region revoked half-way
// breaks the connection); a read answer goes the same way into the waiting ReadRemote's
// destination (moved under mu_ without waiting; bytes nobody waits for any more are dropped
// through the reader's fixed scratch buffer of kScratchSize); a read request whose key and range
// were accepted is answered in pieces of kScratchSize copied through the service thread's fixed
// buffer, the writer slot held for the whole frame (each buffer allocated on first use and kept
// for the connection's life: nothing is mapped or allocated per request). If the region is
// revoked after the answer's first piece went out, the connection breaks (the frame cannot be
// finished honestly).
//
// Close() is idempotent and wakes every waiter; the destructor closes and joins both threads.

#ifndef VIFILER_TRANSPORT_TCP_TCP_CONNECTION_H_
#define VIFILER_TRANSPORT_TCP_TCP_CONNECTION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "transport/connection.h"
#include "transport/credit_window.h"
#include "transport/tcp/memory_table.h"
#include "transport/tcp/socket_io.h"
#include "transport/tcp/stream_reader.h"
#include "transport/tcp/tcp_wire.h"

namespace vifiler {
namespace transport {
namespace tcp {

class TcpConnection : public Connection {
 public:
  // Bytes of a remote write or of a read answer the reader copies at a time.
  static constexpr size_t kScratchSize = 256 * 1024;

  // Takes a connected non-blocking socket and the negotiated parameters; starts the threads.
  TcpConnection(ScopedFd fd, PeerIdentity peer, const LinkParams& params);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;
  ~TcpConnection() override;

  size_t max_message_size() const override { return max_message_size_; }
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
  // The stream carries the bytes from wherever they are: no copy beyond WriteRemote's.
  absl::Status WriteRemoteCopy(absl::string_view local, const RemoteBuffer& remote,
                               uint64_t remote_offset, absl::Time deadline) override;
  absl::Status ReadRemoteCopy(char* local, size_t length, const RemoteBuffer& remote,
                              uint64_t remote_offset, absl::Time deadline) override;
  void Close() override;
  bool IsOpen() const override;
  const PeerIdentity& peer() const override { return peer_; }

 private:
  // A ReadRemote chunk waiting for its answer; lives on the waiting thread's stack.
  struct PendingRead {
    char* destination;
    size_t length;
    bool done = false;
    absl::Status status;
  };
  // A read request from the peer, for the service thread.
  struct ReadRequest {
    uint32_t id;
    uint32_t key;
    uint64_t address;
    uint32_t length;
  };

  // Takes the one writer slot (waiting until deadline) / gives it back.
  absl::Status AcquireWriter(absl::Time deadline);
  void ReleaseWriter();
  // Writes one frame (header, then payload[0, n)); piggybacks pending credits. On a deadline
  // before any byte went out the credits are kept and DeadlineExceededError returned; any other
  // failure breaks the connection.
  absl::Status WriteFrame(FrameHeader* header, const char* payload, size_t n, absl::Time deadline);
  // The bodies of the one-sided calls, once the ranges were checked.
  absl::Status WriteFrom(const char* data, size_t length, const RemoteBuffer& remote,
                         uint64_t remote_offset, absl::Time deadline);
  absl::Status ReadInto(char* destination, size_t length, const RemoteBuffer& remote,
                        uint64_t remote_offset, absl::Time deadline);
  absl::Status ReadChunk(char* destination, const RemoteBuffer& remote, uint64_t remote_offset,
                         uint32_t length, absl::Time deadline);

  void ReaderLoop();
  absl::Status HandleFrame(const FrameHeader& header);
  absl::Status HandleRemoteWrite(const FrameHeader& header);
  absl::Status HandleReadResponse(const FrameHeader& header);
  // The reader's scratch buffer of kScratchSize bytes (allocated on first use).
  char* Scratch();
  void ServiceLoop();
  // Answers one read request; false when the connection broke.
  bool ServeRead(const ReadRequest& request);
  // Writes the answer frame of an accepted read request whose first `first` bytes are in the
  // service buffer already, copying the rest piece by piece. Any error leaves the stream out of
  // step: the caller breaks the connection.
  absl::Status StreamReadAnswer(FrameHeader* header, const ReadRequest& request, size_t first,
                                absl::Time deadline);
  // The service thread's buffer of kScratchSize bytes (allocated on first use).
  char* ServiceBuffer();

  // Breaks the connection with `reason` (no-op when already closed or broken).
  void Fail(absl::Status reason);
  // Sends an error frame (best effort, short deadline), then breaks the connection.
  void FailWithNotice(absl::string_view reason);
  absl::Status ClosedStatus() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void ShutdownSocket();
  bool Stopped() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || broken_; }

  const ScopedFd fd_;
  const PeerIdentity peer_;
  const size_t max_message_size_;
  const std::shared_ptr<MemoryTable> table_;
  CreditWindow credits_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> next_read_id_{1};
  // Messages received whose credit has not gone back to the peer yet: more than the window
  // means the peer ignores flow control.
  std::atomic<int64_t> unreturned_{0};

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // Close() was called
  bool broken_ ABSL_GUARDED_BY(mu_) = false;  // the peer left or the stream failed
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool writer_busy_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> inbox_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, PendingRead*> reads_ ABSL_GUARDED_BY(mu_);
  std::deque<ReadRequest> read_requests_ ABSL_GUARDED_BY(mu_);
  uint32_t credits_to_return_ ABSL_GUARDED_BY(mu_) = 0;

  // Reader thread only.
  StreamReader stream_;
  std::unique_ptr<char[]> scratch_;
  // Service thread only.
  std::unique_ptr<char[]> service_buffer_;

  std::thread reader_;
  std::thread service_;
};

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_TCP_TCP_CONNECTION_H_
