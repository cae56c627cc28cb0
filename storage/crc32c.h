// Copyright 2026 The vifiler Authors.
//
// CRC-32C (Castagnoli): the checksum of every record vifiler keeps on storage.

#ifndef VIFILER_STORAGE_CRC32C_H_
#define VIFILER_STORAGE_CRC32C_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace vifiler {
namespace storage {

// The CRC-32C of data, continuing from crc (0 to start).
uint32_t Crc32c(absl::string_view data, uint32_t crc = 0);

}  // namespace storage
}  // namespace vifiler

#endif  // VIFILER_STORAGE_CRC32C_H_
