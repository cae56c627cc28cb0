// Copyright 2026 The vifiler Authors.
//
// vifiler: the client command line. One operation per run against FILER:/path names.
//
// Contract: results go to stdout (for `get FILER:/path -` and `cat`, the file's bytes and
// nothing else); errors go to stderr as one line "vifiler: ..." (a status as CODE: message,
// without payloads) with exit status 1. Times are shown in local time (TZ).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "clientlib/client.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/client_flags.h"
#include "tools/mount_command.h"
#include "tools/status_text.h"
#include "tools/stream_command.h"
#include "tools/tool_main.h"

DEFINE_double(stream_seconds, 0, "stream: stop after this many seconds (0: at SIGINT/SIGTERM)");
DEFINE_uint32(stream_record_size, 64 * 1024, "stream: bytes per record");
DEFINE_bool(stats, false,
            "print the client's counters (failovers, replays, ...) to stderr at the end");
DEFINE_bool(l, false,
            "ls: long listing, one line per entry: type, size, mtime (local time), name "
            "(`vifiler ls -l FILER:/dir`)");

namespace vifiler {
namespace tools {
namespace {

constexpr char kUsage[] =
    "vifiler [flags] COMMAND ARGS\n"
    "  put LOCAL FILER:/path     copy a local file to the filer (LOCAL -: standard input)\n"
    "  get FILER:/path LOCAL     copy a file from the filer (LOCAL -: standard output)\n"
    "  cat FILER:/path           print a file\n"
    "  ls FILER:/dir             list a directory (directories end in /)\n"
    "  ls -l FILER:/dir          one line per entry: type, size, mtime (local time), name\n"
    "  stat FILER:/path          show a file's type, size, mode, links, id and times\n"
    "  mkdir FILER:/dir          make a directory\n"
    "  rm FILER:/path            remove a file or an empty directory\n"
    "  mv FILER:/from FILER:/to  rename within the filer's volume (also: mv FILER:/from /to);\n"
    "                            not across filers\n"
    "  stream FILER:/path        write and read back checksummed records until\n"
    "                            --stream_seconds pass or SIGINT, then verify them all\n"
    "  mount FILER:/path MOUNTPOINT  mount the directory with FUSE (-o ro, -f, --debug;\n"
    "                            fusermount3 -u MOUNTPOINT unmounts)\n";

constexpr size_t kChunk = 4 << 20;

// The name of standard input (put) or standard output (get) in place of LOCAL.
constexpr char kStdio[] = "-";

struct RemoteName {
  std::string filer;
  std::string path;
};

bool ParseRemote(const std::string& arg, RemoteName* out) {
  size_t colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  out->filer = arg.substr(0, colon);
  out->path = arg.substr(colon + 1);
  if (out->path.empty()) out->path = "/";
  return true;
}

int Die(const std::string& what) {
  fprintf(stderr, "vifiler: %s\n", what.c_str());
  return 1;
}

int Die(const absl::Status& status) { return Die(StatusText(status)); }

// Local time to the second, e.g. "2026-12-02 01:23:45".
std::string FormatLocalTime(int64_t unix_ns) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixNanos(unix_ns), absl::LocalTimeZone());
}

const char* TypeName(protocol::FileType t) {
  switch (t) {
    case protocol::FileType::kRegular:
      return "file";
    case protocol::FileType::kDirectory:
      return "dir";
    case protocol::FileType::kSymlink:
      return "symlink";
    default:
      return "unknown";
  }
}

// Reads from fd until buffer is full or the input ends; returns the bytes read (fewer than
// buffer.size() only at end of input), or -1 with errno set.
ssize_t ReadFull(int fd, absl::Span<char> buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    ssize_t n = read(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    done += n;
  }
  return static_cast<ssize_t>(done);
}

// Writes all of data to fd; false with errno set on error.
bool WriteFull(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(n);
  }
  return true;
}

// Copies everything readable from fd (named `what` in errors) into a new or truncated remote
// file at path.
int Upload(client::Client* c, int fd, const std::string& what, const std::string& path) {
  absl::StatusOr<client::File> file = c->Create(path);
  if (!file.ok()) return Die(file.status());
  std::vector<char> buf(kChunk);
  uint64_t offset = 0;
  while (true) {
    ssize_t n = ReadFull(fd, absl::MakeSpan(buf));
    if (n < 0) return Die(absl::StrCat(what, ": ", strerror(errno)));
    if (n == 0) break;
    absl::StatusOr<size_t> w = file->Write(offset, absl::string_view(buf.data(), n));
    if (!w.ok()) return Die(w.status());
    offset += n;
    if (static_cast<size_t>(n) < buf.size()) break;
  }
  return 0;
}

