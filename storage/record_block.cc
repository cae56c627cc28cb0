// Copyright 2026 The vifiler Authors.

#include "storage/record_block.h"

#include <algorithm>
#include <cstring>

#include "storage/crc32c.h"

namespace vifiler {
namespace storage {
namespace {

constexpr uint16_t kFormatVersion = 1;

void Put(std::string* out, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*out)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t Get(absl::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in[at + i])} << (8 * i);
  return v;
}

}  // namespace

std::string EncodeRecordBlock(const RecordBlock& record) {
  std::string out(kBlockSize, '\0');
  const size_t length = std::min(record.payload.size(), kMaxRecordPayload);
  Put(&out, 0, kRecordMagic, 4);
  Put(&out, 4, kFormatVersion, 2);
  Put(&out, 6, static_cast<uint16_t>(record.kind), 2);
  Put(&out, 8, record.epoch, 8);
  Put(&out, 16, record.sequence, 8);
  Put(&out, 24, length, 4);
  memcpy(&out[kRecordHeaderSize], record.payload.data(), length);
  uint32_t crc = Crc32c(absl::string_view(out.data(), 28));
  crc = Crc32c(absl::string_view(out.data() + kRecordHeaderSize, length), crc);
  Put(&out, 28, crc, 4);
  return out;
}

std::optional<RecordBlock> DecodeRecordBlock(absl::string_view block) {
  if (block.size() < kBlockSize) return std::nullopt;
  if (Get(block, 0, 4) != kRecordMagic || Get(block, 4, 2) != kFormatVersion) return std::nullopt;
  const size_t length = Get(block, 24, 4);
  if (length > kMaxRecordPayload) return std::nullopt;
  uint32_t crc = Crc32c(block.substr(0, 28));
  crc = Crc32c(block.substr(kRecordHeaderSize, length), crc);
  if (crc != Get(block, 28, 4)) return std::nullopt;
  RecordBlock record;
  record.kind = static_cast<RecordKind>(Get(block, 6, 2));
  record.epoch = Get(block, 8, 8);
  record.sequence = Get(block, 16, 8);
  record.payload = std::string(block.substr(kRecordHeaderSize, length));
  return record;
}

}  // namespace storage
}  // namespace vifiler
