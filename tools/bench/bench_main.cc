// Copyright 2026 The vifiler Authors.
//
// vifiler-bench: measures vifiler against a baseline (a plain blocking-socket file server on
// tcp, the raw fabric on rdma), and measures what a client sees when a filer of a pair dies.
//
//   vifiler-bench [--hosts_file=F] [--fabric=tcp] --server=filer-a [--seconds_per_test=2]
//                 [--cpu=N] [--raw_server_cpu=M] [--file_mb=1024] [--baseline=auto|plain|raw]
//   vifiler-bench --baseline_only [--plain_address=127.0.0.1] [--file_mb=16]
//   vifiler-bench --failover --vifilerd=PATH [--fabric=tcp] [--kills=5]
//                 [--address_a=127.0.0.2 --address_b=127.0.0.3]
//   vifiler-bench --soak [--vifilerd=PATH] [--vifiler_load=PATH] [--soak_cycles=20]
//                 [--soak_clients=4]
//
// The first form needs a running filer; the second and third start their own pair. `--serve_raw` is
// the raw server child the first form starts from this same binary, `--serve_plain` the plain
// one.

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/bench/cpu_pinning.h"
#include "tools/bench/failover_mode.h"
#include "tools/bench/perf_mode.h"
#include "tools/bench/plain_protocol.h"
#include "tools/bench/plain_server.h"
#include "tools/bench/raw_protocol.h"
#include "tools/bench/raw_server.h"
#include "tools/bench/soak_mode.h"
#include "tools/bench/testbed_failover_mode.h"
#include "tools/client_flags.h"
#include "tools/tool_main.h"

DEFINE_string(server, "filer-a", "name of the filer to measure (performance mode)");
DEFINE_double(seconds_per_test, 2.0, "measured time of each test, after a short warmup");
DEFINE_int32(cpu, -1,
             "pin this process (all its threads) to this CPU; -1: do not pin. With "
             "--serve_raw, -1 allows every CPU");
DEFINE_int32(raw_server_cpu, -1,
             "pin the baseline server child (plain or raw) to this CPU; -1: every CPU");
DEFINE_uint32(raw_discriminator, vifiler::bench::kDefaultRawDiscriminator,
              "discriminator the raw server child listens on (at the filer's address)");
DEFINE_int32(filer_pid, 0,
             "PID of the filer, to report its CPU affinity (0: look for a local "
             "vifilerd with the filer's address)");
DEFINE_uint32(bulk_outstanding, 4, "requests in flight in the 1 MiB and raw bulk tests");
DEFINE_uint32(file_mb, 1024,
              "size of the scratch files (vifiler's and the plain server's) the reads and "
              "writes cycle through; larger than any mapping window the filer keeps, so "
              "sequential figures measure streaming (smaller for quick runs)");
DEFINE_string(baseline, "auto",
              "what vifiler is compared with: plain (a minimal blocking-socket file server "
              "child, tcp), raw (vifiler's own transport between two processes, no file), or "
              "auto: plain on tcp, raw on rdma");
DEFINE_int32(runs, 3,
             "performance mode: interleaved rounds (baseline, vifiler, baseline, ...); each "
             "figure printed is the median of its rounds");
DEFINE_bool(baseline_only, false,
            "measure only the plain baseline on --plain_address (no filer needed) and exit 1 "
            "if a figure is zero or its server did not stop cleanly");
DEFINE_uint32(plain_port, vifiler::bench::kDefaultPlainPort,
              "TCP port the plain baseline server child listens on (at the filer's address)");
DEFINE_string(plain_dir, "/tmp", "directory the plain baseline server creates its file in");
DEFINE_bool(plain_sync_writes, true,
            "the plain server fdatasyncs each write before answering (vifiler acknowledges "
            "only durable writes)");
DEFINE_string(plain_address, "127.0.0.1",
              "--baseline_only and --serve_plain: the address the plain server listens on");
DEFINE_bool(enforce_targets, false, "exit 1 when a performance or stall target is missed");

DEFINE_bool(serve_raw, false, "internal: run as the raw fabric server child");
DEFINE_bool(serve_plain, false, "internal: run as the plain baseline server child");
DEFINE_string(raw_address, "", "internal: --serve_raw listens on this address");
DEFINE_uint32(raw_server_lifetime_s, 900, "internal: --serve_raw exits after this long");

