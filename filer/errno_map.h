// Copyright 2026 The vifiler Authors.
//
// The one place where POSIX errno values become protocol error codes.

#ifndef VIFILER_FILER_ERRNO_MAP_H_
#define VIFILER_FILER_ERRNO_MAP_H_

#include "protocol/types.h"

namespace vifiler {
namespace filer {

// Maps an errno value from a file system call to the ErrorCode a client sees. ELOOP (a symlink
// met with O_NOFOLLOW), EPERM and EROFS become kAccess; EMFILE, ENFILE, ENOMEM and ENOBUFS
// become kBusy (out of resources: the call changed nothing, the request is refused before it
// is recorded and the client retries it); anything unexpected becomes kIo.
protocol::ErrorCode ErrnoToErrorCode(int error);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_ERRNO_MAP_H_
