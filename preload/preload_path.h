// Copyright 2026 The vifiler Authors.
//
// Which paths belong to vifiler, for the interception library (libvifiler_preload.so).
//
// Contract: VolumePathOf(prefix, path) is true when `path` is absolute and, once "." and ".."
// components and repeated slashes are folded lexically (no symbolic links are followed: the
// prefix does not exist on the local disk), is the prefix itself or lies under it; *volume_path
// is then the path inside the volume ("/" for the prefix itself, "/x/y" for PREFIX/x/y). A
// relative path, or one that ".." leads out of the prefix, is never vifiler's. An empty prefix
// matches nothing. Pure functions: no locks, no allocation beyond the output string.

#ifndef VIFILER_PRELOAD_PRELOAD_PATH_H_
#define VIFILER_PRELOAD_PRELOAD_PATH_H_

#include <string>

#include "absl/strings/string_view.h"

namespace vifiler {
namespace preload {

// Folds "//", "." and ".." of an absolute path ("/a/./b/../c/" -> "/a/c"; ".." at the root
// stays at the root).
std::string NormalizeAbsolute(absl::string_view path);

bool VolumePathOf(absl::string_view prefix, absl::string_view path, std::string* volume_path);

// The parent of a normalized volume path and its last component ("/a/b" -> "/a", "b").
// False for the root, which has no name.
bool SplitParent(absl::string_view volume_path, std::string* parent, std::string* name);

}  // namespace preload
}  // namespace vifiler

#endif  // VIFILER_PRELOAD_PRELOAD_PATH_H_
