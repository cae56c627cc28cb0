// Copyright 2026 The vifiler Authors.
//
// OpenFile and FdCache: open file descriptors of volume files, kept across operations so that
// the hot path (read, write) does not walk the tree for every request.

#ifndef VIFILER_FILER_FD_CACHE_H_
#define VIFILER_FILER_FD_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {

// One open descriptor of a volume file, verified against (file_id, generation) when opened.
// Owns the descriptor: it is closed when the last reference goes away, so a cache eviction
// never closes a descriptor another thread is still using. Immutable, hence thread-safe.
//  - Regular files are open O_RDWR (O_RDONLY when the file is not writable; writes then fail).
//  - Directories are open O_RDONLY|O_DIRECTORY (usable as dirfd for *at() calls).
//  - Symlinks and special files are open O_PATH: never read, written or followed.
// A read-only shared mapping of one window of a regular file, for direct reads that go to the
// fabric straight from the page cache. Unmapped when the last reference goes.
class FileWindow {
 public:
  FileWindow(void* base, uint64_t start, size_t length)
      : base_(base), start_(start), length_(length) {}
  ~FileWindow();
  FileWindow(const FileWindow&) = delete;
  FileWindow& operator=(const FileWindow&) = delete;
  bool Covers(uint64_t offset, size_t length) const {
    return offset >= start_ && offset + length <= start_ + length_;
  }
  const char* At(uint64_t offset) const {
    return static_cast<const char*>(base_) + (offset - start_);
  }

 private:
  void* const base_;
  const uint64_t start_;
  const size_t length_;
};

class OpenFile {
 public:
  OpenFile(int fd, uint64_t file_id, uint64_t generation, protocol::FileType type);
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  int fd() const { return fd_; }
  uint64_t file_id() const { return file_id_; }
  uint64_t generation() const { return generation_; }
  protocol::FileType type() const { return type_; }

  // A window mapping [offset, offset + length) of this (regular) file: the last one made, when
  // it covers the range, else a new one (kWindowSize-aligned) that replaces it. Thread-safe;
  // nullptr when mmap fails.
  static constexpr uint64_t kWindowSize = 64u << 20;
  std::shared_ptr<const FileWindow> WindowFor(uint64_t offset, size_t length) const;

 private:
  mutable absl::Mutex window_mu_;
  mutable std::shared_ptr<const FileWindow> window_ ABSL_GUARDED_BY(window_mu_);
  const int fd_;
  const uint64_t file_id_;
  const uint64_t generation_;
  const protocol::FileType type_;
};

// A bounded LRU map file_id -> OpenFile. Thread-safe. Entries are shared_ptrs: Get hands out a
// reference that stays valid (and its descriptor open) after the entry is evicted or erased.
class FdCache {
 public:
  explicit FdCache(size_t capacity);
  FdCache(const FdCache&) = delete;
  FdCache& operator=(const FdCache&) = delete;

  // The cached file for file_id (now most recently used), or nullptr.
  std::shared_ptr<const OpenFile> Get(uint64_t file_id);
  // Inserts or replaces the entry for file->file_id(); evicts the least recently used entry
  // when over capacity.
  void Put(std::shared_ptr<const OpenFile> file);
  // Drops the entry for file_id, if any.
  void Erase(uint64_t file_id);
  // Drops the entry for file_id only if it is still `expected` (not replaced meanwhile).
  void EraseIfSame(uint64_t file_id, const OpenFile* expected);
  void Clear();
  // Drops the least recently used half of the entries (at least one): the process ran out of
  // descriptors. Returns how many were dropped.
  size_t Shed();
  size_t size() const;

 private:
  using List = std::list<std::shared_ptr<const OpenFile>>;

  const size_t capacity_;
  mutable absl::Mutex mu_;
  List lru_ ABSL_GUARDED_BY(mu_);  // front = most recently used
  absl::flat_hash_map<uint64_t, List::iterator> map_ ABSL_GUARDED_BY(mu_);
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_FD_CACHE_H_
