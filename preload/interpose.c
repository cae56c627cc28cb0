/* Copyright 2026 The vifiler Authors.
 *
 * The C library's names that libvifiler_preload.so defines. Each asks whether the call is
 * vifiler's (a path under VIFILER_MOUNT, a descriptor or DIR of this library; see
 * preload_ops.h) and calls the vifiler implementation if so, the C library's own function
 * otherwise. Written in C so that each definition is the C library's prototype as it is, and so
 * that the large-file redirections of the headers stay out of the way (both the plain and the
 * 64 names are defined here; on 64-bit Linux they are the same calls).
 */

#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE 1

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "preload/preload_ops.h"
#include "preload/real_libc.h"

static int NoSys(void) {
  errno = ENOSYS;
  return -1;
}

/* frees p without changing errno */
static void FreeKeepErrno(char* p) {
  const int e = errno;
  free(p);
  errno = e;
}

/* Whether an *at call is vifiler's: 1 (with *joined the path to use when not null; free it),
 * 0 (the C library's), -1 (refused, errno set). */
static int AtOurs(int dirfd, const char* path, char** joined) {
  *joined = NULL;
  if (path == NULL) return 0;
  if (path[0] == '/') return vp_path_ours(path);
  if (dirfd == AT_FDCWD || !vp_fd_ours(dirfd)) return 0;
  *joined = vp_at_path(dirfd, path);
  return *joined == NULL ? -1 : 1;
}

/* The C library's headers declare these paths non-null; the kernel accepts null or "" with
 * AT_EMPTY_PATH for "the descriptor itself". Tested here, on a parameter of our own. */
static int NullPath(const char* path) { return path == NULL; }
static int EmptyPathOn(const char* path, int flags) {
  return path != NULL && path[0] == '\0' && (flags & AT_EMPTY_PATH);
}

static mode_t ModeArg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

static int OpenOurs(const char* path, int flags, mode_t mode) {
  if ((flags & O_TMPFILE) == O_TMPFILE) {
    errno = EOPNOTSUPP;
    return -1;
  }
  return vp_open(path, flags, mode);
}

/* ---- open */

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = ModeArg(flags, ap);
  va_end(ap);
  if (vp_path_ours(path)) return OpenOurs(path, flags, mode);
  return vp_real()->open(path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = ModeArg(flags, ap);
  va_end(ap);
  if (vp_path_ours(path)) return OpenOurs(path, flags, mode);
  return vp_real()->open64(path, flags, mode);
}

int __open_2(const char* path, int flags) { return open(path, flags); }
int __open64_2(const char* path, int flags) { return open64(path, flags); }

static int OpenAt(int dirfd, const char* path, int flags, mode_t mode, int large) {
  char* joined;
  const int ours = AtOurs(dirfd, path, &joined);
  if (ours < 0) return -1;
  if (ours) {
    const int r = OpenOurs(joined != NULL ? joined : path, flags, mode);
    FreeKeepErrno(joined);
    return r;
  }
  return large ? vp_real()->openat64(dirfd, path, flags, mode)
               : vp_real()->openat(dirfd, path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = ModeArg(flags, ap);
  va_end(ap);
  return OpenAt(dirfd, path, flags, mode, 0);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = ModeArg(flags, ap);
  va_end(ap);
  return OpenAt(dirfd, path, flags, mode, 1);
}

int __openat_2(int dirfd, const char* path, int flags) { return OpenAt(dirfd, path, flags, 0, 0); }
int __openat64_2(int dirfd, const char* path, int flags) {
  return OpenAt(dirfd, path, flags, 0, 1);
}

int creat(const char* path, mode_t mode) {
  if (vp_path_ours(path)) return vp_open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
  return vp_real()->creat(path, mode);
}

int creat64(const char* path, mode_t mode) {
  if (vp_path_ours(path)) return vp_open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
  return vp_real()->creat64(path, mode);
}

int close(int fd) {
  if (vp_fd_ours(fd)) return vp_close(fd);
  return vp_real()->close(fd);
}

/* ---- data */

ssize_t read(int fd, void* buf, size_t count) {
  if (vp_fd_ours(fd)) return vp_read(fd, buf, count);
  return vp_real()->read(fd, buf, count);
}

ssize_t __read_chk(int fd, void* buf, size_t count, size_t buflen) {
  if (count > buflen) abort(); /* what the C library's check does */
  return read(fd, buf, count);
}

ssize_t write(int fd, const void* buf, size_t count) {
  if (vp_fd_ours(fd)) return vp_write(fd, buf, count);
  return vp_real()->write(fd, buf, count);
}

ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
  if (vp_fd_ours(fd)) return vp_pread(fd, buf, count, offset);
  return vp_real()->pread(fd, buf, count, offset);
}

