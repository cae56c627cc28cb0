// Copyright 2026 The vifiler Authors.
//
// VolumeStorage over directories (no root needed), and the bounded helpers storage/ uses for
// block-device volumes: RunProgram, RunWithDeadline, mountinfo parsing, dm names.

#include "storage/volume_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "storage/deadline_call.h"
#include "storage/device_mapper.h"
#include "storage/mounter.h"
#include "storage/record_block.h"
#include "storage/run_program.h"

namespace vifiler {
namespace storage {
namespace {

std::string TempDir() {
  const char* dir = getenv("TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/vifiler-volume-XXXXXX";
  EXPECT_NE(mkdtemp(path.data()), nullptr);
  char resolved[PATH_MAX];
  EXPECT_NE(realpath(path.c_str(), resolved), nullptr);
  return resolved;
}

off_t FileSize(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

TEST(DirectoryVolumeStorageTest, RecordFilesLiveInTheMetaDirectory) {
  const std::string dir = TempDir();
  ASSERT_EQ(mkdir((dir + "/.vifiler").c_str(), 0755), 0);
  const int fd = open((dir + "/.vifiler/volume_id").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "1234\n", 5), 5);
  close(fd);

  VolumeStorageOptions options;
  options.directory_reply_log_bytes = 64 * 1024;
  absl::StatusOr<std::unique_ptr<VolumeStorage>> v =
      VolumeStorage::Open(dir, "unused", "/nonexistent", options);
  ASSERT_TRUE(v.ok()) << v.status();
  VolumeStorage* s = v->get();
  EXPECT_FALSE(s->is_device());
  EXPECT_EQ(s->description(), "directory " + dir);
  EXPECT_EQ(FileSize(dir + "/.vifiler/ownership"), static_cast<off_t>(kBlockSize));
  EXPECT_EQ(FileSize(dir + "/.vifiler/mailbox"), static_cast<off_t>(kBlockSize));
  EXPECT_EQ(FileSize(dir + "/.vifiler/volume_id"), 5);  // left alone
  ASSERT_EQ(s->ownership_record()->size(), kBlockSize);
  ASSERT_EQ(s->mailbox()->size(), kBlockSize);

  RecordBlock r;
  r.kind = RecordKind::kOwnership;
  r.epoch = 3;
  r.payload = "owner=filer-a";
  ASSERT_TRUE(s->ownership_record()->Write(0, EncodeRecordBlock(r)).ok());
  ASSERT_TRUE(s->ownership_record()->Sync().ok());

  absl::StatusOr<ActiveVolume> active = s->Activate();
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(active->root, dir);
  EXPECT_TRUE(active->fence_devices.empty());
  ASSERT_EQ(active->mailbox->size(), kBlockSize);
  ASSERT_EQ(active->reply_log->size(), 64u * 1024);
  EXPECT_EQ(FileSize(dir + "/.vifiler/replylog"), 64 * 1024);

  // The owner's mailbox and the raw one are the same block.
  r.kind = RecordKind::kMailbox;
  r.sequence = 9;
  ASSERT_TRUE(active->mailbox->Write(0, EncodeRecordBlock(r)).ok());
  std::string block(kBlockSize, '\0');
  ASSERT_TRUE(s->mailbox()->Read(0, absl::MakeSpan(block)).ok());
  std::optional<RecordBlock> seen = DecodeRecordBlock(block);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->sequence, 9u);
  ASSERT_TRUE(active->reply_log->Write(kBlockSize, std::string(kBlockSize, 'l')).ok());

  EXPECT_TRUE(s->Fence().ok());
  EXPECT_TRUE(s->Deactivate().ok());
  active->mailbox.reset();
  active->reply_log.reset();

  // Reopened with another log size: the existing log keeps its size and contents.
  options.directory_reply_log_bytes = 1024 * 1024;
  v = VolumeStorage::Open(dir, "unused", "/nonexistent", options);
  ASSERT_TRUE(v.ok()) << v.status();
  active = (*v)->Activate();
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(active->reply_log->size(), 64u * 1024);
  ASSERT_TRUE(active->reply_log->Read(kBlockSize, absl::MakeSpan(block)).ok());
  EXPECT_EQ(block, std::string(kBlockSize, 'l'));
  ASSERT_TRUE((*v)->ownership_record()->Read(0, absl::MakeSpan(block)).ok());
  seen = DecodeRecordBlock(block);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->epoch, 3u);
  std::string cleanup = "rm -rf '" + dir + "'";
  ASSERT_EQ(system(cleanup.c_str()), 0);
}

TEST(DirectoryVolumeStorageTest, BadSpecsAreClearErrors) {
  absl::StatusOr<std::unique_ptr<VolumeStorage>> v =
      VolumeStorage::Open("/nonexistent/volume", "p", "/run/vifiler");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(v.status().message().find("/nonexistent/volume"), std::string::npos);

  const std::string dir = TempDir();
  const std::string file = dir + "/plain";
  close(open(file.c_str(), O_WRONLY | O_CREAT, 0644));
  v = VolumeStorage::Open(file, "p", "/run/vifiler");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("neither a directory nor a block device"), std::string::npos);

