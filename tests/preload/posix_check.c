/* Copyright 2026 The vifiler Authors.
 *
 * POSIX behaviour through libvifiler_preload.so, run by preload_test with the library
 * preloaded: posix_check VIFILER_DIR LOCAL_DIR, where VIFILER_DIR is an empty directory under
 * VIFILER_MOUNT and LOCAL_DIR one on the local disk. Error codes, O_APPEND, lseek, a sparse
 * write at a large offset, truncation, rename, readdir, fcntl, dup, descriptor numbers against
 * real ones, a forked child reading through an inherited descriptor, threads, and an open file
 * unlinked. Prints each failed check and exits 1 if any failed.
 */

#define _GNU_SOURCE 1

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;
static const char* vdir;
static const char* ldir;

static void Check(int ok, const char* what, int line) {
  if (ok) return;
  fprintf(stderr, "posix_check.c:%d: failed: %s (errno %d: %s)\n", line, what, errno,
          strerror(errno));
  ++failures;
}
#define CHECK(cond) Check((cond) != 0, #cond, __LINE__)

/* The call failed with exactly this errno. */
static void CheckErrno(long rc, int want, const char* what, int line) {
  if (rc == -1 && errno == want) return;
  fprintf(stderr, "posix_check.c:%d: %s: want -1 with errno %d (%s), got %ld, errno %d (%s)\n",
          line, what, want, strerror(want), rc, errno, strerror(errno));
  ++failures;
}
#define CHECK_ERRNO(call, want) CheckErrno((long)(call), (want), #call, __LINE__)

static const char* V(const char* name) {
  static char buf[8][4096];
  static int next = 0;
  char* b = buf[next++ % 8];
  snprintf(b, sizeof(buf[0]), "%s/%s", vdir, name);
  return b;
}

static const char* L(const char* name) {
  static char buf[4][4096];
  static int next = 0;
  char* b = buf[next++ % 4];
  snprintf(b, sizeof(buf[0]), "%s/%s", ldir, name);
  return b;
}

static void WriteFile(const char* path, const char* content) {
  const int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
  CHECK(close(fd) == 0);
}

/* The whole file as a string (static buffer). */
static const char* ReadFile(const char* path) {
  static char buf[4096];
  memset(buf, 0, sizeof(buf));
  const int fd = open(path, O_RDONLY);
  if (fd < 0) return "(open failed)";
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  return n < 0 ? "(read failed)" : buf;
}

