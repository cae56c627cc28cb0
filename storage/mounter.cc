// Copyright 2026 The vifiler Authors.

#include "storage/mounter.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "storage/deadline_call.h"

namespace vifiler {
namespace storage {
namespace {

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) &&
        IsOctal(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string MountHint(int err) {
  switch (err) {
    case EINVAL:
      return " (no ext4 file system there, or a damaged one; see dmesg)";
    case EUCLEAN:
      return " (the file system needs fsck; see dmesg)";
    case EBUSY:
      return " (the device is in use or already mounted)";
    case ENODEV:
      return " (is the ext4 kernel module loaded?)";
    case EACCES:
      return " (the device node is on a nodev file system, or the device is read-only)";
    case EPERM:
      return " (mounting needs CAP_SYS_ADMIN)";
    default:
      return "";
  }
}

}  // namespace

absl::Status MakeDirectories(const std::string& dir, mode_t mode) {
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at == dir.size() || dir[at] == '/') {
      const std::string prefix = dir.substr(0, at);
      if (mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
        return absl::ErrnoToStatus(errno, absl::StrCat("create ", prefix));
      }
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("stat ", dir));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status MountExt4(const std::string& device_node, const std::string& dir,
                       absl::Duration limit) {
  if (absl::Status s = MakeDirectories(dir, 0755); !s.ok()) return s;
  const std::string what = absl::StrCat("mount ", device_node, " on ", dir);
  absl::StatusOr<int> err = RunWithDeadline(
      what,
      [device_node, dir]() {
        const int r = mount(device_node.c_str(), dir.c_str(), "ext4", MS_NOSUID | MS_NODEV,
                            "errors=remount-ro");
        return r == 0 ? 0 : errno;
      },
      limit);
  if (!err.ok()) return err.status();
  if (*err != 0) return absl::ErrnoToStatus(*err, absl::StrCat(what, " (ext4)", MountHint(*err)));
  return absl::OkStatus();
}

absl::Status UnmountClean(const std::string& dir, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  absl::StatusOr<int> err = RunWithDeadline(
      absl::StrCat("sync of ", dir),
      [dir]() {
        const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return errno;
        const int r = syncfs(fd) == 0 ? 0 : errno;
        close(fd);
        return r;
      },
      limit);
  if (!err.ok()) return err.status();
  if (*err != 0) return absl::ErrnoToStatus(*err, absl::StrCat("sync file system at ", dir));
  err = RunWithDeadline(
      absl::StrCat("unmount of ", dir),
      [dir]() { return umount2(dir.c_str(), UMOUNT_NOFOLLOW) == 0 ? 0 : errno; },
      std::max(deadline - absl::Now(), absl::Milliseconds(1)));
  if (!err.ok()) return err.status();
  if (*err == EBUSY) {
    return absl::FailedPreconditionError(
        absl::StrCat("unmount ", dir, ": busy (files or directories still open there)"));
  }
  if (*err != 0) return absl::ErrnoToStatus(*err, absl::StrCat("unmount ", dir));
  return absl::OkStatus();
}

absl::Status DetachMount(const std::string& dir, absl::Duration limit) {
  absl::StatusOr<int> err = RunWithDeadline(
      absl::StrCat("lazy unmount of ", dir),
      [dir]() { return umount2(dir.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0 ? 0 : errno; },
      limit);
  if (!err.ok()) return err.status();
  if (*err == EINVAL || *err == ENOENT) return absl::OkStatus();  // nothing mounted there
  if (*err != 0) return absl::ErrnoToStatus(*err, absl::StrCat("lazy unmount ", dir));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MountEntry>> ListMounts() {
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (f == nullptr) return absl::ErrnoToStatus(errno, "open /proc/self/mountinfo");
  std::vector<MountEntry> mounts;
  char* line = nullptr;
  size_t capacity = 0;
  while (getline(&line, &capacity, f) > 0) {
    std::vector<absl::string_view> fields = absl::StrSplit(
        absl::string_view(line).substr(0, strcspn(line, "\n")), ' ', absl::SkipEmpty());
    // id parent major:minor root mount-point options [optional...] - type source super-options
    const auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 7 || dash == fields.end() || fields.end() - dash < 3) continue;
    std::pair<absl::string_view, absl::string_view> mm = absl::StrSplit(fields[2], ':');
    unsigned maj = 0, min = 0;
    if (!absl::SimpleAtoi(mm.first, &maj) || !absl::SimpleAtoi(mm.second, &min)) continue;
    MountEntry e;
    e.dev = makedev(maj, min);
    e.mount_point = Unescape(fields[4]);
    e.fs_type = std::string(dash[1]);
    e.source = Unescape(dash[2]);
    mounts.push_back(std::move(e));
  }
  free(line);
  fclose(f);
  return mounts;
}

absl::StatusOr<std::vector<std::string>> MountPointsOf(dev_t dev) {
  absl::StatusOr<std::vector<MountEntry>> mounts = ListMounts();
  if (!mounts.ok()) return mounts.status();
  std::vector<std::string> points;
  for (auto it = mounts->rbegin(); it != mounts->rend(); ++it) {
    if (it->dev == dev) points.push_back(it->mount_point);
  }
  return points;
}

absl::StatusOr<bool> IsMountPoint(const std::string& dir) {
  absl::StatusOr<std::vector<MountEntry>> mounts = ListMounts();
  if (!mounts.ok()) return mounts.status();
  for (const MountEntry& e : *mounts) {
    if (e.mount_point == dir) return true;
  }
  return false;
}

}  // namespace storage
}  // namespace vifiler
