// Copyright 2026 The vifiler Authors.
//
// MemoryDisk: an in-memory disk for tests, with the failure modes of a real one. BlockFiles
// opened on it (regions, like OpenBlockFile's) share its contents, as two hosts share a SAN
// disk. A write lands in a volatile cache until a Sync() of any BlockFile on the disk makes it
// durable; PowerCut() then decides what the cache leaves behind: nothing, everything, any
// subset, or a torn block. Errors can be injected into reads, writes and syncs.
//
// Thread-safe.

#ifndef VIFILER_STORAGE_MEMORY_DISK_H_
#define VIFILER_STORAGE_MEMORY_DISK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "storage/block_file.h"

namespace vifiler {
namespace storage {

class MemoryDisk : public std::enable_shared_from_this<MemoryDisk> {
 public:
  enum class PowerCutMode {
    kLoseUnsynced,  // writes not yet synced are gone
    kKeepUnsynced,  // every write landed (a process crash on one host: the page cache survives)
    kTearLast,      // unsynced writes are gone, except the first half of the last one's first block
  };

  static std::shared_ptr<MemoryDisk> Create(uint64_t size);

  // A region [offset, offset + size) as a BlockFile (size 0: to the end). direct() reports
  // `direct`.
  std::unique_ptr<BlockFile> Open(uint64_t offset = 0, uint64_t size = 0, bool direct = true);

  // Applies mode to the unsynced writes; afterwards the disk holds only durable data.
  void PowerCut(PowerCutMode mode);
  // Like PowerCut, but keeps exactly the unsynced writes for which keep(index) is true
  // (index counts unsynced writes from 0 in the order they were issued).
  void PowerCutKeeping(const std::function<bool(size_t index)>& keep);

  // Injected errors (OK clears). A write or sync that fails changes nothing.
  void SetReadError(absl::Status status);
  void SetWriteError(absl::Status status);
  void SetSyncError(absl::Status status);
  // The next n writes succeed, then writes fail with UnavailableError (n < 0: never).
  void FailWritesAfter(int64_t n);

  uint64_t size() const { return size_; }
  uint64_t writes() const;
  uint64_t syncs() const;
  size_t unsynced_writes() const;
  // The bytes a reader would see now (cache included), for assertions.
  std::string Contents(uint64_t offset, size_t length) const;

 private:
  friend class MemoryBlockFile;
  struct Pending {
    uint64_t offset;
    std::string data;
  };

  explicit MemoryDisk(uint64_t size) : size_(size), durable_(size, '\0'), visible_(size, '\0') {}

  absl::Status Read(uint64_t offset, char* out, size_t length);
  absl::Status Write(uint64_t offset, absl::string_view data);
  absl::Status Sync();

  const uint64_t size_;
  mutable absl::Mutex mu_;
  std::string durable_ ABSL_GUARDED_BY(mu_);
  std::string visible_ ABSL_GUARDED_BY(mu_);
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  absl::Status read_error_ ABSL_GUARDED_BY(mu_);
  absl::Status write_error_ ABSL_GUARDED_BY(mu_);
  absl::Status sync_error_ ABSL_GUARDED_BY(mu_);
  int64_t writes_left_ ABSL_GUARDED_BY(mu_) = -1;
  uint64_t writes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_MEMORY_DISK_H_
