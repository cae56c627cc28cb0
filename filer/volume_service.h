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
//  - Exports (options.exports, options.allow_setid; see ServiceOptions): checked before
//    anything else a request does.
//  - Requests other than kNull and kSessionCreate need a session; every request goes through
//    the ReplyCache (a replayed mutation is answered from it, never executed twice).
//  - Sessions and leases (filer/session_table.h, options.limits): a client keeps its session
//    and reply-cache state while one of its connections is open, and for
//    limits.session_lease after; then both are dropped (of its reply-log records only each
//    slot's last sequence stays, for ReplyCache::kExpiredRecordLife). A request on a session
//    this service dropped gets kSessionExpired, and so does a replay of a request whose reply
//    was dropped that way: never a second execution. A new client beyond
//    limits.max_sessions is refused with kBusy; a session gets at most
//    limits.max_inflight_per_session slots.
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
//    operations into/out of the buffer the client registered for the request: from a
//    registered mapping of the file, or through the connection's registered staging buffer;
//    when neither can be registered (the memlock limit), through the connection's message
//    buffers (Connection::WriteRemoteCopy): slower, counted and logged, never an error.
//  - StopAccepting() makes new requests fail with kNotOwner; Drain() waits for running ones.
// Thread-safe: one Handle() call per connection at a time, many connections at once.

#ifndef VIFILER_FILER_VOLUME_SERVICE_H_
#define VIFILER_FILER_VOLUME_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "filer/export_policy.h"
#include "filer/name_locks.h"
#include "filer/reply_cache.h"
#include "filer/service_limits.h"
#include "filer/session_table.h"
#include "filer/volume.h"
#include "protocol/messages.h"
#include "storage/block_file.h"
#include "storage/keyed_log.h"
#include "transport/connection.h"
#include "transport/page_buffer.h"

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
  // Connections, sessions, leases (filer/service_limits.h); the data access port reads its own.
  Limits limits;
  // Who may use the volume, and how: a connection from an address the policy denies gets
  // kNotExported for every request (before any session is made); a read-only one gets
  // kReadOnly for every mutation, which does not execute.
  ExportPolicy exports;
  // false (the default): set-user-ID bits, and set-group-ID bits on files, are cleared from
  // every mode a client sets (create, mkdir, setattr), as NFS's nosuid: a client cannot plant
  // a set-ID executable on the filer host.
  bool allow_setid = false;
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
  uint64_t live_sessions = 0;     // sessions now
  uint64_t live_clients = 0;      // clients whose state is kept (with or without a session)
  uint64_t expired_clients = 0;   // clients dropped when their lease ran out
  uint64_t expired_replays = 0;   // requests refused with kSessionExpired
  // Direct transfers: reads sent from a registered mapping of the file (zero-copy), reads and
  // writes through the connection's registered staging buffer, and transfers copied through
  // the connection's message buffers because no memory could be registered for them (the
  // memlock limit); file mappings the fabric refused to register.
  uint64_t direct_reads_mapped = 0;
  uint64_t direct_staged = 0;
  uint64_t direct_copied = 0;
  uint64_t mapping_refusals = 0;
  storage::KeyedLog::Stats log;
};

class VolumeService {
 public:
  // Per-connection state: the bound session and a registered staging buffer for direct
  // transfers (kept between requests only up to 1 MiB). Owned by the connection's serving
  // thread; destroy before the connection.
  class Channel {
   public:
    explicit Channel(transport::Connection* connection) : connection_(connection) {}
    ~Channel();
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;
    transport::Connection* connection() const { return connection_; }

   private:
    friend class VolumeService;
    // Holds the client of the last session used on this connection (its lease does not run
    // while the connection is open).
    void Bind(const std::shared_ptr<SessionTable>& sessions, const std::string& client_id);

