// Copyright 2026 The vifiler Authors.

#include "filer/posix_volume.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "filer/errno_map.h"
#include "filer/fd_path.h"
#include "filer/names.h"
#include "filer/volume_id.h"
#include "glog/logging.h"

namespace vifiler {
namespace filer {
namespace {

using protocol::ErrorCode;
using protocol::FileAttr;
using protocol::FileHandle;
using protocol::FileType;

constexpr unsigned kStatxMask = STATX_BASIC_STATS | STATX_BTIME;
constexpr int kMaxScanDepth = 1024;
constexpr uint64_t kMaxOffset = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

ErrorCode LastError() { return ErrnoToErrorCode(errno); }

FileType TypeOf(uint32_t mode) {
  if (S_ISREG(mode)) return FileType::kRegular;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  if (S_ISLNK(mode)) return FileType::kSymlink;
  return FileType::kUnknown;
}

FileType TypeOfDirent(unsigned char d_type) {
  switch (d_type) {
    case DT_REG:
      return FileType::kRegular;
    case DT_DIR:
      return FileType::kDirectory;
    case DT_LNK:
      return FileType::kSymlink;
    default:
      return FileType::kUnknown;
  }
}

int64_t Nanos(const struct statx_timestamp& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  int64_t sec = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {  // floor, so that tv_nsec is in [0, 1e9)
    rem += 1000000000;
    sec -= 1;
  }
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(rem);  // NOLINT(runtime/int): the type of tv_nsec
  return ts;
}

FileAttr AttrOf(const struct statx& stx) {
  FileAttr attr;
  attr.file_id = stx.stx_ino;
  attr.type = TypeOf(stx.stx_mode);
  attr.mode = stx.stx_mode & 07777;
  attr.nlink = stx.stx_nlink;
  attr.size = stx.stx_size;
  attr.atime_ns = Nanos(stx.stx_atime);
  attr.mtime_ns = Nanos(stx.stx_mtime);
  attr.ctime_ns = Nanos(stx.stx_ctime);
  return attr;
}

int StatxFd(int fd, struct statx* stx) {
  return statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, kStatxMask, stx);
}

int StatxAt(int dirfd, const char* name, struct statx* stx) {
  return statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, kStatxMask, stx);
}

struct Dirent {
  std::string name;
  uint64_t ino;
  unsigned char type;  // DT_*
  bool operator<(const Dirent& o) const { return name < o.name; }
};

// Entries of the directory open as dirfd (through a fresh open file description, so that
// concurrent readers do not share a position), without "." and "..".
bool ListDir(int dirfd, std::vector<Dirent>* names) {
  const int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return false;
  }
  errno = 0;
  while (struct dirent* entry = readdir(dir)) {
    const char* name = entry->d_name;
    if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
      names->push_back(Dirent{name, entry->d_ino, entry->d_type});
    }
    errno = 0;
  }
  const int saved = errno;
  closedir(dir);
  errno = saved;
  return saved == 0;
}

// Makes one open file's (or directory's) changes durable.
class FileSync : public storage::KeyedLog::Effect {
 public:
  FileSync(std::shared_ptr<const OpenFile> file, int root_fd)
      : file_(std::move(file)), root_fd_(root_fd) {}
  absl::Status Sync() override {
    const int rc =
        file_->type() == FileType::kRegular ? fdatasync(file_->fd()) : fsync(file_->fd());
    // O_PATH descriptors (unreadable directories) cannot be synced: sync the file system.
    if (rc != 0 && errno == EBADF && syncfs(root_fd_) == 0) return absl::OkStatus();
    if (rc != 0) {
      return absl::Status(absl::ErrnoToStatusCode(errno),
                          absl::StrCat("sync of file ", file_->file_id(), ": ", strerror(errno)));
    }
    return absl::OkStatus();
  }
  const void* identity() const override { return file_.get(); }

 private:
  const std::shared_ptr<const OpenFile> file_;
  const int root_fd_;
};

// Makes every change to the volume's file system durable at once.
class FileSystemSync : public storage::KeyedLog::Effect {
 public:
  explicit FileSystemSync(int root_fd) : root_fd_(root_fd) {}
  absl::Status Sync() override {
    if (syncfs(root_fd_) != 0) {
      return absl::Status(absl::ErrnoToStatusCode(errno),
                          absl::StrCat("syncfs of the volume: ", strerror(errno)));
    }
    return absl::OkStatus();
  }
  const void* identity() const override { return this; }

 private:
  const int root_fd_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Volume>> Volume::Open(const std::string& root_dir) {
  absl::StatusOr<std::unique_ptr<PosixVolume>> volume =
      PosixVolume::Open(root_dir, PosixVolume::Options());
  if (!volume.ok()) return volume.status();
  return std::unique_ptr<Volume>(std::move(*volume));
}

absl::StatusOr<std::unique_ptr<PosixVolume>> PosixVolume::Open(const std::string& root_dir,
                                                               const Options& options) {
  const int root_fd = open(root_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    return absl::Status(absl::ErrnoToStatusCode(errno),
                        absl::StrCat("open volume root ", root_dir, ": ", strerror(errno)));
  }
  if (mkdirat(root_fd, kMetaDirName, 0755) != 0 && errno != EEXIST) {
    const int saved = errno;
    close(root_fd);
    return absl::Status(absl::ErrnoToStatusCode(saved),
                        absl::StrCat("create ", kMetaDirName, ": ", strerror(saved)));
  }
  // O_NOFOLLOW: a symlink in place of the metadata directory is refused, not followed.
  const int meta_fd =
      openat(root_fd, kMetaDirName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (meta_fd < 0) {
    const int saved = errno;
    close(root_fd);
    return absl::Status(absl::ErrnoToStatusCode(saved),
                        absl::StrCat("open ", kMetaDirName, ": ", strerror(saved)));
  }
  absl::StatusOr<uint64_t> id = LoadOrCreateVolumeId(meta_fd);
  if (!id.ok()) {
    close(meta_fd);
    close(root_fd);
    return id.status();
  }
  GenerationSource generations = GenerationSource::Probe(root_fd, meta_fd, options.use_birth_time);
  std::unique_ptr<PosixVolume> volume(
      new PosixVolume(root_dir, root_fd, meta_fd, *id, std::move(generations), options));

  struct statx stx;
  if (StatxFd(root_fd, &stx) != 0) {
    return absl::Status(absl::ErrnoToStatusCode(errno), "statx volume root");
  }
  volume->root_id_ = stx.stx_ino;
  volume->root_generation_ = volume->generations_.Of(root_fd, stx);
  volume->dev_major_ = stx.stx_dev_major;
  volume->dev_minor_ = stx.stx_dev_minor;
  {
    absl::ReaderMutexLock tree(&volume->tree_mu_);
    absl::MutexLock scan(&volume->scan_mu_);
    if (!volume->ScanLocked()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot scan ", root_dir, ": out of descriptors or memory"));
    }
  }
  LOG(INFO) << "volume " << root_dir << " id "
            << absl::StrCat(absl::Hex(volume->id_, absl::kZeroPad16)) << ": "
            << volume->index_.size() << " files, generations from "
            << (volume->generations_.xattr_name().empty()
                    ? std::string("birth time only")
                    : "birth time or " + volume->generations_.xattr_name());
  return volume;
}

PosixVolume::PosixVolume(std::string root_path, int root_fd, int meta_fd, uint64_t id,
                         GenerationSource generations, const Options& options)
    : root_path_(std::move(root_path)),
      root_fd_(root_fd),
      meta_fd_(meta_fd),
      id_(id),
      generations_(std::move(generations)),
      options_(options),
      file_system_sync_(std::make_shared<FileSystemSync>(root_fd)),
      cache_(options.fd_cache_capacity) {}

PosixVolume::~PosixVolume() {
  cache_.Clear();
  close(meta_fd_);
  close(root_fd_);
}

std::string PosixVolume::meta_path() const { return absl::StrCat(root_path_, "/", kMetaDirName); }

FileHandle PosixVolume::root() const {
  FileHandle handle;
  handle.volume_id = id_;
  handle.file_id = root_id_;
  handle.generation = root_generation_;
  return handle;
}

uint64_t PosixVolume::scan_count() const {
  absl::MutexLock lock(&scan_mu_);
  return scans_;
}

FileHandle PosixVolume::HandleOf(const OpenFile& file) const {
  FileHandle handle;
  handle.volume_id = id_;
  handle.file_id = file.file_id();
  handle.generation = file.generation();
  return handle;
}

bool PosixVolume::SameDevice(const struct statx& stx) const {
  return stx.stx_dev_major == dev_major_ && stx.stx_dev_minor == dev_minor_;
}

bool PosixVolume::IsMetaName(const FilePtr& dir, absl::string_view name) const {
  return dir->file_id() == root_id_ && name == kMetaDirName;
}

// ---- Resolution ----

PosixVolume::FilePtr PosixVolume::CachedFile(const FileHandle& handle) {
  FilePtr file = cache_.Get(handle.file_id);
  if (file == nullptr || file->generation() != handle.generation) return nullptr;
  if (!InsideVolume(*file)) {
    LOG_EVERY_N(WARNING, 100) << "volume " << root_path_ << ": file " << handle.file_id
                              << " was moved out of the volume; its handle is stale";
    cache_.EraseIfSame(handle.file_id, file.get());
    return nullptr;
  }
  return file;
}

bool PosixVolume::InsideVolume(const OpenFile& file) {
  std::string path;
  if (!PathOfFd(file.fd(), &path)) return false;
  {
    absl::MutexLock lock(&root_path_mu_);
    if (!current_root_path_.empty() && PathIsUnder(path, current_root_path_)) return true;
  }
  // Not under the root as last seen: the root may have moved (or never been looked up).
  std::string root;
  if (!PathOfFd(root_fd_, &root)) return false;
  absl::MutexLock lock(&root_path_mu_);
  current_root_path_ = root;
  return PathIsUnder(path, root);
}

ErrorCode PosixVolume::FileFor(const FileHandle& handle, FilePtr* file, struct statx* stx) {
  if (handle.volume_id != id_) return ErrorCode::kBadHandle;
  if (FilePtr cached = CachedFile(handle)) {
    if (StatxFd(cached->fd(), stx) == 0 && stx->stx_nlink > 0) {
      *file = std::move(cached);
      return ErrorCode::kOk;
    }
    cache_.EraseIfSame(handle.file_id, cached.get());
  }
  absl::ReaderMutexLock lock(&tree_mu_);
  return ResolveLocked(handle, file, stx);
}

ErrorCode PosixVolume::FileForLocked(const FileHandle& handle, FilePtr* file, struct statx* stx) {
  if (handle.volume_id != id_) return ErrorCode::kBadHandle;
  if (FilePtr cached = CachedFile(handle)) {
    if (StatxFd(cached->fd(), stx) == 0 && stx->stx_nlink > 0) {
      *file = std::move(cached);
      return ErrorCode::kOk;
    }
    cache_.EraseIfSame(handle.file_id, cached.get());
  }
  return ResolveLocked(handle, file, stx);
}

ErrorCode PosixVolume::DirForLocked(const FileHandle& handle, FilePtr* dir) {
  struct statx stx;
  const ErrorCode code = FileForLocked(handle, dir, &stx);
  if (code != ErrorCode::kOk) return code;
  if ((*dir)->type() != FileType::kDirectory) return ErrorCode::kNotDirectory;
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::ResolveLocked(const FileHandle& handle, FilePtr* file, struct statx* stx) {
  if (handle.file_id == 0) return ErrorCode::kBadHandle;
  for (int attempt = 0;; ++attempt) {
    uint64_t seen_scans;
    {
      absl::MutexLock lock(&scan_mu_);
      seen_scans = scans_;
    }
    std::vector<std::string> path;
    if (index_.PathOf(handle.file_id, &path)) {
      FilePtr found;
      const ErrorCode walked = WalkLocked(path, &found, stx);
      if (walked == ErrorCode::kBusy) return walked;  // out of descriptors: not a moved file
      if (walked == ErrorCode::kOk && found->file_id() == handle.file_id) {
        // Inode numbers are unique at any one time: a generation mismatch means the file the
        // handle named is gone and its inode number was reused.
        if (found->generation() != handle.generation) return ErrorCode::kStaleHandle;
        cache_.Put(found);
        *file = std::move(found);
        return ErrorCode::kOk;
      }
      // The indexed path does not lead to the file: it moved, or it is gone.
    }
    if (attempt > 0) return ErrorCode::kStaleHandle;
    const ErrorCode rescanned = MaybeRescanLocked(seen_scans);
    if (rescanned != ErrorCode::kOk) return rescanned;
  }
}

ErrorCode PosixVolume::WalkLocked(const std::vector<std::string>& path, FilePtr* file,
                                  struct statx* stx) {
  int dirfd = root_fd_;
  int owned = -1;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    const int next = openat(dirfd, path[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const int saved = errno;
    if (owned >= 0) close(owned);
    if (next < 0) return ErrnoToErrorCode(saved);
    dirfd = owned = next;
  }
  const ErrorCode code = OpenAt(dirfd, path.empty() ? "." : path.back().c_str(), file, stx);
  if (owned >= 0) close(owned);
  return code;
}

ErrorCode PosixVolume::OpenAt(int dirfd, const char* name, FilePtr* file, struct statx* stx) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    struct statx before;
    if (StatxAt(dirfd, name, &before) != 0) return LastError();
    if (!SameDevice(before)) return ErrorCode::kAccess;  // a mount point: not in the volume
    const FileType type = TypeOf(before.stx_mode);
    constexpr int kBase = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
    int fd;
    switch (type) {
      case FileType::kRegular:
        fd = openat(dirfd, name, kBase | O_RDWR);
        if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS || errno == ETXTBSY)) {
          fd = openat(dirfd, name, kBase | O_RDONLY);
        }
        break;
      case FileType::kDirectory:
        fd = openat(dirfd, name, kBase | O_RDONLY | O_DIRECTORY);
        if (fd < 0 && errno == EACCES) fd = openat(dirfd, name, kBase | O_PATH | O_DIRECTORY);
        break;
      default:  // symlinks and special files: never read, written or followed
        fd = openat(dirfd, name, O_CLOEXEC | O_NOFOLLOW | O_PATH);
        break;
    }
    if (fd < 0) {
      const int error = errno;
      // Out of descriptors: give back cached ones and try once more.
      if ((error == EMFILE || error == ENFILE) && attempt == 0 && cache_.Shed() > 0) continue;
      return ErrnoToErrorCode(error);
    }
    if (StatxFd(fd, stx) != 0) {
      const ErrorCode code = LastError();
      close(fd);
      return code;
    }
    if (stx->stx_ino != before.stx_ino || TypeOf(stx->stx_mode) != type) {
      close(fd);  // replaced between statx and open: look again
      continue;
    }
    const bool readable = type == FileType::kRegular || type == FileType::kDirectory;
    const uint64_t generation = generations_.Of(readable ? fd : -1, *stx);
    *file = std::make_shared<const OpenFile>(fd, stx->stx_ino, generation, type);
    return ErrorCode::kOk;
  }
  return ErrorCode::kStaleHandle;
}

ErrorCode PosixVolume::MaybeRescanLocked(uint64_t seen_scans) {
  absl::MutexLock lock(&scan_mu_);
  if (scans_ != seen_scans) return ErrorCode::kOk;  // someone rescanned meanwhile: look again
  const absl::Time now = absl::Now();
  if (now - last_rescan_ < options_.min_rescan_interval) return ErrorCode::kStaleHandle;
  last_rescan_ = now;
  if (!ScanLocked()) {
    last_rescan_ = absl::InfinitePast();  // the next request may try again
    return ErrorCode::kBusy;
  }
  return ErrorCode::kOk;
}

bool PosixVolume::ScanLocked() {
  HandleIndex::Map map;
  if (!ScanDir(root_fd_, root_id_, 0, &map)) {
    LOG_EVERY_N(WARNING, 100) << "scan of " << root_path_
                              << " ran out of descriptors or memory; index kept as it was";
    return false;
  }
  index_.Reset(root_id_, std::move(map));
  ++scans_;
  VLOG(1) << "scanned volume " << root_path_ << ": " << index_.size() << " files";
  return true;
}

bool PosixVolume::ScanDir(int dirfd, uint64_t dir_id, int depth, HandleIndex::Map* map) {
  auto exhausted = [](int error) {
    return error == EMFILE || error == ENFILE || error == ENOMEM || error == ENOBUFS;
  };
  if (depth > kMaxScanDepth) return true;
  std::vector<Dirent> names;
  if (!ListDir(dirfd, &names)) {
    if (exhausted(errno)) return false;
    PLOG(WARNING) << "scan: cannot list a directory of " << root_path_;
    return true;
  }
  for (const Dirent& dirent : names) {
    const std::string& name = dirent.name;
    if (dir_id == root_id_ && name == kMetaDirName) continue;
    struct statx stx;
    if (StatxAt(dirfd, name.c_str(), &stx) != 0 || !SameDevice(stx)) continue;
    if (map->contains(stx.stx_ino)) continue;  // another link of a file seen already
    const FileType type = TypeOf(stx.stx_mode);
    int fd = -1;
    if (type == FileType::kDirectory) {
      fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    } else if (type == FileType::kRegular && !generations_.xattr_name().empty()) {
      fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    }
    const bool opened = type == FileType::kDirectory ||
                        (type == FileType::kRegular && !generations_.xattr_name().empty());
    if (opened && fd < 0 && exhausted(errno)) return false;
    IndexEntry entry;
    entry.parent = dir_id;
    entry.name = name;
    entry.type = type;
    entry.generation = generations_.Of(fd, stx);
    (*map)[stx.stx_ino] = std::move(entry);
    const bool complete =
        type != FileType::kDirectory || fd < 0 || ScanDir(fd, stx.stx_ino, depth + 1, map);
    if (fd >= 0) close(fd);
    if (!complete) return false;
  }
  return true;
}

// ---- Operations ----

ErrorCode PosixVolume::Lookup(const FileHandle& dir_handle, absl::string_view name,
                              protocol::HandleReply* reply) {
  ErrorCode code = ValidateName(name);
  if (code != ErrorCode::kOk) return code;
  const std::string component(name);
  absl::ReaderMutexLock lock(&tree_mu_);
  FilePtr dir;
  code = DirForLocked(dir_handle, &dir);
  if (code != ErrorCode::kOk) return code;
  if (IsMetaName(dir, name)) return ErrorCode::kNoEntry;
  FilePtr file;
  struct statx stx;
  code = OpenAt(dir->fd(), component.c_str(), &file, &stx);
  if (code != ErrorCode::kOk) return code;
  index_.Put(file->file_id(),
             IndexEntry{dir->file_id(), component, file->generation(), file->type()});
  cache_.Put(file);
  reply->handle = HandleOf(*file);
  reply->attr = AttrOf(stx);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::GetAttr(const FileHandle& handle, FileAttr* attr) {
  FilePtr file;
  struct statx stx;
  const ErrorCode code = FileFor(handle, &file, &stx);
  if (code != ErrorCode::kOk) return code;
  *attr = AttrOf(stx);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::SetAttr(const protocol::SetAttrRequest& request, FileAttr* attr) {
  FilePtr file;
  struct statx stx;
  ErrorCode code = FileFor(request.handle, &file, &stx);
  if (code != ErrorCode::kOk) return code;
  const bool changes = (request.mask & (protocol::kSetSize | protocol::kSetMode |
                                        protocol::kSetAtime | protocol::kSetMtime)) != 0;
  if (changes && file->type() != FileType::kRegular && file->type() != FileType::kDirectory) {
    return ErrorCode::kAccess;  // symlinks and special files are not changed
  }
  const int fd = file->fd();
  if (request.mask & protocol::kSetSize) {
    if (file->type() == FileType::kDirectory) return ErrorCode::kIsDirectory;
    if (request.size > kMaxOffset) return ErrorCode::kInvalid;
    if (ftruncate(fd, static_cast<off_t>(request.size)) != 0) return LastError();
  }
  if (request.mask & protocol::kSetMode) {
    if (fchmod(fd, request.mode & 07777) != 0) return LastError();
  }
  if (request.mask & (protocol::kSetAtime | protocol::kSetMtime)) {
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = 0;
    times[0].tv_nsec = times[1].tv_nsec = UTIME_OMIT;
    if (request.mask & protocol::kSetAtime) times[0] = ToTimespec(request.atime_ns);
    if (request.mask & protocol::kSetMtime) times[1] = ToTimespec(request.mtime_ns);
    if (futimens(fd, times) != 0) return LastError();
  }
  if (StatxFd(fd, &stx) != 0) return LastError();
  *attr = AttrOf(stx);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::Create(const protocol::CreateRequest& request,
                              protocol::HandleReply* reply) {
  ErrorCode code = ValidateName(request.name);
  if (code != ErrorCode::kOk) return code;
  const char* name = request.name.c_str();
  absl::WriterMutexLock lock(&tree_mu_);
  FilePtr dir;
  code = DirForLocked(request.dir, &dir);
  if (code != ErrorCode::kOk) return code;
  if (IsMetaName(dir, request.name)) return ErrorCode::kAccess;

  constexpr int kBase = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  const mode_t mode = request.mode & 07777;
  int fd = openat(dir->fd(), name, kBase | O_CREAT | O_EXCL, mode);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE) && cache_.Shed() > 0) {
    fd = openat(dir->fd(), name, kBase | O_CREAT | O_EXCL, mode);  // descriptors given back
  }
  const bool created = fd >= 0;
  if (!created) {
    if (errno != EEXIST || request.exclusive) return LastError();
    // The name exists: only a regular file is opened, and a symlink is never followed.
    struct statx before;
    if (StatxAt(dir->fd(), name, &before) != 0) return LastError();
    const FileType type = TypeOf(before.stx_mode);
    if (type == FileType::kDirectory) return ErrorCode::kIsDirectory;
    if (type != FileType::kRegular) return ErrorCode::kAccess;
    fd = openat(dir->fd(), name, kBase | (request.truncate ? O_TRUNC : 0));
    if (fd < 0) return LastError();
  } else if (fchmod(fd, mode) != 0) {  // exactly the mode asked for, whatever the umask
    code = LastError();
    close(fd);
    unlinkat(dir->fd(), name, 0);
    return code;
  }
  struct statx stx;
  if (StatxFd(fd, &stx) != 0) {
    code = LastError();
    close(fd);
    return code;
  }
  auto file = std::make_shared<const OpenFile>(fd, stx.stx_ino, generations_.Of(fd, stx),
                                               FileType::kRegular);
  index_.Put(file->file_id(),
             IndexEntry{dir->file_id(), request.name, file->generation(), FileType::kRegular});
  cache_.Put(file);
  reply->handle = HandleOf(*file);
  reply->attr = AttrOf(stx);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::Mkdir(const protocol::MkdirRequest& request, protocol::HandleReply* reply) {
  ErrorCode code = ValidateName(request.name);
  if (code != ErrorCode::kOk) return code;
  const char* name = request.name.c_str();
  absl::WriterMutexLock lock(&tree_mu_);
  FilePtr dir;
  code = DirForLocked(request.dir, &dir);
  if (code != ErrorCode::kOk) return code;
  if (IsMetaName(dir, request.name)) return ErrorCode::kAccess;

  const mode_t mode = request.mode & 07777;
  if (mkdirat(dir->fd(), name, mode) != 0) return LastError();
  FilePtr file;
  struct statx stx;
  code = OpenAt(dir->fd(), name, &file, &stx);
  if (code == ErrorCode::kOk && file->type() != FileType::kDirectory) code = ErrorCode::kIo;
  if (code == ErrorCode::kOk && (fchmod(file->fd(), mode) != 0 || StatxFd(file->fd(), &stx) != 0)) {
    code = LastError();
  }
  if (code != ErrorCode::kOk) {
    unlinkat(dir->fd(), name, AT_REMOVEDIR);
    return code;
  }
  index_.Put(file->file_id(),
             IndexEntry{dir->file_id(), request.name, file->generation(), FileType::kDirectory});
  cache_.Put(file);
  reply->handle = HandleOf(*file);
  reply->attr = AttrOf(stx);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::Remove(const protocol::RemoveRequest& request) {
  ErrorCode code = ValidateName(request.name);
  if (code != ErrorCode::kOk) return code;
  const char* name = request.name.c_str();
  absl::WriterMutexLock lock(&tree_mu_);
  FilePtr dir;
  code = DirForLocked(request.dir, &dir);
  if (code != ErrorCode::kOk) return code;
  if (IsMetaName(dir, request.name)) return ErrorCode::kAccess;

  struct statx stx;
  if (StatxAt(dir->fd(), name, &stx) != 0) return LastError();
  if (S_ISDIR(stx.stx_mode)) return ErrorCode::kIsDirectory;
  if (unlinkat(dir->fd(), name, 0) != 0) return LastError();
  if (stx.stx_nlink <= 1) {
    index_.Erase(stx.stx_ino);
  } else {  // other links remain; the file stays known under its indexed one, if another
    index_.EraseIfAt(stx.stx_ino, dir->file_id(), request.name);
  }
  cache_.Erase(stx.stx_ino);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::Rmdir(const protocol::RemoveRequest& request) {
  ErrorCode code = ValidateName(request.name);
  if (code != ErrorCode::kOk) return code;
  const char* name = request.name.c_str();
  absl::WriterMutexLock lock(&tree_mu_);
  FilePtr dir;
  code = DirForLocked(request.dir, &dir);
  if (code != ErrorCode::kOk) return code;
  if (IsMetaName(dir, request.name)) return ErrorCode::kAccess;

  struct statx stx;
  if (StatxAt(dir->fd(), name, &stx) != 0) return LastError();
  if (!S_ISDIR(stx.stx_mode)) return ErrorCode::kNotDirectory;
  if (unlinkat(dir->fd(), name, AT_REMOVEDIR) != 0) {
    return errno == EEXIST ? ErrorCode::kNotEmpty : LastError();
  }
  index_.Erase(stx.stx_ino);
  cache_.Erase(stx.stx_ino);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::Rename(const protocol::RenameRequest& request) {
  ErrorCode code = ValidateName(request.from_name);
  if (code == ErrorCode::kOk) code = ValidateName(request.to_name);
  if (code != ErrorCode::kOk) return code;
  absl::WriterMutexLock lock(&tree_mu_);
  FilePtr from_dir;
  FilePtr to_dir;
  code = DirForLocked(request.from_dir, &from_dir);
  if (code == ErrorCode::kOk) code = DirForLocked(request.to_dir, &to_dir);
  if (code != ErrorCode::kOk) return code;
  if (IsMetaName(from_dir, request.from_name) || IsMetaName(to_dir, request.to_name)) {
    return ErrorCode::kAccess;
  }

  struct statx from;
  if (StatxAt(from_dir->fd(), request.from_name.c_str(), &from) != 0) return LastError();
  struct statx to;
  bool target_exists = true;
  if (StatxAt(to_dir->fd(), request.to_name.c_str(), &to) != 0) {
    if (errno != ENOENT) return LastError();
    target_exists = false;
  }
  if (S_ISDIR(from.stx_mode) && index_.IsAncestorOrSelf(from.stx_ino, to_dir->file_id())) {
    return ErrorCode::kInvalid;  // a directory cannot move into its own subtree
  }
  if (renameat(from_dir->fd(), request.from_name.c_str(), to_dir->fd(), request.to_name.c_str()) !=
      0) {
    return errno == EEXIST ? ErrorCode::kNotEmpty : LastError();
  }
  if (target_exists && to.stx_ino == from.stx_ino) return ErrorCode::kOk;  // links: no-op
  if (target_exists) {
    if (S_ISDIR(to.stx_mode) || to.stx_nlink <= 1) {
      index_.Erase(to.stx_ino);
    } else {
      index_.EraseIfAt(to.stx_ino, to_dir->file_id(), request.to_name);
    }
    cache_.Erase(to.stx_ino);
  }
  IndexEntry entry;
  if (!index_.Get(from.stx_ino, &entry)) entry.type = TypeOf(from.stx_mode);
  entry.parent = to_dir->file_id();
  entry.name = request.to_name;
  index_.Put(from.stx_ino, std::move(entry));
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::ReadDir(const protocol::ReadDirRequest& request,
                               protocol::ReadDirReply* reply) {
  if (request.max_entries == 0) return ErrorCode::kInvalid;
  const uint64_t max_entries = std::min(request.max_entries, protocol::kMaxReadDirEntries);
  FilePtr dir;
  struct statx stx;
  ErrorCode code = FileFor(request.dir, &dir, &stx);
  if (code != ErrorCode::kOk) return code;
  if (dir->type() != FileType::kDirectory) return ErrorCode::kNotDirectory;

  std::vector<Dirent> names;
  if (!ListDir(dir->fd(), &names)) return LastError();
  if (dir->file_id() == root_id_) {
    names.erase(std::remove_if(names.begin(), names.end(),
                               [](const Dirent& d) { return d.name == kMetaDirName; }),
                names.end());
  }
  std::sort(names.begin(), names.end());
  reply->entries.clear();
  const uint64_t total = names.size();
  const uint64_t begin = std::min(request.cookie, total);
  const uint64_t end = begin + std::min(max_entries, total - begin);
  for (uint64_t i = begin; i < end; ++i) {
    protocol::DirEntry entry;
    entry.file_id = names[i].ino;
    entry.type = TypeOfDirent(names[i].type);
    if (names[i].type == DT_UNKNOWN) {  // file systems that do not fill d_type
      struct statx child;
      if (StatxAt(dir->fd(), names[i].name.c_str(), &child) != 0) continue;  // removed
      entry.file_id = child.stx_ino;
      entry.type = TypeOf(child.stx_mode);
    }
    entry.name = std::move(names[i].name);
    reply->entries.push_back(std::move(entry));
  }
  reply->cookie = end;
  reply->eof = end == total;
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::RegularFile(const FileHandle& handle, FilePtr* file) {
  *file = CachedFile(handle);
  if (*file == nullptr) {
    struct statx stx;
    const ErrorCode code = FileFor(handle, file, &stx);
    if (code != ErrorCode::kOk) return code;
  }
  if ((*file)->type() == FileType::kDirectory) return ErrorCode::kIsDirectory;
  if ((*file)->type() != FileType::kRegular) return ErrorCode::kAccess;
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::StatLive(const FileHandle& handle, const OpenFile& file, struct stat* st) {
  if (fstat(file.fd(), st) != 0) return LastError();
  if (st->st_nlink == 0) {  // removed (perhaps by the partner filer) since it was cached
    cache_.EraseIfSame(handle.file_id, &file);
    return ErrorCode::kStaleHandle;
  }
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::Read(const FileHandle& handle, uint64_t offset, absl::Span<char> buffer,
                            uint32_t* count, bool* eof) {
  *count = 0;
  *eof = false;
  if (handle.volume_id != id_) return ErrorCode::kBadHandle;
  if (offset > kMaxOffset || buffer.size() > std::numeric_limits<uint32_t>::max()) {
    return ErrorCode::kInvalid;
  }
  FilePtr file;
  if (const ErrorCode code = RegularFile(handle, &file); code != ErrorCode::kOk) return code;
  size_t done = 0;
  while (done < buffer.size()) {
    const uint64_t at = offset + done;
    if (at >= kMaxOffset) break;
    const ssize_t n =
        pread(file->fd(), buffer.data() + done, buffer.size() - done, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastError();
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  struct stat st;
  if (const ErrorCode code = StatLive(handle, *file, &st); code != ErrorCode::kOk) return code;
  *count = static_cast<uint32_t>(done);
  *eof = offset + done >= static_cast<uint64_t>(st.st_size);
  return ErrorCode::kOk;
}

namespace {

class PosixMappedRange : public MappedRange {
 public:
  PosixMappedRange(std::shared_ptr<const FileWindow> window, const char* data, size_t size,
                   bool eof)
      : window_(std::move(window)), data_(data), size_(size), eof_(eof) {}
  const char* data() const override { return data_; }
  size_t size() const override { return size_; }
  bool eof() const override { return eof_; }

 private:
  const std::shared_ptr<const FileWindow> window_;  // keeps the mapping alive
  const char* const data_;
  const size_t size_;
  const bool eof_;
};

}  // namespace

ErrorCode PosixVolume::Map(const FileHandle& handle, uint64_t offset, uint32_t length,
                           std::unique_ptr<MappedRange>* range) {
  if (handle.volume_id != id_) return ErrorCode::kBadHandle;
  if (offset > kMaxOffset) return ErrorCode::kInvalid;
  FilePtr file;
  if (const ErrorCode code = RegularFile(handle, &file); code != ErrorCode::kOk) return code;
  struct stat st;
  if (const ErrorCode code = StatLive(handle, *file, &st); code != ErrorCode::kOk) return code;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset >= size || length == 0) {
    *range = std::make_unique<PosixMappedRange>(nullptr, nullptr, 0, offset >= size);
    return ErrorCode::kOk;
  }
  const uint64_t count = std::min<uint64_t>(length, size - offset);
  std::shared_ptr<const FileWindow> window = file->WindowFor(offset, static_cast<size_t>(count));
  if (window == nullptr) return LastError();
  *range = std::make_unique<PosixMappedRange>(window, window->At(offset),
                                              static_cast<size_t>(count), offset + count >= size);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::Write(const FileHandle& handle, uint64_t offset, absl::string_view data,
                             protocol::WriteReply* reply) {
  if (handle.volume_id != id_) return ErrorCode::kBadHandle;
  if (data.size() > std::numeric_limits<uint32_t>::max()) return ErrorCode::kTooBig;
  if (offset > kMaxOffset || data.size() > kMaxOffset - offset) return ErrorCode::kInvalid;
  FilePtr file;
  if (const ErrorCode code = RegularFile(handle, &file); code != ErrorCode::kOk) return code;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = pwrite(file->fd(), data.data() + done, data.size() - done,
                             static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastError();
    }
    if (n == 0) return ErrorCode::kIo;
    done += static_cast<size_t>(n);
  }
  struct stat st;
  if (const ErrorCode code = StatLive(handle, *file, &st); code != ErrorCode::kOk) return code;
  reply->count = static_cast<uint32_t>(done);
  reply->size = static_cast<uint64_t>(st.st_size);
  return ErrorCode::kOk;
}

ErrorCode PosixVolume::Fsync(const FileHandle& handle) {
  FilePtr file;
  struct statx stx;
  const ErrorCode code = FileFor(handle, &file, &stx);
  if (code != ErrorCode::kOk) return code;
  if (file->type() != FileType::kRegular && file->type() != FileType::kDirectory) {
    return ErrorCode::kAccess;
  }
  if (fsync(file->fd()) != 0) return LastError();
  return ErrorCode::kOk;
}

std::shared_ptr<storage::KeyedLog::Effect> PosixVolume::SyncOf(const FileHandle& handle) {
  if (options_.sync_mode == SyncMode::kFileSystem) return file_system_sync_;
  // The descriptor cached for the handle is synced as it is, without CachedFile's path check
  // (a readlink of /proc/self/fd per call, the second of every write): syncing a descriptor
  // this volume opened only makes durable what was written through it and reaches nothing
  // outside the volume, even if the file was moved out since (invariant 6 is about serving
  // names and data; the mutation that touched the handle was checked when it ran).
  FilePtr file = handle.volume_id == id_ ? cache_.Get(handle.file_id) : nullptr;
  if (file != nullptr && file->generation() != handle.generation) file = nullptr;
  if (file == nullptr) {
    struct statx stx;
    if (handle.volume_id != id_ || FileFor(handle, &file, &stx) != ErrorCode::kOk) {
      return file_system_sync_;
    }
  }
  return std::make_shared<FileSync>(std::move(file), root_fd_);
}

ErrorCode PosixVolume::StatFs(protocol::StatFsReply* reply) {
  struct statvfs vfs;
  if (fstatvfs(root_fd_, &vfs) != 0) return LastError();
  const uint64_t unit = vfs.f_frsize != 0 ? vfs.f_frsize : vfs.f_bsize;
  reply->total_bytes = static_cast<uint64_t>(vfs.f_blocks) * unit;
  reply->free_bytes = static_cast<uint64_t>(vfs.f_bfree) * unit;
  reply->available_bytes = static_cast<uint64_t>(vfs.f_bavail) * unit;
  reply->total_files = vfs.f_files;
  reply->free_files = vfs.f_ffree;
  return ErrorCode::kOk;
}

}  // namespace filer
}  // namespace vifiler