  // A symlink in place of the metadata directory is refused.
  const std::string other = TempDir();
  ASSERT_EQ(symlink(other.c_str(), (dir + "/.vifiler").c_str()), 0);
  v = VolumeStorage::Open(dir, "p", "/run/vifiler");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition) << v.status();
  std::string cleanup = "rm -rf '" + dir + "' '" + other + "'";
  ASSERT_EQ(system(cleanup.c_str()), 0);
}

TEST(RunProgramTest, ExitStatusOutputAndDeadline) {
  EXPECT_TRUE(RunProgram({"true"}, absl::Seconds(10)).ok());
  absl::Status s = RunProgram({"sh", "-c", "echo boom; echo bang >&2; exit 3"}, absl::Seconds(10));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exited with 3"), std::string::npos) << s;
  EXPECT_NE(s.message().find("boom"), std::string::npos) << s;
  EXPECT_NE(s.message().find("bang"), std::string::npos) << s;

  const absl::Time start = absl::Now();
  s = RunProgram({"sleep", "30"}, absl::Milliseconds(200));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  s = RunProgram({"/nonexistent/program"}, absl::Seconds(1));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/program"), std::string::npos) << s;
}

TEST(RunWithDeadlineTest, ReturnsTheResultOrGivesUpInTime) {
  absl::StatusOr<int> r = RunWithDeadline(
      "quick", [] { return 42; }, absl::Seconds(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  const absl::Time start = absl::Now();
  r = RunWithDeadline(
      "slow",
      [] {
        absl::SleepFor(absl::Milliseconds(500));
        return 0;
      },
      absl::Milliseconds(50));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("slow"), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(400));
}

TEST(MounterTest, MountInfoListsTheRoot) {
  absl::StatusOr<std::vector<MountEntry>> mounts = ListMounts();
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_FALSE(mounts->empty());
  absl::StatusOr<bool> root = IsMountPoint("/");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(*root);
  const std::string dir = TempDir();
  absl::StatusOr<bool> not_mounted = IsMountPoint(dir);
  ASSERT_TRUE(not_mounted.ok());
  EXPECT_FALSE(*not_mounted);
  // Detaching a directory where nothing is mounted is fine (a fenced unmount twice).
  EXPECT_TRUE(DetachMount(dir).ok() || geteuid() != 0);
  rmdir(dir.c_str());
}

TEST(DeviceMapperTest, NamesAreChecked) {
  EXPECT_TRUE(dm::ValidName("vifiler-filer-b-vb-fs"));
  EXPECT_FALSE(dm::ValidName(""));
  EXPECT_FALSE(dm::ValidName("a/b"));
  EXPECT_FALSE(dm::ValidName("control"));
  EXPECT_FALSE(dm::ValidName(std::string(128, 'a')));
  EXPECT_EQ(dm::NodePath("/run/vifiler/dev", "x"), "/run/vifiler/dev/x");
}

}  // namespace
}  // namespace storage
}  // namespace vifiler
