// Copyright 2026 The vifiler Authors.

#include "preload/preload_path.h"

#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace vifiler {
namespace preload {

std::string NormalizeAbsolute(absl::string_view path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return "/" + absl::StrJoin(parts, "/");
}

bool VolumePathOf(absl::string_view prefix, absl::string_view path, std::string* volume_path) {
  if (prefix.empty() || path.empty() || path[0] != '/') return false;
  // Cheap refusal first: almost every path a process opens is not under the prefix.
  const std::string norm_prefix = NormalizeAbsolute(prefix);
  if (path.size() < norm_prefix.size()) return false;
  const std::string norm = NormalizeAbsolute(path);
  if (norm_prefix == "/") {
    *volume_path = norm;
    return true;
  }
  if (norm == norm_prefix) {
    *volume_path = "/";
    return true;
  }
  if (norm.size() > norm_prefix.size() && norm.compare(0, norm_prefix.size(), norm_prefix) == 0 &&
      norm[norm_prefix.size()] == '/') {
    *volume_path = norm.substr(norm_prefix.size());
    return true;
  }
  return false;
}

bool SplitParent(absl::string_view volume_path, std::string* parent, std::string* name) {
  const size_t slash = volume_path.rfind('/');
  if (slash == absl::string_view::npos || slash + 1 >= volume_path.size()) return false;
  *name = std::string(volume_path.substr(slash + 1));
  *parent = slash == 0 ? "/" : std::string(volume_path.substr(0, slash));
  return true;
}

}  // namespace preload
}  // namespace vifiler
