// Copyright 2026 The vifiler Authors.
//
// ClientIdentity: a scope makes the kernel check permission bits for the client's user on
// this thread only, and the filer's identity (root) is back after it, nested or not.

#include "filer/client_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace vifiler {
namespace filer {
namespace {

class ClientIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ClientIdentity::Supported()) GTEST_SKIP() << "needs root (setfsuid)";
    char pattern[] = "/tmp/client_identity_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_EQ(chmod(dir_.c_str(), 01777), 0);
    // A file of root's nobody else may read or write, and one only group 2000 may read.
    secret_ = dir_ + "/secret";
    group_file_ = dir_ + "/group";
    ASSERT_TRUE(MakeFile(secret_, 0600, 0));
    ASSERT_TRUE(MakeFile(group_file_, 0040, 2000));
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  static bool MakeFile(const std::string& path, mode_t mode, gid_t gid) {
    const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) return false;
    const bool ok = fchown(fd, 0, gid) == 0 && fchmod(fd, mode) == 0;
    close(fd);
    return ok;
  }
  static int OpenErrno(const std::string& path, int flags) {
    const int fd = open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return errno;
    close(fd);
    return 0;
  }

  std::string dir_;
  std::string secret_;
  std::string group_file_;
};

TEST_F(ClientIdentityTest, PermissionBitsApplyToTheClientAndRootComesBack) {
  const Credentials user{1000, 1000, {}};
  EXPECT_EQ(OpenErrno(secret_, O_RDONLY), 0);
  {
    ClientIdentity as(&user);
    ASSERT_TRUE(as.ok());
    EXPECT_EQ(ClientIdentity::Current(), &user);
    EXPECT_EQ(CurrentFsuid(), 1000u);
    EXPECT_EQ(CurrentFsgid(), 1000u);
    EXPECT_EQ(OpenErrno(secret_, O_RDONLY), EACCES);
    EXPECT_EQ(OpenErrno(secret_, O_WRONLY), EACCES);
    EXPECT_NE(chmod(secret_.c_str(), 0666), 0);  // not the owner: EPERM
    EXPECT_EQ(errno, EPERM);
    // What it creates is its own.
    ASSERT_EQ(mkdir((dir_ + "/mine").c_str(), 0755), 0);
  }
  EXPECT_EQ(ClientIdentity::Current(), nullptr);
  EXPECT_EQ(CurrentFsuid(), 0u);
  EXPECT_EQ(CurrentFsgid(), 0u);
  EXPECT_EQ(OpenErrno(secret_, O_RDWR), 0);
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);
}

TEST_F(ClientIdentityTest, SupplementaryGroupsCount) {
  const Credentials member{1000, 1000, {2000}};
  const Credentials stranger{1000, 1000, {3000}};
  {
    ClientIdentity as(&member);
    ASSERT_TRUE(as.ok());
    EXPECT_EQ(OpenErrno(group_file_, O_RDONLY), 0);
  }
  {
    ClientIdentity as(&stranger);
    ASSERT_TRUE(as.ok());
    EXPECT_EQ(OpenErrno(group_file_, O_RDONLY), EACCES);
  }
}

TEST_F(ClientIdentityTest, NestedFilerScopeActsAsRootThenTheClientAgain) {
  const Credentials user{1000, 1000, {}};
  ClientIdentity as(&user);
  ASSERT_TRUE(as.ok());
  {
    ClientIdentity filer(nullptr);
    ASSERT_TRUE(filer.ok());
    EXPECT_EQ(ClientIdentity::Current(), nullptr);
    EXPECT_EQ(CurrentFsuid(), 0u);
    EXPECT_EQ(OpenErrno(secret_, O_RDONLY), 0);
  }
  EXPECT_EQ(ClientIdentity::Current(), &user);
  EXPECT_EQ(CurrentFsuid(), 1000u);
  EXPECT_EQ(OpenErrno(secret_, O_RDONLY), EACCES);
}

TEST_F(ClientIdentityTest, OtherThreadsKeepTheFilersIdentity) {
  // A thread that exists when the scope begins (as the filer's request threads do; a thread
  // created inside a scope would inherit the identity, as clone(2) copies credentials).
  absl::Notification entered;
  absl::Notification checked;
  uint32_t other_fsuid = 1;
  int other_open = -1;
  int other_groups = -1;
  std::thread other([&] {
    entered.WaitForNotification();
    other_fsuid = CurrentFsuid();
    other_open = OpenErrno(secret_, O_RDONLY);
    gid_t groups[64];
    other_groups = getgroups(64, groups);
    for (int i = 0; i < other_groups; ++i) {
      if (groups[i] == 4242) other_groups = -2;  // the client's group leaked
    }
    checked.Notify();
  });
  const Credentials user{1000, 1000, {4242}};
  {
    ClientIdentity as(&user);
    EXPECT_TRUE(as.ok());
    entered.Notify();
    checked.WaitForNotification();
    EXPECT_EQ(CurrentFsuid(), 1000u) << "this thread";
  }
  other.join();
  EXPECT_EQ(other_fsuid, 0u);
  EXPECT_EQ(other_open, 0);
  EXPECT_GE(other_groups, 0);
}

TEST_F(ClientIdentityTest, AnIdentityDoesNotOutliveItsScopeOnAnyPath) {
  const Credentials user{1000, 1000, {}};
  auto failing_operation = [&]() -> int {
    ClientIdentity as(&user);
    if (OpenErrno(secret_, O_RDONLY) != 0) return -1;  // an early return: the error path
    return 0;
  };
  EXPECT_EQ(failing_operation(), -1);
  EXPECT_EQ(CurrentFsuid(), 0u);
  EXPECT_EQ(ClientIdentity::Current(), nullptr);
  EXPECT_EQ(OpenErrno(secret_, O_RDONLY), 0);
}

}  // namespace
}  // namespace filer
}  // namespace vifiler
