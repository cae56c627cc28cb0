// Copyright 2026 The vifiler Authors.
//
// Client: the vifiler client library's C++ API. Connects to a filer by name and performs file
// operations on its volume; rides through the loss of the filer.
//
// Contract:
//  - Connect(name) resolves the name (hosts file or system resolver) and opens a session on the
//    filer's primary data access port.
//  - Every call is synchronous and thread-safe; concurrent calls from many threads use the
//    session's slots in parallel (at most `slots` outstanding requests).
//  - When the connection fails (error, reset, silence past keepalive_timeout while requests are
//    outstanding, no reply within request_timeout, the filer refusing because it no longer owns
//    the volume) the client reconnects: it tries the home filer's primary port and the failover
//    name (name + failover_suffix, resolved the same way) on the secondary discriminator at the
//    same time, each with backoff, until failover_deadline. It reopens the session with the
//    same client identity and resends every request that was in flight with its original slot
//    and sequence, so the filer executes each at most once. Handles stay valid. The application
//    sees a pause; only past the deadline does it get an error, naming what was tried. After
//    giveback it returns to the home filer the same way. When nothing has answered after 2 s
//    (or half the time to the deadline, if shorter: longer than an ordinary takeover), it says
//    once, as a warning through the library's logging, that it is retrying and for how long;
//    never once per attempt.
//  - Connect, and a reconnect, fail at once, not at the deadline, when every name they would
//    try fails in a way no retry can fix: the name does not resolve (no hosts file, the name is
//    absent from it, no such name in DNS) or this host cannot use the fabric (no RDMA stack or
//    device). The status (NotFound, FailedPrecondition, InvalidArgument) names each name and
//    its cause. One name that fails transiently (refused, timed out) keeps them all retried.
//  - Every call, Connect included, ends by its deadline: the earliest of now + call_timeout
//    (ClientOptions; default none) and the deadline of a CallDeadline alive on the calling
//    thread. Past it the call returns DeadlineExceededError saying what it was waiting for
//    (a free slot, a reconnect, the reply); without one, a call gives up only after
//    failover_deadline of trouble, with UnavailableError. A mutation whose call ended at its
//    deadline may or may not have been applied (it is never applied twice); the connection
//    is left as it is for the other calls. A direct transfer (data beyond inline_threshold)
//    already sent is waited for up to request_timeout, deadline or not: the filer may still
//    write into or read from the caller's buffer until it has answered.
//  - root() is the volume's root handle learned at the first session; it never changes (both
//    filers of a pair serve the same volume) and is never a zero handle once Connect succeeded.
//  - An idle client sends nothing; keepalive probes go out only while requests are outstanding.
//  - Errors from the filer come back as absl::Status with the protocol error name in the
//    message (after the path, for the path API); ErrorCodeOf() recovers the
//    protocol::ErrorCode.
//  - The library never writes to the application's stderr (or anywhere) unless asked: its
//    messages go to ClientOptions::log, else to the process-wide SetLogHandler(), else nowhere.
//
// Installed as <prefix>/include/vifiler/clientlib/client.h with the protocol headers it
// includes; `pkg-config --cflags --libs vifiler-client` gives the include path and libraries.

#ifndef VIFILER_CLIENTLIB_CLIENT_H_
#define VIFILER_CLIENTLIB_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "protocol/messages.h"

