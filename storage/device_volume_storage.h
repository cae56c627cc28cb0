// Copyright 2026 The vifiler Authors.
//
// DeviceVolumeStorage: VolumeStorage for a block device formatted by FormatDevice (see
// storage/volume_storage.h for the contract and storage/device_layout.h for the layout).
//
// dm devices (DM_PREFIX-meta, DM_PREFIX-fs):
//   DM_PREFIX-meta  the device's [mailbox offset, end of the reply log): the owner's mailbox at
//                   offset 0, its reply log at reply_log.offset - mailbox.offset
//   DM_PREFIX-fs    the file-system region, mounted at RUN_DIR/mnt/DM_PREFIX
// A device whose previous mapping was busy when it had to go is renamed DM_PREFIX-ROLE-stale-N
// and removed by the kernel when its last user closes it.

#ifndef VIFILER_STORAGE_DEVICE_VOLUME_STORAGE_H_
#define VIFILER_STORAGE_DEVICE_VOLUME_STORAGE_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/device_layout.h"
#include "storage/volume_storage.h"

namespace vifiler {
namespace storage {

class DeviceVolumeStorage : public VolumeStorage {
 public:
  static absl::StatusOr<std::unique_ptr<VolumeStorage>> Open(const std::string& device,
                                                             const std::string& dm_prefix,
                                                             const std::string& run_dir,
                                                             const VolumeStorageOptions& options);

  bool is_device() const override { return true; }
  std::string description() const override;
  BlockFile* ownership_record() override { return ownership_.get(); }
  BlockFile* mailbox() override { return mailbox_.get(); }
  std::vector<std::string> fence_devices() const override { return {meta_name_, fs_name_}; }
  std::string mailbox_path() const override { return device_; }
  uint64_t mailbox_offset() const override { return layout_.mailbox.offset; }
  absl::StatusOr<ActiveVolume> Activate() override;
  absl::Status Deactivate() override;
  absl::Status Fence() override;

  const DeviceLayout& layout() const { return layout_; }
  std::string meta_name() const { return meta_name_; }
  std::string fs_name() const { return fs_name_; }
  std::string mount_dir() const { return mount_dir_; }

 private:
  enum class State { kInactive, kActive };

  DeviceVolumeStorage(std::string device, dev_t dev, DeviceLayout layout, std::string dm_prefix,
                      std::string run_dir, VolumeStorageOptions options,
                      std::unique_ptr<BlockFile> ownership, std::unique_ptr<BlockFile> mailbox);

  absl::StatusOr<ActiveVolume> ActivateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fence, detach and remove (or rename aside) a dm device of this name from an earlier run.
  absl::Status ClearStaleDevice(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ClearStaleMount() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fences, detaches and removes whatever Activate made so far (bounded, best effort).
  void Teardown() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RemoveDevices() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushMeta() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string device_;
  const dev_t dev_;
  const DeviceLayout layout_;
  const std::string dm_prefix_;
  const std::string run_dir_;
  const VolumeStorageOptions options_;
  const std::unique_ptr<BlockFile> ownership_;
  const std::unique_ptr<BlockFile> mailbox_;
  const std::string meta_name_;
  const std::string fs_name_;
  const std::string mount_dir_;

  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kInactive;
  std::string node_dir_ ABSL_GUARDED_BY(mu_);
  // Bumped by every Fence(); Activate notices one that happened while it ran.
  std::atomic<uint64_t> fences_{0};
  std::atomic<bool> fenced_{false};
};

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_DEVICE_VOLUME_STORAGE_H_
