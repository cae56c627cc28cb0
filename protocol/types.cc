// Copyright 2026 The vifiler Authors.

#include "protocol/types.h"

#include "absl/strings/str_format.h"

namespace vifiler {
namespace protocol {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kNoEntry:
      return "NO_ENTRY";
    case ErrorCode::kExists:
      return "EXISTS";
    case ErrorCode::kNotDirectory:
      return "NOT_DIRECTORY";
    case ErrorCode::kIsDirectory:
      return "IS_DIRECTORY";
    case ErrorCode::kNotEmpty:
      return "NOT_EMPTY";
    case ErrorCode::kAccess:
      return "ACCESS";
    case ErrorCode::kInvalid:
      return "INVALID";
    case ErrorCode::kStaleHandle:
      return "STALE_HANDLE";
    case ErrorCode::kBadHandle:
      return "BAD_HANDLE";
    case ErrorCode::kNameTooLong:
      return "NAME_TOO_LONG";
    case ErrorCode::kNoSpace:
      return "NO_SPACE";
    case ErrorCode::kIo:
      return "IO";
    case ErrorCode::kBadRequest:
      return "BAD_REQUEST";
    case ErrorCode::kNotSupported:
      return "NOT_SUPPORTED";
    case ErrorCode::kTooBig:
      return "TOO_BIG";
    case ErrorCode::kBadSession:
      return "BAD_SESSION";
    case ErrorCode::kBadSlot:
      return "BAD_SLOT";
    case ErrorCode::kSequenceMisordered:
      return "SEQUENCE_MISORDERED";
    case ErrorCode::kNotOwner:
      return "NOT_OWNER";
    case ErrorCode::kServerFault:
      return "SERVER_FAULT";
    case ErrorCode::kTransport:
      return "TRANSPORT";
    case ErrorCode::kBusy:
      return "BUSY";
    case ErrorCode::kSessionExpired:
      return "SESSION_EXPIRED";
    case ErrorCode::kReadOnly:
      return "READ_ONLY";
    case ErrorCode::kNotExported:
      return "NOT_EXPORTED";
  }
  return "UNKNOWN";
}

const char* OpcodeName(Opcode op) {
  switch (op) {
    case Opcode::kNull:
      return "NULL";
    case Opcode::kSessionCreate:
      return "SESSION_CREATE";
    case Opcode::kSessionDestroy:
      return "SESSION_DESTROY";
    case Opcode::kLookup:
      return "LOOKUP";
    case Opcode::kGetAttr:
      return "GETATTR";
    case Opcode::kSetAttr:
      return "SETATTR";
    case Opcode::kCreate:
      return "CREATE";
    case Opcode::kMkdir:
      return "MKDIR";
    case Opcode::kRemove:
      return "REMOVE";
    case Opcode::kRmdir:
      return "RMDIR";
    case Opcode::kRename:
      return "RENAME";
    case Opcode::kReadDir:
      return "READDIR";
    case Opcode::kRead:
      return "READ";
    case Opcode::kWrite:
      return "WRITE";
    case Opcode::kFsync:
      return "FSYNC";
    case Opcode::kStatFs:
      return "STATFS";
    case Opcode::kNotice:
      return "NOTICE";
  }
  return "UNKNOWN";
}

bool IsMutating(Opcode op) {
  switch (op) {
    case Opcode::kSetAttr:
    case Opcode::kCreate:
    case Opcode::kMkdir:
    case Opcode::kRemove:
    case Opcode::kRmdir:
    case Opcode::kRename:
    case Opcode::kWrite:
      return true;
    default:
      return false;
  }
}

std::string FileHandle::ToString() const {
  return absl::StrFormat("%x:%x:%x", volume_id, file_id, generation);
}

bool FileAttr::operator==(const FileAttr& o) const {
  return file_id == o.file_id && type == o.type && mode == o.mode && nlink == o.nlink &&
         size == o.size && atime_ns == o.atime_ns && mtime_ns == o.mtime_ns &&
         ctime_ns == o.ctime_ns;
}

}  // namespace protocol
}  // namespace vifiler
