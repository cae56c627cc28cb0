// Copyright 2026 The vifiler Authors.

#include "filer/volume_service.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "filer/intent_resolver.h"
#include "glog/logging.h"
#include "protocol/codec.h"

namespace vifiler {
namespace filer {

using protocol::ErrorCode;
using protocol::MessageHeader;
using protocol::Opcode;

namespace {

// How long a one-sided transfer for one request may take before the client is presumed gone.
constexpr absl::Duration kTransferTimeout = absl::Seconds(30);
// A connection keeps a staging buffer of at most this size between requests; a larger one (a
// direct transfer of up to kMaxTransferLength) is freed once its request is done.
constexpr size_t kKeptStagingSize = 1 << 20;
// How often a direct transfer copied for want of registrable memory is logged.
constexpr absl::Duration kCopiedLogInterval = absl::Seconds(10);
// How long a replay waits for the original execution of the same request to finish, and a
// mutation for the names it needs.
constexpr absl::Duration kReplayWait = absl::Seconds(10);
// How long the reply log may take to make an entry durable before the service gives up.
constexpr absl::Duration kDurableWait = absl::Seconds(30);
// Expired leases are looked for this often (at most), and at least four times per lease.
constexpr absl::Duration kMaxSweepInterval = absl::Seconds(1);

std::string MakeReply(const MessageHeader& request, ErrorCode code, absl::string_view body) {
  MessageHeader header = request;
  header.flags = protocol::kFlagReply;
  header.status = code;
  if (code != ErrorCode::kOk) body = absl::string_view();
  header.payload_length = static_cast<uint32_t>(body.size());
  std::string out;
  out.reserve(protocol::kHeaderSize + body.size());
  protocol::Encoder e(&out);
  protocol::EncodeHeader(header, &e);
  out.append(body.data(), body.size());
  return out;
}

template <typename Body>
void EncodeTo(const Body& b, std::string* out) {
  protocol::Encoder e(out);
  protocol::EncodeBody(b, &e);
}

template <typename Request>
bool DecodeRequest(absl::string_view message, Request* request) {
  absl::Status s = protocol::DecodeMessageBody(message, request);
  if (!s.ok()) VLOG(1) << "bad request body: " << s;
  return s.ok();
}

transport::RemoteBuffer ToTransport(const protocol::RemoteBuffer& b) {
  return transport::RemoteBuffer{b.address, b.key, b.length};
}

}  // namespace

VolumeService::Channel::~Channel() {
  if (sessions_ != nullptr && !client_id_.empty()) sessions_->Release(client_id_, absl::Now());
}

void VolumeService::Channel::Bind(const std::shared_ptr<SessionTable>& sessions,
                                  const std::string& client_id) {
  if (client_id == client_id_ && sessions_ == sessions) return;
  if (sessions_ != nullptr && !client_id_.empty()) sessions_->Release(client_id_, absl::Now());
  sessions_ = sessions;
  client_id_ = client_id;
  sessions_->Hold(client_id_);
}

VolumeService::VolumeService(std::unique_ptr<Volume> volume, ServiceOptions options,
                             MutationGuard guard)
    : volume_(std::move(volume)),
      options_(std::move(options)),
      guard_(std::move(guard)),
      sessions_(std::make_shared<SessionTable>(options_.limits.session_lease,
                                               options_.limits.max_sessions)) {}

VolumeService::~VolumeService() {
  {
    absl::MutexLock lock(&mu_);
    sweeping_ = false;
  }
  if (sweeper_.joinable()) sweeper_.join();
  // The log flushes what it holds as it closes and runs the completions of deferred replies,
  // which use the reply cache: the cache goes after it.
  log_.reset();
  reply_cache_.reset();
}

absl::StatusOr<std::unique_ptr<VolumeService>> VolumeService::Open(
    std::unique_ptr<Volume> volume, std::unique_ptr<storage::BlockFile> reply_log,
    ServiceOptions options, MutationGuard guard) {
  std::unique_ptr<VolumeService> service(
      new VolumeService(std::move(volume), std::move(options), std::move(guard)));
  if (absl::Status s = service->Recover(std::move(reply_log)); !s.ok()) return s;
  service->sweeper_ = std::thread(&VolumeService::SweepLoop, service.get());
  return service;
}

absl::Status VolumeService::Recover(std::unique_ptr<storage::BlockFile> reply_log) {
  storage::KeyedLog::Options lo;
  lo.epoch = options_.epoch;
  lo.sync = options_.durable;
  lo.write_guard = guard_;
  storage::KeyedLog::LiveMap live;
  absl::StatusOr<std::unique_ptr<storage::KeyedLog>> log =
      storage::KeyedLog::Open(std::move(reply_log), lo, &live);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  reply_cache_ = std::make_unique<ReplyCache>(log_.get());
  const std::vector<ReplyCache::Unresolved> unresolved = reply_cache_->Load(live);
  uint64_t last = 0;
  for (const ReplyCache::Unresolved& u : unresolved) {
    Resolution r = ResolveIntent(volume_.get(), u.intent);
    absl::StatusOr<uint64_t> lsn;
    if (r.executed) {
      MessageHeader header;
      header.opcode = u.intent.op;
      header.slot = u.slot;
      header.sequence = u.sequence;
      lsn = reply_cache_->RecordReply(u.client_id, u.slot, u.sequence,
                                      MakeReply(header, r.code, r.body), std::move(r.effects));
    } else {
      lsn = reply_cache_->RecordNotExecuted(u.client_id, u.slot, u.sequence);
    }
    if (!lsn.ok()) return lsn.status();
    last = *lsn;
    LOG(INFO) << "reply log: " << protocol::OpcodeName(u.intent.op) << " of slot " << u.slot
              << " sequence " << u.sequence << (r.executed ? " ran" : " did not run")
              << " before the volume changed hands";
  }
  if (last > 0) {
    absl::Status s = log_->WaitDurable(last, absl::Now() + kDurableWait);
    if (!s.ok()) return s;
    for (const ReplyCache::Unresolved& u : unresolved) {
      reply_cache_->MarkDurable(u.client_id, u.slot, u.sequence);
    }
  }
  resolved_intents_ = unresolved.size();
  // Clients with state in the log keep it for a lease from now (they may be reconnecting).
  const absl::Time now = absl::Now();
  for (const std::string& client_id : reply_cache_->client_ids()) {
    sessions_->Restore(client_id, now);
  }
  storage::KeyedLog::Stats stats = log_->stats();
  LOG(INFO) << "reply log: " << stats.live_entries << " replies of " << reply_cache_->clients()
            << " clients recovered, " << unresolved.size() << " intents resolved";
  return absl::OkStatus();
}

void VolumeService::SweepLoop() {
  const absl::Duration interval =
      std::max(absl::Milliseconds(10), std::min(kMaxSweepInterval, sessions_->lease() / 4));
  absl::MutexLock lock(&mu_);
  while (sweeping_) {
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !sweeping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), interval)) break;
    mu_.Unlock();
    const absl::Time now = absl::Now();
    const std::vector<std::string> expired = sessions_->Expire(now);
    size_t kept = 0;
    for (const std::string& client_id : expired) {
      // A request of the client still running (its connection gone): try again a lease later.
      if (!reply_cache_->Expire(client_id, now)) {
        sessions_->Restore(client_id, now);
        ++kept;
      }
    }
    reply_cache_->DropExpired(now - ReplyCache::kExpiredRecordLife);
    if (!expired.empty()) {
      VLOG(1) << options_.filer_name << ": " << expired.size() - kept
              << " client leases expired; their state was dropped";
    }
    mu_.Lock();
  }
}

