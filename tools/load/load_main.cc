// Copyright 2026 The vifiler Authors.
//
// vifiler-load: a verified client workload. Connects to a filer (failing over to its partner
// as any application would), runs --threads threads of VerifiedWorkload (see
// verified_workload.h for the operation mix, the record format and the checks) for
// --duration or until SIGINT/SIGTERM, then stops issuing, waits until the filer answers, reads
// the volume back and prints one summary line (load_summary.h), or a JSON object with --json.
// Exit status 0 only when the run was verified and twice = errors = lost = 0; 1 otherwise;
// 2 for bad flags.
//
//   vifiler-load --server=filer-a [--hosts_file=F] [--fabric=tcp] [--threads=2]
//                [--duration=60s] [--prefix=vifiler-load] [--json]

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clientlib/client.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/client_flags.h"
#include "tools/load/load_summary.h"
#include "tools/load/verified_workload.h"
#include "tools/tool_main.h"

DECLARE_uint32(failover_deadline_ms);
DECLARE_uint32(request_timeout_ms);

DEFINE_string(server, "filer-a", "name of the filer to connect to");
DEFINE_int32(threads, 2, "workload threads, each in its own directory, sharing one client");
DEFINE_string(duration, "0",
              "how long to issue requests (e.g. 30s, 5m; a bare number is seconds); 0: until "
              "SIGINT or SIGTERM");
DEFINE_string(prefix, "vifiler-load",
              "directory on the volume under which each thread gets <client-id>-t<N>");
DEFINE_bool(json, false, "print the summary as one JSON object instead of the summary line");
DEFINE_uint32(op_interval_us, 0, "pause of each thread after each request");
DEFINE_uint32(progress_interval_ms, 0,
              "print a progress line (acked, twice, errors so far) this often; 0: never");
DEFINE_uint32(verify_timeout_s, 120,
              "after stopping, wait this long for the filer (or its partner) to answer before "
              "giving up the verification");

