#!/bin/bash
# Runs vifiler-bench on tcp over loopback: the performance comparison against the plain-socket
# baseline unpinned, then pinned (filer and baseline server on CPU 1 under taskset, bench on
# CPU 0), then the failover mode. Both file servers keep their files in the same directory tree.
# Usage: tools/bench.sh   (from the repo root; builds into build-bench if needed)
# Environment: BUILD_DIR (default build-bench), VIFILER_BENCH_ADDR (default 127.0.0.2),
#   VIFILER_BENCH_ADDR_A / VIFILER_BENCH_ADDR_B (failover pair; default 127.0.0.2 / 127.0.0.3),
#   SECONDS_PER_TEST (default 2), FILE_MB (default 1024), KILLS (default 5).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-bench}
ADDR=${VIFILER_BENCH_ADDR:-127.0.0.2}
ADDR_A=${VIFILER_BENCH_ADDR_A:-127.0.0.2}
ADDR_B=${VIFILER_BENCH_ADDR_B:-127.0.0.3}
SECONDS_PER_TEST=${SECONDS_PER_TEST:-2}
FILE_MB=${FILE_MB:-1024}
KILLS=${KILLS:-5}

if [[ ! -d "$BUILD_DIR" ]]; then
  meson setup "$BUILD_DIR" >/dev/null
fi
ninja -C "$BUILD_DIR" tools/vifilerd tools/bench/vifiler-bench >/dev/null
VIFILERD=$BUILD_DIR/tools/vifilerd
BENCH=$BUILD_DIR/tools/bench/vifiler-bench

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vifiler-bench-sh-XXXXXX")
FILER_PID=""

# Stops the filer by PID: SIGTERM, then SIGKILL after 5 s.
stop_filer() {
  if [[ -n "$FILER_PID" ]] && kill -0 "$FILER_PID" 2>/dev/null; then
    kill -TERM "$FILER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$FILER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$FILER_PID" 2>/dev/null || true
    wait "$FILER_PID" 2>/dev/null || true
  fi
  FILER_PID=""
}
cleanup() {
  stop_filer
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/volume"
echo "$ADDR filer-a" >"$WORK/hosts"

# start_filer [taskset-prefix...]: starts filer-a and waits (bounded) for its primary port.
start_filer() {
  "$@" "$VIFILERD" --name=filer-a --volume="$WORK/volume" --address="$ADDR" --fabric=tcp \
    --hosts_file="$WORK/hosts" >>"$WORK/filer.log" 2>&1 &
  FILER_PID=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/$ADDR/7300") 2>/dev/null; then return 0; fi
    kill -0 "$FILER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "filer did not start; log:" >&2
  tail -20 "$WORK/filer.log" >&2
  return 1
}

echo "=== vifiler-bench, tcp, unpinned"
start_filer
"$BENCH" --fabric=tcp --hosts_file="$WORK/hosts" --server=filer-a \
  --seconds_per_test="$SECONDS_PER_TEST" --file_mb="$FILE_MB" --plain_dir="$WORK" \
  --filer_pid="$FILER_PID"
stop_filer

echo
echo "=== vifiler-bench, tcp, pinned: bench on CPU 0, filer and baseline server on CPU 1"
start_filer taskset -c 1
"$BENCH" --fabric=tcp --hosts_file="$WORK/hosts" --server=filer-a \
  --seconds_per_test="$SECONDS_PER_TEST" --file_mb="$FILE_MB" --plain_dir="$WORK" \
  --filer_pid="$FILER_PID" --cpu=0 --raw_server_cpu=1
stop_filer

echo
echo "=== vifiler-bench --failover, tcp"
"$BENCH" --failover --vifilerd="$VIFILERD" --fabric=tcp --kills="$KILLS" \
  --address_a="$ADDR_A" --address_b="$ADDR_B" --enforce_correctness
