// Copyright 2026 The vifiler Authors.

#include "cluster/ownership_record.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/record_block.h"

namespace vifiler {
namespace cluster {
namespace {

constexpr uint8_t kPayloadVersion = 1;
constexpr size_t kFixedSize = 32;

void Put(std::string* out, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*out)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t Get(absl::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in[at + i])} << (8 * i);
  return v;
}

bool ValidState(uint64_t state) {
  return state == static_cast<uint8_t>(OwnershipState::kClaimed) ||
         state == static_cast<uint8_t>(OwnershipState::kReleased);
}

}  // namespace

bool ValidFilerName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxFilerName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

const char* BlockStateName(BlockState state) {
  switch (state) {
    case BlockState::kBlank:
      return "blank";
    case BlockState::kValid:
      return "valid";
    case BlockState::kDamaged:
      return "damaged";
  }
  return "unknown";
}

bool IsBlankBlock(absl::string_view block) {
  return std::all_of(block.begin(), block.end(), [](char c) { return c == '\0'; });
}

const char* OwnershipStateName(OwnershipState state) {
  switch (state) {
    case OwnershipState::kClaimed:
      return "claimed";
    case OwnershipState::kReleased:
      return "released";
  }
  return "unknown";
}

bool SameHolder(const OwnerRecord& a, const OwnerRecord& b) {
  return a.owner == b.owner && a.epoch == b.epoch && a.incarnation == b.incarnation;
}

std::string DescribeOwner(const OwnerRecord& record) {
  return absl::StrCat(record.owner, " at epoch ", record.epoch, " (",
                      OwnershipStateName(record.state), ", incarnation ", record.incarnation, ")");
}

std::string DescribeOwnerRead(const OwnerRead& read) {
  if (read.state == BlockState::kValid) return DescribeOwner(read.record);
  return absl::StrCat("a ", BlockStateName(read.state), " ownership record");
}

std::string EncodeOwnerPayload(const OwnerRecord& record) {
  const size_t n = std::min(record.owner.size(), kMaxFilerName);
  std::string out(kFixedSize + n, '\0');
  Put(&out, 0, kPayloadVersion, 1);
  Put(&out, 1, static_cast<uint8_t>(record.state), 1);
  Put(&out, 2, n, 2);
  Put(&out, 8, record.epoch, 8);
  Put(&out, 16, record.incarnation, 8);
  Put(&out, 24, static_cast<uint64_t>(record.unix_time_ns), 8);
  out.replace(kFixedSize, n, record.owner, 0, n);
  return out;
}

std::optional<OwnerRecord> DecodeOwnerPayload(absl::string_view payload) {
  if (payload.size() < kFixedSize || Get(payload, 0, 1) != kPayloadVersion) return std::nullopt;
  const size_t n = Get(payload, 2, 2);
  if (payload.size() != kFixedSize + n || Get(payload, 4, 4) != 0) return std::nullopt;
  if (!ValidState(Get(payload, 1, 1))) return std::nullopt;
  OwnerRecord record;
  record.owner = std::string(payload.substr(kFixedSize, n));
  if (!ValidFilerName(record.owner)) return std::nullopt;
  record.state = static_cast<OwnershipState>(Get(payload, 1, 1));
  record.epoch = Get(payload, 8, 8);
  record.incarnation = Get(payload, 16, 8);
  record.unix_time_ns = static_cast<int64_t>(Get(payload, 24, 8));
  return record;
}

std::string EncodeOwnerBlock(const OwnerRecord& record) {
  storage::RecordBlock block;
  block.kind = storage::RecordKind::kOwnership;
  block.epoch = record.epoch;
  block.sequence = 0;
  block.payload = EncodeOwnerPayload(record);
  return storage::EncodeRecordBlock(block);
}

OwnerRead DecodeOwnerBlock(absl::string_view block) {
  OwnerRead read;
  if (block.size() >= storage::kBlockSize && IsBlankBlock(block.substr(0, storage::kBlockSize))) {
    read.state = BlockState::kBlank;
    return read;
  }
  read.state = BlockState::kDamaged;
  std::optional<storage::RecordBlock> framed = storage::DecodeRecordBlock(block);
  if (!framed.has_value() || framed->kind != storage::RecordKind::kOwnership) return read;
  std::optional<OwnerRecord> record = DecodeOwnerPayload(framed->payload);
  if (!record.has_value() || record->epoch != framed->epoch) return read;
  read.state = BlockState::kValid;
  read.record = std::move(*record);
  return read;
}

absl::StatusOr<OwnerRead> OwnershipStore::Read() const {
  std::string block(storage::kBlockSize, '\0');
  absl::Status s = file_->Read(0, absl::MakeSpan(block));
  if (!s.ok()) return s;
  return DecodeOwnerBlock(block);
}

absl::Status OwnershipStore::Write(const OwnerRecord& record) const {
  if (!ValidFilerName(record.owner)) {
    return absl::InvalidArgumentError(absl::StrCat("bad owner name \"", record.owner, "\""));
  }
  absl::Status s = file_->Write(0, EncodeOwnerBlock(record));
  if (!s.ok()) return s;
  return file_->Sync();
}

}  // namespace cluster
}  // namespace vifiler
