// Copyright 2026 The vifiler Authors.
//
// The reply cache's records in the volume's reply log (storage/keyed_log.h), apart from the
// cache that writes and reads them.
//
// Key: one per (client, slot):  u8 client id length, client id bytes, u32 slot.
// Value, by type (first byte):
//   kReply        u8 type, u64 sequence, then the encoded reply message (header + body)
//                 that answers a replay of that request. Written once the request executed
//                 and its effect is durable (the log syncs the effect first).
//   kIntent       u8 type, u64 sequence, then an encoded Intent. Written, and durable, before
//                 a namespace operation (create, mkdir, remove, rmdir, rename) executes, so
//                 that after a crash between the operation and its kReply the next owner can
//                 tell whether it happened (ResolveIntent in filer/intent_resolver.h).
//   kNotExecuted  u8 type, u64 sequence: the request was seen and did not execute (an intent
//                 resolved as not executed); a replay executes it.
//   kClient       u8 type, u64 0, under the key of slot kClientRecordSlot: the client has
//                 state on this volume (written before its first mutation executes), so the
//                 next holder restores its lease.
//   kExpired      u8 type, u64 sequence, u64 expiry time (Unix microseconds): the client's
//                 lease expired and the reply of that sequence was dropped; a replay of it is
//                 answered SESSION_EXPIRED, never executed. Erased after kExpiredRecordLife.
// Erasing the key (an empty value) forgets the slot: the client destroyed its session or its
// lease expired.
//
// Intent (little-endian, protocol/codec.h field encodings):
//   u16 opcode, FileHandle dir, string name, FileHandle to_dir, string to_name,
//   u64 file_id, u32 mode

#ifndef VIFILER_FILER_REPLY_RECORD_H_
#define VIFILER_FILER_REPLY_RECORD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {

// What a namespace operation is about to change, captured before it executes while its
// names are locked (filer/name_locks.h).
struct Intent {
  protocol::Opcode op = protocol::Opcode::kNull;
  protocol::FileHandle dir;  // create/mkdir/remove/rmdir: the directory; rename: the source's
  std::string name;
  protocol::FileHandle to_dir;  // rename only
  std::string to_name;
  // remove/rmdir: the file the name held; rename: the file moved. 0 for create and mkdir.
  uint64_t file_id = 0;
  uint32_t mode = 0;  // create/mkdir: the permission bits asked for
};

enum class ReplyRecordType : uint8_t {
  kReply = 1,
  kIntent = 2,
  kNotExecuted = 3,
  kClient = 4,
  kExpired = 5,
};

// The slot number of a client's own record (never a real slot: those are below kMaxSlots).
inline constexpr uint32_t kClientRecordSlot = 0xFFFFFFFE;

struct ReplyRecord {
  ReplyRecordType type = ReplyRecordType::kReply;
  uint64_t sequence = 0;
  std::string reply;                          // kReply
  Intent intent;                              // kIntent
  absl::Time expired_at = absl::UnixEpoch();  // kExpired
};

std::string ReplyKey(absl::string_view client_id, uint32_t slot);
bool DecodeReplyKey(absl::string_view key, std::string* client_id, uint32_t* slot);

std::string EncodeReplyRecord(const ReplyRecord& record);
absl::StatusOr<ReplyRecord> DecodeReplyRecord(absl::string_view value);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_REPLY_RECORD_H_
