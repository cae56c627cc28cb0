// Copyright 2026 The vifiler Authors.

#include "mount/vifiler_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "mount/errno_map.h"
#include "mount/fuse.h"

namespace vifiler {
namespace mount {

namespace {

constexpr uint32_t kReadDirPage = protocol::kMaxReadDirEntries;
constexpr uint32_t kBlockSize = 4096;

mode_t TypeBits(protocol::FileType type) {
  switch (type) {
    case protocol::FileType::kDirectory:
      return S_IFDIR;
    case protocol::FileType::kSymlink:
      return S_IFLNK;
    default:
      return S_IFREG;
  }
}

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    --ts.tv_sec;
  }
  return ts;
}

int64_t ToNanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A directory's entries, read whole at opendir (and again at a rewind) so that readdir can hand
// the kernel one offset per entry; the protocol's cookies continue pages, not entries.
struct DirSnapshot {
  struct Entry {
    std::string name;
    uint64_t ino = 0;  // st_ino as readdir reports it (the file id)
    mode_t type = 0;   // S_IF* bits
  };
  absl::Mutex mu;
  std::vector<Entry> entries ABSL_GUARDED_BY(mu);
  bool served ABSL_GUARDED_BY(mu) = false;
};

}  // namespace

// The operations, as static functions with the signatures libfuse calls.
struct FsOps {
  static VifilerFs* Fs(fuse_req_t req) { return static_cast<VifilerFs*>(fuse_req_userdata(req)); }

  static double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

  static void ToStat(const VifilerFs& fs, const protocol::FileAttr& a, struct stat* st) {
    memset(st, 0, sizeof(*st));
    st->st_ino = a.file_id;
    st->st_mode = TypeBits(a.type) | (a.mode & 07777);
    st->st_nlink = a.nlink;
    st->st_uid = fs.uid();
    st->st_gid = fs.gid();
    st->st_size = static_cast<off_t>(a.size);
    st->st_blksize = fs.options().max_io;
    st->st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
    st->st_atim = ToTimespec(a.atime_ns);
    st->st_mtim = ToTimespec(a.mtime_ns);
    st->st_ctim = ToTimespec(a.ctime_ns);
  }

  // The handle of ino into *handle; false (the request answered with ESTALE) when unknown.
  static bool HandleOf(fuse_req_t req, fuse_ino_t ino, protocol::FileHandle* handle) {
    if (Fs(req)->inodes_.Get(ino, handle)) return true;
    fuse_reply_err(req, ESTALE);
    return false;
  }

  static bool RefuseIfReadOnly(fuse_req_t req) {
    if (!Fs(req)->options_.read_only) return false;
    fuse_reply_err(req, EROFS);
    return true;
  }

  static void ReplyError(fuse_req_t req, const absl::Status& status) {
    fuse_reply_err(req, ErrnoOf(status));
  }

  static void FillEntry(VifilerFs* fs, const protocol::HandleReply& found,
                        struct fuse_entry_param* e) {
    memset(e, 0, sizeof(*e));
    e->ino = fs->inodes_.Ref(found.handle);
    e->generation = found.handle.generation;
    ToStat(*fs, found.attr, &e->attr);
    e->attr_timeout = Seconds(fs->options_.attr_timeout);
    e->entry_timeout = Seconds(fs->options_.entry_timeout);
  }

  // Answers a lookup-like request (lookup, mkdir, mknod) with found's entry.
  static void ReplyEntry(fuse_req_t req, const protocol::HandleReply& found) {
    VifilerFs* fs = Fs(req);
    struct fuse_entry_param e;
    FillEntry(fs, found, &e);
    // An interrupted request takes no reference in the kernel: drop ours.
    if (fuse_reply_entry(req, &e) != 0) fs->inodes_.Forget(e.ino, 1);
  }

  // ---- operations