// `put LOCAL FILER:/path`; LOCAL "-" is standard input.
int Put(client::Client* c, const std::string& local, const std::string& path) {
  if (local == kStdio) return Upload(c, STDIN_FILENO, "stdin", path);
  int fd = open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Die(absl::StrCat(local, ": ", strerror(errno)));
  int rc = Upload(c, fd, local, path);
  close(fd);
  return rc;
}

// Streams a remote file to fd (named `what` in errors).
int Fetch(client::Client* c, const std::string& path, int fd, const std::string& what) {
  absl::StatusOr<client::File> file = c->Open(path);
  if (!file.ok()) return Die(file.status());
  std::vector<char> buf(kChunk);
  uint64_t offset = 0;
  while (true) {
    absl::StatusOr<size_t> n = file->Read(offset, absl::MakeSpan(buf));
    if (!n.ok()) return Die(n.status());
    if (!WriteFull(fd, absl::string_view(buf.data(), *n))) {
      return Die(absl::StrCat(what, ": ", strerror(errno)));
    }
    offset += *n;
    if (*n < buf.size()) break;
  }
  return 0;
}

// `get FILER:/path LOCAL`; LOCAL "-" is standard output. A file goes into a temporary file
// beside LOCAL, renamed over it only once everything arrived: a failed get never leaves LOCAL
// empty or half written.
int Get(client::Client* c, const std::string& path, const std::string& local) {
  if (local == kStdio) return Fetch(c, path, STDOUT_FILENO, "stdout");
  std::string tmp = local + ".vifiler-get.XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) {
    return Die(
        absl::StrCat(local, ": cannot create a temporary file beside it: ", strerror(errno)));
  }
  fchmod(fd, 0644);
  int rc = Fetch(c, path, fd, local);
  if (close(fd) != 0 && rc == 0) rc = Die(absl::StrCat(local, ": ", strerror(errno)));
  if (rc == 0 && rename(tmp.c_str(), local.c_str()) != 0) {
    rc = Die(absl::StrCat(local, ": ", strerror(errno)));
  }
  if (rc != 0) unlink(tmp.c_str());
  return rc;
}

// `ls FILER:/dir`: names, directories with a trailing '/'.
int List(client::Client* c, const std::string& path) {
  absl::StatusOr<std::vector<client::DirectoryEntry>> entries = c->List(path);
  if (!entries.ok()) return Die(entries.status());
  for (const client::DirectoryEntry& e : *entries) {
    printf("%s%s\n", e.name.c_str(), e.type == protocol::FileType::kDirectory ? "/" : "");
  }
  return 0;
}

// `ls -l FILER:/dir`: "TYPE SIZE YYYY-MM-DD HH:MM:SS NAME" per entry, in the order of `ls`.
// An entry removed while listing is left out.
int ListLong(client::Client* c, const std::string& path) {
  absl::StatusOr<protocol::FileHandle> dir = c->Resolve(path);
  if (!dir.ok()) return Die(dir.status());
  absl::StatusOr<std::vector<client::DirectoryEntry>> entries = c->List(path);
  if (!entries.ok()) return Die(entries.status());
  for (const client::DirectoryEntry& e : *entries) {
    absl::StatusOr<protocol::HandleReply> found = c->Lookup(*dir, e.name);
    if (client::ErrorCodeOf(found.status()) == protocol::ErrorCode::kNoEntry) continue;
    if (!found.ok()) {
      return Die(absl::Status(found.status().code(),
                              absl::StrCat(path, "/", e.name, ": ", found.status().message())));
    }
    const protocol::FileAttr& a = found->attr;
    printf("%-7s %12llu %s %s\n", TypeName(a.type), static_cast<unsigned long long>(a.size),
           FormatLocalTime(a.mtime_ns).c_str(), e.name.c_str());
  }
  return 0;
}

// `stat FILER:/path`: "key: value" lines; times in local time.
int Stat(client::Client* c, const std::string& path) {
  absl::StatusOr<protocol::FileAttr> a = c->Stat(path);
  if (!a.ok()) return Die(a.status());
  printf("type: %s\nsize: %llu\nmode: %04o\nnlink: %u\nfile_id: %llu\n", TypeName(a->type),
         static_cast<unsigned long long>(a->size), a->mode, a->nlink,
         static_cast<unsigned long long>(a->file_id));
  printf("atime: %s\nmtime: %s\nctime: %s\n", FormatLocalTime(a->atime_ns).c_str(),
         FormatLocalTime(a->mtime_ns).c_str(), FormatLocalTime(a->ctime_ns).c_str());
  return 0;
}