namespace vifiler {

// The library's version, "MAJOR.MINOR.PATCH" (the project version it was built from).
const char* Version();

namespace client {

// Severity of a library message. kOff is a threshold only: no message has it.
enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

// Receives one library message: one line of text without a newline. Called from library
// threads, possibly several at once; it must not block for long nor call into the client.
using LogHandler = std::function<void(LogLevel level, const std::string& message)>;

// Process-wide: messages at min_level and above that no ClientOptions::log takes (those of
// clients without one, and those of the fabric underneath every client) go to `handler`; with
// an empty handler they are written to stderr as "vifiler LEVEL: message" lines. The default,
// and min_level kOff, is silence. Thread-safe; may be called at any time.
void SetLogHandler(LogLevel min_level, LogHandler handler);

struct ClientOptions {
  std::string fabric = "auto";  // auto | rdma | tcp
  std::string hosts_file;       // empty: system resolver
  uint16_t primary_discriminator = 7300;
  uint16_t secondary_discriminator = 7301;
  std::string failover_suffix = "-failover";
  bool failover = true;
  // No reply within this time: the connection is presumed lost.
  absl::Duration request_timeout = absl::Seconds(5);
  // How long to keep trying the filer and its partner before giving up.
  absl::Duration failover_deadline = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(2);
  // Keepalive, only while requests are outstanding on the connection: when nothing at all has
  // arrived from the filer for keepalive_interval, the client sends a probe (a kNull request
  // the filer answers at once, even while it executes long requests), and again every interval
  // while the silence lasts; when nothing has arrived for keepalive_timeout the filer is
  // presumed lost (a dead or frozen host sends no reset) and the client fails over. A filer
  // that answers probes but never the request is still bounded by request_timeout. Zero
  // keepalive_interval disables keepalive; otherwise keepalive_timeout must be at least
  // keepalive_interval.
  absl::Duration keepalive_interval = absl::Milliseconds(100);
  absl::Duration keepalive_timeout = absl::Seconds(1);
  uint32_t slots = 16;
  // Stable identity of this client; the filer keys its reply cache by it. Empty: random.
  std::string client_id;
  // Called (from a library thread) with a one-line description of each failover/failback.
  std::function<void(const std::string&)> on_event;
  // This client's own messages (failover notices, reconnection attempts, a filer presumed
  // lost) at log_level and above go to `log` when it is set; otherwise to the process-wide
  // handler (SetLogHandler), which by default drops them.
  LogHandler log;
  LogLevel log_level = LogLevel::kInfo;
  // Each call's deadline, from its start (see CallDeadline for one call or a few).
  // InfiniteDuration: none; a call then ends only after failover_deadline of trouble.
  absl::Duration call_timeout = absl::InfiniteDuration();
};

struct ClientStats {
  std::string filer_name;             // name the client connected to
  std::string serving_filer;          // filer currently serving the session
  std::string endpoint;               // address:discriminator in use
  bool on_partner = false;            // connected to the partner's secondary port
  uint64_t failovers = 0;             // moves to the partner
  uint64_t failbacks = 0;             // moves back to the home filer
  uint64_t reconnects = 0;            // every new connection after the first
  uint64_t replays = 0;               // requests resent after a reconnect
  uint64_t probes = 0;                // keepalive probes sent
  uint64_t probe_replies = 0;         // answers to keepalive probes received
  uint64_t keepalive_failures = 0;    // connections declared lost for silence
  uint64_t witness_failovers = 0;     // connections left because the partner took over
  uint64_t root_mismatches = 0;       // sessions that reported a root other than the first
  uint64_t bounced_transfers = 0;     // direct transfers through a bounce buffer (unregistrable)
  uint64_t inline_fallbacks = 0;      // direct transfers moved inline (nothing registrable)
  absl::Duration failover_time;       // total time spent reconnecting
  absl::Duration last_failover_time;  // the most recent reconnect
  uint64_t calls_past_deadline = 0;   // calls that ended at their deadline (CallDeadline)
};

struct DirectoryEntry {
  std::string name;
  protocol::FileType type = protocol::FileType::kUnknown;
  uint64_t file_id = 0;
};

// The protocol error carried by a status returned from Client, kOk for OK, kTransport for
// errors that did not come from a filer.
protocol::ErrorCode ErrorCodeOf(const absl::Status& status);

// A deadline for the calls the current thread makes, on any Client, while this object lives
// (RAII; nested ones: the earliest wins, and the outer one is back when the inner one ends):
//   { client::CallDeadline d(absl::Now() + absl::Milliseconds(200)); c->Stat("/x"); }
// A call past it returns DeadlineExceededError (see the Client contract).
class CallDeadline {
 public:
  explicit CallDeadline(absl::Time deadline);
  ~CallDeadline();
  CallDeadline(const CallDeadline&) = delete;
  CallDeadline& operator=(const CallDeadline&) = delete;
  // The calling thread's deadline: InfiniteFuture when no CallDeadline is alive on it.
  static absl::Time Current();