void VolumeService::StopAccepting() {
  absl::MutexLock lock(&mu_);
  accepting_ = false;
}

absl::Status VolumeService::Drain(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return executing_ == 0; };
  if (!mu_.AwaitWithDeadline(absl::Condition(&idle), deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(executing_, " requests still executing"));
  }
  return absl::OkStatus();
}

absl::Status VolumeService::status() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

absl::Status VolumeService::Fail(absl::Status status) {
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) {
      failure_ = status;
      first = true;
    }
    accepting_ = false;
  }
  if (first) {
    LOG(ERROR) << options_.filer_name << ": volume service failed: " << status;
    if (options_.on_failure) options_.on_failure(status);
  }
  return status;
}

ServiceCounters VolumeService::counters() const {
  ServiceCounters c;
  c.requests = requests_.load();
  c.replays = reply_cache_->replays();
  c.bad_requests = bad_requests_.load();
  c.sessions = sessions_created_.load();
  c.resolved_intents = resolved_intents_.load();
  c.live_sessions = sessions_->sessions();
  c.live_clients = sessions_->clients();
  c.expired_clients = sessions_->expired();
  c.expired_replays = expired_replays_.load();
  c.direct_reads_mapped = direct_reads_mapped_.load();
  c.direct_staged = direct_staged_.load();
  c.direct_copied = direct_copied_.load();
  c.mapping_refusals = mapping_refusals_.load();
  c.log = log_->stats();
  return c;
}

void VolumeService::EndExecuting() {
  absl::MutexLock lock(&mu_);
  --executing_;
}

absl::Status VolumeService::Handle(Channel* channel, absl::string_view request,
                                   std::string* reply) {
  struct Answer {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::Status status ABSL_GUARDED_BY(mu);
    std::string reply ABSL_GUARDED_BY(mu);
  };
  auto answer = std::make_shared<Answer>();
  HandleAsync(channel, request, [answer](absl::Status status, std::string r) {
    absl::MutexLock lock(&answer->mu);
    answer->done = true;
    answer->status = std::move(status);
    answer->reply = std::move(r);
  });
  absl::MutexLock lock(&answer->mu);
  auto done = [&answer]() ABSL_SHARED_LOCKS_REQUIRED(answer->mu) { return answer->done; };
  if (!answer->mu.AwaitWithTimeout(absl::Condition(&done), kDurableWait + absl::Seconds(5))) {
    return absl::DeadlineExceededError("no reply: the reply log did not become durable in time");
  }
  *reply = std::move(answer->reply);
  return answer->status;
}