ssize_t pread64(int fd, void* buf, size_t count, off_t offset) {
  if (vp_fd_ours(fd)) return vp_pread(fd, buf, count, offset);
  return vp_real()->pread64(fd, buf, count, offset);
}

ssize_t __pread_chk(int fd, void* buf, size_t count, off_t offset, size_t buflen) {
  if (count > buflen) abort();
  return pread(fd, buf, count, offset);
}

ssize_t __pread64_chk(int fd, void* buf, size_t count, off_t offset, size_t buflen) {
  if (count > buflen) abort();
  return pread64(fd, buf, count, offset);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  if (vp_fd_ours(fd)) return vp_pwrite(fd, buf, count, offset);
  return vp_real()->pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  if (vp_fd_ours(fd)) return vp_pwrite(fd, buf, count, offset);
  return vp_real()->pwrite64(fd, buf, count, offset);
}

/* Vectors on a descriptor of ours: one call per piece, stopping at a short one. offset < 0:
 * at the descriptor's offset. */
static ssize_t VectorIo(int fd, const struct iovec* iov, int iovcnt, off_t offset, int writing) {
  ssize_t total = 0;
  if (iovcnt < 0 || iovcnt > IOV_MAX) {
    errno = EINVAL;
    return -1;
  }
  for (int i = 0; i < iovcnt; ++i) {
    ssize_t n;
    if (offset < 0) {
      n = writing ? vp_write(fd, iov[i].iov_base, iov[i].iov_len)
                  : vp_read(fd, iov[i].iov_base, iov[i].iov_len);
    } else {
      n = writing ? vp_pwrite(fd, iov[i].iov_base, iov[i].iov_len, offset + total)
                  : vp_pread(fd, iov[i].iov_base, iov[i].iov_len, offset + total);
    }
    if (n < 0) return total > 0 ? total : -1;
    total += n;
    if ((size_t)n < iov[i].iov_len) break;
  }
  return total;
}

ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  if (vp_fd_ours(fd)) return VectorIo(fd, iov, iovcnt, -1, 0);
  return vp_real()->readv(fd, iov, iovcnt);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  if (vp_fd_ours(fd)) return VectorIo(fd, iov, iovcnt, -1, 1);
  return vp_real()->writev(fd, iov, iovcnt);
}

static ssize_t PositionedVector(int fd, const struct iovec* iov, int iovcnt, off_t offset,
                                int writing) {
  if (offset < 0) {
    errno = EINVAL;
    return -1;
  }
  return VectorIo(fd, iov, iovcnt, offset, writing);
}

ssize_t preadv(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  if (vp_fd_ours(fd)) return PositionedVector(fd, iov, iovcnt, offset, 0);
  return vp_real()->preadv(fd, iov, iovcnt, offset);
}

ssize_t preadv64(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  if (vp_fd_ours(fd)) return PositionedVector(fd, iov, iovcnt, offset, 0);
  return vp_real()->preadv64(fd, iov, iovcnt, offset);
}

ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  if (vp_fd_ours(fd)) return PositionedVector(fd, iov, iovcnt, offset, 1);
  return vp_real()->pwritev(fd, iov, iovcnt, offset);
}

