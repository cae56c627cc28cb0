// Copyright 2026 The vifiler Authors.
//
// RunWithDeadline: a blocking system call that the kernel may not let go of (mount with journal
// recovery, syncfs and umount on a device that stopped answering) run on a helper thread, so
// that the caller waits at most a given time for it.
//
// Contract:
//  - fn runs on a new thread and returns an errno value (0: success). The caller gets that value
//    if fn finishes within `limit`, otherwise DeadlineExceededError naming `what`.
//  - A call that misses its deadline is not cancelled (a task stuck in the kernel cannot be):
//    its thread stays detached until fn returns, and its result is dropped. fn must therefore
//    own everything it uses (capture by value).
//  - The caller's wait is bounded by `limit` (plus thread start-up).

#ifndef VIFILER_STORAGE_DEADLINE_CALL_H_
#define VIFILER_STORAGE_DEADLINE_CALL_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vifiler {
namespace storage {

absl::StatusOr<int> RunWithDeadline(const std::string& what, std::function<int()> fn,
                                    absl::Duration limit);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_DEADLINE_CALL_H_
