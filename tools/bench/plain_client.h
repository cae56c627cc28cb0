// Copyright 2026 The vifiler Authors.
//
// PlainClient: the measuring end of the plain-socket baseline (plain_protocol.h, against a
// PlainServer). One blocking TCP socket with TCP_NODELAY; `outstanding` requests are pipelined
// from the calling thread (all sent, then each reply read is followed by the next request), so
// the server sees the same number of requests in flight as the filer does from vifiler's
// threads. Offsets go through the file in order, wrapping at its end, or at random (aligned to
// the size).
//
// Not thread-safe: one measuring thread. Every socket call is bounded by kRawIoTimeout.

#ifndef VIFILER_TOOLS_BENCH_PLAIN_CLIENT_H_
#define VIFILER_TOOLS_BENCH_PLAIN_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/bench/plain_protocol.h"
#include "tools/bench/raw_client.h"

namespace vifiler {
namespace bench {

enum class OffsetOrder { kSequential, kRandom };

class PlainClient {
 public:
  // Connects, retrying refused attempts (the server may still be filling its file) until
  // deadline.
  static absl::StatusOr<std::unique_ptr<PlainClient>> Connect(const std::string& address,
                                                              uint16_t port, absl::Time deadline);
  ~PlainClient();
  PlainClient(const PlainClient&) = delete;
  PlainClient& operator=(const PlainClient&) = delete;

  // Reads or writes of size bytes of a file_size-byte file, `outstanding` in flight, for
  // duration after warmup. latency holds each request's time (meaningful with outstanding 1).
  // A reply with an error status or a short count fails the run.
  absl::StatusOr<RunResult> Run(PlainOp op, size_t size, int outstanding, OffsetOrder order,
                                uint64_t file_size, absl::Duration warmup, absl::Duration duration);

 private:
  explicit PlainClient(int fd) : fd_(fd) {}

  const int fd_;
  uint64_t next_tag_ = 1;
};

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_PLAIN_CLIENT_H_
