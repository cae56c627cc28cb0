// Copyright 2026 The vifiler Authors.

#include "filer/fd_path.h"

#include <limits.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vifiler {
namespace filer {

bool PathOfFd(int fd, std::string* path) {
  const std::string link = absl::StrCat("/proc/self/fd/", fd);
  char buffer[PATH_MAX + 1];
  const ssize_t n = readlink(link.c_str(), buffer, sizeof(buffer));
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buffer) || buffer[0] != '/') return false;
  path->assign(buffer, static_cast<size_t>(n));
  return !absl::EndsWith(*path, " (deleted)");
}

bool PathIsUnder(absl::string_view path, absl::string_view root) {
  if (root == "/") return absl::StartsWith(path, "/");
  if (!absl::StartsWith(path, root)) return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

}  // namespace filer
}  // namespace vifiler
