// Copyright 2026 The vifiler Authors.

#include "tools/bench/testbed_failover_mode.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "tools/bench/latency_samples.h"
#include "tools/bench/testbed_agent.h"
#include "tools/client_flags.h"
#include "tools/load/load_summary.h"
#include "tools/testbed/pair_testbed.h"
#include "tools/testbed/status_watch.h"

DECLARE_bool(failover);
DECLARE_bool(keep);
DECLARE_string(fabric);
DECLARE_string(hosts_file);
DECLARE_uint32(keepalive_interval_ms);
DECLARE_uint32(keepalive_timeout_ms);

DEFINE_bool(testbed, false,
            "with --failover: the failover benchmark with real power cuts, on the vm-cluster "
            "test bed (three QEMU guests: filer-a on a, filer-b on b, a stream writer on c; "
            "shared virtio disks; TCG emulation, so the figures are not hardware figures). "
            "Needs no running filer; takes 10-25 minutes for "
            "10 cuts. Exact command, from the source dir: "
            "flock /tmp/ceo-cpu.lock build/tools/bench/vifiler-bench --failover --testbed "
            "--cuts=10 --fabric=tcp");
DEFINE_int32(cuts, 10,
             "--failover --testbed: power cuts of the serving host (a, b, a, b, ...), each "
             "followed by a power-on, filer restart and giveback");
DEFINE_string(testbed_vm_cluster, "",
              "--testbed: path of tools/rxe-vm/vm-cluster (default: $VIFILER_VM_CLUSTER, else "
              "tools/rxe-vm/vm-cluster in the parent of the build directory)");
DEFINE_string(testbed_build_dir, "",
              "--testbed: the build directory whose tools/vifilerd and tools/vifilerctl the "
              "guests run (default: two levels above this binary)");
DEFINE_string(testbed_filer_flags, "",
              "--testbed: extra vifilerd flags, space separated (e.g. --lease_ms=1000)");
DEFINE_uint32(testbed_write_interval_ms, 5,
              "--testbed: pause of the stream writer after each request");
DEFINE_uint32(testbed_client_deadline_ms, 60000,
              "--testbed: the stream writer's failover deadline");
DEFINE_bool(testbed_watch, false, "internal: the test bed's status watcher (runs in a guest)");
DEFINE_bool(testbed_writer, false, "internal: the test bed's stream writer (runs in a guest)");
DEFINE_string(testbed_filers, "",
              "internal: --testbed_watch: NAME=ADDRESS,...; --testbed_writer: NAME,...");
DEFINE_string(testbed_out_dir, "", "internal: --testbed_watch: where the status files go");
DEFINE_string(testbed_secret, "", "internal: --testbed_watch: the filers' admin secret");

namespace vifiler {
namespace bench {
namespace {

using testbed::FilerStatus;
using testbed::PairTestbed;

constexpr absl::Duration kStepTimeout = absl::Minutes(3);
constexpr absl::Duration kStallTarget99 = absl::Seconds(1);
constexpr char kStallPrefix[] = "testbed-writer stall: ";
constexpr char kProgressPrefix[] = "testbed-writer progress: ";
constexpr char kSummaryPrefix[] = "testbed-writer summary: ";

std::string Secs(absl::Duration d) { return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(d)); }
std::string Millis(absl::Duration d) {
  return absl::StrFormat("%.0f ms", absl::ToDoubleMilliseconds(d));
}

bool InTakeover(const FilerStatus& s) {
  return s.reachable && s.Get("state") == "takeover" && s.Get("secondary_port") == "open";
}

// The lines of the writer's output that start with prefix, as key=value maps.
std::vector<std::map<std::string, std::string>> Lines(const std::string& text,
                                                      absl::string_view prefix) {
  std::vector<std::map<std::string, std::string>> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, prefix)) {
      out.push_back(load::ParseKeyValues(line.substr(prefix.size())));
    }
  }
  return out;
}

class Bench {
 public:
  Bench(std::string self, std::string fabric)
      : self_(std::move(self)), fabric_(std::move(fabric)) {}

