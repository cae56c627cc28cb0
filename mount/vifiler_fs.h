// Copyright 2026 The vifiler Authors.
//
// VifilerFs: the FUSE low-level operations of a mount, each one mapped onto the client
// library's handle API (clientlib/client.h). It sits above the client library and never below:
// failover, replay and the exactly-once guarantees are the client's; this class only names
// files and translates.
//
// Contract:
//  - Node ids come from an InodeTable rooted at the handle given at construction (the mount's
//    FILER:/path); the kernel's lookup counts are honoured (forget).
//  - Every operation is one or a few client calls, made without any lock held; the reply goes
//    to the kernel when they return. A call that waits for a failover just waits: no operation
//    has a timeout of its own, and errors come only from the client (mount/errno_map.h).
//  - Consistency: attributes and names are cached by the kernel for attr_timeout and
//    entry_timeout (1 s by default), so a change made by another client is seen within that
//    time; no negative entries are cached. Writes go through to the filer before write()
//    returns (no writeback cache): once write() returned the data is on the filer, durable,
//    and visible to every client. File data the kernel caches is dropped at every open (close-
//    to-open for data; attributes within attr_timeout).
//  - Operations the protocol lacks: symbolic and hard links (EPERM, as a file system without
//    them answers), reading a symbolic link (EOPNOTSUPP), special files (EPERM), extended
//    attributes (EOPNOTSUPP from the kernel: the protocol has no xattr operations yet, issue
//    9), chown to another owner (EPERM: files show the mounting user as owner), rename with
//    RENAME_EXCHANGE (EINVAL).
//    RENAME_NOREPLACE is checked by a lookup before the rename (not atomic against other
//    clients). O_APPEND writes at the end of the file as this mount knows it (atomic among the
//    writers of this mount only). Locks (flock, fcntl) are local to this mount.
//  - A file unlinked while this mount has it open is renamed to kHiddenPrefix... in its
//    directory and removed at its last close here (a silly rename; this mount leaves it out of
//    listings, other clients see it, and it outlives a mount that dies first). An rmdir of a
//    directory that holds nothing else moves such files to the mount's root and succeeds (the
//    kernel's release of a closed file may arrive after close() returned, so `cat d/f; rm d/f;
//    rmdir d` must not depend on it). A file replaced by a rename while open is not kept: its
//    readers get ESTALE.
//  - With read_only every change is refused with EROFS.
//  - Thread-safe: the session loop runs operations on many threads at once.

#ifndef VIFILER_MOUNT_VIFILER_FS_H_
#define VIFILER_MOUNT_VIFILER_FS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clientlib/client.h"
#include "mount/inode_table.h"

struct fuse_lowlevel_ops;

namespace vifiler {
namespace mount {

struct FsOptions {
  bool read_only = false;
  absl::Duration attr_timeout = absl::Seconds(1);
  absl::Duration entry_timeout = absl::Seconds(1);
  // The largest read and write the kernel is asked to send (at most 1 MiB: libfuse's buffer).
  uint32_t max_io = 1 << 20;
};

class VifilerFs {
 public:
  // Names of files unlinked while open here, until their last close.
  static constexpr char kHiddenPrefix[] = ".vifiler-unlinked-";

  // client must outlive this object; root is the handle of the directory the mount shows.
  VifilerFs(client::Client* client, const protocol::FileHandle& root, FsOptions options);
  VifilerFs(const VifilerFs&) = delete;
  VifilerFs& operator=(const VifilerFs&) = delete;

  // The operation table to give fuse_session_new with this object as its userdata.
  static const struct fuse_lowlevel_ops* Operations();

  const InodeTable& inodes() const { return inodes_; }
  client::Client* client() const { return client_; }
  const FsOptions& options() const { return options_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }

 private:
  friend struct FsOps;
  // A fresh hidden name in the file's directory for the open file of handle.
  std::string HiddenNameFor(const protocol::FileHandle& handle);
  // True for a name HiddenNameFor gave (in this mount).
  bool IsOwnHiddenName(absl::string_view name) const;

  client::Client* const client_;
  const FsOptions options_;
  const uid_t uid_;
  const gid_t gid_;
  const uint32_t mount_tag_;  // random: hidden names of two mounts never meet
  std::atomic<uint64_t> hidden_count_{0};
  InodeTable inodes_;
};

}  // namespace mount
}  // namespace vifiler

#endif  // VIFILER_MOUNT_VIFILER_FS_H_
