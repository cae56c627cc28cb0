// Copyright 2026 The vifiler Authors.

#include "filer/name_locks.h"

#include <algorithm>

namespace vifiler {
namespace filer {

absl::Status NameLocks::Acquire(const std::vector<Name>& names, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto free = [this, &names]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return std::none_of(names.begin(), names.end(),
                        [this](const Name& n) { return held_.contains(n); });
  };
  if (!mu_.AwaitWithDeadline(absl::Condition(&free), deadline)) {
    return absl::DeadlineExceededError("a name this operation needs is busy");
  }
  for (const Name& n : names) held_.insert(n);
  return absl::OkStatus();
}

void NameLocks::Release(const std::vector<Name>& names) {
  absl::MutexLock lock(&mu_);
  for (const Name& n : names) held_.erase(n);
}

size_t NameLocks::held() const {
  absl::MutexLock lock(&mu_);
  return held_.size();
}

}  // namespace filer
}  // namespace vifiler
