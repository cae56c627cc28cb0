// Copyright 2026 The vifiler Authors.

#include "clientlib/client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clientlib/failover_session.h"
#include "protocol/codec.h"

namespace vifiler {
namespace client {

using protocol::ErrorCode;
using protocol::Opcode;

namespace {

constexpr char kErrorPayload[] = "type.vifiler/ErrorCode";
// Direct transfers are split into requests of at most this many bytes.
constexpr size_t kMaxDirectChunk = 4 << 20;

absl::StatusCode CanonicalCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNoEntry:
    case ErrorCode::kStaleHandle:
      return absl::StatusCode::kNotFound;
    case ErrorCode::kExists:
      return absl::StatusCode::kAlreadyExists;
    case ErrorCode::kAccess:
    case ErrorCode::kReadOnly:
    case ErrorCode::kNotExported:
      return absl::StatusCode::kPermissionDenied;
    case ErrorCode::kInvalid:
    case ErrorCode::kNameTooLong:
    case ErrorCode::kBadHandle:
    case ErrorCode::kBadRequest:
    case ErrorCode::kTooBig:
      return absl::StatusCode::kInvalidArgument;
    case ErrorCode::kNotDirectory:
    case ErrorCode::kIsDirectory:
    case ErrorCode::kNotEmpty:
      return absl::StatusCode::kFailedPrecondition;
    case ErrorCode::kNoSpace:
      return absl::StatusCode::kResourceExhausted;
    case ErrorCode::kNotSupported:
      return absl::StatusCode::kUnimplemented;
    case ErrorCode::kNotOwner:
    case ErrorCode::kBusy:
    case ErrorCode::kTransport:
      return absl::StatusCode::kUnavailable;
    case ErrorCode::kSessionExpired:
      return absl::StatusCode::kAborted;
    default:
      return absl::StatusCode::kInternal;
  }
}

template <typename Body>
std::string Encoded(const Body& body) {
  std::string out;
  protocol::Encoder e(&out);
  protocol::EncodeBody(body, &e);
  return out;
}

// The same status with "context: " before its message, payloads (the ErrorCode) kept.
absl::Status WithContext(absl::string_view context, const absl::Status& status) {
  absl::Status out(status.code(), absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace

absl::Status FilerError(ErrorCode code, Opcode op) {
  absl::Status status(CanonicalCode(code),
                      absl::StrCat(protocol::OpcodeName(op), ": ", protocol::ErrorCodeName(code)));
  status.SetPayload(kErrorPayload, absl::Cord(std::to_string(static_cast<uint32_t>(code))));
  return status;
}

ErrorCode ErrorCodeOf(const absl::Status& status) {
  if (status.ok()) return ErrorCode::kOk;
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorPayload);
  uint32_t value = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &value)) {
    return ErrorCode::kTransport;
  }
  return static_cast<ErrorCode>(value);
}

// ---- CallDeadline

namespace {
thread_local absl::Time thread_call_deadline = absl::InfiniteFuture();
}  // namespace

CallDeadline::CallDeadline(absl::Time deadline) : outer_(thread_call_deadline) {
  thread_call_deadline = std::min(outer_, deadline);
}

CallDeadline::~CallDeadline() { thread_call_deadline = outer_; }

absl::Time CallDeadline::Current() { return thread_call_deadline; }

// ---- File

absl::StatusOr<size_t> File::Read(uint64_t offset, absl::Span<char> buffer) const {
  return client_->Read(handle_, offset, buffer);
}
absl::StatusOr<size_t> File::Write(uint64_t offset, absl::string_view data) const {
  return client_->Write(handle_, offset, data);
}
absl::StatusOr<protocol::FileAttr> File::Stat() const { return client_->GetAttr(handle_); }
absl::Status File::Truncate(uint64_t size) const {
  protocol::SetAttrRequest request;
  request.handle = handle_;
  request.mask = protocol::kSetSize;
  request.size = size;
  return client_->SetAttr(request).status();
}
absl::Status File::Fsync() const { return client_->Fsync(handle_); }