ssize_t pwritev64(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  if (vp_fd_ours(fd)) return PositionedVector(fd, iov, iovcnt, offset, 1);
  return vp_real()->pwritev64(fd, iov, iovcnt, offset);
}

off_t lseek(int fd, off_t offset, int whence) {
  if (vp_fd_ours(fd)) return vp_lseek(fd, offset, whence);
  return vp_real()->lseek(fd, offset, whence);
}

off_t lseek64(int fd, off_t offset, int whence) {
  if (vp_fd_ours(fd)) return vp_lseek(fd, offset, whence);
  return vp_real()->lseek64(fd, offset, whence);
}

/* ---- attributes */

int stat(const char* path, struct stat* st) {
  if (vp_path_ours(path)) return vp_stat(path, st);
  return vp_real()->stat ? vp_real()->stat(path, st) : NoSys();
}

int stat64(const char* path, struct stat64* st) {
  if (vp_path_ours(path)) return vp_stat(path, (struct stat*)st);
  return vp_real()->stat64 ? vp_real()->stat64(path, (struct stat*)st) : NoSys();
}

/* No symbolic links are made through vifiler, so lstat is stat. */
int lstat(const char* path, struct stat* st) {
  if (vp_path_ours(path)) return vp_stat(path, st);
  return vp_real()->lstat ? vp_real()->lstat(path, st) : NoSys();
}

int lstat64(const char* path, struct stat64* st) {
  if (vp_path_ours(path)) return vp_stat(path, (struct stat*)st);
  return vp_real()->lstat64 ? vp_real()->lstat64(path, (struct stat*)st) : NoSys();
}

int fstat(int fd, struct stat* st) {
  if (vp_fd_ours(fd)) return vp_fstat(fd, st);
  return vp_real()->fstat ? vp_real()->fstat(fd, st) : NoSys();
}

int fstat64(int fd, struct stat64* st) {
  if (vp_fd_ours(fd)) return vp_fstat(fd, (struct stat*)st);
  return vp_real()->fstat64 ? vp_real()->fstat64(fd, (struct stat*)st) : NoSys();
}

/* fstatat on ours: 1 handled (result in *r), 0 the C library's. */
static int StatAtOurs(int dirfd, const char* path, struct stat* st, int flags, int* r) {
  if (EmptyPathOn(path, flags)) {
    if (!vp_fd_ours(dirfd)) return 0;
    *r = vp_fstat(dirfd, st);
    return 1;
  }
  char* joined;
  const int ours = AtOurs(dirfd, path, &joined);
  if (ours == 0) return 0;
  *r = ours < 0 ? -1 : vp_stat(joined != NULL ? joined : path, st);
  FreeKeepErrno(joined);
  return 1;
}

int fstatat(int dirfd, const char* path, struct stat* st, int flags) {
  int r;
  if (StatAtOurs(dirfd, path, st, flags, &r)) return r;
  return vp_real()->fstatat ? vp_real()->fstatat(dirfd, path, st, flags) : NoSys();
}

int fstatat64(int dirfd, const char* path, struct stat64* st, int flags) {
  int r;
  if (StatAtOurs(dirfd, path, (struct stat*)st, flags, &r)) return r;
  return vp_real()->fstatat64 ? vp_real()->fstatat64(dirfd, path, (struct stat*)st, flags)
                              : NoSys();
}

/* The stat entry points of binaries built against glibc before 2.33. */
int __xstat(int ver, const char* path, struct stat* st) {
  if (vp_path_ours(path)) return vp_stat(path, st);
  return vp_real()->xstat ? vp_real()->xstat(ver, path, st) : NoSys();
}

int __xstat64(int ver, const char* path, struct stat64* st) {
  if (vp_path_ours(path)) return vp_stat(path, (struct stat*)st);
  return vp_real()->xstat64 ? vp_real()->xstat64(ver, path, (struct stat*)st) : NoSys();
}

int __lxstat(int ver, const char* path, struct stat* st) {
  if (vp_path_ours(path)) return vp_stat(path, st);
  return vp_real()->lxstat ? vp_real()->lxstat(ver, path, st) : NoSys();
}

