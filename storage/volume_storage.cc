// Copyright 2026 The vifiler Authors.

#include "storage/volume_storage.h"

#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "storage/device_volume_storage.h"
#include "storage/directory_volume_storage.h"

namespace vifiler {
namespace storage {

absl::StatusOr<std::unique_ptr<VolumeStorage>> VolumeStorage::Open(
    const std::string& spec, const std::string& dm_prefix, const std::string& run_dir,
    const VolumeStorageOptions& options) {
  struct stat st;
  if (stat(spec.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("volume ", spec));
  }
  if (S_ISDIR(st.st_mode)) return DirectoryVolumeStorage::Open(spec, options);
  if (S_ISBLK(st.st_mode)) return DeviceVolumeStorage::Open(spec, dm_prefix, run_dir, options);
  return absl::InvalidArgumentError(
      absl::StrCat("volume ", spec, " is neither a directory nor a block device"));
}

absl::Status FenceDevices(const std::vector<std::string>& dm_names, absl::Duration drain_limit) {
  absl::Status first;
  for (const std::string& name : dm_names) {
    absl::Status s = dm::Fence(name, drain_limit);
    if (absl::IsNotFound(s)) continue;  // nothing can write through a device that is not there
    if (first.ok()) first = s;
  }
  return first;
}

}  // namespace storage
}  // namespace vifiler
