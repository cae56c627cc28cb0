// Copyright 2026 The vifiler Authors.
//
// Pinned memory: what this process pinned for RDMA registrations, counted against the limit
// the kernel holds it to (the soft RLIMIT_MEMLOCK; a process with CAP_IPC_LOCK may exceed it).
//
// Contract:
//  - A registration pins the whole pages it spans (what the kernel charges). PinnedBytes() is
//    the sum over this process's live registrations; the registering code keeps it with
//    AddPinned and RemovePinned. A registration the kernel refused counts nothing.
//  - GetMemlockLimit() reads the limit and the capability each time it is called (an operator
//    may change a running process's limit with prlimit).
//  - PinFailure() is the status of a refused registration: when the memlock limit explains it
//    (ENOMEM, EAGAIN or EPERM under a finite limit without CAP_IPC_LOCK) it has code
//    `limit_code` and says what is pinned, the limit, and what to raise; otherwise it carries
//    the errno's text, ResourceExhausted for ENOMEM and EAGAIN, else InvalidArgument (EFAULT:
//    memory that may not be pinned with the rights asked for; EINVAL, EOPNOTSUPP: memory the
//    device cannot register).
// Thread-safe.

#ifndef VIFILER_TRANSPORT_PINNED_MEMORY_H_
#define VIFILER_TRANSPORT_PINNED_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace vifiler {
namespace transport {

struct MemlockLimit {
  // No limit applies: RLIMIT_MEMLOCK is unlimited or the process has CAP_IPC_LOCK.
  bool unlimited = true;
  // The soft RLIMIT_MEMLOCK in bytes (RLIM_INFINITY as UINT64_MAX).
  uint64_t limit_bytes = UINT64_MAX;
  bool cap_ipc_lock = false;
};
MemlockLimit GetMemlockLimit();

// Bytes of the whole pages [data, data + size) spans.
uint64_t PinnedSpan(const void* data, size_t size);
void AddPinned(uint64_t bytes);
void RemovePinned(uint64_t bytes);
uint64_t PinnedBytes();

// "RLIMIT_MEMLOCK 8 MiB, no CAP_IPC_LOCK" / "unlimited".
std::string DescribeMemlockLimit(const MemlockLimit& limit);
// What to do about a limit that is too small, for logs and errors.
inline constexpr absl::string_view kMemlockAdvice =
    "raise the memlock limit (ulimit -l, limits.conf memlock, systemd LimitMEMLOCK=) or grant "
    "CAP_IPC_LOCK";

// The status of a registration of `bytes` (what: "ibv_reg_mr of ...") refused with errno
// `error`; see the contract above.
absl::Status PinFailure(int error, absl::string_view what, uint64_t bytes,
                        absl::StatusCode limit_code);

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_PINNED_MEMORY_H_
