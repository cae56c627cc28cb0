// Copyright 2026 The vifiler Authors.
//
// Validation of the names clients send: each must be exactly one path component.

#ifndef VIFILER_FILER_NAMES_H_
#define VIFILER_FILER_NAMES_H_

#include "absl/strings/string_view.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {

// kOk when name is a single, ordinary path component. "", ".", ".." and names holding '/' or
// NUL are kInvalid; names longer than protocol::kMaxNameLength are kNameTooLong. Says nothing
// about the metadata directory: callers check that against the directory the name is in.
protocol::ErrorCode ValidateName(absl::string_view name);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_NAMES_H_