    transport::Connection* connection_;
    std::shared_ptr<SessionTable> sessions_;
    std::string client_id_;
    transport::PageBuffer staging_;  // returned to the system when freed
    size_t staging_size_ = 0;
    std::unique_ptr<transport::MemoryRegion> staging_region_;
    // Direct reads are sent from a mapping of the file (registered as a local source: it is
    // mapped read-only) until the fabric refuses to register one for a reason other than the
    // memlock limit.
    bool map_direct_reads_ = true;
    // What the export policy grants this connection's peer (decided at its first request).
    bool access_known_ = false;
    ExportPolicy::Access access_ = ExportPolicy::Access::kDenied;
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
  const Limits& limits() const { return options_.limits; }
  ServiceCounters counters() const;

 private:
  using Session = SessionTable::Session;
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
  // Drops the state of clients whose lease ran out, every sweep interval until stopped.
  void SweepLoop();
  // Decodes a mutation's request: its names to hold, whether it needs an intent.
  // mode without the set-ID bits options.allow_setid does not allow.
  uint32_t AllowedMode(uint32_t mode, bool directory) const;
  protocol::ErrorCode Plan(const protocol::MessageHeader& header, absl::string_view request,
                           Mutation* m);
  // Runs a decoded mutation; fills *body and the effects to sync.
  protocol::ErrorCode Run(const protocol::MessageHeader& header, absl::string_view request,
                          Channel* channel, Mutation* m, std::string* body,
                          absl::Status* transport_error);
  protocol::ErrorCode Execute(const protocol::MessageHeader& header, absl::string_view request,
                              Channel* channel, std::string* reply);
  protocol::ErrorCode CreateSession(Channel* channel, absl::string_view request, std::string* body);
  protocol::ErrorCode DoRead(absl::string_view request, Channel* channel, std::string* body,
                             absl::Status* transport_error);
  protocol::ErrorCode DoWrite(absl::string_view request, Channel* channel, std::string* body,
                              absl::Status* transport_error);
  absl::Status EnsureStaging(Channel* channel, size_t size);
  // Counts a transfer copied through the connection's message buffers because `why` (no
  // memory could be registered); logs it at most every kCopiedLogInterval.
  void NoteCopied(const absl::Status& why);
  // Frees a staging buffer larger than what a connection keeps between requests, so that no
  // connection holds on to the largest transfer it ever made.
  static void TrimStaging(Channel* channel);
  // Calls TrimStaging when a direct transfer is done, however it ends.
  struct StagingTrim {
    Channel* channel;
    ~StagingTrim() { TrimStaging(channel); }
  };
  // Marks the service failed; returns the status to close the connection with.
  absl::Status Fail(absl::Status status);

  const std::unique_ptr<Volume> volume_;
  const ServiceOptions options_;
  const MutationGuard guard_;
  std::unique_ptr<storage::KeyedLog> log_;
  std::unique_ptr<ReplyCache> reply_cache_;
  NameLocks names_;

  // Shared with the channels, which may outlive the service by a moment.
  const std::shared_ptr<SessionTable> sessions_;

  mutable absl::Mutex mu_;
  int executing_ ABSL_GUARDED_BY(mu_) = 0;
  bool sweeping_ ABSL_GUARDED_BY(mu_) = true;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bad_requests_{0};
  std::atomic<uint64_t> sessions_created_{0};
  std::atomic<uint64_t> mutations_{0};
  std::atomic<uint64_t> resolved_intents_{0};
  std::atomic<uint64_t> expired_replays_{0};
  std::atomic<uint64_t> direct_reads_mapped_{0};
  std::atomic<uint64_t> direct_staged_{0};
  std::atomic<uint64_t> direct_copied_{0};
  std::atomic<uint64_t> mapping_refusals_{0};
  std::atomic<bool> mapping_refusal_logged_{false};
  // When a transfer was last logged as copied for want of registrable memory (rate limit).
  std::atomic<int64_t> copied_logged_at_ns_{0};
  std::thread sweeper_;
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_VOLUME_SERVICE_H_