void VolumeService::HandleAsync(Channel* channel, absl::string_view request, ReplyCallback done) {
  absl::Status result;
  std::string reply;
  if (!HandleRequest(channel, request, &done, &result, &reply)) done(result, std::move(reply));
}

bool VolumeService::HandleRequest(Channel* channel, absl::string_view request,
                                  ReplyCallback* deferred, absl::Status* result,
                                  std::string* reply) {
  absl::StatusOr<MessageHeader> decoded = protocol::DecodeHeader(request);
  if (!decoded.ok()) {
    bad_requests_.fetch_add(1);
    *result = absl::InvalidArgumentError(
        absl::StrCat("unreadable request: ", decoded.status().message()));
    return false;
  }
  const MessageHeader& header = *decoded;
  if (header.flags & protocol::kFlagReply) {
    bad_requests_.fetch_add(1);
    *result = absl::InvalidArgumentError("reply flag set on a request");
    return false;
  }
  requests_.fetch_add(1);
  {
    absl::MutexLock lock(&mu_);
    if (!accepting_) {
      *reply = MakeReply(header, ErrorCode::kNotOwner, "");
      return false;
    }
    ++executing_;
  }
  // Ends the request's "executing" span, unless a deferred reply carries it on.
  struct Done {
    VolumeService* self;
    bool handed_over = false;
    ~Done() {
      if (!handed_over) self->EndExecuting();
    }
  } done{this};

  std::string body;
  if (header.opcode == Opcode::kNull) {
    *reply = MakeReply(header, ErrorCode::kOk, "");
    return false;
  }
  if (!channel->access_known_) {
    // A channel without a connection is an in-process caller (tests): not a remote host.
    channel->access_ = channel->connection() == nullptr
                           ? ExportPolicy::Access::kReadWrite
                           : options_.exports.Check(channel->connection()->peer().address);
    channel->access_known_ = true;
    if (channel->access_ == ExportPolicy::Access::kDenied) {
      LOG_EVERY_N(WARNING, 100) << options_.filer_name << ": volume "
                                << absl::StrCat(absl::Hex(volume_->id())) << " is not exported to "
                                << channel->connection()->peer().address << " (exports "
                                << options_.exports.ToString() << "); refusing its requests";
    }
  }
  if (channel->access_ == ExportPolicy::Access::kDenied) {
    *reply = MakeReply(header, ErrorCode::kNotExported, "");
    return false;
  }
  if (channel->access_ == ExportPolicy::Access::kReadOnly && protocol::IsMutating(header.opcode)) {
    *reply = MakeReply(header, ErrorCode::kReadOnly, "");
    return false;
  }
  if (header.opcode == Opcode::kSessionCreate) {
    ErrorCode code = CreateSession(channel, request, &body);
    *reply = MakeReply(header, code, body);
    return false;
  }
  if (header.opcode == Opcode::kNotice) {
    bad_requests_.fetch_add(1);
    *reply = MakeReply(header, ErrorCode::kNotSupported, "");
    return false;
  }

  Session session;
  switch (sessions_->Find(header.session_id, absl::Now(), &session)) {
    case SessionTable::Lookup::kFound:
      break;
    case SessionTable::Lookup::kUnknown:
      *reply = MakeReply(header, ErrorCode::kBadSession, "");
      return false;
    case SessionTable::Lookup::kExpired:
      // This service made the session and dropped it: the client's lease ran out (or it
      // replaced or destroyed the session). Whatever it sent earlier may have left state
      // that is gone, so it is told, not served as a stranger.
      expired_replays_.fetch_add(1);
      *reply = MakeReply(header, ErrorCode::kSessionExpired, "");
      return false;
  }
  channel->Bind(sessions_, session.client_id);
  if (header.opcode == Opcode::kSessionDestroy) {
    sessions_->Destroy(header.session_id, absl::Now());
    reply_cache_->Forget(session.client_id);
    *reply = MakeReply(header, ErrorCode::kOk, "");
    return false;
  }
  if (header.slot >= session.slots) {
    *reply = MakeReply(header, ErrorCode::kBadSlot, "");
    return false;
  }

  std::string cached;
  switch (reply_cache_->Begin(session.client_id, header.slot, header.sequence, &cached,
                              absl::Now() + kReplayWait)) {
    case ReplyCache::Verdict::kReplay: {
      // Same reply as the first time, addressed to the current session.
      absl::StatusOr<MessageHeader> old = protocol::DecodeHeader(cached);
      if (!old.ok()) {
        *result = absl::InternalError("corrupt reply cache entry");
        return false;
      }
      MessageHeader restamped = *old;
      restamped.session_id = header.session_id;
      restamped.flags |= protocol::kFlagReplay;
      std::string head;
      protocol::Encoder e(&head);
      protocol::EncodeHeader(restamped, &e);
      *reply = head + cached.substr(protocol::kHeaderSize);
      return false;
    }
    case ReplyCache::Verdict::kMisordered:
      *reply = MakeReply(header, ErrorCode::kSequenceMisordered, "");
      return false;
    case ReplyCache::Verdict::kOutOfWindow:
      LOG_EVERY_N(WARNING, 100) << "refused a request of client "
                                << absl::CHexEscape(session.client_id) << " on slot " << header.slot
                                << ": sequence " << header.sequence
                                << " is out of the window (not recorded)";
      bad_requests_.fetch_add(1);
      *reply = MakeReply(header, ErrorCode::kSequenceMisordered, "");
      return false;
    case ReplyCache::Verdict::kBusy:
      *reply = MakeReply(header, ErrorCode::kBusy, "");
      return false;
    case ReplyCache::Verdict::kExpired:
      // The client's lease expired after this request ran, and its reply was dropped.
      expired_replays_.fetch_add(1);
      LOG_EVERY_N(WARNING, 100) << "refused a replayed " << protocol::OpcodeName(header.opcode)
                                << " of client " << absl::CHexEscape(session.client_id)
                                << ": its session expired";
      *reply = MakeReply(header, ErrorCode::kSessionExpired, "");
      return false;
    case ReplyCache::Verdict::kExecute:
      break;
  }

  if (protocol::IsMutating(header.opcode)) {
    done.handed_over = HandleMutation(header, request, channel, session, deferred, result, reply);
    return done.handed_over;
  }
  absl::Status transport_error;
  ErrorCode code;
  if (header.opcode == Opcode::kRead) {
    code = DoRead(request, channel, &body, &transport_error);
  } else {
    code = Execute(header, request, channel, &body);
  }
  reply_cache_->Finish(session.client_id, header.slot, header.sequence);
  if (!transport_error.ok()) {  // a direct read executes again on replay
    *result = transport_error;
    return false;
  }
  if (code == ErrorCode::kBadRequest) bad_requests_.fetch_add(1);
  *reply = MakeReply(header, code, body);
  return false;
}

