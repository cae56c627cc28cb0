// Copyright 2026 The vifiler Authors.
//
// ErrnoOf: the one place where a status from the client library becomes the errno a FUSE
// request is answered with.
//
// Contract: OK is 0. A filer's error (client::ErrorCodeOf) maps to the POSIX errno with the
// same meaning (NO_ENTRY -> ENOENT, EXISTS -> EEXIST, NOT_EMPTY -> ENOTEMPTY, ...). Errors that
// did not come from a filer (the client gave up after its failover deadline, a malformed reply)
// are EIO, except the client's own argument checks (InvalidArgument: EINVAL). The mount never
// makes an errno of its own for a call that is merely slow: a failover is a pause, and only the
// client library decides when waiting has lasted too long.

#ifndef VIFILER_MOUNT_ERRNO_MAP_H_
#define VIFILER_MOUNT_ERRNO_MAP_H_

#include "absl/status/status.h"
#include "protocol/types.h"

namespace vifiler {
namespace mount {

// The errno for a protocol error code (kOk: 0).
int ErrnoOfCode(protocol::ErrorCode code);

// The errno for a status returned by client::Client (OK: 0).
int ErrnoOf(const absl::Status& status);

}  // namespace mount
}  // namespace vifiler

#endif  // VIFILER_MOUNT_ERRNO_MAP_H_