int __lxstat64(int ver, const char* path, struct stat64* st) {
  if (vp_path_ours(path)) return vp_stat(path, (struct stat*)st);
  return vp_real()->lxstat64 ? vp_real()->lxstat64(ver, path, (struct stat*)st) : NoSys();
}

int __fxstat(int ver, int fd, struct stat* st) {
  if (vp_fd_ours(fd)) return vp_fstat(fd, st);
  return vp_real()->fxstat ? vp_real()->fxstat(ver, fd, st) : NoSys();
}

int __fxstat64(int ver, int fd, struct stat64* st) {
  if (vp_fd_ours(fd)) return vp_fstat(fd, (struct stat*)st);
  return vp_real()->fxstat64 ? vp_real()->fxstat64(ver, fd, (struct stat*)st) : NoSys();
}

int __fxstatat(int ver, int dirfd, const char* path, struct stat* st, int flags) {
  int r;
  if (StatAtOurs(dirfd, path, st, flags, &r)) return r;
  return vp_real()->fxstatat ? vp_real()->fxstatat(ver, dirfd, path, st, flags) : NoSys();
}

int __fxstatat64(int ver, int dirfd, const char* path, struct stat64* st, int flags) {
  int r;
  if (StatAtOurs(dirfd, path, (struct stat*)st, flags, &r)) return r;
  return vp_real()->fxstatat64 ? vp_real()->fxstatat64(ver, dirfd, path, (struct stat*)st, flags)
                               : NoSys();
}

static void StatxTime(struct statx_timestamp* t, const struct timespec* ts) {
  t->tv_sec = ts->tv_sec;
  t->tv_nsec = (__u32)ts->tv_nsec;
}

int statx(int dirfd, const char* path, int flags, unsigned int mask, struct statx* stx) {
  struct stat st;
  int r;
  if (!StatAtOurs(dirfd, path, &st, flags, &r)) {
    return vp_real()->statx ? vp_real()->statx(dirfd, path, flags, mask, stx) : NoSys();
  }
  if (r != 0) return r;
  memset(stx, 0, sizeof(*stx));
  stx->stx_mask = STATX_BASIC_STATS;
  stx->stx_blksize = (__u32)st.st_blksize;
  stx->stx_nlink = (__u32)st.st_nlink;
  stx->stx_uid = st.st_uid;
  stx->stx_gid = st.st_gid;
  stx->stx_mode = (__u16)st.st_mode;
  stx->stx_ino = st.st_ino;
  stx->stx_size = (__u64)st.st_size;
  stx->stx_blocks = (__u64)st.st_blocks;
  StatxTime(&stx->stx_atime, &st.st_atim);
  StatxTime(&stx->stx_mtime, &st.st_mtim);
  StatxTime(&stx->stx_ctime, &st.st_ctim);
  stx->stx_dev_major = major(st.st_dev);
  stx->stx_dev_minor = minor(st.st_dev);
  return 0;
}

int access(const char* path, int mode) {
  if (vp_path_ours(path)) return vp_access(path, mode);
  return vp_real()->access(path, mode);
}

int faccessat(int dirfd, const char* path, int mode, int flags) {
  char* joined;
  const int ours = AtOurs(dirfd, path, &joined);
  if (ours < 0) return -1;
  if (ours) {
    const int r = vp_access(joined != NULL ? joined : path, mode);
    FreeKeepErrno(joined);
    return r;
  }
  return vp_real()->faccessat(dirfd, path, mode, flags);
}

int chmod(const char* path, mode_t mode) {
  if (vp_path_ours(path)) return vp_chmod(path, mode);
  return vp_real()->chmod(path, mode);
}

/* Followed, so that files and directories made on the filer get the mask of the moment. */
mode_t umask(mode_t mask) {
  const mode_t old = vp_real()->umask(mask);
  vp_note_umask(mask);
  return old;
}

