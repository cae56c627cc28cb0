// Copyright 2026 The vifiler Authors.
//
// Volumes on a real block device, with device-mapper, ext4 and fencing: root only, suite `vm`
// (tools/rxe-vm/run-in-rxe-vm -- build/tests/storage/storage_device_test). The device is
// $VIFILER_TEST_DEVICE (its contents are destroyed) or a loop device over a sparse file in
// $TMPDIR that the test sets up and that goes away when the test exits.
//
// Checks: format with a file system, activate (mount), write and fsync, deactivate, activate
// again and read back; fencing from a "guard" while the owner process is frozen: its later
// write+fsync fails with EIO and neither those bytes nor the dirty page cache reach the disk;
// a stale dm device and mount from a crashed run are cleared, also while still held open.
//
// Without root or device-mapper the tests skip, unless RXE_VM is set (inside the test VM
// nothing may be missing).

#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/block_file.h"
#include "storage/device_format.h"
#include "storage/device_layout.h"
#include "storage/device_mapper.h"
#include "storage/mounter.h"
#include "storage/record_block.h"
#include "storage/volume_storage.h"

namespace vifiler {
namespace storage {
namespace {

constexpr uint64_t kLoopBytes = 96 * kMiB;
constexpr char kRunDir[] = "/run/vifiler-test";

std::string g_device;   // the block device under test
std::string g_backing;  // the loop device's file, when we made one
int g_loop_fd = -1;     // keeps the loop device attached (autoclear on last close)
std::string g_skip;     // why the tests skip, if they do

bool DeviceMapperLoaded() {
  FILE* f = fopen("/proc/misc", "re");
  if (f == nullptr) return false;
  char line[256];
  bool found = false;
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (strstr(line, " device-mapper") != nullptr) found = true;
  }
  fclose(f);
  return found;
}

// A loop device over a sparse file: LOOP_CTL_GET_FREE, then LOOP_CONFIGURE (LOOP_SET_FD +
// LOOP_SET_STATUS64 on kernels before 5.8).
std::string SetUpLoopDevice(std::string* error) {
  const char* tmp = getenv("TMPDIR");
  g_backing = std::string(tmp != nullptr ? tmp : "/tmp") + "/vifiler-storage-device-XXXXXX";
  const int file = mkstemp(g_backing.data());
  if (file < 0 || ftruncate(file, kLoopBytes) != 0) {
    *error = absl::StrCat("backing file ", g_backing, ": ", strerror(errno));
    return "";
  }
  const int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) {
    *error = absl::StrCat("/dev/loop-control: ", strerror(errno), " (is the loop module loaded?)");
    close(file);
    return "";
  }
  const int n = ioctl(control, LOOP_CTL_GET_FREE);
  close(control);
  if (n < 0) {
    *error = absl::StrCat("LOOP_CTL_GET_FREE: ", strerror(errno));
    close(file);
    return "";
  }
  std::string path = absl::StrCat("/dev/loop", n);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {  // no devtmpfs node: make one
    path = absl::StrCat(kRunDir, "/loop", n);
    MakeDirectories(kRunDir, 0700).IgnoreError();
    mknod(path.c_str(), S_IFBLK | 0600, makedev(7, n));
  }
  const int loop = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (loop < 0) {
    *error = absl::StrCat(path, ": ", strerror(errno));
    close(file);
    return "";
  }
  struct loop_config config;
  memset(&config, 0, sizeof(config));
  config.fd = static_cast<uint32_t>(file);
  config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
  if (ioctl(loop, LOOP_CONFIGURE, &config) != 0) {
    if (errno != EINVAL && errno != ENOTTY) {
      *error = absl::StrCat("LOOP_CONFIGURE ", path, ": ", strerror(errno));
      close(file);
      close(loop);
      return "";
    }
    struct loop_info64 info;
    memset(&info, 0, sizeof(info));
    info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (ioctl(loop, LOOP_SET_FD, file) != 0 || ioctl(loop, LOOP_SET_STATUS64, &info) != 0) {
      *error = absl::StrCat("LOOP_SET_FD ", path, ": ", strerror(errno));
      close(file);
      close(loop);
      return "";
    }
  }
  close(file);
  g_loop_fd = loop;
  return path;
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (geteuid() != 0) {
      g_skip = "needs root";
    } else if (!DeviceMapperLoaded()) {
      g_skip = "device-mapper (dm_mod) is not loaded";
    }
    if (!g_skip.empty()) {
      if (getenv("RXE_VM") != nullptr) FAIL() << "in the test VM: " << g_skip;
      return;
    }
    const char* device = getenv("VIFILER_TEST_DEVICE");
    if (device != nullptr && device[0] != '\0') {
      g_device = device;
      return;
    }
    std::string error;
    g_device = SetUpLoopDevice(&error);
    if (g_device.empty()) FAIL() << "cannot set up a loop device: " << error;
  }
  void TearDown() override {
    if (g_loop_fd >= 0) close(g_loop_fd);
    if (!g_backing.empty()) unlink(g_backing.c_str());
  }
};

class StorageDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!g_skip.empty()) GTEST_SKIP() << g_skip;
    ASSERT_FALSE(g_device.empty());
  }

  DeviceLayout Format(const std::string& label) {
    FormatOptions o;
    o.label = label;
    o.force = true;
    o.log_bytes = 4 * kMiB;
    o.run_dir = kRunDir;
    absl::StatusOr<DeviceLayout> l = FormatDevice(g_device, o);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? *l : DeviceLayout();
  }

  std::unique_ptr<VolumeStorage> Open(const std::string& prefix) {
    absl::StatusOr<std::unique_ptr<VolumeStorage>> v =
        VolumeStorage::Open(g_device, prefix, kRunDir);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? std::move(*v) : nullptr;
  }

  // Which of `needles` appear anywhere in the file-system region, read straight from the device
  // (O_DIRECT: not this host's page cache) in one pass.
  std::vector<bool> OnDisk(const DeviceLayout& layout, const std::vector<std::string>& needles) {
    std::vector<bool> found(needles.size(), false);
    BlockFileOptions o;
    o.offset = layout.filesystem.offset;
    o.size = layout.filesystem.size;
    o.read_only = true;
    absl::StatusOr<std::unique_ptr<BlockFile>> raw = OpenBlockFile(g_device, o);
    EXPECT_TRUE(raw.ok()) << raw.status();
    if (!raw.ok()) return found;
    EXPECT_TRUE((*raw)->direct());
    size_t longest = 0;
    for (const std::string& n : needles) longest = std::max(longest, n.size());
    const size_t chunk = 4 * kMiB;
    std::string window;  // the tail of the previous chunk, then this chunk
    for (uint64_t at = 0; at < (*raw)->size(); at += chunk) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, (*raw)->size() - at));
      const size_t keep = std::min(window.size(), longest);
      window.erase(0, window.size() - keep);
      window.resize(keep + n);
      EXPECT_TRUE((*raw)->Read(at, absl::MakeSpan(&window[keep], n)).ok());
      for (size_t i = 0; i < needles.size(); ++i) {
        if (!found[i] &&
            memmem(window.data(), window.size(), needles[i].data(), needles[i].size()) != nullptr) {
          found[i] = true;
        }
      }
    }
    return found;
  }
  bool OnDisk(const DeviceLayout& layout, const std::string& needle) {
    return OnDisk(layout, std::vector<std::string>{needle})[0];
  }
};

std::string ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::StrCat("<", strerror(errno), ">");
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

void WriteFileSynced(const std::string& path, const std::string& data) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(fsync(fd), 0) << strerror(errno);
  close(fd);
}

// A token that is nowhere on the disk before the test writes it.
std::string Token(const std::string& what) {
  return absl::StrCat("<vifiler-", what, "-", getpid(), "-", absl::ToUnixNanos(absl::Now()), ">");
}

