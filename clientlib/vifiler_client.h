/* Copyright 2026 The vifiler Authors.
 *
 * vifiler client library, C API. Connects to a filer by name and performs file operations;
 * rides through the loss of the filer by failing over to its partner (see the C++ API in
 * clientlib/client.h for the full contract). Every function returns 0 on success or a
 * negative VIFILER_E* value; vifiler_last_error() describes the last failure of the calling
 * thread. A vifiler_t may be used from many threads at once. The library writes nothing to
 * stderr (or anywhere else) unless vifiler_set_log() asks it to.
 *
 * Installed as <prefix>/include/vifiler/vifiler_client.h; build with
 *   cc app.c $(pkg-config --cflags --libs vifiler-client)
 * and #include "vifiler_client.h" (or <vifiler/vifiler_client.h> under a standard prefix).
 */
#ifndef VIFILER_CLIENT_H_
#define VIFILER_CLIENT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vifiler_session vifiler_t;

/* Error codes: the negated protocol error codes, plus VIFILER_EUNAVAILABLE when no filer could
 * be reached within the failover deadline, VIFILER_ETIMEDOUT when a call ended at the
 * deadline vifiler_set_call_timeout() gave it, and VIFILER_EINVAL for bad arguments. */
enum {
  VIFILER_OK = 0,
  VIFILER_ENOENT = -1,
  VIFILER_EEXIST = -2,
  VIFILER_ENOTDIR = -3,
  VIFILER_EISDIR = -4,
  VIFILER_ENOTEMPTY = -5,
  VIFILER_EACCES = -6,
  VIFILER_EINVAL = -7,
  VIFILER_ESTALE = -8,
  VIFILER_EUNAVAILABLE = -100,
  VIFILER_EOTHER = -101,
  VIFILER_ETIMEDOUT = -102,
  VIFILER_EROFS = -103 /* the volume is exported read-only to this host */
};

typedef struct vifiler_options {
  const char* fabric;               /* "auto" (default), "rdma" or "tcp" */
  const char* hosts_file;           /* NULL: system resolver */
  uint16_t primary_discriminator;   /* 0: 7300 */
  uint16_t secondary_discriminator; /* 0: 7301 */
  const char* failover_suffix;      /* NULL: "-failover" */
  uint32_t failover_deadline_ms;    /* 0: 30000 */
  uint32_t request_timeout_ms;      /* 0: 5000 */
} vifiler_options_t;

typedef struct vifiler_stat {
  uint64_t file_id;
  uint64_t size;
  uint32_t mode;
  uint32_t type; /* 1 regular, 2 directory, 3 symlink */
  int64_t mtime_ns;
} vifiler_stat_t;

typedef struct vifiler_stats {
  uint64_t failovers;
  uint64_t failbacks;
  uint64_t replays;
  uint64_t failover_time_us;
  int on_partner;
} vifiler_stats_t;

/* A file opened with vifiler_open/vifiler_create: its persistent handle. */
typedef struct vifiler_file {
  uint64_t volume_id, file_id, generation;
} vifiler_file_t;

/* The library's version, "MAJOR.MINOR.PATCH". */
const char* vifiler_version(void);

/* Levels of library messages; VIFILER_LOG_OFF is a threshold only. */
enum {
  VIFILER_LOG_DEBUG = 0,
  VIFILER_LOG_INFO = 1,
  VIFILER_LOG_WARNING = 2,
  VIFILER_LOG_ERROR = 3,
  VIFILER_LOG_OFF = 4
};

/* Receives one library message (one line, no newline; valid only during the call). */
typedef void (*vifiler_log_fn)(int level, const char* message, void* arg);

/* Where the library's messages go, process-wide (every vifiler_t). By default nowhere: the
 * library never writes to stderr unless asked. After this call, messages at `level` and above
 * go to fn(level, message, arg), called from library threads, possibly several at once (fn must
 * not call into the library); with fn NULL they are written to stderr as
 * "vifiler LEVEL: message" lines. VIFILER_LOG_OFF silences the library again. May be called at
 * any time, from any thread. */
void vifiler_set_log(int level, vifiler_log_fn fn, void* arg);

/* A deadline for each call the calling thread makes from now on, on any vifiler_t (connect
 * included): a call still waiting timeout_ms after it started returns VIFILER_ETIMEDOUT (a
 * write or other change may or may not have been applied then; never twice). 0 (the default):
 * no deadline, a call fails only when no filer could be reached within the failover deadline.
 * A large read or write already sent is still waited for up to the request timeout: the filer
 * may use the buffer until it answers. Per thread; may be changed between calls. */
void vifiler_set_call_timeout(uint32_t timeout_ms);

void vifiler_options_init(vifiler_options_t* options);
/* options may be NULL. */
int vifiler_connect(const char* filer_name, const vifiler_options_t* options, vifiler_t** out);
void vifiler_disconnect(vifiler_t* v);

int vifiler_create(vifiler_t* v, const char* path, uint32_t mode, vifiler_file_t* file);
int vifiler_open(vifiler_t* v, const char* path, vifiler_file_t* file);
/* Returns the number of bytes read or written (>= 0), or a negative error. */
int64_t vifiler_read(vifiler_t* v, const vifiler_file_t* file, uint64_t offset, void* buf,
                     size_t length);
int64_t vifiler_write(vifiler_t* v, const vifiler_file_t* file, uint64_t offset, const void* buf,
                      size_t length);
int vifiler_fsync(vifiler_t* v, const vifiler_file_t* file);
int vifiler_stat(vifiler_t* v, const char* path, vifiler_stat_t* st);
int vifiler_mkdir(vifiler_t* v, const char* path, uint32_t mode);
int vifiler_remove(vifiler_t* v, const char* path);
int vifiler_rename(vifiler_t* v, const char* from, const char* to);
/* Calls fn once per entry of the directory; stops early when fn returns non-zero. */
int vifiler_list(vifiler_t* v, const char* path,
                 int (*fn)(const char* name, uint32_t type, void* arg), void* arg);
int vifiler_get_stats(vifiler_t* v, vifiler_stats_t* stats);
const char* vifiler_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* VIFILER_CLIENT_H_ */