int fchmodat(int dirfd, const char* path, mode_t mode, int flags) {
  char* joined;
  const int ours = AtOurs(dirfd, path, &joined);
  if (ours < 0) return -1;
  if (ours) {
    const int r = vp_chmod(joined != NULL ? joined : path, mode);
    FreeKeepErrno(joined);
    return r;
  }
  return vp_real()->fchmodat(dirfd, path, mode, flags);
}

int fchmod(int fd, mode_t mode) {
  if (vp_fd_ours(fd)) return vp_fchmod(fd, mode);
  return vp_real()->fchmod(fd, mode);
}

/* The filer has no owners: chown to one's own ids succeeds, anything else is EPERM. */
int chown(const char* path, uid_t uid, gid_t gid) {
  if (vp_path_ours(path)) return vp_chown(path, -1, uid, gid);
  return vp_real()->chown(path, uid, gid);
}

int lchown(const char* path, uid_t uid, gid_t gid) {
  if (vp_path_ours(path)) return vp_chown(path, -1, uid, gid);
  return vp_real()->lchown(path, uid, gid);
}

int fchown(int fd, uid_t uid, gid_t gid) {
  if (vp_fd_ours(fd)) return vp_chown(NULL, fd, uid, gid);
  return vp_real()->fchown(fd, uid, gid);
}

int fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) {
  if (EmptyPathOn(path, flags) && vp_fd_ours(dirfd)) {
    return vp_chown(NULL, dirfd, uid, gid);
  }
  char* joined;
  const int ours = AtOurs(dirfd, path, &joined);
  if (ours < 0) return -1;
  if (ours) {
    const int r = vp_chown(joined != NULL ? joined : path, -1, uid, gid);
    FreeKeepErrno(joined);
    return r;
  }
  return vp_real()->fchownat(dirfd, path, uid, gid, flags);
}

int utimensat(int dirfd, const char* path, const struct timespec times[2], int flags) {
  if (NullPath(path) && vp_fd_ours(dirfd)) return vp_set_times(NULL, dirfd, times);
  if (EmptyPathOn(path, flags) && vp_fd_ours(dirfd)) {
    return vp_set_times(NULL, dirfd, times);
  }
  char* joined;
  const int ours = AtOurs(dirfd, path, &joined);
  if (ours < 0) return -1;
  if (ours) {
    const int r = vp_set_times(joined != NULL ? joined : path, -1, times);
    FreeKeepErrno(joined);
    return r;
  }
  return vp_real()->utimensat(dirfd, path, times, flags);
}

int futimens(int fd, const struct timespec times[2]) {
  if (vp_fd_ours(fd)) return vp_set_times(NULL, fd, times);
  return vp_real()->futimens(fd, times);
}

/* No extended attributes on vifiler files (the protocol has none): ENOTSUP, as a file system
 * without them says; cp and mv then copy without them. */
static int NoXattr(void) {
  errno = ENOTSUP;
  return -1;
}

int setxattr(const char* path, const char* name, const void* value, size_t size, int flags) {
  if (vp_path_ours(path)) return NoXattr();
  return vp_real()->setxattr(path, name, value, size, flags);
}

int lsetxattr(const char* path, const char* name, const void* value, size_t size, int flags) {
  if (vp_path_ours(path)) return NoXattr();
  return vp_real()->lsetxattr(path, name, value, size, flags);
}

int fsetxattr(int fd, const char* name, const void* value, size_t size, int flags) {
  if (vp_fd_ours(fd)) return NoXattr();
  return vp_real()->fsetxattr(fd, name, value, size, flags);
}

ssize_t getxattr(const char* path, const char* name, void* value, size_t size) {
  if (vp_path_ours(path)) return NoXattr();
  return vp_real()->getxattr(path, name, value, size);
}

ssize_t lgetxattr(const char* path, const char* name, void* value, size_t size) {
  if (vp_path_ours(path)) return NoXattr();
  return vp_real()->lgetxattr(path, name, value, size);
}