  int Run();

 private:
  std::string WriterText() const { return testbed::ReadWholeFile(writer_out_); }
  // Stall events of the filer's stream of this kind.
  std::vector<std::map<std::string, std::string>> Events(const std::string& filer,
                                                         const std::string& kind) const {
    std::vector<std::map<std::string, std::string>> out;
    for (auto& e : Lines(WriterText(), kStallPrefix)) {
      if (e["filer"] == filer && e["kind"] == kind) out.push_back(e);
    }
    return out;
  }
  uint64_t Acked(const std::string& filer) const {
    uint64_t acked = 0;
    for (auto& p : Lines(WriterText(), kProgressPrefix)) {
      if (p["filer"] == filer) acked = std::strtoull(p["acked"].c_str(), nullptr, 10);
    }
    return acked;
  }
  // Waits until both streams acknowledged `more` requests beyond now.
  absl::Status WaitStreams(uint64_t more, absl::Duration timeout) const;
  // Waits for the count-th event (1-based) of the kind on the filer's stream; its ms.
  absl::StatusOr<absl::Duration> WaitEvent(const std::string& filer, const std::string& kind,
                                           size_t count, absl::Duration timeout) const;
  // One cut of the host; figures into the samples.
  absl::Status Cut(int number, const std::string& host);
  void Restore();

  const std::string self_;
  const std::string fabric_;
  std::unique_ptr<PairTestbed> tb_;
  std::string writer_job_;
  std::string writer_out_, writer_err_;
  LatencySamples stalls_, failbacks_, takeovers_, boots_;
  int failed_cuts_ = 0;
  std::vector<std::string> anomalies_;
};

