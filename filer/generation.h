// Copyright 2026 The vifiler Authors.
//
// Generation numbers: what tells apart two files that had the same inode number at different
// times, so that a handle to a removed file never names its successor.

#ifndef VIFILER_FILER_GENERATION_H_
#define VIFILER_FILER_GENERATION_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>

namespace vifiler {
namespace filer {

// A random non-zero 64-bit value from the kernel's generator.
uint64_t RandomNonZeroU64();

// Where a volume's generations come from, per file, first that applies:
//  1. The birth time in nanoseconds, when statx reports STATX_BTIME with a non-zero value
//     (ext4, xfs, btrfs, recent tmpfs).
//  2. A random non-zero u64 kept in an extended attribute of the file, "user.vifiler.gen" or,
//     where user xattrs are refused (tmpfs before 6.6) but the caller is privileged,
//     "trusted.vifiler.gen". It is assigned the first time the file is seen (create, mkdir,
//     lookup, scan). Symlinks and special files are never opened and get 0.
//  3. 0, when neither is available (e.g. some 9p mounts). Then a handle to a removed file may
//     name a later file that reuses its inode number: the weakness of such volumes.
// The same file gets the same generation on every filer that sees the same file system kind;
// a volume served both from a file system with birth times and through one without (e.g. ext4
// on the host, the same tree over 9p in a VM) gets different generations on the two sides.
// Immutable after Probe, hence thread-safe.
class GenerationSource {
 public:
  // Chooses the xattr name for the volume whose root directory is root_fd; may create and
  // remove a probe file in the metadata directory meta_fd.
  // With use_birth_time false, birth times are ignored (tests, or to agree with a partner that
  // sees the same tree through a file system without them).
  static GenerationSource Probe(int root_fd, int meta_fd, bool use_birth_time = true);

  // The generation of the file described by stx (queried with STATX_BTIME). fd is an open
  // descriptor of that file (not O_PATH) or -1 for files that are not opened.
  uint64_t Of(int fd, const struct statx& stx) const;

  // The xattr name in use, or "" when xattrs are not available.
  const std::string& xattr_name() const { return xattr_name_; }

 private:
  GenerationSource(std::string xattr_name, bool use_birth_time)
      : xattr_name_(std::move(xattr_name)), use_birth_time_(use_birth_time) {}

  std::string xattr_name_;
  bool use_birth_time_;
};

inline constexpr char kUserGenerationXattr[] = "user.vifiler.gen";
inline constexpr char kTrustedGenerationXattr[] = "trusted.vifiler.gen";

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_GENERATION_H_