namespace vifiler {
namespace load {
namespace {

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

absl::StatusOr<absl::Duration> ParseDurationFlag(const std::string& text) {
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds) && seconds >= 0) return absl::Seconds(seconds);
  absl::Duration d;
  if (absl::ParseDuration(text, &d) && d >= absl::ZeroDuration()) return d;
  return absl::InvalidArgumentError(absl::StrCat("--duration: cannot parse '", text, "'"));
}

struct Totals {
  uint64_t acked = 0, twice = 0, errors = 0, lost = 0, cycles = 0;
  absl::Duration max_stall;
};

Totals Sum(const std::vector<std::unique_ptr<VerifiedWorkload>>& workloads) {
  Totals t;
  for (const auto& w : workloads) {
    t.acked += w->acked();
    t.twice += w->twice();
    t.errors += w->errors();
    t.lost += w->lost();
    t.cycles += w->cycles();
    t.max_stall = std::max(t.max_stall, w->max_stall());
  }
  return t;
}

int Finish(LoadSummary summary) {
  if (FLAGS_json) {
    printf("%s\n", FormatSummaryJson(summary).c_str());
  } else {
    printf("%s\n", FormatSummaryLine(summary).c_str());
  }
  fflush(stdout);
  fflush(stderr);
  return summary.Passed() ? 0 : 1;
}

int Main() {
  absl::StatusOr<absl::Duration> duration = ParseDurationFlag(FLAGS_duration);
  if (!duration.ok() || FLAGS_threads < 1 || FLAGS_threads > 64) {
    fprintf(stderr, "vifiler-load: %s\n",
            duration.ok() ? "--threads must be 1..64" : duration.status().ToString().c_str());
    return 2;
  }
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  LoadSummary summary;
  summary.threads = FLAGS_threads;
  absl::StatusOr<std::unique_ptr<client::Client>> connected =
      client::Client::Connect(FLAGS_server, tools::ClientOptionsFromFlags());
  if (!connected.ok()) {
    summary.errors = 1;
    summary.problems.push_back(absl::StrCat("connect: ", connected.status().ToString()));
    fprintf(stderr, "%s%s\n", kProblemPrefix, summary.problems.back().c_str());
    return Finish(summary);
  }
  std::unique_ptr<client::Client> client = std::move(*connected);
  summary.client_id = client->client_id();

  WorkloadOptions wo;
  wo.prefix = FLAGS_prefix;
  wo.op_interval = absl::Microseconds(FLAGS_op_interval_us);
  std::vector<std::unique_ptr<VerifiedWorkload>> workloads;
  std::string dirs;
  for (int t = 0; t < FLAGS_threads; ++t) {
    workloads.push_back(std::make_unique<VerifiedWorkload>(client.get(), t, wo));
    if (workloads.back()->Setup().ok()) {
      absl::StrAppend(&dirs, dirs.empty() ? "" : ",", workloads.back()->dir());
    }
  }
  printf("%sclient=%s threads=%d dirs=%s\n", kReadyPrefix, summary.client_id.c_str(), FLAGS_threads,
         dirs.empty() ? "-" : dirs.c_str());
  fflush(stdout);

  const absl::Time start = absl::Now();
  const absl::Time deadline =
      *duration == absl::ZeroDuration() ? absl::InfiniteFuture() : start + *duration;
  std::atomic<int> running{FLAGS_threads};
  std::vector<std::thread> threads;
  for (auto& w : workloads) {
    VerifiedWorkload* workload = w.get();
    threads.emplace_back([workload, deadline, &running] {
      workload->Run(&g_stop, deadline);
      --running;
    });
  }
  // The threads stop at the next request after the stop; one in a request is bounded by the
  // client's own deadlines (failover deadline, request timeout).
  const absl::Duration stop_bound = absl::Milliseconds(FLAGS_failover_deadline_ms) +
                                    absl::Milliseconds(FLAGS_request_timeout_ms) +
                                    absl::Seconds(30);
  absl::Time stop_deadline = absl::InfiniteFuture();
  absl::Time next_progress = start + absl::Milliseconds(FLAGS_progress_interval_ms);
  while (running.load() > 0) {
    absl::SleepFor(absl::Milliseconds(20));
    const absl::Time now = absl::Now();
    if ((g_stop.load() || now >= deadline) && stop_deadline == absl::InfiniteFuture()) {
      stop_deadline = now + stop_bound;
    }
    if (now >= stop_deadline) {
      summary.problems.push_back(absl::StrCat(running.load(), " thread(s) still in a request ",
                                              absl::FormatDuration(stop_bound), " after the stop"));
      fprintf(stderr, "%s%s\n", kProblemPrefix, summary.problems.back().c_str());
      const Totals t = Sum(workloads);
      summary.acked = t.acked;
      summary.twice = t.twice;
      summary.errors = t.errors + 1;
      summary.max_stall_ms = absl::ToInt64Milliseconds(std::max(t.max_stall, stop_bound));
      Finish(summary);
      _exit(1);  // the stuck threads cannot be joined
    }
    if (FLAGS_progress_interval_ms > 0 && now >= next_progress) {
      const Totals t = Sum(workloads);
      const client::ClientStats cs = client->stats();
      printf(
          "%sacked=%llu twice=%llu errors=%llu max_stall_ms=%lld failovers=%llu "
          "failbacks=%llu serving=%s\n",
          kProgressPrefix, static_cast<unsigned long long>(t.acked),
          static_cast<unsigned long long>(t.twice), static_cast<unsigned long long>(t.errors),
          static_cast<long long>(absl::ToInt64Milliseconds(t.max_stall)),
          static_cast<unsigned long long>(cs.failovers),
          static_cast<unsigned long long>(cs.failbacks),
          cs.serving_filer.empty() ? "-" : cs.serving_filer.c_str());
      fflush(stdout);
      next_progress = now + absl::Milliseconds(FLAGS_progress_interval_ms);
    }
  }
  for (std::thread& t : threads) t.join();
  summary.seconds = absl::ToDoubleSeconds(absl::Now() - start);

  // Stopped issuing; wait until the filer (or the partner serving its volume) answers.
  const absl::Time verify_deadline = absl::Now() + absl::Seconds(FLAGS_verify_timeout_s);
  absl::Status answered = client->Null();
  while (!answered.ok() && absl::Now() < verify_deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    answered = client->Null();
  }
  summary.verified = answered.ok();
  if (!answered.ok()) {
    summary.problems.push_back(absl::StrCat("not verified: the filer did not answer within ",
                                            FLAGS_verify_timeout_s, " s: ", answered.ToString()));
    fprintf(stderr, "%s%s\n", kProblemPrefix, summary.problems.back().c_str());
  }
  for (auto& w : workloads) {
    if (!summary.verified) break;
    absl::StatusOr<uint64_t> lost = w->Verify();
    if (!lost.ok()) {
      summary.verified = false;
      summary.problems.push_back(absl::StrCat("not verified: ", lost.status().ToString()));
      fprintf(stderr, "%s%s\n", kProblemPrefix, summary.problems.back().c_str());
    }
  }

  const Totals t = Sum(workloads);
  summary.acked = t.acked;
  summary.twice = t.twice;
  summary.errors += t.errors;
  summary.lost = t.lost;
  summary.cycles = t.cycles;
  summary.max_stall_ms = absl::ToInt64Milliseconds(t.max_stall);
  const client::ClientStats cs = client->stats();
  summary.failovers = cs.failovers;
  summary.failbacks = cs.failbacks;
  summary.reconnects = cs.reconnects;
  summary.replays = cs.replays;
  summary.keepalive_failures = cs.keepalive_failures;
  summary.root_mismatches = cs.root_mismatches;
  for (auto& w : workloads) {
    for (const std::string& p : w->problems()) {
      if (summary.problems.size() < 20) summary.problems.push_back(p);
    }
  }
  const int code = Finish(summary);
  client.reset();
  return code;
}

}  // namespace
}  // namespace load
}  // namespace vifiler

int main(int argc, char** argv) {
  vifiler::tools::ParseToolCommandLine(
      "a verified client workload: each thread appends records, overwrites versioned slots and "
      "runs create/rename/mkdir/remove/rmdir chains in its own directory, classifies every "
      "answer (acknowledged, executed twice, error), then reads the volume back and prints one "
      "summary line; exit 0 only when twice = errors = lost = 0.\n"
      "  vifiler-load --server=filer-a [--hosts_file=F] [--fabric=tcp] [--threads=2] "
      "[--duration=60s | until SIGINT/SIGTERM] [--prefix=vifiler-load] [--json]",
      &argc, &argv);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  vifiler::tools::RouteLogToGlog();
  return vifiler::load::Main();
}
