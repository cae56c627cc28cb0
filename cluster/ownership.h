// Copyright 2026 The vifiler Authors.
//
// Volume ownership: the record on the volume itself that says which filer may mutate it.
//
// The record (<volume>/.vifiler/owner) holds the owner's name and an epoch. Claim() replaces it
// atomically (write a temporary file, fsync, rename, fsync the directory) with a higher epoch,
// serialized between processes by an flock on <volume>/.vifiler/owner.lock. OwnershipGuard is
// what a filer consults before executing and before acknowledging every mutation: it holds
// only while the record on storage still names this filer with the epoch it claimed, so a filer
// that was presumed dead and wakes up cannot mutate a volume its partner has taken over.

#ifndef VIFILER_CLUSTER_OWNERSHIP_H_
#define VIFILER_CLUSTER_OWNERSHIP_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace vifiler {
namespace cluster {

struct OwnershipRecord {
  std::string owner;  // empty: never claimed
  uint64_t epoch = 0;
};

class VolumeOwnership {
 public:
  // volume_dir is the volume's root; the record lives in its metadata directory.
  explicit VolumeOwnership(const std::string& volume_dir);

  // The current record; an empty record when the volume was never claimed.
  absl::StatusOr<OwnershipRecord> Read() const;
  // Makes `owner` the owner with epoch = current epoch + 1. Returns the new record.
  absl::StatusOr<OwnershipRecord> Claim(const std::string& owner);
  // Claim(), but only if the current owner is `expected` (giveback from the survivor).
  absl::StatusOr<OwnershipRecord> Transfer(const std::string& expected, const std::string& owner);

  const std::string& record_path() const { return record_path_; }

 private:
  absl::StatusOr<OwnershipRecord> Replace(const std::string* expected, const std::string& owner);

  std::string meta_dir_;
  std::string record_path_;
  std::string lock_path_;
};

// Thread-safe. Check() costs one stat() while the record is unchanged.
class OwnershipGuard {
 public:
  OwnershipGuard(std::string record_path, std::string owner, uint64_t epoch);
  // OK while the record names owner with epoch; FailedPreconditionError naming the current
  // owner and epoch otherwise.
  absl::Status Check();
  uint64_t epoch() const { return epoch_; }

 private:
  const std::string record_path_;
  const std::string owner_;
  const uint64_t epoch_;
  absl::Mutex mu_;
  ino_t seen_inode_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t seen_mtime_ns_ ABSL_GUARDED_BY(mu_) = -1;
  absl::Status verdict_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_OWNERSHIP_H_
