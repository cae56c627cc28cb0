// Copyright 2026 The vifiler Authors.

#include "tools/bench/failover_writer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "protocol/types.h"

namespace vifiler {
namespace bench {

std::string RecordContent(uint64_t offset) {
  std::string out(kRecordSize, '\0');
  for (size_t word = 0; word < kRecordSize / 8; ++word) {
    const uint64_t v = (offset + word) * 0x9E3779B97F4A7C15ull ^ offset;
    for (int b = 0; b < 8; ++b) out[word * 8 + b] = static_cast<char>(v >> (8 * b));
  }
  return out;
}

FailoverWriter::FailoverWriter(client::Client* client, client::File file, std::string create_prefix,
                               absl::Duration interval)
    : client_(client), file_(file), create_prefix_(std::move(create_prefix)), interval_(interval) {}

FailoverWriter::~FailoverWriter() { Stop(); }

void FailoverWriter::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void FailoverWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

FailoverWriter::Outcome FailoverWriter::outcome() const {
  absl::MutexLock lock(&mu_);
  return outcome_;
}

void FailoverWriter::Loop() {
  uint64_t record = 0;
  for (uint64_t op = 0;; ++op) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    const bool create = op % 8 == 7;
    std::string path;
    absl::Status status;
    uint64_t this_record = 0;
    if (create) {
      path = absl::StrCat(create_prefix_, op);
      status = client_->Create(path, 0644, /*exclusive=*/true).status();
    } else {
      this_record = record++;
      status =
          file_.Write(this_record * kRecordSize, RecordContent(this_record * kRecordSize)).status();
    }
    const absl::Time done = absl::Now();
    const bool on_partner = client_->stats().on_partner;
    {
      absl::MutexLock lock(&mu_);
      completions_.push_back({done, on_partner});
      if (status.ok()) {
        if (create) {
          outcome_.acked_creates.push_back(path);
        } else {
          outcome_.acked_records.push_back(this_record);
        }
      } else if (create && client::ErrorCodeOf(status) == protocol::ErrorCode::kExists) {
        ++outcome_.executed_twice;
      } else {
        if (outcome_.errors++ == 0) outcome_.first_error = status.ToString();
      }
    }
    if (interval_ > absl::ZeroDuration()) absl::SleepFor(interval_);
  }
}

size_t FailoverWriter::CountAfter(absl::Time after, bool only_partner) const {
  auto first = std::upper_bound(completions_.begin(), completions_.end(), after,
                                [](absl::Time t, const Completion& c) { return t < c.time; });
  if (!only_partner) return static_cast<size_t>(completions_.end() - first);
  return static_cast<size_t>(
      std::count_if(first, completions_.end(), [](const Completion& c) { return c.on_partner; }));
}

absl::StatusOr<absl::Time> FailoverWriter::WaitForCompletionAfter(absl::Time after, bool on_partner,
                                                                  absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this, after, on_partner]()
                   ABSL_SHARED_LOCKS_REQUIRED(mu_) { return CountAfter(after, on_partner) > 0; };
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    return absl::DeadlineExceededError("no request completed on the partner in time");
  }
  auto it = std::upper_bound(completions_.begin(), completions_.end(), after,
                             [](absl::Time t, const Completion& c) { return t < c.time; });
  while (on_partner && !it->on_partner) ++it;
  return it->time;
}

absl::Status FailoverWriter::WaitForCompletions(absl::Time after, uint64_t count,
                                                absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this, after, count]()
                   ABSL_SHARED_LOCKS_REQUIRED(mu_) { return CountAfter(after, false) >= count; };
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("fewer than ", count, " requests completed in time"));
  }
  return absl::OkStatus();
}

absl::Duration FailoverWriter::LongestGap(absl::Time from, absl::Time to) const {
  absl::MutexLock lock(&mu_);
  absl::Time previous = from;
  absl::Duration longest = absl::ZeroDuration();
  for (const Completion& c : completions_) {
    if (c.time <= from) continue;
    if (c.time > to) break;
    longest = std::max(longest, c.time - previous);
    previous = c.time;
  }
  return std::max(longest, to - previous);
}

}  // namespace bench
}  // namespace vifiler
