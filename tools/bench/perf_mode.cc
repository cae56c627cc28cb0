// Copyright 2026 The vifiler Authors.

#include "tools/bench/perf_mode.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "tools/bench/cpu_pinning.h"
#include "tools/bench/message_sizes.h"
#include "tools/bench/raw_client.h"
#include "tools/bench/vifiler_load.h"
#include "tools/child_process.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

namespace vifiler {
namespace bench {

using tools::ChildProcess;
using tools::TailOfFile;

namespace {

constexpr double kReadLatencyTarget = 1.5;  // vifiler 4 KiB read p50 <= 1.5 x raw round trip
constexpr double kReadBulkTarget = 0.8;     // vifiler 1 MiB read >= 0.8 x raw bulk
constexpr double kWriteBulkTarget = 0.5;    // vifiler 1 MiB write >= 0.5 x raw bulk
constexpr absl::Duration kRawServerStartTimeout = absl::Seconds(10);

struct RawFigures {
  RunResult read_rtt;   // 4 KiB-read-sized round trips, 1 outstanding
  RunResult write_rtt;  // 4 KiB-write-sized round trips, 1 outstanding
  RunResult read_rtt_many;
  RunResult bulk_read;
  RunResult bulk_write;
  RoundTripSize read_size;
  RoundTripSize write_size;
  std::string server_cpus;
};

struct VifilerFigures {
  RunResult small_read;
  RunResult small_write;
  RunResult small_read_many;
  RunResult seq_read;
  RunResult seq_write;
};

std::string Micros(absl::Duration d) {
  return absl::StrFormat("%.1f us", absl::ToDoubleMicroseconds(d));
}

std::string AffinityText(const absl::StatusOr<Affinity>& a) {
  if (!a.ok()) return absl::StrCat("unknown (", a.status().message(), ")");
  return absl::StrCat(a->pinned ? "pinned to CPU " : "unpinned, CPUs ", a->cpus);
}

absl::Status MeasureRaw(const PerfOptions& o, const std::string& fabric_name,
                        const std::string& address, RawFigures* raw) {
  char log_template[] = "/tmp/vifiler-bench-raw-XXXXXX";
  const int fd = mkstemp(log_template);
  if (fd < 0) return absl::InternalError("mkstemp failed");
  close(fd);
  const std::string log_path = log_template;
  std::vector<std::string> argv = {o.self_path,
                                   "--serve_raw",
                                   "--fabric=" + fabric_name,
                                   "--raw_address=" + address,
                                   absl::StrCat("--raw_discriminator=", o.raw_discriminator),
                                   absl::StrCat("--cpu=", o.raw_server_cpu)};
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(argv, log_path);
  if (!child.ok()) return child.status();
  raw->server_cpus = AffinityText(AffinityOf((*child)->pid()));

  absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric =
        transport::CreateFabric(fabric_name);
    if (!fabric.ok()) return fabric.status();
    absl::StatusOr<std::unique_ptr<RawClient>> raw_client = RawClient::Connect(
        fabric->get(), {address, o.raw_discriminator}, absl::Now() + kRawServerStartTimeout);
    if (!raw_client.ok()) return raw_client.status();
    // The child pins itself after it starts; ask again now that it answers.
    raw->server_cpus = AffinityText(AffinityOf((*child)->pid()));
    RawClient& c = **raw_client;
    raw->read_size = InlineReadSize(o.small_size);
    raw->write_size = InlineWriteSize(o.small_size);
    absl::StatusOr<RunResult> r =
        c.RoundTrips(raw->read_size.request, raw->read_size.reply, 1, o.warmup, o.duration);
    if (!r.ok()) return r.status();
    raw->read_rtt = std::move(*r);
    r = c.RoundTrips(raw->write_size.request, raw->write_size.reply, 1, o.warmup, o.duration);
    if (!r.ok()) return r.status();
    raw->write_rtt = std::move(*r);
    r = c.RoundTrips(raw->read_size.request, raw->read_size.reply, o.many_outstanding, o.warmup,
                     o.duration);
    if (!r.ok()) return r.status();
    raw->read_rtt_many = std::move(*r);
    r = c.Bulk(RawOp::kBulkRead, o.bulk_size, o.bulk_outstanding, o.warmup, o.duration);
    if (!r.ok()) return r.status();
    raw->bulk_read = std::move(*r);
    r = c.Bulk(RawOp::kBulkWrite, o.bulk_size, o.bulk_outstanding, o.warmup, o.duration);
    if (!r.ok()) return r.status();
    raw->bulk_write = std::move(*r);
    return absl::OkStatus();
  }();
  (*child)->Stop(absl::Seconds(5));
  if (!status.ok()) {
    fprintf(stderr, "raw server (%s) log:\n%s", (*child)->ExitDescription().c_str(),
            TailOfFile(log_path, 40).c_str());
  }
  unlink(log_path.c_str());
  return status;
}

absl::Status MeasureVifiler(const PerfOptions& o, VifilerFigures* v) {
  client::ClientOptions copts = o.client;
  copts.slots = std::max<uint32_t>(copts.slots, static_cast<uint32_t>(o.many_outstanding));
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(o.server, copts);
  if (!c.ok()) return c.status();
  VifilerLoadOptions lo;
  lo.file_size = o.file_size;
  lo.bulk_size = o.bulk_size;
  lo.warmup = o.warmup;
  lo.duration = o.duration;
  VifilerLoad load(c->get(), lo);
  absl::Status s = load.Prepare();
  if (s.ok()) {
    s = [&]() -> absl::Status {
      absl::StatusOr<RunResult> r = load.Reads(o.small_size, 1);
      if (!r.ok()) return r.status();
      v->small_read = std::move(*r);
      r = load.Writes(o.small_size, 1);
      if (!r.ok()) return r.status();
      v->small_write = std::move(*r);
      r = load.Reads(o.small_size, o.many_outstanding);
      if (!r.ok()) return r.status();
      v->small_read_many = std::move(*r);
      r = load.Reads(o.bulk_size, o.bulk_outstanding);
      if (!r.ok()) return r.status();
      v->seq_read = std::move(*r);
      r = load.Writes(o.bulk_size, o.bulk_outstanding);
      if (!r.ok()) return r.status();
      v->seq_write = std::move(*r);
      return absl::OkStatus();
    }();
  }
  load.Cleanup();
  return s;
}

// One table row: what, the vifiler figure, the raw figure, vifiler/raw, and the target verdict.
void Row(const std::string& what, const std::string& vifiler, const std::string& raw, double ratio,
         const std::string& target) {
  printf("%-34s %14s %14s %8s  %s\n", what.c_str(), vifiler.c_str(), raw.c_str(),
         absl::StrFormat("%.2fx", ratio).c_str(), target.c_str());
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

}  // namespace

int RunPerformance(const PerfOptions& o) {
  absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric =
      transport::CreateFabric(o.client.fabric);
  if (!fabric.ok()) {
    fprintf(stderr, "vifiler-bench: fabric %s: %s\n", o.client.fabric.c_str(),
            fabric.status().ToString().c_str());
    return 1;
  }
  const std::string fabric_name((*fabric)->name());
  fabric->reset();
  transport::NameResolver resolver(o.client.hosts_file);
  absl::StatusOr<std::string> address = resolver.Resolve(o.server);
  if (!address.ok()) {
    fprintf(stderr, "vifiler-bench: %s\n", address.status().ToString().c_str());
    return 1;
  }
  PerfOptions options = o;
  options.client.fabric = fabric_name;

  RawFigures raw;
  absl::Status s = MeasureRaw(options, fabric_name, *address, &raw);
  if (!s.ok()) {
    fprintf(stderr, "vifiler-bench: raw baseline: %s\n", s.ToString().c_str());
    return 1;
  }
  VifilerFigures v;
  s = MeasureVifiler(options, &v);
  if (!s.ok()) {
    fprintf(stderr, "vifiler-bench: vifiler: %s\n", s.ToString().c_str());
    return 1;
  }

  absl::StatusOr<pid_t> filer_pid =
      o.filer_pid > 0 ? absl::StatusOr<pid_t>(o.filer_pid) : FindFilerPid(*address, o.server);
  const std::string filer_cpus =
      filer_pid.ok() ? absl::StrCat(AffinityText(AffinityOf(*filer_pid)), " (pid ", *filer_pid, ")")
                     : absl::StrCat("unknown (", filer_pid.status().message(), ")");
  const bool judged = fabric_name == "tcp";

  printf("vifiler-bench: fabric=%s server=%s (%s:%u), raw server %s:%u, %s per test\n",
         fabric_name.c_str(), o.server.c_str(), address->c_str(), o.client.primary_discriminator,
         address->c_str(), o.raw_discriminator, absl::FormatDuration(o.duration).c_str());
  printf("pinning: client %s; filer %s; raw server %s\n", AffinityText(AffinityOf(0)).c_str(),
         filer_cpus.c_str(), raw.server_cpus.c_str());
  printf(
      "raw round trip sizes: read %zu B request / %zu B reply, write %zu B / %zu B "
      "(as vifiler's %zu B inline read and write)\n",
      raw.read_size.request, raw.read_size.reply, raw.write_size.request, raw.write_size.reply,
      o.small_size);
  printf("\n%-34s %14s %14s %8s  %s\n", "measure", "vifiler", "raw", "ratio", "target");

  int missed = 0;
  auto verdict = [&](bool ok, const std::string& text) -> std::string {
    if (!judged) return absl::StrCat(text, " (judged on tcp only)");
    if (!ok) ++missed;
    return absl::StrCat(text, ok ? "  PASS" : "  FAIL");
  };
  const std::string small = absl::StrCat(o.small_size / 1024, " KiB");
  const std::string bulk = absl::StrCat(o.bulk_size >> 20, " MiB");

  const double read_p50_ratio =
      Ratio(absl::ToDoubleMicroseconds(v.small_read.latency.Percentile(50)),
            absl::ToDoubleMicroseconds(raw.read_rtt.latency.Percentile(50)));
  Row(small + " read latency p50", Micros(v.small_read.latency.Percentile(50)),
      Micros(raw.read_rtt.latency.Percentile(50)), read_p50_ratio,
      verdict(read_p50_ratio <= kReadLatencyTarget,
              absl::StrFormat("<= %.1fx", kReadLatencyTarget)));
  Row(small + " read latency p99", Micros(v.small_read.latency.Percentile(99)),
      Micros(raw.read_rtt.latency.Percentile(99)),
      Ratio(absl::ToDoubleMicroseconds(v.small_read.latency.Percentile(99)),
            absl::ToDoubleMicroseconds(raw.read_rtt.latency.Percentile(99))),
      "");
  Row(small + " write latency p50", Micros(v.small_write.latency.Percentile(50)),
      Micros(raw.write_rtt.latency.Percentile(50)),
      Ratio(absl::ToDoubleMicroseconds(v.small_write.latency.Percentile(50)),
            absl::ToDoubleMicroseconds(raw.write_rtt.latency.Percentile(50))),
      "");
  Row(small + " write latency p99", Micros(v.small_write.latency.Percentile(99)),
      Micros(raw.write_rtt.latency.Percentile(99)),
      Ratio(absl::ToDoubleMicroseconds(v.small_write.latency.Percentile(99)),
            absl::ToDoubleMicroseconds(raw.write_rtt.latency.Percentile(99))),
      "");
  Row(small + " read ops/s, 1 outstanding", absl::StrFormat("%.0f", v.small_read.OpsPerSecond()),
      absl::StrFormat("%.0f", raw.read_rtt.OpsPerSecond()),
      Ratio(v.small_read.OpsPerSecond(), raw.read_rtt.OpsPerSecond()), "");
  Row(absl::StrCat(small, " read ops/s, ", o.many_outstanding, " outstanding"),
      absl::StrFormat("%.0f", v.small_read_many.OpsPerSecond()),
      absl::StrFormat("%.0f", raw.read_rtt_many.OpsPerSecond()),
      Ratio(v.small_read_many.OpsPerSecond(), raw.read_rtt_many.OpsPerSecond()), "");
  const double read_bulk_ratio = Ratio(v.seq_read.MiBPerSecond(), raw.bulk_read.MiBPerSecond());
  Row(absl::StrCat(bulk, " seq read MiB/s, ", o.bulk_outstanding, " outst."),
      absl::StrFormat("%.0f", v.seq_read.MiBPerSecond()),
      absl::StrFormat("%.0f", raw.bulk_read.MiBPerSecond()), read_bulk_ratio,
      verdict(read_bulk_ratio >= kReadBulkTarget, absl::StrFormat(">= %.1fx", kReadBulkTarget)));
  const double write_bulk_ratio = Ratio(v.seq_write.MiBPerSecond(), raw.bulk_write.MiBPerSecond());
  Row(absl::StrCat(bulk, " seq write MiB/s, ", o.bulk_outstanding, " outst."),
      absl::StrFormat("%.0f", v.seq_write.MiBPerSecond()),
      absl::StrFormat("%.0f", raw.bulk_write.MiBPerSecond()), write_bulk_ratio,
      verdict(write_bulk_ratio >= kWriteBulkTarget, absl::StrFormat(">= %.1fx", kWriteBulkTarget)));
  if (judged) {
    printf("\ntargets: %s (%d missed)\n", missed == 0 ? "all met" : "MISSED", missed);
  } else {
    printf("\ntargets are judged on tcp only; figures printed for %s\n", fabric_name.c_str());
  }
  fflush(stdout);
  return o.enforce_targets && missed > 0 ? 1 : 0;
}

}  // namespace bench
}  // namespace vifiler