// What HandleMutation carries from planning to recording.
struct VolumeService::Mutation {
  std::vector<NameLocks::Name> names;
  bool intent_needed = false;
  Intent intent;
  // Files and directories whose changes must be durable before the reply.
  std::vector<protocol::FileHandle> touched;
};

uint32_t VolumeService::AllowedMode(uint32_t mode, bool directory) const {
  if (options_.allow_setid) return mode;
  // A directory's set-group-ID bit only makes new entries inherit its group: kept.
  return mode & ~static_cast<uint32_t>(directory ? S_ISUID : (S_ISUID | S_ISGID));
}

ErrorCode VolumeService::Plan(const MessageHeader& header, absl::string_view request, Mutation* m) {
  m->intent.op = header.opcode;
  switch (header.opcode) {
    case Opcode::kWrite: {
      protocol::WriteRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      m->touched = {r.handle};
      return ErrorCode::kOk;
    }
    case Opcode::kSetAttr: {
      protocol::SetAttrRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      m->touched = {r.handle};
      return ErrorCode::kOk;
    }
    case Opcode::kCreate: {
      protocol::CreateRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      m->names = {{r.dir.file_id, r.name}};
      m->intent_needed = r.exclusive;  // an open-or-create runs again on replay: no intent
      m->intent.dir = r.dir;
      m->intent.name = r.name;
      m->intent.mode = AllowedMode(r.mode, /*directory=*/false);
      m->touched = {r.dir};
      return ErrorCode::kOk;
    }
    case Opcode::kMkdir: {
      protocol::MkdirRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      m->names = {{r.dir.file_id, r.name}};
      m->intent_needed = true;
      m->intent.dir = r.dir;
      m->intent.name = r.name;
      m->intent.mode = AllowedMode(r.mode, /*directory=*/true);
      m->touched = {r.dir};
      return ErrorCode::kOk;
    }
    case Opcode::kRemove:
    case Opcode::kRmdir: {
      protocol::RemoveRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      m->names = {{r.dir.file_id, r.name}};
      m->intent_needed = true;
      m->intent.dir = r.dir;
      m->intent.name = r.name;
      m->touched = {r.dir};
      return ErrorCode::kOk;
    }
    case Opcode::kRename: {
      protocol::RenameRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      m->names = {{r.from_dir.file_id, r.from_name}, {r.to_dir.file_id, r.to_name}};
      m->intent_needed = true;
      m->intent.dir = r.from_dir;
      m->intent.name = r.from_name;
      m->intent.to_dir = r.to_dir;
      m->intent.to_name = r.to_name;
      m->touched = {r.from_dir, r.to_dir};
      return ErrorCode::kOk;
    }
    default:
      return ErrorCode::kNotSupported;
  }
}

