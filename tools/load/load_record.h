// Copyright 2026 The vifiler Authors.
//
// The 64-byte records vifiler-load writes, so that every byte it finds on the volume can be
// traced to the write that put it there.
//
// Layout (little-endian):
//   bytes  0..3   magic: "VLA1" (append record, in `log`) or "VLS1" (slot record, in `slots`)
//   bytes  4..7   N: the writing thread's number
//   bytes  8..15  i: the append record's index, or the slot record's version
//   bytes 16..23  k: the slot (slot records; 0 in append records)
//   bytes 24..31  tag: ClientTag(client id), which tells clients and runs apart
//   bytes 32..55  filler, a function of (tag, N, i, k)
//   bytes 56..63  checksum: FNV-1a 64 of bytes 0..55
// Append record i of thread N lives at offset i * 64 of N's `log`; the slot record of
// version i lives at offset (i % 8) * 64 of N's `slots`.

#ifndef VIFILER_TOOLS_LOAD_LOAD_RECORD_H_
#define VIFILER_TOOLS_LOAD_LOAD_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vifiler {
namespace load {

inline constexpr size_t kRecordBytes = 64;
inline constexpr uint64_t kSlots = 8;

enum class RecordKind { kAppend, kSlot };

struct Record {
  RecordKind kind = RecordKind::kAppend;
  uint32_t thread = 0;
  uint64_t index = 0;  // append: record index; slot: version
  uint64_t slot = 0;   // slot records only
  uint64_t tag = 0;
  bool operator==(const Record& o) const {
    return kind == o.kind && thread == o.thread && index == o.index && slot == o.slot &&
           tag == o.tag;
  }
};

// FNV-1a 64 of the client id.
uint64_t ClientTag(absl::string_view client_id);

// The 64 bytes of record.
std::string EncodeRecord(const Record& record);

// True when bytes are all zero (a hole: never written).
bool IsZero(absl::string_view bytes);

// The record in bytes (exactly kRecordBytes), or InvalidArgumentError saying what is wrong
// (size, magic, checksum, filler).
absl::StatusOr<Record> DecodeRecord(absl::string_view bytes);

// "append 12 of t1" / "slot 3 version 19 of t0" (tag left out).
std::string DescribeRecord(const Record& record);

}  // namespace load
}  // namespace vifiler

#endif  // VIFILER_TOOLS_LOAD_LOAD_RECORD_H_
