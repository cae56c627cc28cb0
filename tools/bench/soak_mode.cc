// Copyright 2026 The vifiler Authors.

#include "tools/bench/soak_mode.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/bench/admin_client.h"
#include "tools/bench/filer_pair.h"
#include "tools/bench/load_fleet.h"
#include "tools/bench/pair_driver.h"
#include "tools/load/load_summary.h"

namespace vifiler {
namespace bench {
namespace {

using W = FilerPair::Which;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStateTimeout = absl::Seconds(30);  // takeover, waiting-for-giveback
constexpr absl::Duration kGivebackTimeout = absl::Seconds(30);
constexpr absl::Duration kRecoverTimeout = absl::Seconds(90);
constexpr absl::Duration kReadyTimeout = absl::Seconds(60);
constexpr absl::Duration kProgressTimeout = absl::Seconds(60);
constexpr absl::Duration kCollectTimeout = absl::Seconds(240);
constexpr absl::Duration kStopGrace = absl::Seconds(5);
constexpr uint32_t kProgressIntervalMs = 500;
constexpr uint32_t kLoaderVerifyTimeoutS = 120;
constexpr int kTailLines = 40;

enum Kind { kKillServing = 0, kKillDuringGiveback = 1, kKillBoth = 2, kKinds = 3 };

const char* KindName(int kind) {
  switch (kind) {
    case kKillServing:
      return "a (kill filer-a, takeover, restart, giveback)";
    case kKillDuringGiveback:
      return "b (as a, and kill filer-b during the giveback)";
    default:
      return "c (kill both, restart both)";
  }
}

// (a): kill the serving filer-a, wait for the takeover, restart filer-a, give back.
absl::Status KillServing(PairDriver* d, std::string* detail) {
  d->Kill(W::kA);
  absl::Status s = d->WaitState(W::kB, "takeover", kStateTimeout);
  if (!s.ok()) return s;
  s = d->Restart(W::kA);
  if (s.ok()) s = d->WaitState(W::kA, "waiting-for-giveback", kStateTimeout);
  if (s.ok()) s = d->Giveback(W::kB, kGivebackTimeout);
  if (s.ok()) s = d->WaitState(W::kA, "up", kStateTimeout);
  if (s.ok()) *detail = "takeover, giveback";
  return s;
}

// (b): as (a), but filer-b is killed 0-60 ms after the giveback is sent; filer-a must end up
// serving both volumes; then filer-b is restarted.
absl::Status KillDuringGiveback(PairDriver* d, std::mt19937_64* gen, std::string* detail) {
  d->Kill(W::kA);
  absl::Status s = d->WaitState(W::kB, "takeover", kStateTimeout);
  if (!s.ok()) return s;
  s = d->Restart(W::kA);
  if (s.ok()) s = d->WaitState(W::kA, "waiting-for-giveback", kStateTimeout);
  if (!s.ok()) return s;
  const absl::Duration delay = absl::Milliseconds(std::uniform_int_distribution<int>(0, 60)(*gen));
  absl::Status giveback = absl::UnknownError("no answer");
  absl::Time answered = absl::InfiniteFuture();
  std::thread sender([d, &giveback, &answered] {
    // Bounded by kGivebackTimeout.
    giveback = d->Giveback(W::kB, kGivebackTimeout);
    answered = absl::Now();
  });
  absl::SleepFor(delay);
  const absl::Time killed = absl::Now();
  d->Kill(W::kB);
  sender.join();
  const std::string outcome = !giveback.ok() ? absl::StrCat("giveback cut: ", giveback.message())
                              : answered < killed ? "giveback done first"
                                                  : "giveback answered as filer-b was killed";
  *detail = absl::StrCat("filer-b killed ", absl::FormatDuration(delay), " after the giveback (",
                         outcome, ")");
  s = d->WaitState(W::kA, "takeover", kStateTimeout);
  if (!s.ok()) {
    return absl::Status(
        s.code(),
        absl::StrCat("with filer-b dead, filer-a does not serve both volumes: ", s.message()));
  }
  absl::StrAppend(detail, "; filer-a served both");
  return d->Restart(W::kB);
}

// (c): kill both (in random order), restart both.
absl::Status KillBoth(PairDriver* d, std::mt19937_64* gen, std::string* detail) {
  const W first = std::uniform_int_distribution<int>(0, 1)(*gen) == 0 ? W::kA : W::kB;
  const W second = first == W::kA ? W::kB : W::kA;
  d->Kill(first);
  d->Kill(second);
  absl::Status s = d->Restart(W::kA);
  if (s.ok()) s = d->Restart(W::kB);
  *detail = absl::StrCat(PairDriver::Name(first), " killed first");
  return s;
}

uint64_t Sum(const std::vector<std::map<std::string, std::string>>& progress,
             const std::string& key, bool max) {
  uint64_t out = 0;
  for (const auto& kv : progress) {
    auto it = kv.find(key);
    uint64_t v = 0;
    if (it != kv.end() && absl::SimpleAtoi(it->second, &v)) out = max ? std::max(out, v) : out + v;
  }
  return out;
}

std::vector<std::string> LoaderArgs(const SoakOptions& o, const std::string& fabric,
                                    const std::string& hosts_file) {
  const client::ClientOptions& c = o.client;
  return {"--server=filer-a",
          "--hosts_file=" + hosts_file,
          "--fabric=" + fabric,
          absl::StrCat("--threads=", o.threads),
          "--duration=0",
          "--prefix=soak",
          absl::StrCat("--op_interval_us=", absl::ToInt64Microseconds(o.op_interval)),
          absl::StrCat("--progress_interval_ms=", kProgressIntervalMs),
          absl::StrCat("--verify_timeout_s=", kLoaderVerifyTimeoutS),
          absl::StrCat("--primary_discriminator=", c.primary_discriminator),
          absl::StrCat("--secondary_discriminator=", c.secondary_discriminator),
          "--failover_suffix=" + c.failover_suffix,
          absl::StrCat("--failover_deadline_ms=", absl::ToInt64Milliseconds(c.failover_deadline)),
          absl::StrCat("--request_timeout_ms=", absl::ToInt64Milliseconds(c.request_timeout)),
          absl::StrCat("--keepalive_interval_ms=", absl::ToInt64Milliseconds(c.keepalive_interval)),
          absl::StrCat("--keepalive_timeout_ms=", absl::ToInt64Milliseconds(c.keepalive_timeout)),
          absl::StrCat("--slots=", c.slots)};
}

// Runs the cycles; returns the first failure. counts[kind] counts the completed cycles.
absl::Status RunCycles(const SoakOptions& o, PairDriver* driver, LoadFleet* fleet,
                       std::mt19937_64* gen, int counts[kKinds]) {
  std::vector<int> kinds;
  for (int k = 0; k < o.cycles; ++k) {
    if (k % kKinds == 0) {
      std::vector<int> block = {kKillServing, kKillDuringGiveback, kKillBoth};
      std::shuffle(block.begin(), block.end(), *gen);
      kinds.insert(kinds.end(), block.begin(), block.end());
    }
  }
  for (int k = 0; k < o.cycles; ++k) {
    const int kind = kinds[k];
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(1000, 3000)(*gen)));
    const absl::Time start = absl::Now();
    std::string detail;
    absl::Status s = kind == kKillServing          ? KillServing(driver, &detail)
                     : kind == kKillDuringGiveback ? KillDuringGiveback(driver, gen, &detail)
                                                   : KillBoth(driver, gen, &detail);
    std::string actions;
    if (s.ok()) s = driver->RecoverBothUp(kRecoverTimeout, &actions);
    const absl::Duration to_both_up = absl::Now() - start;
    if (s.ok()) s = fleet->WaitProgress(fleet->Acked(), kProgressTimeout);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("cycle ", k + 1, " ", KindName(kind), ": ",
                                                 detail.empty() ? "" : detail + ": ", s.message()));
    }
    ++counts[kind];
    const std::vector<std::map<std::string, std::string>> progress = fleet->Progress();
    printf(
        "cycle %d %s: %s%s%s; both up after %.1f s; loaders so far: acked %llu, twice %llu, "
        "errors %llu, max stall %llu ms\n",
        k + 1, KindName(kind), detail.c_str(), actions.empty() ? "" : "; then ", actions.c_str(),
        absl::ToDoubleSeconds(to_both_up),
        static_cast<unsigned long long>(Sum(progress, "acked", false)),
        static_cast<unsigned long long>(Sum(progress, "twice", false)),
        static_cast<unsigned long long>(Sum(progress, "errors", false)),
        static_cast<unsigned long long>(Sum(progress, "max_stall_ms", true)));
    fflush(stdout);
  }
  return absl::OkStatus();
}

