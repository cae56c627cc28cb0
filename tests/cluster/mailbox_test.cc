// Copyright 2026 The vifiler Authors.
//
// The volume mailbox: record format and checksum, the writer's counter, and how a reader
// judges staleness with missing, torn and garbage files.

#include "cluster/mailbox.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace vifiler {
namespace cluster {
namespace {

constexpr absl::Duration kInterval = absl::Milliseconds(20);
constexpr int kMisses = 3;

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

void WriteFile(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class MailboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/mailbox-test-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/mailbox";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  std::string path_;
};

TEST(MailboxRecordTest, RoundTrips) {
  MailboxRecord record{"filer-a", 12345, 1700000000123456789};
  const std::string data = EncodeMailboxRecord(record);
  ASSERT_EQ(data.size(), kMailboxRecordSize);
  EXPECT_EQ(data.back(), '\n');
  EXPECT_EQ(data.rfind("filer-a 12345 1700000000123456789 ", 0), 0u) << data;
  std::optional<MailboxRecord> decoded = DecodeMailboxRecord(data);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->name, "filer-a");
  EXPECT_EQ(decoded->counter, 12345u);
  EXPECT_EQ(decoded->unix_time_ns, 1700000000123456789);
}

TEST(MailboxRecordTest, RejectsTornAndGarbageRecords) {
  const std::string good = EncodeMailboxRecord({"filer-a", 7, 100});
  const std::string next = EncodeMailboxRecord({"filer-a", 8, 200});
  EXPECT_FALSE(DecodeMailboxRecord("").has_value());
  EXPECT_FALSE(DecodeMailboxRecord(good.substr(0, kMailboxRecordSize - 1)).has_value());
  EXPECT_FALSE(DecodeMailboxRecord(std::string(kMailboxRecordSize, '\0')).has_value());
  EXPECT_FALSE(DecodeMailboxRecord(std::string(kMailboxRecordSize, '\n')).has_value());
  // Torn: the new record's head on the old record's tail, at every split point.
  for (size_t split = 1; split < 40; ++split) {
    const std::string torn = next.substr(0, split) + good.substr(split);
    if (torn == good || torn == next) continue;
    EXPECT_FALSE(DecodeMailboxRecord(torn).has_value()) << "split " << split << ": " << torn;
  }
  // A changed counter digit fails the checksum.
  std::string tampered = good;
  tampered[tampered.find(" 7 ") + 1] = '9';
  EXPECT_FALSE(DecodeMailboxRecord(tampered).has_value());
  // A checksum that matches but fields that do not parse.
  MailboxRecord fake{"x", 0, 0};
  std::string forged = EncodeMailboxRecord(fake);
  EXPECT_TRUE(DecodeMailboxRecord(forged).has_value());
  forged.replace(0, 5, "x y 0");  // body no longer matches its checksum
  EXPECT_FALSE(DecodeMailboxRecord(forged).has_value());
}

TEST_F(MailboxTest, WriterAdvancesAndReaderSeesItFresh) {
  MailboxWriter writer(path_, "filer-a", kInterval);
  ASSERT_TRUE(writer.Start().ok());
  EXPECT_GE(writer.counter(), 1u);
  std::optional<MailboxRecord> first = DecodeMailboxRecord(ReadFile(path_));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->name, "filer-a");
  ASSERT_TRUE(WaitUntil([&] { return writer.counter() >= 10; }, absl::Seconds(10)));

  MailboxReader reader(path_);
  uint64_t last = 0;
  for (int i = 0; i < 30; ++i) {
    const absl::Duration unchanged = reader.Observe();
    EXPECT_LT(unchanged, 10 * kInterval) << "observation " << i;
    EXPECT_GE(reader.last_counter(), last);
    last = reader.last_counter();
    absl::SleepFor(kInterval);
  }
  EXPECT_GT(reader.last_counter(), first->counter);

  writer.Stop();
  const uint64_t final_counter = writer.counter();
  ASSERT_TRUE(WaitUntil([&] { return reader.Observe() >= kMisses * kInterval; }, absl::Seconds(5)));
  EXPECT_EQ(reader.last_counter(), final_counter);
  absl::SleepFor(5 * kInterval);
  EXPECT_GE(reader.Observe(), (kMisses + 5) * kInterval);
  writer.Stop();  // idempotent
}

