// Copyright 2026 The vifiler Authors.

#include "transport/pinned_memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vifiler {
namespace transport {
namespace {

constexpr int kCapIpcLock = 14;  // linux/capability.h

std::atomic<uint64_t> pinned_bytes{0};

bool HasCapIpcLock() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, "CapEff:")) continue;
    uint64_t caps = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(line.substr(7)), &caps)) return false;
    return (caps >> kCapIpcLock) & 1;
  }
  return false;
}

std::string Bytes(uint64_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return absl::StrCat(n >> 20, " MiB");
  if (n >= (1u << 20)) return absl::StrCat(n * 10 / (1u << 20) / 10.0, " MiB");
  if (n >= 1024 && n % 1024 == 0) return absl::StrCat(n >> 10, " KiB");
  return absl::StrCat(n, " bytes");
}

}  // namespace

MemlockLimit GetMemlockLimit() {
  MemlockLimit limit;
  limit.cap_ipc_lock = HasCapIpcLock();
  rlimit rl;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    limit.limit_bytes = rl.rlim_cur;
  }
  limit.unlimited = limit.cap_ipc_lock || limit.limit_bytes == UINT64_MAX;
  return limit;
}

uint64_t PinnedSpan(const void* data, size_t size) {
  if (size == 0) return 0;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t start = reinterpret_cast<uintptr_t>(data) / page;
  const uint64_t end = (reinterpret_cast<uintptr_t>(data) + size + page - 1) / page;
  return (end - start) * page;
}

void AddPinned(uint64_t bytes) { pinned_bytes.fetch_add(bytes, std::memory_order_relaxed); }
void RemovePinned(uint64_t bytes) { pinned_bytes.fetch_sub(bytes, std::memory_order_relaxed); }
uint64_t PinnedBytes() { return pinned_bytes.load(std::memory_order_relaxed); }

std::string DescribeMemlockLimit(const MemlockLimit& limit) {
  if (limit.cap_ipc_lock) return "unlimited (CAP_IPC_LOCK)";
  if (limit.unlimited) return "unlimited";
  return absl::StrCat("RLIMIT_MEMLOCK ", Bytes(limit.limit_bytes), ", no CAP_IPC_LOCK");
}

absl::Status PinFailure(int error, absl::string_view what, uint64_t bytes,
                        absl::StatusCode limit_code) {
  const MemlockLimit limit = GetMemlockLimit();
  if (!limit.unlimited && (error == ENOMEM || error == EAGAIN || error == EPERM)) {
    return absl::Status(
        limit_code,
        absl::StrCat(what, ": ", std::strerror(error), ": pinning ", Bytes(bytes),
                     " more would pass this process's memlock limit (", Bytes(PinnedBytes()),
                     " pinned for RDMA, ", DescribeMemlockLimit(limit), "); ", kMemlockAdvice));
  }
  const absl::StatusCode code = error == ENOMEM || error == EAGAIN
                                    ? absl::StatusCode::kResourceExhausted
                                    : absl::StatusCode::kInvalidArgument;
  return absl::Status(code, absl::StrCat(what, ": ", std::strerror(error)));
}

}  // namespace transport
}  // namespace vifiler
