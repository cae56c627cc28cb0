// Copyright 2026 The vifiler Authors.
//
// NameLocks: exclusive holds on directory entries (directory file id, name), taken by a
// namespace operation before it records its intent and released only once its reply is
// durable. While a name is held no other operation on it can start, so after a crash the
// names of an operation whose reply never became durable were touched by that operation alone
// since its intent was recorded: comparing them with the intent tells whether it ran
// (filer/intent_resolver.h).
//
// Acquire takes all the names of one operation at once or none (no lock-order deadlocks).
// Every wait has a deadline. Thread-safe.

#ifndef VIFILER_FILER_NAME_LOCKS_H_
#define VIFILER_FILER_NAME_LOCKS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vifiler {
namespace filer {

class NameLocks {
 public:
  using Name = std::pair<uint64_t, std::string>;  // (directory file id, entry name)

  // Waits until none of names is held, then holds them all. DeadlineExceededError if that
  // does not happen by deadline (nothing is held then).
  absl::Status Acquire(const std::vector<Name>& names, absl::Time deadline);
  void Release(const std::vector<Name>& names);
  size_t held() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_set<Name> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_NAME_LOCKS_H_
