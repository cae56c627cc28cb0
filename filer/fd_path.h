// Copyright 2026 The vifiler Authors.
//
// Where an open descriptor is now: the kernel's path of the object it names
// (/proc/self/fd/N), and whether such a path lies inside a directory. Used to re-validate that
// a cached descriptor of a volume file is still inside the volume: a local user of the host may
// have moved the file, or a directory above it, out of the volume since it was opened.

#ifndef VIFILER_FILER_FD_PATH_H_
#define VIFILER_FILER_FD_PATH_H_

#include <string>

#include "absl/strings/string_view.h"

namespace vifiler {
namespace filer {

// The current absolute path of what fd names. False when the kernel cannot say (no /proc, a
// descriptor that is not open) and for an object whose name was removed (the kernel's path
// then ends with " (deleted)").
bool PathOfFd(int fd, std::string* path);

// True when `path` is `root` or below it (both absolute, as PathOfFd returns them).
bool PathIsUnder(absl::string_view path, absl::string_view root);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_FD_PATH_H_
