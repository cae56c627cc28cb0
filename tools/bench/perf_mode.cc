// Copyright 2026 The vifiler Authors.

#include "tools/bench/perf_mode.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "tools/bench/cpu_pinning.h"
#include "tools/bench/message_sizes.h"
#include "tools/bench/perf_figures.h"
#include "tools/bench/plain_client.h"
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

constexpr double kReadLatencyTarget = 1.5;  // vifiler 4 KiB read p50 <= 1.5 x plain
constexpr double kReadBulkTarget = 0.8;     // vifiler 1 MiB seq read >= 0.8 x plain
constexpr double kWriteBulkTarget = 0.8;    // vifiler 1 MiB seq write >= 0.8 x plain
constexpr double kReadManyTarget = 0.8;     // vifiler 4 KiB QD16 random read ops/s >= 0.8 x plain
// The plain server fills its file before it listens: 1 GiB takes seconds on a busy host.
constexpr absl::Duration kServerStartTimeout = absl::Seconds(60);

// A baseline's rounds and what the report says about it.
struct Baseline {
  std::string name;         // column heading: "plain" or "raw"
  std::string description;  // one line for the report
  std::string server_cpus;
  std::string server_exit;  // how the child ended after Stop()
  bool server_stopped_cleanly = false;
  std::vector<Summary> rounds;
};

// Runs one round of vifiler's measurements (between two baseline rounds).
using VifilerRound = std::function<absl::Status()>;

std::string Micros(double us) { return absl::StrFormat("%.1f us", us); }

std::string AffinityText(const absl::StatusOr<Affinity>& a) {
  if (!a.ok()) return absl::StrCat("unknown (", a.status().message(), ")");
  return absl::StrCat(a->pinned ? "pinned to CPU " : "unpinned, CPUs ", a->cpus);
}

