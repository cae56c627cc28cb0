/* Copyright 2026 The vifiler Authors.
 *
 * A C program using the vifiler C API: writes and reads back checksummed records for a while
 * against filer-a; the test kills filer-a meanwhile. Exits 0 only if no call failed, every
 * record read back intact, and the library reports a failover.
 *
 * usage: c_failover HOSTS_FILE FABRIC MILLISECONDS
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clientlib/vifiler_client.h"

static void fill(char* buf, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = (char)(x & 0xff);
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s HOSTS_FILE FABRIC MILLISECONDS\n", argv[0]);
    return 2;
  }
  vifiler_options_t options;
  vifiler_options_init(&options);
  options.hosts_file = argv[1];
  options.fabric = argv[2];
  options.request_timeout_ms = 3000;
  options.failover_deadline_ms = 20000;
  vifiler_t* v = NULL;
  if (vifiler_connect("filer-a", &options, &v) != VIFILER_OK) {
    fprintf(stderr, "connect: %s\n", vifiler_last_error());
    return 1;
  }
  vifiler_file_t file;
  if (vifiler_create(v, "/c-records", 0644, &file) != VIFILER_OK) {
    fprintf(stderr, "create: %s\n", vifiler_last_error());
    return 1;
  }
  char out[4096], in[4096];
  const double end = now_ms() + atof(argv[3]);
  uint64_t records = 0;
  while (now_ms() < end) {
    fill(out, sizeof out, records);
    int64_t n = vifiler_write(v, &file, records * sizeof out, out, sizeof out);
    if (n != (int64_t)sizeof out) {
      fprintf(stderr, "write %llu: %lld %s\n", (unsigned long long)records, (long long)n,
              vifiler_last_error());
      return 1;
    }
    ++records;
  }
  for (uint64_t i = 0; i < records; ++i) {
    fill(out, sizeof out, i);
    int64_t n = vifiler_read(v, &file, i * sizeof in, in, sizeof in);
    if (n != (int64_t)sizeof in || memcmp(in, out, sizeof in) != 0) {
      fprintf(stderr, "record %llu damaged (%lld) %s\n", (unsigned long long)i, (long long)n,
              vifiler_last_error());
      return 1;
    }
  }
  vifiler_stats_t stats;
  vifiler_get_stats(v, &stats);
  printf("records=%llu failovers=%llu replays=%llu failover_time_us=%llu\n",
         (unsigned long long)records, (unsigned long long)stats.failovers,
         (unsigned long long)stats.replays, (unsigned long long)stats.failover_time_us);
  vifiler_disconnect(v);
  return stats.failovers >= 1 ? 0 : 1;
}