 private:
  absl::Time outer_;
};

class Client;
class FailoverSession;

// An open file: a handle plus the client that serves it. Cheap to copy; valid while the
// Client lives.
class File {
 public:
  File() = default;
  File(Client* client, protocol::FileHandle handle) : client_(client), handle_(handle) {}
  absl::StatusOr<size_t> Read(uint64_t offset, absl::Span<char> buffer) const;
  absl::StatusOr<size_t> Write(uint64_t offset, absl::string_view data) const;
  absl::StatusOr<protocol::FileAttr> Stat() const;
  absl::Status Truncate(uint64_t size) const;
  absl::Status Fsync() const;
  const protocol::FileHandle& handle() const { return handle_; }

 private:
  Client* client_ = nullptr;
  protocol::FileHandle handle_;
};

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& filer_name,
                                                         ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // ---- path API ("/dir/file"; components separated by '/')
  absl::StatusOr<protocol::FileHandle> Resolve(absl::string_view path);
  // Creates (or, without exclusive, opens and truncates) a regular file.
  absl::StatusOr<File> Create(absl::string_view path, uint32_t mode = 0644, bool exclusive = false);
  absl::StatusOr<File> Open(absl::string_view path);
  absl::StatusOr<protocol::FileAttr> Stat(absl::string_view path);
  absl::StatusOr<std::vector<DirectoryEntry>> List(absl::string_view path);
  absl::Status Mkdir(absl::string_view path, uint32_t mode = 0755);
  absl::Status Remove(absl::string_view path);  // file or empty directory
  absl::Status Rename(absl::string_view from, absl::string_view to);

  // ---- handle API (one protocol operation each)
  protocol::FileHandle root() const;
  absl::StatusOr<protocol::HandleReply> Lookup(const protocol::FileHandle& dir,
                                               absl::string_view name);
  absl::StatusOr<protocol::FileAttr> GetAttr(const protocol::FileHandle& handle);
  absl::StatusOr<protocol::FileAttr> SetAttr(const protocol::SetAttrRequest& request);
  absl::StatusOr<protocol::HandleReply> CreateAt(const protocol::CreateRequest& request);
  absl::StatusOr<protocol::HandleReply> MkdirAt(const protocol::MkdirRequest& request);
  absl::Status RemoveAt(const protocol::FileHandle& dir, absl::string_view name);
  absl::Status RmdirAt(const protocol::FileHandle& dir, absl::string_view name);
  absl::Status RenameAt(const protocol::RenameRequest& request);
  absl::StatusOr<protocol::ReadDirReply> ReadDir(const protocol::FileHandle& dir, uint64_t cookie,
                                                 uint32_t max_entries);
  // Reads up to buffer.size() bytes (any length; large reads go direct, in chunks). Returns
  // the bytes read; fewer than asked only at end of file.
  absl::StatusOr<size_t> Read(const protocol::FileHandle& handle, uint64_t offset,
                              absl::Span<char> buffer);
  absl::StatusOr<size_t> Write(const protocol::FileHandle& handle, uint64_t offset,
                               absl::string_view data);
  absl::Status Fsync(const protocol::FileHandle& handle);
  absl::StatusOr<protocol::StatFsReply> StatFs();
  absl::Status Null();

  ClientStats stats() const;
  const std::string& client_id() const;

 private:
  template <typename Reply, typename Request>
  absl::StatusOr<Reply> Call(protocol::Opcode op, const Request& request);

  explicit Client(std::unique_ptr<FailoverSession> session);
  absl::StatusOr<protocol::FileHandle> ResolveParent(absl::string_view path, std::string* name);

  std::unique_ptr<FailoverSession> session_;
};

}  // namespace client
}  // namespace vifiler

#endif  // VIFILER_CLIENTLIB_CLIENT_H_
