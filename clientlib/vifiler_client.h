/* Copyright 2026 The vifiler Authors.
 *
 * vifiler client library, C API. Connects to a filer by name and performs file operations;
 * rides through the loss of the filer by failing over to its partner (see the C++ API in
 * clientlib/client.h for the full contract). Every function returns 0 on success or a
 * negative VIFILER_E* value; vifiler_last_error() describes the last failure of the calling
 * thread. A vifiler_t may be used from many threads at once.
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
 * be reached within the failover deadline and VIFILER_EINVAL for bad arguments. */
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
  VIFILER_EOTHER = -101
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