// ---- Client

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& filer_name,
                                                        ClientOptions options) {
  absl::StatusOr<std::unique_ptr<FailoverSession>> session =
      FailoverSession::Open(filer_name, std::move(options));
  if (!session.ok()) return session.status();
  return std::unique_ptr<Client>(new Client(std::move(*session)));
}

Client::Client(std::unique_ptr<FailoverSession> session) : session_(std::move(session)) {}
Client::~Client() = default;

ClientStats Client::stats() const { return session_->stats(); }
const std::string& Client::client_id() const { return session_->client_id(); }
protocol::FileHandle Client::root() const { return session_->root(); }

template <typename Reply, typename Request>
absl::StatusOr<Reply> Client::Call(Opcode op, const Request& request) {
  const std::string body = Encoded(request);
  absl::StatusOr<std::string> reply =
      session_->Call(op, [&body](const protocol::RemoteBuffer*) { return body; });
  if (!reply.ok()) return reply.status();
  Reply out;
  absl::Status s = protocol::DecodeMessageBody(*reply, &out);
  if (!s.ok()) return absl::InternalError(absl::StrCat("bad reply from filer: ", s.message()));
  return out;
}

absl::Status Client::Null() {
  return Call<protocol::Empty>(Opcode::kNull, protocol::Empty()).status();
}

absl::StatusOr<protocol::HandleReply> Client::Lookup(const protocol::FileHandle& dir,
                                                     absl::string_view name) {
  protocol::LookupRequest r;
  r.dir = dir;
  r.name = std::string(name);
  return Call<protocol::HandleReply>(Opcode::kLookup, r);
}

absl::StatusOr<protocol::FileAttr> Client::GetAttr(const protocol::FileHandle& handle) {
  protocol::GetAttrRequest r;
  r.handle = handle;
  absl::StatusOr<protocol::AttrReply> reply = Call<protocol::AttrReply>(Opcode::kGetAttr, r);
  if (!reply.ok()) return reply.status();
  return reply->attr;
}

absl::StatusOr<protocol::FileAttr> Client::SetAttr(const protocol::SetAttrRequest& request) {
  absl::StatusOr<protocol::AttrReply> reply = Call<protocol::AttrReply>(Opcode::kSetAttr, request);
  if (!reply.ok()) return reply.status();
  return reply->attr;
}

absl::StatusOr<protocol::HandleReply> Client::CreateAt(const protocol::CreateRequest& request) {
  return Call<protocol::HandleReply>(Opcode::kCreate, request);
}

absl::StatusOr<protocol::HandleReply> Client::MkdirAt(const protocol::MkdirRequest& request) {
  return Call<protocol::HandleReply>(Opcode::kMkdir, request);
}

absl::Status Client::RemoveAt(const protocol::FileHandle& dir, absl::string_view name) {
  protocol::RemoveRequest r;
  r.dir = dir;
  r.name = std::string(name);
  return Call<protocol::Empty>(Opcode::kRemove, r).status();
}

absl::Status Client::RmdirAt(const protocol::FileHandle& dir, absl::string_view name) {
  protocol::RemoveRequest r;
  r.dir = dir;
  r.name = std::string(name);
  return Call<protocol::Empty>(Opcode::kRmdir, r).status();
}

absl::Status Client::RenameAt(const protocol::RenameRequest& request) {
  return Call<protocol::Empty>(Opcode::kRename, request).status();
}

absl::StatusOr<protocol::ReadDirReply> Client::ReadDir(const protocol::FileHandle& dir,
                                                       uint64_t cookie, uint32_t max_entries) {
  protocol::ReadDirRequest r;
  r.dir = dir;
  r.cookie = cookie;
  r.max_entries = max_entries;
  return Call<protocol::ReadDirReply>(Opcode::kReadDir, r);
}

absl::Status Client::Fsync(const protocol::FileHandle& handle) {
  protocol::FsyncRequest r;
  r.handle = handle;
  return Call<protocol::Empty>(Opcode::kFsync, r).status();
}