absl::Status Bench::WaitStreams(uint64_t more, absl::Duration timeout) const {
  const uint64_t a = Acked("filer-a");
  const uint64_t b = Acked("filer-b");
  const absl::Time deadline = absl::Now() + timeout;
  while (Acked("filer-a") < a + more || Acked("filer-b") < b + more) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the streams made no progress in ", Secs(timeout), ": filer-a acked ",
                       Acked("filer-a"), ", filer-b acked ", Acked("filer-b"),
                       "; writer stderr: ", testbed::FileTail(writer_err_, 5)));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> Bench::WaitEvent(const std::string& filer, const std::string& kind,
                                                size_t count, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::vector<std::map<std::string, std::string>> events = Events(filer, kind);
    if (events.size() >= count) {
      return absl::Milliseconds(std::strtoll(events[count - 1]["ms"].c_str(), nullptr, 10));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no ", kind, " of the ", filer, " stream within ", Secs(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::Status Bench::Cut(int number, const std::string& host) {
  const std::string filer = PairTestbed::FilerName(host);
  const std::string partner = PairTestbed::Partner(host);
  absl::Status s = WaitStreams(5, kStepTimeout);
  if (!s.ok()) return s;
  const size_t failovers = Events(filer, "failover").size();
  const size_t failbacks = Events(filer, "failback").size();

  s = tb_->PowerCut(host);
  if (!s.ok()) return s;
  const absl::Time cut = absl::Now();
  absl::StatusOr<FilerStatus> p = tb_->WaitStatus(partner, InTakeover, kStepTimeout,
                                                  PairTestbed::FilerName(partner) + " takes over");
  if (!p.ok()) return p.status();
  const absl::Duration takeover = absl::Now() - cut;
  absl::StatusOr<absl::Duration> stall = WaitEvent(filer, "failover", failovers + 1, kStepTimeout);
  if (!stall.ok()) return stall.status();

  absl::Time t = absl::Now();
  s = tb_->Restart(host);
  if (!s.ok()) return s;
  const absl::Duration boot = absl::Now() - t;
  s = tb_->StartFiler(host, fabric_);
  if (!s.ok()) return s;
  absl::StatusOr<FilerStatus> w = tb_->WaitStatus(
      host, [](const FilerStatus& x) { return x.Get("state") == "waiting-for-giveback"; },
      kStepTimeout, filer + " waits for giveback");
  if (!w.ok()) return w.status();
  absl::StatusOr<testbed::ExecResult> gb = tb_->Ctl("giveback", partner);
  if (!gb.ok()) return gb.status();
  if (gb->exit_code != 0) return absl::InternalError("giveback failed: " + gb->out + gb->err);
  s = tb_->WaitBothUp(kStepTimeout);
  if (!s.ok()) return s;
  absl::StatusOr<absl::Duration> back = WaitEvent(filer, "failback", failbacks + 1, kStepTimeout);
  if (!back.ok()) return back.status();

  stalls_.Add(*stall);
  failbacks_.Add(*back);
  takeovers_.Add(takeover);
  boots_.Add(boot);
  printf(
      "cut %d/%d: power cut of %s (%s): takeover seen after %s, client stall %s; guest "
      "back in %s, giveback pause %s\n",
      number, FLAGS_cuts, host.c_str(), filer.c_str(), Secs(takeover).c_str(),
      Millis(*stall).c_str(), Secs(boot).c_str(), Millis(*back).c_str());
  fflush(stdout);
  return absl::OkStatus();
}

void Bench::Restore() {
  std::vector<std::string> actions, anomalies;
  absl::Status s = tb_->RestoreBothUp(fabric_, absl::Minutes(5), &actions, &anomalies);
  for (const std::string& a : actions) printf("  restore: %s\n", a.c_str());
  for (const std::string& a : anomalies) {
    printf("  ANOMALY: %s\n", a.c_str());
    anomalies_.push_back(a);
  }
  if (!s.ok()) printf("  restore failed: %s\n", s.ToString().c_str());
  fflush(stdout);
}

int Bench::Run() {
  const absl::Time start = absl::Now();
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self_dir = fs::path(self_).parent_path();
  const std::string build_dir = !FLAGS_testbed_build_dir.empty()
                                    ? FLAGS_testbed_build_dir
                                    : fs::weakly_canonical(self_dir / ".." / "..", ec).string();
  std::string script = FLAGS_testbed_vm_cluster;
  if (script.empty() && getenv("VIFILER_VM_CLUSTER") != nullptr) {
    script = getenv("VIFILER_VM_CLUSTER");
  }
  if (script.empty()) {
    script = (fs::path(build_dir).parent_path() / "tools" / "rxe-vm" / "vm-cluster").string();
  }
  if (access(script.c_str(), X_OK) != 0) {
    fprintf(stderr, "vifiler-bench --testbed: no vm-cluster script at %s (--testbed_vm_cluster)\n",
            script.c_str());
    return 1;
  }
  std::string share = "/tmp/vifiler-testbed-XXXXXX";
  if (getenv("TMPDIR") != nullptr)
    share = std::string(getenv("TMPDIR")) + "/vifiler-testbed-XXXXXX";
  if (mkdtemp(share.data()) == nullptr) {
    fprintf(stderr, "vifiler-bench --testbed: cannot create %s\n", share.c_str());
    return 1;
  }
  printf(
      "vifiler-bench --failover --testbed: %d power cuts on %s; guests a (filer-a), b "
      "(filer-b), c (stream writer) under QEMU TCG emulation\n",
      FLAGS_cuts, fabric_.c_str());
  printf("build %s, vm-cluster %s, share %s\n", build_dir.c_str(), script.c_str(), share.c_str());
  printf("vifilerd flags: [%s]; client keepalive every %u ms, link presumed lost after %u ms\n",
         FLAGS_testbed_filer_flags.c_str(), FLAGS_keepalive_interval_ms,
         FLAGS_keepalive_timeout_ms);
  fflush(stdout);

  testbed::PairTestbedOptions o;
  o.build_dir = build_dir;
  o.share_dir = share;
  o.watch_command = {self_, "--testbed_watch"};
  o.filer_flags = absl::StrSplit(FLAGS_testbed_filer_flags, ' ', absl::SkipEmpty());
  o.vm_cluster_script = script;
  o.keep_cluster = FLAGS_keep;
  absl::StatusOr<std::unique_ptr<PairTestbed>> tb = PairTestbed::Create(o);
  if (!tb.ok()) {
    fprintf(stderr, "vifiler-bench --testbed: the test bed did not come up: %s\n",
            tb.status().ToString().c_str());
    return 1;
  }
  tb_ = std::move(*tb);
  printf("test bed up in %s\n", Secs(absl::Now() - start).c_str());
  Restore();

  writer_out_ = share + "/writer.out";
  writer_err_ = share + "/writer.err";
  absl::StatusOr<std::string> job = tb_->cluster().Start(
      "c", {"sh", "-c", "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"", "sh",
            writer_out_, writer_err_, self_, "--testbed_writer", "--testbed_filers=filer-a,filer-b",
            "--hosts_file=" + tb_->hosts_file(), "--fabric=" + fabric_,
            absl::StrCat("--failover_deadline_ms=", FLAGS_testbed_client_deadline_ms),
            absl::StrCat("--keepalive_interval_ms=", FLAGS_keepalive_interval_ms),
            absl::StrCat("--keepalive_timeout_ms=", FLAGS_keepalive_timeout_ms),
            absl::StrCat("--testbed_write_interval_ms=", FLAGS_testbed_write_interval_ms)});
  bool ok = job.ok();
  if (!ok) {
    printf("cannot start the writer: %s\n", job.status().ToString().c_str());
  } else {
    writer_job_ = *job;
    absl::Status s = WaitStreams(10, kStepTimeout);
    if (!s.ok()) {
      printf("the writer did not start streaming: %s\n", s.ToString().c_str());
      ok = false;
    }
  }
  for (int i = 1; ok && i <= FLAGS_cuts; ++i) {
    absl::Status s = Cut(i, i % 2 == 1 ? "a" : "b");
    if (!s.ok()) {
      ++failed_cuts_;
      printf("cut %d/%d FAILED: %s\n%s", i, FLAGS_cuts, s.ToString().c_str(),
             tb_->LogTails(30).c_str());
      Restore();
    }
  }

  // Stop the writer; it reads everything back.
  std::map<std::string, std::map<std::string, std::string>> summaries;
  if (!writer_job_.empty()) {
    tb_->cluster().Signal("c", writer_job_, SIGTERM).IgnoreError();
    absl::StatusOr<testbed::ExecResult> r =
        tb_->cluster().Wait("c", writer_job_, absl::Minutes(10));
    if (!r.ok()) printf("the writer did not finish: %s\n", r.status().ToString().c_str());
    for (auto& s : Lines(WriterText(), kSummaryPrefix)) summaries[s["filer"]] = s;
  }
  uint64_t acked = 0, lost = 0, twice = 0, errors = 0;
  bool verified = summaries.size() == 2;
  for (auto& [filer, s] : summaries) {
    acked += std::strtoull(s["acked"].c_str(), nullptr, 10);
    lost += std::strtoull(s["lost"].c_str(), nullptr, 10);
    twice += std::strtoull(s["twice"].c_str(), nullptr, 10);
    errors += std::strtoull(s["errors"].c_str(), nullptr, 10);
    verified = verified && s["verified"] == "yes";
    printf("stream %s: acked %s, twice %s, errors %s, lost %s, verified %s\n", filer.c_str(),
           s["acked"].c_str(), s["twice"].c_str(), s["errors"].c_str(), s["lost"].c_str(),
           s["verified"].c_str());
  }
  int shown = 0;
  for (absl::string_view line : absl::StrSplit(WriterText(), '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "testbed-writer problem: ") && shown++ < 20) {
      printf("  %s\n", std::string(line).c_str());
    }
  }

  printf("\nresults (%d of %d cuts completed, %s; TCG-emulated guests on a shared host):\n",
         static_cast<int>(stalls_.count()), FLAGS_cuts, fabric_.c_str());
  if (stalls_.count() > 0) {
    printf(
        "  client stall (last completion before the cut -> first on the partner): p50 %s  "
        "p99 %s  max %s\n",
        Millis(stalls_.Percentile(50)).c_str(), Millis(stalls_.Percentile(99)).c_str(),
        Millis(stalls_.Max()).c_str());
    printf("  takeover seen by the watcher on c after the cut: p50 %s  max %s\n",
           Secs(takeovers_.Percentile(50)).c_str(), Secs(takeovers_.Max()).c_str());
    printf("  giveback pause of the stream: p50 %s  max %s\n",
           Millis(failbacks_.Percentile(50)).c_str(), Millis(failbacks_.Max()).c_str());
    printf("  guest power-on to agent: p50 %s  max %s\n", Secs(boots_.Percentile(50)).c_str(),
           Secs(boots_.Max()).c_str());
  }
  const bool all_cuts = static_cast<int>(stalls_.count()) == FLAGS_cuts && failed_cuts_ == 0;
  const bool stall_ok = stalls_.count() > 0 && stalls_.Percentile(99) < kStallTarget99;
  printf(
      "  acknowledged requests: %llu; lost: %llu %s; executed twice: %llu %s; errors: %llu "
      "%s; verified: %s\n",
      static_cast<unsigned long long>(acked), static_cast<unsigned long long>(lost),
      verified && lost == 0 ? "PASS" : "FAIL", static_cast<unsigned long long>(twice),
      twice == 0 ? "PASS" : "FAIL", static_cast<unsigned long long>(errors),
      errors == 0 ? "PASS" : "FAIL", verified ? "yes" : "NO");
  printf("  stall p99 < %s: %s\n", Millis(kStallTarget99).c_str(), stall_ok ? "PASS" : "FAIL");
  printf("  cuts completed: %s; recoveries that needed help: %zu %s\n",
         all_cuts ? "all PASS" : "FAIL", anomalies_.size(), anomalies_.empty() ? "PASS" : "FAIL");
  const bool pass = all_cuts && stall_ok && verified && lost == 0 && twice == 0 && errors == 0 &&
                    anomalies_.empty();
  printf("result: %s (targets: stall p99 < 1 s, 0 lost, 0 twice, 0 errors; %s in total)\n",
         pass ? "PASS" : "FAIL", Secs(absl::Now() - start).c_str());
  fflush(stdout);

  tb_.reset();
  if (pass && !FLAGS_keep) {
    fs::remove_all(share, ec);
  } else {
    printf("share kept (filer logs, status files, writer output): %s\n", share.c_str());
  }
  return pass ? 0 : 1;
}

}  // namespace

