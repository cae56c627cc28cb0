// Copyright 2026 The vifiler Authors.
//
// HandleIndex: where each file of a volume lives in the tree, by file id.

#ifndef VIFILER_FILER_HANDLE_INDEX_H_
#define VIFILER_FILER_HANDLE_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {

// Where a file was last seen: the directory holding it and its name there.
struct IndexEntry {
  uint64_t parent = 0;  // file id of the directory; 0 for the root
  std::string name;     // one component; empty for the root
  uint64_t generation = 0;
  protocol::FileType type = protocol::FileType::kUnknown;
};

// An in-memory map file id -> IndexEntry, rebuilt from the tree when a volume opens and kept up
// to date by every operation. It is a hint, never the truth: whoever resolves a file through it
// must verify inode and generation on disk (another filer may have changed the tree). A file
// with several hard links is known under one of them. Thread-safe.
class HandleIndex {
 public:
  using Map = absl::flat_hash_map<uint64_t, IndexEntry>;

  HandleIndex() = default;
  HandleIndex(const HandleIndex&) = delete;
  HandleIndex& operator=(const HandleIndex&) = delete;

  // Replaces the whole index; root_id names the root directory (which needs no entry).
  void Reset(uint64_t root_id, Map entries);

  bool Get(uint64_t file_id, IndexEntry* entry) const;
  void Put(uint64_t file_id, IndexEntry entry);
  void Erase(uint64_t file_id);
  // Erases file_id only when it is indexed under (parent, name).
  void EraseIfAt(uint64_t file_id, uint64_t parent, const std::string& name);

  // The components leading from the root to file_id (empty for the root itself). False when
  // file_id or one of its ancestors is unknown, or the chain does not reach the root.
  bool PathOf(uint64_t file_id, std::vector<std::string>* components) const;
  // True when `ancestor` is file_id itself or one of its ancestors by the index.
  bool IsAncestorOrSelf(uint64_t ancestor, uint64_t file_id) const;

  size_t size() const;

 private:
  // Longest parent chain followed; deeper chains (or cycles) count as unknown.
  static constexpr int kMaxDepth = 4096;

  mutable absl::Mutex mu_;
  uint64_t root_id_ ABSL_GUARDED_BY(mu_) = 0;
  Map entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_HANDLE_INDEX_H_