TEST_F(StorageDeviceTest, FormatActivateWriteDeactivateAndReadBack) {
  const DeviceLayout layout = Format("vt-basic");
  ASSERT_NE(layout.uuid, 0u);
  FormatOptions again;
  again.label = "other";
  again.run_dir = kRunDir;
  absl::StatusOr<DeviceLayout> refused = FormatDevice(g_device, again);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find(UuidString(layout.uuid)), std::string::npos);

  std::unique_ptr<VolumeStorage> v = Open("vifiler-test-basic");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->is_device());
  EXPECT_NE(v->description().find("vt-basic"), std::string::npos) << v->description();

  absl::StatusOr<ActiveVolume> active = v->Activate();
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_EQ(active->fence_devices.size(), 2u);
  for (const std::string& name : active->fence_devices) {
    absl::StatusOr<std::vector<dm::Target>> table = dm::ActiveTable(name);
    ASSERT_TRUE(table.ok()) << table.status();
    ASSERT_EQ(table->size(), 1u);
    EXPECT_EQ((*table)[0].type, "linear");
  }
  EXPECT_EQ(v->Activate().status().code(), absl::StatusCode::kFailedPrecondition);
  // In use: not even a forced format touches it.
  FormatOptions force = again;
  force.force = true;
  refused = FormatDevice(g_device, force);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_NE(refused.status().message().find("in use"), std::string::npos) << refused.status();

  // The owner's mailbox (through dm) is the block the raw mailbox reads; the reply log lands at
  // its offset on the device.
  RecordBlock r;
  r.kind = RecordKind::kMailbox;
  r.sequence = 77;
  ASSERT_TRUE(active->mailbox->direct());
  ASSERT_TRUE(active->mailbox->Write(0, EncodeRecordBlock(r)).ok());
  ASSERT_TRUE(active->mailbox->Sync().ok());
  std::string block(kBlockSize, '\0');
  ASSERT_TRUE(v->mailbox()->Read(0, absl::MakeSpan(block)).ok());
  std::optional<RecordBlock> seen = DecodeRecordBlock(block);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->sequence, 77u);
  ASSERT_EQ(active->reply_log->size(), 4 * kMiB);
  ASSERT_TRUE(active->reply_log->Write(3 * kBlockSize, std::string(kBlockSize, 'L')).ok());
  ASSERT_TRUE(active->reply_log->Sync().ok());
  {
    BlockFileOptions o;
    o.offset = layout.reply_log.offset + 3 * kBlockSize;
    o.size = kBlockSize;
    absl::StatusOr<std::unique_ptr<BlockFile>> raw = OpenBlockFile(g_device, o);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE((*raw)->Read(0, absl::MakeSpan(block)).ok());
    EXPECT_EQ(block, std::string(kBlockSize, 'L'));
  }

  const std::string token = Token("basic");
  const std::string content = token + std::string(64 * 1024, 'd');
  WriteFileSynced(active->root + "/hello", content);
  EXPECT_TRUE(OnDisk(layout, token));  // the scan sees what did reach the disk
  active->mailbox.reset();
  active->reply_log.reset();
  absl::Status s = v->Deactivate();
  ASSERT_TRUE(s.ok()) << s;
  for (const std::string& name : active->fence_devices) {
    EXPECT_FALSE(*dm::Exists(name)) << name;
  }
  EXPECT_FALSE(*IsMountPoint(absl::StrCat(kRunDir, "/mnt/vifiler-test-basic")));

  v = Open("vifiler-test-basic");
  ASSERT_NE(v, nullptr);
  active = v->Activate();
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(ReadFile(active->root + "/hello"), content);
  active->mailbox.reset();
  active->reply_log.reset();
  s = v->Deactivate();
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(StorageDeviceTest, FencingAFrozenOwnerKeepsEverythingOffTheDisk) {
  const DeviceLayout layout = Format("vt-fence");
  std::unique_ptr<VolumeStorage> v = Open("vifiler-test-fence");
  ASSERT_NE(v, nullptr);
  absl::StatusOr<ActiveVolume> active = v->Activate();
  ASSERT_TRUE(active.ok()) << active.status();
  const std::string path = active->root + "/f";
  const std::string before = Token("before");
  const std::string dirty = Token("dirty");
  const std::string after = Token("after");

  // The owner: writes and syncs `before`, writes `dirty` into the page cache, freezes; once
  // resumed it writes `after` and fsyncs. It reports write's and fsync's errno.
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    close(report[0]);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const std::string first = before + std::string(8192, 'b');
    if (fd < 0 || write(fd, first.data(), first.size()) != static_cast<ssize_t>(first.size()) ||
        fsync(fd) != 0) {
      _exit(2);
    }
    const std::string cached = dirty + std::string(8192, 'c');
    if (pwrite(fd, cached.data(), cached.size(), 65536) != static_cast<ssize_t>(cached.size())) {
      _exit(3);
    }
    raise(SIGSTOP);
    const std::string last = after + std::string(65536, 'a');
    int errs[2] = {0, 0};
    if (pwrite(fd, last.data(), last.size(), 131072) < 0) errs[0] = errno;
    if (fsync(fd) != 0) errs[1] = errno;
    if (write(report[1], errs, sizeof(errs)) != sizeof(errs)) _exit(4);
    _exit(0);
  }
  close(report[1]);
  int status = 0;
  ASSERT_EQ(waitpid(owner, &status, WUNTRACED), owner);
  ASSERT_TRUE(WIFSTOPPED(status)) << "owner exited early: " << status;

  // The guard fences while the owner is frozen.
  absl::Status fenced = FenceDevices(active->fence_devices);
  ASSERT_TRUE(fenced.ok()) << fenced;
  for (const std::string& name : active->fence_devices) {
    absl::StatusOr<std::vector<dm::Target>> table = dm::ActiveTable(name);
    ASSERT_TRUE(table.ok()) << table.status();
    ASSERT_EQ(table->size(), 1u);
    EXPECT_EQ((*table)[0].type, "error") << name;
  }
  EXPECT_TRUE(FenceDevices(active->fence_devices).ok());  // again: a no-op

  kill(owner, SIGCONT);
  int errs[2] = {-1, -1};
  ASSERT_EQ(read(report[0], errs, sizeof(errs)), static_cast<ssize_t>(sizeof(errs)));
  close(report[0]);
  ASSERT_EQ(waitpid(owner, &status, 0), owner);
  fprintf(stderr, "owner after the fence: write: %s, fsync: %s\n", strerror(errs[0]),
          strerror(errs[1]));
  EXPECT_TRUE(errs[0] == EIO || errs[1] == EIO)
      << "write: " << strerror(errs[0]) << ", fsync: " << strerror(errs[1]);

  // The owner's records stop too; the raw, unfenced ownership record does not.
  absl::Status mailbox = active->mailbox->Write(0, std::string(kBlockSize, 'm'));
  EXPECT_FALSE(mailbox.ok());
  EXPECT_NE(mailbox.message().find("Input/output error"), std::string::npos) << mailbox;
  EXPECT_TRUE(v->ownership_record()->Write(0, std::string(kBlockSize, '\0')).ok());

  // Writeback of everything the host still holds fails; nothing new is on the disk.
  sync();
  std::vector<bool> seen = OnDisk(layout, {before, dirty, after});
  EXPECT_TRUE(seen[0]);
  EXPECT_FALSE(seen[1]) << "page-cache writeback reached the disk after the fence";
  EXPECT_FALSE(seen[2]) << "a write after the fence reached the disk";

  // The owner's own Fence() then detaches the mount without waiting on the failed device.
  absl::Status s = v->Fence();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_FALSE(*IsMountPoint(absl::StrCat(kRunDir, "/mnt/vifiler-test-fence")));
  active->mailbox.reset();
  active->reply_log.reset();
  s = v->Deactivate();
  EXPECT_TRUE(s.ok()) << s;
  sync();
  seen = OnDisk(layout, {dirty, after});
  EXPECT_FALSE(seen[0]);
  EXPECT_FALSE(seen[1]);

  // The next owner recovers the journal and sees exactly what was synced before the fence.
  v = Open("vifiler-test-fence");
  ASSERT_NE(v, nullptr);
  active = v->Activate();
  ASSERT_TRUE(active.ok()) << active.status();
  const std::string got = ReadFile(path);
  EXPECT_EQ(got.substr(0, before.size()), before);
  EXPECT_EQ(got.find(dirty), std::string::npos);
  EXPECT_EQ(got.find(after), std::string::npos);
  active->mailbox.reset();
  active->reply_log.reset();
  s = v->Deactivate();
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(StorageDeviceTest, StaleDevicesAndMountsOfACrashedRunAreCleared) {
  const DeviceLayout layout = Format("vt-stale");
  const std::string prefix = "vifiler-test-stale";
  const std::string mount_dir = absl::StrCat(kRunDir, "/mnt/", prefix);
  const std::string content = Token("crash");

  // A filer activates, writes, syncs and dies without deactivating. Twice: the second time a
  // process still holds a file of the stale mount open when the next run activates.
  for (int round = 0; round < 2; ++round) {
    const pid_t filer = fork();
    ASSERT_GE(filer, 0);
    if (filer == 0) {
      absl::StatusOr<std::unique_ptr<VolumeStorage>> v =
          VolumeStorage::Open(g_device, prefix, kRunDir);
      if (!v.ok()) _exit(2);
      absl::StatusOr<ActiveVolume> active = (*v)->Activate();
      if (!active.ok()) {
        fprintf(stderr, "child activate: %s\n", active.status().ToString().c_str());
        _exit(3);
      }
      const int fd = open((active->root + "/crash").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || write(fd, content.data(), content.size()) < 0 || fsync(fd) != 0) _exit(4);
      _exit(0);  // "crash": dm devices and mount stay behind
    }
    int status = 0;
    ASSERT_EQ(waitpid(filer, &status, 0), filer);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ASSERT_TRUE(*dm::Exists(prefix + "-fs"));
    ASSERT_TRUE(*dm::Exists(prefix + "-meta"));
    ASSERT_TRUE(*IsMountPoint(mount_dir));

    int held = -1;
    const dev_t stale_dev = dm::GetInfo(prefix + "-fs")->dev;
    const std::string stale_sysfs =
        absl::StrCat("/sys/dev/block/", major(stale_dev), ":", minor(stale_dev), "/dm/name");
    if (round == 1) {
      held = open((mount_dir + "/volume/crash").c_str(), O_RDWR | O_CLOEXEC);
      ASSERT_GE(held, 0) << strerror(errno);
    }
    std::unique_ptr<VolumeStorage> v = Open(prefix);
    ASSERT_NE(v, nullptr);
    absl::StatusOr<ActiveVolume> active = v->Activate();
    ASSERT_TRUE(active.ok()) << active.status();
    EXPECT_EQ(ReadFile(active->root + "/crash"), content);
    absl::StatusOr<std::vector<dm::Target>> table = dm::ActiveTable(prefix + "-fs");
    ASSERT_TRUE(table.ok());
    EXPECT_EQ((*table)[0].type, "linear");
    if (held < 0) {
      // Removed outright (its minor may already serve the new mapping).
      EXPECT_EQ(ReadFile(stale_sysfs).find(prefix + "-fs-stale-"), std::string::npos);
    } else {
      // The old mapping was fenced and set aside under another name, to be removed when its
      // last user lets go; the old descriptor cannot write any more.
      const std::string aside = ReadFile(stale_sysfs);
      EXPECT_NE(aside.find(prefix + "-fs-stale-"), std::string::npos) << aside;
      const std::string junk = Token("stale-writer");
      const bool written =
          pwrite(held, junk.data(), junk.size(), 0) == static_cast<ssize_t>(junk.size());
      EXPECT_FALSE(written && fsync(held) == 0);
      close(held);
      sync();
      EXPECT_FALSE(OnDisk(layout, junk));
      bool gone = false;
      for (int i = 0; i < 500 && !gone; ++i) {
        gone = access(stale_sysfs.c_str(), F_OK) != 0;
        if (!gone) absl::SleepFor(absl::Milliseconds(10));
      }
      EXPECT_TRUE(gone) << "the stale mapping set aside was not removed after its last close";
    }
    active->mailbox.reset();
    active->reply_log.reset();
    absl::Status s = v->Deactivate();
    EXPECT_TRUE(s.ok()) << s;
  }
}

