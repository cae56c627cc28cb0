// Copyright 2026 The vifiler Authors.
//
// RawClient: the measuring end of the raw fabric baseline. Talks to a RawServer over one bare
// transport::Connection and measures what vifiler's figures are compared with:
//  - round trips of given request and reply sizes, one at a time (latency) or with several in
//    flight (rate);
//  - bulk transfers: the server moves `size` bytes into (read) or out of (write) a buffer this
//    side registered, with `outstanding` requests in flight, each with its own buffer.
// Requests in flight are pipelined from the calling thread; replies are matched by tag.
// Buffers are registered once, before the clock starts.
//
// Not thread-safe: one measuring thread. Every call is bounded by its duration plus
// kRawIoTimeout for a reply that does not come.

#ifndef VIFILER_TOOLS_BENCH_RAW_CLIENT_H_
#define VIFILER_TOOLS_BENCH_RAW_CLIENT_H_

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/bench/latency_samples.h"
#include "tools/bench/raw_protocol.h"
#include "transport/fabric.h"

namespace vifiler {
namespace bench {

inline constexpr absl::Duration kRawIoTimeout = absl::Seconds(10);

// What one timed run did.
struct RunResult {
  uint64_t operations = 0;
  uint64_t bytes = 0;  // payload bytes moved (bulk runs)
  absl::Duration elapsed;
  LatencySamples latency;  // per operation
  double OpsPerSecond() const;
  double MiBPerSecond() const;
};

class RawClient {
 public:
  // Connects, retrying refused attempts (the server may still be starting) until deadline.
  static absl::StatusOr<std::unique_ptr<RawClient>> Connect(transport::Fabric* fabric,
                                                            const transport::Endpoint& endpoint,
                                                            absl::Time deadline);

  // Round trips of request_size / reply_size bytes with `outstanding` in flight, for duration
  // after warmup. latency holds each round trip (meaningful with outstanding == 1).
  absl::StatusOr<RunResult> RoundTrips(size_t request_size, size_t reply_size, int outstanding,
                                       absl::Duration warmup, absl::Duration duration);

  // Bulk transfers of size bytes each (kBulkRead or kBulkWrite).
  absl::StatusOr<RunResult> Bulk(RawOp op, size_t size, int outstanding, absl::Duration warmup,
                                 absl::Duration duration);

 private:
  explicit RawClient(std::unique_ptr<transport::Connection> connection)
      : connection_(std::move(connection)) {}

  // Keeps `outstanding` requests built by make(tag) in flight until the end of the run.
  template <typename MakeRequest>
  absl::StatusOr<RunResult> Pipeline(const MakeRequest& make, int outstanding,
                                     uint64_t bytes_per_op, absl::Duration warmup,
                                     absl::Duration duration);

  std::unique_ptr<transport::Connection> connection_;
  uint64_t next_tag_ = 1;
};

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_RAW_CLIENT_H_