static void ErrorCodes(void) {
  CHECK(mkdir(V("d"), 0755) == 0);
  CHECK_ERRNO(mkdir(V("d"), 0755), EEXIST);
  WriteFile(V("d/f"), "hello");
  CHECK_ERRNO(rmdir(V("d")), ENOTEMPTY);
  CHECK_ERRNO(unlink(V("missing")), ENOENT);
  CHECK_ERRNO(rmdir(V("missing")), ENOENT);
  CHECK_ERRNO(mkdir(V("missing/x"), 0755), ENOENT);
  CHECK_ERRNO(open(V("missing"), O_RDONLY), ENOENT);
  CHECK_ERRNO(open(V("missing/x"), O_CREAT | O_WRONLY, 0644), ENOENT);
  struct stat st;
  CHECK_ERRNO(stat(V("missing"), &st), ENOENT);
  CHECK_ERRNO(access(V("missing"), F_OK), ENOENT);
  CHECK_ERRNO(open(V("d"), O_WRONLY), EISDIR);
  CHECK_ERRNO(open(V("d"), O_RDWR | O_CREAT, 0644), EISDIR);
  CHECK_ERRNO(unlink(V("d")), EISDIR);
  CHECK_ERRNO(rmdir(V("d/f")), ENOTDIR);
  CHECK_ERRNO(open(V("d/f/x"), O_RDONLY), ENOTDIR);
  CHECK_ERRNO(open(V("d/f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
  CHECK_ERRNO(open(V("d/f"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
  CHECK(access(V("d/f"), R_OK | W_OK) == 0);

  /* Access modes: EBADF both ways; reads of a directory are EISDIR. */
  int fd = open(V("d/f"), O_RDONLY);
  CHECK(fd >= 0);
  CHECK_ERRNO(write(fd, "x", 1), EBADF);
  CHECK_ERRNO(pwrite(fd, "x", 1, 0), EBADF);
  CHECK_ERRNO(ftruncate(fd, 0), EINVAL);
  CHECK(close(fd) == 0);
  CHECK_ERRNO(read(fd, &st, 1), EBADF);
  CHECK_ERRNO(close(fd), EBADF);
  fd = open(V("d/f"), O_WRONLY);
  CHECK(fd >= 0);
  char c;
  CHECK_ERRNO(read(fd, &c, 1), EBADF);
  CHECK(close(fd) == 0);
  fd = open(V("d"), O_RDONLY | O_DIRECTORY);
  CHECK(fd >= 0);
  CHECK_ERRNO(read(fd, &c, 1), EISDIR);
  CHECK(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(close(fd) == 0);
  CHECK(stat(V("d/f"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5);
  CHECK(lstat(V("d"), &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(stat(vdir, &st) == 0 && S_ISDIR(st.st_mode));
}

/* Modes of new files and directories follow the umask of the moment. */
static void Umask(void) {
  const mode_t old = umask(027);
  const int fd = open(V("masked"), O_CREAT | O_WRONLY, 0666);
  CHECK(fd >= 0 && close(fd) == 0);
  CHECK(mkdir(V("masked_dir"), 0777) == 0);
  struct stat st;
  CHECK(stat(V("masked"), &st) == 0 && (st.st_mode & 0777) == 0640);
  CHECK(stat(V("masked_dir"), &st) == 0 && (st.st_mode & 0777) == 0750);
  CHECK(chmod(V("masked"), 0604) == 0);
  CHECK(stat(V("masked"), &st) == 0 && (st.st_mode & 0777) == 0604);
  umask(old);
  CHECK(unlink(V("masked")) == 0 && rmdir(V("masked_dir")) == 0);
}

static void AppendSeekSparse(void) {
  int fd = open(V("d/f"), O_WRONLY | O_APPEND);
  CHECK(fd >= 0);
  CHECK(write(fd, "+more", 5) == 5);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  CHECK(write(fd, "!", 1) == 1); /* at the end all the same */
  CHECK((fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND)) == (O_WRONLY | O_APPEND));
  CHECK(close(fd) == 0);
  CHECK(strcmp(ReadFile(V("d/f")), "hello+more!") == 0);

  fd = open(V("d/f"), O_RDWR);
  CHECK(fd >= 0);
  CHECK(lseek(fd, 0, SEEK_END) == 11);
  CHECK(lseek(fd, -5, SEEK_END) == 6);
  char buf[16] = {0};
  CHECK(read(fd, buf, sizeof(buf)) == 5 && memcmp(buf, "more!", 5) == 0);
  CHECK(read(fd, buf, sizeof(buf)) == 0);
  CHECK(lseek(fd, -1, SEEK_CUR) == 10);
  CHECK_ERRNO(lseek(fd, -100, SEEK_SET), EINVAL);
  /* A write beyond the end at a large offset (past 4 GiB): the hole reads as zeros. */
  const off_t far = 5LL << 30;
  CHECK(pwrite(fd, "end", 3, far) == 3);
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == far + 3);
  memset(buf, 1, sizeof(buf));
  CHECK(pread(fd, buf, 8, 1 << 20) == 8);
  CHECK(memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0);
  CHECK(pread(fd, buf, 16, far) == 3 && memcmp(buf, "end", 3) == 0);
  CHECK(lseek(fd, far, SEEK_SET) == far);
  CHECK(write(fd, "END", 3) == 3);
  CHECK(pread(fd, buf, 3, far) == 3 && memcmp(buf, "END", 3) == 0);
  CHECK(ftruncate(fd, 5) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
  CHECK(fsync(fd) == 0 && fdatasync(fd) == 0);
  CHECK(close(fd) == 0);
  CHECK(strcmp(ReadFile(V("d/f")), "hello") == 0);
  /* O_TRUNC empties; creat too. */
  fd = open(V("d/f"), O_WRONLY | O_TRUNC);
  CHECK(fd >= 0 && close(fd) == 0);
  CHECK(stat(V("d/f"), &st) == 0 && st.st_size == 0);
  WriteFile(V("d/f"), "hello");
}

static void RenameAndList(void) {
  CHECK(rename(V("d/f"), V("d/g")) == 0);
  struct stat st;
  CHECK_ERRNO(stat(V("d/f"), &st), ENOENT);
  CHECK(strcmp(ReadFile(V("d/g")), "hello") == 0);
  WriteFile(L("local"), "local");
  CHECK_ERRNO(rename(V("d/g"), L("moved")), EXDEV);
  CHECK_ERRNO(rename(L("local"), V("moved")), EXDEV);
  CHECK(mkdir(V("e"), 0755) == 0);
  CHECK_ERRNO(rename(V("e"), V("d")), ENOTEMPTY);
  CHECK_ERRNO(rename(V("d/g"), V("e")), EISDIR);
  CHECK_ERRNO(renameat2(AT_FDCWD, V("e"), AT_FDCWD, V("d"), RENAME_NOREPLACE), EEXIST);
  CHECK(rmdir(V("e")) == 0);

  WriteFile(V("d/a"), "a");
  WriteFile(V("d/b"), "b");
  DIR* dir = opendir(V("d"));
  CHECK(dir != NULL);
  if (dir == NULL) return;
  int seen = 0, dots = 0;
  struct dirent* e;
  while ((e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, "a") == 0 || strcmp(e->d_name, "b") == 0 || strcmp(e->d_name, "g") == 0) {
      CHECK(e->d_type == DT_REG);
      ++seen;
    } else if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      ++dots;
    } else {
      fprintf(stderr, "unexpected entry %s\n", e->d_name);
      ++failures;
    }
  }
  CHECK(seen == 3 && dots == 2);
  CHECK(fstat(dirfd(dir), &st) == 0 && S_ISDIR(st.st_mode));
  /* A name relative to the directory's descriptor. */
  const int fd = openat(dirfd(dir), "a", O_RDONLY);
  char c = 0;
  CHECK(fd >= 0 && read(fd, &c, 1) == 1 && c == 'a' && close(fd) == 0);
  CHECK(closedir(dir) == 0);
  CHECK(unlink(V("d/a")) == 0 && unlink(V("d/b")) == 0);
}

/* Our descriptors are real numbers the kernel will not hand out again. */
static void DescriptorsAndDup(void) {
  const int vfd = open(V("d/g"), O_RDWR);
  CHECK(vfd >= 0);
  const int lfd = open(L("real"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(lfd >= 0 && lfd != vfd);
  const int lfd2 = dup(lfd);
  CHECK(lfd2 >= 0 && lfd2 != vfd);
  CHECK(pwrite(vfd, "H", 1, 0) == 1);
  CHECK(write(lfd, "local bytes", 11) == 11);
  CHECK(strcmp(ReadFile(V("d/g")), "Hello") == 0);
  CHECK(strcmp(ReadFile(L("real")), "local bytes") == 0);
  CHECK(fcntl(vfd, F_GETFD) == 0);
  CHECK(fcntl(vfd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(vfd, F_GETFD) == FD_CLOEXEC);
  CHECK((fcntl(vfd, F_GETFL) & O_ACCMODE) == O_RDWR);
  /* dup shares the offset, as with the kernel's descriptors. */
  const int vfd2 = dup(vfd);
  CHECK(vfd2 >= 0 && vfd2 != vfd && vfd2 != lfd && vfd2 != lfd2);
  char buf[8] = {0};
  CHECK(lseek(vfd, 1, SEEK_SET) == 1);
  CHECK(read(vfd2, buf, 2) == 2 && memcmp(buf, "el", 2) == 0);
  CHECK(lseek(vfd, 0, SEEK_CUR) == 3);
  /* dup2 onto a low number, then a real descriptor dup2'ed over it. */
  CHECK(dup2(vfd, 100) == 100);
  CHECK(pread(100, buf, 5, 0) == 5 && memcmp(buf, "Hello", 5) == 0);
  CHECK(dup2(lfd, 100) == 100);
  CHECK(pread(100, buf, 5, 0) == 5 && memcmp(buf, "local", 5) == 0);
  CHECK(close(100) == 0);
  CHECK(close(vfd2) == 0 && close(vfd) == 0 && close(lfd) == 0 && close(lfd2) == 0);
}

static void ForkedChildReads(void) {
  const int fd = open(V("d/g"), O_RDONLY);
  CHECK(fd >= 0);
  CHECK(lseek(fd, 1, SEEK_SET) == 1);
  const pid_t pid = fork();
  if (pid == 0) {
    char buf[8] = {0};
    /* The child connects anew and keeps the offset it inherited. */
    const int ok = read(fd, buf, 4) == 4 && memcmp(buf, "ello", 4) == 0;
    const int wfd = open(V("from_child"), O_CREAT | O_WRONLY, 0644);
    const int wrote = wfd >= 0 && write(wfd, "child", 5) == 5 && close(wfd) == 0;
    _exit(ok && wrote ? 0 : 1);
  }
  CHECK(pid > 0);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char buf[8] = {0};
  CHECK(read(fd, buf, 2) == 2 && memcmp(buf, "el", 2) == 0);
  CHECK(close(fd) == 0);
  CHECK(strcmp(ReadFile(V("from_child")), "child") == 0);
}

static void* ThreadWork(void* arg) {
  const long i = (long)arg;
  char name[32], want[64], got[64] = {0};
  snprintf(name, sizeof(name), "t%ld", i);
  snprintf(want, sizeof(want), "thread %ld wrote this", i);
  for (int round = 0; round < 20; ++round) {
    const int fd = open(V(name), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) return (void*)1;
    if (write(fd, want, strlen(want)) != (ssize_t)strlen(want)) return (void*)1;
    if (pread(fd, got, sizeof(got), 0) != (ssize_t)strlen(want)) return (void*)1;
    if (memcmp(got, want, strlen(want)) != 0) return (void*)1;
    if (close(fd) != 0) return (void*)1;
  }
  return NULL;
}

static void Threads(void) {
  pthread_t t[4];
  for (long i = 0; i < 4; ++i) CHECK(pthread_create(&t[i], NULL, ThreadWork, (void*)i) == 0);
  for (int i = 0; i < 4; ++i) {
    void* r = NULL;
    CHECK(pthread_join(t[i], &r) == 0);
    CHECK(r == NULL);
  }
}

/* The protocol removes an unlinked file at once (no open-file reference on the filer): a
 * descriptor still open on it then fails with ESTALE. Documented in README.md. */
static void UnlinkOpenFile(void) {
  WriteFile(V("doomed"), "bytes");
  const int fd = open(V("doomed"), O_RDONLY);
  CHECK(fd >= 0);
  CHECK(unlink(V("doomed")) == 0);
  struct stat st;
  CHECK_ERRNO(stat(V("doomed"), &st), ENOENT);
  char buf[8];
  CHECK_ERRNO(read(fd, buf, sizeof(buf)), ESTALE);
  CHECK(close(fd) == 0);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: posix_check VIFILER_DIR LOCAL_DIR\n");
    return 2;
  }
  vdir = argv[1];
  ldir = argv[2];
  ErrorCodes();
  Umask();
  AppendSeekSparse();
  RenameAndList();
  DescriptorsAndDup();
  ForkedChildReads();
  Threads();
  UnlinkOpenFile();
  if (failures != 0) {
    fprintf(stderr, "posix_check: %d checks failed\n", failures);
    return 1;
  }
  printf("posix_check: all passed\n");
  return 0;
}
