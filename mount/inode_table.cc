// Copyright 2026 The vifiler Authors.

#include "mount/inode_table.h"

namespace vifiler {
namespace mount {

InodeTable::InodeTable(const protocol::FileHandle& root) : root_(root) {}

uint64_t InodeTable::Ref(const protocol::FileHandle& handle) {
  if (handle == root_) return kRootId;
  absl::MutexLock lock(&mu_);
  auto [it, added] = ids_.try_emplace(KeyOf(handle), next_id_);
  if (added) {
    ++next_id_;
    nodes_[it->second].handle = handle;
  }
  ++nodes_[it->second].refs;
  return it->second;
}

void InodeTable::Forget(uint64_t id, uint64_t n) {
  if (id == kRootId) return;
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  if (it->second.refs > n || it->second.opens > 0) {  // an open file keeps its id
    it->second.refs = it->second.refs > n ? it->second.refs - n : 0;
    return;
  }
  ids_.erase(KeyOf(it->second.handle));
  nodes_.erase(it);
}

bool InodeTable::Get(uint64_t id, protocol::FileHandle* handle) const {
  if (id == kRootId) {
    *handle = root_;
    return true;
  }
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return false;
  *handle = it->second.handle;
  return true;
}

size_t InodeTable::size() const {
  absl::MutexLock lock(&mu_);
  return nodes_.size() + 1;
}

void InodeTable::Opened(uint64_t id) {
  if (id == kRootId) return;
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  if (it->second.opens++ == 0) ++open_files_;
}

bool InodeTable::Closed(uint64_t id, HiddenName* hidden) {
  if (id == kRootId) return false;
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end() || it->second.opens == 0) return false;
  if (--it->second.opens > 0) return false;
  --open_files_;
  const bool was_hidden = it->second.hidden;
  if (was_hidden) {
    *hidden = std::move(it->second.hidden_name);
    it->second.hidden = false;
  }
  if (it->second.refs == 0) {  // forgotten while open
    ids_.erase(KeyOf(it->second.handle));
    nodes_.erase(it);
  }
  return was_hidden;
}

bool InodeTable::AnyOpen() const {
  absl::MutexLock lock(&mu_);
  return open_files_ > 0;
}

uint64_t InodeTable::OpenIdLocked(const protocol::FileHandle& handle) const {
  auto id = ids_.find(KeyOf(handle));
  if (id == ids_.end()) return 0;
  auto it = nodes_.find(id->second);
  if (it == nodes_.end() || it->second.opens == 0) return 0;
  return id->second;
}

bool InodeTable::IsOpen(const protocol::FileHandle& handle) const {
  absl::MutexLock lock(&mu_);
  return OpenIdLocked(handle) != 0;
}

bool InodeTable::Hide(const protocol::FileHandle& handle, HiddenName hidden) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = OpenIdLocked(handle);
  if (id == 0) return false;
  Node& node = nodes_[id];
  node.hidden = true;
  node.hidden_name = std::move(hidden);
  return true;
}

}  // namespace mount
}  // namespace vifiler
