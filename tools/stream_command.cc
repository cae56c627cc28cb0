// Copyright 2026 The vifiler Authors.

#include "tools/stream_command.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tools/status_text.h"

namespace vifiler {
namespace tools {
namespace {

std::atomic<bool> interrupted{false};

void OnInterrupt(int) { interrupted = true; }

void FillRecord(uint64_t index, std::string* out) {
  uint64_t x = index * 0x9E3779B97F4A7C15ull + 0x1234567;
  for (size_t i = 0; i + 8 <= out->size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    for (int b = 0; b < 8; ++b) (*out)[i + b] = static_cast<char>((x >> (8 * b)) & 0xff);
  }
}

}  // namespace

int RunStream(client::Client* client, const std::string& path, double seconds, size_t record_size) {
  signal(SIGINT, OnInterrupt);
  signal(SIGTERM, OnInterrupt);
  absl::StatusOr<client::File> file = client->Create(path);
  if (!file.ok()) {
    fprintf(stderr, "vifiler: %s\n", StatusText(file.status()).c_str());
    return 1;
  }
  std::string out(record_size, '\0'), in(record_size, '\0');
  const absl::Time start = absl::Now();
  const absl::Time end = seconds > 0 ? start + absl::Seconds(seconds) : absl::InfiniteFuture();
  absl::Time last_done = start, next_report = start + absl::Seconds(1);
  absl::Duration longest_stall;
  uint64_t records = 0;
  while (!interrupted && absl::Now() < end) {
    FillRecord(records, &out);
    const uint64_t offset = records * record_size;
    absl::StatusOr<size_t> w = file->Write(offset, out);
    absl::StatusOr<size_t> r = w.ok() ? file->Read(offset, absl::MakeSpan(in)) : w;
    if (!r.ok()) {
      fprintf(stderr, "vifiler: record %llu: %s\n", static_cast<unsigned long long>(records),
              StatusText(r.status()).c_str());
      return 1;
    }
    if (*r != record_size || in != out) {
      fprintf(stderr, "vifiler: record %llu read back wrong\n",
              static_cast<unsigned long long>(records));
      return 1;
    }
    ++records;
    const absl::Time now = absl::Now();
    longest_stall = std::max(longest_stall, now - last_done);
    last_done = now;
    if (now >= next_report) {
      client::ClientStats s = client->stats();
      printf("stream: %5.1fs %8llu records (%6.1f MiB) served by %s%s, longest stall %s\n",
             absl::ToDoubleSeconds(now - start), static_cast<unsigned long long>(records),
             records * record_size / 1048576.0, s.serving_filer.c_str(),
             s.on_partner ? " (partner, secondary port)" : "",
             absl::FormatDuration(absl::Trunc(longest_stall, absl::Milliseconds(1))).c_str());
      fflush(stdout);
      next_report = now + absl::Seconds(1);
    }
  }
  // Verify every record from the start, wherever the volume is served now.
  for (uint64_t i = 0; i < records; ++i) {
    FillRecord(i, &out);
    absl::StatusOr<size_t> r = file->Read(i * record_size, absl::MakeSpan(in));
    if (!r.ok() || *r != record_size || in != out) {
      fprintf(stderr, "vifiler: verification failed at record %llu%s\n",
              static_cast<unsigned long long>(i),
              r.ok() ? "" : (": " + StatusText(r.status())).c_str());
      return 1;
    }
  }
  client::ClientStats s = client->stats();
  printf("stream: verified %llu records (%.1f MiB), every byte matches\n",
         static_cast<unsigned long long>(records), records * record_size / 1048576.0);
  printf("stream: failovers=%llu failbacks=%llu replays=%llu longest_stall=%s last_failover=%s\n",
         static_cast<unsigned long long>(s.failovers), static_cast<unsigned long long>(s.failbacks),
         static_cast<unsigned long long>(s.replays),
         absl::FormatDuration(absl::Trunc(longest_stall, absl::Milliseconds(1))).c_str(),
         absl::FormatDuration(absl::Trunc(s.last_failover_time, absl::Milliseconds(1))).c_str());
  return 0;
}

}  // namespace tools
}  // namespace vifiler
