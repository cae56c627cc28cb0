// Copyright 2026 The vifiler Authors.
//
// vifiler: the client command line. One operation per run against FILER:/path names.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clientlib/client.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/client_flags.h"
#include "tools/stream_command.h"

DEFINE_double(stream_seconds, 0, "stream: stop after this many seconds (0: at SIGINT/SIGTERM)");
DEFINE_uint32(stream_record_size, 64 * 1024, "stream: bytes per record");
DEFINE_bool(stats, false,
            "print the client's counters (failovers, replays, ...) to stderr at the end");

namespace vifiler {
namespace tools {
namespace {

constexpr char kUsage[] =
    "vifiler [flags] COMMAND ARGS\n"
    "  put LOCAL FILER:/path     copy a local file to the filer\n"
    "  get FILER:/path LOCAL     copy a file from the filer\n"
    "  cat FILER:/path           print a file\n"
    "  ls FILER:/dir             list a directory\n"
    "  stat FILER:/path          show a file's attributes\n"
    "  mkdir FILER:/dir          make a directory\n"
    "  rm FILER:/path            remove a file or an empty directory\n"
    "  mv FILER:/from /to        rename within the filer's volume\n"
    "  stream FILER:/path        write and read back checksummed records until\n"
    "                            --stream_seconds pass or SIGINT, then verify them all\n";

constexpr size_t kChunk = 4 << 20;

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

int Put(client::Client* c, const std::string& local, const std::string& path) {
  int fd = open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Die(absl::StrCat(local, ": ", strerror(errno)));
  absl::StatusOr<client::File> file = c->Create(path);
  if (!file.ok()) {
    close(fd);
    return Die(file.status().ToString());
  }
  std::vector<char> buf(kChunk);
  uint64_t offset = 0;
  while (true) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      close(fd);
      return Die(absl::StrCat(local, ": ", strerror(errno)));
    }
    if (n == 0) break;
    absl::StatusOr<size_t> w = file->Write(offset, absl::string_view(buf.data(), n));
    if (!w.ok()) {
      close(fd);
      return Die(w.status().ToString());
    }
    offset += n;
  }
  close(fd);
  return 0;
}

// Streams a remote file to fd.
int Fetch(client::Client* c, const std::string& path, int fd, const std::string& what) {
  absl::StatusOr<client::File> file = c->Open(path);
  if (!file.ok()) return Die(file.status().ToString());
  std::vector<char> buf(kChunk);
  uint64_t offset = 0;
  while (true) {
    absl::StatusOr<size_t> n = file->Read(offset, absl::MakeSpan(buf));
    if (!n.ok()) return Die(n.status().ToString());
    size_t done = 0;
    while (done < *n) {
      ssize_t w = write(fd, buf.data() + done, *n - done);
      if (w < 0) return Die(absl::StrCat(what, ": ", strerror(errno)));
      done += w;
    }
    offset += *n;
    if (*n < buf.size()) break;
  }
  return 0;
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

int Run(const std::vector<std::string>& args) {
  if (args.empty()) return Die(absl::StrCat("no command\n", kUsage));
  const std::string& cmd = args[0];
  auto need = [&](size_t n) { return args.size() == n + 1; };
  RemoteName remote;
  std::string local;
  if (cmd == "put") {
    if (!need(2) || !ParseRemote(args[2], &remote))
      return Die(absl::StrCat("usage: put LOCAL FILER:/path\n", kUsage));
    local = args[1];
  } else if (cmd == "get") {
    if (!need(2) || !ParseRemote(args[1], &remote))
      return Die(absl::StrCat("usage: get FILER:/path LOCAL\n", kUsage));
    local = args[2];
  } else if (cmd == "mv") {
    if (!need(2) || !ParseRemote(args[1], &remote))
      return Die(absl::StrCat("usage: mv FILER:/from /to\n", kUsage));
  } else if (cmd == "cat" || cmd == "stream" || cmd == "ls" || cmd == "stat" || cmd == "mkdir" ||
             cmd == "rm") {
    if (!need(1) || !ParseRemote(args[1], &remote))
      return Die(absl::StrCat("usage: ", cmd, " FILER:/path\n", kUsage));
  } else {
    return Die(absl::StrCat("unknown command '", cmd, "'\n", kUsage));
  }

  absl::StatusOr<std::unique_ptr<client::Client>> connected =
      client::Client::Connect(remote.filer, ClientOptionsFromFlags());
  if (!connected.ok()) return Die(connected.status().ToString());
  client::Client* c = connected->get();
  int rc = 0;
  if (cmd == "put") {
    rc = Put(c, local, remote.path);
  } else if (cmd == "get") {
    // Into a temporary file beside LOCAL, renamed over it only once everything arrived: a
    // failed get never leaves LOCAL empty or half written.
    std::string tmp = local + ".vifiler-get.XXXXXX";
    int fd = mkstemp(tmp.data());
    if (fd < 0)
      return Die(
          absl::StrCat(local, ": cannot create a temporary file beside it: ", strerror(errno)));
    fchmod(fd, 0644);
    rc = Fetch(c, remote.path, fd, local);
    if (close(fd) != 0 && rc == 0) rc = Die(absl::StrCat(local, ": ", strerror(errno)));
    if (rc == 0 && rename(tmp.c_str(), local.c_str()) != 0) {
      rc = Die(absl::StrCat(local, ": ", strerror(errno)));
    }
    if (rc != 0) unlink(tmp.c_str());
  } else if (cmd == "stream") {
    rc = RunStream(c, remote.path, FLAGS_stream_seconds, FLAGS_stream_record_size);
  } else if (cmd == "cat") {
    rc = Fetch(c, remote.path, STDOUT_FILENO, "stdout");
  } else if (cmd == "ls") {
    absl::StatusOr<std::vector<client::DirectoryEntry>> entries = c->List(remote.path);
    if (!entries.ok()) return Die(entries.status().ToString());
    for (const auto& e : *entries) {
      printf("%s%s\n", e.name.c_str(), e.type == protocol::FileType::kDirectory ? "/" : "");
    }
  } else if (cmd == "stat") {
    absl::StatusOr<protocol::FileAttr> a = c->Stat(remote.path);
    if (!a.ok()) return Die(a.status().ToString());
    printf("type: %s\nsize: %llu\nmode: %04o\nnlink: %u\nfile_id: %llu\nmtime_ns: %lld\n",
           TypeName(a->type), static_cast<unsigned long long>(a->size), a->mode, a->nlink,
           static_cast<unsigned long long>(a->file_id), static_cast<long long>(a->mtime_ns));
  } else if (cmd == "mkdir") {
    absl::Status s = c->Mkdir(remote.path);
    if (!s.ok()) rc = Die(s.ToString());
  } else if (cmd == "rm") {
    absl::Status s = c->Remove(remote.path);
    if (!s.ok()) rc = Die(s.ToString());
  } else if (cmd == "mv") {
    absl::Status s = c->Rename(remote.path, args[2]);
    if (!s.ok()) rc = Die(s.ToString());
  }
  if (FLAGS_stats) {
    client::ClientStats s = c->stats();
    fprintf(
        stderr,
        "stats: serving=%s endpoint=%s failovers=%llu failbacks=%llu replays=%llu "
        "failover_time=%s\n",
        s.serving_filer.c_str(), s.endpoint.c_str(), static_cast<unsigned long long>(s.failovers),
        static_cast<unsigned long long>(s.failbacks), static_cast<unsigned long long>(s.replays),
        absl::FormatDuration(s.failover_time).c_str());
  }
  return rc;
}

}  // namespace
}  // namespace tools
}  // namespace vifiler

int main(int argc, char** argv) {
  gflags::SetUsageMessage(vifiler::tools::kUsage);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  if (FLAGS_minloglevel == 0) FLAGS_minloglevel = 1;  // quiet unless asked
  google::InitGoogleLogging(argv[0]);
  std::vector<std::string> args(argv + 1, argv + argc);
  return vifiler::tools::Run(args);
}
