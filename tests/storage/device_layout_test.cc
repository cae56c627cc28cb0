// Copyright 2026 The vifiler Authors.
//
// storage/device_layout and storage/device_format on regular files (no root needed): region
// offsets, the header's round trip and its failure modes, FormatDevice's refusals and the
// regions it zeroes.

#include "storage/device_layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "storage/block_file.h"
#include "storage/device_format.h"
#include "storage/record_block.h"

namespace vifiler {
namespace storage {
namespace {

// A sparse regular file of `bytes`, optionally filled with `fill` (non-zero) instead.
class TempDevice {
 public:
  explicit TempDevice(uint64_t bytes, char fill = '\0') {
    const char* dir = getenv("TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/vifiler-device-XXXXXX";
    const int fd = mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
    if (fill != '\0') {
      const std::string chunk(kMiB, fill);
      for (uint64_t at = 0; at < bytes; at += chunk.size()) {
        EXPECT_EQ(pwrite(fd, chunk.data(), std::min<uint64_t>(chunk.size(), bytes - at),
                         static_cast<off_t>(at)),
                  static_cast<ssize_t>(std::min<uint64_t>(chunk.size(), bytes - at)));
      }
    }
    close(fd);
  }
  ~TempDevice() { unlink(path_.c_str()); }

  const std::string& path() const { return path_; }
  std::string Read(uint64_t offset, size_t length) const {
    std::string out(length, '\0');
    const int fd = open(path_.c_str(), O_RDONLY);
    EXPECT_EQ(pread(fd, out.data(), length, static_cast<off_t>(offset)),
              static_cast<ssize_t>(length));
    close(fd);
    return out;
  }
  void Write(uint64_t offset, const std::string& data) const {
    const int fd = open(path_.c_str(), O_WRONLY);
    EXPECT_EQ(pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(data.size()));
    close(fd);
  }

 private:
  std::string path_;
};

FormatOptions Options(const std::string& label) {
  FormatOptions o;
  o.label = label;
  o.make_filesystem = false;
  o.log_bytes = kMiB;
  return o;
}

bool Contains(const absl::Status& s, const std::string& text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

TEST(DeviceLayoutTest, RegionsSitWhereTheTableSays) {
  const uint64_t bytes = 64 * kMiB + 5000;  // not a whole number of blocks
  absl::StatusOr<DeviceLayout> l = ComputeLayout(bytes, kDefaultReplyLogBytes);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->header.offset, 0u);
  EXPECT_EQ(l->header.size, kBlockSize);
  EXPECT_EQ(l->ownership.offset, 4096u);
  EXPECT_EQ(l->ownership.size, kBlockSize);
  EXPECT_EQ(l->mailbox.offset, 8192u);
  EXPECT_EQ(l->mailbox.size, kBlockSize);
  EXPECT_EQ(l->reply_log.offset, kMiB);
  EXPECT_EQ(l->reply_log.size, 16 * kMiB);
  EXPECT_EQ(l->filesystem.offset, 17 * kMiB);
  EXPECT_EQ(l->filesystem.end(), 64 * kMiB + 4096);  // rounded down to whole blocks
  EXPECT_EQ(l->device_bytes, bytes);

  // A log that does not end on a MiB: the file system starts at the next MiB.
  l = ComputeLayout(64 * kMiB, 100 * 1024);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->reply_log.size, 100u * 1024);
  EXPECT_EQ(l->filesystem.offset, 2 * kMiB);
  EXPECT_EQ(l->filesystem.size, 62 * kMiB);
}

TEST(DeviceLayoutTest, TooSmallOrOddSizesAreRefused) {
  absl::StatusOr<DeviceLayout> l = ComputeLayout(20 * kMiB, kDefaultReplyLogBytes);
  ASSERT_EQ(l.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(l.status(), "20 MiB")) << l.status();
  EXPECT_TRUE(Contains(l.status(), "25 MiB")) << l.status();  // 17 MiB + 8 MiB of file system
  EXPECT_TRUE(ComputeLayout(25 * kMiB, kDefaultReplyLogBytes).ok());
  EXPECT_EQ(ComputeLayout(64 * kMiB, 1000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeLayout(64 * kMiB, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DeviceLayoutTest, HeaderRoundTrips) {
  absl::StatusOr<DeviceLayout> l = ComputeLayout(100 * kMiB, 2 * kMiB);
  ASSERT_TRUE(l.ok());
  l->label = "vol-b.1";
  l->uuid = 0x0123456789abcdefull;
  l->created = absl::FromUnixMicros(1767225600123456);
  const std::string block = EncodeDeviceHeader(*l);
  ASSERT_EQ(block.size(), kBlockSize);
  std::optional<RecordBlock> record = DecodeRecordBlock(block);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->kind, RecordKind::kDeviceHeader);

  absl::StatusOr<DeviceLayout> back = DecodeDeviceHeader(block, "dev");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, kLayoutVersion);
  EXPECT_EQ(back->label, "vol-b.1");
  EXPECT_EQ(back->uuid, 0x0123456789abcdefull);
  EXPECT_EQ(back->created, l->created);
  EXPECT_EQ(back->device_bytes, 100 * kMiB);
  EXPECT_EQ(back->ownership.offset, l->ownership.offset);
  EXPECT_EQ(back->mailbox.offset, l->mailbox.offset);
  EXPECT_EQ(back->reply_log.offset, kMiB);
  EXPECT_EQ(back->reply_log.size, 2 * kMiB);
  EXPECT_EQ(back->filesystem.offset, 3 * kMiB);
  EXPECT_EQ(back->filesystem.size, 97 * kMiB);
  EXPECT_EQ(UuidString(back->uuid), "0123456789abcdef");
  EXPECT_NE(DescribeLayout(*back).find("'vol-b.1' uuid 0123456789abcdef"), std::string::npos);

  // A 64-character label fits exactly.
  l->label = std::string(kMaxLabelLength, 'x');
  back = DecodeDeviceHeader(EncodeDeviceHeader(*l), "dev");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->label, l->label);
}

TEST(DeviceLayoutTest, TornZeroAndForeignBlocksAreNotAVolume) {
  absl::StatusOr<DeviceLayout> l = ComputeLayout(100 * kMiB, kMiB);
  ASSERT_TRUE(l.ok());
  l->label = "v";
  l->uuid = 7;
  const std::string block = EncodeDeviceHeader(*l);
  const std::string torn = block.substr(0, 64) + std::string(kBlockSize - 64, '\0');
  absl::StatusOr<DeviceLayout> back = DecodeDeviceHeader(torn, "/dev/x");
  EXPECT_EQ(back.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(back.status(), "/dev/x is not a vifiler volume")) << back.status();
  EXPECT_TRUE(Contains(back.status(), "torn")) << back.status();
  back = DecodeDeviceHeader(std::string(kBlockSize, '\0'), "/dev/x");
  EXPECT_EQ(back.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(back.status(), "no vifiler device header")) << back.status();
  // A valid record of another kind at block 0 is no header either.
  RecordBlock other;
  other.kind = RecordKind::kMailbox;
  EXPECT_EQ(DecodeDeviceHeader(EncodeRecordBlock(other), "d").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(DeviceLayoutTest, UnknownVersionAndNonsenseRegionsAreRefused) {
  absl::StatusOr<DeviceLayout> l = ComputeLayout(100 * kMiB, kMiB);
  ASSERT_TRUE(l.ok());
  l->label = "v";
  l->uuid = 7;
  DeviceLayout later = *l;
  later.version = 2;
  absl::StatusOr<DeviceLayout> back = DecodeDeviceHeader(EncodeDeviceHeader(later), "d");
  EXPECT_EQ(back.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(back.status(), "version 2")) << back.status();

  DeviceLayout overlap = *l;
  overlap.filesystem.offset = overlap.reply_log.offset + kBlockSize;
  EXPECT_EQ(DecodeDeviceHeader(EncodeDeviceHeader(overlap), "d").status().code(),
            absl::StatusCode::kDataLoss);
  DeviceLayout unaligned = *l;
  unaligned.reply_log.size += 512;
  EXPECT_EQ(DecodeDeviceHeader(EncodeDeviceHeader(unaligned), "d").status().code(),
            absl::StatusCode::kDataLoss);
  DeviceLayout no_uuid = *l;
  no_uuid.uuid = 0;
  EXPECT_EQ(DecodeDeviceHeader(EncodeDeviceHeader(no_uuid), "d").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(DeviceLayoutTest, LabelsAreChecked) {
  EXPECT_TRUE(ValidLabel("vb"));
  EXPECT_TRUE(ValidLabel("filer-b:vol_1.x"));
  EXPECT_FALSE(ValidLabel(""));
  EXPECT_FALSE(ValidLabel("has space"));
  EXPECT_FALSE(ValidLabel("slash/"));
  EXPECT_FALSE(ValidLabel(std::string(kMaxLabelLength + 1, 'a')));
}

TEST(FormatDeviceTest, FormatsAFileAndZeroesTheRecordRegions) {
  TempDevice dev(64 * kMiB, '\xab');  // old contents everywhere
  FormatOptions o = Options("vol-a");
  o.log_bytes = kDefaultReplyLogBytes;
  absl::StatusOr<DeviceLayout> written = FormatDevice(dev.path(), o);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_NE(written->uuid, 0u);
  EXPECT_EQ(written->label, "vol-a");
  EXPECT_LT(absl::Now() - written->created, absl::Minutes(1));

  absl::StatusOr<DeviceLayout> read = ReadDeviceLayout(dev.path());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->uuid, written->uuid);
  EXPECT_EQ(read->label, "vol-a");
  EXPECT_EQ(read->created, absl::FromUnixMicros(absl::ToUnixMicros(written->created)));
  EXPECT_EQ(read->reply_log.offset, kMiB);
  EXPECT_EQ(read->reply_log.size, kDefaultReplyLogBytes);
  EXPECT_EQ(read->filesystem.offset, 17 * kMiB);
  EXPECT_EQ(read->filesystem.end(), 64 * kMiB);

  // Everything between the header and the file system is zero; the file system is untouched
  // (make_filesystem false).
  const std::string meta = dev.Read(kBlockSize, read->filesystem.offset - kBlockSize);
  EXPECT_EQ(meta.find_first_not_of('\0'), std::string::npos);
  EXPECT_EQ(dev.Read(read->filesystem.offset, kMiB), std::string(kMiB, '\xab'));
  // The header block is a record block with zero padding.
  EXPECT_TRUE(DecodeRecordBlock(dev.Read(0, kBlockSize)).has_value());
}

TEST(FormatDeviceTest, RefusesAnExistingVolumeUnlessForced) {
  TempDevice dev(32 * kMiB);
  absl::StatusOr<DeviceLayout> first = FormatDevice(dev.path(), Options("first"));
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<DeviceLayout> again = FormatDevice(dev.path(), Options("second"));
  ASSERT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(again.status(), "already holds vifiler volume 'first'")) << again.status();
  EXPECT_TRUE(Contains(again.status(), UuidString(first->uuid))) << again.status();
  EXPECT_EQ(std::string(again.status().message()).find('\n'), std::string::npos);
  // Nothing changed.
  EXPECT_EQ(ReadDeviceLayout(dev.path())->uuid, first->uuid);

  FormatOptions force = Options("second");
  force.force = true;
  force.log_bytes = kMiB;
  absl::StatusOr<DeviceLayout> second = FormatDevice(dev.path(), force);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->uuid, first->uuid);
  absl::StatusOr<DeviceLayout> read = ReadDeviceLayout(dev.path());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->label, "second");
  EXPECT_EQ(read->filesystem.offset, 2 * kMiB);
}

TEST(FormatDeviceTest, RefusesForeignSignaturesUnlessForced) {
  struct Case {
    uint64_t offset;
    std::string magic;
    std::string named;
  };
  const Case cases[] = {
      {1080, std::string("\x53\xEF", 2), "ext2/3/4"},
      {0, "XFSB", "XFS"},
      {512, "EFI PART", "GPT"},
      {510, std::string("\x55\xAA", 2), "MBR"},
      {512, "LABELONE", "LVM2"},
      {1536, "LABELONE", "LVM2"},
      {4086, "SWAPSPACE2", "swap"},
  };
  for (const Case& c : cases) {
    TempDevice dev(32 * kMiB);
    dev.Write(c.offset, c.magic);
    absl::StatusOr<DeviceLayout> l = FormatDevice(dev.path(), Options("v"));
    ASSERT_EQ(l.status().code(), absl::StatusCode::kFailedPrecondition) << c.named;
    EXPECT_TRUE(Contains(l.status(), c.named)) << l.status();
    EXPECT_TRUE(Contains(l.status(), dev.path())) << l.status();
    EXPECT_TRUE(Contains(l.status(), "force")) << l.status();
    EXPECT_EQ(dev.Read(c.offset, c.magic.size()), c.magic);  // untouched
    FormatOptions force = Options("v");
    force.force = true;
    ASSERT_TRUE(FormatDevice(dev.path(), force).ok()) << c.named;
    EXPECT_TRUE(ReadDeviceLayout(dev.path()).ok());
    // Block 0 (the header) overwrote the signature.
    EXPECT_TRUE(ForeignSignature(dev.Read(0, 2 * kBlockSize)).empty()) << c.named;
  }
}

TEST(FormatDeviceTest, RefusesSmallDevicesAndBadLabels) {
  TempDevice small(9 * kMiB);
  absl::StatusOr<DeviceLayout> l = FormatDevice(small.path(), Options("v"));
  ASSERT_EQ(l.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(l.status(), small.path())) << l.status();
  EXPECT_TRUE(Contains(l.status(), "needs at least")) << l.status();
  EXPECT_EQ(ReadDeviceLayout(small.path()).status().code(), absl::StatusCode::kNotFound);

  TempDevice dev(32 * kMiB);
  EXPECT_EQ(FormatDevice(dev.path(), Options("bad label")).status().code(),
            absl::StatusCode::kInvalidArgument);
  FormatOptions odd = Options("v");
  odd.log_bytes = 5000;
  EXPECT_EQ(FormatDevice(dev.path(), odd).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FormatDevice("/nonexistent/dev", Options("v")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(FormatDeviceTest, ATornHeaderIsNotAVolumeAndIsNotOverwrittenSilently) {
  TempDevice dev(32 * kMiB);
  ASSERT_TRUE(FormatDevice(dev.path(), Options("v")).ok());
  // Power fails while the header is rewritten: its second half is stale.
  const std::string header = dev.Read(0, kBlockSize);
  std::string torn = header;
  torn[40] ^= 0x55;
  dev.Write(0, torn);
  absl::StatusOr<DeviceLayout> l = ReadDeviceLayout(dev.path());
  ASSERT_EQ(l.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(l.status(), "not a vifiler volume")) << l.status();
  absl::StatusOr<DeviceLayout> f = FormatDevice(dev.path(), Options("v"));
  ASSERT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(f.status(), "damaged vifiler device header")) << f.status();
}

TEST(FormatDeviceTest, AShrunkenDeviceIsDataLoss) {
  TempDevice dev(64 * kMiB);
  ASSERT_TRUE(FormatDevice(dev.path(), Options("v")).ok());
  ASSERT_EQ(truncate(dev.path().c_str(), 40 * kMiB), 0);
  absl::StatusOr<DeviceLayout> l = ReadDeviceLayout(dev.path());
  EXPECT_EQ(l.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(l.status(), "'v'")) << l.status();
}

TEST(FormatDeviceTest, MakesAnExt4FileSystemInTheFileSystemRegionOfAFile) {
  if (access("/usr/sbin/mkfs.ext4", X_OK) != 0 && access("/sbin/mkfs.ext4", X_OK) != 0) {
    GTEST_SKIP() << "mkfs.ext4 not installed";
  }
  TempDevice dev(48 * kMiB, '\xab');
  FormatOptions o = Options("with-fs");
  o.make_filesystem = true;
  o.log_bytes = 2 * kMiB;
  absl::StatusOr<DeviceLayout> l = FormatDevice(dev.path(), o);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(dev.Read(l->filesystem.offset + 1080, 2), std::string("\x53\xEF", 2));
  const std::string meta = dev.Read(kBlockSize, l->filesystem.offset - kBlockSize);
  EXPECT_EQ(meta.find_first_not_of('\0'), std::string::npos);
  EXPECT_TRUE(ReadDeviceLayout(dev.path()).ok());
}

}  // namespace
}  // namespace storage
}  // namespace vifiler
