// Copyright 2026 The vifiler Authors.
//
// PlainServer: the far end of the plain-socket baseline (plain_protocol.h), a minimal file
// server. Run by vifiler-bench in a child process of its own (--serve_plain), so the baseline is
// process to process like vifiler itself.
//
// Contract:
//  - It serves one real file: RunPlainServer creates it in a directory (unlinked at once, so
//    nothing is left behind however the process ends), fills it with file_size bytes (synced every
//    16 MiB, so a filer on the same disk keeps renewing its lease), and only then listens, so a
//    client that connects measures a ready file.
//  - Start() listens (blocking socket, TCP_NODELAY on every connection); each accepted
//    connection is served by its own thread, one request at a time: read the request, pread or
//    pwrite the file (then fdatasync when sync_writes, as vifiler acknowledges only durable
//    writes), write the reply. One buffer per connection, grown to the largest request
//    (at most kMaxPlainLength). A request outside the file gets EINVAL; a malformed one closes
//    its connection.
//  - Every blocking socket call is bounded by the socket timeouts; Stop() shuts the listener
//    and every connection down, which wakes the threads, and joins them.
// Start() and Stop() are called by the owning thread; Stop() is idempotent.

#ifndef VIFILER_TOOLS_BENCH_PLAIN_SERVER_H_
#define VIFILER_TOOLS_BENCH_PLAIN_SERVER_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vifiler {
namespace bench {

struct PlainServerOptions {
  std::string address;  // IPv4 address to listen on
  uint16_t port = 0;
  std::string directory;  // where the served file is created
  uint64_t file_size = 0;
  bool sync_writes = true;
};

class PlainServer {
 public:
  // file_fd: open read-write, file_size bytes; owned by the caller and kept open until Stop().
  PlainServer(PlainServerOptions options, int file_fd);
  ~PlainServer();
  PlainServer(const PlainServer&) = delete;
  PlainServer& operator=(const PlainServer&) = delete;

  absl::Status Start();
  void Stop();

 private:
  void AcceptLoop();
  void Serve(int fd);

  const PlainServerOptions options_;
  const int file_fd_;
  int listen_fd_ = -1;
  std::thread acceptor_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> connections_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> servers_ ABSL_GUARDED_BY(mu_);
};

// The body of the --serve_plain child: creates and fills the file, serves it until SIGTERM or
// SIGINT (or `lifetime`), stops and returns the exit code (0 after a clean stop).
int RunPlainServer(const PlainServerOptions& options, absl::Duration lifetime);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_PLAIN_SERVER_H_
