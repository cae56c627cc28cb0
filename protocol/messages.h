// Copyright 2026 The vifiler Authors.
//
// Messages of the file protocol. Every message is a fixed MessageHeader followed by a body of
// header.payload_length bytes. Requests and replies share the header; a reply echoes the
// request's opcode, session, slot and sequence, sets kFlagReply and carries the ErrorCode in
// status. A reply whose status is not kOk has an empty body.

#ifndef VIFILER_PROTOCOL_MESSAGES_H_
#define VIFILER_PROTOCOL_MESSAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/types.h"

namespace vifiler {
namespace protocol {

// Wire layout, little-endian, kHeaderSize bytes:
//   u32 magic, u16 version, u16 opcode, u32 flags, u32 status,
//   u64 session_id, u32 slot, u32 payload_length, u64 sequence
struct MessageHeader {
  uint32_t magic = kMagic;
  uint16_t version = kVersion;
  Opcode opcode = Opcode::kNull;
  uint32_t flags = 0;
  ErrorCode status = ErrorCode::kOk;
  uint64_t session_id = 0;
  uint32_t slot = 0;
  uint32_t payload_length = 0;
  uint64_t sequence = 0;
};
inline constexpr size_t kHeaderSize = 40;

// A client buffer registered for one request: what the filer needs to RDMA-read or -write it.
// Mirrors transport::RemoteBuffer; the protocol layer does not depend on the transport.
struct RemoteBuffer {
  uint64_t address = 0;
  uint32_t key = 0;
  uint32_t length = 0;
};
struct Empty {};

// kNull: request Empty, reply Empty.

// kSessionCreate. client_id is stable across reconnects and failover: the filer keys the
// reply cache by it. Reply carries the session id to put into later headers.
struct SessionCreateRequest {
  std::string client_id;
  uint32_t slots = 0;  // 1..kMaxSlots
};
struct SessionCreateReply {
  uint64_t session_id = 0;
  uint32_t slots = 0;             // granted
  uint32_t inline_threshold = 0;  // reads/writes longer than this go direct
  FileHandle root;
  std::string filer_name;  // the filer serving the session
};
// kSessionDestroy: request Empty, reply Empty.

// kLookup.
struct LookupRequest {
  FileHandle dir;
  std::string name;
};
struct HandleReply {  // reply of kLookup, kCreate, kMkdir
  FileHandle handle;
  FileAttr attr;
};

// kGetAttr.
struct GetAttrRequest {
  FileHandle handle;
};
struct AttrReply {  // reply of kGetAttr, kSetAttr
  FileAttr attr;
};

// kSetAttr; mask selects which fields apply.
inline constexpr uint32_t kSetSize = 1u << 0;
inline constexpr uint32_t kSetMode = 1u << 1;
inline constexpr uint32_t kSetAtime = 1u << 2;
inline constexpr uint32_t kSetMtime = 1u << 3;
struct SetAttrRequest {
  FileHandle handle;
  uint32_t mask = 0;
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
};

// kCreate: exclusive fails with kExists when the name exists; otherwise an existing regular
// file is opened (and truncated when truncate is set).
struct CreateRequest {
  FileHandle dir;
  std::string name;
  uint32_t mode = 0644;
  bool exclusive = false;
  bool truncate = false;
};
// kMkdir.
struct MkdirRequest {
  FileHandle dir;
  std::string name;
  uint32_t mode = 0755;
};
// kRemove (files) and kRmdir (empty directories); reply Empty.
struct RemoveRequest {
  FileHandle dir;
  std::string name;
};
// kRename; reply Empty.
struct RenameRequest {
  FileHandle from_dir;
  std::string from_name;
  FileHandle to_dir;
  std::string to_name;
};

// kReadDir: entries in a stable order, paged. cookie 0 starts; the reply's cookie continues.
struct ReadDirRequest {
  FileHandle dir;
  uint64_t cookie = 0;
  uint32_t max_entries = 0;  // 1..kMaxReadDirEntries
};
struct DirEntry {
  std::string name;
  uint64_t file_id = 0;
  FileType type = FileType::kUnknown;
  bool operator==(const DirEntry& o) const {
    return name == o.name && file_id == o.file_id && type == o.type;
  }
};
struct ReadDirReply {
  std::vector<DirEntry> entries;
  uint64_t cookie = 0;
  bool eof = false;
};

// kRead. With has_buffer the filer RDMA-writes the data into buffer (direct) and the reply's
// data is empty; otherwise the data is inline in the reply (length <= inline threshold).
struct ReadRequest {
  FileHandle handle;
  uint64_t offset = 0;
  uint32_t length = 0;
  bool has_buffer = false;
  RemoteBuffer buffer;
};
struct ReadReply {
  uint32_t count = 0;  // bytes read (inline: == data.size())
  bool eof = false;
  std::string data;
};

// kWrite. With has_buffer the filer RDMA-reads length bytes from buffer (direct); otherwise
// data holds them inline (length == data.size()).
struct WriteRequest {
  FileHandle handle;
  uint64_t offset = 0;
  uint32_t length = 0;
  bool has_buffer = false;
  RemoteBuffer buffer;
  std::string data;
};
struct WriteReply {
  uint32_t count = 0;
  uint64_t size = 0;  // file size after the write
};

// kFsync: request GetAttrRequest-shaped; reply Empty.
struct FsyncRequest {
  FileHandle handle;
};

// kStatFs.
struct StatFsRequest {
  FileHandle handle;
};
struct StatFsReply {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t available_bytes = 0;
  uint64_t total_files = 0;
  uint64_t free_files = 0;
};

// kNotice: filer to client, unsolicited.
enum class NoticeKind : uint32_t {
  kGivingBack = 1,    // the filer is handing the volume back; reconnect to the home filer
  kShuttingDown = 2,  // the filer is stopping
};
struct NoticeMessage {
  NoticeKind kind = NoticeKind::kGivingBack;
  std::string detail;
};

}  // namespace protocol
}  // namespace vifiler

#endif  // VIFILER_PROTOCOL_MESSAGES_H_