std::string TempLogPath(const char* kind) {
  std::string path = absl::StrCat("/tmp/vifiler-bench-", kind, "-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) return "";
  close(fd);
  return path;
}

// Starts a baseline server child with argv, runs measure, stops the child by PID and records
// how it ended. Prints the child's log when something failed.
absl::Status WithServerChild(const std::vector<std::string>& argv, const char* kind,
                             const std::function<absl::Status(ChildProcess*)>& measure,
                             Baseline* baseline) {
  const std::string log_path = TempLogPath(kind);
  if (log_path.empty()) return absl::InternalError("mkstemp failed");
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(argv, log_path);
  if (!child.ok()) return child.status();
  baseline->server_cpus = AffinityText(AffinityOf((*child)->pid()));
  absl::Status status = measure(child->get());
  (*child)->Stop(absl::Seconds(5));
  const int ws = (*child)->wait_status();
  baseline->server_exit = (*child)->ExitDescription();
  baseline->server_stopped_cleanly = WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && !(*child)->Running();
  if (!status.ok() || !baseline->server_stopped_cleanly) {
    fprintf(stderr, "%s server (%s) log:\n%s", kind, baseline->server_exit.c_str(),
            TailOfFile(log_path, 40).c_str());
  }
  unlink(log_path.c_str());
  return status;
}

absl::StatusOr<Figures> PlainRound(const PerfOptions& o, PlainClient& c) {
  Figures f;
  struct Step {
    RunResult* out;
    PlainOp op;
    size_t size;
    int outstanding;
    OffsetOrder order;
  };
  const Step steps[] = {
      {&f.small_read, PlainOp::kRead, o.small_size, 1, OffsetOrder::kSequential},
      {&f.small_write, PlainOp::kWrite, o.small_size, 1, OffsetOrder::kSequential},
      {&f.small_read_many, PlainOp::kRead, o.small_size, o.many_outstanding, OffsetOrder::kRandom},
      {&f.seq_read, PlainOp::kRead, o.bulk_size, o.bulk_outstanding, OffsetOrder::kSequential},
      {&f.seq_write, PlainOp::kWrite, o.bulk_size, o.bulk_outstanding, OffsetOrder::kSequential},
  };
  for (const Step& step : steps) {
    absl::StatusOr<RunResult> r =
        c.Run(step.op, step.size, step.outstanding, step.order, o.file_size, o.warmup, o.duration);
    if (!r.ok()) return r.status();
    *step.out = std::move(*r);
  }
  return f;
}

// The plain baseline, o.runs rounds, each followed by vifiler_round (when given).
absl::Status MeasurePlain(const PerfOptions& o, const std::string& address,
                          const VifilerRound& vifiler_round, Baseline* b) {
  b->name = "plain";
  b->description = absl::StrCat(
      "plain: one blocking TCP socket (TCP_NODELAY), a child process serving a ", o.file_size >> 20,
      " MiB file in ", o.plain_dir, " with pread/pwrite", o.plain_sync_writes ? "+fdatasync" : "",
      ", one request at a time, at ", address, ":", o.plain_port);
  const std::vector<std::string> argv = {o.self_path,
                                         "--serve_plain",
                                         "--plain_address=" + address,
                                         absl::StrCat("--plain_port=", o.plain_port),
                                         "--plain_dir=" + o.plain_dir,
                                         absl::StrCat("--file_mb=", o.file_size >> 20),
                                         absl::StrCat("--plain_sync_writes=", o.plain_sync_writes),
                                         absl::StrCat("--cpu=", o.raw_server_cpu)};
  return WithServerChild(
      argv, "plain",
      [&](ChildProcess* child) -> absl::Status {
        // Connect while the server fills its file, giving up at once if it died.
        const absl::Time deadline = absl::Now() + kServerStartTimeout;
        absl::StatusOr<std::unique_ptr<PlainClient>> client =
            absl::UnavailableError("plain server not started");
        while (absl::Now() < deadline) {
          if (!child->Running()) {
            return absl::UnavailableError(
                absl::StrCat("plain server ", child->ExitDescription(), " before it listened"));
          }
          client = PlainClient::Connect(address, o.plain_port,
                                        std::min(deadline, absl::Now() + absl::Seconds(1)));
          if (client.ok()) break;
        }
        if (!client.ok()) return client.status();
        b->server_cpus = AffinityText(AffinityOf(child->pid()));  // it pins itself after start
        for (int round = 0; round < o.runs; ++round) {
          absl::StatusOr<Figures> f = PlainRound(o, **client);
          if (!f.ok()) return f.status();
          b->rounds.push_back(Summarize(*f));
          if (vifiler_round) {
            if (absl::Status s = vifiler_round(); !s.ok()) return s;
          }
        }
        return absl::OkStatus();
      },
      b);
}

// The raw fabric baseline, o.runs rounds, each followed by vifiler_round.
absl::Status MeasureRaw(const PerfOptions& o, const std::string& fabric_name,
                        const std::string& address, const VifilerRound& vifiler_round,
                        Baseline* b) {
  const RoundTripSize read_size = InlineReadSize(o.small_size);
  const RoundTripSize write_size = InlineWriteSize(o.small_size);
  b->name = "raw";
  b->description = absl::StrFormat(
      "raw: vifiler's own %s transport between two processes, no file and no file protocol "
      "(round trips of %zu B / %zu B for a read, %zu B / %zu B for a write; bulk one-sided "
      "transfers); it shows what the fabric layer costs, not what a file server could do",
      fabric_name, read_size.request, read_size.reply, write_size.request, write_size.reply);
  const std::vector<std::string> argv = {o.self_path,
                                         "--serve_raw",
                                         "--fabric=" + fabric_name,
                                         "--raw_address=" + address,
                                         absl::StrCat("--raw_discriminator=", o.raw_discriminator),
                                         absl::StrCat("--cpu=", o.raw_server_cpu)};
  return WithServerChild(
      argv, "raw",
      [&](ChildProcess* child) -> absl::Status {
        absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric =
            transport::CreateFabric(fabric_name);
        if (!fabric.ok()) return fabric.status();
        absl::StatusOr<std::unique_ptr<RawClient>> raw_client = RawClient::Connect(
            fabric->get(), {address, o.raw_discriminator}, absl::Now() + kServerStartTimeout);
        if (!raw_client.ok()) return raw_client.status();
        b->server_cpus = AffinityText(AffinityOf(child->pid()));
        RawClient& c = **raw_client;
        for (int round = 0; round < o.runs; ++round) {
          Figures f;
          absl::StatusOr<RunResult> r =
              c.RoundTrips(read_size.request, read_size.reply, 1, o.warmup, o.duration);
          if (!r.ok()) return r.status();
          f.small_read = std::move(*r);
          r = c.RoundTrips(write_size.request, write_size.reply, 1, o.warmup, o.duration);
          if (!r.ok()) return r.status();
          f.small_write = std::move(*r);
          r = c.RoundTrips(read_size.request, read_size.reply, o.many_outstanding, o.warmup,
                           o.duration);
          if (!r.ok()) return r.status();
          f.small_read_many = std::move(*r);
          r = c.Bulk(RawOp::kBulkRead, o.bulk_size, o.bulk_outstanding, o.warmup, o.duration);
          if (!r.ok()) return r.status();
          f.seq_read = std::move(*r);
          r = c.Bulk(RawOp::kBulkWrite, o.bulk_size, o.bulk_outstanding, o.warmup, o.duration);
          if (!r.ok()) return r.status();
          f.seq_write = std::move(*r);
          b->rounds.push_back(Summarize(f));
          if (absl::Status s = vifiler_round(); !s.ok()) return s;
        }
        return absl::OkStatus();
      },
      b);
}

absl::StatusOr<Figures> VifilerRoundOf(const PerfOptions& o, VifilerLoad& load) {
  Figures v;
  absl::StatusOr<RunResult> r = load.Reads(o.small_size, 1);
  if (!r.ok()) return r.status();
  v.small_read = std::move(*r);
  r = load.Writes(o.small_size, 1);
  if (!r.ok()) return r.status();
  v.small_write = std::move(*r);
  r = load.RandomReads(o.small_size, o.many_outstanding);
  if (!r.ok()) return r.status();
  v.small_read_many = std::move(*r);
  r = load.Reads(o.bulk_size, o.bulk_outstanding);
  if (!r.ok()) return r.status();
  v.seq_read = std::move(*r);
  r = load.Writes(o.bulk_size, o.bulk_outstanding);
  if (!r.ok()) return r.status();
  v.seq_write = std::move(*r);
  return v;
}

// One table row: what, the vifiler figure, the baseline's, vifiler/baseline, and the target.
void Row(const std::string& what, const std::string& vifiler, const std::string& base, double ratio,
         const std::string& target) {
  printf("%-36s %14s %14s %8s  %s\n", what.c_str(), vifiler.c_str(), base.c_str(),
         absl::StrFormat("%.2fx", ratio).c_str(), target.c_str());
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }
std::string Count(double v) { return absl::StrFormat("%.0f", v); }

// Prints a baseline's figures alone (RunBaselineOnly).
void PrintSummary(const PerfOptions& o, const Summary& s) {
  const std::string small = absl::StrCat(o.small_size / 1024, " KiB");
  const std::string bulk = absl::StrCat(o.bulk_size >> 20, " MiB");
  auto line = [](const std::string& what, const std::string& value) {
    printf("%-36s %14s\n", what.c_str(), value.c_str());
  };
  line(small + " read latency p50", Micros(s.read_p50_us));
  line(small + " read latency p99", Micros(s.read_p99_us));
  line(small + " write latency p50", Micros(s.write_p50_us));
  line(absl::StrCat(small, " rand read ops/s, ", o.many_outstanding, " outst."),
       Count(s.read_many_ops));
  line(absl::StrCat(bulk, " seq read MiB/s, ", o.bulk_outstanding, " outst."),
       Count(s.seq_read_mibs));
  line(absl::StrCat(bulk, " seq write MiB/s, ", o.bulk_outstanding, " outst."),
       Count(s.seq_write_mibs));
}

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
  std::string baseline_kind = o.baseline;
  if (baseline_kind == "auto") baseline_kind = fabric_name == "tcp" ? "plain" : "raw";
  if (baseline_kind != "plain" && baseline_kind != "raw") {
    fprintf(stderr, "vifiler-bench: --baseline must be auto, plain or raw, not %s\n",
            o.baseline.c_str());
    return 1;
  }
  if (o.runs < 1) {
    fprintf(stderr, "vifiler-bench: --runs must be at least 1\n");
    return 1;
  }
  transport::NameResolver resolver(o.client.hosts_file);
  absl::StatusOr<std::string> address = resolver.Resolve(o.server);
  if (!address.ok()) {
    fprintf(stderr, "vifiler-bench: %s\n", address.status().ToString().c_str());
    return 1;
  }
  PerfOptions options = o;
  options.client.fabric = fabric_name;

  // vifiler's files are written first; then the baseline server fills its own, and the rounds
  // alternate: baseline, vifiler, baseline, vifiler, ...
  client::ClientOptions copts = options.client;
  copts.slots = std::max<uint32_t>(copts.slots, static_cast<uint32_t>(o.many_outstanding));
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(o.server, copts);
  if (!c.ok()) {
    fprintf(stderr, "vifiler-bench: vifiler: %s\n", c.status().ToString().c_str());
    return 1;
  }
  VifilerLoadOptions lo;
  lo.file_size = o.file_size;
  lo.bulk_size = o.bulk_size;
  lo.warmup = o.warmup;
  lo.duration = o.duration;
  VifilerLoad load(c->get(), lo);
  std::vector<Summary> vifiler_rounds;
  bool vifiler_failed = false;
  const VifilerRound vifiler_round = [&]() -> absl::Status {
    absl::StatusOr<Figures> f = VifilerRoundOf(options, load);
    if (!f.ok()) {
      vifiler_failed = true;
      return f.status();
    }
    vifiler_rounds.push_back(Summarize(*f));
    return absl::OkStatus();
  };
  Baseline base;
  absl::Status s = load.Prepare();
  if (!s.ok()) {
    vifiler_failed = true;
  } else {
    s = baseline_kind == "plain" ? MeasurePlain(options, *address, vifiler_round, &base)
                                 : MeasureRaw(options, fabric_name, *address, vifiler_round, &base);
  }
  load.Cleanup();
  if (!s.ok()) {
    fprintf(stderr, "vifiler-bench: %s: %s\n", vifiler_failed ? "vifiler" : baseline_kind.c_str(),
            s.ToString().c_str());
    return 1;
  }
  const Summary v = MedianOf(vifiler_rounds);
  const Summary b = MedianOf(base.rounds);

  absl::StatusOr<pid_t> filer_pid =
      o.filer_pid > 0 ? absl::StatusOr<pid_t>(o.filer_pid) : FindFilerPid(*address, o.server);
  const std::string filer_cpus =
      filer_pid.ok() ? absl::StrCat(AffinityText(AffinityOf(*filer_pid)), " (pid ", *filer_pid, ")")
                     : absl::StrCat("unknown (", filer_pid.status().message(), ")");
  // The targets are the issue's: vifiler on tcp against a plain socket file server.
  const bool judged = fabric_name == "tcp" && base.name == "plain";

  printf("vifiler-bench: fabric=%s server=%s (%s:%u), %zu MiB files, %s per test\n",
         fabric_name.c_str(), o.server.c_str(), address->c_str(), o.client.primary_discriminator,
         o.file_size >> 20, absl::FormatDuration(o.duration).c_str());
  printf("baseline %s\n", base.description.c_str());
  printf("pinning: client %s; filer %s; %s server %s\n", AffinityText(AffinityOf(0)).c_str(),
         filer_cpus.c_str(), base.name.c_str(), base.server_cpus.c_str());
  printf("figures: %s\n", o.runs == 1 ? "one round"
                                      : absl::StrCat("medians of ", o.runs, " interleaved rounds (",
                                                     base.name, ", vifiler, ", base.name, ", ...)")
                                            .c_str());
  printf("\n%-36s %14s %14s %8s  %s\n", "measure", "vifiler", base.name.c_str(), "ratio", "target");

  int missed = 0;
  auto verdict = [&](bool ok, const std::string& text) -> std::string {
    if (!judged) return absl::StrCat(text, " (judged on tcp against plain only)");
    if (!ok) ++missed;
    return absl::StrCat(text, ok ? "  PASS" : "  FAIL");
  };
  const std::string small = absl::StrCat(o.small_size / 1024, " KiB");
  const std::string bulk = absl::StrCat(o.bulk_size >> 20, " MiB");

  const double read_p50_ratio = Ratio(v.read_p50_us, b.read_p50_us);
  Row(small + " read latency p50", Micros(v.read_p50_us), Micros(b.read_p50_us), read_p50_ratio,
      verdict(read_p50_ratio <= kReadLatencyTarget,
              absl::StrFormat("<= %.1fx", kReadLatencyTarget)));
  Row(small + " read latency p99", Micros(v.read_p99_us), Micros(b.read_p99_us),
      Ratio(v.read_p99_us, b.read_p99_us), "");
  Row(small + " write latency p50", Micros(v.write_p50_us), Micros(b.write_p50_us),
      Ratio(v.write_p50_us, b.write_p50_us), "");
  Row(small + " write latency p99", Micros(v.write_p99_us), Micros(b.write_p99_us),
      Ratio(v.write_p99_us, b.write_p99_us), "");
  Row(small + " read ops/s, 1 outstanding", Count(v.read_ops), Count(b.read_ops),
      Ratio(v.read_ops, b.read_ops), "");
  const double many_ratio = Ratio(v.read_many_ops, b.read_many_ops);
  Row(absl::StrCat(small, " rand read ops/s, ", o.many_outstanding, " outst."),
      Count(v.read_many_ops), Count(b.read_many_ops), many_ratio,
      verdict(many_ratio >= kReadManyTarget, absl::StrFormat(">= %.1fx", kReadManyTarget)));
  const double read_bulk_ratio = Ratio(v.seq_read_mibs, b.seq_read_mibs);
  Row(absl::StrCat(bulk, " seq read MiB/s, ", o.bulk_outstanding, " outst."),
      Count(v.seq_read_mibs), Count(b.seq_read_mibs), read_bulk_ratio,
      verdict(read_bulk_ratio >= kReadBulkTarget, absl::StrFormat(">= %.1fx", kReadBulkTarget)));
  const double write_bulk_ratio = Ratio(v.seq_write_mibs, b.seq_write_mibs);
  Row(absl::StrCat(bulk, " seq write MiB/s, ", o.bulk_outstanding, " outst."),
      Count(v.seq_write_mibs), Count(b.seq_write_mibs), write_bulk_ratio,
      verdict(write_bulk_ratio >= kWriteBulkTarget, absl::StrFormat(">= %.1fx", kWriteBulkTarget)));
  if (judged) {
    printf("\ntargets: %s (%d missed)\n", missed == 0 ? "all met" : "MISSED", missed);
  } else {
    printf("\ntargets are judged on tcp against the plain baseline only; figures printed\n");
  }
  fflush(stdout);
  return o.enforce_targets && missed > 0 ? 1 : 0;
}

