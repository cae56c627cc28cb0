// Copyright 2026 The vifiler Authors.

#include "preload/fd_table.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>

#include "gtest/gtest.h"

namespace vifiler {
namespace preload {
namespace {

TEST(FdTableTest, PlaceholdersAreRealHighCloseOnExecDescriptors) {
  rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  const int fd = MakePlaceholder();
  ASSERT_GE(fd, 0);
  if (limit.rlim_cur > 512) {
    EXPECT_GE(fd, 512);
  }
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  // The kernel does not hand the number out again while it is held.
  const int other = open("/dev/null", O_RDONLY);
  ASSERT_GE(other, 0);
  EXPECT_NE(other, fd);
  close(other);
  close(fd);
}

TEST(FdTableTest, InstallFindRemove) {
  FdTable& table = FdTable::Get();
  const int fd = MakePlaceholder();
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(table.Owned(fd));
  EXPECT_EQ(table.Find(fd), nullptr);
  auto file = std::make_shared<OpenFile>();
  file->flags = O_RDWR;
  ASSERT_TRUE(table.Install(fd, file));
  EXPECT_TRUE(table.Owned(fd));
  EXPECT_EQ(table.Find(fd), file);
  // A second number for the same open file description (dup) shares it.
  const int dup_fd = MakePlaceholder();
  ASSERT_TRUE(table.Install(dup_fd, file));
  table.Find(fd)->offset = 42;
  EXPECT_EQ(table.Find(dup_fd)->offset.load(), 42u);
  EXPECT_EQ(table.Remove(fd), file);
  EXPECT_FALSE(table.Owned(fd));
  EXPECT_EQ(table.Remove(fd), nullptr);
  EXPECT_TRUE(table.Owned(dup_fd));
  EXPECT_EQ(table.Remove(dup_fd), file);
  EXPECT_FALSE(table.Owned(-1));
  EXPECT_FALSE(table.Owned(FdTable::kMaxFd));
  EXPECT_FALSE(table.Install(FdTable::kMaxFd, file));
  close(fd);
  close(dup_fd);
}

}  // namespace
}  // namespace preload
}  // namespace vifiler