// The target of `mv FILER:/from TO` as a path on `from`'s filer: TO is "FILER:/to" naming the
// same filer, or a path without a filer ("/to"; anything that starts with '/' or has no ':').
// Returns false with *error set when TO names another filer: a rename cannot cross volumes.
bool MoveTarget(const RemoteName& from, const std::string& to, std::string* path,
                std::string* error) {
  RemoteName target;
  if (to.empty() || to[0] == '/' || !ParseRemote(to, &target)) {
    *path = to.empty() ? "/" : to;
    return true;
  }
  if (target.filer != from.filer) {
    *error = absl::StrCat("mv: cannot move ", from.filer, ":", from.path, " to ", to,
                          ": a rename stays on one filer (", from.filer, " is not ", target.filer,
                          "); copy with get and put, then rm");
    return false;
  }
  *path = target.path;
  return true;
}

void PrintStats(const client::Client& c) {
  client::ClientStats s = c.stats();
  fprintf(stderr,
          "stats: serving=%s endpoint=%s failovers=%llu failbacks=%llu replays=%llu "
          "failover_time=%s\n",
          s.serving_filer.c_str(), s.endpoint.c_str(), static_cast<unsigned long long>(s.failovers),
          static_cast<unsigned long long>(s.failbacks), static_cast<unsigned long long>(s.replays),
          absl::FormatDuration(s.failover_time).c_str());
}

// A command line checked before connecting.
struct Command {
  std::string name;
  RemoteName remote;
  std::string local;    // put, get
  std::string to_path;  // mv
};

// Checks the words after the flags; returns false with *error set (a usage message) when they
// do not make a command.
bool ParseCommand(const std::vector<std::string>& args, Command* cmd, std::string* error) {
  if (args.empty()) {
    *error = absl::StrCat("no command\n", kUsage);
    return false;
  }
  cmd->name = args[0];
  const bool two = args.size() == 3, one = args.size() == 2;
  bool ok = false;
  if (cmd->name == "put") {
    ok = two && ParseRemote(args[2], &cmd->remote);
    if (ok) cmd->local = args[1];
  } else if (cmd->name == "get") {
    ok = two && ParseRemote(args[1], &cmd->remote);
    if (ok) cmd->local = args[2];
  } else if (cmd->name == "mv") {
    ok = two && ParseRemote(args[1], &cmd->remote);
    if (ok && !MoveTarget(cmd->remote, args[2], &cmd->to_path, error)) return false;
  } else if (cmd->name == "cat" || cmd->name == "stream" || cmd->name == "ls" ||
             cmd->name == "stat" || cmd->name == "mkdir" || cmd->name == "rm") {
    ok = one && ParseRemote(args[1], &cmd->remote);
  } else {
    *error = absl::StrCat("unknown command '", cmd->name, "'\n", kUsage);
    return false;
  }
  if (ok && FLAGS_l && cmd->name != "ls") {
    *error = absl::StrCat("-l applies to ls only\n", kUsage);
    return false;
  }
  if (!ok) *error = absl::StrCat("usage: ", cmd->name, " ...\n", kUsage);
  return ok;
}

int Execute(client::Client* c, const Command& cmd) {
  const std::string& path = cmd.remote.path;
  if (cmd.name == "put") return Put(c, cmd.local, path);
  if (cmd.name == "get") return Get(c, path, cmd.local);
  if (cmd.name == "stream") {
    return RunStream(c, path, FLAGS_stream_seconds, FLAGS_stream_record_size);
  }
  if (cmd.name == "cat") return Fetch(c, path, STDOUT_FILENO, "stdout");
  if (cmd.name == "ls") return FLAGS_l ? ListLong(c, path) : List(c, path);
  if (cmd.name == "stat") return Stat(c, path);
  absl::Status s;
  if (cmd.name == "mkdir") s = c->Mkdir(path);
  if (cmd.name == "rm") s = c->Remove(path);
  if (cmd.name == "mv") s = c->Rename(path, cmd.to_path);
  return s.ok() ? 0 : Die(s);
}

int Run(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "mount") return MountCommand(args);
  Command cmd;
  std::string usage_error;
  if (!ParseCommand(args, &cmd, &usage_error)) return Die(usage_error);
  absl::StatusOr<std::unique_ptr<client::Client>> connected =
      client::Client::Connect(cmd.remote.filer, ClientOptionsFromFlags());
  if (!connected.ok()) return Die(connected.status());
  const int rc = Execute(connected->get(), cmd);
  if (FLAGS_stats) PrintStats(**connected);
  return rc;
}

}  // namespace
}  // namespace tools
}  // namespace vifiler

int main(int argc, char** argv) {
  vifiler::tools::ParseToolCommandLine(vifiler::tools::kUsage, &argc, &argv);
  FLAGS_logtostderr = true;
  if (FLAGS_minloglevel == 0) FLAGS_minloglevel = 1;  // quiet unless asked
  google::InitGoogleLogging(argv[0]);
  vifiler::tools::RouteLogToGlog();
  std::vector<std::string> args(argv + 1, argv + argc);
  return vifiler::tools::Run(args);
}
