// Copyright 2026 The vifiler Authors.
//
// Device-mapper, straight on the DM ioctls (<linux/dm-ioctl.h>) through /dev/mapper/control:
// no libdevmapper, no dmsetup, no udev. Every write a volume's owner makes to a shared disk goes
// through dm-linear devices made here, so that fencing can cut them off: Fence() swaps a device's
// table for the `error` target, after which every read and write through it (in flight,
// queued, from page-cache writeback, or issued later by a process that was frozen) fails with
// EIO and nothing more reaches the disk.
//
// Contract:
//  - Names are 1..127 bytes of [A-Za-z0-9._:+-]. Device nodes are created with mknod under a
//    directory the caller gives (NodeDirectory() picks one that allows device nodes); nothing
//    relies on udev or /dev/mapper/NAME links.
//  - If /dev/mapper/control is missing while dm_mod is loaded (no devtmpfs), its node is made
//    from the minor in /proc/misc. Errors name the device and the ioctl, with a hint: EPERM,
//    the caller lacks CAP_SYS_ADMIN; ENODEV, dm_mod is not loaded.
//  - Bounds on waits: the DM ioctls used here do not wait for I/O, except the suspend inside
//    Fence() and Suspend(), which waits for bios already submitted to the backing device to
//    complete. That wait is interrupted by a per-thread timer signal (SIGALRM, its handler
//    installed only for the call) after `drain_limit`; Fence() then fails with
//    DeadlineExceededError and the device is NOT fenced (the kernel undoes the suspend): the caller
//    must escalate (e.g. reset the host). Kernel locks are the one unbounded wait: a suspend of the
//    same device by another process at the same moment.
//  - Fence() allocates nothing and takes no locks on its success path (fixed buffers on the
//    stack, plain syscalls), so a guard process may call it right after fork().
// Thread-safe (every call opens its own control descriptor).

#ifndef VIFILER_STORAGE_DEVICE_MAPPER_H_
#define VIFILER_STORAGE_DEVICE_MAPPER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vifiler {
namespace storage {
namespace dm {

// Well under a fence guard's own bound on its fence action (cluster/fence_guard.h: 2 s).
inline constexpr absl::Duration kDefaultDrainLimit = absl::Seconds(1);
inline constexpr uint64_t kSectorSize = 512;

struct Device {
  std::string name;
  dev_t dev = 0;
  std::string node;  // the block-device node made for it
};

struct Info {
  bool exists = false;
  dev_t dev = 0;
  int open_count = 0;
  bool suspended = false;
  bool active_table = false;
  bool deferred_remove = false;
};

struct Target {
  uint64_t start = 0;   // sectors
  uint64_t length = 0;  // sectors
  std::string type;
  std::string params;
};

bool ValidName(const std::string& name);

// `preferred` (created, mode 0700) unless it sits on a file system mounted nodev (systemd
// mounts /run so), in which case "/dev/vifiler" (devtmpfs) is used instead.
absl::StatusOr<std::string> NodeDirectory(const std::string& preferred);
std::string NodePath(const std::string& node_dir, const std::string& name);

// Creates NAME mapping [start_sector, start_sector + sectors) of the block device `backing`,
// activates it and makes its node node_dir/NAME (replacing a stale node). AlreadyExistsError if
// a dm device of that name exists.
absl::StatusOr<Device> CreateLinear(const std::string& name, dev_t backing, uint64_t start_sector,
                                    uint64_t sectors, const std::string& node_dir);

// Suspends NAME without flushing (DM_NOFLUSH_FLAG, no file-system freeze), loads a table of the
// `error` target over the same length and resumes. OK at once if NAME already carries only an
// error table. NotFoundError if there is no such device. See the header comment for the bound.
absl::Status Fence(const std::string& name, absl::Duration drain_limit = kDefaultDrainLimit);

// Suspends NAME without flushing or freezing its file system, waiting at most drain_limit for
// I/O in flight (DeadlineExceededError after that, and NAME is not suspended). I/O issued while
// it is suspended waits until Resume.
absl::Status Suspend(const std::string& name, absl::Duration drain_limit = kDefaultDrainLimit);
// Resumes NAME, swapping in a table loaded into its inactive slot, if any.
absl::Status Resume(const std::string& name);

// Removes NAME. If it is open, schedules its removal for when the last opener closes it
// (deferred remove) and sets *deferred (may be null). OK if there is no such device.
absl::Status Remove(const std::string& name, bool* deferred = nullptr);

absl::Status Rename(const std::string& name, const std::string& new_name);

absl::StatusOr<Info> GetInfo(const std::string& name);  // exists false: no such device
absl::StatusOr<bool> Exists(const std::string& name);
// The active table (empty when there is none).
absl::StatusOr<std::vector<Target>> ActiveTable(const std::string& name);

}  // namespace dm
}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_DEVICE_MAPPER_H_