bool TestbedModeRequested() {
  return (FLAGS_failover && FLAGS_testbed) || FLAGS_testbed_watch || FLAGS_testbed_writer;
}

int RunTestbedMode(const std::string& self_path) {
  if (FLAGS_testbed_watch) {
    testbed::StatusWatchOptions o;
    o.filers = testbed::ParseFilerList(FLAGS_testbed_filers);
    o.out_dir = FLAGS_testbed_out_dir;
    o.secret = FLAGS_testbed_secret;
    return testbed::RunStatusWatch(o);
  }
  if (FLAGS_testbed_writer) {
    TestbedWriterOptions o;
    o.filers = absl::StrSplit(FLAGS_testbed_filers, ',', absl::SkipEmpty());
    o.client = tools::ClientOptionsFromFlags();
    o.interval = absl::Milliseconds(FLAGS_testbed_write_interval_ms);
    return RunTestbedWriter(o);
  }
  const std::string fabric = FLAGS_fabric == "auto" ? "tcp" : FLAGS_fabric;
  if (fabric != "tcp" && fabric != "rdma") {
    fprintf(stderr, "vifiler-bench --testbed: --fabric must be tcp or rdma\n");
    return 2;
  }
  if (FLAGS_cuts < 1) {
    fprintf(stderr, "vifiler-bench --testbed: --cuts must be at least 1\n");
    return 2;
  }
  if (self_path.empty()) {
    fprintf(stderr, "vifiler-bench --testbed: cannot find its own binary\n");
    return 1;
  }
  Bench bench(self_path, fabric);
  return bench.Run();
}

}  // namespace bench
}  // namespace vifiler
