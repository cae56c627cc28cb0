/* Copyright 2026 The vifiler Authors.
 *
 * An application of the C API, built by install_test.sh against an installed tree only
 * (pkg-config --cflags --libs vifiler-client). It connects to a filer that is down, with a short
 * failover deadline, and must get VIFILER_EUNAVAILABLE; then with a long failover deadline and
 * a 200 ms call timeout (vifiler_set_call_timeout), and must get VIFILER_ETIMEDOUT within 5 s.
 *
 *   embed MODE HOSTS_FILE PORT
 *   MODE quiet:    no vifiler_set_log call: the library must print nothing (the script checks
 *                  that stderr stays empty).
 *   MODE callback: vifiler_set_log(VIFILER_LOG_DEBUG, fn, arg): fn must receive messages;
 *                  prints "messages=N" and each message on stdout, never on stderr.
 *   MODE stderr:   vifiler_set_log(VIFILER_LOG_DEBUG, NULL, NULL): messages on stderr.
 * Prints "version=X" first. Exits 0 when the mode's expectations hold.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vifiler_client.h"

static int messages = 0;

static void on_log(int level, const char* message, void* arg) {
  (void)arg;
  ++messages;
  printf("log level=%d: %s\n", level, message);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s quiet|callback|stderr HOSTS_FILE PORT\n", argv[0]);
    return 2;
  }
  const char* mode = argv[1];
  printf("version=%s\n", vifiler_version());
  if (strcmp(mode, "callback") == 0) vifiler_set_log(VIFILER_LOG_DEBUG, on_log, NULL);
  if (strcmp(mode, "stderr") == 0) vifiler_set_log(VIFILER_LOG_DEBUG, NULL, NULL);

  vifiler_options_t options;
  vifiler_options_init(&options);
  options.fabric = "tcp";
  options.hosts_file = argv[2];
  options.primary_discriminator = (uint16_t)atoi(argv[3]);
  options.secondary_discriminator = (uint16_t)(atoi(argv[3]) + 1);
  options.failover_deadline_ms = 700;
  vifiler_t* v = NULL;
  const int rc = vifiler_connect("downfiler", &options, &v);
  printf("connect=%d (%s)\n", rc, rc == VIFILER_OK ? "" : vifiler_last_error());
  if (rc != VIFILER_EUNAVAILABLE) return 1;

  options.failover_deadline_ms = 60000;
  vifiler_set_call_timeout(200);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  const int timed = vifiler_connect("downfiler", &options, &v);
  clock_gettime(CLOCK_MONOTONIC, &end);
  vifiler_set_call_timeout(0);
  const double took = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
  printf("connect with a 200 ms call timeout=%d after %.3f s (%s)\n", timed, took,
         timed == VIFILER_OK ? "" : vifiler_last_error());
  if (timed != VIFILER_ETIMEDOUT || took > 5.0) return 1;
  if (strcmp(mode, "callback") == 0) {
    printf("messages=%d\n", messages);
    return messages > 0 ? 0 : 1;
  }
  return 0;
}
