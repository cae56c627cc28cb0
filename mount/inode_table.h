// Copyright 2026 The vifiler Authors.
//
// InodeTable: the node ids the kernel knows a mount's files by, each mapped to the file's
// vifiler handle.
//
// Contract:
//  - Node id kRootId (FUSE's root, 1) is the mount's root handle, always present and never
//    counted or forgotten.
//  - Ref(handle) returns the handle's node id, the same one as long as the kernel holds a
//    reference to it, and adds one reference (one FUSE lookup count). Forget(id, n) drops n;
//    an id whose count reaches zero is gone once its file is not open here either, and a later
//    Ref of its handle gets a new id.
//  - Handles are stable names (valid on either filer, across failover and restarts), so the
//    table never needs refreshing: a rename changes no id, a removed file's handle goes stale
//    on the filer and its id leaves when the kernel forgets it.
//  - Open files are counted per node id (Opened, Closed), so that a file unlinked while open can
//    be kept under a hidden name until its last close (what NFS clients call a silly rename):
//    Hide(handle, name) records the hidden name of an open file, and the Closed() that ends
//    its last open hands that name back for removal.
//  - Thread-safe; every method takes one short lock and never does I/O.

#ifndef VIFILER_MOUNT_INODE_TABLE_H_
#define VIFILER_MOUNT_INODE_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "protocol/types.h"

namespace vifiler {
namespace mount {

class InodeTable {
 public:
  static constexpr uint64_t kRootId = 1;

  explicit InodeTable(const protocol::FileHandle& root);
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  // The node id of handle, with one more reference (none is counted for the root).
  uint64_t Ref(const protocol::FileHandle& handle);
  // Drops n references of id; unknown ids and the root are ignored.
  void Forget(uint64_t id, uint64_t n);
  // The handle of id; false when the table does not know id.
  bool Get(uint64_t id, protocol::FileHandle* handle) const;
  // Node ids held, the root included.
  size_t size() const;

  // Where an unlinked open file lives on until its last close.
  struct HiddenName {
    protocol::FileHandle dir;
    std::string name;
  };
  // One more open of id (open, create).
  void Opened(uint64_t id);
  // One open of id fewer; true with *hidden set when that was the last one of a file hidden
  // by Hide(): the caller removes it.
  bool Closed(uint64_t id, HiddenName* hidden);
  // True when some file is open (a cheap test before looking a name up).
  bool AnyOpen() const;
  // True when the file of handle is open.
  bool IsOpen(const protocol::FileHandle& handle) const;
  // Records that the open file of handle now lives as `hidden`; false when it is not open (any
  // more): the caller removes the hidden name itself.
  bool Hide(const protocol::FileHandle& handle, HiddenName hidden);

 private:
  using Key = std::tuple<uint64_t, uint64_t, uint64_t>;  // volume, file, generation
  static Key KeyOf(const protocol::FileHandle& h) {
    return Key(h.volume_id, h.file_id, h.generation);
  }
  struct Node {
    protocol::FileHandle handle;
    uint64_t refs = 0;
    uint64_t opens = 0;
    bool hidden = false;
    HiddenName hidden_name;
  };
  // The node id of handle when that file is open, else 0.
  uint64_t OpenIdLocked(const protocol::FileHandle& handle) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const protocol::FileHandle root_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Node> nodes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Key, uint64_t> ids_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = kRootId + 1;
  uint64_t open_files_ ABSL_GUARDED_BY(mu_) = 0;  // nodes with opens > 0
};

}  // namespace mount
}  // namespace vifiler

#endif  // VIFILER_MOUNT_INODE_TABLE_H_