ssize_t fgetxattr(int fd, const char* name, void* value, size_t size) {
  if (vp_fd_ours(fd)) return NoXattr();
  return vp_real()->fgetxattr(fd, name, value, size);
}

ssize_t listxattr(const char* path, char* list, size_t size) {
  if (vp_path_ours(path)) return NoXattr();
  return vp_real()->listxattr(path, list, size);
}

ssize_t llistxattr(const char* path, char* list, size_t size) {
  if (vp_path_ours(path)) return NoXattr();
  return vp_real()->llistxattr(path, list, size);
}

ssize_t flistxattr(int fd, char* list, size_t size) {
  if (vp_fd_ours(fd)) return NoXattr();
  return vp_real()->flistxattr(fd, list, size);
}

int removexattr(const char* path, const char* name) {
  if (vp_path_ours(path)) return NoXattr();
  return vp_real()->removexattr(path, name);
}

int lremovexattr(const char* path, const char* name) {
  if (vp_path_ours(path)) return NoXattr();
  return vp_real()->lremovexattr(path, name);
}

int fremovexattr(int fd, const char* name) {
  if (vp_fd_ours(fd)) return NoXattr();
  return vp_real()->fremovexattr(fd, name);
}

/* ---- sync and size */

int fsync(int fd) {
  if (vp_fd_ours(fd)) return vp_fsync(fd);
  return vp_real()->fsync(fd);
}

int fdatasync(int fd) {
  if (vp_fd_ours(fd)) return vp_fsync(fd);
  return vp_real()->fdatasync(fd);
}

int ftruncate(int fd, off_t length) {
  if (vp_fd_ours(fd)) return vp_ftruncate(fd, length);
  return vp_real()->ftruncate(fd, length);
}

int ftruncate64(int fd, off_t length) {
  if (vp_fd_ours(fd)) return vp_ftruncate(fd, length);
  return vp_real()->ftruncate64(fd, length);
}

int truncate(const char* path, off_t length) {
  if (vp_path_ours(path)) return vp_truncate(path, length);
  return vp_real()->truncate(path, length);
}

int truncate64(const char* path, off_t length) {
  if (vp_path_ours(path)) return vp_truncate(path, length);
  return vp_real()->truncate64(path, length);
}

int fallocate(int fd, int mode, off_t offset, off_t length) {
  if (vp_fd_ours(fd)) return vp_fallocate(fd, mode, offset, length);
  return vp_real()->fallocate(fd, mode, offset, length);
}

int fallocate64(int fd, int mode, off_t offset, off_t length) {
  if (vp_fd_ours(fd)) return vp_fallocate(fd, mode, offset, length);
  return vp_real()->fallocate64(fd, mode, offset, length);
}

/* posix_fallocate returns the error instead of setting errno. */
int posix_fallocate(int fd, off_t offset, off_t length) {
  if (vp_fd_ours(fd)) return vp_fallocate(fd, 0, offset, length) == 0 ? 0 : errno;
  return vp_real()->posix_fallocate(fd, offset, length);
}

int posix_fallocate64(int fd, off_t offset, off_t length) {
  if (vp_fd_ours(fd)) return vp_fallocate(fd, 0, offset, length) == 0 ? 0 : errno;
  return vp_real()->posix_fallocate64(fd, offset, length);
}

/* Advice means nothing to the filer. */
int posix_fadvise(int fd, off_t offset, off_t length, int advice) {
  if (vp_fd_ours(fd)) return 0;
  return vp_real()->posix_fadvise(fd, offset, length, advice);
}

int posix_fadvise64(int fd, off_t offset, off_t length, int advice) {
  if (vp_fd_ours(fd)) return 0;
  return vp_real()->posix_fadvise64(fd, offset, length, advice);
}

/* ---- names */

int unlink(const char* path) {
  if (vp_path_ours(path)) return vp_unlink(path);
  return vp_real()->unlink(path);
}

