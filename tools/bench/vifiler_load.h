// Copyright 2026 The vifiler Authors.
//
// VifilerLoad: the vifiler side of the performance comparison, through the client library.
//
// Contract:
//  - Prepare() creates two scratch files in the root of the filer's volume
//    ("/vifiler-bench-<pid>-read", filled with file_size bytes, and "...-write") and Cleanup()
//    removes them.
//  - Each measurement runs `threads` threads sharing the one Client (so the session's slots
//    carry up to that many requests at once), each issuing one synchronous call after another,
//    for warmup + duration; only calls completing inside the measured window count. The
//    window's length is the elapsed time. The first error ends the run and is returned.
//  - Reads/writes of a given size go at successive offsets, wrapping at file_size (RandomReads:
//    at random offsets aligned to the size); they are inline or direct as the client library
//    decides from the size.
// The Client must outlive the VifilerLoad. Measurements are called from one thread.

#ifndef VIFILER_TOOLS_BENCH_VIFILER_LOAD_H_
#define VIFILER_TOOLS_BENCH_VIFILER_LOAD_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clientlib/client.h"
#include "tools/bench/raw_client.h"

namespace vifiler {
namespace bench {

struct VifilerLoadOptions {
  size_t file_size = 64 << 20;
  // Size of the chunks Prepare() writes the scratch file with.
  size_t bulk_size = 1 << 20;
  absl::Duration warmup = absl::Milliseconds(200);
  absl::Duration duration = absl::Seconds(2);
};

class VifilerLoad {
 public:
  VifilerLoad(client::Client* client, VifilerLoadOptions options);

  absl::Status Prepare();
  void Cleanup();

  // Reads (writes) of size bytes at successive offsets of the scratch file, from threads
  // threads sharing the client (threads = requests outstanding).
  absl::StatusOr<RunResult> Reads(size_t size, int threads);
  absl::StatusOr<RunResult> Writes(size_t size, int threads);
  absl::StatusOr<RunResult> RandomReads(size_t size, int threads);

 private:
  // op(buffer) performs one call with the calling thread's own buffer of buffer_size bytes.
  using Operation = std::function<absl::Status(char* buffer)>;
  absl::StatusOr<RunResult> Run(int threads, size_t buffer_size, uint64_t bytes_per_op,
                                const Operation& op);

  client::Client* const client_;
  const VifilerLoadOptions options_;
  std::string read_path_;
  std::string write_path_;
  client::File read_file_;
  client::File write_file_;
};

// Runs op from `threads` threads for warmup + duration (see the VifilerLoad contract).
absl::StatusOr<RunResult> RunThreads(int threads, absl::Duration warmup, absl::Duration duration,
                                     uint64_t bytes_per_op,
                                     const std::function<absl::Status(int thread)>& op);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_VIFILER_LOAD_H_
