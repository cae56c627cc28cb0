// Copyright 2026 The vifiler Authors.

#include "filer/handle_index.h"

#include <algorithm>
#include <utility>

namespace vifiler {
namespace filer {

void HandleIndex::Reset(uint64_t root_id, Map entries) {
  Map old;
  absl::MutexLock lock(&mu_);
  root_id_ = root_id;
  old.swap(entries_);
  entries_ = std::move(entries);
  entries_.erase(root_id);
}

bool HandleIndex::Get(uint64_t file_id, IndexEntry* entry) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(file_id);
  if (it == entries_.end()) return false;
  *entry = it->second;
  return true;
}

void HandleIndex::Put(uint64_t file_id, IndexEntry entry) {
  absl::MutexLock lock(&mu_);
  if (file_id == root_id_) return;
  entries_[file_id] = std::move(entry);
}

void HandleIndex::Erase(uint64_t file_id) {
  absl::MutexLock lock(&mu_);
  entries_.erase(file_id);
}

void HandleIndex::EraseIfAt(uint64_t file_id, uint64_t parent, const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(file_id);
  if (it != entries_.end() && it->second.parent == parent && it->second.name == name) {
    entries_.erase(it);
  }
}

bool HandleIndex::PathOf(uint64_t file_id, std::vector<std::string>* components) const {
  components->clear();
  absl::MutexLock lock(&mu_);
  uint64_t id = file_id;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (id == root_id_) {
      std::reverse(components->begin(), components->end());
      return true;
    }
    auto it = entries_.find(id);
    if (it == entries_.end()) break;
    components->push_back(it->second.name);
    id = it->second.parent;
  }
  components->clear();
  return false;
}

bool HandleIndex::IsAncestorOrSelf(uint64_t ancestor, uint64_t file_id) const {
  absl::MutexLock lock(&mu_);
  uint64_t id = file_id;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (id == ancestor) return true;
    if (id == root_id_) return false;
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    id = it->second.parent;
  }
  return false;
}

size_t HandleIndex::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace filer
}  // namespace vifiler
