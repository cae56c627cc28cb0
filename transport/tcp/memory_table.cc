// Copyright 2026 The vifiler Authors.

#include "transport/tcp/memory_table.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace transport {
namespace tcp {

uint32_t MemoryTable::Add(char* data, size_t size, bool allow_remote) {
  absl::MutexLock lock(&mu_);
  uint32_t key;
  do {
    key = absl::Uniform<uint32_t>(random_);
  } while (key == 0 || entries_.contains(key));
  entries_.emplace(key, Entry{data, size, allow_remote});
  return key;
}

void MemoryTable::Remove(uint32_t key) {
  absl::MutexLock lock(&mu_);
  entries_.erase(key);
}

absl::Status MemoryTable::Locate(uint32_t key, uint64_t address, size_t n, char** where) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("no memory registered under key ", key));
  }
  const Entry& entry = it->second;
  if (!entry.allow_remote) {
    return absl::PermissionDeniedError(absl::StrCat("key ", key, " allows no remote access"));
  }
  uint64_t base = reinterpret_cast<uintptr_t>(entry.data);
  if (address < base || n > entry.size || address - base > entry.size - n) {
    return absl::OutOfRangeError(absl::StrCat(n, " bytes at address ", absl::Hex(address),
                                              " outside the region of ", entry.size, " bytes at ",
                                              absl::Hex(base), " (key ", key, ")"));
  }
  *where = entry.data + (address - base);
  return absl::OkStatus();
}

absl::Status MemoryTable::CopyIn(uint32_t key, uint64_t address, const char* source, size_t n) {
  absl::ReaderMutexLock lock(&mu_);
  char* where = nullptr;
  absl::Status status = Locate(key, address, n, &where);
  if (status.ok() && n > 0) std::memcpy(where, source, n);
  return status;
}

absl::Status MemoryTable::CopyOut(uint32_t key, uint64_t address, char* destination, size_t n) {
  absl::ReaderMutexLock lock(&mu_);
  char* where = nullptr;
  absl::Status status = Locate(key, address, n, &where);
  if (status.ok() && n > 0) std::memcpy(destination, where, n);
  return status;
}

RemoteBuffer TcpMemoryRegion::Describe() const {
  RemoteBuffer buffer;
  buffer.address = reinterpret_cast<uintptr_t>(data_);
  buffer.key = key_;
  buffer.length = static_cast<uint32_t>(size_);
  return buffer;
}

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler
