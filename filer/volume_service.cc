// Copyright 2026 The vifiler Authors.

#include "filer/volume_service.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "absl/random/random.h"
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
// How long a replay waits for the original execution of the same request to finish, and a
// mutation for the names it needs.
constexpr absl::Duration kReplayWait = absl::Seconds(10);
// How long the reply log may take to make an entry durable before the service gives up.
constexpr absl::Duration kDurableWait = absl::Seconds(30);

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

VolumeService::VolumeService(std::unique_ptr<Volume> volume, ServiceOptions options,
                             MutationGuard guard)
    : volume_(std::move(volume)), options_(std::move(options)), guard_(std::move(guard)) {}

VolumeService::~VolumeService() {
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
  storage::KeyedLog::Stats stats = log_->stats();
  LOG(INFO) << "reply log: " << stats.live_entries << " replies of " << reply_cache_->clients()
            << " clients recovered, " << unresolved.size() << " intents resolved";
  return absl::OkStatus();
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
  if (header.opcode == Opcode::kSessionCreate) {
    ErrorCode code = CreateSession(request, &body);
    *reply = MakeReply(header, code, body);
    return false;
  }
  if (header.opcode == Opcode::kNotice) {
    bad_requests_.fetch_add(1);
    *reply = MakeReply(header, ErrorCode::kNotSupported, "");
    return false;
  }

  Session session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(header.session_id);
    if (it != sessions_.end()) session = it->second;
  }
  if (session.slots == 0) {
    *reply = MakeReply(header, ErrorCode::kBadSession, "");
    return false;
  }
  if (header.opcode == Opcode::kSessionDestroy) {
    {
      absl::MutexLock lock(&mu_);
      sessions_.erase(header.session_id);
    }
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
    case ReplyCache::Verdict::kBusy:
      *reply = MakeReply(header, ErrorCode::kBusy, "");
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
      m->intent.mode = r.mode;
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
      m->intent.mode = r.mode;
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

  if (code == ErrorCode::kOk && m.intent_needed) {
    code = CaptureIntent(volume_.get(), &m.intent);
    if (code == ErrorCode::kOk) {
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

ErrorCode VolumeService::CreateSession(absl::string_view request, std::string* body) {
  protocol::SessionCreateRequest r;
  if (!DecodeRequest(request, &r) || r.client_id.empty()) return ErrorCode::kBadRequest;
  protocol::SessionCreateReply out;
  static thread_local absl::BitGen gen;
  out.slots = std::min<uint32_t>(r.slots, protocol::kMaxSlots);
  out.inline_threshold = options_.inline_threshold;
  out.root = volume_->root();
  out.filer_name = options_.filer_name;
  {
    absl::MutexLock lock(&mu_);
    // One session per client identity: a reconnecting client replaces its old session.
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second.client_id == r.client_id) {
        sessions_.erase(it++);
      } else {
        ++it;
      }
    }
    do {
      out.session_id = absl::Uniform<uint64_t>(gen, 1, UINT64_MAX);
    } while (sessions_.contains(out.session_id));
    sessions_[out.session_id] = Session{r.client_id, out.slots};
  }
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
      protocol::AttrReply out;
      ErrorCode code = volume_->SetAttr(r, &out.attr);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    case Opcode::kCreate: {
      protocol::CreateRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
      protocol::HandleReply out;
      ErrorCode code = volume_->Create(r, &out);
      if (code == ErrorCode::kOk) EncodeTo(out, body);
      return code;
    }
    case Opcode::kMkdir: {
      protocol::MkdirRequest r;
      if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
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
  size_t want = std::max<size_t>(size, 1 << 20);
  channel->staging_region_.reset();
  channel->staging_.reset(new char[want]);
  channel->staging_size_ = want;
  absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> region =
      channel->connection_->RegisterMemory(channel->staging_.get(), want, /*allow_remote=*/false);
  if (!region.ok()) {
    channel->staging_size_ = 0;
    return region.status();
  }
  channel->staging_region_ = std::move(*region);
  return absl::OkStatus();
}

ErrorCode VolumeService::DoRead(absl::string_view request, Channel* channel, std::string* body,
                                absl::Status* transport_error) {
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
  if (channel->map_direct_reads_) {
    // Send straight from the page cache: one copy fewer than through the staging buffer.
    std::unique_ptr<MappedRange> range;
    ErrorCode code = volume_->Map(r.handle, r.offset, r.length, &range);
    if (code != ErrorCode::kOk) return code;
    out.count = static_cast<uint32_t>(range->size());
    out.eof = range->eof();
    if (out.count > 0) {
      absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> region =
          channel->connection_->RegisterMemory(const_cast<char*>(range->data()), range->size(),
                                               /*allow_remote=*/false);
      if (region.ok()) {
        *transport_error = channel->connection_->WriteRemote(**region, 0, ToTransport(r.buffer), 0,
                                                             out.count, deadline);
        if (!transport_error->ok()) return ErrorCode::kTransport;
        EncodeTo(out, body);
        return ErrorCode::kOk;
      }
      // This fabric cannot register file mappings: use the staging buffer from now on.
      LOG(INFO) << "direct reads go through a staging buffer: " << region.status();
      channel->map_direct_reads_ = false;
    }
  }
  absl::Status s = EnsureStaging(channel, r.length);
  if (!s.ok()) {
    LOG(ERROR) << "cannot register staging memory: " << s;
    return ErrorCode::kServerFault;
  }
  out = protocol::ReadReply();
  ErrorCode code = volume_->Read(
      r.handle, r.offset, absl::MakeSpan(channel->staging_.get(), r.length), &out.count, &out.eof);
  if (code != ErrorCode::kOk) return code;
  if (out.count > 0) {
    *transport_error = channel->connection_->WriteRemote(
        *channel->staging_region_, 0, ToTransport(r.buffer), 0, out.count, deadline);
    if (!transport_error->ok()) return ErrorCode::kTransport;
  }
  EncodeTo(out, body);
  return ErrorCode::kOk;
}

ErrorCode VolumeService::DoWrite(absl::string_view request, Channel* channel, std::string* body,
                                 absl::Status* transport_error) {
  protocol::WriteRequest r;
  if (!DecodeRequest(request, &r)) return ErrorCode::kBadRequest;
  protocol::WriteReply out;
  ErrorCode code;
  if (!r.has_buffer) {
    code = volume_->Write(r.handle, r.offset, r.data, &out);
  } else {
    if (r.buffer.length < r.length) return ErrorCode::kInvalid;
    absl::Status s = EnsureStaging(channel, r.length);
    if (!s.ok()) {
      LOG(ERROR) << "cannot register staging memory: " << s;
      return ErrorCode::kServerFault;
    }
    if (r.length > 0) {
      *transport_error =
          channel->connection_->ReadRemote(*channel->staging_region_, 0, ToTransport(r.buffer), 0,
                                           r.length, absl::Now() + kTransferTimeout);
      if (!transport_error->ok()) return ErrorCode::kTransport;
    }
    code = volume_->Write(r.handle, r.offset, absl::string_view(channel->staging_.get(), r.length),
                          &out);
  }
  if (code == ErrorCode::kOk) EncodeTo(out, body);
  return code;
}

}  // namespace filer
}  // namespace vifiler
