// Copyright 2026 The vifiler Authors.
//
// RunProgram: runs an external program (mkfs.ext4) to completion with a deadline and its output
// captured for the error message. storage/ does not depend on tools/, so this is its own small
// posix_spawn helper.
//
// Contract:
//  - argv[0] is a program path; when it has no '/', it is looked up in "/usr/sbin", "/sbin",
//    "/usr/bin", "/bin" and then PATH. stdin is /dev/null; stdout and stderr go to one pipe.
//  - OK when the program exits 0 within `limit`. Otherwise an error naming the program, how it
//    ended (exit status, signal, or the deadline) and the last 2000 bytes of its output.
//  - Every wait is bounded: the program gets SIGKILL at the deadline and is then reaped with a
//    bound of 5 s (a program stuck in the kernel may be left as a zombie; the error says so).
// Thread-safe (posix_spawn; no fork of the caller's threads).

#ifndef VIFILER_STORAGE_RUN_PROGRAM_H_
#define VIFILER_STORAGE_RUN_PROGRAM_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace vifiler {
namespace storage {

absl::Status RunProgram(const std::vector<std::string>& argv, absl::Duration limit);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_RUN_PROGRAM_H_
