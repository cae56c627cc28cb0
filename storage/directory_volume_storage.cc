// Copyright 2026 The vifiler Authors.

#include "storage/directory_volume_storage.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace storage {
namespace {

constexpr char kOwnershipFile[] = "ownership";
constexpr char kMailboxFile[] = "mailbox";
constexpr char kReplyLogFile[] = "replylog";

absl::StatusOr<std::unique_ptr<BlockFile>> OpenRecordFile(const std::string& path, uint64_t size) {
  BlockFileOptions o;
  o.create = true;
  o.size = size;
  return OpenBlockFile(path, o);
}

}  // namespace

absl::StatusOr<std::unique_ptr<VolumeStorage>> DirectoryVolumeStorage::Open(
    const std::string& dir, const VolumeStorageOptions& options) {
  char resolved[PATH_MAX];
  if (realpath(dir.c_str(), resolved) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("volume directory ", dir));
  }
  const std::string root = resolved;
  const std::string meta = absl::StrCat(root, "/", kVolumeMetaDir);
  if (mkdir(meta.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("create ", meta));
  }
  struct stat st;
  if (lstat(meta.c_str(), &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("stat ", meta));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(meta, " is not a directory"));
  }
  absl::StatusOr<std::unique_ptr<BlockFile>> ownership =
      OpenRecordFile(absl::StrCat(meta, "/", kOwnershipFile), kBlockSize);
  if (!ownership.ok()) return ownership.status();
  absl::StatusOr<std::unique_ptr<BlockFile>> mailbox =
      OpenRecordFile(absl::StrCat(meta, "/", kMailboxFile), kBlockSize);
  if (!mailbox.ok()) return mailbox.status();
  return std::unique_ptr<VolumeStorage>(
      new DirectoryVolumeStorage(root, options, std::move(*ownership), std::move(*mailbox)));
}

std::string DirectoryVolumeStorage::MetaPath(const char* file) const {
  return absl::StrCat(dir_, "/", kVolumeMetaDir, "/", file);
}

std::string DirectoryVolumeStorage::description() const { return absl::StrCat("directory ", dir_); }

absl::StatusOr<ActiveVolume> DirectoryVolumeStorage::Activate() {
  ActiveVolume active;
  active.root = dir_;
  absl::StatusOr<std::unique_ptr<BlockFile>> mailbox =
      OpenRecordFile(MetaPath(kMailboxFile), kBlockSize);
  if (!mailbox.ok()) return mailbox.status();
  active.mailbox = std::move(*mailbox);

  const std::string log_path = MetaPath(kReplyLogFile);
  uint64_t log_bytes = options_.directory_reply_log_bytes;
  struct stat st;
  if (stat(log_path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) >= kBlockSize) {
    log_bytes = static_cast<uint64_t>(st.st_size) / kBlockSize * kBlockSize;
  }
  if (log_bytes == 0 || log_bytes % kBlockSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("reply log size ", log_bytes, " is not a positive multiple of ", kBlockSize));
  }
  absl::StatusOr<std::unique_ptr<BlockFile>> log = OpenRecordFile(log_path, log_bytes);
  if (!log.ok()) return log.status();
  active.reply_log = std::move(*log);
  return active;
}

}  // namespace storage
}  // namespace vifiler
