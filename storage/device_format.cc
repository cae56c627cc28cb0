// Copyright 2026 The vifiler Authors.

#include "storage/device_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "storage/block_file.h"
#include "storage/device_mapper.h"
#include "storage/record_block.h"
#include "storage/run_program.h"

namespace vifiler {
namespace storage {
namespace {

constexpr size_t kSignatureBytes = 2 * kBlockSize;
constexpr size_t kZeroChunk = 1 << 20;
constexpr size_t kMaxExt4Label = 16;

bool At(absl::string_view start, size_t offset, absl::string_view magic) {
  return start.size() >= offset + magic.size() && start.substr(offset, magic.size()) == magic;
}

absl::Status ZeroRange(BlockFile* file, uint64_t from, uint64_t to) {
  const std::string zeros(kZeroChunk, '\0');
  for (uint64_t at = from; at < to;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kZeroChunk, to - at));
    if (absl::Status s = file->Write(at, absl::string_view(zeros.data(), n)); !s.ok()) return s;
    at += n;
  }
  return absl::OkStatus();
}

uint64_t NewUuid() {
  absl::BitGen gen;
  uint64_t uuid = 0;
  while (uuid == 0) uuid = absl::Uniform<uint64_t>(gen);
  return uuid;
}

// A block device that someone holds (a mount, a dm table, an O_EXCL opener) refuses O_EXCL.
absl::Status CheckNotInUse(const std::string& device) {
  const int fd = open(device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd < 0 && errno == EBUSY) {
    return absl::FailedPreconditionError(absl::StrCat(
        device,
        " is in use (mounted, held by device-mapper, or open exclusively); not formatting"));
  }
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", device));
  close(fd);
  return absl::OkStatus();
}

absl::Status MakeFileSystem(const std::string& device, bool is_block, const DeviceLayout& layout,
                            const FormatOptions& options) {
  const std::string label = layout.label.substr(0, kMaxExt4Label);
  if (!is_block) {
    return RunProgram({"mkfs.ext4", "-q", "-F", "-L", label, "-E",
                       absl::StrCat("offset=", layout.filesystem.offset, ",nodiscard"), device,
                       absl::StrCat(layout.filesystem.size / 1024, "k")},
                      options.mkfs_limit);
  }
  struct stat st;
  if (stat(device.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", device));
  }
  absl::StatusOr<std::string> node_dir = dm::NodeDirectory(absl::StrCat(options.run_dir, "/dev"));
  if (!node_dir.ok()) return node_dir.status();
  const std::string name =
      absl::StrCat("vifiler-mkfs-", getpid(), "-", UuidString(layout.uuid).substr(0, 8));
  absl::StatusOr<dm::Device> dev =
      dm::CreateLinear(name, st.st_rdev, layout.filesystem.offset / dm::kSectorSize,
                       layout.filesystem.size / dm::kSectorSize, *node_dir);
  if (!dev.ok()) return dev.status();
  absl::Status status = RunProgram(
      {"mkfs.ext4", "-q", "-F", "-L", label, "-E", "nodiscard", dev->node}, options.mkfs_limit);
  // mkfs fsyncs the device before it exits; the mapping is no longer needed.
  absl::Status removed = dm::Remove(name);
  unlink(dev->node.c_str());
  if (status.ok()) status = removed;
  return status;
}

}  // namespace

std::string ForeignSignature(absl::string_view start) {
  if (At(start, 1080, "\x53\xEF")) return "an ext2/3/4 file system (magic 0xEF53 at byte 1080)";
  if (At(start, 0, "XFSB")) return "an XFS file system (\"XFSB\" at byte 0)";
  if (At(start, 512, "EFI PART")) return "a GPT partition table (\"EFI PART\" at byte 512)";
  for (size_t sector = 0; sector < 4; ++sector) {
    if (At(start, sector * 512, "LABELONE")) {
      return absl::StrCat("an LVM2 physical volume (\"LABELONE\" at byte ", sector * 512, ")");
    }
  }
  if (At(start, 4086, "SWAPSPACE2")) return "swap space (\"SWAPSPACE2\" at byte 4086)";
  if (At(start, 510, "\x55\xAA")) return "an MBR partition table (0x55AA at byte 510)";
  return "";
}

absl::StatusOr<DeviceLayout> FormatDevice(const std::string& device, const FormatOptions& options) {
  if (!ValidLabel(options.label)) {
    return absl::InvalidArgumentError(absl::StrCat("bad volume label '", options.label, "': 1 to ",
                                                   kMaxLabelLength,
                                                   " characters of A-Z a-z 0-9 . _ : -"));
  }
  struct stat st;
  if (stat(device.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", device));
  }
  const bool is_block = S_ISBLK(st.st_mode);
  if (!is_block && !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(device, " is neither a block device nor a regular file"));
  }
  if (is_block) {
    if (absl::Status s = CheckNotInUse(device); !s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<BlockFile>> file = OpenBlockFile(device, BlockFileOptions());
  if (!file.ok()) return file.status();
  BlockFile* disk = file->get();

  // What is there now.
  std::string start(std::min<uint64_t>(kSignatureBytes, disk->size()), '\0');
  if (absl::Status s = disk->Read(0, absl::MakeSpan(start)); !s.ok()) return s;
  if (!options.force) {
    if (start.size() >= kBlockSize) {
      absl::StatusOr<DeviceLayout> old = DecodeDeviceHeader(start, device);
      if (old.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat(device, " already holds vifiler volume '", old->label, "' (uuid ",
                         UuidString(old->uuid), "); not formatting it without force"));
      }
      if (!absl::IsNotFound(old.status()) || start.substr(0, 4) == "VFRB") {
        return absl::FailedPreconditionError(
            absl::StrCat(device, " holds a damaged vifiler device header (", old.status().message(),
                         "); not formatting it without force"));
      }
    }
    const std::string foreign = ForeignSignature(start);
    if (!foreign.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(device, " holds ", foreign, "; not formatting it without force"));
    }
  }

  absl::StatusOr<DeviceLayout> layout = ComputeLayout(disk->size(), options.log_bytes);
  if (!layout.ok()) {
    return absl::Status(layout.status().code(),
                        absl::StrCat(device, ": ", layout.status().message()));
  }
  layout->label = options.label;
  layout->uuid = NewUuid();
  layout->created = absl::Now();

  // 1. No header: an interrupted format is "not a vifiler volume".
  if (absl::Status s = ZeroRange(disk, 0, kBlockSize); !s.ok()) return s;
  if (absl::Status s = disk->Sync(); !s.ok()) return s;
  // 2. The ownership record, mailbox, reserved space and reply log: all zero.
  if (absl::Status s = ZeroRange(disk, kBlockSize, layout->filesystem.offset); !s.ok()) return s;
  if (absl::Status s = disk->Sync(); !s.ok()) return s;
  // 3. The file system.
  if (options.make_filesystem) {
    if (absl::Status s = MakeFileSystem(device, is_block, *layout, options); !s.ok()) return s;
  }
  // 4. The header, last.
  if (absl::Status s = disk->Write(0, EncodeDeviceHeader(*layout)); !s.ok()) return s;
  if (absl::Status s = disk->Sync(); !s.ok()) return s;
  return layout;
}

}  // namespace storage
}  // namespace vifiler
