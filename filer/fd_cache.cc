// Copyright 2026 The vifiler Authors.

#include "filer/fd_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace vifiler {
namespace filer {

OpenFile::OpenFile(int fd, uint64_t file_id, uint64_t generation, protocol::FileType type)
    : fd_(fd), file_id_(file_id), generation_(generation), type_(type) {}

OpenFile::~OpenFile() {
  if (fd_ >= 0) close(fd_);
}

FileWindow::~FileWindow() { munmap(base_, length_); }

std::shared_ptr<const FileWindow> OpenFile::WindowFor(uint64_t offset, size_t length) const {
  absl::MutexLock lock(&window_mu_);
  if (window_ != nullptr && window_->Covers(offset, length)) return window_;
  const uint64_t start = offset - offset % kWindowSize;
  const uint64_t end = offset + length;
  const size_t span = static_cast<size_t>(
      std::max<uint64_t>(kWindowSize, (end - start + kWindowSize - 1) / kWindowSize * kWindowSize));
  void* base = mmap(nullptr, span, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(start));
  if (base == MAP_FAILED) return nullptr;
  window_ = std::make_shared<const FileWindow>(base, start, span);
  return window_;
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

size_t FdCache::Shed() {
  List dropped;  // released after the lock: close() may block
  absl::MutexLock lock(&mu_);
  size_t n = (lru_.size() + 1) / 2;
  const size_t count = n;
  while (n-- > 0) {
    map_.erase(lru_.back()->file_id());
    dropped.push_back(std::move(lru_.back()));
    lru_.pop_back();
  }
  return count;
}

size_t FdCache::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace filer
}  // namespace vifiler