  static void Init(void* userdata, struct fuse_conn_info* conn) {
    VifilerFs* fs = static_cast<VifilerFs*>(userdata);
    conn->max_write = fs->options_.max_io;
    // max_readahead stays what the kernel offered: we may only lower it.
    conn->time_gran = 1;
    // Lookups and readdirs of one directory may run at once: every operation is stateless.
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    // Cached data is dropped when the kernel sees a file's size or mtime change.
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
    // Write-through: no writeback cache (see the consistency contract in the header).
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  }

  static void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    protocol::FileHandle dir;
    if (!HandleOf(req, parent, &dir)) return;
    absl::StatusOr<protocol::HandleReply> found = Fs(req)->client_->Lookup(dir, name);
    if (!found.ok()) return ReplyError(req, found.status());
    ReplyEntry(req, *found);
  }

  static void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    Fs(req)->inodes_.Forget(ino, nlookup);
    fuse_reply_none(req);
  }

  static void ForgetMulti(fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i) Fs(req)->inodes_.Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  }

  static void ReplyAttr(fuse_req_t req, const protocol::FileAttr& attr) {
    VifilerFs* fs = Fs(req);
    struct stat st;
    ToStat(*fs, attr, &st);
    fuse_reply_attr(req, &st, Seconds(fs->options_.attr_timeout));
  }

  static void GetAttr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* /*fi*/) {
    protocol::FileHandle handle;
    if (!HandleOf(req, ino, &handle)) return;
    absl::StatusOr<protocol::FileAttr> attr = Fs(req)->client_->GetAttr(handle);
    if (!attr.ok()) return ReplyError(req, attr.status());
    ReplyAttr(req, *attr);
  }

  static void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                      struct fuse_file_info* /*fi*/) {
    VifilerFs* fs = Fs(req);
    protocol::FileHandle handle;
    if (!HandleOf(req, ino, &handle)) return;
    // Owners are not kept by the protocol: every file belongs to the mounting user, and a
    // chown to anyone else is refused.
    if (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != fs->uid_) ||
        ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != fs->gid_)) {
      fuse_reply_err(req, EPERM);
      return;
    }
    protocol::SetAttrRequest r;
    r.handle = handle;
    if (to_set & FUSE_SET_ATTR_SIZE) {
      r.mask |= protocol::kSetSize;
      r.size = static_cast<uint64_t>(attr->st_size);
    }
    if (to_set & FUSE_SET_ATTR_MODE) {
      r.mask |= protocol::kSetMode;
      r.mode = attr->st_mode & 07777;
    }
    const int64_t now = absl::ToUnixNanos(absl::Now());
    if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
      r.mask |= protocol::kSetAtime;
      r.atime_ns = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : ToNanos(attr->st_atim);
    }
    if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
      r.mask |= protocol::kSetMtime;
      r.mtime_ns = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : ToNanos(attr->st_mtim);
    }
    if (r.mask == 0) return GetAttr(req, ino, nullptr);  // an owner set to itself, a ctime
    if (RefuseIfReadOnly(req)) return;
    absl::StatusOr<protocol::FileAttr> done = fs->client_->SetAttr(r);
    if (!done.ok()) return ReplyError(req, done.status());
    ReplyAttr(req, *done);
  }

  static void ReadLink(fuse_req_t req, fuse_ino_t /*ino*/) { fuse_reply_err(req, EOPNOTSUPP); }

  static void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                    dev_t /*rdev*/) {
    if (!S_ISREG(mode)) {
      fuse_reply_err(req, EPERM);  // special files: the protocol has regular files only
      return;
    }
    if (RefuseIfReadOnly(req)) return;
    protocol::CreateRequest r;
    if (!HandleOf(req, parent, &r.dir)) return;
    r.name = name;
    r.mode = mode & 07777;
    r.exclusive = true;
    absl::StatusOr<protocol::HandleReply> made = Fs(req)->client_->CreateAt(r);
    if (!made.ok()) return ReplyError(req, made.status());
    ReplyEntry(req, *made);
  }

  static void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
    if (RefuseIfReadOnly(req)) return;
    protocol::MkdirRequest r;
    if (!HandleOf(req, parent, &r.dir)) return;
    r.name = name;
    r.mode = mode & 07777;
    absl::StatusOr<protocol::HandleReply> made = Fs(req)->client_->MkdirAt(r);
    if (!made.ok()) return ReplyError(req, made.status());
    ReplyEntry(req, *made);
  }

  // A file still open here is not removed but renamed to a hidden name, removed at its last
  // close: its readers and writers go on (a silly rename, as NFS clients do).
  static void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    if (RefuseIfReadOnly(req)) return;
    VifilerFs* fs = Fs(req);
    protocol::FileHandle dir;
    if (!HandleOf(req, parent, &dir)) return;
    if (fs->inodes_.AnyOpen()) {
      absl::StatusOr<protocol::HandleReply> found = fs->client_->Lookup(dir, name);
      if (found.ok() && found->attr.type == protocol::FileType::kRegular &&
          fs->inodes_.IsOpen(found->handle)) {
        protocol::RenameRequest r;
        r.from_dir = dir;
        r.from_name = name;
        r.to_dir = dir;
        r.to_name = fs->HiddenNameFor(found->handle);
        absl::Status s = fs->client_->RenameAt(r);
        if (!s.ok()) return ReplyError(req, s);
        if (!fs->inodes_.Hide(found->handle, InodeTable::HiddenName{dir, r.to_name})) {
          s = fs->client_->RemoveAt(dir, r.to_name);  // closed meanwhile
        }
        fuse_reply_err(req, ErrnoOf(s));
        return;
      }
    }
    fuse_reply_err(req, ErrnoOf(fs->client_->RemoveAt(dir, name)));
  }

  // A directory whose only entries are hidden names of files this mount has open (unlinked
  // while open) is removed all the same, as on a local file system: those files move to the
  // mount's root first.
  static void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    if (RefuseIfReadOnly(req)) return;
    VifilerFs* fs = Fs(req);
    protocol::FileHandle dir;
    if (!HandleOf(req, parent, &dir)) return;
    absl::Status s = fs->client_->RmdirAt(dir, name);
    if (client::ErrorCodeOf(s) == protocol::ErrorCode::kNotEmpty && fs->inodes_.AnyOpen() &&
        MoveHiddenToRoot(fs, dir, name)) {
      s = fs->client_->RmdirAt(dir, name);
    }
    fuse_reply_err(req, ErrnoOf(s));
  }

  // Moves the hidden names in parent/name to the mount's root; false when the directory holds
  // anything else (or cannot be read).
  static bool MoveHiddenToRoot(VifilerFs* fs, const protocol::FileHandle& parent,
                               const char* name) {
    client::Client* c = fs->client_;
    absl::StatusOr<protocol::HandleReply> found = c->Lookup(parent, name);
    if (!found.ok()) return false;
    const protocol::FileHandle dir = found->handle;
    std::vector<DirSnapshot::Entry> entries;
    if (!LoadDir(c, dir, &entries).ok()) return false;
    std::vector<std::string> hidden;
    for (const DirSnapshot::Entry& e : entries) {
      if (e.name == "." || e.name == "..") continue;
      if (!fs->IsOwnHiddenName(e.name)) return false;
      hidden.push_back(e.name);
    }
    protocol::FileHandle root;
    fs->inodes_.Get(InodeTable::kRootId, &root);
    for (const std::string& h : hidden) {
      absl::StatusOr<protocol::HandleReply> file = c->Lookup(dir, h);
      if (!file.ok()) continue;  // its last close removed it meanwhile
      protocol::RenameRequest r;
      r.from_dir = dir;
      r.from_name = h;
      r.to_dir = root;
      r.to_name = h;
      if (!c->RenameAt(r).ok()) return false;
      if (!fs->inodes_.Hide(file->handle, InodeTable::HiddenName{root, h})) {
        c->RemoveAt(root, h).IgnoreError();  // closed meanwhile
      }
    }
    return true;
  }

  static void Symlink(fuse_req_t req, const char* /*link*/, fuse_ino_t /*parent*/,
                      const char* /*name*/) {
    fuse_reply_err(req, EPERM);  // symlink(2): the file system does not support them
  }

  static void Link(fuse_req_t req, fuse_ino_t /*ino*/, fuse_ino_t /*newparent*/,
                   const char* /*newname*/) {
    fuse_reply_err(req, EPERM);  // link(2): the file system does not support hard links
  }

  static void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                     const char* newname, unsigned int flags) {
    if (RefuseIfReadOnly(req)) return;
    if (flags & ~static_cast<unsigned int>(RENAME_NOREPLACE)) {
      fuse_reply_err(req, EINVAL);  // RENAME_EXCHANGE, RENAME_WHITEOUT
      return;
    }
    client::Client* c = Fs(req)->client_;
    protocol::RenameRequest r;
    if (!HandleOf(req, parent, &r.from_dir) || !HandleOf(req, newparent, &r.to_dir)) return;
    r.from_name = name;
    r.to_name = newname;
    if (flags & RENAME_NOREPLACE) {
      absl::StatusOr<protocol::HandleReply> there = c->Lookup(r.to_dir, r.to_name);
      if (there.ok()) {
        fuse_reply_err(req, EEXIST);
        return;
      }
      if (client::ErrorCodeOf(there.status()) != protocol::ErrorCode::kNoEntry) {
        return ReplyError(req, there.status());
      }
    }
    fuse_reply_err(req, ErrnoOf(c->RenameAt(r)));
  }

  static void Open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
      if (RefuseIfReadOnly(req)) return;
    }
    fi->keep_cache = 0;  // drop cached data at every open: close-to-open
    fi->direct_io = 0;
    VifilerFs* fs = Fs(req);
    fs->inodes_.Opened(ino);  // before the reply: a release may follow it at once
    if (fuse_reply_open(req, fi) != 0) CloseFile(fs, ino);
  }

  // One open of ino fewer; removes the file's hidden name after the last close of a file
  // unlinked while open.
  static void CloseFile(VifilerFs* fs, fuse_ino_t ino) {
    InodeTable::HiddenName hidden;
    if (fs->inodes_.Closed(ino, &hidden)) {
      fs->client_->RemoveAt(hidden.dir, hidden.name).IgnoreError();  // gone already: fine
    }
  }

  static void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info* /*fi*/) {
    protocol::FileHandle handle;
    if (!HandleOf(req, ino, &handle)) return;
    std::unique_ptr<char[]> buffer(new char[size]);
    absl::StatusOr<size_t> n = Fs(req)->client_->Read(handle, static_cast<uint64_t>(off),
                                                      absl::MakeSpan(buffer.get(), size));
    if (!n.ok()) return ReplyError(req, n.status());
    fuse_reply_buf(req, buffer.get(), *n);
  }

  static void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                    struct fuse_file_info* /*fi*/) {
    if (RefuseIfReadOnly(req)) return;
    protocol::FileHandle handle;
    if (!HandleOf(req, ino, &handle)) return;
    absl::StatusOr<size_t> n =
        Fs(req)->client_->Write(handle, static_cast<uint64_t>(off), absl::string_view(buf, size));
    if (!n.ok()) return ReplyError(req, n.status());
    fuse_reply_write(req, *n);
  }

  // Writes are through (each acknowledged write is durable on the filer): nothing to flush.
  static void Flush(fuse_req_t req, fuse_ino_t /*ino*/, struct fuse_file_info* /*fi*/) {
    fuse_reply_err(req, 0);
  }

  static void Release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* /*fi*/) {
    CloseFile(Fs(req), ino);
    fuse_reply_err(req, 0);
  }

  static void Fsync(fuse_req_t req, fuse_ino_t ino, int /*datasync*/,
                    struct fuse_file_info* /*fi*/) {
    protocol::FileHandle handle;
    if (!HandleOf(req, ino, &handle)) return;
    fuse_reply_err(req, ErrnoOf(Fs(req)->client_->Fsync(handle)));
  }

  // Reads all of dir's entries ("." and ".." first) into *out; without this mount's hidden
  // names (files unlinked while open here) when fs is set.
  static absl::Status LoadDir(client::Client* c, const protocol::FileHandle& dir,
                              std::vector<DirSnapshot::Entry>* out, const VifilerFs* fs = nullptr) {
    out->clear();
    out->push_back({".", dir.file_id, S_IFDIR});
    out->push_back({"..", InodeTable::kRootId, S_IFDIR});
    uint64_t cookie = 0;
    while (true) {
      absl::StatusOr<protocol::ReadDirReply> page = c->ReadDir(dir, cookie, kReadDirPage);
      if (!page.ok()) return page.status();
      for (const protocol::DirEntry& e : page->entries) {
        if (fs != nullptr && fs->IsOwnHiddenName(e.name)) continue;
        out->push_back({e.name, e.file_id, TypeBits(e.type)});
      }
      if (page->eof) return absl::OkStatus();
      if (page->entries.empty()) return absl::DataLossError("READDIR: empty page before eof");
      cookie = page->cookie;
    }
  }

  static void OpenDir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
    protocol::FileHandle dir;
    if (!HandleOf(req, ino, &dir)) return;
    std::vector<DirSnapshot::Entry> entries;
    absl::Status s = LoadDir(Fs(req)->client_, dir, &entries, Fs(req));
    if (!s.ok()) return ReplyError(req, s);
    auto snapshot = std::make_unique<DirSnapshot>();
    {
      absl::MutexLock lock(&snapshot->mu);
      snapshot->entries = std::move(entries);
    }
    fi->fh = reinterpret_cast<uint64_t>(snapshot.get());
    fi->cache_readdir = 0;
    if (fuse_reply_open(req, fi) == 0) snapshot.release();
  }

  static void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info* fi) {
    DirSnapshot* snapshot = reinterpret_cast<DirSnapshot*>(fi->fh);
    bool rewound;
    {
      absl::MutexLock lock(&snapshot->mu);
      rewound = off == 0 && snapshot->served;
    }
    if (rewound) {  // rewinddir: read the directory again, without holding the lock
      protocol::FileHandle dir;
      if (!HandleOf(req, ino, &dir)) return;
      std::vector<DirSnapshot::Entry> entries;
      absl::Status s = LoadDir(Fs(req)->client_, dir, &entries, Fs(req));
      if (!s.ok()) return ReplyError(req, s);
      absl::MutexLock lock(&snapshot->mu);
      snapshot->entries = std::move(entries);
    }
    std::vector<char> buffer(size);
    size_t used = 0;
    {
      absl::MutexLock lock(&snapshot->mu);
      snapshot->served = true;
      for (size_t i = static_cast<size_t>(off); i < snapshot->entries.size(); ++i) {
        const DirSnapshot::Entry& e = snapshot->entries[i];
        struct stat st;
        memset(&st, 0, sizeof(st));
        st.st_ino = e.ino;
        st.st_mode = e.type;
        const size_t need = fuse_add_direntry(req, buffer.data() + used, size - used,
                                              e.name.c_str(), &st, static_cast<off_t>(i + 1));
        if (need > size - used) break;
        used += need;
      }
    }
    fuse_reply_buf(req, buffer.data(), used);
  }

  static void ReleaseDir(fuse_req_t req, fuse_ino_t /*ino*/, struct fuse_file_info* fi) {
    delete reinterpret_cast<DirSnapshot*>(fi->fh);
    fuse_reply_err(req, 0);
  }

  // Namespace changes are durable once acknowledged (the filer syncs the directories they
  // touch before it replies): nothing is left to sync.
  static void FsyncDir(fuse_req_t req, fuse_ino_t /*ino*/, int /*datasync*/,
                       struct fuse_file_info* /*fi*/) {
    fuse_reply_err(req, 0);
  }

  static void StatFs(fuse_req_t req, fuse_ino_t /*ino*/) {
    absl::StatusOr<protocol::StatFsReply> fs = Fs(req)->client_->StatFs();
    if (!fs.ok()) return ReplyError(req, fs.status());
    struct statvfs st;
    memset(&st, 0, sizeof(st));
    st.f_bsize = kBlockSize;
    st.f_frsize = kBlockSize;
    st.f_blocks = fs->total_bytes / kBlockSize;
    st.f_bfree = fs->free_bytes / kBlockSize;
    st.f_bavail = fs->available_bytes / kBlockSize;
    st.f_files = fs->total_files;
    st.f_ffree = fs->free_files;
    st.f_favail = fs->free_files;
    st.f_namemax = protocol::kMaxNameLength;
    fuse_reply_statfs(req, &st);
  }

  static void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                     struct fuse_file_info* fi) {
    if (RefuseIfReadOnly(req)) return;
    VifilerFs* fs = Fs(req);
    protocol::CreateRequest r;
    if (!HandleOf(req, parent, &r.dir)) return;
    r.name = name;
    r.mode = mode & 07777;
    r.exclusive = (fi->flags & O_EXCL) != 0;
    r.truncate = (fi->flags & O_TRUNC) != 0;
    absl::StatusOr<protocol::HandleReply> made = fs->client_->CreateAt(r);
    if (!made.ok()) return ReplyError(req, made.status());
    struct fuse_entry_param e;
    FillEntry(fs, *made, &e);
    fi->keep_cache = 0;
    fi->direct_io = 0;
    fs->inodes_.Opened(e.ino);
    if (fuse_reply_create(req, &e, fi) != 0) {
      CloseFile(fs, e.ino);
      fs->inodes_.Forget(e.ino, 1);
    }
  }

  static struct fuse_lowlevel_ops Table() {
    struct fuse_lowlevel_ops ops;
    memset(&ops, 0, sizeof(ops));
    ops.init = Init;
    ops.lookup = Lookup;
    ops.forget = Forget;
    ops.forget_multi = ForgetMulti;
    ops.getattr = GetAttr;
    ops.setattr = SetAttr;
    ops.readlink = ReadLink;
    ops.mknod = Mknod;
    ops.mkdir = Mkdir;
    ops.unlink = Unlink;
    ops.rmdir = Rmdir;
    ops.symlink = Symlink;
    ops.link = Link;
    ops.rename = Rename;
    ops.open = Open;
    ops.read = Read;
    ops.write = Write;
    ops.flush = Flush;
    ops.release = Release;
    ops.fsync = Fsync;
    ops.opendir = OpenDir;
    ops.readdir = ReadDir;
    ops.releasedir = ReleaseDir;
    ops.fsyncdir = FsyncDir;
    ops.statfs = StatFs;
    ops.create = Create;
    return ops;
  }
};

VifilerFs::VifilerFs(client::Client* client, const protocol::FileHandle& root, FsOptions options)
    : client_(client),
      options_(options),
      uid_(getuid()),
      gid_(getgid()),
      mount_tag_(absl::Uniform<uint32_t>(absl::BitGen())),
      inodes_(root) {}

std::string VifilerFs::HiddenNameFor(const protocol::FileHandle& handle) {
  return absl::StrFormat("%s%x.%08x.%x", kHiddenPrefix, handle.file_id, mount_tag_,
                         hidden_count_.fetch_add(1));
}

bool VifilerFs::IsOwnHiddenName(absl::string_view name) const {
  return absl::StartsWith(name, kHiddenPrefix) &&
         absl::StrContains(name, absl::StrFormat(".%08x.", mount_tag_));
}

const struct fuse_lowlevel_ops* VifilerFs::Operations() {
  static const struct fuse_lowlevel_ops ops = FsOps::Table();
  return &ops;
}

}  // namespace mount
}  // namespace vifiler
