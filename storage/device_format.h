// Copyright 2026 The vifiler Authors.
//
// FormatDevice: makes a block device (or, for tests, a regular file) a vifiler volume with the
// layout of storage/device_layout.h.
//
// Contract:
//  - Refuses, with FailedPreconditionError and one line naming what it found, a device that
//    already holds a vifiler volume (its label and uuid), a damaged vifiler header, or a foreign
//    signature: ext2/3/4 (0xEF53 at byte 1080), XFS ("XFSB" at 0), GPT ("EFI PART" at 512), LVM2
//    ("LABELONE" in sectors 0-3), swap ("SWAPSPACE2" at 4086), an MBR (0x55AA at 510) — unless
//    options.force. Never formats a block device that is in use (mounted, held by
//    device-mapper, open O_EXCL), force or not. Refuses a device smaller than the layout needs.
//  - Order of writes: block 0 zeroed and synced first (an interrupted format leaves "not a
//    vifiler volume"), then everything before the file-system region zeroed (ownership record,
//    mailbox, reserved space, reply log), then the file system, then the header, synced.
//  - make_filesystem: mkfs.ext4 -q -F over the file-system region, through a temporary dm-linear
//    device on a block device (its node under run_dir/dev, removed afterwards), or with
//    `-E offset=` on a regular file. Bounded by mkfs_limit; mkfs's output is in the error.
//  - Returns the layout it wrote (with the new random uuid).
// Needs root for block devices (O_EXCL open, device-mapper); not for regular files.

#ifndef VIFILER_STORAGE_DEVICE_FORMAT_H_
#define VIFILER_STORAGE_DEVICE_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/device_layout.h"

namespace vifiler {
namespace storage {

struct FormatOptions {
  std::string label;  // ValidLabel()
  uint64_t log_bytes = kDefaultReplyLogBytes;
  bool force = false;
  bool make_filesystem = true;
  std::string run_dir = "/run/vifiler";
  absl::Duration mkfs_limit = absl::Minutes(10);
};

absl::StatusOr<DeviceLayout> FormatDevice(const std::string& device, const FormatOptions& options);

// What the first bytes of a device (up to 8 KiB) hold, as a phrase for messages ("an ext2/3/4
// file system (magic 0xEF53 at byte 1080)"); empty when nothing is recognised. A vifiler header
// is not reported here (FormatDevice decodes it itself).
std::string ForeignSignature(absl::string_view start);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_DEVICE_FORMAT_H_
