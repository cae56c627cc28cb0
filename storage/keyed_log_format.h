// Copyright 2026 The vifiler Authors.
//
// The record format of a KeyedLog (storage/keyed_log.h), apart from the code that writes and
// reads it, as LevelDB keeps log_format.h apart from its writer and reader.
//
// The log is a ring of kBlockSize blocks on a BlockFile region. Every block is a record block
// (storage/record_block.h) of kind kReplyLog whose sequence is the block's number in the life
// of the log (0, 1, 2, ...; a block with number n lives at ring position n % blocks) and whose
// epoch is the ownership epoch of the writer. Its payload is a series of entries:
//    u16 key length, key bytes, u32 value length, value bytes
// An entry sets key to value; an empty value erases the key. Entries never span blocks.
//
// Reading the log back: decode every block of the region; keep the valid ones of kind
// kReplyLog; the newest is the one with the highest number N; blocks numbered above
// N - blocks are the log (others are leftovers of earlier laps that a torn write exposed). Apply
// them in number order, skipping a block whose epoch is lower than one already applied (a write by
// a fenced-off former owner). Missing or torn blocks are skipped: the writer only relies on a batch
// once all of it is durable, and keeps every live entry in a block it has not started to overwrite
// (see keyed_log.h).

#ifndef VIFILER_STORAGE_KEYED_LOG_FORMAT_H_
#define VIFILER_STORAGE_KEYED_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "storage/record_block.h"

namespace vifiler {
namespace storage {

inline constexpr size_t kEntryOverhead = 6;
inline constexpr size_t kMaxKeySize = 256;
// Largest key + value that fits one block.
inline constexpr size_t kMaxEntrySize = kMaxRecordPayload - kEntryOverhead;

struct LogEntry {
  std::string key;
  std::string value;  // empty: erase
};

size_t EncodedEntrySize(const LogEntry& entry);
// Appends the entry to a block payload.
void AppendEntry(const LogEntry& entry, std::string* payload);
// Decodes every entry of a payload; false if it is malformed (then entries holds those before).
bool DecodeEntries(absl::string_view payload, std::vector<LogEntry>* entries);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_KEYED_LOG_FORMAT_H_
