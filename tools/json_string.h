// Copyright 2026 The vifiler Authors.
//
// JsonString: a string as a JSON string literal, for the tools' hand-written JSON output
// (vifilerctl status --json, vifiler-load's summary). UTF-8 passes through unchanged; quotes,
// backslashes and control characters are escaped.

#ifndef VIFILER_TOOLS_JSON_STRING_H_
#define VIFILER_TOOLS_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace vifiler {
namespace tools {

std::string JsonString(absl::string_view s);

}  // namespace tools
}  // namespace vifiler

#endif  // VIFILER_TOOLS_JSON_STRING_H_
