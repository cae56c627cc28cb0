// Copyright 2026 The vifiler Authors.

#include "mount/errno_map.h"

#include <cerrno>

#include "clientlib/client.h"

namespace vifiler {
namespace mount {

using protocol::ErrorCode;

int ErrnoOfCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 0;
    case ErrorCode::kNoEntry:
      return ENOENT;
    case ErrorCode::kExists:
      return EEXIST;
    case ErrorCode::kNotDirectory:
      return ENOTDIR;
    case ErrorCode::kIsDirectory:
      return EISDIR;
    case ErrorCode::kNotEmpty:
      return ENOTEMPTY;
    case ErrorCode::kAccess:
      return EACCES;
    case ErrorCode::kInvalid:
      return EINVAL;
    case ErrorCode::kStaleHandle:
    case ErrorCode::kBadHandle:
      return ESTALE;
    case ErrorCode::kNameTooLong:
      return ENAMETOOLONG;
    case ErrorCode::kNoSpace:
      return ENOSPC;
    case ErrorCode::kNotSupported:
      return EOPNOTSUPP;
    case ErrorCode::kTooBig:
      return EFBIG;
    case ErrorCode::kReadOnly:
      return EROFS;
    case ErrorCode::kNotExported:
      return EACCES;
    default:
      // kIo, and what the client library could not recover from: a malformed request, a lost
      // or expired session, a filer that no longer owns the volume, a failed transfer. Codes
      // added later also land here until they get an errno of their own.
      return EIO;
  }
}

int ErrnoOf(const absl::Status& status) {
  if (status.ok()) return 0;
  const ErrorCode code = client::ErrorCodeOf(status);
  if (code == ErrorCode::kTransport && status.code() == absl::StatusCode::kInvalidArgument) {
    return EINVAL;  // refused by the client library before anything was sent
  }
  return ErrnoOfCode(code);
}

}  // namespace mount
}  // namespace vifiler