int RunBaselineOnly(const PerfOptions& o) {
  Baseline base;
  absl::Status s = MeasurePlain(o, o.plain_address, nullptr, &base);
  if (!s.ok()) {
    fprintf(stderr, "vifiler-bench: plain baseline: %s\n", s.ToString().c_str());
    return 1;
  }
  const Summary m = MedianOf(base.rounds);
  printf("baseline %s\nserver %s; %s; %zu round(s)\n\n", base.description.c_str(),
         base.server_cpus.c_str(), base.server_exit.c_str(), base.rounds.size());
  PrintSummary(o, m);
  int bad = 0;
  const double figures[] = {m.read_p50_us,   m.read_p99_us,   m.write_p50_us,  m.read_ops,
                            m.read_many_ops, m.seq_read_mibs, m.seq_write_mibs};
  for (double f : figures) {
    if (!(f > 0)) ++bad;
  }
  if (m.fewest_operations == 0) ++bad;
  if (bad > 0) fprintf(stderr, "vifiler-bench: %d baseline figures are zero\n", bad);
  if (!base.server_stopped_cleanly) {
    fprintf(stderr, "vifiler-bench: the plain server did not stop cleanly: %s\n",
            base.server_exit.c_str());
    ++bad;
  }
  fflush(stdout);
  return bad == 0 ? 0 : 1;
}

}  // namespace bench
}  // namespace vifiler
