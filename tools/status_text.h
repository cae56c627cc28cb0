// Copyright 2026 The vifiler Authors.
//
// StatusText: how the command-line tools show an absl::Status to a person.

#ifndef VIFILER_TOOLS_STATUS_TEXT_H_
#define VIFILER_TOOLS_STATUS_TEXT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace vifiler {
namespace tools {

// "CODE: message" on one line (line breaks in the message become "; "), e.g.
// "NOT_FOUND: /nope: LOOKUP: NO_ENTRY". Unlike absl::Status::ToString() it leaves out the
// payloads (the client library keeps the protocol error code there, under a type URL, for
// client::ErrorCodeOf): they are for programs, not for the person reading the error.
inline std::string StatusText(const absl::Status& status) {
  std::string message = absl::StrReplaceAll(status.message(), {{"\r\n", "; "}, {"\n", "; "}});
  if (message.empty()) return absl::StatusCodeToString(status.code());
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", message);
}

}  // namespace tools
}  // namespace vifiler

#endif  // VIFILER_TOOLS_STATUS_TEXT_H_
