// Copyright 2026 The vifiler Authors.

#include "filer/errno_map.h"

#include <cerrno>

namespace vifiler {
namespace filer {

using protocol::ErrorCode;

ErrorCode ErrnoToErrorCode(int error) {
  switch (error) {
    case 0:
      return ErrorCode::kOk;
    case ENOENT:
      return ErrorCode::kNoEntry;
    case EEXIST:
      return ErrorCode::kExists;
    case ENOTDIR:
      return ErrorCode::kNotDirectory;
    case EISDIR:
      return ErrorCode::kIsDirectory;
    case ENOTEMPTY:
      return ErrorCode::kNotEmpty;
    case EACCES:
    case EPERM:
    case ELOOP:  // a symlink where O_NOFOLLOW forbids one
    case EROFS:
    case EXDEV:
    case ETXTBSY:
    case EBADF:  // e.g. writing through a descriptor opened read-only
      return ErrorCode::kAccess;
    case EINVAL:
    case EOVERFLOW:
      return ErrorCode::kInvalid;
    case ENAMETOOLONG:
      return ErrorCode::kNameTooLong;
    case ENOSPC:
    case EDQUOT:
    case EMLINK:
      return ErrorCode::kNoSpace;
    case ESTALE:
      return ErrorCode::kStaleHandle;
    case EFBIG:
      return ErrorCode::kTooBig;
    case EOPNOTSUPP:
      return ErrorCode::kNotSupported;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOBUFS:
      return ErrorCode::kBusy;  // out of descriptors or memory: nothing done, retry later
    default:
      return ErrorCode::kIo;
  }
}

}  // namespace filer
}  // namespace vifiler
