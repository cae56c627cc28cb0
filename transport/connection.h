// Copyright 2026 The vifiler Authors.
//
// Connection: one reliable, message-oriented link between two processes over a fabric, plus
// one-sided access to memory the peer registered. Both fabrics (rdma, tcp) implement the same
// contract, so the layers above cannot tell them apart.

#ifndef VIFILER_TRANSPORT_CONNECTION_H_
#define VIFILER_TRANSPORT_CONNECTION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vifiler {
namespace transport {

// What a peer needs to access a registered buffer: the address it was registered at, the key
// that authorises access, and its length. Sent inside protocol messages.
struct RemoteBuffer {
  uint64_t address = 0;
  uint32_t key = 0;
  uint32_t length = 0;
};

// What a registration is for. Each use grants only the access rights it needs (rdma: the
// ibv_reg_mr access flags), so memory the process may not write (a PROT_READ mapping,
// .rodata, a file mapped read-only) can be registered for every use that only reads it.
enum class Access {
  kLocalSource,   // the local side of WriteRemote: only read, by this side's device
  kLocalSink,     // the local side of ReadRemote (or of either): written by this side's device
  kRemoteSource,  // read by the peer's ReadRemote (a direct write's source)
  kRemoteSink,    // written by the peer's WriteRemote (a direct read's sink)
  kRemoteAny,     // read and written by the peer
};

// Memory registered with one connection. Owned by the caller of RegisterMemory; must be
// destroyed before the connection and must not be freed while an operation uses it.
// Destroying it revokes remote access.
class MemoryRegion {
 public:
  virtual ~MemoryRegion() = default;
  virtual char* data() const = 0;
  virtual size_t size() const = 0;
  // The descriptor the peer uses to address this region with one-sided operations.
  virtual RemoteBuffer Describe() const = 0;
};

// Identity the connecting side presents (rdma: in the rdma_cm private data; tcp: in the
// handshake). The listener validates magic and version before accepting.
struct PeerIdentity {
  // Free-form client identity, at most kMaxIdentityLength bytes.
  std::string identity;
  // What the connection is for (data access, interconnect, admin, raw benchmark).
  uint16_t purpose = 0;
  // Printable peer address ("10.0.0.1:7300"), filled in by the transport.
  std::string address;
};

inline constexpr size_t kMaxIdentityLength = 40;

// PeerIdentity::purpose values used by vifiler.
inline constexpr uint16_t kPurposeDataAccess = 1;
inline constexpr uint16_t kPurposeInterconnect = 2;
inline constexpr uint16_t kPurposeAdmin = 3;
inline constexpr uint16_t kPurposeBenchmark = 4;

// Contract:
//  - Send and Receive move whole messages of at most max_message_size() bytes, in order.
//  - Flow control is per connection and credit based: Send waits (until its deadline) for a
//    credit rather than overrun the peer's posted receive buffers.
//  - Send, WriteRemote and ReadRemote are thread-safe. Receive is meant for one receiving
//    thread at a time.
//  - A one-sided operation completes (returns) only after the data is placed locally (read)
//    or handed to the fabric in order ahead of any later Send (write): a message sent after
//    WriteRemote returns is delivered only after the written data is in the peer's memory.
//  - The passive side of a one-sided operation needs no action from the peer application; it
//    is served against memory the peer registered for that remote use (Access).
//  - Every blocking call takes a deadline: DeadlineExceededError when it passes.
//  - After Close() or a fabric error every pending and later call fails with
//    UnavailableError; Close() is idempotent and may be called from any thread.
class Connection {
 public:
  virtual ~Connection() = default;

  virtual size_t max_message_size() const = 0;

  virtual absl::Status Send(absl::string_view message, absl::Time deadline) = 0;
  virtual absl::StatusOr<std::string> Receive(absl::Time deadline) = 0;

  // Registers [data, data + size) for `access` (the peer may use Describe() for the remote
  // uses). A failure is local to this process (the memory may not be pinned with those rights,
  // or the memlock limit is reached: ResourceExhausted, naming the limit): the connection
  // stays usable, and the copying calls below work without a registration.
  virtual absl::StatusOr<std::unique_ptr<MemoryRegion>> RegisterMemory(void* data, size_t size,
                                                                       Access access) = 0;

  // Copies local[local_offset, +length) into the peer's remote buffer at remote_offset.
  virtual absl::Status WriteRemote(const MemoryRegion& local, size_t local_offset,
                                   const RemoteBuffer& remote, uint64_t remote_offset,
                                   size_t length, absl::Time deadline) = 0;
  // Copies the peer's remote buffer [remote_offset, +length) into local at local_offset.
  virtual absl::Status ReadRemote(const MemoryRegion& local, size_t local_offset,
                                  const RemoteBuffer& remote, uint64_t remote_offset, size_t length,
                                  absl::Time deadline) = 0;

  // WriteRemote and ReadRemote from or into memory that is not registered: the bytes are
  // copied through the connection's own registered message buffers, in pieces. The fallback
  // when RegisterMemory fails; it pins nothing more.
  virtual absl::Status WriteRemoteCopy(absl::string_view local, const RemoteBuffer& remote,
                                       uint64_t remote_offset, absl::Time deadline) = 0;
  virtual absl::Status ReadRemoteCopy(char* local, size_t length, const RemoteBuffer& remote,
                                      uint64_t remote_offset, absl::Time deadline) = 0;

  virtual void Close() = 0;
  virtual bool IsOpen() const = 0;

  // The identity the other side presented when the connection was made (on the accepting
  // side: the connector's; on the connecting side: its own, with the peer's address).
  virtual const PeerIdentity& peer() const = 0;
};

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_CONNECTION_H_
