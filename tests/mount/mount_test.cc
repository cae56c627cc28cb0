// Copyright 2026 The vifiler Authors.
//
// `vifiler mount` end to end: a real vifilerd on loopback, mounted with FUSE by the real
// `vifiler mount`, and ordinary tools run against the mount (dd, sha256sum, cp -r, diff -r,
// tar), a POSIX check of error codes and semantics made with system calls, truncate and a
// sparse write at a large offset, a read-only mount, the daemon mode, and a dd through the
// mount while the serving filer of a pair is killed.
//
// Skipped (with the reason) only when this host cannot mount FUSE file systems: no /dev/fuse,
// no fusermount3, or fusermount3 not permitted to mount (an unprivileged container). Every mount is
// unmounted with fusermount3 -u and its process waited for with a deadline, then killed by PID.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "tests/integration/test_env.h"
#include "tools/child_process.h"
#include "tools/run_command.h"

namespace vifiler {
namespace testing {
namespace {

// Why this host cannot run the mount tests, or "" when it can.
std::string CannotMount() {
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    return absl::StrCat("/dev/fuse is not usable here (", strerror(errno),
                        "): FUSE mounts are not possible on this host");
  }
  if (access("/usr/bin/fusermount3", X_OK) != 0 && access("/bin/fusermount3", X_OK) != 0) {
    return "fusermount3 is not installed (Debian package fuse3): cannot mount or unmount";
  }
  return "";
}

// fusermount3's path (RunCommand does not search PATH).
std::string Fusermount() {
  return access("/usr/bin/fusermount3", X_OK) == 0 ? "/usr/bin/fusermount3" : "/bin/fusermount3";
}

// True while pid is a process that has not exited (a zombie has).
bool Alive(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

bool IsMounted(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() > 4 && f[4] == path) return true;
  }
  return false;
}

// Runs a shell script; returns its exit status (-1 on timeout), output in *out.
int Shell(const std::string& script, std::string* out = nullptr,
          absl::Duration timeout = absl::Seconds(120)) {
  std::string o, e;
  absl::StatusOr<int> rc = RunCommand({"/bin/sh", "-c", script}, &o, &e, Scaled(timeout));
  if (out != nullptr) *out = o + e;
  if (!rc.ok()) return -1;
  if (*rc != 0)
    fprintf(stderr, "script failed (%d): %s\n%s%s\n", *rc, script.c_str(), o.c_str(), e.c_str());
  return *rc;
}

std::string Sha256(const std::string& path) {
  std::string out;
  if (Shell(absl::StrCat("sha256sum < '", path, "'"), &out) != 0) return "error: " + out;
  return out.substr(0, 64);
}

// One `vifiler mount -f` process and its mount point.
class Mount {
 public:
  Mount(std::string mountpoint, std::string log) : mountpoint_(mountpoint), log_(log) {}
  ~Mount() { Unmount(); }

