// Copyright 2026 The vifiler Authors.
//
// RunCommand: runs a program to completion, bounded in time, capturing its output (for
// tests that drive the command-line tools, and the test bed that drives vm-cluster).

#ifndef VIFILER_TOOLS_RUN_COMMAND_H_
#define VIFILER_TOOLS_RUN_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vifiler {
namespace tools {

// Runs argv (argv[0] is the program path) and returns its exit code (128 + signal when
// killed); stdout is captured into *out and stderr into *err when non-null. A program still
// running after timeout is SIGKILLed and DeadlineExceededError returned.
absl::StatusOr<int> RunCommand(const std::vector<std::string>& argv, std::string* out,
                               std::string* err, absl::Duration timeout);

}  // namespace tools
}  // namespace vifiler

#endif  // VIFILER_TOOLS_RUN_COMMAND_H_
