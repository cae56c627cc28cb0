// Copyright 2026 The vifiler Authors.

#include "preload/fd_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "preload/real_libc.h"

namespace vifiler {
namespace preload {

FdTable& FdTable::Get() {
  // Never destroyed: descriptors may be used by threads still running at exit.
  static FdTable* table = new FdTable();
  return *table;
}

std::shared_ptr<OpenFile> FdTable::Find(int fd) {
  if (!Owned(fd)) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(fd);
  return it == files_.end() ? nullptr : it->second;
}

bool FdTable::Install(int fd, std::shared_ptr<OpenFile> file) {
  if (fd < 0 || fd >= kMaxFd) return false;
  std::lock_guard<std::mutex> lock(mu_);
  files_[fd] = std::move(file);
  owned_[fd].store(true, std::memory_order_release);
  return true;
}

std::shared_ptr<OpenFile> FdTable::Remove(int fd) {
  if (!Owned(fd)) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(fd);
  if (it == files_.end()) return nullptr;
  std::shared_ptr<OpenFile> file = std::move(it->second);
  files_.erase(it);
  owned_[fd].store(false, std::memory_order_release);
  return file;
}

int MakePlaceholder() {
  const vp_real_libc& libc = *vp_real();
  const int fd = libc.open("/dev/null", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int high = libc.fcntl(fd, F_DUPFD_CLOEXEC, 512);
  if (high < 0) {
    if (fd >= FdTable::kMaxFd) {
      libc.close(fd);
      errno = EMFILE;
      return -1;
    }
    return fd;  // a low limit: the number is still the kernel's, so still unique
  }
  libc.close(fd);
  if (high >= FdTable::kMaxFd) {
    libc.close(high);
    errno = EMFILE;
    return -1;
  }
  return high;
}

}  // namespace preload
}  // namespace vifiler