DEFINE_bool(
    failover, false,
    "run the failover benchmark (starts its own filer pair) instead of the performance one");
DEFINE_string(vifilerd, "", "failover mode: path of the vifilerd binary");
DEFINE_int32(kills, 5, "failover mode: SIGKILL + takeover + giveback cycles");
DEFINE_string(address_a, "127.0.0.2", "failover mode: filer-a's address");
DEFINE_string(address_b, "127.0.0.3", "failover mode: filer-b's address");
DEFINE_uint32(write_interval_us, 1000, "failover mode: pause after each request of the stream");
DEFINE_bool(keep, false, "failover mode: keep the temp dir (volumes, hosts file, filer logs)");
DEFINE_bool(
    soak, false,
    "run the soak (starts its own filer pair on --address_a/--address_b, tcp): "
    "--soak_clients vifiler-load processes against filer-a while filers are killed "
    "--soak_cycles times; prints acked/twice/errors/lost and PASS/FAIL (exit 0 only on "
    "PASS). Takes a minute or more. From the source dir: build/tools/bench/vifiler-bench --soak "
    "--vifilerd=build/tools/vifilerd --vifiler_load=build/tools/load/vifiler-load "
    "--soak_cycles=20");
DEFINE_string(vifiler_load, "",
              "soak mode: path of the vifiler-load binary (default: next to vifiler-bench, or "
              "../load/vifiler-load from it)");
DEFINE_int32(soak_clients, 4, "soak mode: vifiler-load processes");
DEFINE_int32(soak_threads, 2, "soak mode: threads of each vifiler-load process");
DEFINE_int32(soak_cycles, 20,
             "soak mode: failure cycles (kill filer-a; kill during giveback; "
             "kill both)");
DEFINE_uint32(soak_op_interval_us, 1000,
              "soak mode: pause of each loader thread after each request");
DEFINE_uint64(soak_seed, 0, "soak mode: seed of the random pauses and cycle kinds (0: random)");
DEFINE_bool(enforce_correctness, false,
            "failover mode: exit 1 when acknowledged writes were lost or requests ran twice");

