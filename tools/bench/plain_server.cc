// Copyright 2026 The vifiler Authors.

#include "tools/bench/plain_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "tools/bench/plain_protocol.h"

namespace vifiler {
namespace bench {

namespace {

// A connection with no request for this long is closed.
constexpr absl::Duration kIdleTimeout = absl::Seconds(60);

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

// Creates the served file in directory, unlinked, filled with file_size bytes of a pattern.
// Synced every kFillSyncBytes: a filer sharing the disk must keep renewing its lease (a
// synchronous write every heartbeat), and one flush of a whole GiB would hold it up for
// seconds (its fence guard would kill it).
absl::Status CreateFile(const std::string& directory, uint64_t file_size, int* fd) {
  constexpr uint64_t kFillSyncBytes = 16 << 20;
  std::string path = directory + "/vifiler-bench-plain-XXXXXX";
  *fd = mkstemp(path.data());
  if (*fd < 0) return Errno(absl::StrCat("create a file in ", directory));
  unlink(path.c_str());
  std::string chunk(1 << 20, '\0');
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + i % 26);
  uint64_t unsynced = 0;
  for (uint64_t offset = 0; offset < file_size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), file_size - offset));
    const ssize_t w = pwrite(*fd, chunk.data(), n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("fill the served file");
    offset += static_cast<uint64_t>(w);
    unsynced += static_cast<uint64_t>(w);
    if (unsynced >= kFillSyncBytes || offset >= file_size) {
      if (fdatasync(*fd) != 0) return Errno("fdatasync the served file");
      unsynced = 0;
    }
  }
  return absl::OkStatus();
}

}  // namespace

PlainServer::PlainServer(PlainServerOptions options, int file_fd)
    : options_(std::move(options)), file_fd_(file_fd) {}

PlainServer::~PlainServer() { Stop(); }

absl::Status PlainServer::Start() {
  sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(options_.port);
  if (inet_pton(AF_INET, options_.address.c_str(), &sin.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", options_.address));
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Errno("socket");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
    return Errno(absl::StrCat("bind ", options_.address, ":", options_.port));
  }
  if (listen(listen_fd_, 16) != 0) return Errno("listen");
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void PlainServer::Stop() {
  std::vector<std::thread> servers;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
    servers.swap(servers_);
  }
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& t : servers) t.join();
  absl::MutexLock lock(&mu_);
  for (int fd : connections_) close(fd);
  connections_.clear();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

void PlainServer::AcceptLoop() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      if (fd >= 0) close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      LOG(WARNING) << "plain server: accept: " << strerror(errno);
      return;
    }
    absl::Status s = ConfigurePlainSocket(fd, kIdleTimeout);
    if (!s.ok()) {
      LOG(WARNING) << "plain server: " << s;
      close(fd);
      continue;
    }
    connections_.push_back(fd);
    servers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void PlainServer::Serve(int fd) {
  // The reply header and a read's data are contiguous, so a reply is one write.
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
  for (;;) {
    char header[kPlainRequestSize];
    if (!ReadAll(fd, header, sizeof(header)).ok()) break;
    const PlainRequest request = DecodePlainRequest(header);
    if ((request.op != PlainOp::kRead && request.op != PlainOp::kWrite) ||
        request.length > kMaxPlainLength) {
      LOG(WARNING) << "plain server: malformed request; closing the connection";
      break;
    }
    const size_t need = kPlainReplySize + request.length;
    if (capacity < need) {
      buffer.reset(new char[need]);
      capacity = need;
    }
    char* data = buffer.get() + kPlainReplySize;
    PlainReply reply;
    reply.tag = request.tag;
    if (request.op == PlainOp::kWrite && !ReadAll(fd, data, request.length).ok()) break;
    if (request.offset > options_.file_size ||
        request.length > options_.file_size - request.offset) {
      reply.status = EINVAL;
    } else if (request.op == PlainOp::kRead) {
      const ssize_t n = pread(file_fd_, data, request.length, static_cast<off_t>(request.offset));
      if (n < 0) {
        reply.status = static_cast<uint32_t>(errno);
      } else {
        reply.length = static_cast<uint32_t>(n);
      }
    } else {
      const ssize_t n = pwrite(file_fd_, data, request.length, static_cast<off_t>(request.offset));
      if (n < 0 || (options_.sync_writes && fdatasync(file_fd_) != 0)) {
        reply.status = static_cast<uint32_t>(errno);
      } else {
        reply.length = static_cast<uint32_t>(n);
      }
    }
    EncodePlainReply(reply, buffer.get());
    const size_t out = kPlainReplySize + (request.op == PlainOp::kRead ? reply.length : 0);
    if (!WriteAll(fd, buffer.get(), out).ok()) break;
  }
  shutdown(fd, SHUT_RDWR);
}

int RunPlainServer(const PlainServerOptions& options, absl::Duration lifetime) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int file_fd = -1;
  absl::Status s = CreateFile(options.directory, options.file_size, &file_fd);
  if (!s.ok()) {
    LOG(ERROR) << "plain server: " << s;
    if (file_fd >= 0) close(file_fd);
    return 1;
  }
  int code = 0;
  {
    PlainServer server(options, file_fd);
    s = server.Start();
    if (!s.ok()) {
      LOG(ERROR) << "plain server: " << s;
      code = 1;
    } else {
      LOG(INFO) << "plain server on " << options.address << ":" << options.port << ", "
                << options.file_size << " B file in " << options.directory
                << (options.sync_writes ? ", writes synced" : "");
      const timespec wait = absl::ToTimespec(lifetime);
      const int sig = sigtimedwait(&signals, nullptr, &wait);
      LOG(INFO) << "plain server stopping (" << (sig > 0 ? strsignal(sig) : "lifetime over") << ")";
    }
    server.Stop();
  }
  close(file_fd);
  return code;
}

}  // namespace bench
}  // namespace vifiler