TEST_F(StorageDeviceTest, FenceGivesUpInTimeWhenTheBackingDeviceHangs) {
  const DeviceLayout layout = Format("vt-hang");
  absl::StatusOr<std::string> node_dir = dm::NodeDirectory(absl::StrCat(kRunDir, "/dev"));
  ASSERT_TRUE(node_dir.ok()) << node_dir.status();
  struct stat st;
  ASSERT_EQ(stat(g_device.c_str(), &st), 0);
  // upper -> lower -> the disk; suspending lower makes I/O through upper hang in flight.
  absl::StatusOr<dm::Device> lower = dm::CreateLinear(
      "vifiler-test-lower", st.st_rdev, layout.reply_log.offset / dm::kSectorSize, 2048, *node_dir);
  ASSERT_TRUE(lower.ok()) << lower.status();
  absl::StatusOr<dm::Device> upper =
      dm::CreateLinear("vifiler-test-upper", lower->dev, 0, 2048, *node_dir);
  ASSERT_TRUE(upper.ok()) << upper.status();
  ASSERT_TRUE(dm::Suspend(lower->name).ok());

  const pid_t writer = fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {
    const int fd = open(upper->node.c_str(), O_RDWR | O_DIRECT);
    void* buf = nullptr;
    if (fd < 0 || posix_memalign(&buf, kBlockSize, kBlockSize) != 0) _exit(2);
    memset(buf, 'h', kBlockSize);
    _exit(pwrite(fd, buf, kBlockSize, 0) == static_cast<ssize_t>(kBlockSize) ? 0 : 3);
  }
  absl::SleepFor(absl::Milliseconds(500));
  int status = 0;
  ASSERT_EQ(waitpid(writer, &status, WNOHANG), 0) << "the write did not hang";

  const absl::Time start = absl::Now();
  absl::Status fenced = dm::Fence(upper->name, absl::Seconds(1));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(fenced.code(), absl::StatusCode::kDeadlineExceeded) << fenced;
  EXPECT_NE(fenced.message().find("NOT"), std::string::npos) << fenced;
  EXPECT_LT(took, absl::Seconds(5));
  fprintf(stderr, "fence of a hung device gave up after %s: %s\n",
          absl::FormatDuration(took).c_str(), fenced.ToString().c_str());
  absl::StatusOr<dm::Info> info = dm::GetInfo(upper->name);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->suspended);  // the kernel undid the suspend
  EXPECT_EQ((*dm::ActiveTable(upper->name))[0].type, "linear");

  // The disk answers again: the write completes, and fencing works.
  ASSERT_TRUE(dm::Resume(lower->name).ok());
  bool exited = false;
  for (int i = 0; i < 1000 && !exited; ++i) {
    exited = waitpid(writer, &status, WNOHANG) == writer;
    if (!exited) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(exited);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  fenced = dm::Fence(upper->name, absl::Seconds(1));
  EXPECT_TRUE(fenced.ok()) << fenced;
  EXPECT_EQ((*dm::ActiveTable(upper->name))[0].type, "error");
  EXPECT_TRUE(dm::Remove(upper->name).ok());
  EXPECT_TRUE(dm::Remove(lower->name).ok());
  unlink(upper->node.c_str());
  unlink(lower->node.c_str());
}

}  // namespace
}  // namespace storage
}  // namespace vifiler

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new vifiler::storage::Environment);
  return RUN_ALL_TESTS();
}
