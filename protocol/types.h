// Copyright 2026 The vifiler Authors.
//
// Value types of the file protocol: error codes, opcodes, file handles and attributes.

#ifndef VIFILER_PROTOCOL_TYPES_H_
#define VIFILER_PROTOCOL_TYPES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace vifiler {
namespace protocol {

inline constexpr uint32_t kMagic = 0x4C464956;  // "VIFL" little-endian
inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxClientIdLength = 64;
inline constexpr uint32_t kMaxReadDirEntries = 1024;
inline constexpr uint32_t kMaxSlots = 64;
// Largest length one read or write request may ask for (direct transfers).
inline constexpr uint32_t kMaxTransferLength = 16 * 1024 * 1024;

// Result of an operation, carried in the reply header. Values are on the wire: never renumber.
enum class ErrorCode : uint32_t {
  kOk = 0,
  kNoEntry = 1,  // no such file or directory
  kExists = 2,   // name already exists
  kNotDirectory = 3,
  kIsDirectory = 4,
  kNotEmpty = 5,
  kAccess = 6,       // permission denied, or the name leaves the volume
  kInvalid = 7,      // invalid argument (bad name, bad offset, ...)
  kStaleHandle = 8,  // the handle named a file that no longer exists
  kBadHandle = 9,    // the handle is malformed or belongs to another volume
  kNameTooLong = 10,
  kNoSpace = 11,
  kIo = 12,
  kBadRequest = 13,    // malformed message
  kNotSupported = 14,  // unknown opcode
  kTooBig = 15,        // length over a limit
  kBadSession = 16,    // unknown or destroyed session
  kBadSlot = 17,       // slot out of range
  kSequenceMisordered = 18,
  kNotOwner = 19,  // this filer does not own the volume (taken over or given back)
  kServerFault = 20,
  kTransport = 21,  // a one-sided transfer failed
  kBusy = 22,       // slot still executing a request with this sequence
  // The client's session, or the state that answers replays of its earlier requests, was
  // dropped after its lease expired: the request was not executed, and an earlier copy of it
  // may or may not have been. Never retried by the client library.
  kSessionExpired = 23,
  kReadOnly = 24,     // the volume is exported read-only to this client
  kNotExported = 25,  // the volume is not exported to this client's address
};
inline constexpr ErrorCode kLastErrorCode = ErrorCode::kNotExported;

const char* ErrorCodeName(ErrorCode code);

enum class Opcode : uint16_t {
  kNull = 0,
  kSessionCreate = 1,
  kSessionDestroy = 2,
  kLookup = 3,
  kGetAttr = 4,
  kSetAttr = 5,
  kCreate = 6,
  kMkdir = 7,
  kRemove = 8,
  kRmdir = 9,
  kRename = 10,
  kReadDir = 11,
  kRead = 12,
  kWrite = 13,
  kFsync = 14,
  kStatFs = 15,
  // Filer to client, unsolicited (slot and sequence 0): see NoticeMessage.
  kNotice = 16,
};
inline constexpr uint16_t kMaxOpcode = 16;

const char* OpcodeName(Opcode op);
// True for operations that change the volume; their replies go into the reply cache.
bool IsMutating(Opcode op);

// Header flags.
inline constexpr uint32_t kFlagReply = 1u << 0;
// The request was resent by the client (replay after a reconnect or failover).
inline constexpr uint32_t kFlagReplay = 1u << 1;

// A persistent name for a file: valid on either filer of a pair and after restarts.
struct FileHandle {
  uint64_t volume_id = 0;
  uint64_t file_id = 0;
  uint64_t generation = 0;
  bool operator==(const FileHandle& o) const {
    return volume_id == o.volume_id && file_id == o.file_id && generation == o.generation;
  }
  bool operator!=(const FileHandle& o) const { return !(*this == o); }
  std::string ToString() const;
};

enum class FileType : uint32_t { kUnknown = 0, kRegular = 1, kDirectory = 2, kSymlink = 3 };

struct FileAttr {
  uint64_t file_id = 0;
  FileType type = FileType::kUnknown;
  uint32_t mode = 0;  // permission bits only
  uint32_t nlink = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileAttr& o) const;
};

}  // namespace protocol
}  // namespace vifiler

#endif  // VIFILER_PROTOCOL_TYPES_H_
