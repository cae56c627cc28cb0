// Copyright 2026 The vifiler Authors.
//
// BlockFile: a region of a file or block device read and written in whole, aligned blocks. It
// holds the records that must reach stable storage in a known order and be read back without
// a cache another host cannot see: the device header, the ownership record, the mailbox and
// the reply log. Like LevelDB's Env, it is the seam where tests put fakes that fail, tear
// writes or lose what was not synced (storage/fault_injection_block_file.h).
//
// Contract:
//  - Offsets and lengths are multiples of kBlockSize and relative to the region's start;
//    the region is [0, size()). Buffers need no particular alignment.
//  - Write() returns once the data was handed to the device. Sync() returns once every write
//    that returned before it is durable: it survives a power cut of this host.
//  - A direct BlockFile (direct() true) bypasses this host's page cache for reads and writes,
//    so another host that reads the same device directly sees a write once it returned, and
//    this host sees the other host's. A buffered one (directories on file systems without
//    O_DIRECT, e.g. tmpfs) shares the page cache of one host only.
//  - A block being written when the power fails may read back as old data, new data or a mix:
//    callers checksum their records (storage/record_block.h).
//  - Errors are absl::Status naming the path and the errno text; I/O errors are
//    UnavailableError, misaligned or out-of-range requests InvalidArgumentError.
// Thread-safe: concurrent calls are fine (the caller orders writes that overlap).

#ifndef VIFILER_STORAGE_BLOCK_FILE_H_
#define VIFILER_STORAGE_BLOCK_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace vifiler {
namespace storage {

inline constexpr size_t kBlockSize = 4096;

class BlockFile {
 public:
  virtual ~BlockFile() = default;

  virtual absl::Status Read(uint64_t offset, absl::Span<char> out) = 0;
  virtual absl::Status Write(uint64_t offset, absl::string_view data) = 0;
  virtual absl::Status Sync() = 0;

  // Size of the region in bytes (a multiple of kBlockSize).
  virtual uint64_t size() const = 0;
  virtual bool direct() const = 0;
  // For messages: the file or device and the region.
  virtual std::string name() const = 0;
};

struct BlockFileOptions {
  // Region of the file or device: [offset, offset + size). size 0: to the end of the device
  // or file (rounded down to whole blocks). offset must be a multiple of kBlockSize.
  uint64_t offset = 0;
  uint64_t size = 0;
  // For regular files: create the file if it is missing and make it at least offset + size
  // bytes long (sparse).
  bool create = false;
  // Bypass the page cache (O_DIRECT). When the file system refuses O_DIRECT (tmpfs), a
  // regular file falls back to buffered I/O with fdatasync; a block device never does.
  bool direct = true;
  bool read_only = false;
};

// Opens a region of a regular file or a block device.
absl::StatusOr<std::unique_ptr<BlockFile>> OpenBlockFile(const std::string& path,
                                                         const BlockFileOptions& options);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_BLOCK_FILE_H_
