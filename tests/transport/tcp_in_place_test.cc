// Copyright 2026 The vifiler Authors.
//
// The two pieces a tcp connection uses to receive one-sided payloads in place:
// MemoryTable::FillIn (the region is located and checked, and only then handed to the filler,
// under the table lock) and StreamReader::ReadAvailable / WaitReadable (never block).

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "transport/tcp/memory_table.h"
#include "transport/tcp/stream_reader.h"

namespace vifiler {
namespace transport {
namespace tcp {
namespace {

// A filler that records where it was called and writes `text` there.
struct Filler {
  std::string text;
  int calls = 0;
  char* where = nullptr;
  absl::Status operator()(char* w, size_t n, size_t* filled) {
    ++calls;
    where = w;
    const size_t k = std::min(n, text.size());
    std::memcpy(w, text.data(), k);
    *filled = k;
    return absl::OkStatus();
  }
};

TEST(MemoryTableFillInTest, FillsTheRegionAtTheAddress) {
  char memory[64];
  std::memset(memory, '.', sizeof(memory));
  MemoryTable table;
  const uint32_t key = table.Add(memory, sizeof(memory), vifiler::transport::Access::kRemoteAny);
  Filler filler{"abc"};
  size_t filled = 0;
  const uint64_t address = reinterpret_cast<uintptr_t>(memory) + 10;
  ASSERT_TRUE(table.FillIn(key, address, 5, std::ref(filler), &filled).ok());
  EXPECT_EQ(filler.calls, 1);
  EXPECT_EQ(filler.where, memory + 10);
  EXPECT_EQ(filled, 3u);
  EXPECT_EQ(std::string(memory + 9, 5), ".abc.");
}

TEST(MemoryTableFillInTest, RefusesWithoutCallingTheFiller) {
  char memory[64];
  char privy[64];
  MemoryTable table;
  const uint32_t key = table.Add(memory, sizeof(memory), vifiler::transport::Access::kRemoteAny);
  const uint32_t private_key =
      table.Add(privy, sizeof(privy), vifiler::transport::Access::kLocalSink);
  const uint64_t base = reinterpret_cast<uintptr_t>(memory);
  Filler filler{"x"};
  size_t filled = 7;
  EXPECT_TRUE(absl::IsNotFound(table.FillIn(key + 1, base, 1, std::ref(filler), &filled)));
  EXPECT_TRUE(absl::IsOutOfRange(table.FillIn(key, base + 60, 5, std::ref(filler), &filled)));
  EXPECT_TRUE(absl::IsOutOfRange(table.FillIn(key, base - 1, 1, std::ref(filler), &filled)));
  EXPECT_TRUE(absl::IsPermissionDenied(
      table.FillIn(private_key, reinterpret_cast<uintptr_t>(privy), 1, std::ref(filler), &filled)));
  table.Remove(key);
  EXPECT_TRUE(absl::IsNotFound(table.FillIn(key, base, 1, std::ref(filler), &filled)));
  EXPECT_EQ(filler.calls, 0);
  EXPECT_EQ(filled, 0u);
}

class StreamReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0); }
  void TearDown() override {
    if (fds_[0] >= 0) close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  int fds_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
};

TEST_F(StreamReaderTest, ReadAvailableNeverWaits) {
  StreamReader reader(fds_[0], &stop_);
  char buffer[16];
  size_t got = 99;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(reader.ReadAvailable(buffer, sizeof(buffer), &got).ok());
  EXPECT_EQ(got, 0u);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(50));

  ASSERT_EQ(write(fds_[1], "hello", 5), 5);
  ASSERT_TRUE(reader.ReadAvailable(buffer, 3, &got).ok());
  EXPECT_EQ(std::string(buffer, got), "hel");
  ASSERT_TRUE(reader.ReadAvailable(buffer, sizeof(buffer), &got).ok());
  EXPECT_EQ(std::string(buffer, got), "lo");
}

TEST_F(StreamReaderTest, ReadAvailableServesBufferedBytesFirst) {
  StreamReader reader(fds_[0], &stop_);
  ASSERT_EQ(write(fds_[1], "0123456789", 10), 10);
  char small[2];
  ASSERT_TRUE(reader.ReadExact(small, 2).ok());  // buffers all ten bytes
  EXPECT_EQ(std::string(small, 2), "01");
  char rest[16];
  size_t got = 0;
  ASSERT_TRUE(reader.ReadAvailable(rest, sizeof(rest), &got).ok());
  EXPECT_EQ(std::string(rest, got), "23456789");
}

TEST_F(StreamReaderTest, EndOfStreamAndStopAreReported) {
  StreamReader reader(fds_[0], &stop_);
  char buffer[4];
  size_t got = 0;
  close(fds_[1]);
  fds_[1] = -1;
  EXPECT_TRUE(absl::IsUnavailable(reader.ReadAvailable(buffer, sizeof(buffer), &got)));
  stop_ = true;
  EXPECT_TRUE(absl::IsCancelled(reader.ReadAvailable(buffer, sizeof(buffer), &got)));
  EXPECT_TRUE(absl::IsCancelled(reader.WaitReadable()));
}

TEST_F(StreamReaderTest, WaitReadableIsBounded) {
  StreamReader reader(fds_[0], &stop_);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(reader.WaitReadable().ok());  // nothing arrives: back after about 200 ms
  const absl::Duration waited = absl::Now() - start;
  EXPECT_GE(waited, absl::Milliseconds(150));
  EXPECT_LT(waited, absl::Seconds(2));
  ASSERT_EQ(write(fds_[1], "x", 1), 1);
  const absl::Time again = absl::Now();
  ASSERT_TRUE(reader.WaitReadable().ok());
  EXPECT_LT(absl::Now() - again, absl::Milliseconds(100));
}

}  // namespace
}  // namespace tcp
}  // namespace transport
}  // namespace vifiler
