// Copyright 2026 The vifiler Authors.
//
// storage/: CRC-32C, record block framing, BlockFile on files (O_DIRECT or buffered), and the
// MemoryDisk's power-cut and error models that the log and record tests rely on.

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "storage/block_file.h"
#include "storage/crc32c.h"
#include "storage/memory_disk.h"
#include "storage/record_block.h"

namespace vifiler {
namespace storage {
namespace {

std::string Block(char fill) { return std::string(kBlockSize, fill); }

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c("6789", Crc32c("12345")), Crc32c("123456789"));
}

TEST(RecordBlockTest, RoundTripsAndRejectsDamage) {
  RecordBlock r;
  r.kind = RecordKind::kMailbox;
  r.epoch = 7;
  r.sequence = 123456789012345ull;
  r.payload = "hello";
  const std::string block = EncodeRecordBlock(r);
  ASSERT_EQ(block.size(), kBlockSize);
  std::optional<RecordBlock> back = DecodeRecordBlock(block);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->kind, RecordKind::kMailbox);
  EXPECT_EQ(back->epoch, 7u);
  EXPECT_EQ(back->sequence, 123456789012345ull);
  EXPECT_EQ(back->payload, "hello");

  for (size_t at : {0, 8, 16, 24, 28, 32, 33}) {
    std::string bad = block;
    bad[at] ^= 1;
    EXPECT_FALSE(DecodeRecordBlock(bad).has_value()) << "flipped byte " << at;
  }
  EXPECT_FALSE(DecodeRecordBlock(Block('\0')).has_value());
  EXPECT_FALSE(DecodeRecordBlock(block.substr(0, kBlockSize - 1)).has_value());
  // A torn block: the first half new, the second half from an older record.
  r.payload = std::string(kMaxRecordPayload, 'x');
  std::string torn =
      EncodeRecordBlock(r).substr(0, kBlockSize / 2) + Block('y').substr(0, kBlockSize / 2);
  EXPECT_FALSE(DecodeRecordBlock(torn).has_value());
}

std::string TempPath() {
  const char* dir = getenv("TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/vifiler-blockfile-XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  close(fd);
  return path;
}

TEST(BlockFileTest, RegionsOfAFileReadBackWhatWasWritten) {
  const std::string path = TempPath();
  BlockFileOptions o;
  o.create = true;
  o.offset = 2 * kBlockSize;
  o.size = 4 * kBlockSize;
  auto file = OpenBlockFile(path, o);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->size(), 4 * kBlockSize);
  ASSERT_TRUE((*file)->Write(kBlockSize, Block('a') + Block('b')).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  std::string got(2 * kBlockSize, '\0');
  ASSERT_TRUE((*file)->Read(kBlockSize, absl::MakeSpan(got)).ok());
  EXPECT_EQ(got, Block('a') + Block('b'));
  // Unwritten blocks read as zeroes.
  std::string zero(kBlockSize, 'z');
  ASSERT_TRUE((*file)->Read(0, absl::MakeSpan(zero)).ok());
  EXPECT_EQ(zero, Block('\0'));

  // The whole file, seen through another region: the data sits at offset 3 blocks.
  BlockFileOptions whole;
  auto all = OpenBlockFile(path, whole);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->size(), 6 * kBlockSize);
  std::string b(kBlockSize, '\0');
  ASSERT_TRUE((*all)->Read(4 * kBlockSize, absl::MakeSpan(b)).ok());
  EXPECT_EQ(b, Block('b'));

  // Misaligned and out-of-range requests are refused.
  EXPECT_EQ((*file)->Write(100, Block('c')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*file)->Write(0, "short").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*file)->Write(4 * kBlockSize, Block('c')).code(), absl::StatusCode::kInvalidArgument);
  unlink(path.c_str());
}

TEST(BlockFileTest, MissingFileAndBadRegionAreClearErrors) {
  BlockFileOptions o;
  auto missing = OpenBlockFile("/nonexistent/vifiler-block", o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/vifiler-block"), std::string::npos);
  const std::string path = TempPath();
  o.offset = 100;
  EXPECT_EQ(OpenBlockFile(path, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.offset = 0;
  o.size = kBlockSize;  // the file is empty and not created
  EXPECT_FALSE(OpenBlockFile(path, o).ok());
  unlink(path.c_str());
}

TEST(MemoryDiskTest, PowerCutLosesOnlyWhatWasNotSynced) {
  auto disk = MemoryDisk::Create(8 * kBlockSize);
  auto a = disk->Open(0, 4 * kBlockSize);
  auto b = disk->Open(4 * kBlockSize);  // another host's view of another region
  ASSERT_TRUE(a->Write(0, Block('1')).ok());
  ASSERT_TRUE(b->Sync().ok());  // any sync makes every earlier write durable
  ASSERT_TRUE(a->Write(kBlockSize, Block('2')).ok());
  ASSERT_TRUE(b->Write(0, Block('3')).ok());
  EXPECT_EQ(disk->Contents(4 * kBlockSize, kBlockSize), Block('3'));  // visible before the cut
  disk->PowerCut(MemoryDisk::PowerCutMode::kLoseUnsynced);
  EXPECT_EQ(disk->Contents(0, kBlockSize), Block('1'));
  EXPECT_EQ(disk->Contents(kBlockSize, kBlockSize), Block('\0'));
  EXPECT_EQ(disk->Contents(4 * kBlockSize, kBlockSize), Block('\0'));

  ASSERT_TRUE(a->Write(0, Block('4')).ok());
  ASSERT_TRUE(a->Write(kBlockSize, Block('5')).ok());
  disk->PowerCutKeeping([](size_t i) { return i == 1; });
  EXPECT_EQ(disk->Contents(0, kBlockSize), Block('1'));
  EXPECT_EQ(disk->Contents(kBlockSize, kBlockSize), Block('5'));

  ASSERT_TRUE(a->Write(0, Block('6')).ok());
  disk->PowerCut(MemoryDisk::PowerCutMode::kTearLast);
  EXPECT_EQ(disk->Contents(0, kBlockSize),
            Block('6').substr(0, kBlockSize / 2) + Block('1').substr(0, kBlockSize / 2));
}

TEST(MemoryDiskTest, InjectedErrorsChangeNothing) {
  auto disk = MemoryDisk::Create(2 * kBlockSize);
  auto f = disk->Open();
  disk->FailWritesAfter(1);
  EXPECT_TRUE(f->Write(0, Block('a')).ok());
  EXPECT_FALSE(f->Write(kBlockSize, Block('b')).ok());
  EXPECT_EQ(disk->Contents(kBlockSize, kBlockSize), Block('\0'));
  disk->FailWritesAfter(-1);
  disk->SetSyncError(absl::UnavailableError("sync broke"));
  EXPECT_FALSE(f->Sync().ok());
  disk->PowerCut(MemoryDisk::PowerCutMode::kLoseUnsynced);
  EXPECT_EQ(disk->Contents(0, kBlockSize), Block('\0'));
  disk->SetSyncError(absl::OkStatus());
  disk->SetReadError(absl::UnavailableError("read broke"));
  std::string out(kBlockSize, '\0');
  EXPECT_FALSE(f->Read(0, absl::MakeSpan(out)).ok());
}

}  // namespace
}  // namespace storage
}  // namespace vifiler
