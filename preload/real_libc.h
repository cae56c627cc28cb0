/* Copyright 2026 The vifiler Authors.
 *
 * The C library's own functions behind the ones libvifiler_preload.so intercepts, found with
 * dlsym(RTLD_NEXT, ...) once, on first use (thread-safe). A function this C library lacks is
 * null; a wrapper that needs it then fails with ENOSYS.
 */

#ifndef VIFILER_PRELOAD_REAL_LIBC_H_
#define VIFILER_PRELOAD_REAL_LIBC_H_

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct statx;
struct iovec;
struct timespec;

typedef struct vp_real_libc {
  int (*open)(const char*, int, ...);
  int (*open64)(const char*, int, ...);
  int (*openat)(int, const char*, int, ...);
  int (*openat64)(int, const char*, int, ...);
  int (*creat)(const char*, mode_t);
  int (*creat64)(const char*, mode_t);
  int (*close)(int);
  ssize_t (*read)(int, void*, size_t);
  ssize_t (*write)(int, const void*, size_t);
  ssize_t (*pread)(int, void*, size_t, off_t);
  ssize_t (*pread64)(int, void*, size_t, off_t);
  ssize_t (*pwrite)(int, const void*, size_t, off_t);
  ssize_t (*pwrite64)(int, const void*, size_t, off_t);
  off_t (*lseek)(int, off_t, int);
  off_t (*lseek64)(int, off_t, int);
  int (*stat)(const char*, struct stat*);
  int (*stat64)(const char*, struct stat*);
  int (*lstat)(const char*, struct stat*);
  int (*lstat64)(const char*, struct stat*);
  int (*fstat)(int, struct stat*);
  int (*fstat64)(int, struct stat*);
  int (*fstatat)(int, const char*, struct stat*, int);
  int (*fstatat64)(int, const char*, struct stat*, int);
  int (*xstat)(int, const char*, struct stat*);
  int (*xstat64)(int, const char*, struct stat*);
  int (*lxstat)(int, const char*, struct stat*);
  int (*lxstat64)(int, const char*, struct stat*);
  int (*fxstat)(int, int, struct stat*);
  int (*fxstat64)(int, int, struct stat*);
  int (*fxstatat)(int, int, const char*, struct stat*, int);
  int (*fxstatat64)(int, int, const char*, struct stat*, int);
  int (*statx)(int, const char*, int, unsigned int, struct statx*);
  int (*fsync)(int);
  int (*fdatasync)(int);
  int (*ftruncate)(int, off_t);
  int (*ftruncate64)(int, off_t);
  int (*truncate)(const char*, off_t);
  int (*truncate64)(const char*, off_t);
  int (*unlink)(const char*);
  int (*unlinkat)(int, const char*, int);
  int (*mkdir)(const char*, mode_t);
  int (*mkdirat)(int, const char*, mode_t);
  int (*rmdir)(const char*);
  int (*rename)(const char*, const char*);
  int (*renameat)(int, const char*, int, const char*);
  int (*renameat2)(int, const char*, int, const char*, unsigned int);
  int (*access)(const char*, int);
  int (*faccessat)(int, const char*, int, int);
  int (*chmod)(const char*, mode_t);
  int (*fchmod)(int, mode_t);
  int (*fchmodat)(int, const char*, mode_t, int);
  mode_t (*umask)(mode_t);
  int (*chown)(const char*, uid_t, gid_t);
  int (*lchown)(const char*, uid_t, gid_t);
  int (*fchown)(int, uid_t, gid_t);
  int (*fchownat)(int, const char*, uid_t, gid_t, int);
  int (*utimensat)(int, const char*, const struct timespec*, int);
  int (*futimens)(int, const struct timespec*);
  int (*setxattr)(const char*, const char*, const void*, size_t, int);
  int (*lsetxattr)(const char*, const char*, const void*, size_t, int);
  int (*fsetxattr)(int, const char*, const void*, size_t, int);
  ssize_t (*getxattr)(const char*, const char*, void*, size_t);
  ssize_t (*lgetxattr)(const char*, const char*, void*, size_t);
  ssize_t (*fgetxattr)(int, const char*, void*, size_t);
  ssize_t (*listxattr)(const char*, char*, size_t);
  ssize_t (*llistxattr)(const char*, char*, size_t);
  ssize_t (*flistxattr)(int, char*, size_t);
  int (*removexattr)(const char*, const char*);
  int (*lremovexattr)(const char*, const char*);
  int (*fremovexattr)(int, const char*);
  DIR* (*opendir)(const char*);
  DIR* (*fdopendir)(int);
  struct dirent* (*readdir)(DIR*);
  struct dirent64* (*readdir64)(DIR*);
  int (*closedir)(DIR*);
  void (*rewinddir)(DIR*);
  int (*dirfd)(DIR*);
  int (*fcntl)(int, int, ...);
  int (*fcntl64)(int, int, ...);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  ssize_t (*copy_file_range)(int, off_t*, int, off_t*, size_t, unsigned int);
  ssize_t (*sendfile)(int, int, off_t*, size_t);
  ssize_t (*splice)(int, loff_t*, int, loff_t*, size_t, unsigned int);
  ssize_t (*sendfile64)(int, int, off_t*, size_t);
  int (*fallocate)(int, int, off_t, off_t);
  int (*fallocate64)(int, int, off_t, off_t);
  ssize_t (*readv)(int, const struct iovec*, int);
  ssize_t (*writev)(int, const struct iovec*, int);
  ssize_t (*preadv)(int, const struct iovec*, int, off_t);
  ssize_t (*preadv64)(int, const struct iovec*, int, off_t);
  ssize_t (*pwritev)(int, const struct iovec*, int, off_t);
  ssize_t (*pwritev64)(int, const struct iovec*, int, off_t);
  int (*posix_fadvise)(int, off_t, off_t, int);
  int (*posix_fadvise64)(int, off_t, off_t, int);
  int (*posix_fallocate)(int, off_t, off_t);
  int (*posix_fallocate64)(int, off_t, off_t);
  int (*ioctl)(int, unsigned long, ...);
  FILE* (*fopen)(const char*, const char*);
  FILE* (*fopen64)(const char*, const char*);
  FILE* (*fdopen)(int, const char*);
  void* (*mmap)(void*, size_t, int, int, int, off_t);
  void* (*mmap64)(void*, size_t, int, int, int, off_t);
} vp_real_libc;

const vp_real_libc* vp_real(void);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif /* VIFILER_PRELOAD_REAL_LIBC_H_ */