namespace vifiler {
namespace bench {
namespace {

std::string SelfPath() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  path[n] = '\0';
  return path;
}

bool FailoverModeRequested() { return FLAGS_failover; }

// The first of candidates (relative to the directory of this binary) that is executable.
std::string NextToSelf(const std::vector<std::string>& candidates) {
  const std::string self = SelfPath();
  const std::string dir = self.substr(0, self.rfind('/') + 1);
  for (const std::string& c : candidates) {
    if (!dir.empty() && access((dir + c).c_str(), X_OK) == 0) return dir + c;
  }
  return "";
}

int Main() {
  if (FLAGS_serve_raw) {
    absl::Status s = FLAGS_cpu >= 0 ? PinToCpu(FLAGS_cpu) : UnpinAll();
    if (!s.ok()) {
      LOG(ERROR) << "raw server: " << s;
      return 1;
    }
    return RunRawServer(FLAGS_fabric,
                        {FLAGS_raw_address, static_cast<uint16_t>(FLAGS_raw_discriminator)},
                        absl::Seconds(FLAGS_raw_server_lifetime_s));
  }
  if (FLAGS_serve_plain) {
    absl::Status s = FLAGS_cpu >= 0 ? PinToCpu(FLAGS_cpu) : UnpinAll();
    if (!s.ok()) {
      LOG(ERROR) << "plain server: " << s;
      return 1;
    }
    PlainServerOptions o;
    o.address = FLAGS_plain_address;
    o.port = static_cast<uint16_t>(FLAGS_plain_port);
    o.directory = FLAGS_plain_dir;
    o.file_size = static_cast<uint64_t>(FLAGS_file_mb) << 20;
    o.sync_writes = FLAGS_plain_sync_writes;
    return RunPlainServer(o, absl::Seconds(FLAGS_raw_server_lifetime_s));
  }
  if (FLAGS_cpu >= 0) {
    absl::Status s = PinToCpu(FLAGS_cpu);
    if (!s.ok()) {
      fprintf(stderr, "vifiler-bench: --cpu: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  if (FLAGS_soak) {
    SoakOptions o;
    o.vifilerd = !FLAGS_vifilerd.empty() ? FLAGS_vifilerd : NextToSelf({"../vifilerd", "vifilerd"});
    o.vifiler_load = !FLAGS_vifiler_load.empty()
                         ? FLAGS_vifiler_load
                         : NextToSelf({"../load/vifiler-load", "vifiler-load"});
    o.client = tools::ClientOptionsFromFlags();
    o.address_a = FLAGS_address_a;
    o.address_b = FLAGS_address_b;
    o.clients = FLAGS_soak_clients;
    o.threads = FLAGS_soak_threads;
    o.cycles = FLAGS_soak_cycles;
    o.op_interval = absl::Microseconds(FLAGS_soak_op_interval_us);
    o.seed = FLAGS_soak_seed;
    o.keep = FLAGS_keep;
    return RunSoak(o);
  }
  if (TestbedModeRequested()) return RunTestbedMode(SelfPath());
  if (FailoverModeRequested()) {
    FailoverOptions o;
    o.vifilerd = FLAGS_vifilerd;
    o.client = tools::ClientOptionsFromFlags();
    o.client.on_event = nullptr;  // the client library logs each failover itself
    o.address_a = FLAGS_address_a;
    o.address_b = FLAGS_address_b;
    o.kills = FLAGS_kills;
    o.write_interval = absl::Microseconds(FLAGS_write_interval_us);
    o.keep = FLAGS_keep;
    o.enforce_correctness = FLAGS_enforce_correctness;
    o.enforce_targets = FLAGS_enforce_targets;
    return RunFailover(o);
  }
  PerfOptions o;
  o.server = FLAGS_server;
  o.client = tools::ClientOptionsFromFlags();
  o.self_path = SelfPath();
  o.raw_discriminator = static_cast<uint16_t>(FLAGS_raw_discriminator);
  o.raw_server_cpu = FLAGS_raw_server_cpu;
  o.baseline = FLAGS_baseline;
  o.plain_port = static_cast<uint16_t>(FLAGS_plain_port);
  o.plain_dir = FLAGS_plain_dir;
  o.plain_sync_writes = FLAGS_plain_sync_writes;
  o.plain_address = FLAGS_plain_address;
  o.runs = FLAGS_runs;
  o.filer_pid = FLAGS_filer_pid;
  o.duration = absl::Seconds(FLAGS_seconds_per_test);
  o.warmup = std::min(absl::Milliseconds(500), o.duration / 10);
  o.bulk_outstanding = static_cast<int>(FLAGS_bulk_outstanding);
  o.file_size = static_cast<size_t>(FLAGS_file_mb) << 20;
  o.enforce_targets = FLAGS_enforce_targets;
  if (o.self_path.empty()) {
    fprintf(stderr, "vifiler-bench: cannot find its own binary (/proc/self/exe)\n");
    return 1;
  }
  if (FLAGS_baseline_only) return RunBaselineOnly(o);
  return RunPerformance(o);
}

}  // namespace
}  // namespace bench
}  // namespace vifiler

int main(int argc, char** argv) {
  vifiler::tools::ParseToolCommandLine(
      "vifiler-bench [--hosts_file=F] [--fabric=tcp] --server=filer-a [--seconds_per_test=2] "
      "[--cpu=N] [--raw_server_cpu=M] [--file_mb=1024] [--runs=3] [--plain_dir=DIR] "
      "[--baseline=auto|plain|raw]   (vifiler beside a plain-socket file server on tcp)\n"
      "vifiler-bench --baseline_only [--plain_address=127.0.0.1] [--file_mb=16]\n"
      "vifiler-bench --failover --vifilerd=PATH [--fabric=tcp] [--kills=5] "
      "[--address_a=127.0.0.2 --address_b=127.0.0.3]\n"
      "vifiler-bench --soak [--vifilerd=PATH] [--vifiler_load=PATH] [--soak_cycles=20] "
      "[--soak_clients=4] [--soak_threads=2]   (a minute or more; e.g. from the source dir: "
      "build/tools/bench/vifiler-bench --soak --vifilerd=build/tools/vifilerd "
      "--vifiler_load=build/tools/load/vifiler-load)",
      &argc, &argv);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  vifiler::tools::RouteLogToGlog();
  return vifiler::bench::Main();
}
