// Copyright 2026 The vifiler Authors.

#include "storage/device_volume_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/deadline_call.h"
#include "storage/device_mapper.h"
#include "storage/mounter.h"

namespace vifiler {
namespace storage {
namespace {

constexpr char kServedDir[] = "volume";
constexpr int kMaxStaleMounts = 8;

std::string StaleName(const std::string& name) {
  return absl::StrFormat("%s-stale-%016x", name, absl::ToUnixMicros(absl::Now()));
}

absl::Status Annotate(const absl::Status& s, const std::string& context) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(context, ": ", s.message()));
}

}  // namespace

DeviceVolumeStorage::DeviceVolumeStorage(std::string device, dev_t dev, DeviceLayout layout,
                                         std::string dm_prefix, std::string run_dir,
                                         VolumeStorageOptions options,
                                         std::unique_ptr<BlockFile> ownership,
                                         std::unique_ptr<BlockFile> mailbox)
    : device_(std::move(device)),
      dev_(dev),
      layout_(std::move(layout)),
      dm_prefix_(std::move(dm_prefix)),
      run_dir_(std::move(run_dir)),
      options_(options),
      ownership_(std::move(ownership)),
      mailbox_(std::move(mailbox)),
      meta_name_(absl::StrCat(dm_prefix_, "-meta")),
      fs_name_(absl::StrCat(dm_prefix_, "-fs")),
      mount_dir_(absl::StrCat(run_dir_, "/mnt/", dm_prefix_)) {}

absl::StatusOr<std::unique_ptr<VolumeStorage>> DeviceVolumeStorage::Open(
    const std::string& device, const std::string& dm_prefix, const std::string& run_dir,
    const VolumeStorageOptions& options) {
  // The longest name made from the prefix must be a valid dm name.
  if (!dm::ValidName(StaleName(absl::StrCat(dm_prefix, "-meta")))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad dm prefix '", dm_prefix, "': up to 90 characters of A-Z a-z 0-9 . _ : + -"));
  }
  struct stat st;
  if (stat(device.c_str(), &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat(device));
  if (!S_ISBLK(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(device, " is not a block device"));
  }
  absl::StatusOr<DeviceLayout> layout = ReadDeviceLayout(device);
  if (!layout.ok()) return layout.status();
  BlockFileOptions o;
  o.offset = layout->ownership.offset;
  o.size = kBlockSize;
  absl::StatusOr<std::unique_ptr<BlockFile>> ownership = OpenBlockFile(device, o);
  if (!ownership.ok()) return ownership.status();
  o.offset = layout->mailbox.offset;
  absl::StatusOr<std::unique_ptr<BlockFile>> mailbox = OpenBlockFile(device, o);
  if (!mailbox.ok()) return mailbox.status();
  // The mount point as /proc/self/mountinfo will show it: absolute, no symlinks.
  const std::string mnt = absl::StrCat(run_dir, "/mnt");
  if (absl::Status s = MakeDirectories(mnt, 0755); !s.ok()) return s;
  char resolved[PATH_MAX];
  if (realpath(run_dir.c_str(), resolved) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("run directory ", run_dir));
  }
  return std::unique_ptr<VolumeStorage>(
      new DeviceVolumeStorage(device, st.st_rdev, std::move(*layout), dm_prefix, resolved, options,
                              std::move(*ownership), std::move(*mailbox)));
}

std::string DeviceVolumeStorage::description() const {
  return absl::StrCat("block device ", device_, ": ", DescribeLayout(layout_));
}

absl::StatusOr<ActiveVolume> DeviceVolumeStorage::Activate() {
  absl::MutexLock lock(&mu_);
  if (state_ == State::kActive) {
    return absl::FailedPreconditionError(absl::StrCat(device_, " is already active"));
  }
  const uint64_t fences_before = fences_.load();
  fenced_ = false;
  absl::StatusOr<ActiveVolume> active = ActivateLocked();
  if (active.ok() && fences_.load() != fences_before) {
    active = absl::AbortedError(absl::StrCat(device_, " was fenced while it was being activated"));
  }
  if (!active.ok()) {
    Teardown();
    return active.status();
  }
  state_ = State::kActive;
  return active;
}

