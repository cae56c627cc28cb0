// Copyright 2026 The vifiler Authors.
//
// FdTable: the descriptors of the interception library. Each vifiler open file gets a real
// descriptor of its own (a placeholder on /dev/null, moved to 512 or above when the limit
// allows), so the kernel never hands that number to anyone else; the table is keyed by it.
//
// Contract:
//  - Owned(fd) is lock-free (one atomic flag per descriptor number below kMaxFd) and is what
//    every intercepted descriptor call asks first: a descriptor it says is not ours goes to
//    libc untouched.
//  - Get() copies the open file description out under the table's mutex; callers make their
//    network calls with the copy and no lock held. Descriptors made by dup share one
//    OpenFile (offset and status flags), as dup'ed kernel descriptors share theirs.
//  - Install() takes a placeholder descriptor; Remove() forgets a number (the caller closes the
//    placeholder). Thread-safe. After fork the child's table is a copy of the parent's with
//    the offsets as they were (ForkPrepare/ForkParent/ForkChild hold the mutex across fork).

#ifndef VIFILER_PRELOAD_FD_TABLE_H_
#define VIFILER_PRELOAD_FD_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "protocol/types.h"

namespace vifiler {
namespace preload {

// One open file description.
struct OpenFile {
  protocol::FileHandle handle;
  bool directory = false;
  std::atomic<int> flags{0};  // open(2) flags: access mode, O_APPEND, O_NONBLOCK
  std::atomic<uint64_t> offset{0};
  std::string volume_path;  // as opened, for messages
};

class FdTable {
 public:
  static constexpr int kMaxFd = 1 << 16;
  static FdTable& Get();

  bool Owned(int fd) const {
    return fd >= 0 && fd < kMaxFd && owned_[fd].load(std::memory_order_acquire);
  }
  // The open file behind fd, or null.
  std::shared_ptr<OpenFile> Find(int fd);
  // Registers fd (a placeholder descriptor the caller made) for `file`. False when fd is out
  // of the table's range.
  bool Install(int fd, std::shared_ptr<OpenFile> file);
  // Forgets fd; returns what it was, or null.
  std::shared_ptr<OpenFile> Remove(int fd);

  void ForkPrepare() { mu_.lock(); }
  void ForkParent() { mu_.unlock(); }
  void ForkChild() { mu_.unlock(); }

 private:
  FdTable() = default;
  std::mutex mu_;
  absl::flat_hash_map<int, std::shared_ptr<OpenFile>> files_;
  std::atomic<bool> owned_[kMaxFd] = {};
};

// A placeholder descriptor: /dev/null opened close-on-exec, moved to 512 or above when the
// descriptor limit allows. -1 with errno set when none can be had.
int MakePlaceholder();

}  // namespace preload
}  // namespace vifiler

#endif  // VIFILER_PRELOAD_FD_TABLE_H_