bool Executable(const std::string& path) {
  return !path.empty() && access(path.c_str(), X_OK) == 0;
}

}  // namespace

int RunSoak(const SoakOptions& o) {
  if (!Executable(o.vifilerd) || !Executable(o.vifiler_load)) {
    fprintf(
        stderr,
        "vifiler-bench --soak: needs --vifilerd=PATH and --vifiler_load=PATH (got '%s', '%s')\n",
        o.vifilerd.c_str(), o.vifiler_load.c_str());
    return 1;
  }
  if (o.clients < 1 || o.threads < 1 || o.cycles < 0) {
    fprintf(stderr, "vifiler-bench --soak: --soak_clients and --soak_threads must be >= 1\n");
    return 1;
  }
  const std::string fabric = o.client.fabric == "auto" ? "tcp" : o.client.fabric;
  absl::StatusOr<std::unique_ptr<AdminClient>> admin = AdminClient::Create(o.admin_discriminator);
  if (!admin.ok()) {
    fprintf(stderr, "vifiler-bench --soak: %s\n", admin.status().ToString().c_str());
    return 1;
  }
  const char* tmp = getenv("TMPDIR");
  std::string dir_template =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/vifiler-bench-soak-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {
    fprintf(stderr, "vifiler-bench --soak: mkdtemp %s failed\n", dir_template.c_str());
    return 1;
  }
  const std::string dir = dir_template;
  const uint64_t seed = o.seed != 0 ? o.seed : std::random_device()() | 1;
  std::mt19937_64 gen(seed);
  printf(
      "vifiler-bench --soak: fabric=%s filer-a %s, filer-b %s; %d loaders x %d threads "
      "(a request every %s per thread); %d cycles; seed %llu; dir %s\n",
      fabric.c_str(), o.address_a.c_str(), o.address_b.c_str(), o.clients, o.threads,
      absl::FormatDuration(o.op_interval).c_str(), o.cycles, static_cast<unsigned long long>(seed),
      dir.c_str());
  fflush(stdout);

  const absl::Time soak_start = absl::Now();
  int counts[kKinds] = {0, 0, 0};
  bool pass = false;
  {
    FilerPair pair(o.vifilerd, dir, fabric, o.address_a, o.address_b, admin->get());
    PairDriver driver(&pair, admin->get());
    LoadFleet fleet(o.vifiler_load, LoaderArgs(o, fabric, pair.hosts_file()), dir,
                    absl::StrFormat("soak-%06x", seed & 0xffffff));
    std::string actions;
    absl::Status failed = pair.Start(kStartTimeout);
    if (failed.ok()) failed = driver.RecoverBothUp(kRecoverTimeout, &actions);
    if (failed.ok()) failed = fleet.Start(o.clients);
    if (failed.ok()) failed = fleet.WaitReady(kReadyTimeout);
    if (failed.ok())
      failed = fleet.WaitProgress(std::vector<uint64_t>(o.clients, 0), kProgressTimeout);
    if (failed.ok()) failed = RunCycles(o, &driver, &fleet, &gen, counts);
    if (!failed.ok()) {
      std::string states;
      driver.BothUp(&states);
      fprintf(stderr, "vifiler-bench --soak: FAILED: %s\npair now: %s\n%s%s",
              failed.ToString().c_str(), states.c_str(), pair.LogTails(kTailLines).c_str(),
              fleet.LogTails(kTailLines / 2).c_str());
      fflush(stderr);
      // Give the loaders a pair to verify against, as far as that still works.
      actions.clear();
      absl::Status back = driver.RecoverBothUp(kRecoverTimeout, &actions);
      fprintf(stderr, "after the failure: %s%s%s\n",
              back.ok() ? "both up" : back.ToString().c_str(), actions.empty() ? "" : "; ",
              actions.c_str());
    }
    const absl::Duration soak_time = absl::Now() - soak_start;

    // Stop the loaders: each verifies what it wrote and prints its summary.
    std::vector<absl::StatusOr<load::LoadSummary>> summaries =
        fleet.size() > 0 ? fleet.StopAndCollect(kCollectTimeout)
                         : std::vector<absl::StatusOr<load::LoadSummary>>();
    load::LoadSummary total;
    bool all_verified = static_cast<int>(summaries.size()) == o.clients;
    printf("\n");
    for (size_t n = 0; n < summaries.size(); ++n) {
      if (!summaries[n].ok()) {
        all_verified = false;
        printf("loader %zu: no summary: %s\n", n, summaries[n].status().ToString().c_str());
        continue;
      }
      const load::LoadSummary& s = *summaries[n];
      printf("loader %zu: %s\n", n, load::FormatSummaryLine(s).c_str());
      total.acked += s.acked;
      total.twice += s.twice;
      total.errors += s.errors;
      total.lost += s.lost;
      total.failovers += s.failovers;
      total.failbacks += s.failbacks;
      total.replays += s.replays;
      total.root_mismatches += s.root_mismatches;
      total.max_stall_ms = std::max(total.max_stall_ms, s.max_stall_ms);
      all_verified = all_verified && s.verified;
    }
    if (!all_verified || !failed.ok()) {
      printf("%s", fleet.LogTails(kTailLines / 2).c_str());
    }
    printf("\nsoak: %d of %d cycles in %.0f s: %s x%d, %s x%d, %s x%d\n",
           counts[0] + counts[1] + counts[2], o.cycles, absl::ToDoubleSeconds(soak_time),
           KindName(kKillServing), counts[kKillServing], KindName(kKillDuringGiveback),
           counts[kKillDuringGiveback], KindName(kKillBoth), counts[kKillBoth]);
    printf(
        "soak: %d loaders x %d threads: acked %llu, twice %llu, errors %llu, lost %llu, "
        "max stall %lld ms, failovers %llu, failbacks %llu, replays %llu, root mismatches %llu\n",
        o.clients, o.threads, static_cast<unsigned long long>(total.acked),
        static_cast<unsigned long long>(total.twice), static_cast<unsigned long long>(total.errors),
        static_cast<unsigned long long>(total.lost), static_cast<long long>(total.max_stall_ms),
        static_cast<unsigned long long>(total.failovers),
        static_cast<unsigned long long>(total.failbacks),
        static_cast<unsigned long long>(total.replays),
        static_cast<unsigned long long>(total.root_mismatches));
    pass = failed.ok() && all_verified && total.twice == 0 && total.errors == 0 && total.lost == 0;
    printf("soak: %s (twice %llu, errors %llu, lost %llu: target 0/0/0; %s; %s)\n",
           pass ? "PASS" : "FAIL", static_cast<unsigned long long>(total.twice),
           static_cast<unsigned long long>(total.errors),
           static_cast<unsigned long long>(total.lost),
           all_verified ? "every loader verified" : "NOT every loader verified",
           failed.ok() ? "every cycle completed" : "a cycle FAILED");
    fflush(stdout);
    pair.StopAll(kStopGrace);
  }
  if (o.keep || !pass) {
    printf("kept %s\n", dir.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return pass ? 0 : 1;
}

}  // namespace bench
}  // namespace vifiler
