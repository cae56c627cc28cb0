// Copyright 2026 The vifiler Authors.

#include "filer/fd_cache.h"

#include <unistd.h>

#include <utility>
#include <vector>

namespace vifiler {
namespace filer {

OpenFile::OpenFile(int fd, uint64_t file_id, uint64_t generation, protocol::FileType type)
    : fd_(fd), file_id_(file_id), generation_(generation), type_(type) {}

OpenFile::~OpenFile() {
  if (fd_ >= 0) close(fd_);
}

FdCache::FdCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::shared_ptr<const OpenFile> FdCache::Get(uint64_t file_id) {
  absl::MutexLock lock(&mu_);
  auto it = map_.find(file_id);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return *it->second;
}

void FdCache::Put(std::shared_ptr<const OpenFile> file) {
  // Evicted entries are released after the lock is dropped: close() may block.
  std::vector<std::shared_ptr<const OpenFile>> dropped;
  {
    absl::MutexLock lock(&mu_);
    const uint64_t id = file->file_id();
    auto it = map_.find(id);
    if (it != map_.end()) {
      dropped.push_back(std::move(*it->second));
      lru_.erase(it->second);
      map_.erase(it);
    }
    lru_.push_front(std::move(file));
    map_[id] = lru_.begin();
    while (lru_.size() > capacity_) {
      map_.erase(lru_.back()->file_id());
      dropped.push_back(std::move(lru_.back()));
      lru_.pop_back();
    }
  }
}

void FdCache::Erase(uint64_t file_id) {
  std::shared_ptr<const OpenFile> dropped;
  absl::MutexLock lock(&mu_);
  auto it = map_.find(file_id);
  if (it == map_.end()) return;
  dropped = std::move(*it->second);
  lru_.erase(it->second);
  map_.erase(it);
  // `dropped` is declared before `lock`, so it is released after the lock.
}

void FdCache::EraseIfSame(uint64_t file_id, const OpenFile* expected) {
  std::shared_ptr<const OpenFile> dropped;
  absl::MutexLock lock(&mu_);
  auto it = map_.find(file_id);
  if (it == map_.end() || it->second->get() != expected) return;
  dropped = std::move(*it->second);
  lru_.erase(it->second);
  map_.erase(it);
}

void FdCache::Clear() {
  List dropped;
  absl::MutexLock lock(&mu_);
  map_.clear();
  dropped.swap(lru_);
}

size_t FdCache::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace filer
}  // namespace vifiler