int unlinkat(int dirfd, const char* path, int flags) {
  char* joined;
  const int ours = AtOurs(dirfd, path, &joined);
  if (ours < 0) return -1;
  if (ours) {
    const char* p = joined != NULL ? joined : path;
    const int r = (flags & AT_REMOVEDIR) ? vp_rmdir(p) : vp_unlink(p);
    FreeKeepErrno(joined);
    return r;
  }
  return vp_real()->unlinkat(dirfd, path, flags);
}

int mkdir(const char* path, mode_t mode) {
  if (vp_path_ours(path)) return vp_mkdir(path, mode);
  return vp_real()->mkdir(path, mode);
}

int mkdirat(int dirfd, const char* path, mode_t mode) {
  char* joined;
  const int ours = AtOurs(dirfd, path, &joined);
  if (ours < 0) return -1;
  if (ours) {
    const int r = vp_mkdir(joined != NULL ? joined : path, mode);
    FreeKeepErrno(joined);
    return r;
  }
  return vp_real()->mkdirat(dirfd, path, mode);
}

int rmdir(const char* path) {
  if (vp_path_ours(path)) return vp_rmdir(path);
  return vp_real()->rmdir(path);
}

/* A rename with one side ours: EXDEV when the other is not (mv then copies). */
static int RenameAt(int olddirfd, const char* from, int newdirfd, const char* to,
                    unsigned int flags, int* r) {
  char *jfrom, *jto;
  const int from_ours = AtOurs(olddirfd, from, &jfrom);
  const int to_ours = AtOurs(newdirfd, to, &jto);
  if (from_ours == 0 && to_ours == 0) return 0;
  if (from_ours < 0 || to_ours < 0) {
    *r = -1;
  } else if (from_ours == 0 || to_ours == 0) {
    errno = EXDEV;
    *r = -1;
  } else {
    *r = vp_rename(jfrom != NULL ? jfrom : from, jto != NULL ? jto : to, flags);
  }
  FreeKeepErrno(jfrom);
  FreeKeepErrno(jto);
  return 1;
}

int rename(const char* from, const char* to) {
  int r;
  if (RenameAt(AT_FDCWD, from, AT_FDCWD, to, 0, &r)) return r;
  return vp_real()->rename(from, to);
}

int renameat(int olddirfd, const char* from, int newdirfd, const char* to) {
  int r;
  if (RenameAt(olddirfd, from, newdirfd, to, 0, &r)) return r;
  return vp_real()->renameat(olddirfd, from, newdirfd, to);
}

int renameat2(int olddirfd, const char* from, int newdirfd, const char* to, unsigned int flags) {
  int r;
  if (RenameAt(olddirfd, from, newdirfd, to, flags, &r)) return r;
  return vp_real()->renameat2 ? vp_real()->renameat2(olddirfd, from, newdirfd, to, flags) : NoSys();
}

/* ---- directories */

DIR* opendir(const char* path) {
  if (vp_path_ours(path)) return vp_opendir(path);
  return vp_real()->opendir(path);
}

DIR* fdopendir(int fd) {
  if (vp_fd_ours(fd)) return vp_fdopendir(fd);
  return vp_real()->fdopendir(fd);
}

struct dirent* readdir(DIR* dir) {
  if (vp_dir_ours(dir)) return (struct dirent*)vp_readdir(dir);
  return vp_real()->readdir(dir);
}

struct dirent64* readdir64(DIR* dir) {
  if (vp_dir_ours(dir)) return vp_readdir(dir);
  return vp_real()->readdir64(dir);
}

int closedir(DIR* dir) {
  if (vp_dir_ours(dir)) return vp_closedir(dir);
  return vp_real()->closedir(dir);
}

void rewinddir(DIR* dir) {
  if (vp_dir_ours(dir)) {
    vp_rewinddir(dir);
    return;
  }
  vp_real()->rewinddir(dir);
}

int dirfd(DIR* dir) {
  if (vp_dir_ours(dir)) return vp_dirfd(dir);
  return vp_real()->dirfd(dir);
}

/* ---- descriptors */