TEST_F(MailboxTest, MissingFileCountsAsUnchangedFromTheFirstObservation) {
  MailboxReader reader(path_);
  EXPECT_LT(reader.Observe(), kInterval);
  absl::SleepFor(kMisses * kInterval);
  EXPECT_GE(reader.Observe(), kMisses * kInterval);
  EXPECT_EQ(reader.last_counter(), 0u);

  // The writer shows up: fresh again.
  MailboxWriter writer(path_, "filer-a", kInterval);
  ASSERT_TRUE(writer.Start().ok());
  EXPECT_LT(reader.Observe(), kInterval);
  EXPECT_GE(reader.last_counter(), 1u);
}

TEST_F(MailboxTest, TornOrGarbageFileCountsAsUnchanged) {
  WriteFile(path_, EncodeMailboxRecord({"filer-a", 41, 1}));
  MailboxReader reader(path_);
  EXPECT_LT(reader.Observe(), kInterval);
  EXPECT_EQ(reader.last_counter(), 41u);

  // Torn: the head of record 42 over the tail of record 41.
  const std::string old_record = EncodeMailboxRecord({"filer-a", 41, 1});
  const std::string new_record = EncodeMailboxRecord({"filer-a", 42, 2});
  WriteFile(path_, new_record.substr(0, 10) + old_record.substr(10));
  absl::SleepFor(kMisses * kInterval);
  EXPECT_GE(reader.Observe(), kMisses * kInterval);
  EXPECT_EQ(reader.last_counter(), 41u);

  WriteFile(path_, std::string(4096, '\xff'));
  EXPECT_GE(reader.Observe(), kMisses * kInterval);
  WriteFile(path_, "filer-a 43 3\n");  // the bare line, no checksum, not padded
  EXPECT_GE(reader.Observe(), kMisses * kInterval);
  WriteFile(path_, "");
  EXPECT_GE(reader.Observe(), kMisses * kInterval);
  ASSERT_TRUE(std::filesystem::remove(path_));
  EXPECT_GE(reader.Observe(), kMisses * kInterval);
  EXPECT_EQ(reader.last_counter(), 41u);

  WriteFile(path_, new_record);
  EXPECT_LT(reader.Observe(), kInterval);
  EXPECT_EQ(reader.last_counter(), 42u);
}

TEST_F(MailboxTest, RestartedWriterContinuesTheCounter) {
  WriteFile(path_, EncodeMailboxRecord({"filer-a", 1000, 1}));
  MailboxWriter writer(path_, "filer-a", kInterval);
  ASSERT_TRUE(writer.Start().ok());
  EXPECT_EQ(writer.counter(), 1001u);
  writer.Stop();

  // Garbage in the file: the writer starts over and overwrites it.
  WriteFile(path_, std::string(1000, 'g'));
  MailboxWriter again(path_, "filer-a", kInterval);
  ASSERT_TRUE(again.Start().ok());
  EXPECT_EQ(again.counter(), 1u);
  std::optional<MailboxRecord> record = DecodeMailboxRecord(ReadFile(path_));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->counter, 1u);
}

TEST_F(MailboxTest, StartReportsBadArguments) {
  MailboxWriter spaces(path_, "filer a", kInterval);
  EXPECT_TRUE(absl::IsInvalidArgument(spaces.Start()));
  MailboxWriter empty(path_, "", kInterval);
  EXPECT_TRUE(absl::IsInvalidArgument(empty.Start()));
  MailboxWriter zero(path_, "filer-a", absl::ZeroDuration());
  EXPECT_TRUE(absl::IsInvalidArgument(zero.Start()));
  MailboxWriter nowhere(dir_ + "/no/such/dir/mailbox", "filer-a", kInterval);
  EXPECT_FALSE(nowhere.Start().ok());
  MailboxWriter twice(path_, "filer-a", kInterval);
  ASSERT_TRUE(twice.Start().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(twice.Start()));
}

}  // namespace
}  // namespace cluster
}  // namespace vifiler
