// Copyright 2026 The vifiler Authors.

#include "cluster/mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace vifiler {
namespace cluster {
namespace {

absl::Duration MonotonicNow() {
  return absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

uint64_t Fnv1a64(absl::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxMailboxName) return false;
  for (char c : name) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '\0') return false;
  }
  return true;
}

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int err = errno;
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

// Reads up to kMailboxRecordSize bytes at offset 0; empty on error.
std::string ReadRecordBytes(int fd) {
  std::string data(kMailboxRecordSize, '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::pread(fd, &data[got], data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

}  // namespace

std::string EncodeMailboxRecord(const MailboxRecord& record) {
  const std::string body = absl::StrCat(record.name, " ", record.counter, " ", record.unix_time_ns);
  std::string out = absl::StrFormat("%s %016x", body, Fnv1a64(body));
  out.resize(kMailboxRecordSize - 1, ' ');
  out.push_back('\n');
  return out;
}

std::optional<MailboxRecord> DecodeMailboxRecord(absl::string_view data) {
  if (data.size() < kMailboxRecordSize || data[kMailboxRecordSize - 1] != '\n') {
    return std::nullopt;
  }
  data = absl::StripTrailingAsciiWhitespace(data.substr(0, kMailboxRecordSize));
  const size_t last_space = data.rfind(' ');
  if (last_space == absl::string_view::npos) return std::nullopt;
  const absl::string_view body = data.substr(0, last_space);
  const absl::string_view checksum = data.substr(last_space + 1);
  if (checksum.size() != 16 || absl::StrFormat("%016x", Fnv1a64(body)) != checksum) {
    return std::nullopt;
  }
  std::vector<absl::string_view> fields = absl::StrSplit(body, ' ');
  MailboxRecord record;
  if (fields.size() != 3 || !ValidName(fields[0]) ||
      !absl::SimpleAtoi(fields[1], &record.counter) ||
      !absl::SimpleAtoi(fields[2], &record.unix_time_ns)) {
    return std::nullopt;
  }
  record.name = std::string(fields[0]);
  return record;
}

// ---- MailboxWriter ----

MailboxWriter::MailboxWriter(std::string path, std::string name, absl::Duration interval)
    : path_(std::move(path)), name_(std::move(name)), interval_(interval) {}

MailboxWriter::~MailboxWriter() { Stop(); }

absl::Status MailboxWriter::Start() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("mailbox writer already started");
  }
  if (!ValidName(name_)) {
    return absl::InvalidArgumentError(absl::StrCat("bad mailbox writer name \"", name_, "\""));
  }
  if (interval_ <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("mailbox interval must be positive");
  }
  {
    absl::MutexLock write_lock(&write_mu_);
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("cannot open mailbox", path_);
    fd_ = fd;
    if (std::optional<MailboxRecord> old = DecodeMailboxRecord(ReadRecordBytes(fd_))) {
      next_counter_ = old->counter + 1;
    }
    if (absl::Status status = WriteNext(); !status.ok()) {
      ::close(fd_);
      fd_ = -1;
      return status;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  thread_ = std::thread(&MailboxWriter::Run, this);
  return absl::OkStatus();
}

void MailboxWriter::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock write_lock(&write_mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

uint64_t MailboxWriter::counter() const {
  absl::MutexLock lock(&mu_);
  return counter_;
}

void MailboxWriter::Run() {
  absl::Time next = absl::Now() + interval_;
  bool failing = false;
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithDeadline(absl::Condition(&stopping), next)) return;
    }
    next = absl::Now() + interval_;
    absl::MutexLock write_lock(&write_mu_);
    absl::Status status = WriteNext();
    if (!status.ok() && !failing) LOG(WARNING) << "mailbox writer: " << status;
    if (status.ok() && failing) LOG(INFO) << "mailbox writer: writing " << path_ << " again";
    failing = !status.ok();
  }
}

absl::Status MailboxWriter::WriteNext() {
  MailboxRecord record;
  record.name = name_;
  record.counter = next_counter_;
  record.unix_time_ns = absl::ToUnixNanos(absl::Now());
  const std::string data = EncodeMailboxRecord(record);
  const ssize_t n = ::pwrite(fd_, data.data(), data.size(), 0);
  if (n < 0) return ErrnoStatus("cannot write mailbox", path_);
  if (static_cast<size_t>(n) != data.size()) {
    return absl::UnavailableError(absl::StrCat("short write to mailbox ", path_));
  }
  // No fdatasync: the record is a liveness signal, visible to the partner as soon as it is in
  // the (shared) page cache. Syncing it made it stall behind heavy data writeback, long enough
  // to look stale and trigger a false takeover.
  ++next_counter_;
  absl::MutexLock lock(&mu_);
  counter_ = record.counter;
  return absl::OkStatus();
}

// ---- MailboxReader ----

MailboxReader::MailboxReader(std::string path) : path_(std::move(path)) {}

absl::Duration MailboxReader::Observe() {
  const absl::Duration now = MonotonicNow();
  if (!observed_) {
    observed_ = true;
    since_ = now;
  }
  std::optional<MailboxRecord> record;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    record = DecodeMailboxRecord(ReadRecordBytes(fd));
    ::close(fd);
  }
  if (record.has_value() && (!seen_any_ || record->counter != last_counter_)) {
    seen_any_ = true;
    last_counter_ = record->counter;
    since_ = now;
  }
  return now - since_;
}

}  // namespace cluster
}  // namespace vifiler
