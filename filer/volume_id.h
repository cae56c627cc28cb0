// Copyright 2026 The vifiler Authors.
//
// The volume id: a random 64-bit number that names a volume in every file handle.

#ifndef VIFILER_FILER_VOLUME_ID_H_
#define VIFILER_FILER_VOLUME_ID_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace vifiler {
namespace filer {

inline constexpr char kVolumeIdFileName[] = "volume-id";

// Reads the volume id from kVolumeIdFileName in the metadata directory meta_fd, creating it
// first when it does not exist: a random non-zero id, written to a temporary file, synced and
// renamed into place without replacing (so two filers formatting at once agree on the winner's
// id). The file holds 16 lower-case hex digits and a newline. A malformed file is an error,
// never silently replaced.
absl::StatusOr<uint64_t> LoadOrCreateVolumeId(int meta_fd);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_VOLUME_ID_H_