absl::StatusOr<protocol::StatFsReply> Client::StatFs() {
  protocol::StatFsRequest r;
  r.handle = root();
  return Call<protocol::StatFsReply>(Opcode::kStatFs, r);
}

absl::StatusOr<size_t> Client::Read(const protocol::FileHandle& handle, uint64_t offset,
                                    absl::Span<char> buffer) {
  size_t done = 0;
  // Set once a direct transfer found no memory it could register: the rest moves inline.
  bool inline_only = false;
  while (done < buffer.size()) {
    const size_t want = buffer.size() - done;
    const size_t threshold = session_->inline_threshold();
    const bool inline_read = inline_only || want <= threshold;
    if (inline_read && threshold == 0) return absl::InternalError("filer allows no inline reads");
    const size_t length = inline_read ? std::min(want, threshold) : std::min(want, kMaxDirectChunk);
    protocol::ReadRequest r;
    r.handle = handle;
    r.offset = offset + done;
    r.length = static_cast<uint32_t>(length);
    FailoverSession::Direct direct;
    direct.data = buffer.data() + done;
    direct.length = length;
    direct.filer_writes = true;
    absl::StatusOr<std::string> reply = session_->Call(
        Opcode::kRead,
        [&r](const protocol::RemoteBuffer* b) {
          r.has_buffer = b != nullptr;
          if (b != nullptr) r.buffer = *b;
          return Encoded(r);
        },
        inline_read ? nullptr : &direct);
    if (!reply.ok() && direct.unregistrable) {
      inline_only = true;
      session_->NoteInlineFallback();
      continue;
    }
    if (!reply.ok()) return reply.status();
    protocol::ReadReply out;
    absl::Status s = protocol::DecodeMessageBody(*reply, &out);
    if (!s.ok() || out.count > length || (inline_read && out.data.size() != out.count)) {
      return absl::InternalError("bad read reply from filer");
    }
    if (inline_read) std::copy(out.data.begin(), out.data.end(), buffer.data() + done);
    done += out.count;
    if (out.count < length || out.eof) break;
  }
  return done;
}

absl::StatusOr<size_t> Client::Write(const protocol::FileHandle& handle, uint64_t offset,
                                     absl::string_view data) {
  size_t done = 0;
  bool inline_only = false;  // as in Read
  do {
    const size_t want = data.size() - done;
    const size_t threshold = session_->inline_threshold();
    const bool inline_write = inline_only || want <= threshold;
    if (inline_write && threshold == 0 && want > 0) {
      return absl::InternalError("filer allows no inline writes");
    }
    const size_t length =
        inline_write ? std::min(want, threshold) : std::min(want, kMaxDirectChunk);
    protocol::WriteRequest r;
    r.handle = handle;
    r.offset = offset + done;
    r.length = static_cast<uint32_t>(length);
    if (inline_write) r.data = std::string(data.substr(done, length));
    // The filer only reads this buffer, so it may be read-only memory: the session registers
    // it for remote reads only (a write right would make the kernel refuse such memory).
    FailoverSession::Direct direct;
    direct.data = const_cast<char*>(data.data()) + done;
    direct.length = length;
    direct.filer_writes = false;
    absl::StatusOr<std::string> reply = session_->Call(
        Opcode::kWrite,
        [&r](const protocol::RemoteBuffer* b) {
          r.has_buffer = b != nullptr;
          if (b != nullptr) r.buffer = *b;
          return Encoded(r);
        },
        inline_write ? nullptr : &direct);
    if (!reply.ok() && direct.unregistrable) {
      inline_only = true;
      session_->NoteInlineFallback();
      continue;
    }
    if (!reply.ok()) return reply.status();
    protocol::WriteReply out;
    absl::Status s = protocol::DecodeMessageBody(*reply, &out);
    if (!s.ok() || out.count != length) return absl::InternalError("bad write reply from filer");
    done += length;
  } while (done < data.size());
  return done;
}

// ---- path API

absl::StatusOr<protocol::FileHandle> Client::Resolve(absl::string_view path) {
  protocol::FileHandle handle = root();
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StatusOr<protocol::HandleReply> found = Lookup(handle, part);
    if (!found.ok()) {
      return WithContext(path, found.status());
    }
    handle = found->handle;
  }
  return handle;
}

