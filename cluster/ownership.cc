// Copyright 2026 The vifiler Authors.

#include "cluster/ownership.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "filer/volume.h"

namespace vifiler {
namespace cluster {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

absl::StatusOr<OwnershipRecord> ParseRecord(const std::string& text) {
  OwnershipRecord record;
  bool have_epoch = false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "owner") record.owner = std::string(kv.second);
    if (kv.first == "epoch") have_epoch = absl::SimpleAtoi(kv.second, &record.epoch);
  }
  if (!have_epoch || record.owner.empty()) {
    return absl::DataLossError("malformed ownership record");
  }
  return record;
}

absl::StatusOr<OwnershipRecord> ReadRecord(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return OwnershipRecord();
    return Errno(absl::StrCat("cannot read ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseRecord(ss.str());
}

// Holds an exclusive flock for its lifetime.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0 && flock(fd_, LOCK_EX) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace

VolumeOwnership::VolumeOwnership(const std::string& volume_dir)
    : meta_dir_(absl::StrCat(volume_dir, "/", filer::kMetaDirName)),
      record_path_(meta_dir_ + "/owner"),
      lock_path_(meta_dir_ + "/owner.lock") {}

absl::StatusOr<OwnershipRecord> VolumeOwnership::Read() const { return ReadRecord(record_path_); }

absl::StatusOr<OwnershipRecord> VolumeOwnership::Claim(const std::string& owner) {
  return Replace(nullptr, owner);
}

absl::StatusOr<OwnershipRecord> VolumeOwnership::Transfer(const std::string& expected,
                                                          const std::string& owner) {
  return Replace(&expected, owner);
}

absl::StatusOr<OwnershipRecord> VolumeOwnership::Replace(const std::string* expected,
                                                         const std::string& owner) {
  if (mkdir(meta_dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    return Errno(absl::StrCat("cannot create ", meta_dir_));
  }
  FileLock lock(lock_path_);
  if (!lock.ok()) return Errno(absl::StrCat("cannot lock ", lock_path_));
  absl::StatusOr<OwnershipRecord> current = ReadRecord(record_path_);
  if (!current.ok()) return current.status();
  if (expected != nullptr && current->owner != *expected) {
    return absl::FailedPreconditionError(
        absl::StrCat("volume is owned by ", current->owner.empty() ? "nobody" : current->owner,
                     ", not ", *expected));
  }
  OwnershipRecord next{owner, current->epoch + 1};
  const std::string text = absl::StrCat("owner=", next.owner, "\nepoch=", next.epoch, "\n");
  const std::string tmp = record_path_ + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno(absl::StrCat("cannot write ", tmp));
  bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!written) return Errno(absl::StrCat("cannot write ", tmp));
  if (rename(tmp.c_str(), record_path_.c_str()) != 0)
    return Errno("cannot replace ownership record");
  int dir = open(meta_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return next;
}

OwnershipGuard::OwnershipGuard(std::string record_path, std::string owner, uint64_t epoch)
    : record_path_(std::move(record_path)), owner_(std::move(owner)), epoch_(epoch) {}

absl::Status OwnershipGuard::Check() {
  struct stat st;
  if (stat(record_path_.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("ownership record ", record_path_, " unreadable: ", strerror(errno)));
  }
  const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  absl::MutexLock lock(&mu_);
  if (st.st_ino == seen_inode_ && mtime == seen_mtime_ns_) return verdict_;
  absl::StatusOr<OwnershipRecord> record = ReadRecord(record_path_);
  if (!record.ok()) {
    verdict_ = absl::FailedPreconditionError(
        absl::StrCat("ownership record: ", record.status().message()));
  } else if (record->owner != owner_ || record->epoch != epoch_) {
    verdict_ = absl::FailedPreconditionError(absl::StrCat("volume now owned by ", record->owner,
                                                          " at epoch ", record->epoch,
                                                          " (we held epoch ", epoch_, ")"));
  } else {
    verdict_ = absl::OkStatus();
  }
  seen_inode_ = st.st_ino;
  seen_mtime_ns_ = mtime;
  return verdict_;
}

}  // namespace cluster
}  // namespace vifiler
