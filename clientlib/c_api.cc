// Copyright 2026 The vifiler Authors.
//
// The C API (clientlib/vifiler_client.h) over the C++ Client.

#include <string>

#include "clientlib/client.h"
#include "clientlib/vifiler_client.h"

struct vifiler_session {
  std::unique_ptr<vifiler::client::Client> client;
};

namespace {

using vifiler::client::Client;
using vifiler::client::ErrorCodeOf;
using vifiler::protocol::ErrorCode;

thread_local std::string last_error;
// vifiler_set_call_timeout(): zero is none.
thread_local absl::Duration call_timeout = absl::ZeroDuration();

// The deadline of one C call: a CallDeadline for its duration when the thread set a timeout.
class ThreadCallDeadline {
 public:
  ThreadCallDeadline()
      : deadline_(call_timeout > absl::ZeroDuration() ? absl::Now() + call_timeout
                                                      : absl::InfiniteFuture()) {}

 private:
  vifiler::client::CallDeadline deadline_;
};

int Fail(const absl::Status& status) {
  last_error = status.ToString();
  ErrorCode code = ErrorCodeOf(status);
  if (code == ErrorCode::kTransport) {
    if (status.code() == absl::StatusCode::kDeadlineExceeded) return VIFILER_ETIMEDOUT;
    if (status.code() == absl::StatusCode::kPermissionDenied) return VIFILER_EACCES;
    return status.code() == absl::StatusCode::kUnavailable ? VIFILER_EUNAVAILABLE : VIFILER_EOTHER;
  }
  if (code == ErrorCode::kReadOnly) return VIFILER_EROFS;
  if (code == ErrorCode::kNotExported) return VIFILER_EACCES;
  uint32_t value = static_cast<uint32_t>(code);
  return value <= static_cast<uint32_t>(ErrorCode::kStaleHandle) ? -static_cast<int>(value)
                                                                 : VIFILER_EOTHER;
}

int Check(const absl::Status& status) { return status.ok() ? VIFILER_OK : Fail(status); }

vifiler::protocol::FileHandle ToHandle(const vifiler_file_t* f) {
  return vifiler::protocol::FileHandle{f->volume_id, f->file_id, f->generation};
}

void FromHandle(const vifiler::protocol::FileHandle& h, vifiler_file_t* f) {
  f->volume_id = h.volume_id;
  f->file_id = h.file_id;
  f->generation = h.generation;
}

}  // namespace