ErrorCode VolumeService::Run(const MessageHeader& header, absl::string_view request,
                             Channel* channel, Mutation* m, std::string* body,
                             absl::Status* transport_error) {
  ErrorCode code;
  if (header.opcode == Opcode::kWrite) {
    code = DoWrite(request, channel, body, transport_error);
  } else {
    code = Execute(header, request, channel, body);
  }
  if (code == ErrorCode::kOk &&
      (header.opcode == Opcode::kCreate || header.opcode == Opcode::kMkdir)) {
    protocol::HandleReply created;
    protocol::Decoder d(*body);
    if (protocol::DecodeBody(&d, &created).ok()) m->touched.push_back(created.handle);
  }
  return code;
}

bool VolumeService::HandleMutation(const MessageHeader& header, absl::string_view request,
                                   Channel* channel, const Session& session, ReplyCallback* done,
                                   absl::Status* result, std::string* reply) {
  const std::string& client = session.client_id;
  if (absl::Status owner = guard_(); !owner.ok()) {
    reply_cache_->Finish(client, header.slot, header.sequence);
    LOG_EVERY_N(WARNING, 100) << "refusing mutation: " << owner;
    *reply = MakeReply(header, ErrorCode::kNotOwner, "");
    return false;
  }
  if (!reply_cache_->HasRoom()) {
    // The reply could not be recorded: refuse before executing; the client retries.
    reply_cache_->Finish(client, header.slot, header.sequence);
    LOG_EVERY_N(WARNING, 100) << "reply log full: refusing a mutation";
    *reply = MakeReply(header, ErrorCode::kBusy, "");
    return false;
  }
  Mutation m;
  ErrorCode code = Plan(header, request, &m);
  std::string body;
  // A client's first mutation without an intent (an intent makes the client known by itself)
  // runs only once the client's own record is durable, so whoever serves the volume next
  // knows it had state here and keeps its lease (a replay of it is then not refused).
  if (code == ErrorCode::kOk && !m.intent_needed) {
    if (absl::StatusOr<uint64_t> lsn = reply_cache_->RecordClient(client); !lsn.ok()) {
      reply_cache_->Finish(client, header.slot, header.sequence);
      if (lsn.status().code() == absl::StatusCode::kResourceExhausted) {
        *reply = MakeReply(header, ErrorCode::kBusy, "");
        return false;
      }
      *result = Fail(absl::Status(
          lsn.status().code(), absl::StrCat("cannot record a client: ", lsn.status().message())));
      return false;
    } else if (*lsn > 0) {
      if (absl::Status s = log_->WaitDurable(*lsn, absl::Now() + kDurableWait); !s.ok()) {
        reply_cache_->Finish(client, header.slot, header.sequence);
        *result =
            Fail(absl::Status(s.code(), absl::StrCat("cannot record a client: ", s.message())));
        return false;
      }
    }
  }
  if (code == ErrorCode::kOk) {
    if (absl::Status held = names_.Acquire(m.names, absl::Now() + kReplayWait); !held.ok()) {
      reply_cache_->Finish(client, header.slot, header.sequence);
      *reply = MakeReply(header, ErrorCode::kBusy, "");
      return false;
    }
  } else {
    m.names.clear();
  }
  // From here on the names stay held until the reply is durable (or the service failed).
  struct Unhold {
    NameLocks* names;
    const std::vector<NameLocks::Name>* held;
    bool keep = false;  // a failed service keeps them: nothing may touch them any more
    ~Unhold() {
      if (!keep) names->Release(*held);
    }
  } unhold{&names_, &m.names};

  bool intent_recorded = false;
  if (code == ErrorCode::kOk && m.intent_needed) {
    code = CaptureIntent(volume_.get(), &m.intent);
    if (code == ErrorCode::kOk) {
      intent_recorded = true;
      absl::StatusOr<uint64_t> lsn =
          reply_cache_->RecordIntent(client, header.slot, header.sequence, m.intent);
      absl::Status durable =
          lsn.ok() ? log_->WaitDurable(*lsn, absl::Now() + kDurableWait) : lsn.status();
      if (!durable.ok()) {
        unhold.keep = true;
        *result = Fail(absl::Status(durable.code(),
                                    absl::StrCat("cannot record an intent: ", durable.message())));
        return false;
      }
      if (absl::Status owner = guard_(); !owner.ok()) {
        unhold.keep = true;  // the next owner resolves the intent
        *result = Fail(absl::FailedPreconditionError(
            absl::StrCat("lost the volume with an intent recorded: ", owner.message())));
        return false;
      }
    }
  }
  if (code == ErrorCode::kOk) {
#ifdef VIFILER_TEST_HOOKS
    const uint64_t n = mutations_.fetch_add(1) + 1;
    if (n == options_.test_only_stop_before_mutation) {
      LOG(ERROR) << "test hook: stopping before mutation " << n;
      raise(SIGSTOP);
    }
#endif
    absl::Status transport_error;
    code = Run(header, request, channel, &m, &body, &transport_error);
    if (!transport_error.ok()) {
      // A direct write that could not fetch its data did not execute.
      reply_cache_->Finish(client, header.slot, header.sequence);
      *result = transport_error;
      return false;
    }
#ifdef VIFILER_TEST_HOOKS
    if (n == options_.test_only_die_after_syscall) {
      LOG(ERROR) << "test hook: dying after mutation " << n << " ran, before its reply";
      kill(getpid(), SIGKILL);
    }
#endif
  }
  if (code == ErrorCode::kBusy) {
    // Out of descriptors or memory (filer/errno_map.h), capturing the intent or running: the
    // operation failed before it changed anything. Refused, not recorded as its reply: the
    // client retries it.
    if (intent_recorded) {
      reply_cache_->RecordNotExecuted(client, header.slot, header.sequence).IgnoreError();
    }
    reply_cache_->Finish(client, header.slot, header.sequence);
    LOG_EVERY_N(WARNING, 100) << "out of descriptors or memory: refusing a "
                              << protocol::OpcodeName(header.opcode) << " (retried)";
    *reply = MakeReply(header, ErrorCode::kBusy, "");
    return false;
  }
  if (code == ErrorCode::kBadRequest) bad_requests_.fetch_add(1);
  *reply = MakeReply(header, code, body);
  std::vector<std::shared_ptr<storage::KeyedLog::Effect>> effects;
  for (const protocol::FileHandle& h : m.touched) effects.push_back(volume_->SyncOf(h));
  absl::StatusOr<uint64_t> lsn =
      reply_cache_->RecordReply(client, header.slot, header.sequence, *reply, std::move(effects));
  unhold.keep = true;  // from here on the completion releases the names
  if (!lsn.ok()) {
    *result = Fail(absl::Status(lsn.status().code(),
                                absl::StrCat("cannot record a reply: ", lsn.status().message())));
    return false;
  }
  // The reply goes out once the log says it is durable; the caller goes on meanwhile.
  log_->WhenDurable(*lsn, [this, client, slot = header.slot, sequence = header.sequence,
                           answer = std::move(*reply), names = std::move(m.names),
                           done = std::move(*done)](absl::Status durable) {
    if (!durable.ok()) {
      // The names stay held: nothing may touch them until the next owner resolves them.
      done(Fail(absl::Status(durable.code(),
                             absl::StrCat("cannot record a reply: ", durable.message()))),
           "");
      EndExecuting();
      return;
    }
    reply_cache_->MarkDurable(client, slot, sequence);
    names_.Release(names);
#ifdef VIFILER_TEST_HOOKS
    if (options_.test_only_die_after_mutations > 0 &&
        mutations_.load() >= options_.test_only_die_after_mutations) {
      LOG(ERROR) << "test hook: dying after mutation " << options_.test_only_die_after_mutations
                 << " before its reply";
      kill(getpid(), SIGKILL);
    }
#endif
    done(absl::OkStatus(), answer);
    EndExecuting();
  });
  return true;
}