absl::StatusOr<ActiveVolume> DeviceVolumeStorage::ActivateLocked() {
  absl::StatusOr<std::string> node_dir = dm::NodeDirectory(absl::StrCat(run_dir_, "/dev"));
  if (!node_dir.ok()) return node_dir.status();
  node_dir_ = *node_dir;
  if (absl::Status s = ClearStaleDevice(fs_name_); !s.ok()) return s;
  if (absl::Status s = ClearStaleDevice(meta_name_); !s.ok()) return s;
  if (absl::Status s = ClearStaleMount(); !s.ok()) return s;

  const uint64_t meta_start = layout_.mailbox.offset;
  const uint64_t meta_end = layout_.reply_log.end();
  absl::StatusOr<dm::Device> meta =
      dm::CreateLinear(meta_name_, dev_, meta_start / dm::kSectorSize,
                       (meta_end - meta_start) / dm::kSectorSize, node_dir_);
  if (!meta.ok()) return meta.status();
  absl::StatusOr<dm::Device> fs =
      dm::CreateLinear(fs_name_, dev_, layout_.filesystem.offset / dm::kSectorSize,
                       layout_.filesystem.size / dm::kSectorSize, node_dir_);
  if (!fs.ok()) return fs.status();
  if (absl::Status s = MountExt4(fs->node, mount_dir_, options_.mount_limit); !s.ok()) {
    return Annotate(s, absl::StrCat("volume '", layout_.label, "' on ", device_));
  }

  ActiveVolume active;
  active.root = absl::StrCat(mount_dir_, "/", kServedDir);
  if (mkdir(active.root.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("create ", active.root));
  }
  BlockFileOptions o;
  o.offset = layout_.mailbox.offset - meta_start;
  o.size = kBlockSize;
  absl::StatusOr<std::unique_ptr<BlockFile>> mailbox = OpenBlockFile(meta->node, o);
  if (!mailbox.ok()) return mailbox.status();
  o.offset = layout_.reply_log.offset - meta_start;
  o.size = layout_.reply_log.size;
  absl::StatusOr<std::unique_ptr<BlockFile>> log = OpenBlockFile(meta->node, o);
  if (!log.ok()) return log.status();
  active.mailbox = std::move(*mailbox);
  active.reply_log = std::move(*log);
  active.fence_devices = {meta_name_, fs_name_};
  return active;
}

absl::Status DeviceVolumeStorage::ClearStaleDevice(const std::string& name) {
  absl::StatusOr<dm::Info> info = dm::GetInfo(name);
  if (!info.ok()) return info.status();
  if (!info->exists) return absl::OkStatus();
  const std::string context = absl::StrCat("stale dm device ", name, " from an earlier run");
  // Whatever the earlier run left queued or cached must not reach the disk.
  if (absl::Status s = dm::Fence(name, options_.drain_limit); !s.ok()) return Annotate(s, context);
  absl::StatusOr<std::vector<std::string>> mounts = MountPointsOf(info->dev);
  if (!mounts.ok()) return Annotate(mounts.status(), context);
  for (const std::string& point : *mounts) {
    if (absl::Status s = DetachMount(point, options_.detach_limit); !s.ok()) {
      return Annotate(s, context);
    }
  }
  unlink(dm::NodePath(node_dir_, name).c_str());
  info = dm::GetInfo(name);
  if (!info.ok()) return Annotate(info.status(), context);
  if (!info->exists) return absl::OkStatus();
  bool deferred = false;
  if (info->open_count == 0) {
    if (absl::Status s = dm::Remove(name, &deferred); !s.ok()) return Annotate(s, context);
    if (!deferred) return absl::OkStatus();
  }
  // Still open (a process holds a file of its old mount): move it out of the way; the kernel
  // removes it when the last user closes it. It is fenced, so it writes nothing meanwhile.
  const std::string aside = StaleName(name);
  if (absl::Status s = dm::Rename(name, aside); !s.ok()) return Annotate(s, context);
  if (!deferred) {
    if (absl::Status s = dm::Remove(aside); !s.ok()) return Annotate(s, context);
  }
  return absl::OkStatus();
}

