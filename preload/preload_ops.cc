// Copyright 2026 The vifiler Authors.
//
// The POSIX semantics of the interception library on top of clientlib/client.h (see
// preload_ops.h). Every function copies what it needs out of the descriptor table and calls the
// filer with no lock held; statuses become errnos in mount/errno_map.h, as in the FUSE mount.

#include "preload/preload_ops.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "clientlib/client.h"
#include "mount/errno_map.h"
#include "preload/fd_table.h"
#include "preload/preload_path.h"
#include "preload/preload_session.h"
#include "preload/real_libc.h"

namespace vifiler {
namespace preload {
namespace {

using protocol::FileAttr;
using protocol::FileHandle;
using protocol::FileType;

// st_dev of every vifiler file: one made-up device, so tools that compare (dev, ino) pairs
// (cp, du, find) see one file system.
constexpr dev_t kDevice = 0x7669666c;

int Fail(int error) {
  errno = error;
  return -1;
}

int FailStatus(const absl::Status& status) {
  const int e = mount::ErrnoOf(status);
  return Fail(e == 0 ? EIO : e);
}

mode_t TypeBits(FileType type) {
  switch (type) {
    case FileType::kDirectory:
      return S_IFDIR;
    case FileType::kSymlink:
      return S_IFLNK;
    default:
      return S_IFREG;
  }
}

timespec ToTimespec(int64_t ns) {
  timespec t;
  t.tv_sec = static_cast<time_t>(ns / 1000000000);
  t.tv_nsec = static_cast<long>(ns % 1000000000);
  return t;
}

void FillStat(const FileAttr& a, struct stat* st) {
  memset(st, 0, sizeof(*st));
  st->st_dev = kDevice;
  st->st_ino = a.file_id;
  st->st_mode = TypeBits(a.type) | (a.mode & 07777);
  st->st_nlink = a.nlink;
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_size = static_cast<off_t>(a.size);
  st->st_blksize = 1 << 20;
  st->st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st->st_atim = ToTimespec(a.atime_ns);
  st->st_mtim = ToTimespec(a.mtime_ns);
  st->st_ctim = ToTimespec(a.ctime_ns);
}

// The volume path of a path the caller already knows is ours.
bool VolumePath(const char* path, std::string* volume_path) {
  return path != nullptr && VolumePathOf(Session::Get().settings().prefix, path, volume_path);
}

// A directory stream of ours: every entry, read when it was opened.
struct Dir {
  int fd = -1;
  size_t next = 0;
  std::vector<struct dirent64> entries;
};

std::mutex dirs_mu;
absl::flat_hash_set<DIR*>* dirs = new absl::flat_hash_set<DIR*>();
std::atomic<int> dir_count{0};

// The set's mutex is held across fork, so a child never inherits it locked.
void LockDirs() { dirs_mu.lock(); }
void UnlockDirs() { dirs_mu.unlock(); }
std::once_flag dirs_fork_once;

absl::StatusOr<std::vector<protocol::DirEntry>> ListHandle(client::Client* c,
                                                           const FileHandle& dir) {
  std::vector<protocol::DirEntry> out;
  uint64_t cookie = 0;
  while (true) {
    absl::StatusOr<protocol::ReadDirReply> page = c->ReadDir(dir, cookie, 256);
    if (!page.ok()) return page.status();
    for (protocol::DirEntry& e : page->entries) out.push_back(std::move(e));
    if (page->eof || page->entries.empty()) break;
    cookie = page->cookie;
  }
  return out;
}

// Registers `file` under a fresh placeholder descriptor; -1 with errno on failure.
int InstallNew(std::shared_ptr<OpenFile> file, bool cloexec) {
  const int fd = MakePlaceholder();
  if (fd < 0) return -1;
  if (!cloexec) vp_real()->fcntl(fd, F_SETFD, 0);
  FdTable::Get().Install(fd, std::move(file));
  return fd;
}

// Reads at offset; bytes read or -1 with errno.
ssize_t ReadAt(const OpenFile& f, void* buf, size_t count, uint64_t offset) {
  if ((f.flags & O_ACCMODE) == O_WRONLY) return Fail(EBADF);
  if (f.directory) return Fail(EISDIR);
  if (count == 0) return 0;
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<size_t> n =
      c->Read(f.handle, offset, absl::Span<char>(static_cast<char*>(buf), count));
  if (!n.ok()) return FailStatus(n.status());
  return static_cast<ssize_t>(*n);
}

ssize_t WriteAt(const OpenFile& f, const void* buf, size_t count, uint64_t offset) {
  if ((f.flags & O_ACCMODE) == O_RDONLY) return Fail(EBADF);
  if (f.directory) return Fail(EISDIR);
  if (count == 0) return 0;
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<size_t> n =
      c->Write(f.handle, offset, absl::string_view(static_cast<const char*>(buf), count));
  if (!n.ok()) return FailStatus(n.status());
  return static_cast<ssize_t>(*n);
}

// The attributes of the file at a volume path.
absl::StatusOr<protocol::HandleReply> LookupPath(client::Client* c, const std::string& path) {
  absl::StatusOr<FileHandle> h = c->Resolve(path);
  if (!h.ok()) return h.status();
  absl::StatusOr<FileAttr> a = c->GetAttr(*h);
  if (!a.ok()) return a.status();
  return protocol::HandleReply{*h, *a};
}

// The parent's handle and the name of a volume path's last component.
absl::StatusOr<FileHandle> ParentOf(client::Client* c, const std::string& path, std::string* name) {
  std::string parent;
  if (!SplitParent(path, &parent, name)) return absl::InvalidArgumentError("the root has no name");
  return c->Resolve(parent);
}

ssize_t CookieRead(void* cookie, char* buf, size_t size) {
  return vp_read(static_cast<int>(reinterpret_cast<intptr_t>(cookie)), buf, size);
}
ssize_t CookieWrite(void* cookie, const char* buf, size_t size) {
  const ssize_t n = vp_write(static_cast<int>(reinterpret_cast<intptr_t>(cookie)), buf, size);
  return n < 0 ? 0 : n;  // fopencookie: 0 is the error
}
int CookieSeek(void* cookie, off64_t* offset, int whence) {
  const off_t r = vp_lseek(static_cast<int>(reinterpret_cast<intptr_t>(cookie)), *offset, whence);
  if (r < 0) return -1;
  *offset = r;
  return 0;
}
int CookieClose(void* cookie) {
  return vp_close(static_cast<int>(reinterpret_cast<intptr_t>(cookie)));
}

// open(2) flags of an fopen mode, or -1.
int FlagsOfMode(const char* mode) {
  int flags;
  switch (mode[0]) {
    case 'r':
      flags = 0;
      break;
    case 'w':
      flags = O_CREAT | O_TRUNC;
      break;
    case 'a':
      flags = O_CREAT | O_APPEND;
      break;
    default:
      return -1;
  }
  bool plus = false;
  for (const char* m = mode + 1; *m != '\0' && *m != ','; ++m) {
    if (*m == '+') plus = true;
    if (*m == 'x') flags |= O_EXCL;
    if (*m == 'e') flags |= O_CLOEXEC;
  }
  if (plus) return flags | O_RDWR;
  return flags | (mode[0] == 'r' ? O_RDONLY : O_WRONLY);
}

}  // namespace
}  // namespace preload
}  // namespace vifiler

using vifiler::preload::Dir;
using vifiler::preload::Fail;
using vifiler::preload::FailStatus;
using vifiler::preload::FdTable;
using vifiler::preload::InsideVifiler;
using vifiler::preload::OpenFile;
using vifiler::preload::Session;
using vifiler::protocol::FileAttr;
using vifiler::protocol::FileHandle;
using vifiler::protocol::FileType;
namespace client = vifiler::client;
namespace protocol = vifiler::protocol;
namespace pl = vifiler::preload;

extern "C" {

int vp_path_under_prefix(const char* path) {
  std::string unused;
  return pl::VolumePath(path, &unused) ? 1 : 0;
}

int vp_path_ours(const char* path) {
  if (path == nullptr || path[0] != '/' || InsideVifiler::Now()) return 0;
  return vp_path_under_prefix(path);
}

int vp_fd_ours(int fd) { return !InsideVifiler::Now() && FdTable::Get().Owned(fd) ? 1 : 0; }

int vp_dir_ours(DIR* dir) {
  if (InsideVifiler::Now() || pl::dir_count.load(std::memory_order_acquire) == 0) return 0;
  std::lock_guard<std::mutex> lock(pl::dirs_mu);
  return pl::dirs->contains(dir) ? 1 : 0;
}

char* vp_at_path(int dirfd, const char* relative) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(dirfd);
  if (f == nullptr) {
    errno = EBADF;
    return nullptr;
  }
  if (!f->directory) {
    errno = ENOTDIR;
    return nullptr;
  }
  const std::string path = Session::Get().settings().prefix + "/" + f->volume_path + "/" + relative;
  return strdup(path.c_str());
}

int vp_open(const char* path, int flags, mode_t mode) {
  std::string vpath;
  if (!pl::VolumePath(path, &vpath)) return Fail(ENOENT);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  const int access = flags & O_ACCMODE;
  if (access == O_ACCMODE) return Fail(EINVAL);
  protocol::HandleReply opened;
  std::string name;
  absl::StatusOr<FileHandle> parent =
      (flags & O_CREAT) ? pl::ParentOf(c, vpath, &name) : absl::StatusOr<FileHandle>();
  if ((flags & O_CREAT) && !parent.ok() && vpath != "/") return FailStatus(parent.status());
  if ((flags & O_CREAT) && vpath != "/") {
    protocol::CreateRequest r;
    r.dir = *parent;
    r.name = name;
    r.mode = mode & 07777 & ~Session::Get().umask();
    r.exclusive = (flags & O_EXCL) != 0;
    r.truncate = (flags & O_TRUNC) != 0 && access != O_RDONLY;
    absl::StatusOr<protocol::HandleReply> created = c->CreateAt(r);
    if (!created.ok()) {
      // An existing directory: open(2) says EISDIR when asked to create it (without O_EXCL).
      if (!(flags & O_EXCL) &&
          client::ErrorCodeOf(created.status()) == protocol::ErrorCode::kExists) {
        absl::StatusOr<protocol::HandleReply> found = c->Lookup(*parent, name);
        if (found.ok() && found->attr.type == FileType::kDirectory) return Fail(EISDIR);
      }
      return FailStatus(created.status());
    }
    opened = *created;
  } else {
    if ((flags & O_CREAT) && (flags & O_EXCL)) return Fail(EEXIST);  // the root
    absl::StatusOr<protocol::HandleReply> found = pl::LookupPath(c, vpath);
    if (!found.ok()) return FailStatus(found.status());
    opened = *found;
  }
  const bool directory = opened.attr.type == FileType::kDirectory;
  if (directory && access != O_RDONLY) return Fail(EISDIR);
  if ((flags & O_DIRECTORY) && !directory) return Fail(ENOTDIR);
  if (!(flags & O_CREAT) && (flags & O_TRUNC) && access != O_RDONLY && opened.attr.size != 0) {
    protocol::SetAttrRequest r;
    r.handle = opened.handle;
    r.mask = protocol::kSetSize;
    r.size = 0;
    absl::StatusOr<FileAttr> set = c->SetAttr(r);
    if (!set.ok()) return FailStatus(set.status());
  }
  auto file = std::make_shared<OpenFile>();
  file->handle = opened.handle;
  file->directory = directory;
  file->flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECTORY);
  file->volume_path = vpath;
  return pl::InstallNew(std::move(file), (flags & O_CLOEXEC) != 0);
}

int vp_close(int fd) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Remove(fd);
  vp_real()->close(fd);
  return f == nullptr ? Fail(EBADF) : 0;
}

ssize_t vp_read(int fd, void* buf, size_t count) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  const uint64_t offset = f->offset.load();
  const ssize_t n = pl::ReadAt(*f, buf, count, offset);
  if (n > 0) f->offset.store(offset + static_cast<uint64_t>(n));
  return n;
}

ssize_t vp_write(int fd, const void* buf, size_t count) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  uint64_t offset = f->offset.load();
  if ((f->flags & O_APPEND) && (f->flags & O_ACCMODE) != O_RDONLY) {
    // Each write at the end of the file as the filer has it now (not atomic against other
    // clients appending at the same moment: the protocol has no append operation).
    InsideVifiler inside;
    client::Client* c = Session::Get().Client();
    if (c == nullptr) return -1;
    absl::StatusOr<FileAttr> a = c->GetAttr(f->handle);
    if (!a.ok()) return FailStatus(a.status());
    offset = a->size;
  }
  const ssize_t n = pl::WriteAt(*f, buf, count, offset);
  if (n >= 0) f->offset.store(offset + static_cast<uint64_t>(n));
  return n;
}

ssize_t vp_pread(int fd, void* buf, size_t count, off_t offset) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  if (offset < 0) return Fail(EINVAL);
  return pl::ReadAt(*f, buf, count, static_cast<uint64_t>(offset));
}

ssize_t vp_pwrite(int fd, const void* buf, size_t count, off_t offset) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  if (offset < 0) return Fail(EINVAL);
  return pl::WriteAt(*f, buf, count, static_cast<uint64_t>(offset));
}

off_t vp_lseek(int fd, off_t offset, int whence) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  int64_t base = 0;
  if (whence == SEEK_CUR) {
    base = static_cast<int64_t>(f->offset.load());
  } else if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE) {
    InsideVifiler inside;
    client::Client* c = Session::Get().Client();
    if (c == nullptr) return -1;
    absl::StatusOr<FileAttr> a = c->GetAttr(f->handle);
    if (!a.ok()) return FailStatus(a.status());
    const int64_t size = static_cast<int64_t>(a->size);
    if (whence == SEEK_END) {
      base = size;
    } else {
      // No holes are reported: data runs from anywhere to the end of the file.
      if (offset < 0) return Fail(EINVAL);
      if (offset >= size) return Fail(ENXIO);
      const off_t at = whence == SEEK_DATA ? offset : size;
      f->offset.store(static_cast<uint64_t>(at));
      return at;
    }
  } else if (whence != SEEK_SET) {
    return Fail(EINVAL);
  }
  const int64_t at = base + offset;
  if (at < 0) return Fail(EINVAL);
  f->offset.store(static_cast<uint64_t>(at));
  return at;
}

int vp_stat(const char* path, struct stat* st) {
  std::string vpath;
  if (!pl::VolumePath(path, &vpath)) return Fail(ENOENT);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<FileAttr> a = c->Stat(vpath);
  if (!a.ok()) return FailStatus(a.status());
  pl::FillStat(*a, st);
  return 0;
}

int vp_fstat(int fd, struct stat* st) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<FileAttr> a = c->GetAttr(f->handle);
  if (!a.ok()) return FailStatus(a.status());
  pl::FillStat(*a, st);
  return 0;
}

int vp_fsync(int fd) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  if (f->directory) return 0;  // namespace operations are durable when acknowledged
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::Status s = c->Fsync(f->handle);
  return s.ok() ? 0 : FailStatus(s);
}

namespace {
int SetSize(const FileHandle& handle, off_t length) {
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  protocol::SetAttrRequest r;
  r.handle = handle;
  r.mask = protocol::kSetSize;
  r.size = static_cast<uint64_t>(length);
  absl::StatusOr<FileAttr> a = c->SetAttr(r);
  return a.ok() ? 0 : FailStatus(a.status());
}
}  // namespace

int vp_ftruncate(int fd, off_t length) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  if (length < 0 || f->directory || (f->flags & O_ACCMODE) == O_RDONLY) return Fail(EINVAL);
  return SetSize(f->handle, length);
}

int vp_truncate(const char* path, off_t length) {
  std::string vpath;
  if (!pl::VolumePath(path, &vpath)) return Fail(ENOENT);
  if (length < 0) return Fail(EINVAL);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<protocol::HandleReply> found = pl::LookupPath(c, vpath);
  if (!found.ok()) return FailStatus(found.status());
  if (found->attr.type == FileType::kDirectory) return Fail(EISDIR);
  return SetSize(found->handle, length);
}

int vp_fallocate(int fd, int mode, off_t offset, off_t length) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  if (mode != 0) return Fail(EOPNOTSUPP);
  if (offset < 0 || length <= 0) return Fail(EINVAL);
  if ((f->flags & O_ACCMODE) == O_RDONLY) return Fail(EBADF);
  // No reservation in the protocol: the file grows (sparse) to cover the range.
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<FileAttr> a = c->GetAttr(f->handle);
  if (!a.ok()) return FailStatus(a.status());
  const uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  if (a->size >= end) return 0;
  return SetSize(f->handle, static_cast<off_t>(end));
}

namespace {
// The entry a name-changing call on `path` works on: the client, the parent directory and the
// name in it. 0, or -1 with errno set (ENOENT outside the prefix, root_errno for the volume's
// root). The caller holds an InsideVifiler.
struct Entry {
  client::Client* client = nullptr;
  FileHandle dir;
  std::string name;
};
int ResolveEntry(const char* path, int root_errno, Entry* e) {
  std::string vpath;
  if (!pl::VolumePath(path, &vpath)) return Fail(ENOENT);
  e->client = Session::Get().Client();
  if (e->client == nullptr) return -1;
  if (vpath == "/") return Fail(root_errno);
  absl::StatusOr<FileHandle> dir = pl::ParentOf(e->client, vpath, &e->name);
  if (!dir.ok()) return FailStatus(dir.status());
  e->dir = *dir;
  return 0;
}

// unlink (directory false) and rmdir (true): the entry must be of that kind.
int RemoveEntry(const char* path, bool directory) {
  InsideVifiler inside;
  Entry e;
  if (ResolveEntry(path, directory ? EBUSY : EISDIR, &e) != 0) return -1;
  absl::StatusOr<protocol::HandleReply> found = e.client->Lookup(e.dir, e.name);
  if (!found.ok()) return FailStatus(found.status());
  if ((found->attr.type == FileType::kDirectory) != directory) {
    return Fail(directory ? ENOTDIR : EISDIR);
  }
  absl::Status s = directory ? e.client->RmdirAt(e.dir, e.name) : e.client->RemoveAt(e.dir, e.name);
  return s.ok() ? 0 : FailStatus(s);
}
}  // namespace

int vp_unlink(const char* path) { return RemoveEntry(path, /*directory=*/false); }

int vp_rmdir(const char* path) { return RemoveEntry(path, /*directory=*/true); }

int vp_mkdir(const char* path, mode_t mode) {
  InsideVifiler inside;
  Entry e;
  if (ResolveEntry(path, EEXIST, &e) != 0) return -1;
  protocol::MkdirRequest r;
  r.dir = e.dir;
  r.name = e.name;
  r.mode = mode & 07777 & ~Session::Get().umask();
  absl::StatusOr<protocol::HandleReply> made = e.client->MkdirAt(r);
  return made.ok() ? 0 : FailStatus(made.status());
}

int vp_rename(const char* from, const char* to, unsigned int flags) {
  std::string vfrom, vto;
  if (!pl::VolumePath(from, &vfrom) || !pl::VolumePath(to, &vto)) return Fail(EXDEV);
  constexpr unsigned int kNoReplace = 1;  // RENAME_NOREPLACE
  if ((flags & ~kNoReplace) != 0) return Fail(EINVAL);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  if (vfrom == "/" || vto == "/") return Fail(EBUSY);
  protocol::RenameRequest r;
  absl::StatusOr<FileHandle> from_dir = pl::ParentOf(c, vfrom, &r.from_name);
  if (!from_dir.ok()) return FailStatus(from_dir.status());
  absl::StatusOr<FileHandle> to_dir = pl::ParentOf(c, vto, &r.to_name);
  if (!to_dir.ok()) return FailStatus(to_dir.status());
  r.from_dir = *from_dir;
  r.to_dir = *to_dir;
  if (flags & kNoReplace) {
    // Checked, then renamed: not atomic against another client creating the name meanwhile.
    absl::StatusOr<protocol::HandleReply> there = c->Lookup(*to_dir, r.to_name);
    if (there.ok()) return Fail(EEXIST);
    if (client::ErrorCodeOf(there.status()) != protocol::ErrorCode::kNoEntry) {
      return FailStatus(there.status());
    }
  }
  absl::Status s = c->RenameAt(r);
  return s.ok() ? 0 : FailStatus(s);
}

int vp_access(const char* path, int mode) {
  std::string vpath;
  if (!pl::VolumePath(path, &vpath)) return Fail(ENOENT);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<FileAttr> a = c->Stat(vpath);
  if (!a.ok()) return FailStatus(a.status());
  // The filer acts as root for every client (DESIGN.md, issue 11): only execute needs a bit.
  if ((mode & X_OK) && a->type != FileType::kDirectory && (a->mode & 0111) == 0) {
    return Fail(EACCES);
  }
  return 0;
}

namespace {
int SetMode(const FileHandle& handle, mode_t mode) {
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  protocol::SetAttrRequest r;
  r.handle = handle;
  r.mask = protocol::kSetMode;
  r.mode = mode & 07777;
  absl::StatusOr<FileAttr> a = c->SetAttr(r);
  return a.ok() ? 0 : FailStatus(a.status());
}
}  // namespace

int vp_chmod(const char* path, mode_t mode) {
  std::string vpath;
  if (!pl::VolumePath(path, &vpath)) return Fail(ENOENT);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<FileHandle> h = c->Resolve(vpath);
  if (!h.ok()) return FailStatus(h.status());
  return SetMode(*h, mode);
}

int vp_fchmod(int fd, mode_t mode) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  return SetMode(f->handle, mode);
}

namespace {
// The handle behind a path (when not null) or a descriptor of ours; an errno when none.
absl::StatusOr<FileHandle> HandleOf(client::Client* c, const char* path, int fd) {
  if (path != nullptr) {
    std::string vpath;
    if (!pl::VolumePath(path, &vpath)) return absl::NotFoundError("not under the prefix");
    return c->Resolve(vpath);
  }
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return absl::FailedPreconditionError("EBADF");
  return f->handle;
}

int64_t NowNanos() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}
}  // namespace

int vp_set_times(const char* path, int fd, const struct timespec* times) {
  if (path == nullptr && !FdTable::Get().Owned(fd)) return Fail(EBADF);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<FileHandle> h = HandleOf(c, path, fd);
  if (!h.ok()) return absl::IsFailedPrecondition(h.status()) ? Fail(EBADF) : FailStatus(h.status());
  protocol::SetAttrRequest r;
  r.handle = *h;
  const int64_t now = NowNanos();
  for (int i = 0; i < 2; ++i) {
    const bool omit = times != nullptr && times[i].tv_nsec == UTIME_OMIT;
    if (omit) continue;
    const int64_t ns = times == nullptr || times[i].tv_nsec == UTIME_NOW
                           ? now
                           : static_cast<int64_t>(times[i].tv_sec) * 1000000000 + times[i].tv_nsec;
    if (i == 0) {
      r.mask |= protocol::kSetAtime;
      r.atime_ns = ns;
    } else {
      r.mask |= protocol::kSetMtime;
      r.mtime_ns = ns;
    }
  }
  if (r.mask == 0) return 0;
  absl::StatusOr<FileAttr> a = c->SetAttr(r);
  return a.ok() ? 0 : FailStatus(a.status());
}

int vp_chown(const char* path, int fd, uid_t uid, gid_t gid) {
  if (path == nullptr && !FdTable::Get().Owned(fd)) return Fail(EBADF);
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return -1;
  absl::StatusOr<FileHandle> h = HandleOf(c, path, fd);
  if (!h.ok()) return absl::IsFailedPrecondition(h.status()) ? Fail(EBADF) : FailStatus(h.status());
  const bool uid_ok = uid == static_cast<uid_t>(-1) || uid == getuid();
  const bool gid_ok = gid == static_cast<gid_t>(-1) || gid == getgid();
  return uid_ok && gid_ok ? 0 : Fail(EPERM);
}

int vp_dup(int fd, int min_fd, int cloexec) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  const int nfd = vp_real()->fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, min_fd);
  if (nfd < 0) return -1;
  if (!FdTable::Get().Install(nfd, std::move(f))) {
    vp_real()->close(nfd);
    return Fail(EMFILE);
  }
  return nfd;
}

int vp_dup_onto(int oldfd, int newfd, int flags) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(oldfd);
  if (f == nullptr) return Fail(EBADF);
  if (oldfd == newfd) return flags != 0 ? Fail(EINVAL) : newfd;
  if (newfd < 0 || newfd >= FdTable::kMaxFd) return Fail(EBADF);
  const int r = vp_real()->dup3(oldfd, newfd, flags);
  if (r < 0) return -1;
  FdTable::Get().Remove(newfd);
  FdTable::Get().Install(newfd, std::move(f));
  return newfd;
}

void vp_forget(int fd) { FdTable::Get().Remove(fd); }

void vp_note_umask(mode_t mask) { Session::Get().set_umask(mask); }

int vp_fcntl(int fd, int cmd, long arg) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) return Fail(EBADF);
  switch (cmd) {
    case F_GETFL:
      return f->flags | O_LARGEFILE;
    case F_SETFL:
      // Only O_APPEND and O_NONBLOCK change, as on Linux. Not atomic against a concurrent
      // F_SETFL on a dup of the same description.
      f->flags =
          (f->flags & ~(O_APPEND | O_NONBLOCK)) | (static_cast<int>(arg) & (O_APPEND | O_NONBLOCK));
      return 0;
    case F_GETFD:
    case F_SETFD:
      return vp_real()->fcntl(fd, cmd, arg);
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      return vp_dup(fd, static_cast<int>(arg), cmd == F_DUPFD_CLOEXEC);
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return Fail(ENOLCK);  // the protocol has no locks
    default:
      return Fail(EINVAL);
  }
}

DIR* vp_fdopendir(int fd) {
  std::shared_ptr<OpenFile> f = FdTable::Get().Find(fd);
  if (f == nullptr) {
    errno = EBADF;
    return nullptr;
  }
  if (!f->directory) {
    errno = ENOTDIR;
    return nullptr;
  }
  InsideVifiler inside;
  client::Client* c = Session::Get().Client();
  if (c == nullptr) return nullptr;
  absl::StatusOr<std::vector<protocol::DirEntry>> entries = pl::ListHandle(c, f->handle);
  if (!entries.ok()) {
    FailStatus(entries.status());
    return nullptr;
  }
  auto dir = new Dir();
  dir->fd = fd;
  auto add = [dir](const std::string& name, uint64_t ino, unsigned char type) {
    struct dirent64 e;
    memset(&e, 0, sizeof(e));
    e.d_ino = ino;
    e.d_off = static_cast<off64_t>(dir->entries.size() + 1);
    e.d_reclen = sizeof(e);
    e.d_type = type;
    snprintf(e.d_name, sizeof(e.d_name), "%s", name.c_str());
    dir->entries.push_back(e);
  };
  add(".", 0, DT_DIR);
  // The root's ".." is outside the prefix, where nothing of the volume's exists: left out, so
  // that tools which stat every entry (ls -a) find nothing missing.
  if (f->volume_path != "/") add("..", 0, DT_DIR);
  for (const protocol::DirEntry& e : *entries) {
    const unsigned char type = e.type == FileType::kDirectory ? DT_DIR
                               : e.type == FileType::kRegular ? DT_REG
                               : e.type == FileType::kSymlink ? DT_LNK
                                                              : DT_UNKNOWN;
    add(e.name, e.file_id, type);
  }
  DIR* handle = reinterpret_cast<DIR*>(dir);
  std::call_once(pl::dirs_fork_once,
                 [] { pthread_atfork(&pl::LockDirs, &pl::UnlockDirs, &pl::UnlockDirs); });
  std::lock_guard<std::mutex> lock(pl::dirs_mu);
  pl::dirs->insert(handle);
  pl::dir_count.fetch_add(1);
  return handle;
}

DIR* vp_opendir(const char* path) {
  const int fd = vp_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  DIR* d = vp_fdopendir(fd);
  if (d == nullptr) {
    const int e = errno;
    vp_close(fd);
    errno = e;
  }
  return d;
}

struct dirent64* vp_readdir(DIR* handle) {
  Dir* dir = reinterpret_cast<Dir*>(handle);
  if (dir->next >= dir->entries.size()) return nullptr;  // end: errno untouched
  return &dir->entries[dir->next++];
}

void vp_rewinddir(DIR* handle) { reinterpret_cast<Dir*>(handle)->next = 0; }

int vp_dirfd(DIR* handle) { return reinterpret_cast<Dir*>(handle)->fd; }

int vp_closedir(DIR* handle) {
  {
    std::lock_guard<std::mutex> lock(pl::dirs_mu);
    if (pl::dirs->erase(handle) == 0) return Fail(EBADF);
    pl::dir_count.fetch_sub(1);
  }
  Dir* dir = reinterpret_cast<Dir*>(handle);
  vp_close(dir->fd);
  delete dir;
  return 0;
}

FILE* vp_fdopen(int fd, const char* mode) {
  if (FdTable::Get().Find(fd) == nullptr) {
    errno = EBADF;
    return nullptr;
  }
  cookie_io_functions_t io;
  io.read = &pl::CookieRead;
  io.write = &pl::CookieWrite;
  io.seek = &pl::CookieSeek;
  io.close = &pl::CookieClose;
  return fopencookie(reinterpret_cast<void*>(static_cast<intptr_t>(fd)), mode, io);
}

FILE* vp_fopen(const char* path, const char* mode) {
  const int flags = pl::FlagsOfMode(mode);
  if (flags < 0) {
    errno = EINVAL;
    return nullptr;
  }
  const int fd = vp_open(path, flags, 0666);
  if (fd < 0) return nullptr;
  FILE* f = vp_fdopen(fd, mode);
  if (f == nullptr) {
    const int e = errno;
    vp_close(fd);
    errno = e;
  }
  return f;
}

}  // extern "C"
