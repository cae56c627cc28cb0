// Copyright 2026 The vifiler Authors.
//
// MemoryTable: the memory registered with one tcp connection, by key, and the passive side of
// one-sided operations against it. A key is random, non-zero and unique within the table.
// Copies run under the table lock, so removing a region (revoking its key) waits for a copy in
// progress and every later access fails: remote access never touches unregistered memory.
// Thread-safe.
//
// TcpMemoryRegion: the MemoryRegion handed to the application; destroying it removes its key.

#ifndef VIFILER_TRANSPORT_TCP_MEMORY_TABLE_H_
#define VIFILER_TRANSPORT_TCP_MEMORY_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "transport/connection.h"

namespace vifiler {
namespace transport {
namespace tcp {

class MemoryTable {
 public:
  MemoryTable() = default;
  MemoryTable(const MemoryTable&) = delete;
  MemoryTable& operator=(const MemoryTable&) = delete;

  // Returns the new region's key. The peer may write it only for Access::kRemoteSink and
  // kRemoteAny, read it only for kRemoteSource and kRemoteAny.
  uint32_t Add(char* data, size_t size, Access access);
  void Remove(uint32_t key);

  // Passive side of a remote write / read of n bytes at `address` (an absolute address inside
  // the region registered under `key`). NotFoundError for an unknown or revoked key,
  // PermissionDeniedError for a region registered without that remote right, OutOfRangeError
  // outside it.
  absl::Status CopyIn(uint32_t key, uint64_t address, const char* source, size_t n);
  absl::Status CopyOut(uint32_t key, uint64_t address, char* destination, size_t n);
  // Passive side of a remote write received in place: under the table lock, locates up to n
  // bytes at `address` and lets fill(where, n, &filled) move what it can into them; fill must
  // not block (the lock keeps the region from being removed meanwhile). Same errors as
  // CopyIn; fill's own error is returned as it is.
  absl::Status FillIn(
      uint32_t key, uint64_t address, size_t n,
      const std::function<absl::Status(char* where, size_t n, size_t* filled)>& fill,
      size_t* filled);
  // What CopyIn or CopyOut of n bytes at `address` would answer now, without copying: lets the
  // passive side validate a peer's request before it allocates or reads anything for it.
  // write: CopyIn's check, else CopyOut's.
  absl::Status Check(uint32_t key, uint64_t address, size_t n, bool write);

 private:
  struct Entry {
    char* data;
    size_t size;
    bool remote_read;
    bool remote_write;
  };
  absl::Status Locate(uint32_t key, uint64_t address, size_t n, bool write, char** where)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  absl::flat_hash_map<uint32_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
};

class TcpMemoryRegion : public MemoryRegion {
 public:
  TcpMemoryRegion(std::shared_ptr<MemoryTable> table, char* data, size_t size, uint32_t key)
      : table_(std::move(table)), data_(data), size_(size), key_(key) {}
  ~TcpMemoryRegion() override { table_->Remove(key_); }

  char* data() const override { return data_; }
  size_t size() const override { return size_; }
  RemoteBuffer Describe() const override;

 private:
  const std::shared_ptr<MemoryTable> table_;
  char* const data_;
  const size_t size_;
  const uint32_t key_;
};

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_TCP_MEMORY_TABLE_H_
