// Copyright 2026 The vifiler Authors.
//
// RawServer: the far end of the raw fabric baseline (see raw_protocol.h). Run by vifiler-bench
// in a child process of its own (--serve_raw), so the baseline is process to process like
// vifiler itself.
//
// Contract:
//  - Start() listens on the endpoint; each accepted connection is served by its own thread,
//    one request at a time (receive, transfer, reply), as a filer's data access port serves
//    its connections.
//  - Each connection has one registered staging buffer (grown to the largest bulk request, at
//    most kMaxRawBulkSize) for the one-sided transfers. A malformed request or a failed
//    transfer closes that connection only.
//  - Every blocking call is bounded by the server's lifetime deadline; Stop() closes the
//    listener and every connection, which wakes the threads, and joins them.
// Start() and Stop() are called by the owning thread; Stop() is idempotent.

#ifndef VIFILER_TOOLS_BENCH_RAW_SERVER_H_
#define VIFILER_TOOLS_BENCH_RAW_SERVER_H_

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "transport/fabric.h"

namespace vifiler {
namespace bench {

inline constexpr size_t kMaxRawBulkSize = 64 << 20;

class RawServer {
 public:
  // fabric must outlive the server. Nothing blocks past lifetime_deadline.
  RawServer(transport::Fabric* fabric, transport::Endpoint endpoint, absl::Time lifetime_deadline);
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  ~RawServer();

  absl::Status Start();
  void Stop();

 private:
  void AcceptLoop();
  void Serve(transport::Connection* connection);

  transport::Fabric* const fabric_;
  const transport::Endpoint endpoint_;
  const absl::Time lifetime_deadline_;
  std::unique_ptr<transport::Listener> listener_;
  std::thread acceptor_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<transport::Connection>> connections_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> servers_ ABSL_GUARDED_BY(mu_);
};

// The body of `vifiler-bench --serve_raw`: serves on endpoint until SIGTERM/SIGINT or until
// lifetime has passed. Returns the process exit code.
int RunRawServer(const std::string& fabric, const transport::Endpoint& endpoint,
                 absl::Duration lifetime);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_RAW_SERVER_H_
