// Copyright 2026 The vifiler Authors.

#include "filer/names.h"

namespace vifiler {
namespace filer {

using protocol::ErrorCode;

ErrorCode ValidateName(absl::string_view name) {
  if (name.empty() || name == "." || name == "..") return ErrorCode::kInvalid;
  if (name.find('/') != absl::string_view::npos) return ErrorCode::kInvalid;
  if (name.find('\0') != absl::string_view::npos) return ErrorCode::kInvalid;
  if (name.size() > protocol::kMaxNameLength) return ErrorCode::kNameTooLong;
  return ErrorCode::kOk;
}

}  // namespace filer
}  // namespace vifiler
