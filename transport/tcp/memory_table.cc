// Copyright 2026 The vifiler Authors.

#include "transport/tcp/memory_table.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace transport {
namespace tcp {

uint32_t MemoryTable::Add(char* data, size_t size, Access access) {
  const bool read = access == Access::kRemoteSource || access == Access::kRemoteAny;
  const bool write = access == Access::kRemoteSink || access == Access::kRemoteAny;
  absl::MutexLock lock(&mu_);
  uint32_t key;
  do {
    key = absl::Uniform<uint32_t>(random_);
  } while (key == 0 || entries_.contains(key));
  entries_.emplace(key, Entry{data, size, read, write});
  return key;
}

void MemoryTable::Remove(uint32_t key) {
  absl::MutexLock lock(&mu_);
  entries_.erase(key);
}

absl::Status MemoryTable::Locate(uint32_t key, uint64_t address, size_t n, bool write,
                                 char** where) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("no memory registered under key ", key));
  }
  const Entry& entry = it->second;
  if (!(write ? entry.remote_write : entry.remote_read)) {
    return absl::PermissionDeniedError(
        absl::StrCat("key ", key, " allows no remote ", write ? "write" : "read"));
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
  absl::Status status = Locate(key, address, n, /*write=*/true, &where);
  if (status.ok() && n > 0) std::memcpy(where, source, n);
  return status;
}

absl::Status MemoryTable::FillIn(
    uint32_t key, uint64_t address, size_t n,
    const std::function<absl::Status(char* where, size_t n, size_t* filled)>& fill,
    size_t* filled) {
  *filled = 0;
  absl::ReaderMutexLock lock(&mu_);
  char* where = nullptr;
  absl::Status status = Locate(key, address, n, /*write=*/true, &where);
  if (!status.ok() || n == 0) return status;
  return fill(where, n, filled);
}

absl::Status MemoryTable::CopyOut(uint32_t key, uint64_t address, char* destination, size_t n) {
  absl::ReaderMutexLock lock(&mu_);
  char* where = nullptr;
  absl::Status status = Locate(key, address, n, /*write=*/false, &where);
  if (status.ok() && n > 0) std::memcpy(destination, where, n);
  return status;
}

absl::Status MemoryTable::Check(uint32_t key, uint64_t address, size_t n, bool write) {
  absl::ReaderMutexLock lock(&mu_);
  char* where = nullptr;
  return Locate(key, address, n, write, &where);
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
