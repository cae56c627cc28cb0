// Copyright 2026 The vifiler Authors.

#include "storage/device_layout.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/record_block.h"

namespace vifiler {
namespace storage {
namespace {

constexpr size_t kLabelOffset = 32;
constexpr size_t kRegionTableOffset = kLabelOffset + kMaxLabelLength;  // 96
constexpr size_t kRegionEntrySize = 24;
constexpr uint32_t kRegionCount = 5;

void Put(std::string* out, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*out)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t Get(absl::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in[at + i])} << (8 * i);
  return v;
}

uint64_t RoundUp(uint64_t v, uint64_t unit) { return (v + unit - 1) / unit * unit; }

std::string Mib(uint64_t bytes) {
  if (bytes % kMiB == 0) return absl::StrCat(bytes / kMiB, " MiB");
  if (bytes % 1024 == 0) return absl::StrCat(bytes / 1024, " KiB");
  return absl::StrCat(bytes, " bytes");
}

// Every region aligned, in order, not overlapping, and the fixed ones one block each.
absl::Status CheckRegions(const DeviceLayout& l, const std::string& where) {
  const Region* order[] = {&l.header, &l.ownership, &l.mailbox, &l.reply_log, &l.filesystem};
  uint64_t end = 0;
  for (const Region* r : order) {
    if (r->offset % kBlockSize != 0 || r->size % kBlockSize != 0 || r->size == 0 ||
        r->offset < end || r->end() < r->offset) {
      return absl::DataLossError(
          absl::StrCat(where, ": vifiler device header has a bad region table"));
    }
    end = r->end();
  }
  if (l.header.offset != 0 || l.header.size != kBlockSize || l.ownership.size != kBlockSize ||
      l.mailbox.size != kBlockSize) {
    return absl::DataLossError(
        absl::StrCat(where, ": vifiler device header has a bad region table"));
  }
  return absl::OkStatus();
}

}  // namespace

bool ValidLabel(absl::string_view label) {
  if (label.empty() || label.size() > kMaxLabelLength) return false;
  for (char c : label) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string UuidString(uint64_t uuid) { return absl::StrFormat("%016x", uuid); }

absl::StatusOr<DeviceLayout> ComputeLayout(uint64_t device_bytes, uint64_t log_bytes) {
  if (log_bytes == 0 || log_bytes % kBlockSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("reply log size ", log_bytes, " is not a positive multiple of ", kBlockSize));
  }
  DeviceLayout l;
  l.device_bytes = device_bytes;
  l.header = {0, kBlockSize};
  l.ownership = {kOwnershipOffset, kBlockSize};
  l.mailbox = {kMailboxOffset, kBlockSize};
  l.reply_log = {kReplyLogOffset, log_bytes};
  const uint64_t fs_start = RoundUp(kReplyLogOffset + log_bytes, kMiB);
  const uint64_t needed = fs_start + kMinFileSystemBytes;
  const uint64_t usable = device_bytes / kBlockSize * kBlockSize;
  if (log_bytes > device_bytes || usable < needed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device has ", device_bytes, " bytes (", Mib(device_bytes), "); a vifiler volume with a ",
        Mib(log_bytes), " reply log needs at least ", needed, " (", Mib(needed), ")"));
  }
  l.filesystem = {fs_start, usable - fs_start};
  return l;
}

std::string EncodeDeviceHeader(const DeviceLayout& layout) {
  std::string p(kRegionTableOffset + kRegionCount * kRegionEntrySize, '\0');
  Put(&p, 0, layout.version, 4);
  Put(&p, 4, kRegionCount, 4);
  Put(&p, 8, layout.uuid, 8);
  Put(&p, 16, static_cast<uint64_t>(absl::ToUnixMicros(layout.created)), 8);
  Put(&p, 24, layout.device_bytes, 8);
  memcpy(&p[kLabelOffset], layout.label.data(), std::min(layout.label.size(), kMaxLabelLength));
  const std::pair<RegionKind, Region> regions[] = {
      {RegionKind::kHeader, layout.header},         {RegionKind::kOwnership, layout.ownership},
      {RegionKind::kMailbox, layout.mailbox},       {RegionKind::kReplyLog, layout.reply_log},
      {RegionKind::kFileSystem, layout.filesystem},
  };
  size_t at = kRegionTableOffset;
  for (const auto& [kind, region] : regions) {
    Put(&p, at, static_cast<uint32_t>(kind), 4);
    Put(&p, at + 8, region.offset, 8);
    Put(&p, at + 16, region.size, 8);
    at += kRegionEntrySize;
  }
  RecordBlock record;
  record.kind = RecordKind::kDeviceHeader;
  record.payload = std::move(p);
  return EncodeRecordBlock(record);
}

absl::StatusOr<DeviceLayout> DecodeDeviceHeader(absl::string_view block, const std::string& where) {
  std::optional<RecordBlock> record = DecodeRecordBlock(block);
  if (!record.has_value() || record->kind != RecordKind::kDeviceHeader) {
    const bool damaged = block.size() >= 4 && Get(block, 0, 4) == kRecordMagic;
    return absl::NotFoundError(
        absl::StrCat(where, " is not a vifiler volume (",
                     damaged ? "its device header is torn or damaged" : "no vifiler device header",
                     " at byte 0)"));
  }
  const std::string& p = record->payload;
  if (p.size() < 8) {
    return absl::DataLossError(absl::StrCat(where, ": vifiler device header too short"));
  }
  DeviceLayout l;
  l.version = static_cast<uint32_t>(Get(p, 0, 4));
  if (l.version != kLayoutVersion) {
    return absl::FailedPreconditionError(absl::StrCat(where, ": vifiler layout version ", l.version,
                                                      " is not supported (this is ", kLayoutVersion,
                                                      ")"));
  }
  const uint64_t count = Get(p, 4, 4);
  if (count > 64 || p.size() < kRegionTableOffset + count * kRegionEntrySize) {
    return absl::DataLossError(absl::StrCat(where, ": vifiler device header too short"));
  }
  l.uuid = Get(p, 8, 8);
  l.created = absl::FromUnixMicros(static_cast<int64_t>(Get(p, 16, 8)));
  l.device_bytes = Get(p, 24, 8);
  absl::string_view label(p.data() + kLabelOffset, kMaxLabelLength);
  l.label = std::string(label.substr(0, label.find('\0')));
  bool seen[6] = {};
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = kRegionTableOffset + i * kRegionEntrySize;
    const uint32_t kind = static_cast<uint32_t>(Get(p, at, 4));
    const Region region = {Get(p, at + 8, 8), Get(p, at + 16, 8)};
    Region* slot = nullptr;
    switch (static_cast<RegionKind>(kind)) {
      case RegionKind::kHeader:
        slot = &l.header;
        break;
      case RegionKind::kOwnership:
        slot = &l.ownership;
        break;
      case RegionKind::kMailbox:
        slot = &l.mailbox;
        break;
      case RegionKind::kReplyLog:
        slot = &l.reply_log;
        break;
      case RegionKind::kFileSystem:
        slot = &l.filesystem;
        break;
    }
    if (slot == nullptr) continue;  // a region a later layout added: not ours to check
    if (seen[kind]) {
      return absl::DataLossError(
          absl::StrCat(where, ": vifiler device header lists region ", kind, " twice"));
    }
    seen[kind] = true;
    *slot = region;
  }
  for (int kind = 1; kind <= 5; ++kind) {
    if (!seen[kind]) {
      return absl::DataLossError(
          absl::StrCat(where, ": vifiler device header lacks region ", kind));
    }
  }
  if (l.uuid == 0) {
    return absl::DataLossError(absl::StrCat(where, ": vifiler device header has uuid 0"));
  }
  if (absl::Status s = CheckRegions(l, where); !s.ok()) return s;
  return l;
}

absl::StatusOr<DeviceLayout> ReadDeviceLayout(const std::string& device) {
  BlockFileOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<BlockFile>> file = OpenBlockFile(device, options);
  if (!file.ok()) return file.status();
  if ((*file)->size() < kBlockSize) {
    return absl::NotFoundError(
        absl::StrCat(device, " is not a vifiler volume (smaller than one block)"));
  }
  std::string block(kBlockSize, '\0');
  if (absl::Status s = (*file)->Read(0, absl::MakeSpan(block)); !s.ok()) return s;
  absl::StatusOr<DeviceLayout> layout = DecodeDeviceHeader(block, device);
  if (!layout.ok()) return layout.status();
  if (layout->filesystem.end() > (*file)->size()) {
    return absl::DataLossError(absl::StrCat(
        device, " has ", (*file)->size(), " bytes but its vifiler volume '", layout->label,
        "' (uuid ", UuidString(layout->uuid), ") ends at ", layout->filesystem.end()));
  }
  return layout;
}

std::string DescribeLayout(const DeviceLayout& layout) {
  return absl::StrCat("vifiler volume '", layout.label, "' uuid ", UuidString(layout.uuid),
                      ", reply log ", Mib(layout.reply_log.size), " at ",
                      Mib(layout.reply_log.offset), ", file system ", Mib(layout.filesystem.size),
                      " at ", Mib(layout.filesystem.offset));
}

}  // namespace storage
}  // namespace vifiler
