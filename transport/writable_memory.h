// Copyright 2026 The vifiler Authors.
//
// Whether this process may write a range of its own memory, found without faulting.
//
// Contract:
//  - IsWritable(data, size) is false when some page of [data, data + size) is not mapped or
//    not writable (a PROT_READ mapping, a read-only file mapping, .rodata); true otherwise,
//    and also when the kernel refuses the probe itself (process_vm_writev filtered out by a
//    seccomp policy: ENOSYS or EPERM), where the caller gets the behaviour of before.
//  - The probe writes each page's first byte onto itself (a copy in place through the kernel,
//    one system call per 1024 pages): contents are unchanged unless another thread writes
//    those bytes at the same time, which a buffer handed to a read must not see anyway.
// Thread-safe.

#ifndef VIFILER_TRANSPORT_WRITABLE_MEMORY_H_
#define VIFILER_TRANSPORT_WRITABLE_MEMORY_H_

#include <cstddef>

namespace vifiler {
namespace transport {

bool IsWritable(void* data, size_t size);

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_WRITABLE_MEMORY_H_
