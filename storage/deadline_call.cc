// Copyright 2026 The vifiler Authors.

#include "storage/deadline_call.h"

#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace vifiler {
namespace storage {
namespace {

// Shared by the caller and the helper thread; whoever leaves last frees it.
struct CallState {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  int result ABSL_GUARDED_BY(mu) = 0;
};

}  // namespace

absl::StatusOr<int> RunWithDeadline(const std::string& what, std::function<int()> fn,
                                    absl::Duration limit) {
  auto state = std::make_shared<CallState>();
  std::thread([state, fn = std::move(fn)]() {
    const int result = fn();
    absl::MutexLock lock(&state->mu);
    state->result = result;
    state->done = true;
  }).detach();
  absl::MutexLock lock(&state->mu);
  const bool done = state->mu.AwaitWithTimeout(absl::Condition(
                                                   +[](bool* d) { return *d; }, &state->done),
                                               limit);
  if (!done) {
    return absl::DeadlineExceededError(absl::StrCat(what, " did not finish within ",
                                                    absl::FormatDuration(limit),
                                                    " (left running in the background)"));
  }
  return state->result;
}

}  // namespace storage
}  // namespace vifiler
