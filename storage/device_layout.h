// Copyright 2026 The vifiler Authors.
//
// The layout of a vifiler volume on a block device (a dual-attached SAN disk both filers of a
// pair reach). The records the pair coordinates through live outside the file system, in
// checksummed 4 KiB record blocks (storage/record_block.h) read and written with O_DIRECT;
// the file system (ext4) fills the rest and is mounted only by the volume's current owner.
//
//   from                  to (exclusive)          contents
//   0                     4 KiB                   device header (RecordKind::kDeviceHeader)
//   4 KiB                 8 KiB                   ownership record (one record block)
//   8 KiB                 12 KiB                  mailbox: the owner's lease heartbeat
//   12 KiB                1 MiB                   reserved, zero
//   1 MiB                 1 MiB + L               reply log, L = log_bytes (default 16 MiB,
//                                                 a multiple of 4 KiB), zeroed at format
//   1 MiB + L             F                       zero padding to the next 1 MiB boundary
//   F                     device end, rounded     file system (ext4), at least
//                         down to 4 KiB           kMinFileSystemBytes
// where F = RoundUp(1 MiB + L, 1 MiB).
//
// Device header payload (little-endian), inside the record block's payload:
//    0  u32  layout version (kLayoutVersion)
//    4  u32  region count N (5)
//    8  u64  volume uuid: random, non-zero, chosen at format
//   16  i64  creation time, microseconds since the Unix epoch
//   24  u64  device size in bytes at format
//   32  u8[64] label, NUL padded
//   96  N x 24 bytes: region table entries {u32 kind (RegionKind), u32 zero, u64 offset,
//       u64 size}; offsets and sizes in bytes, multiples of 4 KiB
// The record block's epoch and sequence are 0. Readers take the offsets from the region table
// (checked for sense), not from the constants below, which only FormatDevice uses.
//
// FormatDevice (storage/device_format.h) writes the header last, so a device whose format was
// interrupted reads as "not a vifiler volume".

#ifndef VIFILER_STORAGE_DEVICE_LAYOUT_H_
#define VIFILER_STORAGE_DEVICE_LAYOUT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/block_file.h"

namespace vifiler {
namespace storage {

inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kOwnershipOffset = 1 * kBlockSize;
inline constexpr uint64_t kMailboxOffset = 2 * kBlockSize;
inline constexpr uint64_t kReplyLogOffset = 1 * kMiB;
inline constexpr uint64_t kDefaultReplyLogBytes = 16 * kMiB;
// The smallest file-system region a layout accepts.
inline constexpr uint64_t kMinFileSystemBytes = 8 * kMiB;
inline constexpr size_t kMaxLabelLength = 64;

enum class RegionKind : uint32_t {
  kHeader = 1,
  kOwnership = 2,
  kMailbox = 3,
  kReplyLog = 4,
  kFileSystem = 5,
};

struct Region {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t end() const { return offset + size; }
};

struct DeviceLayout {
  uint32_t version = kLayoutVersion;
  std::string label;
  uint64_t uuid = 0;
  absl::Time created;
  uint64_t device_bytes = 0;  // at format
  Region header;
  Region ownership;
  Region mailbox;
  Region reply_log;
  Region filesystem;
};

// The layout FormatDevice writes on a device of device_bytes bytes (label, uuid and creation
// time left for the caller). InvalidArgumentError for a log size that is zero or not a multiple
// of 4 KiB; FailedPreconditionError, naming both sizes, for a device too small to hold the
// fixed area, the log and kMinFileSystemBytes of file system.
absl::StatusOr<DeviceLayout> ComputeLayout(uint64_t device_bytes, uint64_t log_bytes);

// A label is 1..kMaxLabelLength characters of [A-Za-z0-9._:-].
bool ValidLabel(absl::string_view label);

// The header block (kBlockSize bytes) for a layout, and back. DecodeDeviceHeader returns
// NotFoundError ("not a vifiler volume") for a block that is no valid header record (torn,
// zero, foreign), FailedPreconditionError for an unknown layout version and DataLossError for a
// checksummed header whose region table makes no sense. `where` names the device in messages.
std::string EncodeDeviceHeader(const DeviceLayout& layout);
absl::StatusOr<DeviceLayout> DecodeDeviceHeader(absl::string_view block, const std::string& where);

// Reads and checks the header of a block device or file with O_DIRECT (buffered where the file
// system has no O_DIRECT). Errors as DecodeDeviceHeader's, plus DataLossError when the device is
// now smaller than its file-system region, and the open/read error of the device.
absl::StatusOr<DeviceLayout> ReadDeviceLayout(const std::string& device);

// One line for messages and status: label, uuid (16 hex digits) and region sizes.
std::string DescribeLayout(const DeviceLayout& layout);
std::string UuidString(uint64_t uuid);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_DEVICE_LAYOUT_H_
