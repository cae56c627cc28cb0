// Copyright 2026 The vifiler Authors.

#include "cluster/lease_mailbox.h"

#include <time.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/record_block.h"

namespace vifiler {
namespace cluster {
namespace {

constexpr uint8_t kPayloadVersion = 1;
constexpr size_t kFixedSize = 48;

void Put(std::string* out, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*out)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t Get(absl::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in[at + i])} << (8 * i);
  return v;
}

}  // namespace

absl::Duration LeaseClockNow() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::Seconds(ts.tv_sec) + absl::Nanoseconds(ts.tv_nsec);
}

bool SameBeat(const MailboxEntry& a, const MailboxEntry& b) {
  return a.writer == b.writer && a.incarnation == b.incarnation && a.epoch == b.epoch &&
         a.counter == b.counter;
}

std::string DescribeEntry(const MailboxEntry& entry) {
  return absl::StrCat(entry.writer, " epoch ", entry.epoch, " counter ", entry.counter,
                      " (incarnation ", entry.incarnation, ", lease ",
                      absl::FormatDuration(entry.lease_duration),
                      entry.released ? ", released" : "", ")");
}

std::string EncodeMailboxPayload(const MailboxEntry& entry) {
  const size_t n = std::min(entry.writer.size(), kMaxFilerName);
  std::string out(kFixedSize + n, '\0');
  Put(&out, 0, kPayloadVersion, 1);
  Put(&out, 1, entry.released ? 1 : 0, 1);  // flags
  Put(&out, 2, n, 2);
  Put(&out, 8, entry.epoch, 8);
  Put(&out, 16, entry.counter, 8);
  Put(&out, 24, entry.incarnation, 8);
  Put(&out, 32, static_cast<uint64_t>(absl::ToInt64Nanoseconds(entry.lease_duration)), 8);
  Put(&out, 40, static_cast<uint64_t>(entry.unix_time_ns), 8);
  out.replace(kFixedSize, n, entry.writer, 0, n);
  return out;
}

std::optional<MailboxEntry> DecodeMailboxPayload(absl::string_view payload) {
  if (payload.size() < kFixedSize || Get(payload, 0, 1) != kPayloadVersion) return std::nullopt;
  const size_t n = Get(payload, 2, 2);
  const uint64_t flags = Get(payload, 1, 1);
  if (payload.size() != kFixedSize + n || (flags & ~uint64_t{1}) != 0 || Get(payload, 4, 4) != 0) {
    return std::nullopt;
  }
  const int64_t lease_ns = static_cast<int64_t>(Get(payload, 32, 8));
  if (lease_ns <= 0) return std::nullopt;
  MailboxEntry entry;
  entry.writer = std::string(payload.substr(kFixedSize, n));
  if (!ValidFilerName(entry.writer)) return std::nullopt;
  entry.epoch = Get(payload, 8, 8);
  entry.counter = Get(payload, 16, 8);
  entry.incarnation = Get(payload, 24, 8);
  entry.lease_duration = absl::Nanoseconds(lease_ns);
  entry.unix_time_ns = static_cast<int64_t>(Get(payload, 40, 8));
  entry.released = (flags & 1) != 0;
  return entry;
}

std::string EncodeMailboxBlock(const MailboxEntry& entry) {
  storage::RecordBlock block;
  block.kind = storage::RecordKind::kMailbox;
  block.epoch = entry.epoch;
  block.sequence = entry.counter;
  block.payload = EncodeMailboxPayload(entry);
  return storage::EncodeRecordBlock(block);
}

MailboxRead DecodeMailboxBlock(absl::string_view block) {
  MailboxRead read;
  if (block.size() >= storage::kBlockSize && IsBlankBlock(block.substr(0, storage::kBlockSize))) {
    read.state = BlockState::kBlank;
    return read;
  }
  read.state = BlockState::kDamaged;
  std::optional<storage::RecordBlock> framed = storage::DecodeRecordBlock(block);
  if (!framed.has_value() || framed->kind != storage::RecordKind::kMailbox) return read;
  std::optional<MailboxEntry> entry = DecodeMailboxPayload(framed->payload);
  if (!entry.has_value() || entry->epoch != framed->epoch || entry->counter != framed->sequence) {
    return read;
  }
  read.state = BlockState::kValid;
  read.entry = std::move(*entry);
  return read;
}

absl::StatusOr<MailboxRead> MailboxStore::Read() const {
  std::string block(storage::kBlockSize, '\0');
  absl::Status s = file_->Read(0, absl::MakeSpan(block));
  if (!s.ok()) return s;
  return DecodeMailboxBlock(block);
}

absl::Status MailboxStore::Write(const MailboxEntry& entry) const {
  if (!ValidFilerName(entry.writer)) {
    return absl::InvalidArgumentError(absl::StrCat("bad mailbox writer \"", entry.writer, "\""));
  }
  if (entry.lease_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("mailbox lease duration must be positive");
  }
  return file_->Write(0, EncodeMailboxBlock(entry));
}

MailboxObservation MailboxObserver::Observe() {
  absl::StatusOr<MailboxRead> read = store_.Read();
  const absl::Duration done = LeaseClockNow();
  absl::MutexLock lock(&mu_);
  MailboxObservation& o = observation_;
  if (o.reads == 0) o.first_seen = done;
  ++o.reads;
  o.last_read = done;
  o.last_state = read.ok() ? read->state : BlockState::kDamaged;
  if (read.ok() && read->state == BlockState::kValid &&
      (!o.seen || !SameBeat(read->entry, o.entry))) {
    o.seen = true;
    o.entry = read->entry;
    o.first_seen = done;
  }
  return o;
}

MailboxObservation MailboxObserver::last() const {
  absl::MutexLock lock(&mu_);
  return observation_;
}

}  // namespace cluster
}  // namespace vifiler
