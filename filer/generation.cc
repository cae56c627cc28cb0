// Copyright 2026 The vifiler Authors.

#include "filer/generation.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace vifiler {
namespace filer {
namespace {

bool HasXattr(int fd, const char* name) {
  uint64_t value;
  return fgetxattr(fd, name, &value, sizeof(value)) >= 0;
}

bool CanSetXattr(int fd, const char* name) {
  const uint64_t value = 1;
  return fsetxattr(fd, name, &value, sizeof(value), 0) == 0;
}

}  // namespace

uint64_t RandomNonZeroU64() {
  uint64_t value = 0;
  while (value == 0) {
    if (getrandom(&value, sizeof(value), 0) != static_cast<ssize_t>(sizeof(value))) {
      PLOG(FATAL) << "getrandom";
    }
  }
  return value;
}

GenerationSource GenerationSource::Probe(int root_fd, int meta_fd, bool use_birth_time) {
  // A volume that already carries generations keeps the name it was given.
  for (const char* name : {kUserGenerationXattr, kTrustedGenerationXattr}) {
    if (HasXattr(root_fd, name)) return GenerationSource(name, use_birth_time);
  }
  const std::string probe = absl::StrCat("gen-probe.", getpid(), ".", RandomNonZeroU64());
  int fd = openat(meta_fd, probe.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    PLOG(WARNING) << "cannot create xattr probe file; generations need birth times";
    return GenerationSource("", use_birth_time);
  }
  std::string chosen;
  for (const char* name : {kUserGenerationXattr, kTrustedGenerationXattr}) {
    if (CanSetXattr(fd, name)) {
      chosen = name;
      break;
    }
  }
  close(fd);
  unlinkat(meta_fd, probe.c_str(), 0);
  if (chosen.empty()) {
    LOG(WARNING) << "volume supports no generation xattr; files without birth time get "
                    "generation 0";
  }
  return GenerationSource(chosen, use_birth_time);
}

uint64_t GenerationSource::Of(int fd, const struct statx& stx) const {
  if (use_birth_time_ && (stx.stx_mask & STATX_BTIME) != 0 &&
      (stx.stx_btime.tv_sec != 0 || stx.stx_btime.tv_nsec != 0)) {
    return static_cast<uint64_t>(stx.stx_btime.tv_sec) * 1000000000u + stx.stx_btime.tv_nsec;
  }
  if (fd < 0 || xattr_name_.empty()) return 0;
  const char* name = xattr_name_.c_str();
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint64_t value = 0;
    const ssize_t n = fgetxattr(fd, name, &value, sizeof(value));
    if (n == static_cast<ssize_t>(sizeof(value))) return value;
    if (n >= 0 || errno != ENODATA) return 0;  // malformed or unreadable: no generation
    // First sight: assign one. XATTR_CREATE makes a racing assigner (another thread or the
    // partner filer) lose cleanly; the loser reads the winner's value.
    const uint64_t fresh = RandomNonZeroU64();
    if (fsetxattr(fd, name, &fresh, sizeof(fresh), XATTR_CREATE) == 0) return fresh;
    if (errno != EEXIST) return 0;
  }
  return 0;
}

}  // namespace filer
}  // namespace vifiler
