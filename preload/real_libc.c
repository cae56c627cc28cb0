/* Copyright 2026 The vifiler Authors. */

#define _GNU_SOURCE 1
#include "preload/real_libc.h"

#include <dlfcn.h>
#include <pthread.h>

static vp_real_libc real_libc;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/* dlsym returns an object pointer; it is stored into the function pointer field as one. */
#define VP_RESOLVE(field, name) *(void**)(&real_libc.field) = dlsym(RTLD_NEXT, name)

static void Resolve(void) {
  VP_RESOLVE(open, "open");
  VP_RESOLVE(open64, "open64");
  VP_RESOLVE(openat, "openat");
  VP_RESOLVE(openat64, "openat64");
  VP_RESOLVE(creat, "creat");
  VP_RESOLVE(creat64, "creat64");
  VP_RESOLVE(close, "close");
  VP_RESOLVE(read, "read");
  VP_RESOLVE(write, "write");
  VP_RESOLVE(pread, "pread");
  VP_RESOLVE(pread64, "pread64");
  VP_RESOLVE(pwrite, "pwrite");
  VP_RESOLVE(pwrite64, "pwrite64");
  VP_RESOLVE(lseek, "lseek");
  VP_RESOLVE(lseek64, "lseek64");
  VP_RESOLVE(stat, "stat");
  VP_RESOLVE(stat64, "stat64");
  VP_RESOLVE(lstat, "lstat");
  VP_RESOLVE(lstat64, "lstat64");
  VP_RESOLVE(fstat, "fstat");
  VP_RESOLVE(fstat64, "fstat64");
  VP_RESOLVE(fstatat, "fstatat");
  VP_RESOLVE(fstatat64, "fstatat64");
  VP_RESOLVE(xstat, "__xstat");
  VP_RESOLVE(xstat64, "__xstat64");
  VP_RESOLVE(lxstat, "__lxstat");
  VP_RESOLVE(lxstat64, "__lxstat64");
  VP_RESOLVE(fxstat, "__fxstat");
  VP_RESOLVE(fxstat64, "__fxstat64");
  VP_RESOLVE(fxstatat, "__fxstatat");
  VP_RESOLVE(fxstatat64, "__fxstatat64");
  VP_RESOLVE(statx, "statx");
  VP_RESOLVE(fsync, "fsync");
  VP_RESOLVE(fdatasync, "fdatasync");
  VP_RESOLVE(ftruncate, "ftruncate");
  VP_RESOLVE(ftruncate64, "ftruncate64");
  VP_RESOLVE(truncate, "truncate");
  VP_RESOLVE(truncate64, "truncate64");
  VP_RESOLVE(unlink, "unlink");
  VP_RESOLVE(unlinkat, "unlinkat");
  VP_RESOLVE(mkdir, "mkdir");
  VP_RESOLVE(mkdirat, "mkdirat");
  VP_RESOLVE(rmdir, "rmdir");
  VP_RESOLVE(rename, "rename");
  VP_RESOLVE(renameat, "renameat");
  VP_RESOLVE(renameat2, "renameat2");
  VP_RESOLVE(access, "access");
  VP_RESOLVE(faccessat, "faccessat");
  VP_RESOLVE(chmod, "chmod");
  VP_RESOLVE(fchmod, "fchmod");
  VP_RESOLVE(fchmodat, "fchmodat");
  VP_RESOLVE(umask, "umask");
  VP_RESOLVE(chown, "chown");
  VP_RESOLVE(lchown, "lchown");
  VP_RESOLVE(fchown, "fchown");
  VP_RESOLVE(fchownat, "fchownat");
  VP_RESOLVE(utimensat, "utimensat");
  VP_RESOLVE(futimens, "futimens");
  VP_RESOLVE(setxattr, "setxattr");
  VP_RESOLVE(lsetxattr, "lsetxattr");
  VP_RESOLVE(fsetxattr, "fsetxattr");
  VP_RESOLVE(getxattr, "getxattr");
  VP_RESOLVE(lgetxattr, "lgetxattr");
  VP_RESOLVE(fgetxattr, "fgetxattr");
  VP_RESOLVE(listxattr, "listxattr");
  VP_RESOLVE(llistxattr, "llistxattr");
  VP_RESOLVE(flistxattr, "flistxattr");
  VP_RESOLVE(removexattr, "removexattr");
  VP_RESOLVE(lremovexattr, "lremovexattr");
  VP_RESOLVE(fremovexattr, "fremovexattr");
  VP_RESOLVE(opendir, "opendir");
  VP_RESOLVE(fdopendir, "fdopendir");
  VP_RESOLVE(readdir, "readdir");
  VP_RESOLVE(readdir64, "readdir64");
  VP_RESOLVE(closedir, "closedir");
  VP_RESOLVE(rewinddir, "rewinddir");
  VP_RESOLVE(dirfd, "dirfd");
  VP_RESOLVE(fcntl, "fcntl");
  VP_RESOLVE(fcntl64, "fcntl64");
  VP_RESOLVE(dup, "dup");
  VP_RESOLVE(dup2, "dup2");
  VP_RESOLVE(dup3, "dup3");
  VP_RESOLVE(copy_file_range, "copy_file_range");
  VP_RESOLVE(sendfile, "sendfile");
  VP_RESOLVE(splice, "splice");
  VP_RESOLVE(sendfile64, "sendfile64");
  VP_RESOLVE(fallocate, "fallocate");
  VP_RESOLVE(fallocate64, "fallocate64");
  VP_RESOLVE(readv, "readv");
  VP_RESOLVE(writev, "writev");
  VP_RESOLVE(preadv, "preadv");
  VP_RESOLVE(preadv64, "preadv64");
  VP_RESOLVE(pwritev, "pwritev");
  VP_RESOLVE(pwritev64, "pwritev64");
  VP_RESOLVE(posix_fadvise, "posix_fadvise");
  VP_RESOLVE(posix_fadvise64, "posix_fadvise64");
  VP_RESOLVE(posix_fallocate, "posix_fallocate");
  VP_RESOLVE(posix_fallocate64, "posix_fallocate64");
  VP_RESOLVE(ioctl, "ioctl");
  VP_RESOLVE(fopen, "fopen");
  VP_RESOLVE(fopen64, "fopen64");
  VP_RESOLVE(fdopen, "fdopen");
  VP_RESOLVE(mmap, "mmap");
  VP_RESOLVE(mmap64, "mmap64");
}

const vp_real_libc* vp_real(void) {
  pthread_once(&real_once, Resolve);
  return &real_libc;
}
