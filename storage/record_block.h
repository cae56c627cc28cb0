// Copyright 2026 The vifiler Authors.
//
// The framing of every record vifiler keeps on storage outside the file system (the device
// header, ownership record, mailbox, reply-log blocks): one kBlockSize block, checksummed and
// stamped with the writer's ownership epoch and a sequence, so that a reader tells a torn,
// stale or foreign block from a good one without trusting anything else.
//
// Layout (little-endian):
//    0  u32  magic 0x42524656 ("VFRB")
//    4  u16  format version (1)
//    6  u16  kind (RecordKind)
//    8  u64  epoch: the ownership epoch of the writer
//   16  u64  sequence: meaning set by the kind (a counter, a block number)
//   24  u32  payload length
//   28  u32  CRC-32C of bytes [0, 28) followed by the payload
//   32  payload, then zero padding to kBlockSize
// The payload's own layout belongs to the kind's owner.

#ifndef VIFILER_STORAGE_RECORD_BLOCK_H_
#define VIFILER_STORAGE_RECORD_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "storage/block_file.h"

namespace vifiler {
namespace storage {

enum class RecordKind : uint16_t {
  kDeviceHeader = 1,
  kOwnership = 2,
  kMailbox = 3,
  kReplyLog = 4,
};

inline constexpr uint32_t kRecordMagic = 0x42524656;
inline constexpr size_t kRecordHeaderSize = 32;
inline constexpr size_t kMaxRecordPayload = kBlockSize - kRecordHeaderSize;

struct RecordBlock {
  RecordKind kind = RecordKind::kDeviceHeader;
  uint64_t epoch = 0;
  uint64_t sequence = 0;
  std::string payload;  // at most kMaxRecordPayload bytes
};

// Exactly kBlockSize bytes. The payload must fit (checked by the caller; longer payloads are
// truncated, which the checksum then still covers, so callers must not rely on it).
std::string EncodeRecordBlock(const RecordBlock& record);
// nullopt unless block holds at least kBlockSize bytes starting with a valid record: magic,
// version, payload length and checksum all right.
std::optional<RecordBlock> DecodeRecordBlock(absl::string_view block);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_RECORD_BLOCK_H_
