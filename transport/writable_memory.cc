// Copyright 2026 The vifiler Authors.

#include "transport/writable_memory.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

namespace vifiler {
namespace transport {

bool IsWritable(void* data, size_t size) {
  if (size == 0) return true;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t end = begin + size;
  constexpr size_t kBatch = 1024;  // IOV_MAX
  std::vector<iovec> iov;
  iov.reserve(kBatch);
  // The first byte of the range, then the first byte of each later page it touches.
  for (uintptr_t at = begin; at < end;) {
    iov.push_back(iovec{reinterpret_cast<void*>(at), 1});
    at = (at / page + 1) * page;
    if (iov.size() < kBatch && at < end) continue;
    const ssize_t copied =
        process_vm_writev(getpid(), iov.data(), iov.size(), iov.data(), iov.size(), 0);
    if (copied < 0 && (errno == ENOSYS || errno == EPERM)) return true;  // cannot tell
    if (copied != static_cast<ssize_t>(iov.size())) return false;
    iov.clear();
  }
  return true;
}

}  // namespace transport
}  // namespace vifiler
