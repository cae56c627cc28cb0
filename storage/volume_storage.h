// Copyright 2026 The vifiler Authors.
//
// VolumeStorage: one interface over the two kinds of volume a filer can own, chosen by the
// --volume spec.
//  - A directory (single-host volumes, tests, the demo): the directory itself is served; the
//    records live in ordinary files of DIR/.vifiler/ (kMetaDirName, hidden from clients by
//    filer/): `ownership` and `mailbox` (one block each) and `replylog`, read and written with
//    O_DIRECT where the file system allows it. Fencing is a no-op: only one host sees it.
//  - A block device formatted by FormatDevice (storage/device_format.h), reachable by both hosts
//    of the pair. Anyone may read the ownership record and the mailbox through the raw device.
//    Only the owner activates it: dm-linear devices DM_PREFIX-meta (mailbox .. end of the reply
//    log) and DM_PREFIX-fs (the file system) over the disk, nodes under RUN_DIR/dev (or
//    /dev/vifiler when RUN_DIR is nodev), the ext4 file system mounted at RUN_DIR/mnt/DM_PREFIX
//    (journal recovery happens there), and the owner's mailbox and reply log BlockFiles opened
//    THROUGH DM_PREFIX-meta. Fencing swaps both dm tables for the error target
//    (storage/device_mapper.h), after which nothing this host does, or has queued, reaches the
//    disk. The ownership record is not behind a dm device: an owner that can be fenced must not
//    write it through ownership_record() once it holds the volume.
//
// Contract:
//  - Open() reads the device header (or creates DIR/.vifiler and its record files); it mounts
//    and maps nothing.
//  - Activate() makes the volume writable by this host and returns the directory to serve (for
//    a device: RUN_DIR/mnt/DM_PREFIX/volume, so that lost+found stays out of clients' sight),
//    the owner's mailbox and reply-log BlockFiles, and the dm device names a guard process
//    fences (FenceDevices). For a device it first clears what a crashed earlier run of this
//    filer left on this host: dm devices of the same names are fenced, their mounts detached,
//    and they are removed (or renamed aside and removed when last closed); a mount left at the
//    mount point is detached. FailedPreconditionError if already active.
//  - Deactivate() is the clean giveback: the caller has closed the ActiveVolume's files and
//    everything under root. It syncs and unmounts (FailedPreconditionError if still busy; the
//    volume stays active), flushes the meta device, fences and removes the dm devices. After a
//    Fence() it detaches and removes instead. OK when not active.
//  - Fence() fences now, from this process: the dm devices get error tables, then the mount is
//    detached lazily (never waiting on the failed device). If the error tables could not be
//    loaded the mount is left alone (detaching would write the superblock) and the error is
//    returned: the caller must escalate. A Fence() during Activate() makes that Activate fail
//    with AbortedError. No-op for directories.
//  - Every wait is bounded by the limits in VolumeStorageOptions.
// Thread-safe: Activate and Deactivate are serialized; Fence may be called at any time.

#ifndef VIFILER_STORAGE_VOLUME_STORAGE_H_
#define VIFILER_STORAGE_VOLUME_STORAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/block_file.h"
#include "storage/device_layout.h"
#include "storage/device_mapper.h"
#include "storage/mounter.h"

namespace vifiler {
namespace storage {

// Must equal filer::kMetaDirName (storage/ cannot include filer/).
inline constexpr char kVolumeMetaDir[] = ".vifiler";

struct ActiveVolume {
  std::string root;                    // the directory to serve
  std::unique_ptr<BlockFile> mailbox;  // one block
  std::unique_ptr<BlockFile> reply_log;
  std::vector<std::string> fence_devices;  // dm names to fence; empty for directories
};

struct VolumeStorageOptions {
  // Size of DIR/.vifiler/replylog when it is created (an existing one keeps its size).
  uint64_t directory_reply_log_bytes = kDefaultReplyLogBytes;
  absl::Duration mount_limit = kDefaultMountLimit;
  absl::Duration unmount_limit = kDefaultUnmountLimit;
  absl::Duration detach_limit = kDefaultDetachLimit;
  absl::Duration drain_limit = dm::kDefaultDrainLimit;  // Fence's wait for in-flight I/O
};

class VolumeStorage {
 public:
  // spec: a directory, or a block device formatted by FormatDevice. dm_prefix names this
  // filer's dm devices uniquely on the host (e.g. "vifiler-filer-b-vb"); run_dir holds their
  // nodes and the mount point (e.g. "/run/vifiler").
  static absl::StatusOr<std::unique_ptr<VolumeStorage>> Open(
      const std::string& spec, const std::string& dm_prefix, const std::string& run_dir,
      const VolumeStorageOptions& options = VolumeStorageOptions());

  virtual ~VolumeStorage() = default;

  virtual bool is_device() const = 0;
  virtual std::string description() const = 0;

  // Raw, unfenced access for monitoring and claiming; one block each.
  virtual BlockFile* ownership_record() = 0;
  virtual BlockFile* mailbox() = 0;
  // Where mailbox() is: a file or the device, and the byte offset of its block (the fence
  // guard writes a last, released beat there after fencing a volume of a filer that died).
  virtual std::string mailbox_path() const = 0;
  virtual uint64_t mailbox_offset() const = 0;

  // The dm devices Activate() creates (empty for directories): known before activation, so a
  // lease can tell the fence guard what to fence before the volume is mounted.
  virtual std::vector<std::string> fence_devices() const = 0;

  virtual absl::StatusOr<ActiveVolume> Activate() = 0;
  virtual absl::Status Deactivate() = 0;
  virtual absl::Status Fence() = 0;
};

// For the guard process: fences the named dm devices (a missing one counts as fenced), every one
// even if an earlier one fails; the first error names the device. No allocation on success, no
// threads: callable right after fork().
absl::Status FenceDevices(const std::vector<std::string>& dm_names,
                          absl::Duration drain_limit = dm::kDefaultDrainLimit);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_VOLUME_STORAGE_H_
