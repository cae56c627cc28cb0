// Copyright 2026 The vifiler Authors.

#include "storage/block_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace storage {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& name, int err) {
  return absl::UnavailableError(absl::StrCat(what, " ", name, ": ", strerror(err)));
}

// Heap memory aligned for O_DIRECT.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t size) {
    if (posix_memalign(&data_, kBlockSize, size == 0 ? kBlockSize : size) != 0) data_ = nullptr;
  }
  ~AlignedBuffer() { free(data_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  char* data() const { return static_cast<char*>(data_); }

 private:
  void* data_ = nullptr;
};

class PosixBlockFile : public BlockFile {
 public:
  PosixBlockFile(int fd, std::string path, uint64_t offset, uint64_t size, bool direct)
      : fd_(fd), path_(std::move(path)), offset_(offset), size_(size), direct_(direct) {}
  ~PosixBlockFile() override { close(fd_); }

  absl::Status Read(uint64_t offset, absl::Span<char> out) override {
    if (absl::Status s = Check(offset, out.size()); !s.ok()) return s;
    // A caller's block-aligned buffer is read into directly; others go through a bounce buffer.
    const bool aligned = reinterpret_cast<uintptr_t>(out.data()) % kBlockSize == 0;
    std::unique_ptr<AlignedBuffer> bounce;
    char* target = out.data();
    if (!aligned) {
      bounce = std::make_unique<AlignedBuffer>(out.size());
      if (bounce->data() == nullptr) return absl::ResourceExhaustedError("no memory for a read");
      target = bounce->data();
    }
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n =
          pread(fd_, target + done, out.size() - done, static_cast<off_t>(offset_ + offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("read", name(), errno);
      if (n == 0) {  // past the end of a regular file: reads as zeroes
        memset(target + done, 0, out.size() - done);
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (!aligned) memcpy(out.data(), target, out.size());
    return absl::OkStatus();
  }

  absl::Status Write(uint64_t offset, absl::string_view data) override {
    if (absl::Status s = Check(offset, data.size()); !s.ok()) return s;
    AlignedBuffer buffer(data.size());
    if (buffer.data() == nullptr) return absl::ResourceExhaustedError("no memory for a write");
    memcpy(buffer.data(), data.data(), data.size());
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = pwrite(fd_, buffer.data() + done, data.size() - done,
                               static_cast<off_t>(offset_ + offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("write", name(), errno);
      if (n == 0) return absl::UnavailableError(absl::StrCat("short write to ", name()));
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (fdatasync(fd_) != 0) return ErrnoError("sync", name(), errno);
    return absl::OkStatus();
  }

  uint64_t size() const override { return size_; }
  bool direct() const override { return direct_; }
  std::string name() const override { return absl::StrCat(path_, "[", offset_, "+", size_, "]"); }

 private:
  absl::Status Check(uint64_t offset, size_t length) const {
    if (offset % kBlockSize != 0 || length % kBlockSize != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unaligned block I/O at ", offset, "+", length, " on ", name()));
    }
    if (offset > size_ || length > size_ - offset) {
      return absl::InvalidArgumentError(
          absl::StrCat("block I/O at ", offset, "+", length, " beyond ", name()));
    }
    return absl::OkStatus();
  }

  const int fd_;
  const std::string path_;
  const uint64_t offset_;
  const uint64_t size_;
  const bool direct_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BlockFile>> OpenBlockFile(const std::string& path,
                                                         const BlockFileOptions& options) {
  if (options.offset % kBlockSize != 0 || options.size % kBlockSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("region of ", path, " not aligned to ", kBlockSize, " bytes"));
  }
  int flags = (options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (options.create && !options.read_only) flags |= O_CREAT;
  bool direct = options.direct;
  int fd = open(path.c_str(), flags | (direct ? O_DIRECT : 0), 0600);
  if (fd < 0 && direct && errno == EINVAL) {
    fd = open(path.c_str(), flags, 0600);  // a file system without O_DIRECT
    direct = false;
  }
  if (fd < 0) return ErrnoError("open", path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoError("stat", path, err);
  }
  uint64_t total;
  if (S_ISBLK(st.st_mode)) {
    if (!direct && options.direct) {
      close(fd);
      return absl::InvalidArgumentError(absl::StrCat(path, ": block device refuses O_DIRECT"));
    }
    if (ioctl(fd, BLKGETSIZE64, &total) != 0) {
      const int err = errno;
      close(fd);
      return ErrnoError("size of", path, err);
    }
  } else if (S_ISREG(st.st_mode)) {
    total = static_cast<uint64_t>(st.st_size);
    const uint64_t want = options.offset + options.size;
    if (options.create && options.size > 0 && total < want) {
      if (ftruncate(fd, static_cast<off_t>(want)) != 0) {
        const int err = errno;
        close(fd);
        return ErrnoError("extend", path, err);
      }
      total = want;
    }
  } else {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is neither a file nor a block device"));
  }
  if (options.offset > total) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, " has ", total, " bytes, region starts at ", options.offset));
  }
  uint64_t size = options.size;
  if (size == 0) size = (total - options.offset) / kBlockSize * kBlockSize;
  if (size > total - options.offset) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, " has ", total, " bytes, region needs ", options.offset + size));
  }
  return std::unique_ptr<BlockFile>(new PosixBlockFile(fd, path, options.offset, size, direct));
}

}  // namespace storage
}  // namespace vifiler
