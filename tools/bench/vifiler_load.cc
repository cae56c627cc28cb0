// Copyright 2026 The vifiler Authors.

#include "tools/bench/vifiler_load.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace vifiler {
namespace bench {

absl::StatusOr<RunResult> RunThreads(int threads, absl::Duration warmup, absl::Duration duration,
                                     uint64_t bytes_per_op,
                                     const std::function<absl::Status(int thread)>& op) {
  const absl::Time measure_from = absl::Now() + warmup;
  const absl::Time end = measure_from + duration;
  std::vector<RunResult> results(static_cast<size_t>(threads));
  std::vector<absl::Status> errors(static_cast<size_t>(threads));
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      RunResult& mine = results[static_cast<size_t>(t)];
      for (;;) {
        const absl::Time start = absl::Now();
        if (start >= end || failed.load()) return;
        absl::Status s = op(t);
        const absl::Time done = absl::Now();
        if (!s.ok()) {
          errors[static_cast<size_t>(t)] = s;
          failed = true;
          return;
        }
        if (done >= measure_from && done <= end) {
          ++mine.operations;
          mine.bytes += bytes_per_op;
          mine.latency.Add(done - start);
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  RunResult total;
  for (size_t t = 0; t < results.size(); ++t) {
    if (!errors[t].ok()) return errors[t];
    total.operations += results[t].operations;
    total.bytes += results[t].bytes;
    total.latency.Merge(results[t].latency);
  }
  total.elapsed = duration;
  return total;
}

VifilerLoad::VifilerLoad(client::Client* client, VifilerLoadOptions options)
    : client_(client), options_(std::move(options)) {
  const std::string base = absl::StrCat("/vifiler-bench-", getpid());
  read_path_ = base + "-read";
  write_path_ = base + "-write";
}

absl::Status VifilerLoad::Prepare() {
  absl::StatusOr<client::File> r = client_->Create(read_path_);
  if (!r.ok()) return r.status();
  read_file_ = *r;
  absl::StatusOr<client::File> w = client_->Create(write_path_);
  if (!w.ok()) return w.status();
  write_file_ = *w;
  std::string chunk(options_.bulk_size, '\0');
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + i % 26);
  for (size_t offset = 0; offset < options_.file_size; offset += chunk.size()) {
    absl::StatusOr<size_t> n = read_file_.Write(offset, chunk);
    if (!n.ok()) return n.status();
  }
  return absl::OkStatus();
}

void VifilerLoad::Cleanup() {
  client_->Remove(read_path_).IgnoreError();
  client_->Remove(write_path_).IgnoreError();
}

absl::StatusOr<RunResult> VifilerLoad::Run(int threads, size_t buffer_size, uint64_t bytes_per_op,
                                           const Operation& op) {
  std::vector<std::unique_ptr<char[]>> buffers;
  for (int t = 0; t < threads; ++t) {
    buffers.emplace_back(new char[buffer_size]);
    memset(buffers.back().get(), 'v', buffer_size);
  }
  return RunThreads(threads, options_.warmup, options_.duration, bytes_per_op,
                    [&](int t) { return op(buffers[static_cast<size_t>(t)].get()); });
}

namespace {

// Successive offsets of `size`-byte blocks, wrapping at file_size; shared by a run's threads.
class OffsetSequence {
 public:
  OffsetSequence(size_t size, size_t file_size) : size_(size), blocks_(file_size / size) {}
  uint64_t Next() { return (next_.fetch_add(1) % blocks_) * size_; }

 private:
  const size_t size_;
  const size_t blocks_;
  std::atomic<uint64_t> next_{0};
};

absl::Status CheckCount(const absl::StatusOr<size_t>& n, size_t want) {
  if (!n.ok()) return n.status();
  if (*n != want) return absl::InternalError(absl::StrCat("short transfer: ", *n, " of ", want));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunResult> VifilerLoad::Reads(size_t size, int threads) {
  OffsetSequence offsets(size, options_.file_size);
  return Run(threads, size, size, [&](char* buffer) {
    return CheckCount(read_file_.Read(offsets.Next(), absl::MakeSpan(buffer, size)), size);
  });
}

absl::StatusOr<RunResult> VifilerLoad::RandomReads(size_t size, int threads) {
  const uint64_t blocks = options_.file_size / size;
  return Run(threads, size, size, [&](char* buffer) {
    thread_local absl::InsecureBitGen random;
    const uint64_t offset = absl::Uniform<uint64_t>(random, 0, blocks) * size;
    return CheckCount(read_file_.Read(offset, absl::MakeSpan(buffer, size)), size);
  });
}

absl::StatusOr<RunResult> VifilerLoad::Writes(size_t size, int threads) {
  OffsetSequence offsets(size, options_.file_size);
  return Run(threads, size, size, [&](char* buffer) {
    return CheckCount(write_file_.Write(offsets.Next(), absl::string_view(buffer, size)), size);
  });
}

}  // namespace bench
}  // namespace vifiler