absl::StatusOr<protocol::FileHandle> Client::ResolveParent(absl::string_view path,
                                                           std::string* name) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  if (parts.empty()) return absl::InvalidArgumentError(absl::StrCat("'", path, "' names the root"));
  *name = std::string(parts.back());
  parts.pop_back();
  // Absolute, so that errors name the parent as the caller would ("/dir", not "dir").
  return Resolve(absl::StrCat("/", absl::StrJoin(parts, "/")));
}

absl::StatusOr<File> Client::Create(absl::string_view path, uint32_t mode, bool exclusive) {
  protocol::CreateRequest r;
  absl::StatusOr<protocol::FileHandle> dir = ResolveParent(path, &r.name);
  if (!dir.ok()) return dir.status();
  r.dir = *dir;
  r.mode = mode;
  r.exclusive = exclusive;
  r.truncate = !exclusive;
  absl::StatusOr<protocol::HandleReply> created = CreateAt(r);
  if (!created.ok()) {
    return WithContext(path, created.status());
  }
  return File(this, created->handle);
}

absl::StatusOr<File> Client::Open(absl::string_view path) {
  absl::StatusOr<protocol::FileHandle> handle = Resolve(path);
  if (!handle.ok()) return handle.status();
  return File(this, *handle);
}

absl::StatusOr<protocol::FileAttr> Client::Stat(absl::string_view path) {
  absl::StatusOr<protocol::FileHandle> handle = Resolve(path);
  if (!handle.ok()) return handle.status();
  return GetAttr(*handle);
}

absl::StatusOr<std::vector<DirectoryEntry>> Client::List(absl::string_view path) {
  absl::StatusOr<protocol::FileHandle> dir = Resolve(path);
  if (!dir.ok()) return dir.status();
  std::vector<DirectoryEntry> entries;
  uint64_t cookie = 0;
  while (true) {
    absl::StatusOr<protocol::ReadDirReply> page = ReadDir(*dir, cookie, 256);
    if (!page.ok()) return WithContext(path, page.status());
    for (const protocol::DirEntry& e : page->entries) {
      entries.push_back(DirectoryEntry{e.name, e.type, e.file_id});
    }
    if (page->eof || page->entries.empty()) break;
    cookie = page->cookie;
  }
  return entries;
}

absl::Status Client::Mkdir(absl::string_view path, uint32_t mode) {
  protocol::MkdirRequest r;
  absl::StatusOr<protocol::FileHandle> dir = ResolveParent(path, &r.name);
  if (!dir.ok()) return dir.status();
  r.dir = *dir;
  r.mode = mode;
  absl::Status made = MkdirAt(r).status();
  return made.ok() ? made : WithContext(path, made);
}

absl::Status Client::Remove(absl::string_view path) {
  std::string name;
  absl::StatusOr<protocol::FileHandle> dir = ResolveParent(path, &name);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<protocol::HandleReply> found = Lookup(*dir, name);
  if (!found.ok()) return WithContext(path, found.status());
  absl::Status removed = found->attr.type == protocol::FileType::kDirectory ? RmdirAt(*dir, name)
                                                                            : RemoveAt(*dir, name);
  return removed.ok() ? removed : WithContext(path, removed);
}

absl::Status Client::Rename(absl::string_view from, absl::string_view to) {
  protocol::RenameRequest r;
  absl::StatusOr<protocol::FileHandle> from_dir = ResolveParent(from, &r.from_name);
  if (!from_dir.ok()) return from_dir.status();
  absl::StatusOr<protocol::FileHandle> to_dir = ResolveParent(to, &r.to_name);
  if (!to_dir.ok()) return to_dir.status();
  r.from_dir = *from_dir;
  r.to_dir = *to_dir;
  absl::Status renamed = RenameAt(r);
  return renamed.ok() ? renamed : WithContext(absl::StrCat(from, " to ", to), renamed);
}

}  // namespace client
}  // namespace vifiler
