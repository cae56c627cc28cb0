// Copyright 2026 The vifiler Authors.
//
// The HA pair on separate hosts (suite 'hosts'): one vm-cluster boot for the whole binary
// (tools/testbed/pair_testbed.h: guests a, b, c; shared disks va and vb of 256 MiB formatted as
// filer-a's and filer-b's volumes; filer-a on a, filer-b on b, clients on c; the build directory
// read-only and a scratch share for logs, status files and results). Each test starts from
// "both up" (restoring it if needed) and prints its timings ("[timing]") and figures.
//
//  PowerCutUnderLoadTcp / PowerCutUnderLoadRdma: 4 (rdma: 2) vifiler-load processes of 2
//    threads on c against filer-a; power cut of a; filer-b takes over (at a higher epoch than
//    filer-a held) and every loader continues on its secondary port; a is powered on again, its
//    filer waits for giveback, gets it; every loader then verifies: twice = errors = lost = 0.
//  PowerCutDuringGiveback: loaders against both filers; a is cut and comes back; while filer-b
//    gives filer-a's volume back, b is cut: filer-a must end up serving both volumes, loaders
//    carry on without an error, and after b is back (giveback) all verify clean.
//  PowerCutOfTakeoverHost: a is cut, filer-b serves both volumes, then b is cut too: loaders
//    (--failover_deadline_ms=5000) get a clear UNAVAILABLE error after their deadline; both hosts
//    are powered on again and the pair restored; nothing acknowledged is lost and nothing ran
//    twice (each loader's own read-back after the hosts are back).
//  IsolateNoSplitBrain: a is isolated from the network (its storage still attached) while a
//    client writes: filer-b reports the interconnect down with a fresh partner mailbox and does
//    not take over (secondary port closed), filer-a keeps its lease; after healing the client
//    continues and verifies (its requests during the isolation may fail after the deadline;
//    every acknowledged one must be there).
//  SigstopInsideMutation: filer-a runs with --test_only_stop_before_mutation=1; a client on c
//    (failover disabled) sends `mkdir /stale-probe`; filer-a stops itself inside that mutation;
//    filer-b takes over after the lease; SIGCONT to filer-a; filer-a's guard must have killed it
//    (SIGKILL) and /stale-probe must not exist, through filer-b's secondary port and on the
//    device as filer-b mounted it.
//
// Anything that requires an administrator's intervention to recover (see
// PairTestbed::RestoreBothUp: a filer process that died by itself, a pair stuck with nobody
// able to give back) fails the test in which it was found, with the evidence.
// The filers run with --heartbeat_misses=10 --lease_ms=2000 (1 s detection, 2 s lease) rather
// than the defaults (300 ms, 600 ms): under TCG on a shared 2-core host a guest stalls for
// half a second at times, and with the defaults healthy filers were taken over or killed by
// their own fence guards. VIFILER_HOSTS_FILER_FLAGS replaces these flags.
// VIFILER_KEEP_CLUSTER=1 keeps the cluster directory and the share (the share is also kept
// when a test fails: filer logs, status files, loader outputs).

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tools/load/load_summary.h"
#include "tools/testbed/pair_testbed.h"

namespace vifiler {
namespace testing {
namespace {

using testbed::ExecResult;
using testbed::FilerStatus;
using testbed::PairTestbed;

constexpr char kTcp[] = "tcp";
constexpr char kRdma[] = "rdma";
constexpr absl::Duration kStepTimeout = absl::Minutes(3);
constexpr absl::Duration kRestoreTimeout = absl::Minutes(5);
constexpr char kFilerFlags[] = "--heartbeat_misses=10 --lease_ms=2000";

std::string CurrentDir() {
  char buf[4096];
  return getcwd(buf, sizeof(buf)) != nullptr ? std::string(buf) : std::string(".");
}

// The build directory: $VIFILER_BUILD_DIR (meson sets it), else the current directory.
std::string BuildDir() {
  const char* d = getenv("VIFILER_BUILD_DIR");
  return d != nullptr && *d != '\0' ? std::string(d) : CurrentDir();
}

bool KeepEverything() {
  const char* v = getenv("VIFILER_KEEP_CLUSTER");
  return v != nullptr && std::string(v) == "1";
}

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(d));
}

void Timing(const std::string& what, absl::Time since) {
  std::cout << "[timing] " << what << ": " << Seconds(absl::Now() - since) << std::endl;
}

::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status;
}

uint64_t Number(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }

// The key=value lines of the first filer's block in `vifilerctl status` output ("NAME: STATE
// (...)" then indented lines).
std::map<std::string, std::string> FirstStatusBlock(const std::string& out) {
  std::map<std::string, std::string> kv;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "  ")) {
      if (!first) break;
      first = false;
      continue;
    }
    line.remove_prefix(2);
    const size_t eq = line.find('=');
    if (eq != absl::string_view::npos) {
      kv[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
  }
  return kv;
}

bool InTakeover(const FilerStatus& s) {
  return s.reachable && s.Get("state") == "takeover" && s.Get("secondary_port") == "open" &&
         s.Get("primary_port") == "open";
}

// A vifiler-load process on c.
struct Loader {
  std::string name;  // also its client id
  std::string server;
  std::string job;
  std::string out, err;  // files in the share
};

class HaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_start_ = absl::Now();
    share_ = CurrentDir() + "/hosts-ha-XXXXXX";
    if (mkdtemp(share_.data()) == nullptr) {
      setup_error_ = "cannot create the share directory under " + CurrentDir();
      return;
    }
    testbed::PairTestbedOptions o;
    o.build_dir = BuildDir();
    o.share_dir = share_;
    o.watch_command = {BuildDir() + "/tests/hosts/ha_watch"};
    // Failure detection and lease timing for emulated hosts on a shared machine: with the
    // defaults (3 missed 100 ms heartbeats, 600 ms lease) a guest that stalls for half a second
    // (seen here under load) is taken over, or killed by its own fence guard, while healthy.
    const char* flags = getenv("VIFILER_HOSTS_FILER_FLAGS");
    o.filer_flags = absl::StrSplit(flags != nullptr ? flags : kFilerFlags, ' ', absl::SkipEmpty());
    std::cout << "vifilerd flags: " << absl::StrJoin(o.filer_flags, " ")
              << " (VIFILER_HOSTS_FILER_FLAGS overrides)" << std::endl;
    absl::StatusOr<std::unique_ptr<PairTestbed>> tb = PairTestbed::Create(o);
    if (!tb.ok()) {
      setup_error_ = tb.status().ToString();
      return;
    }
    tb_ = std::move(*tb);
    Timing("boot a, b, c + format va, vb + status watcher", suite_start_);
    std::cout << tb_->cluster().boot_log() << std::endl;
  }

  static void TearDownTestSuite() {
    tb_.reset();  // stops every guest (down --purge unless VIFILER_KEEP_CLUSTER=1)
    if (!share_.empty()) {
      if (failed_ || KeepEverything()) {
        std::cout << "share kept (logs, status files, loader outputs): " << share_ << std::endl;
      } else {
        std::error_code ec;
        std::filesystem::remove_all(share_, ec);
      }
    }
    Timing("whole suite", suite_start_);
  }

  void SetUp() override {
    test_start_ = absl::Now();
    if (tb_ == nullptr) GTEST_FAIL() << "no test bed: " << setup_error_;
  }

  void TearDown() override {
    for (const Loader& l : loaders_) {
      if (!l.job.empty()) tb_->cluster().Signal("c", l.job, SIGKILL).IgnoreError();
    }
    if (HasFailure()) {
      failed_ = true;
      if (tb_ != nullptr) {
        std::cerr << tb_->LogTails(40);
        for (const Loader& l : loaders_) {
          std::cerr << "--- " << l.err << " (last 10 lines):\n" << testbed::FileTail(l.err, 10);
        }
      }
    }
    Timing(std::string("test ") + ::testing::UnitTest::GetInstance()->current_test_info()->name(),
           test_start_);
  }

  // Drives the pair to "both up" on fabric; anomalies (recoveries that needed an administrator)
  // fail the test.
  absl::Status RestorePair(const std::string& fabric) {
    const absl::Time t = absl::Now();
    std::vector<std::string> actions, anomalies;
    absl::Status s = tb_->RestoreBothUp(fabric, kRestoreTimeout, &actions, &anomalies);
    if (!actions.empty()) std::cout << "restore: " << absl::StrJoin(actions, "; ") << std::endl;
    for (const std::string& a : anomalies) ADD_FAILURE() << "the pair needed help: " << a;
    Timing(absl::StrCat("both up on ", fabric), t);
    return s;
  }

  // Starts count loaders on c against filer-<server_host>.
  void StartLoaders(const std::string& prefix, int count, int threads,
                    const std::string& server_host, const std::string& fabric,
                    const std::vector<std::string>& extra = {}) {
    for (int i = 1; i <= count; ++i) {
      Loader l;
      l.name = absl::StrCat(prefix, "-", server_host, i);
      l.server = PairTestbed::FilerName(server_host);
      l.out = absl::StrCat(share_, "/loader-", l.name, ".out");
      l.err = absl::StrCat(share_, "/loader-", l.name, ".err");
      std::vector<std::string> argv = {"sh",
                                       "-c",
                                       "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"",
                                       "sh",
                                       l.out,
                                       l.err,
                                       tb_->Bin("tools/load/vifiler-load"),
                                       "--server=" + l.server,
                                       "--hosts_file=" + tb_->hosts_file(),
                                       "--fabric=" + fabric,
                                       absl::StrCat("--threads=", threads),
                                       "--progress_interval_ms=250",
                                       "--client_id=" + l.name};
      argv.insert(argv.end(), extra.begin(), extra.end());
      absl::StatusOr<std::string> job = tb_->cluster().Start("c", argv);
      ASSERT_TRUE(job.ok()) << job.status();
      l.job = *job;
      loaders_.push_back(l);
    }
  }

  static std::map<std::string, std::string> Progress(const Loader& l) {
    return load::LastLineWithPrefix(testbed::ReadWholeFile(l.out), load::kProgressPrefix);
  }

  std::vector<uint64_t> Acked() const {
    std::vector<uint64_t> acked;
    for (const Loader& l : loaders_) acked.push_back(Number(Progress(l)["acked"]));
    return acked;
  }

  std::string DescribeLoaders() const {
    std::string out;
    for (const Loader& l : loaders_) {
      const std::string text = testbed::ReadWholeFile(l.out);
      absl::string_view last = text;
      const size_t nl = last.rfind('\n', last.size() >= 2 ? last.size() - 2 : 0);
      if (nl != absl::string_view::npos) last.remove_prefix(nl + 1);
      absl::StrAppend(&out, "\n  ", l.name, ": ", last, "  stderr: ", testbed::FileTail(l.err, 2));
    }
    return out;
  }

  // Waits until every loader has acknowledged `more` mutations beyond since[i].
  absl::Status WaitProgress(const std::vector<uint64_t>& since, uint64_t more,
                            absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      bool all = true;
      for (size_t i = 0; i < loaders_.size(); ++i) {
        const std::string text = testbed::ReadWholeFile(loaders_[i].out);
        if (load::FindSummary(text).ok()) {
          return absl::InternalError(
              absl::StrCat(loaders_[i].name, " ended early:", DescribeLoaders()));
        }
        const uint64_t acked =
            Number(load::LastLineWithPrefix(text, load::kProgressPrefix)["acked"]);
        if (acked < since[i] + more) all = false;
      }
      if (all) return absl::OkStatus();
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat("loaders made no progress within ",
                                                        Seconds(timeout), ":", DescribeLoaders()));
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  // SIGTERM to every loader (they stop, wait for the filer, verify), then their summaries.
  std::vector<absl::StatusOr<load::LoadSummary>> StopLoaders(absl::Duration timeout) {
    for (const Loader& l : loaders_) {
      EXPECT_TRUE(IsOk(tb_->cluster().Signal("c", l.job, SIGTERM))) << l.name;
    }
    return CollectLoaders(timeout);
  }

  std::vector<absl::StatusOr<load::LoadSummary>> CollectLoaders(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::vector<absl::StatusOr<load::LoadSummary>> out;
    for (Loader& l : loaders_) {
      absl::StatusOr<ExecResult> r =
          tb_->cluster().Wait("c", l.job, std::max(absl::Seconds(1), deadline - absl::Now()));
      if (!r.ok()) {
        out.push_back(r.status());
        continue;
      }
      l.job.clear();
      absl::StatusOr<load::LoadSummary> s = load::FindSummary(testbed::ReadWholeFile(l.out));
      if (s.ok()) {
        std::cout << "  " << l.name << " (exit " << r->exit_code
                  << "): " << load::FormatSummaryLine(*s) << std::endl;
        if (s->Passed()) {
          EXPECT_EQ(r->exit_code, 0) << l.name;
        }
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  // Every summary verified with twice = errors = lost = 0.
  void ExpectClean(const std::vector<absl::StatusOr<load::LoadSummary>>& summaries) {
    ASSERT_EQ(summaries.size(), loaders_.size());
    for (size_t i = 0; i < summaries.size(); ++i) {
      const std::string& name = loaders_[i].name;
      ASSERT_TRUE(summaries[i].ok()) << name << ": " << summaries[i].status();
      const load::LoadSummary& s = *summaries[i];
      EXPECT_TRUE(s.verified) << name;
      EXPECT_EQ(s.twice, 0u) << name;
      EXPECT_EQ(s.errors, 0u) << name << ": " << testbed::FileTail(loaders_[i].err, 5);
      EXPECT_EQ(s.lost, 0u) << name << ": " << testbed::FileTail(loaders_[i].err, 5);
      EXPECT_GT(s.acked, 0u) << name;
    }
  }

  int64_t MaxStallMs(const std::vector<absl::StatusOr<load::LoadSummary>>& summaries) {
    int64_t m = 0;
    for (const auto& s : summaries) {
      if (s.ok()) m = std::max(m, s->max_stall_ms);
    }
    return m;
  }

  // Both filers up right now (each serving its own volume only), as the watcher last saw.
  static ::testing::AssertionResult BothUpNow(const std::string& when) {
    std::string states;
    if (tb_->BothUp(&states)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "the pair is not both up " << when << ": " << states;
  }

  void PowerCutUnderLoad(const std::string& fabric, int count, int threads);

  static std::unique_ptr<PairTestbed> tb_;
  static std::string share_;
  static std::string setup_error_;
  static bool failed_;
  static absl::Time suite_start_;
  absl::Time test_start_;
  std::vector<Loader> loaders_;
};

std::unique_ptr<PairTestbed> HaTest::tb_;
std::string HaTest::share_;
std::string HaTest::setup_error_;
bool HaTest::failed_ = false;
absl::Time HaTest::suite_start_;

void HaTest::PowerCutUnderLoad(const std::string& fabric, int count, int threads) {
  ASSERT_TRUE(IsOk(RestorePair(fabric)));
  const uint64_t epoch_before = Number(tb_->Status("a").Get("epoch"));
  ASSERT_GT(epoch_before, 0u) << tb_->Status("a").Summary();

  absl::Time t = absl::Now();
  ASSERT_NO_FATAL_FAILURE(StartLoaders(absl::StrCat("cut-", fabric), count, threads, "a", fabric));
  ASSERT_TRUE(IsOk(WaitProgress(std::vector<uint64_t>(count, 0), 10, kStepTimeout)));
  Timing(absl::StrCat(count, " loaders x ", threads, " threads started, 10 acked each"), t);
  absl::SleepFor(absl::Seconds(2));

  std::vector<uint64_t> before = Acked();
  ASSERT_TRUE(BothUpNow("before the power cut"));
  ASSERT_TRUE(IsOk(tb_->PowerCut("a")));
  const absl::Time cut = absl::Now();
  absl::StatusOr<FilerStatus> b =
      tb_->WaitStatus("b", InTakeover, kStepTimeout, "filer-b takes over filer-a's volume");
  ASSERT_TRUE(b.ok()) << b.status();
  const absl::Duration to_takeover = absl::Now() - cut;
  Timing("power cut of a -> filer-b in takeover (as seen by the watcher on c)", cut);
  ASSERT_TRUE(IsOk(WaitProgress(before, 5, kStepTimeout)));
  const absl::Duration to_resumed = absl::Now() - cut;
  Timing("power cut of a -> every loader acknowledged 5 more on filer-b", cut);

  // The takeover is at a higher epoch than filer-a held.
  absl::StatusOr<ExecResult> st = tb_->Ctl("status", "b");
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_EQ(st->exit_code, 0) << st->err;
  std::map<std::string, std::string> kv = FirstStatusBlock(st->out);
  EXPECT_EQ(kv["state"], "takeover") << st->out;
  EXPECT_EQ(kv["secondary_port"], "open") << st->out;
  EXPECT_GT(Number(kv["partner_epoch"]), epoch_before) << st->out;
  std::cout << "filer-b took over at epoch " << kv["partner_epoch"] << " (filer-a held epoch "
            << epoch_before << ")" << std::endl;

  t = absl::Now();
  ASSERT_TRUE(IsOk(tb_->Restart("a")));
  Timing("power on a (guest boot)", t);
  t = absl::Now();
  ASSERT_TRUE(IsOk(tb_->StartFiler("a", fabric)));
  absl::StatusOr<FilerStatus> a = tb_->WaitStatus(
      "a", [](const FilerStatus& s) { return s.Get("state") == "waiting-for-giveback"; },
      kStepTimeout, "restarted filer-a waits for giveback");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->Get("primary_port"), "closed") << a->Summary();
  Timing("filer-a started, waiting for giveback", t);

  t = absl::Now();
  absl::StatusOr<ExecResult> gb = tb_->Ctl("giveback", "b");
  ASSERT_TRUE(gb.ok()) << gb.status();
  EXPECT_EQ(gb->exit_code, 0) << gb->out << gb->err;
  ASSERT_TRUE(IsOk(tb_->WaitBothUp(kStepTimeout)));
  Timing("giveback -> both up", t);
  ASSERT_TRUE(IsOk(WaitProgress(Acked(), 5, kStepTimeout)));

  t = absl::Now();
  std::vector<absl::StatusOr<load::LoadSummary>> summaries = StopLoaders(absl::Minutes(5));
  Timing("loaders stopped and verified", t);
  ExpectClean(summaries);
  for (size_t i = 0; i < summaries.size(); ++i) {
    if (!summaries[i].ok()) continue;
    EXPECT_GE(summaries[i]->failovers, 1u) << loaders_[i].name;
    EXPECT_GE(summaries[i]->failbacks, 1u) << loaders_[i].name;
  }
  std::cout << "[figures] " << fabric << " power cut under load: takeover seen "
            << Seconds(to_takeover) << " after the cut, all loaders progressing again after "
            << Seconds(to_resumed) << ", longest client call (max_stall_ms) "
            << MaxStallMs(summaries) << " ms" << std::endl;
}

TEST_F(HaTest, PowerCutUnderLoadTcp) { PowerCutUnderLoad(kTcp, 4, 2); }

TEST_F(HaTest, PowerCutDuringGiveback) {
  ASSERT_TRUE(IsOk(RestorePair(kTcp)));
  ASSERT_NO_FATAL_FAILURE(StartLoaders("gb", 2, 2, "a", kTcp));
  ASSERT_NO_FATAL_FAILURE(StartLoaders("gb", 1, 2, "b", kTcp));
  ASSERT_TRUE(IsOk(WaitProgress(std::vector<uint64_t>(loaders_.size(), 0), 10, kStepTimeout)));

  // a is cut and comes back; filer-a waits for giveback.
  ASSERT_TRUE(BothUpNow("before the power cut"));
  ASSERT_TRUE(IsOk(tb_->PowerCut("a")));
  ASSERT_TRUE(tb_->WaitStatus("b", InTakeover, kStepTimeout, "filer-b takes over").ok());
  ASSERT_TRUE(IsOk(tb_->Restart("a")));
  ASSERT_TRUE(IsOk(tb_->StartFiler("a", kTcp)));
  absl::StatusOr<FilerStatus> a = tb_->WaitStatus(
      "a", [](const FilerStatus& s) { return s.Get("state") == "waiting-for-giveback"; },
      kStepTimeout, "filer-a waits for giveback");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(IsOk(WaitProgress(Acked(), 3, kStepTimeout)));

  // Giveback, and b's power cut as soon as filer-b logs that it is giving back.
  const std::string log_b = share_ + "/filer-b.log";
  const size_t log_size = testbed::ReadWholeFile(log_b).size();
  std::vector<std::string> giveback = {tb_->Bin("tools/vifilerctl"),
                                       "--hosts_file=" + tb_->hosts_file(),
                                       absl::StrCat("--secret=", testbed::kAdminSecret),
                                       "--timeout_ms=30000",
                                       "giveback",
                                       "filer-b"};
  absl::StatusOr<std::string> job = tb_->cluster().Start("b", giveback);
  ASSERT_TRUE(job.ok()) << job.status();
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  bool giving_back = false;
  while (!giving_back && absl::Now() < deadline) {
    const std::string log = testbed::ReadWholeFile(log_b);
    giving_back = log.size() > log_size &&
                  absl::StrContains(log.substr(log_size), "giving back filer-a's volume");
    if (!giving_back) absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(giving_back) << "filer-b did not log the giveback within a minute";
  ASSERT_TRUE(IsOk(tb_->PowerCut("b")));
  const absl::Time cut = absl::Now();
  const std::string after = testbed::ReadWholeFile(log_b).substr(log_size);
  std::cout << "filer-b's log between the giveback request and the power cut:\n"
            << after << std::endl;

  // filer-a must end up serving both volumes; the loaders carry on.
  a = tb_->WaitStatus("a", InTakeover, kStepTimeout, "filer-a serves both volumes");
  ASSERT_TRUE(a.ok()) << a.status();
  Timing("power cut of b during giveback -> filer-a serves both", cut);
  std::cout << "filer-a: " << a->Summary() << std::endl;
  ASSERT_TRUE(IsOk(WaitProgress(Acked(), 5, kStepTimeout)));
  Timing("power cut of b during giveback -> every loader progressing", cut);

  ASSERT_TRUE(IsOk(RestorePair(kTcp)));
  ASSERT_TRUE(IsOk(WaitProgress(Acked(), 3, kStepTimeout)));
  std::vector<absl::StatusOr<load::LoadSummary>> summaries = StopLoaders(absl::Minutes(5));
  ExpectClean(summaries);
  std::cout << "[figures] power cut during giveback: longest client call " << MaxStallMs(summaries)
            << " ms" << std::endl;
}

TEST_F(HaTest, PowerCutOfTakeoverHost) {
  constexpr int kDeadlineMs = 5000;
  ASSERT_TRUE(IsOk(RestorePair(kTcp)));
  const std::vector<std::string> short_deadline = {
      absl::StrCat("--failover_deadline_ms=", kDeadlineMs), "--verify_timeout_s=900"};
  ASSERT_NO_FATAL_FAILURE(StartLoaders("both", 2, 2, "a", kTcp, short_deadline));
  ASSERT_NO_FATAL_FAILURE(StartLoaders("both", 1, 2, "b", kTcp, short_deadline));
  ASSERT_TRUE(IsOk(WaitProgress(std::vector<uint64_t>(loaders_.size(), 0), 10, kStepTimeout)));

  ASSERT_TRUE(BothUpNow("before the power cut"));
  ASSERT_TRUE(IsOk(tb_->PowerCut("a")));
  ASSERT_TRUE(tb_->WaitStatus("b", InTakeover, kStepTimeout, "filer-b takes over").ok());
  ASSERT_TRUE(IsOk(WaitProgress(Acked(), 5, kStepTimeout)));

  // Nobody serves either volume now.
  ASSERT_TRUE(IsOk(tb_->PowerCut("b")));
  const absl::Time cut = absl::Now();
  const absl::Time deadline = cut + absl::Minutes(2);
  std::vector<bool> errored(loaders_.size(), false);
  while (std::count(errored.begin(), errored.end(), false) > 0 && absl::Now() < deadline) {
    for (size_t i = 0; i < loaders_.size(); ++i) {
      errored[i] = errored[i] || Number(Progress(loaders_[i])["errors"]) > 0;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  const absl::Duration to_error = absl::Now() - cut;
  for (size_t i = 0; i < loaders_.size(); ++i) {
    EXPECT_TRUE(errored[i]) << loaders_[i].name << " reported no error within 2 min of the cut";
  }
  Timing("power cut of b (serving both) -> every loader has reported an error", cut);
  EXPECT_GE(to_error, absl::Milliseconds(kDeadlineMs - 500))
      << "an error came before the failover deadline";
  for (const Loader& l : loaders_) {
    const std::string err = testbed::ReadWholeFile(l.err);
    // "UNAVAILABLE: cannot reach filer X ..." or, after sessions that served nothing,
    // "UNAVAILABLE: filer X served no request for ...; then cannot reach filer X ...".
    EXPECT_TRUE(absl::StrContains(err, "UNAVAILABLE: ") &&
                absl::StrContains(err, "cannot reach filer " + l.server))
        << l.name << ": no clear error: " << testbed::FileTail(l.err, 5);
  }
  // Stop issuing; each loader waits for its filer to answer again, then reads back.
  for (const Loader& l : loaders_) {
    EXPECT_TRUE(IsOk(tb_->cluster().Signal("c", l.job, SIGTERM))) << l.name;
  }

  absl::Time t = absl::Now();
  ASSERT_TRUE(IsOk(tb_->Restart("a")));
  ASSERT_TRUE(IsOk(tb_->Restart("b")));
  Timing("power on a and b", t);
  ASSERT_TRUE(IsOk(RestorePair(kTcp)));

  t = absl::Now();
  std::vector<absl::StatusOr<load::LoadSummary>> summaries = CollectLoaders(absl::Minutes(10));
  Timing("loaders verified after the hosts came back", t);
  ASSERT_EQ(summaries.size(), loaders_.size());
  for (size_t i = 0; i < summaries.size(); ++i) {
    ASSERT_TRUE(summaries[i].ok()) << loaders_[i].name << ": " << summaries[i].status();
    const load::LoadSummary& s = *summaries[i];
    EXPECT_TRUE(s.verified) << loaders_[i].name;
    EXPECT_EQ(s.twice, 0u) << loaders_[i].name;
    EXPECT_EQ(s.lost, 0u) << loaders_[i].name << ": " << testbed::FileTail(loaders_[i].err, 5);
    EXPECT_GT(s.errors, 0u) << loaders_[i].name;
    EXPECT_GE(s.max_stall_ms, kDeadlineMs) << loaders_[i].name;
    // the deadline, plus at most the keepalive timeout that found the loss and a request timeout
    EXPECT_LE(s.max_stall_ms, kDeadlineMs + 1000 + 5000 + 4000) << loaders_[i].name;
  }
  std::cout << "[figures] power cut of the host serving both volumes: first errors seen "
            << Seconds(to_error) << " after the cut (deadline " << kDeadlineMs << " ms)"
            << std::endl;
}

TEST_F(HaTest, IsolateNoSplitBrain) {
  ASSERT_TRUE(IsOk(RestorePair(kTcp)));
  const uint64_t b_epoch = Number(tb_->Status("b").Get("epoch"));
  ASSERT_NO_FATAL_FAILURE(StartLoaders("iso", 1, 2, "a", kTcp));
  ASSERT_TRUE(IsOk(WaitProgress({0}, 10, kStepTimeout)));

  ASSERT_TRUE(BothUpNow("before the isolation"));
  ASSERT_TRUE(IsOk(tb_->cluster().Isolate("a")));
  const absl::Time isolated = absl::Now();
  // filer-a, still attached to its storage, keeps its volume (asked locally, in parallel: the
  // control path is not the network).
  absl::StatusOr<ExecResult> a_status = absl::UnknownError("not asked");
  std::thread ask_a([&a_status] {
    absl::SleepFor(absl::Seconds(3));
    a_status = tb_->Ctl("status", "a", "", absl::Seconds(90), absl::Seconds(3));
  });
  // For 8 s (many times the detection time and the lease), filer-b must never take over; once
  // the interconnect is down it must say so and see filer-a's mailbox fresh.
  bool saw_down = false;
  bool saw_warning = false;
  int64_t max_mailbox_age = -1;
  uint64_t last_seq = 0;
  while (absl::Now() - isolated < absl::Seconds(8)) {
    const FilerStatus s = tb_->Status("b");
    if (s.seq != last_seq && s.reachable) {
      last_seq = s.seq;
      EXPECT_NE(s.Get("state"), "takeover") << "split brain risk: " << s.Summary();
      EXPECT_EQ(s.Get("secondary_port"), "closed") << s.Summary();
      if (s.Get("interconnect") == "down") {
        saw_down = true;
        max_mailbox_age = std::max<int64_t>(
            max_mailbox_age, std::strtoll(s.Get("partner_mailbox_age_ms").c_str(), nullptr, 10));
        saw_warning = saw_warning || absl::StrContains(s.Get("warning"), "mailbox") ||
                      absl::StrContains(s.Get("warning"), "storage heartbeat is fresh");
      }
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(saw_down) << "filer-b never reported the interconnect down: "
                        << tb_->Status("b").Summary();
  EXPECT_TRUE(saw_warning) << tb_->Status("b").Summary();
  EXPECT_GE(max_mailbox_age, 0);
  EXPECT_LT(max_mailbox_age, 1000) << "filer-a's mailbox looked stale to filer-b";
  EXPECT_EQ(tb_->Status("b").Get("state"), "up");
  std::cout << "[figures] isolation: oldest partner mailbox age filer-b saw: " << max_mailbox_age
            << " ms" << std::endl;
  ask_a.join();
  ASSERT_TRUE(IsOk(tb_->cluster().Heal()));
  const absl::Time healed = absl::Now();
  Timing("isolation of a (until healed)", isolated);
  ASSERT_TRUE(a_status.ok()) << a_status.status();
  std::map<std::string, std::string> kv = FirstStatusBlock(a_status->out);
  EXPECT_EQ(kv["state"], "up") << a_status->out;
  EXPECT_EQ(kv["primary_port"], "open") << a_status->out;
  EXPECT_GT(std::strtoll(kv["lease_ms_left"].c_str(), nullptr, 10), 0) << a_status->out;
  EXPECT_EQ(kv["interconnect"], "down") << a_status->out;

  ASSERT_TRUE(IsOk(WaitProgress(Acked(), 5, kStepTimeout)));
  Timing("heal -> the client acknowledged 5 more", healed);
  ASSERT_TRUE(IsOk(tb_->WaitBothUp(kStepTimeout)));
  EXPECT_EQ(Number(tb_->Status("b").Get("epoch")), b_epoch);
  std::vector<absl::StatusOr<load::LoadSummary>> summaries = StopLoaders(absl::Minutes(5));
  ASSERT_EQ(summaries.size(), 1u);
  ASSERT_TRUE(summaries[0].ok()) << summaries[0].status();
  EXPECT_TRUE(summaries[0]->verified);
  EXPECT_EQ(summaries[0]->twice, 0u);
  EXPECT_EQ(summaries[0]->lost, 0u) << testbed::FileTail(loaders_[0].err, 5);
  EXPECT_EQ(summaries[0]->failovers, 0u) << "the client moved to filer-b's secondary port";
  std::cout << "[figures] isolation of 8 s: client errors " << summaries[0]->errors
            << " (allowed), longest call " << summaries[0]->max_stall_ms << " ms" << std::endl;
}

TEST_F(HaTest, SigstopInsideMutation) {
  ASSERT_TRUE(IsOk(RestorePair(kTcp)));
  // filer-a again, stopping itself before its first mutation.
  ASSERT_TRUE(IsOk(tb_->HaltFiler("a")));
  ASSERT_TRUE(IsOk(tb_->StartFiler("a", kTcp, {"--test_only_stop_before_mutation=1"})));
  ASSERT_TRUE(IsOk(tb_->WaitBothUp(kStepTimeout)));

  const std::string log_a = share_ + "/filer-a.log";
  const size_t log_size = testbed::ReadWholeFile(log_a).size();
  const std::string probe_out = share_ + "/probe.out";
  const std::string probe_err = share_ + "/probe.err";
  absl::StatusOr<std::string> probe = tb_->cluster().Start(
      "c",
      {"sh", "-c", "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"", "sh", probe_out,
       probe_err, tb_->Bin("tools/vifiler"), "--hosts_file=" + tb_->hosts_file(), "--fabric=tcp",
       "--noenable_failover", "--failover_deadline_ms=10000", "mkdir", "filer-a:/stale-probe"});
  ASSERT_TRUE(probe.ok()) << probe.status();
  const absl::Time deadline = absl::Now() + kStepTimeout;
  bool stopped = false;
  while (!stopped && absl::Now() < deadline) {
    stopped = absl::StrContains(testbed::ReadWholeFile(log_a).substr(log_size),
                                "stopping before mutation 1");
    if (!stopped) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(stopped) << "filer-a did not stop itself before the mkdir";
  const absl::Time stop = absl::Now();

  absl::StatusOr<FilerStatus> b =
      tb_->WaitStatus("b", InTakeover, kStepTimeout, "filer-b takes over the stopped filer-a");
  ASSERT_TRUE(b.ok()) << b.status();
  Timing("filer-a stopped inside the mutation -> filer-b in takeover", stop);
  ASSERT_TRUE(IsOk(tb_->SignalFiler("a", SIGCONT)));
  absl::StatusOr<int> code = tb_->WaitFilerExit("a", absl::Minutes(1));
  ASSERT_TRUE(code.ok()) << "filer-a's process is still there after SIGCONT: " << code.status();
  EXPECT_EQ(*code, 128 + SIGKILL) << "filer-a was not killed by its guard";
  const std::string log = testbed::ReadWholeFile(log_a).substr(log_size);
  EXPECT_TRUE(absl::StrContains(log, "killed filer pid")) << testbed::FileTail(log_a, 10);

  absl::StatusOr<ExecResult> r = tb_->cluster().Wait("c", *probe, kStepTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0) << "the mkdir sent to the stopped filer-a succeeded";
  std::cout << "the probe client: exit " << r->exit_code << ": "
            << testbed::ReadWholeFile(probe_err) << std::endl;

  // Through filer-b's secondary port: the volume is there, /stale-probe is not.
  const std::vector<std::string> secondary = {
      tb_->Bin("tools/vifiler"), "--hosts_file=" + tb_->hosts_file(), "--fabric=tcp",
      "--noenable_failover", "--primary_discriminator=7301"};
  std::vector<std::string> ls = secondary;
  ls.insert(ls.end(), {"ls", "filer-a-failover:/"});
  r = tb_->cluster().Exec("c", ls, absl::Minutes(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_FALSE(absl::StrContains(r->out, "stale-probe")) << r->out;
  std::vector<std::string> stat = secondary;
  stat.insert(stat.end(), {"stat", "filer-a-failover:/stale-probe"});
  r = tb_->cluster().Exec("c", stat, absl::Minutes(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0) << "/stale-probe exists: " << r->out;
  EXPECT_TRUE(absl::StrContains(r->err, "NO_ENTRY")) << r->err;
  // On the device as filer-b mounted it.
  r = tb_->cluster().Exec(
      "b",
      {"sh", "-c",
       "n=0; for d in /run/vifiler/mnt/*partner*/volume; do ls -a \"$d\"; n=$((n+1)); "
       "test -e \"$d/stale-probe\" && echo FOUND-STALE-PROBE; done; test $n -eq 1"},
      absl::Minutes(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << "filer-b's mount of filer-a's volume not found: " << r->out
                             << r->err;
  EXPECT_FALSE(absl::StrContains(r->out, "FOUND-STALE-PROBE")) << r->out;

  ASSERT_TRUE(IsOk(RestorePair(kTcp)));
}

TEST_F(HaTest, PowerCutUnderLoadRdma) { PowerCutUnderLoad(kRdma, 2, 2); }

}  // namespace
}  // namespace testing
}  // namespace vifiler
