// Copyright 2026 The vifiler Authors.
//
// Mounting and unmounting a volume's ext4 file system (on its dm device), with every wait
// bounded. mount(2) with journal recovery, syncfs(2) and umount(2) can block for as long as the
// device does; each runs on a helper thread (storage/deadline_call.h) and the caller waits at
// most the given limit. A call that misses its limit returns DeadlineExceededError and is left
// to finish (or hang) in the background; the caller then fences the device, which makes it
// return with EIO.
//
// Contract:
//  - MountExt4 creates dir (and its parents) and mounts device_node there: ext4, nosuid, nodev,
//    errors=remount-ro; the kernel replays the journal if the file system was not unmounted
//    cleanly (a takeover after a crash). Errors name the device, the directory and a hint.
//  - UnmountClean syncs the file system (syncfs) and unmounts it (not lazily): for a clean
//    giveback. FailedPreconditionError if it is busy (files still open), and the file system
//    stays mounted; the sync's EIO is reported, not ignored.
//  - DetachMount is the fenced unmount: MNT_DETACH, no sync; it returns once the mount is gone
//    from the namespace (the file system is released when its last user lets go). OK when
//    nothing is mounted at dir.
// Thread-safe.

#ifndef VIFILER_STORAGE_MOUNTER_H_
#define VIFILER_STORAGE_MOUNTER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vifiler {
namespace storage {

inline constexpr absl::Duration kDefaultMountLimit = absl::Seconds(120);
inline constexpr absl::Duration kDefaultUnmountLimit = absl::Seconds(60);
inline constexpr absl::Duration kDefaultDetachLimit = absl::Seconds(10);

absl::Status MountExt4(const std::string& device_node, const std::string& dir,
                       absl::Duration limit = kDefaultMountLimit);
absl::Status UnmountClean(const std::string& dir, absl::Duration limit = kDefaultUnmountLimit);
absl::Status DetachMount(const std::string& dir, absl::Duration limit = kDefaultDetachLimit);

struct MountEntry {
  dev_t dev = 0;            // of the mounted file system (st_dev of its files)
  std::string mount_point;  // unescaped
  std::string fs_type;
  std::string source;
};

// This process's mount namespace, from /proc/self/mountinfo, in mount order.
absl::StatusOr<std::vector<MountEntry>> ListMounts();
// The mount points, deepest last mounted first, whose file system lives on `dev`.
absl::StatusOr<std::vector<std::string>> MountPointsOf(dev_t dev);
absl::StatusOr<bool> IsMountPoint(const std::string& dir);

// mkdir -p with `mode` for the directories it creates.
absl::Status MakeDirectories(const std::string& dir, mode_t mode);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_MOUNTER_H_
