// Copyright 2026 The vifiler Authors.
//
// Volume: the file store a filer serves, a directory tree on (shared) storage. Maps persistent
// file handles to files, and performs every file operation of the protocol on the tree.
//
// Contract:
//  - Every name is one path component: "", ".", "..", names with '/' or NUL and names longer
//    than kMaxNameLength are rejected (kInvalid / kNameTooLong). Nothing a client sends can
//    reach outside the root: symlinks are never followed (O_NOFOLLOW, *at() calls relative to
//    directory fds) and the metadata directory kMetaDirName at the root is invisible and
//    unreachable to clients.
//  - Handles are (volume id, file id, generation). The file id is the inode number, the
//    generation tells apart files that reuse an inode number. A handle stays valid while its
//    file exists: across filer restarts and on the partner filer that opens the same volume.
//    A handle for a removed file is kStaleHandle; one for another volume, or one never issued,
//    is kBadHandle or kStaleHandle. Never an index into memory.
//  - The volume id is created once (random, persisted under kMetaDirName) and read back later.
//  - Thread-safe: operations may run concurrently from many sessions.

#ifndef VIFILER_FILER_VOLUME_H_
#define VIFILER_FILER_VOLUME_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "protocol/messages.h"
#include "storage/keyed_log.h"

namespace vifiler {
namespace filer {

inline constexpr char kMetaDirName[] = ".vifiler";

// A read-only view of part of a file, mapped from the page cache (so a direct read can hand
// it to the fabric without a staging copy). Unmapped when destroyed. Only the kernel (socket
// writes, RDMA registration) should touch the bytes: a concurrent truncate makes them vanish.
class MappedRange {
 public:
  virtual ~MappedRange() = default;
  virtual const char* data() const = 0;
  virtual size_t size() const = 0;
  // The range reaches the end of the file.
  virtual bool eof() const = 0;
};

class Volume {
 public:
  // Opens (and on first use formats) the volume rooted at root_dir, which must exist.
  static absl::StatusOr<std::unique_ptr<Volume>> Open(const std::string& root_dir);
  virtual ~Volume() = default;

  virtual uint64_t id() const = 0;
  virtual const std::string& root_path() const = 0;
  // Absolute path of the metadata directory (for ownership, mailbox, reply cache files).
  virtual std::string meta_path() const = 0;
  virtual protocol::FileHandle root() const = 0;

  virtual protocol::ErrorCode Lookup(const protocol::FileHandle& dir, absl::string_view name,
                                     protocol::HandleReply* reply) = 0;
  virtual protocol::ErrorCode GetAttr(const protocol::FileHandle& handle,
                                      protocol::FileAttr* attr) = 0;
  virtual protocol::ErrorCode SetAttr(const protocol::SetAttrRequest& request,
                                      protocol::FileAttr* attr) = 0;
  virtual protocol::ErrorCode Create(const protocol::CreateRequest& request,
                                     protocol::HandleReply* reply) = 0;
  virtual protocol::ErrorCode Mkdir(const protocol::MkdirRequest& request,
                                    protocol::HandleReply* reply) = 0;
  virtual protocol::ErrorCode Remove(const protocol::RemoveRequest& request) = 0;
  virtual protocol::ErrorCode Rmdir(const protocol::RemoveRequest& request) = 0;
  virtual protocol::ErrorCode Rename(const protocol::RenameRequest& request) = 0;
  virtual protocol::ErrorCode ReadDir(const protocol::ReadDirRequest& request,
                                      protocol::ReadDirReply* reply) = 0;
  // Reads up to buffer.size() bytes at offset; *count bytes were read, *eof when the read
  // reached the end of the file.
  virtual protocol::ErrorCode Read(const protocol::FileHandle& handle, uint64_t offset,
                                   absl::Span<char> buffer, uint32_t* count, bool* eof) = 0;
  // Maps up to length bytes of a regular file at offset (fewer at the end of the file; none
  // past it). Same errors as Read.
  virtual protocol::ErrorCode Map(const protocol::FileHandle& handle, uint64_t offset,
                                  uint32_t length, std::unique_ptr<MappedRange>* range) = 0;
  virtual protocol::ErrorCode Write(const protocol::FileHandle& handle, uint64_t offset,
                                    absl::string_view data, protocol::WriteReply* reply) = 0;
  virtual protocol::ErrorCode Fsync(const protocol::FileHandle& handle) = 0;
  virtual protocol::ErrorCode StatFs(protocol::StatFsReply* reply) = 0;

  // What to sync so that a mutation's effect on the file or directory `handle` names survives
  // a power cut: an effect the reply log makes durable before the mutation's reply
  // (storage/keyed_log.h). Never null; when the handle no longer resolves, the effect syncs
  // the whole file system.
  virtual std::shared_ptr<storage::KeyedLog::Effect> SyncOf(const protocol::FileHandle& handle) = 0;
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_VOLUME_H_
