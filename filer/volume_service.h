// Copyright 2026 The vifiler Authors.
//
// VolumeService: executes file-protocol requests against one volume for every connection that
// serves it (the owner's primary port, or the partner's secondary port during takeover).
//
// Contract:
//  - Handle() takes one request message and produces the reply to send. Malformed requests
//    whose header is readable get an error reply (kBadRequest, kNotSupported, ...); an
//    unreadable header, a reply flag on a request or a failed one-sided transfer makes Handle
//    return an error, and the caller closes that connection. Other connections are unaffected.
//  - Requests other than kNull and kSessionCreate need a session; mutating requests go through
//    the ReplyCache (executed at most once per client, slot and sequence).
//  - Before a mutation is executed and again before it is acknowledged, the MutationGuard must
//    say this filer still holds the volume's ownership epoch; otherwise the request is refused
//    with kNotOwner (before) or the connection is closed without an acknowledgement (after).
//  - Reads and writes longer than the inline threshold move their data with one-sided
//    operations into/out of the buffer the client registered for the request.
//  - StopAccepting() makes new requests fail with kNotOwner; Drain() waits for running ones.
// Thread-safe: one Handle() call per connection at a time, many connections at once.

#ifndef VIFILER_FILER_VOLUME_SERVICE_H_
#define VIFILER_FILER_VOLUME_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "filer/reply_cache.h"
#include "filer/volume.h"
#include "protocol/messages.h"
#include "transport/connection.h"

namespace vifiler {
namespace filer {

struct ServiceOptions {
  std::string filer_name;
  // Reads and writes up to this many bytes travel inside the messages.
  uint32_t inline_threshold = 16 * 1024;
  // fdatasync reply-cache records before acknowledging.
  bool sync_reply_cache = false;
  // Test hook: when N > 0, the process kills itself (SIGKILL) right after the N-th mutation
  // has executed and its reply is recorded, before the reply is sent: the client's replay then
  // must be answered from the reply cache by whichever filer serves next.
  uint64_t test_only_die_after_mutations = 0;
};

// OK while this filer may mutate the volume.
using MutationGuard = std::function<absl::Status()>;

struct ServiceCounters {
  uint64_t requests = 0;
  uint64_t replays = 0;  // answered from the reply cache
  uint64_t bad_requests = 0;
  uint64_t sessions = 0;
};

class VolumeService {
 public:
  // Per-connection state: the bound session and a registered staging buffer for direct
  // transfers. Owned by the connection's serving thread; destroy before the connection.
  class Channel {
   public:
    explicit Channel(transport::Connection* connection) : connection_(connection) {}
    transport::Connection* connection() const { return connection_; }

   private:
    friend class VolumeService;
    transport::Connection* connection_;
    std::unique_ptr<char[]> staging_;
    size_t staging_size_ = 0;
    std::unique_ptr<transport::MemoryRegion> staging_region_;
    // Direct reads are sent from a mapping of the file until the fabric refuses to register one.
    bool map_direct_reads_ = true;
  };

  VolumeService(std::unique_ptr<Volume> volume, ServiceOptions options, MutationGuard guard);
  VolumeService(const VolumeService&) = delete;
  VolumeService& operator=(const VolumeService&) = delete;

  absl::Status Handle(Channel* channel, absl::string_view request, std::string* reply);

  void StopAccepting();
  // Waits until no request is executing. DeadlineExceededError if some still are.
  absl::Status Drain(absl::Time deadline);

  Volume* volume() const { return volume_.get(); }
  ServiceCounters counters() const;

 private:
  struct Session {
    std::string client_id;
    uint32_t slots = 0;
  };

  protocol::ErrorCode Execute(const protocol::MessageHeader& header, absl::string_view request,
                              Channel* channel, std::string* reply);
  protocol::ErrorCode CreateSession(absl::string_view request, std::string* body);
  protocol::ErrorCode DoRead(absl::string_view request, Channel* channel, std::string* body,
                             absl::Status* transport_error);
  protocol::ErrorCode DoWrite(absl::string_view request, Channel* channel, std::string* body,
                              absl::Status* transport_error);
  absl::Status EnsureStaging(Channel* channel, size_t size);

  const std::unique_ptr<Volume> volume_;
  const ServiceOptions options_;
  const MutationGuard guard_;
  ReplyCache reply_cache_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Session> sessions_ ABSL_GUARDED_BY(mu_);
  int executing_ ABSL_GUARDED_BY(mu_) = 0;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bad_requests_{0};
  std::atomic<uint64_t> sessions_created_{0};
  std::atomic<uint64_t> mutations_{0};
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_VOLUME_SERVICE_H_