static int Fcntl(int fd, int cmd, void* arg, int large) {
  if (vp_fd_ours(fd)) return vp_fcntl(fd, cmd, (long)arg);
  return large ? vp_real()->fcntl64(fd, cmd, arg) : vp_real()->fcntl(fd, cmd, arg);
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return Fcntl(fd, cmd, arg, 0);
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (vp_real()->fcntl64 == NULL) return vp_fd_ours(fd) ? vp_fcntl(fd, cmd, (long)arg) : NoSys();
  return Fcntl(fd, cmd, arg, 1);
}

int dup(int fd) {
  if (vp_fd_ours(fd)) return vp_dup(fd, 0, 0);
  return vp_real()->dup(fd);
}

int dup2(int oldfd, int newfd) {
  if (vp_fd_ours(oldfd)) return vp_dup_onto(oldfd, newfd, 0);
  const int r = vp_real()->dup2(oldfd, newfd);
  if (r >= 0 && oldfd != newfd && vp_fd_ours(newfd)) vp_forget(newfd);
  return r;
}

int dup3(int oldfd, int newfd, int flags) {
  if (vp_fd_ours(oldfd)) return vp_dup_onto(oldfd, newfd, flags);
  const int r = vp_real()->dup3(oldfd, newfd, flags);
  if (r >= 0 && vp_fd_ours(newfd)) vp_forget(newfd);
  return r;
}

/* In-kernel copies cannot reach the filer: EXDEV makes cp and cat copy with read and write. */
ssize_t copy_file_range(int fd_in, off_t* off_in, int fd_out, off_t* off_out, size_t len,
                        unsigned int flags) {
  if (vp_fd_ours(fd_in) || vp_fd_ours(fd_out)) {
    errno = EXDEV;
    return -1;
  }
  return vp_real()->copy_file_range(fd_in, off_in, fd_out, off_out, len, flags);
}

ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  if (vp_fd_ours(out_fd) || vp_fd_ours(in_fd)) {
    errno = EINVAL;
    return -1;
  }
  return vp_real()->sendfile(out_fd, in_fd, offset, count);
}

ssize_t splice(int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, size_t len,
               unsigned int flags) {
  if (vp_fd_ours(fd_in) || vp_fd_ours(fd_out)) {
    errno = EINVAL;
    return -1;
  }
  return vp_real()->splice(fd_in, off_in, fd_out, off_out, len, flags);
}

ssize_t sendfile64(int out_fd, int in_fd, off_t* offset, size_t count) {
  if (vp_fd_ours(out_fd) || vp_fd_ours(in_fd)) {
    errno = EINVAL;
    return -1;
  }
  return vp_real()->sendfile64(out_fd, in_fd, offset, count);
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (vp_fd_ours(fd)) {
    errno = ENOTTY;
    return -1;
  }
  return vp_real()->ioctl(fd, request, arg);
}

/* A vifiler file cannot be mapped (the placeholder behind its descriptor is /dev/null). */
void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (!(flags & MAP_ANONYMOUS) && vp_fd_ours(fd)) {
    errno = ENODEV;
    return MAP_FAILED;
  }
  return vp_real()->mmap(addr, length, prot, flags, fd, offset);
}

void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (!(flags & MAP_ANONYMOUS) && vp_fd_ours(fd)) {
    errno = ENODEV;
    return MAP_FAILED;
  }
  return vp_real()->mmap64(addr, length, prot, flags, fd, offset);
}

/* ---- stdio: the C library opens files internally, past open(), so fopen is its own case */

FILE* fopen(const char* path, const char* mode) {
  if (vp_path_ours(path)) return vp_fopen(path, mode);
  return vp_real()->fopen(path, mode);
}

FILE* fopen64(const char* path, const char* mode) {
  if (vp_path_ours(path)) return vp_fopen(path, mode);
  return vp_real()->fopen64(path, mode);
}

FILE* fdopen(int fd, const char* mode) {
  if (vp_fd_ours(fd)) return vp_fdopen(fd, mode);
  return vp_real()->fdopen(fd, mode);
}
