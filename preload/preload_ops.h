/* Copyright 2026 The vifiler Authors.
 *
 * The POSIX calls of libvifiler_preload.so on vifiler's paths and descriptors, in terms of the
 * client library (C linkage: interpose.c, which owns the C library's symbol names, calls them).
 *
 * Contract: vp_path_ours/vp_fd_ours/vp_dir_ours say whether a call is vifiler's; they are cheap
 * (no lock for a descriptor, a string comparison for a path) and say no on a thread that is
 * inside the client library, so its own C library calls pass through. Every other function
 * behaves as its C library namesake does (return value, errno) and is called only for what the
 * vp_*_ours functions claimed; none holds a lock across a call to the filer. Descriptors
 * are real placeholder descriptors (see fd_table.h), DIR pointers are this library's own.
 */

#ifndef VIFILER_PRELOAD_PRELOAD_OPS_H_
#define VIFILER_PRELOAD_PRELOAD_OPS_H_

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

int vp_path_ours(const char* path);
/* Whether a path is under the prefix, regardless of the calling thread (rename's EXDEV). */
int vp_path_under_prefix(const char* path);
int vp_fd_ours(int fd);
int vp_dir_ours(DIR* dir);
/* For an *at call relative to a directory descriptor of ours: the absolute path (under the
 * prefix) of `relative` from that directory as it was named when opened, allocated with malloc;
 * null with errno ENOTDIR when dirfd is not a directory. */
char* vp_at_path(int dirfd, const char* relative);

int vp_open(const char* path, int flags, mode_t mode);
int vp_close(int fd);
ssize_t vp_read(int fd, void* buf, size_t count);
ssize_t vp_write(int fd, const void* buf, size_t count);
ssize_t vp_pread(int fd, void* buf, size_t count, off_t offset);
ssize_t vp_pwrite(int fd, const void* buf, size_t count, off_t offset);
off_t vp_lseek(int fd, off_t offset, int whence);
int vp_stat(const char* path, struct stat* st);
int vp_fstat(int fd, struct stat* st);
int vp_fsync(int fd);
int vp_ftruncate(int fd, off_t length);
int vp_truncate(const char* path, off_t length);
int vp_fallocate(int fd, int mode, off_t offset, off_t length);
int vp_unlink(const char* path);
int vp_mkdir(const char* path, mode_t mode);
int vp_rmdir(const char* path);
int vp_rename(const char* from, const char* to, unsigned int flags);
int vp_access(const char* path, int mode);
int vp_chmod(const char* path, mode_t mode);
int vp_fchmod(int fd, mode_t mode);
/* utimensat/futimens: path when not null, else fd; times as utimensat takes them. */
int vp_set_times(const char* path, int fd, const struct timespec* times);
/* chown and its kin: the filer has no owners (issue 11): only the caller's own ids, or -1,
 * succeed (nothing to change); others are EPERM. path when not null, else fd. */
int vp_chown(const char* path, int fd, uid_t uid, gid_t gid);
int vp_fcntl(int fd, int cmd, long arg);
int vp_dup(int fd, int min_fd, int cloexec);
int vp_dup_onto(int oldfd, int newfd, int flags);
/* umask() changed the process's mask to `mask`. */
void vp_note_umask(mode_t mask);
/* A real call replaced newfd, which was ours: forget it. */
void vp_forget(int fd);

DIR* vp_opendir(const char* path);
DIR* vp_fdopendir(int fd);
struct dirent64* vp_readdir(DIR* dir);
int vp_closedir(DIR* dir);
void vp_rewinddir(DIR* dir);
int vp_dirfd(DIR* dir);

FILE* vp_fopen(const char* path, const char* mode);
FILE* vp_fdopen(int fd, const char* mode);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif /* VIFILER_PRELOAD_PRELOAD_OPS_H_ */