  // Starts `vifiler [flags] mount -f [extra] FILER:/path MOUNTPOINT` and waits for the mount.
  absl::Status Start(const std::vector<std::string>& flags, const std::string& remote,
                     const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {BinaryPath("VIFILER")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("mount");
    argv.push_back("-f");
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(remote);
    argv.push_back(mountpoint_);
    absl::StatusOr<std::unique_ptr<tools::ChildProcess>> child =
        tools::ChildProcess::Start(argv, log_);
    if (!child.ok()) return child.status();
    process_ = std::move(*child);
    const absl::Time deadline = absl::Now() + Scaled(absl::Seconds(20));
    while (absl::Now() < deadline) {
      if (IsMounted(mountpoint_)) return absl::OkStatus();
      if (!process_->Running()) {
        const std::string log = tools::TailOfFile(log_, 20);
        // fusermount3 (or the kernel) refusing this user or this container any mount.
        if (log.find("mount failed: Operation not permitted") != std::string::npos ||
            log.find("mount failed: Permission denied") != std::string::npos) {
          return absl::PermissionDeniedError(log);
        }
        return absl::InternalError(
            absl::StrCat("vifiler mount ", process_->ExitDescription(), ": ", log));
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::DeadlineExceededError("the mount did not appear");
  }

  // fusermount3 -u, then waits (bounded) for the process; kills it by PID when it does not go.
  // Returns the process's exit description.
  std::string Unmount() {
    if (process_ == nullptr) return "";
    if (IsMounted(mountpoint_)) {
      absl::StatusOr<int> rc = RunCommand({Fusermount(), "-u", mountpoint_}, nullptr, nullptr,
                                          Scaled(absl::Seconds(20)));
      if (!rc.ok() || *rc != 0) {
        RunCommand({Fusermount(), "-u", "-z", mountpoint_}, nullptr, nullptr, absl::Seconds(10))
            .IgnoreError();
      }
    }
    if (!process_->Wait(Scaled(absl::Seconds(10))).ok()) process_->Kill();
    std::string exit = process_->ExitDescription();
    process_.reset();
    return exit;
  }

  const std::string& path() const { return mountpoint_; }
  std::string Log() const { return tools::TailOfFile(log_, 40); }

 private:
  std::string mountpoint_, log_;
  std::unique_ptr<tools::ChildProcess> process_;
};

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = CannotMount();
    if (!why.empty()) GTEST_SKIP() << why;
    fabric_ = GetTestFabric();
    dir_ = std::filesystem::canonical(MakeScratchDir("vifiler-mount-test")).string();
    volume_ = dir_ + "/volume-a";
    local_ = dir_ + "/local";
    ASSERT_EQ(mkdir(volume_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(local_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/mnt").c_str(), 0755), 0);
    hosts_ = WritePairHostsFile(dir_, fabric_);
    filer_ = std::make_unique<FilerProcess>("filer-a", volume_, fabric_.address_a, hosts_,
                                            dir_ + "/filer-a.log");
    ASSERT_TRUE(filer_->Start().ok()) << filer_->Log();
    mount_ = std::make_unique<Mount>(dir_ + "/mnt", dir_ + "/mount.log");
    absl::Status s = mount_->Start(ClientFlags(), "filer-a:/");
    if (absl::IsPermissionDenied(s)) {
      mount_.reset();
      GTEST_SKIP() << "mounting is not permitted here: " << s.message();
    }
    ASSERT_TRUE(s.ok()) << s;
    mnt_ = mount_->path();
  }

  void TearDown() override {
    if (mount_ != nullptr) {
      const std::string exit = mount_->Unmount();
      EXPECT_EQ(exit, "exited with 0") << mount_->Log();
      if (HasFailure()) fprintf(stderr, "mount log:\n%s\n", mount_->Log().c_str());
    }
    if (filer_ != nullptr) {
      filer_->Stop();
      if (HasFailure()) fprintf(stderr, "filer log:\n%s\n", filer_->Log().c_str());
    }
    if (!dir_.empty()) RemoveTree(dir_);
  }

  std::vector<std::string> ClientFlags() const {
    return {"--fabric=" + fabric_.fabric, "--hosts_file=" + hosts_, "--failover_deadline_ms=20000"};
  }

  TestFabric fabric_;
  std::string dir_, volume_, local_, hosts_, mnt_;
  std::unique_ptr<FilerProcess> filer_;
  std::unique_ptr<Mount> mount_;
};

TEST_F(MountTest, DdWritesAndReadsBackLargeFiles) {
  const std::string src = local_ + "/random";
  ASSERT_EQ(Shell(absl::StrCat("dd if=/dev/urandom of=", src, " bs=1M count=24 status=none")), 0);
  ASSERT_EQ(Shell(absl::StrCat("dd if=", src, " of=", mnt_, "/big bs=1M conv=fsync status=none")),
            0);
  const std::string want = Sha256(src);
  EXPECT_EQ(Sha256(mnt_ + "/big"), want);
  EXPECT_EQ(Sha256(volume_ + "/big"), want) << "the filer's volume holds other bytes";
  ASSERT_EQ(Shell(absl::StrCat("dd if=", mnt_, "/big of=", local_, "/back bs=1M status=none")), 0);
  EXPECT_EQ(Sha256(local_ + "/back"), want);
  // Odd sizes and offsets: 4 KiB + 1 blocks, and a read of a byte range.
  ASSERT_EQ(Shell(absl::StrCat("dd if=", src, " of=", mnt_, "/odd bs=4097 count=1000 status=none")),
            0);
  ASSERT_EQ(Shell(absl::StrCat("cmp -n 4097000 ", src, " ", mnt_, "/odd")), 0);
  struct stat st;
  ASSERT_EQ(stat((mnt_ + "/odd").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4097000);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(MountTest, CopyTreeDiffAndTar) {
  const std::string tree = local_ + "/tree";
  ASSERT_EQ(Shell(absl::StrCat("set -e; mkdir -p ", tree, "/a/b/c ", tree, "/empty_dir; cd ", tree,
                               "; echo hello > a/hello.txt; : > a/empty;"
                               " dd if=/dev/urandom of=a/b/three_mb bs=1M count=3 status=none;"
                               " dd if=/dev/urandom of=a/b/c/odd bs=12345 count=7 status=none;"
                               " for i in $(seq 1 40); do echo file $i > a/many_$i; done;"
                               " chmod 600 a/hello.txt; chmod 755 a/b/three_mb")),
            0);
  ASSERT_EQ(Shell(absl::StrCat("cp -r ", tree, " ", mnt_, "/tree")), 0);
  EXPECT_EQ(Shell(absl::StrCat("diff -r ", tree, " ", mnt_, "/tree")), 0);
  EXPECT_EQ(Shell(absl::StrCat("diff -r ", tree, " ", volume_, "/tree")), 0);
  struct stat st;
  ASSERT_EQ(stat((mnt_ + "/tree/a/hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  // tar x onto the mount, tar c from it, and the two trees the same.
  ASSERT_EQ(Shell(absl::StrCat("set -e; tar cf ", local_, "/tree.tar -C ", tree, " .; mkdir ", mnt_,
                               "/untarred; tar xf ", local_, "/tree.tar -C ", mnt_, "/untarred")),
            0);
  EXPECT_EQ(Shell(absl::StrCat("diff -r ", tree, " ", mnt_, "/untarred")), 0);
  ASSERT_EQ(
      Shell(absl::StrCat("set -e; tar cf ", local_, "/back.tar -C ", mnt_, "/untarred .; mkdir ",
                         local_, "/back; tar xf ", local_, "/back.tar -C ", local_, "/back")),
      0);
  EXPECT_EQ(Shell(absl::StrCat("diff -r ", tree, " ", local_, "/back")), 0);
  // The listing of a directory with more entries than one readdir reply holds, and rm -r.
  std::string out;
  ASSERT_EQ(Shell(absl::StrCat("ls ", mnt_, "/tree/a | wc -l"), &out), 0);
  EXPECT_EQ(std::stoi(out), 40 + 3);
  ASSERT_EQ(Shell(absl::StrCat("rm -r ", mnt_, "/tree ", mnt_, "/untarred")), 0);
  EXPECT_FALSE(std::filesystem::exists(volume_ + "/tree"));
}

// errno of a failed call, or 0.
int Err(int rc) { return rc == 0 ? 0 : errno; }

TEST_F(MountTest, PosixErrorCodesAndSemantics) {
  const std::string m = mnt_;
  auto P = [&m](const char* name) { return m + "/" + name; };
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  EXPECT_EQ(Err(mkdir(P("d").c_str(), 0755)), EEXIST);
  int fd = open(P("d/f").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(write(fd, "hello", 5), 5);
  ASSERT_EQ(close(fd), 0);
  EXPECT_EQ(Err(rmdir(P("d").c_str())), ENOTEMPTY);
  EXPECT_EQ(Err(unlink(P("missing").c_str())), ENOENT);
  EXPECT_EQ(Err(rmdir(P("missing").c_str())), ENOENT);
  EXPECT_EQ(Err(mkdir(P("missing/x").c_str(), 0755)), ENOENT);
  EXPECT_EQ(open(P("missing").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(open(P("d").c_str(), O_WRONLY), -1);
  EXPECT_EQ(errno, EISDIR);
  EXPECT_EQ(Err(unlink(P("d").c_str())), EISDIR);
  EXPECT_EQ(Err(rmdir(P("d/f").c_str())), ENOTDIR);
  EXPECT_EQ(open(P("d/f/x").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOTDIR);
  EXPECT_EQ(open(P("d/f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(Err(symlink("f", P("d/link").c_str())), EPERM);
  EXPECT_EQ(Err(link(P("d/f").c_str(), P("d/hard").c_str())), EPERM);

  // rename: over an existing file replaces it; a directory over a non-empty one, a file over a
  // directory and a directory over a file fail as POSIX says; RENAME_NOREPLACE refuses.
  fd = open(P("g").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "other", 5), 5);
  ASSERT_EQ(close(fd), 0);
  EXPECT_EQ(Err(renameat2(AT_FDCWD, P("g").c_str(), AT_FDCWD, P("d/f").c_str(), RENAME_NOREPLACE)),
            EEXIST);
  ASSERT_EQ(rename(P("g").c_str(), P("d/f").c_str()), 0);
  std::ifstream in(P("d/f"));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "other");
  EXPECT_EQ(Err(access(P("g").c_str(), F_OK)), ENOENT);
  ASSERT_EQ(mkdir(P("e").c_str(), 0755), 0);
  EXPECT_EQ(Err(rename(P("e").c_str(), P("d").c_str())), ENOTEMPTY);
  EXPECT_EQ(Err(rename(P("d/f").c_str(), P("e").c_str())), EISDIR);
  EXPECT_EQ(Err(rename(P("e").c_str(), P("d/f").c_str())), ENOTDIR);
  ASSERT_EQ(renameat2(AT_FDCWD, P("e").c_str(), AT_FDCWD, P("e2").c_str(), RENAME_NOREPLACE), 0);
  ASSERT_EQ(rename(P("e2").c_str(), P("d/e3").c_str()), 0);
  struct stat st;
  EXPECT_EQ(stat(P("d/e3").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  // O_APPEND, chmod, utimes.
  fd = open(P("d/f").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "+more", 5), 5);
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(stat(P("d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 10);
  ASSERT_EQ(chmod(P("d/f").c_str(), 0640), 0);
  struct timeval times[2] = {{1000000000, 0}, {1234567890, 0}};
  ASSERT_EQ(utimes(P("d/f").c_str(), times), 0);
  ASSERT_EQ(stat(P("d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtime, 1234567890);
  ASSERT_EQ(stat((volume_ + "/d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u) << "not changed on the filer";

  // statfs and fsync.
  struct statvfs vfs;
  ASSERT_EQ(statvfs(m.c_str(), &vfs), 0);
  EXPECT_GT(vfs.f_blocks, 0u);
  EXPECT_EQ(vfs.f_namemax, 255u);
  fd = open(P("d/f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fsync(fd), 0);
  EXPECT_EQ(fdatasync(fd), 0);
  ASSERT_EQ(close(fd), 0);

  // Removing everything leaves an empty volume.
  ASSERT_EQ(unlink(P("d/f").c_str()), 0);
  ASSERT_EQ(rmdir(P("d/e3").c_str()), 0);
  ASSERT_EQ(rmdir(P("d").c_str()), 0);
  DIR* dir = opendir(m.c_str());
  ASSERT_NE(dir, nullptr);
  std::vector<std::string> names;
  while (struct dirent* e = readdir(dir)) names.push_back(e->d_name);
  closedir(dir);
  EXPECT_EQ(names, (std::vector<std::string>{".", ".."}));
}

// A file unlinked while open stays readable and writable through its descriptors (under a
// hidden name on the filer), and is gone after the last close.
TEST_F(MountTest, UnlinkOfAnOpenFile) {
  const std::string f = mnt_ + "/open-file";
  int fd = open(f.c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "before", 6, 0), 6);
  int fd2 = open(f.c_str(), O_RDONLY);
  ASSERT_GE(fd2, 0);
  ASSERT_EQ(unlink(f.c_str()), 0);
  EXPECT_EQ(Err(access(f.c_str(), F_OK)), ENOENT);
  std::string listing;
  ASSERT_EQ(Shell(absl::StrCat("ls -a ", mnt_), &listing), 0);
  EXPECT_EQ(listing, ".\n..\n") << "the hidden name shows in the mount";
  ASSERT_EQ(pwrite(fd, "+after", 6, 6), 6);
  char buf[64];
  ASSERT_EQ(pread(fd2, buf, sizeof(buf), 0), 12);
  EXPECT_EQ(std::string(buf, 12), "before+after");
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(pread(fd2, buf, sizeof(buf), 0), 12) << "one descriptor is still open";
  ASSERT_EQ(close(fd2), 0);
  // A directory that holds nothing but a file unlinked while open can be removed, and the file
  // is still there for its descriptor.
  ASSERT_EQ(mkdir((mnt_ + "/d").c_str(), 0755), 0);
  fd = open((mnt_ + "/d/f").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "inside", 6, 0), 6);
  ASSERT_EQ(unlink((mnt_ + "/d/f").c_str()), 0);
  ASSERT_EQ(rmdir((mnt_ + "/d").c_str()), 0) << strerror(errno);
  ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), 6);
  EXPECT_EQ(std::string(buf, 6), "inside");
  ASSERT_EQ(close(fd), 0);
  // The last close's release reaches the daemon just after close() returns.
  auto volume_empty = [this] {
    const absl::Time deadline = absl::Now() + Scaled(absl::Seconds(5));
    while (absl::Now() < deadline) {
      bool empty = true;
      for (const auto& e : std::filesystem::directory_iterator(volume_)) {
        if (e.path().filename() != ".vifiler") empty = false;
      }
      if (empty) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  };
  EXPECT_TRUE(volume_empty()) << "the hidden name outlived the last close";
  ASSERT_EQ(Shell(absl::StrCat("echo x > ", f, " && rm ", f)), 0);
  EXPECT_TRUE(volume_empty());
}

TEST_F(MountTest, TruncateAndSparseWriteAtLargeOffset) {
  const std::string f = mnt_ + "/sparse";
  int fd = open(f.c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  std::string data(100000, 'x');
  ASSERT_EQ(pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(ftruncate(fd, 1000), 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 1000);
  ASSERT_EQ(ftruncate(fd, 5000), 0);
  char buf[8192];
  ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), 5000);
  EXPECT_EQ(std::string(buf, 1000), std::string(1000, 'x'));
  EXPECT_EQ(std::string(buf + 1000, 4000), std::string(4000, '\0'));
  // 5 GiB in: past 32 bits.
  const off_t far = (5ll << 30) + 12345;
  const std::string tail = "the end of a sparse file";
  ASSERT_EQ(pwrite(fd, tail.data(), tail.size(), far), static_cast<ssize_t>(tail.size()));
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, far + static_cast<off_t>(tail.size()));
  fd = open(f.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pread(fd, buf, 4096, 3ll << 30), 4096);
  EXPECT_EQ(std::string(buf, 4096), std::string(4096, '\0'));
  ASSERT_EQ(pread(fd, buf, sizeof(buf), far), static_cast<ssize_t>(tail.size()));
  EXPECT_EQ(std::string(buf, tail.size()), tail);
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(stat((volume_ + "/sparse").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, far + static_cast<off_t>(tail.size()));
  // truncate(1) through the path.
  ASSERT_EQ(Shell(absl::StrCat("truncate -s 7 ", f)), 0);
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 7);
  ASSERT_EQ(Shell(absl::StrCat("truncate -s 0 ", f, " && test ! -s ", f)), 0);
}

TEST_F(MountTest, ReadOnlyMountRefusesChanges) {
  ASSERT_EQ(Shell(absl::StrCat("echo data > ", mnt_, "/file")), 0);
  ASSERT_EQ(mkdir((dir_ + "/ro").c_str(), 0755), 0);
  Mount ro(dir_ + "/ro", dir_ + "/ro.log");
  absl::Status s = ro.Start(ClientFlags(), "filer-a:/", {"-o", "ro"});
  ASSERT_TRUE(s.ok()) << s;
  std::string out;
  ASSERT_EQ(Shell(absl::StrCat("cat ", ro.path(), "/file"), &out), 0);
  EXPECT_EQ(out, "data\n");
  EXPECT_EQ(open((ro.path() + "/file").c_str(), O_WRONLY), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(Err(mkdir((ro.path() + "/x").c_str(), 0755)), EROFS);
  EXPECT_EQ(Err(unlink((ro.path() + "/file").c_str())), EROFS);
  EXPECT_EQ(open((ro.path() + "/new").c_str(), O_CREAT | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(ro.Unmount(), "exited with 0") << ro.Log();
}

// A subdirectory as the mount's root, in the background (daemon) mode: the command returns only
// once the mount is up, and the daemon exits when unmounted. A filer that cannot be named fails
// the command at once.
TEST_F(MountTest, DaemonModeReturnsOnceMountedAndExitsOnUnmount) {
  ASSERT_EQ(Shell(absl::StrCat("mkdir -p ", mnt_, "/sub/inner && echo hi > ", mnt_, "/sub/x")), 0);
  const std::string point = dir_ + "/daemon";
  const std::string pid_file = dir_ + "/daemon.pid";
  ASSERT_EQ(mkdir(point.c_str(), 0755), 0);
  std::vector<std::string> argv = {BinaryPath("VIFILER")};
  for (const std::string& f : ClientFlags()) argv.push_back(f);
  argv.insert(argv.end(), {"mount", "--pid_file=" + pid_file, "filer-a:/sub", point});
  std::string out, err;
  absl::StatusOr<int> rc = RunCommand(argv, &out, &err, Scaled(absl::Seconds(30)));
  ASSERT_TRUE(rc.ok()) << rc.status();
  ASSERT_EQ(*rc, 0) << err;
  EXPECT_TRUE(IsMounted(point)) << "the command returned before the mount was up";
  std::ifstream pid_in(pid_file);
  pid_t pid = 0;
  pid_in >> pid;
  ASSERT_GT(pid, 0);
  std::string cat;
  EXPECT_EQ(Shell(absl::StrCat("cat ", point, "/x && ls ", point), &cat), 0);
  EXPECT_EQ(cat, "hi\ninner\nx\n");
  rc = RunCommand({Fusermount(), "-u", point}, nullptr, nullptr, Scaled(absl::Seconds(20)));
  if (!rc.ok() || *rc != 0) kill(pid, SIGKILL);  // never leave the daemon behind
  ASSERT_TRUE(rc.ok() && *rc == 0);
  const absl::Time deadline = absl::Now() + Scaled(absl::Seconds(10));
  while (Alive(pid) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  if (Alive(pid)) {
    kill(pid, SIGKILL);
    FAIL() << "the mount daemon " << pid << " did not exit after the unmount";
  }
  EXPECT_FALSE(std::filesystem::exists(pid_file)) << "the daemon left its pid file";

  // Errors before the mount is up come back from the command itself, as one line.
  argv = {BinaryPath("VIFILER"),    "--fabric=" + fabric_.fabric,
          "--hosts_file=" + hosts_, "mount",
          "no-such-filer:/",        point};
  rc = RunCommand(argv, &out, &err, Scaled(absl::Seconds(30)));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 1);
  EXPECT_NE(err.find("vifiler: NOT_FOUND: mount no-such-filer:/"), std::string::npos) << err;
  argv = {BinaryPath("VIFILER"),    "--fabric=" + fabric_.fabric,
          "--hosts_file=" + hosts_, "mount",
          "filer-a:/sub/x",         point};
  rc = RunCommand(argv, &out, &err, Scaled(absl::Seconds(30)));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 1);
  EXPECT_NE(err.find("is not a directory"), std::string::npos) << err;
  EXPECT_FALSE(IsMounted(point));
}

// A failover is a pause inside the mount: dd writes 256 MiB through the mount of filer-a while
// filer-a is killed (SIGKILL) part way; filer-b takes its volume over, the client inside the
// mount replays, and dd finishes without an error with every byte right.
TEST(MountFailoverTest, DdThroughTheMountRidesThroughAKilledFiler) {
  const std::string why = CannotMount();
  if (!why.empty()) GTEST_SKIP() << why;
  FilerPair pair;
  ASSERT_TRUE(pair.Start().ok()) << pair.Logs();
  const std::string dir = std::filesystem::canonical(pair.dir()).string();
  const std::string point = dir + "/mnt";
  const std::string src = dir + "/random";
  ASSERT_EQ(mkdir(point.c_str(), 0755), 0);
  ASSERT_EQ(Shell(absl::StrCat("dd if=/dev/urandom of=", src, " bs=1M count=256 status=none")), 0);
  Mount mount(point, dir + "/mount.log");
  absl::Status s = mount.Start({"--fabric=" + pair.fabric().fabric, "--hosts_file=" + pair.hosts(),
                                "--failover_deadline_ms=30000"},
                               "filer-a:/");
  if (absl::IsPermissionDenied(s))
    GTEST_SKIP() << "mounting is not permitted here: " << s.message();
  ASSERT_TRUE(s.ok()) << s;

  int dd_rc = -2;
  std::string dd_out;
  std::thread dd([&] {
    dd_rc = Shell(absl::StrCat("dd if=", src, " of=", point, "/big bs=1M conv=fsync status=none"),
                  &dd_out, absl::Seconds(240));
  });
  // Kill filer-a once a fifth is written.
  const std::string on_volume = pair.volume_a() + "/big";
  const absl::Time deadline = absl::Now() + Scaled(absl::Seconds(60));
  struct stat st;
  while (absl::Now() < deadline &&
         (stat(on_volume.c_str(), &st) != 0 || st.st_size < (48ll << 20))) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(stat(on_volume.c_str(), &st), 0);
  const bool mid_stream = st.st_size < (256ll << 20);
  pair.a().Kill();
  dd.join();
  EXPECT_TRUE(mid_stream) << "dd finished before the kill: nothing was tested";
  EXPECT_EQ(dd_rc, 0) << dd_out;
  const std::string want = Sha256(src);
  EXPECT_EQ(Sha256(point + "/big"), want);
  EXPECT_EQ(Sha256(on_volume), want);
  std::string mounted_log = mount.Log();
  EXPECT_EQ(mount.Unmount(), "exited with 0") << mounted_log;
  if (HasFailure()) {
    fprintf(stderr, "mount log:\n%s\n%s\n", mounted_log.c_str(), pair.Logs().c_str());
  }
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