absl::Status DeviceVolumeStorage::ClearStaleMount() {
  for (int i = 0; i < kMaxStaleMounts; ++i) {
    absl::StatusOr<bool> mounted = IsMountPoint(mount_dir_);
    if (!mounted.ok()) return mounted.status();
    if (!*mounted) return absl::OkStatus();
    if (absl::Status s = DetachMount(mount_dir_, options_.detach_limit); !s.ok()) {
      return Annotate(s, "stale mount from an earlier run");
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat(mount_dir_, " stays mounted after ", kMaxStaleMounts, " lazy unmounts"));
}

absl::Status DeviceVolumeStorage::RemoveDevices() {
  absl::Status first;
  for (const std::string& name : {meta_name_, fs_name_}) {
    absl::Status s = dm::Remove(name);
    if (!node_dir_.empty()) unlink(dm::NodePath(node_dir_, name).c_str());
    if (first.ok()) first = s;
  }
  return first;
}

void DeviceVolumeStorage::Teardown() {
  // Never detach or remove what could not be fenced: releasing the file system would write.
  if (!FenceDevices({meta_name_, fs_name_}, options_.drain_limit).ok()) return;
  DetachMount(mount_dir_, options_.detach_limit).IgnoreError();
  RemoveDevices().IgnoreError();
}

absl::Status DeviceVolumeStorage::FlushMeta() {
  const std::string node = dm::NodePath(node_dir_, meta_name_);
  absl::StatusOr<int> err = RunWithDeadline(
      absl::StrCat("flush of ", node),
      [node]() {
        const int fd = open(node.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return errno;
        const int r = fsync(fd) == 0 ? 0 : errno;
        close(fd);
        return r;
      },
      options_.unmount_limit);
  if (!err.ok()) return err.status();
  if (*err != 0) return absl::ErrnoToStatus(*err, absl::StrCat("flush ", node));
  return absl::OkStatus();
}

absl::Status DeviceVolumeStorage::Deactivate() {
  absl::MutexLock lock(&mu_);
  if (state_ != State::kActive) return absl::OkStatus();
  const std::string context = absl::StrCat("giveback of volume '", layout_.label, "'");
  if (!fenced_) {
    absl::StatusOr<bool> mounted = IsMountPoint(mount_dir_);
    if (!mounted.ok()) return Annotate(mounted.status(), context);
    if (*mounted) {
      if (absl::Status s = UnmountClean(mount_dir_, options_.unmount_limit); !s.ok()) {
        return Annotate(s, context);
      }
    }
    if (absl::Status s = FlushMeta(); !s.ok()) return Annotate(s, context);
  }
  // From here on nothing this host still holds open can reach the disk.
  if (absl::Status s = FenceDevices({meta_name_, fs_name_}, options_.drain_limit); !s.ok()) {
    return Annotate(s, context);
  }
  if (absl::Status s = DetachMount(mount_dir_, options_.detach_limit); !s.ok()) {
    return Annotate(s, context);
  }
  if (absl::Status s = RemoveDevices(); !s.ok()) return Annotate(s, context);
  state_ = State::kInactive;
  return absl::OkStatus();
}

absl::Status DeviceVolumeStorage::Fence() {
  ++fences_;
  fenced_ = true;
  if (absl::Status s = FenceDevices({meta_name_, fs_name_}, options_.drain_limit); !s.ok()) {
    return s;
  }
  return DetachMount(mount_dir_, options_.detach_limit);
}

}  // namespace storage
}  // namespace vifiler
