// Copyright 2026 The vifiler Authors.
//
// VolumeService: executes file-protocol requests against one volume for every connection that
// serves it (the owner's primary port, or the partner's secondary port during takeover).
//
// Contract:
//  - Open() recovers the volume's reply log (storage/keyed_log.h on the BlockFile it is
//    given): replies of executed mutations, and intents of namespace operations that may have
//    run before a crash, which it resolves (filer/intent_resolver.h) before serving anyone.
//  - Handle() takes one request message and produces the reply to send. Malformed requests
//    whose header is readable get an error reply (kBadRequest, kNotSupported, ...); an
//    unreadable header, a reply flag on a request or a failed one-sided transfer makes Handle
//    return an error, and the caller closes that connection. Other connections are unaffected.
//  - Requests other than kNull and kSessionCreate need a session; every request goes through
//    the ReplyCache (a replayed mutation is answered from it, never executed twice).
//  - Acknowledged means durable: a mutation's reply is returned only once the mutation and the
//    reply-cache record that answers its replay would both survive a power cut (the log syncs
//    the mutation's files first, then writes the record; concurrent mutations share one flush).
//    Namespace operations (create, mkdir, remove, rmdir, rename) hold their names
//    (filer/name_locks.h) and record a durable intent before they execute.
//  - Fencing: the MutationGuard must say this filer may write (its lease on the volume holds)
//    before a mutation executes; the reply log asks it again before every write. A failure to
//    record a reply, or a guard that refuses after an intent was recorded, fails the service:
//    every later request gets kNotOwner and options.on_failure is called once (the owner must
//    give the volume up).
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
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "filer/name_locks.h"
#include "filer/reply_cache.h"
#include "filer/volume.h"
#include "protocol/messages.h"
#include "storage/block_file.h"
#include "storage/keyed_log.h"
#include "transport/connection.h"

namespace vifiler {
namespace filer {

struct ServiceOptions {
  std::string filer_name;
  // Reads and writes up to this many bytes travel inside the messages.
  uint32_t inline_threshold = 16 * 1024;
  // The ownership epoch this filer holds the volume at: stamped on the reply log's blocks.
  uint64_t epoch = 0;
  // false: acknowledge without syncing anything (no durability; benchmarks and scratch only).
  bool durable = true;
  // Called once, from a request thread, when the service failed (see the contract).
  std::function<void(const absl::Status&)> on_failure;
  // Test hooks (honoured only in builds with VIFILER_TEST_HOOKS). When N > 0:
  //  die_after_mutations: SIGKILL right after the N-th mutation's reply is durable, before it
  //    is sent (the replay must be answered from the reply log by whoever serves next);
  //  die_after_syscall: SIGKILL right after the N-th mutation executed, before its reply is
  //    recorded (the next owner must resolve its intent);
  //  stop_before_mutation: SIGSTOP itself after the N-th mutation passed every check, just
  //    before it changes the volume (fencing must keep it from landing once thawed).
  uint64_t test_only_die_after_mutations = 0;
  uint64_t test_only_die_after_syscall = 0;
  uint64_t test_only_stop_before_mutation = 0;
};

// OK while this filer may mutate the volume.
using MutationGuard = std::function<absl::Status()>;

struct ServiceCounters {
  uint64_t requests = 0;
  uint64_t replays = 0;  // answered from the reply cache
  uint64_t bad_requests = 0;
  uint64_t sessions = 0;
  uint64_t resolved_intents = 0;  // pending intents resolved at open
  storage::KeyedLog::Stats log;
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

  // Recovers the reply log kept on reply_log and resolves pending intents; then serves.
  static absl::StatusOr<std::unique_ptr<VolumeService>> Open(
      std::unique_ptr<Volume> volume, std::unique_ptr<storage::BlockFile> reply_log,
      ServiceOptions options, MutationGuard guard);
  ~VolumeService();
  VolumeService(const VolumeService&) = delete;
  VolumeService& operator=(const VolumeService&) = delete;

  // Called once per request with the reply to send, or with an error: close the connection
  // without answering.
  using ReplyCallback = std::function<void(absl::Status status, std::string reply)>;
  // Handles one request. Most replies are ready when it returns; a mutation's reply waits for
  // the reply log to make it durable, and `done` is then called later, from the log's
  // completion thread, while the caller goes on with its next request (so the mutations of one
  // connection share flushes too).
  void HandleAsync(Channel* channel, absl::string_view request, ReplyCallback done);
  // The same, waiting for the reply (bounded).
  absl::Status Handle(Channel* channel, absl::string_view request, std::string* reply);

  void StopAccepting();
  // Waits until no request is executing. DeadlineExceededError if some still are.
  absl::Status Drain(absl::Time deadline);
  // OK unless the service failed (see the contract).
  absl::Status status() const;

  Volume* volume() const { return volume_.get(); }
  ServiceCounters counters() const;

 private:
  struct Session {
    std::string client_id;
    uint32_t slots = 0;
  };
  // One mutation on its way through HandleMutation.
  struct Mutation;

  VolumeService(std::unique_ptr<Volume> volume, ServiceOptions options, MutationGuard guard);
  absl::Status Recover(std::unique_ptr<storage::BlockFile> reply_log);

  // Returns true when it handed `done` to the reply log (the reply comes later); otherwise
  // *result and *reply are the answer now.
  bool HandleMutation(const protocol::MessageHeader& header, absl::string_view request,
                      Channel* channel, const Session& session, ReplyCallback* done,
                      absl::Status* result, std::string* reply);
  // Everything but the deferred completion of mutations: as HandleMutation.
  bool HandleRequest(Channel* channel, absl::string_view request, ReplyCallback* done,
                     absl::Status* result, std::string* reply);
  void EndExecuting();
  // Decodes a mutation's request: its names to hold, whether it needs an intent.
  protocol::ErrorCode Plan(const protocol::MessageHeader& header, absl::string_view request,
                           Mutation* m);
  // Runs a decoded mutation; fills *body and the effects to sync.
  protocol::ErrorCode Run(const protocol::MessageHeader& header, absl::string_view request,
                          Channel* channel, Mutation* m, std::string* body,
                          absl::Status* transport_error);
  protocol::ErrorCode Execute(const protocol::MessageHeader& header, absl::string_view request,
                              Channel* channel, std::string* reply);
  protocol::ErrorCode CreateSession(absl::string_view request, std::string* body);
  protocol::ErrorCode DoRead(absl::string_view request, Channel* channel, std::string* body,
                             absl::Status* transport_error);
  protocol::ErrorCode DoWrite(absl::string_view request, Channel* channel, std::string* body,
                              absl::Status* transport_error);
  absl::Status EnsureStaging(Channel* channel, size_t size);
  // Marks the service failed; returns the status to close the connection with.
  absl::Status Fail(absl::Status status);

  const std::unique_ptr<Volume> volume_;
  const ServiceOptions options_;
  const MutationGuard guard_;
  std::unique_ptr<storage::KeyedLog> log_;
  std::unique_ptr<ReplyCache> reply_cache_;
  NameLocks names_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Session> sessions_ ABSL_GUARDED_BY(mu_);
  int executing_ ABSL_GUARDED_BY(mu_) = 0;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bad_requests_{0};
  std::atomic<uint64_t> sessions_created_{0};
  std::atomic<uint64_t> mutations_{0};
  std::atomic<uint64_t> resolved_intents_{0};
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_VOLUME_SERVICE_H_