extern "C" {

const char* vifiler_version(void) { return vifiler::Version(); }

void vifiler_set_log(int level, vifiler_log_fn fn, void* arg) {
  using vifiler::client::LogLevel;
  const LogLevel min_level = level < VIFILER_LOG_DEBUG  ? LogLevel::kDebug
                             : level >= VIFILER_LOG_OFF ? LogLevel::kOff
                                                        : static_cast<LogLevel>(level);
  if (fn == nullptr) {
    vifiler::client::SetLogHandler(min_level, nullptr);  // stderr
    return;
  }
  vifiler::client::SetLogHandler(min_level, [fn, arg](LogLevel l, const std::string& message) {
    fn(static_cast<int>(l), message.c_str(), arg);
  });
}

void vifiler_set_call_timeout(uint32_t timeout_ms) {
  call_timeout = absl::Milliseconds(timeout_ms);
}

void vifiler_options_init(vifiler_options_t* options) { *options = vifiler_options_t{}; }

int vifiler_connect(const char* filer_name, const vifiler_options_t* options, vifiler_t** out) {
  ThreadCallDeadline deadline;
  if (filer_name == nullptr || out == nullptr)
    return Fail(absl::InvalidArgumentError("null argument"));
  vifiler::client::ClientOptions o;
  if (options != nullptr) {
    if (options->fabric != nullptr) o.fabric = options->fabric;
    if (options->hosts_file != nullptr) o.hosts_file = options->hosts_file;
    if (options->primary_discriminator != 0)
      o.primary_discriminator = options->primary_discriminator;
    if (options->secondary_discriminator != 0) {
      o.secondary_discriminator = options->secondary_discriminator;
    }
    if (options->failover_suffix != nullptr) o.failover_suffix = options->failover_suffix;
    if (options->failover_deadline_ms != 0) {
      o.failover_deadline = absl::Milliseconds(options->failover_deadline_ms);
    }
    if (options->request_timeout_ms != 0) {
      o.request_timeout = absl::Milliseconds(options->request_timeout_ms);
    }
  }
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(filer_name, o);
  if (!client.ok()) return Fail(client.status());
  *out = new vifiler_session{std::move(*client)};
  return VIFILER_OK;
}

void vifiler_disconnect(vifiler_t* v) { delete v; }

int vifiler_create(vifiler_t* v, const char* path, uint32_t mode, vifiler_file_t* file) {
  ThreadCallDeadline deadline;
  absl::StatusOr<vifiler::client::File> f = v->client->Create(path, mode);
  if (!f.ok()) return Fail(f.status());
  FromHandle(f->handle(), file);
  return VIFILER_OK;
}

int vifiler_open(vifiler_t* v, const char* path, vifiler_file_t* file) {
  ThreadCallDeadline deadline;
  absl::StatusOr<vifiler::client::File> f = v->client->Open(path);
  if (!f.ok()) return Fail(f.status());
  FromHandle(f->handle(), file);
  return VIFILER_OK;
}

int64_t vifiler_read(vifiler_t* v, const vifiler_file_t* file, uint64_t offset, void* buf,
                     size_t length) {
  ThreadCallDeadline deadline;
  absl::StatusOr<size_t> n =
      v->client->Read(ToHandle(file), offset, absl::MakeSpan(static_cast<char*>(buf), length));
  if (!n.ok()) return Fail(n.status());
  return static_cast<int64_t>(*n);
}

int64_t vifiler_write(vifiler_t* v, const vifiler_file_t* file, uint64_t offset, const void* buf,
                      size_t length) {
  ThreadCallDeadline deadline;
  absl::StatusOr<size_t> n = v->client->Write(
      ToHandle(file), offset, absl::string_view(static_cast<const char*>(buf), length));
  if (!n.ok()) return Fail(n.status());
  return static_cast<int64_t>(*n);
}

int vifiler_fsync(vifiler_t* v, const vifiler_file_t* file) {
  ThreadCallDeadline deadline;
  return Check(v->client->Fsync(ToHandle(file)));
}

int vifiler_stat(vifiler_t* v, const char* path, vifiler_stat_t* st) {
  ThreadCallDeadline deadline;
  absl::StatusOr<vifiler::protocol::FileAttr> attr = v->client->Stat(path);
  if (!attr.ok()) return Fail(attr.status());
  st->file_id = attr->file_id;
  st->size = attr->size;
  st->mode = attr->mode;
  st->type = static_cast<uint32_t>(attr->type);
  st->mtime_ns = attr->mtime_ns;
  return VIFILER_OK;
}

int vifiler_mkdir(vifiler_t* v, const char* path, uint32_t mode) {
  ThreadCallDeadline deadline;
  return Check(v->client->Mkdir(path, mode));
}

int vifiler_remove(vifiler_t* v, const char* path) {
  ThreadCallDeadline deadline;
  return Check(v->client->Remove(path));
}

int vifiler_rename(vifiler_t* v, const char* from, const char* to) {
  ThreadCallDeadline deadline;
  return Check(v->client->Rename(from, to));
}

int vifiler_list(vifiler_t* v, const char* path,
                 int (*fn)(const char* name, uint32_t type, void* arg), void* arg) {
  ThreadCallDeadline deadline;
  auto entries = v->client->List(path);
  if (!entries.ok()) return Fail(entries.status());
  for (const auto& e : *entries) {
    if (fn(e.name.c_str(), static_cast<uint32_t>(e.type), arg) != 0) break;
  }
  return VIFILER_OK;
}

int vifiler_get_stats(vifiler_t* v, vifiler_stats_t* stats) {
  vifiler::client::ClientStats s = v->client->stats();
  stats->failovers = s.failovers;
  stats->failbacks = s.failbacks;
  stats->replays = s.replays;
  stats->failover_time_us = static_cast<uint64_t>(absl::ToInt64Microseconds(s.failover_time));
  stats->on_partner = s.on_partner ? 1 : 0;
  return VIFILER_OK;
}

const char* vifiler_last_error(void) { return last_error.c_str(); }

}  // extern "C"