ErrorCode VolumeService::CreateSession(Channel* channel, absl::string_view request,
                                       std::string* body) {
  protocol::SessionCreateRequest r;
  if (!DecodeRequest(request, &r) || r.client_id.empty()) return ErrorCode::kBadRequest;
  protocol::SessionCreateReply out;
  const uint32_t most =
      std::clamp<uint32_t>(options_.limits.max_inflight_per_session, 1, protocol::kMaxSlots);
  out.slots = std::min<uint32_t>(r.slots, most);
  out.inline_threshold = options_.inline_threshold;
  out.root = volume_->root();
  out.filer_name = options_.filer_name;
  // One session per client identity: a reconnecting client replaces its old session.
  Session session;
  absl::StatusOr<uint64_t> id = sessions_->Create(r.client_id, out.slots, absl::Now(), &session);
  if (!id.ok()) {
    LOG_EVERY_N(WARNING, 100) << "refused a session of client " << absl::CHexEscape(r.client_id)
                              << ": " << id.status();
    return ErrorCode::kBusy;
  }
  out.session_id = *id;
  channel->Bind(sessions_, r.client_id);
  sessions_created_.fetch_add(1);
  EncodeTo(out, body);
  return ErrorCode::kOk;
}

ErrorCode VolumeService::Execute(const MessageHeader& header, absl::string_view request,
                                 Channel* /*channel*/, std::string* body) {
  switch (header.opcode) {
    case Opcode::kLookup: {
      protocol::LookupRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      protocol::HandleReply out;
      ErrorCode code = volume_->Lookup(r.dir, r.name, &out);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    case Opcode::kGetAttr: {
      protocol::GetAttrRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      protocol::AttrReply out;
      ErrorCode code = volume_->GetAttr(r.handle, &out.attr);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    case Opcode::kSetAttr: {
      protocol::SetAttrRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      r.mode = AllowedMode(r.mode, /*directory=*/false);
      protocol::AttrReply out;
      ErrorCode code = volume_->SetAttr(r, &out.attr);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    case Opcode::kCreate: {
      protocol::CreateRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      r.mode = AllowedMode(r.mode, /*directory=*/false);
      protocol::HandleReply out;
      ErrorCode code = volume_->Create(r, &out);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    case Opcode::kMkdir: {
      protocol::MkdirRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      r.mode = AllowedMode(r.mode, /*directory=*/true);
      protocol::HandleReply out;
      ErrorCode code = volume_->Mkdir(r, &out);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    case Opcode::kRemove:
    case Opcode::kRmdir: {
      protocol::RemoveRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      return header.opcode == Opcode::kRemove ? volume_->Remove(r) : volume_->Rmdir(r);
    }
    case Opcode::kRename: {
      protocol::RenameRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      return volume_->Rename(r);
    }
    case Opcode::kReadDir: {
      protocol::ReadDirRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      protocol::ReadDirReply out;
      ErrorCode code = volume_->ReadDir(r, &out);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    case Opcode::kFsync: {
      protocol::FsyncRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      return volume_->Fsync(r.handle);
    }
    case Opcode::kStatFs: {
      protocol::StatFsRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      protocol::StatFsReply out;
      ErrorCode code = volume_->StatFs(&out);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    default:
      return ErrorCode::kNotSupported;
  }
}

absl::Status VolumeService::EnsureStaging(Channel* channel, size_t size) {
  if (channel->staging_size_ >= size && channel->staging_region_ != nullptr) {
    return absl::OkStatus();
  }
  size_t want = std::max<size_t>(size, kKeptStagingSize);
  channel->staging_region_.reset();
  channel->staging_ = transport::PageBuffer(want);
  if (channel->staging_.data() == nullptr) {
    channel->staging_size_ = 0;
    return absl::ResourceExhaustedError(absl::StrCat("no memory for ", want, " staging bytes"));
  }
  channel->staging_size_ = want;
  absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> region =
      channel->connection_->RegisterMemory(channel->staging_.data(), want,
                                           transport::Access::kLocalSink);
  if (!region.ok()) {
    channel->staging_size_ = 0;
    channel->staging_ = transport::PageBuffer();  // no unregistered staging is kept
    return region.status();
  }
  channel->staging_region_ = std::move(*region);
  return absl::OkStatus();
}

void VolumeService::NoteCopied(const absl::Status& why) {
  const uint64_t count = ++direct_copied_;
  const int64_t now = absl::GetCurrentTimeNanos();
  int64_t last = copied_logged_at_ns_.load();
  if (last != 0 && now - last < absl::ToInt64Nanoseconds(kCopiedLogInterval)) return;
  if (!copied_logged_at_ns_.compare_exchange_strong(last, now)) return;
  LOG(WARNING) << "direct transfers are copied through message buffers (" << count
               << " so far): " << why.message();
}

void VolumeService::TrimStaging(Channel* channel) {
  if (channel->staging_size_ <= kKeptStagingSize) return;
  channel->staging_region_.reset();  // deregistered before its memory goes
  channel->staging_ = transport::PageBuffer();
  channel->staging_size_ = 0;
}

ErrorCode VolumeService::DoRead(absl::string_view request, Channel* channel, std::string* body,
                                absl::Status* transport_error) {
  StagingTrim trim{channel};
  protocol::ReadRequest r;
  if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
  protocol::ReadReply out;
  if (!r.has_buffer) {
    if (r.length > options_.inline_threshold) return ErrorCode::kTooBig;
    out.data.resize(r.length);
    ErrorCode code =
        volume_->Read(r.handle, r.offset, absl::MakeSpan(out.data), &out.count, &out.eof);
    if (code != ErrorCode::kOk) return code;
    out.data.resize(out.count);
    EncodeTo(out, body);
    return ErrorCode::kOk;
  }
  if (r.buffer.length < r.length) return ErrorCode::kInvalid;
  const absl::Time deadline = absl::Now() + kTransferTimeout;
  const transport::RemoteBuffer sink = ToTransport(r.buffer);
  if (channel->map_direct_reads_) {
    // Send straight from the page cache: one copy fewer than through the staging buffer.
    std::unique_ptr<MappedRange> range;
    ErrorCode code = volume_->Map(r.handle, r.offset, r.length, &range);
    if (code != ErrorCode::kOk) return code;
    out.count = static_cast<uint32_t>(range->size());
    out.eof = range->eof();
    if (out.count == 0) {
      EncodeTo(out, body);
      return ErrorCode::kOk;
    }
    // The mapping is read-only: registered as a local source, it needs no write right.
    absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> region =
        channel->connection_->RegisterMemory(const_cast<char*>(range->data()), range->size(),
                                             transport::Access::kLocalSource);
    if (region.ok()) {
      *transport_error =
          channel->connection_->WriteRemote(**region, 0, sink, 0, out.count, deadline);
      if (!transport_error->ok()) return ErrorCode::kTransport;
      ++direct_reads_mapped_;
      EncodeTo(out, body);
      return ErrorCode::kOk;
    }
    ++mapping_refusals_;
    if (absl::IsResourceExhausted(region.status())) {
      // The memlock limit: copy this one from the mapping, pinning nothing more.
      NoteCopied(region.status());
      *transport_error = channel->connection_->WriteRemoteCopy(
          absl::string_view(range->data(), out.count), sink, 0, deadline);
      if (!transport_error->ok()) return ErrorCode::kTransport;
      EncodeTo(out, body);
      return ErrorCode::kOk;
    }
    // This fabric cannot register file mappings (before Linux 6.2 the kernel pins every
    // registration for writing, which a read-only shared mapping refuses with EFAULT): use the
    // staging buffer on this connection from now on. Said once per service, counted always.
    if (!mapping_refusal_logged_.exchange(true)) {
      LOG(INFO) << "direct reads are copied through a staging buffer: the fabric refuses to "
                << "register a read-only file mapping (" << region.status().message()
                << "; Linux before 6.2 pins every registration for writing)";
    }
    channel->map_direct_reads_ = false;
  }
  out = protocol::ReadReply();
  absl::Status s = EnsureStaging(channel, r.length);
  if (!s.ok()) {
    // No registered staging memory: read into plain memory and copy it through the
    // connection's message buffers.
    NoteCopied(s);
    transport::PageBuffer plain(r.length);
    if (plain.data() == nullptr && r.length > 0) return ErrorCode::kServerFault;
    ErrorCode code = volume_->Read(r.handle, r.offset, absl::MakeSpan(plain.data(), r.length),
                                   &out.count, &out.eof);
    if (code != ErrorCode::kOk) return code;
    *transport_error = channel->connection_->WriteRemoteCopy(
        absl::string_view(plain.data(), out.count), sink, 0, deadline);
    if (!transport_error->ok()) return ErrorCode::kTransport;
    EncodeTo(out, body);
    return ErrorCode::kOk;
  }
  ErrorCode code = volume_->Read(
      r.handle, r.offset, absl::MakeSpan(channel->staging_.data(), r.length), &out.count, &out.eof);
  if (code != ErrorCode::kOk) return code;
  if (out.count > 0) {
    *transport_error = channel->connection_->WriteRemote(*channel->staging_region_, 0, sink, 0,
                                                         out.count, deadline);
    if (!transport_error->ok()) return ErrorCode::kTransport;
  }
  ++direct_staged_;
  EncodeTo(out, body);
  return ErrorCode::kOk;
}

ErrorCode VolumeService::DoWrite(absl::string_view request, Channel* channel, std::string* body,
                                 absl::Status* transport_error) {
  StagingTrim trim{channel};
  protocol::WriteRequest r;
  if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
  protocol::WriteReply out;
  ErrorCode code;
  if (!r.has_buffer) {
    code = volume_->Write(r.handle, r.offset, r.data, &out);
  } else {
    if (r.buffer.length < r.length) return ErrorCode::kInvalid;
    const absl::Time deadline = absl::Now() + kTransferTimeout;
    absl::Status s = EnsureStaging(channel, r.length);
    if (!s.ok()) {
      // No registered staging memory: copy through the connection's message buffers.
      NoteCopied(s);
      transport::PageBuffer plain(r.length);
      if (plain.data() == nullptr && r.length > 0) return ErrorCode::kServerFault;
      *transport_error = channel->connection_->ReadRemoteCopy(plain.data(), r.length,
                                                              ToTransport(r.buffer), 0, deadline);
      if (!transport_error->ok()) return ErrorCode::kTransport;
      code = volume_->Write(r.handle, r.offset, absl::string_view(plain.data(), r.length), &out);
    } else {
      if (r.length > 0) {
        *transport_error = channel->connection_->ReadRemote(
            *channel->staging_region_, 0, ToTransport(r.buffer), 0, r.length, deadline);
        if (!transport_error->ok()) return ErrorCode::kTransport;
      }
      ++direct_staged_;
      code = volume_->Write(r.handle, r.offset,
                            absl::string_view(channel->staging_.data(), r.length), &out);
    }
  }
  if (code == ErrorCode::kOk) EncodeTo(out, body);
  return code;
}

}  // namespace filer
}  // namespace vifiler
