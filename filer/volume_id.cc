// Copyright 2026 The vifiler Authors.

#include "filer/volume_id.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "filer/generation.h"

namespace vifiler {
namespace filer {
namespace {

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(errno), absl::StrCat(what, ": ", strerror(errno)));
}

// kNotFound when the file does not exist.
absl::StatusOr<uint64_t> ReadId(int meta_fd) {
  int fd = openat(meta_fd, kVolumeIdFileName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open volume-id");
  char buf[64];
  const ssize_t n = read(fd, buf, sizeof(buf));
  const int saved = errno;
  close(fd);
  if (n < 0) {
    errno = saved;
    return ErrnoStatus("read volume-id");
  }
  absl::string_view text(buf, static_cast<size_t>(n));
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  uint64_t id = 0;
  if (text.size() != 16 || !absl::SimpleHexAtoi(text, &id) || id == 0) {
    return absl::DataLossError("malformed volume-id file");
  }
  return id;
}

absl::Status WriteNewId(int meta_fd) {
  const std::string tmp =
      absl::StrCat(kVolumeIdFileName, ".tmp.", getpid(), ".", absl::Hex(RandomNonZeroU64()));
  int fd = openat(meta_fd, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create volume-id temp file");
  const std::string text = absl::StrFormat("%016x\n", RandomNonZeroU64());
  const bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  if (!written) {
    unlinkat(meta_fd, tmp.c_str(), 0);
    errno = saved;
    return ErrnoStatus("write volume-id temp file");
  }
  int rc = renameat2(meta_fd, tmp.c_str(), meta_fd, kVolumeIdFileName, RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
    // File systems without RENAME_NOREPLACE: a link never replaces either.
    rc = linkat(meta_fd, tmp.c_str(), meta_fd, kVolumeIdFileName, 0);
    if (rc != 0 && errno != EEXIST) {
      rc = renameat(meta_fd, tmp.c_str(), meta_fd, kVolumeIdFileName);
    }
  }
  const int rename_errno = errno;
  unlinkat(meta_fd, tmp.c_str(), 0);  // gone already after a successful rename
  if (rc != 0 && rename_errno != EEXIST) {
    errno = rename_errno;
    return ErrnoStatus("install volume-id");
  }
  fsync(meta_fd);
  return absl::OkStatus();  // on EEXIST another filer won the race: its id stands
}

}  // namespace

absl::StatusOr<uint64_t> LoadOrCreateVolumeId(int meta_fd) {
  absl::StatusOr<uint64_t> id = ReadId(meta_fd);
  if (!absl::IsNotFound(id.status())) return id;
  absl::Status written = WriteNewId(meta_fd);
  if (!written.ok()) return written;
  return ReadId(meta_fd);
}

}  // namespace filer
}  // namespace vifiler
