// Copyright 2026 The vifiler Authors.
//
// DirectoryVolumeStorage: VolumeStorage for a directory (see storage/volume_storage.h). The
// records are files of DIR/.vifiler/: `ownership` and `mailbox` (kBlockSize each, created by
// Open) and `replylog` (created by Activate with VolumeStorageOptions'
// directory_reply_log_bytes; an existing one keeps its size, rounded down to whole blocks).
// Other files there (volume_id, the cluster layer's own) are left alone. A symlink in place of
// DIR/.vifiler is refused.

#ifndef VIFILER_STORAGE_DIRECTORY_VOLUME_STORAGE_H_
#define VIFILER_STORAGE_DIRECTORY_VOLUME_STORAGE_H_

#include <memory>
#include <string>

#include "storage/volume_storage.h"

namespace vifiler {
namespace storage {

class DirectoryVolumeStorage : public VolumeStorage {
 public:
  static absl::StatusOr<std::unique_ptr<VolumeStorage>> Open(const std::string& dir,
                                                             const VolumeStorageOptions& options);

  bool is_device() const override { return false; }
  std::string description() const override;
  BlockFile* ownership_record() override { return ownership_.get(); }
  BlockFile* mailbox() override { return mailbox_.get(); }
  std::vector<std::string> fence_devices() const override { return {}; }
  std::string mailbox_path() const override { return MetaPath("mailbox"); }
  uint64_t mailbox_offset() const override { return 0; }
  absl::StatusOr<ActiveVolume> Activate() override;
  absl::Status Deactivate() override { return absl::OkStatus(); }
  absl::Status Fence() override { return absl::OkStatus(); }

 private:
  DirectoryVolumeStorage(std::string dir, VolumeStorageOptions options,
                         std::unique_ptr<BlockFile> ownership, std::unique_ptr<BlockFile> mailbox)
      : dir_(std::move(dir)),
        options_(options),
        ownership_(std::move(ownership)),
        mailbox_(std::move(mailbox)) {}

  std::string MetaPath(const char* file) const;

  const std::string dir_;
  const VolumeStorageOptions options_;
  const std::unique_ptr<BlockFile> ownership_;
  const std::unique_ptr<BlockFile> mailbox_;
};

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_DIRECTORY_VOLUME_STORAGE_H_
