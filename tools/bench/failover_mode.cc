// Copyright 2026 The vifiler Authors.

#include "tools/bench/failover_mode.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/bench/admin_client.h"
#include "tools/bench/failover_writer.h"
#include "tools/bench/filer_pair.h"
#include "tools/bench/latency_samples.h"
#include "transport/fabric.h"

namespace vifiler {
namespace bench {

namespace {

constexpr absl::Duration kStepTimeout = absl::Seconds(20);
constexpr absl::Duration kStallTimeout = absl::Seconds(40);
constexpr absl::Duration kAdminTimeout = absl::Seconds(10);
constexpr absl::Duration kStopGrace = absl::Seconds(5);
constexpr uint64_t kSteadyRequests = 20;  // completions that show the stream runs again
constexpr absl::Duration kStallTarget50 = absl::Milliseconds(500);
constexpr absl::Duration kStallTargetMax = absl::Seconds(1);

std::string Millis(absl::Duration d) {
  return absl::StrFormat("%.1f ms", absl::ToDoubleMilliseconds(d));
}

struct CycleFigures {
  absl::Duration stall;
  absl::Duration giveback_pause;
};

// One kill, takeover and giveback.
absl::StatusOr<CycleFigures> RunCycle(FilerPair* pair, AdminClient* admin, client::Client* client,
                                      FailoverWriter* writer) {
  using W = FilerPair::Which;
  CycleFigures f;
  absl::Status s =
      writer->WaitForCompletions(absl::Now(), kSteadyRequests, absl::Now() + kStepTimeout);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("before the kill: ", s.message()));
  const absl::Time kill_time = absl::Now();
  pair->Kill(W::kA);
  absl::StatusOr<absl::Time> first =
      writer->WaitForCompletionAfter(kill_time, /*on_partner=*/true, kill_time + kStallTimeout);
  if (!first.ok()) return first.status();
  f.stall = *first - kill_time;
  s = admin->WaitFor(pair->address(W::kB), "state", "takeover", kStepTimeout);
  if (!s.ok()) return s;
  s = pair->StartFiler(W::kA);
  if (!s.ok()) return s;
  s = admin->WaitFor(pair->address(W::kA), "state", "waiting-for-giveback", kStepTimeout);
  if (!s.ok()) return s;
  const absl::Time giveback_time = absl::Now();
  absl::StatusOr<std::string> reply =
      admin->Command(pair->address(W::kB), "giveback", kAdminTimeout);
  if (!reply.ok())
    return absl::Status(reply.status().code(),
                        absl::StrCat("giveback: ", reply.status().message()));
  s = admin->WaitFor(pair->address(W::kA), "state", "up", kStepTimeout);
  if (!s.ok()) return s;
  const absl::Time deadline = absl::Now() + kStepTimeout;
  while (client->stats().on_partner) {
    if (absl::Now() > deadline)
      return absl::DeadlineExceededError("client did not return to filer-a");
    absl::SleepFor(absl::Milliseconds(5));
  }
  s = writer->WaitForCompletions(absl::Now(), kSteadyRequests, absl::Now() + kStepTimeout);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("after giveback: ", s.message()));
  f.giveback_pause = writer->LongestGap(giveback_time, absl::Now());
  return f;
}

// Acknowledged records whose content is wrong or missing, plus acknowledged creates missing.
absl::StatusOr<uint64_t> CountLost(client::Client* client, const client::File& file,
                                   const FailoverWriter::Outcome& outcome, std::string* detail) {
  uint64_t lost = 0;
  uint64_t end = 0;
  for (uint64_t r : outcome.acked_records) end = std::max(end, (r + 1) * kRecordSize);
  constexpr size_t kChunk = 1 << 20;
  std::string chunk(kChunk, '\0');
  uint64_t chunk_offset = 0;
  size_t chunk_bytes = 0;
  bool loaded = false;
  for (uint64_t r : outcome.acked_records) {
    const uint64_t offset = r * kRecordSize;
    if (!loaded || offset < chunk_offset || offset + kRecordSize > chunk_offset + chunk_bytes) {
      chunk_offset = offset - offset % kChunk;
      absl::StatusOr<size_t> n = file.Read(chunk_offset, absl::MakeSpan(chunk));
      if (!n.ok()) return n.status();
      chunk_bytes = *n;
      loaded = true;
    }
    const size_t at = static_cast<size_t>(offset - chunk_offset);
    if (at + kRecordSize > chunk_bytes ||
        chunk.compare(at, kRecordSize, RecordContent(offset)) != 0) {
      if (lost++ == 0)
        *detail = absl::StrCat("first lost write: record ", r, " at offset ", offset);
    }
  }
  for (const std::string& path : outcome.acked_creates) {
    absl::StatusOr<protocol::FileAttr> attr = client->Stat(path);
    if (!attr.ok()) {
      if (lost++ == 0)
        *detail = absl::StrCat("first lost create: ", path, ": ", attr.status().message());
    }
  }
  return lost;
}

}  // namespace

int RunFailover(const FailoverOptions& o) {
  if (o.vifilerd.empty()) {
    fprintf(stderr, "vifiler-bench --failover needs --vifilerd=PATH\n");
    return 1;
  }
  absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric =
      transport::CreateFabric(o.client.fabric);
  if (!fabric.ok()) {
    fprintf(stderr, "vifiler-bench: %s\n", fabric.status().ToString().c_str());
    return 1;
  }
  const std::string fabric_name((*fabric)->name());
  fabric->reset();
  absl::StatusOr<std::unique_ptr<AdminClient>> admin = AdminClient::Create(o.admin_discriminator);
  if (!admin.ok()) {
    fprintf(stderr, "vifiler-bench: %s\n", admin.status().ToString().c_str());
    return 1;
  }
  const char* tmp = getenv("TMPDIR");
  std::string dir_template =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/vifiler-bench-failover-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {
    fprintf(stderr, "vifiler-bench: mkdtemp %s failed\n", dir_template.c_str());
    return 1;
  }
  const std::string dir = dir_template;

  printf(
      "vifiler-bench --failover: fabric=%s filer-a %s, filer-b %s, %d kills, a 4 KiB write "
      "(every 8th an exclusive create) every %s; dir %s\n",
      fabric_name.c_str(), o.address_a.c_str(), o.address_b.c_str(), o.kills,
      absl::FormatDuration(o.write_interval).c_str(), dir.c_str());
  fflush(stdout);

  int exit_code = 0;
  {
    FilerPair pair(o.vifilerd, dir, fabric_name, o.address_a, o.address_b, admin->get());
    absl::Status failed = pair.Start(kStepTimeout);
    std::unique_ptr<client::Client> client;
    client::File file;
    if (failed.ok()) {
      client::ClientOptions copts = o.client;
      copts.fabric = fabric_name;
      copts.hosts_file = pair.hosts_file();
      copts.failover = true;
      absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect("filer-a", copts);
      if (c.ok()) client = std::move(*c);
      failed = c.status();
    }
    if (failed.ok()) {
      absl::StatusOr<client::File> f = client->Create("/failover-stream");
      if (f.ok()) file = *f;
      failed = f.status();
    }
    LatencySamples stalls;
    std::vector<CycleFigures> cycles;
    std::unique_ptr<FailoverWriter> writer;
    if (failed.ok()) {
      writer = std::make_unique<FailoverWriter>(client.get(), file, "/failover-create-",
                                                o.write_interval);
      writer->Start();
      for (int k = 0; k < o.kills && failed.ok(); ++k) {
        absl::StatusOr<CycleFigures> cycle =
            RunCycle(&pair, admin->get(), client.get(), writer.get());
        if (!cycle.ok()) {
          failed = absl::Status(cycle.status().code(),
                                absl::StrCat("cycle ", k + 1, ": ", cycle.status().message()));
          break;
        }
        stalls.Add(cycle->stall);
        cycles.push_back(*cycle);
        printf(
            "cycle %d: stall %s (kill -> first request completed on filer-b), giveback pause %s\n",
            k + 1, Millis(cycle->stall).c_str(), Millis(cycle->giveback_pause).c_str());
        fflush(stdout);
      }
      writer->Stop();
    }
    if (!failed.ok()) {
      fprintf(stderr, "vifiler-bench --failover: %s\n%s", failed.ToString().c_str(),
              pair.LogTails(40).c_str());
      exit_code = 1;
    }
    if (writer != nullptr && client != nullptr) {
      const FailoverWriter::Outcome outcome = writer->outcome();
      std::string detail;
      absl::StatusOr<uint64_t> lost =
          failed.ok() ? CountLost(client.get(), file, outcome, &detail)
                      : absl::StatusOr<uint64_t>(absl::AbortedError("not verified"));
      const client::ClientStats cs = client->stats();
      printf("\nfailovers %llu, failbacks %llu, reconnects %llu, replays %llu (client stats)\n",
             static_cast<unsigned long long>(cs.failovers),
             static_cast<unsigned long long>(cs.failbacks),
             static_cast<unsigned long long>(cs.reconnects),
             static_cast<unsigned long long>(cs.replays));
      printf("requests: %zu writes and %zu exclusive creates acknowledged, %llu failed%s%s\n",
             outcome.acked_records.size(), outcome.acked_creates.size(),
             static_cast<unsigned long long>(outcome.errors), outcome.errors > 0 ? "; first: " : "",
             outcome.first_error.c_str());
      if (stalls.count() > 0) {
        printf("stall (kill -> first completion on filer-b), %zu kills: p50 %s  p99 %s  max %s\n",
               stalls.count(), Millis(stalls.Percentile(50)).c_str(),
               Millis(stalls.Percentile(99)).c_str(), Millis(stalls.Max()).c_str());
      }
      bool correct = lost.ok() && *lost == 0 && outcome.executed_twice == 0;
      if (lost.ok()) {
        printf("acknowledged writes lost: %llu  %s%s%s\n", static_cast<unsigned long long>(*lost),
               *lost == 0 ? "PASS" : "FAIL", detail.empty() ? "" : "  ", detail.c_str());
      } else {
        printf("acknowledged writes lost: not verified (%s)\n", lost.status().ToString().c_str());
      }
      printf("requests executed twice: %llu  %s\n",
             static_cast<unsigned long long>(outcome.executed_twice),
             outcome.executed_twice == 0 ? "PASS" : "FAIL");
      bool timely = stalls.count() == static_cast<size_t>(o.kills);
      if (stalls.count() > 0) {
        const bool p50_ok = stalls.Percentile(50) < kStallTarget50;
        const bool max_ok = stalls.Max() < kStallTargetMax;
        timely = timely && p50_ok && max_ok;
        printf("stall p50 < %s: %s; stall max < %s: %s\n",
               absl::FormatDuration(kStallTarget50).c_str(), p50_ok ? "PASS" : "FAIL",
               absl::FormatDuration(kStallTargetMax).c_str(), max_ok ? "PASS" : "FAIL");
      }
      if (o.enforce_correctness && !correct) exit_code = 1;
      if (o.enforce_targets && !timely) exit_code = 1;
    }
    fflush(stdout);
    client.reset();  // before the filers stop, so it does not try to fail over
    pair.StopAll(kStopGrace);
  }
  if (o.keep) {
    printf("kept %s\n", dir.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return exit_code;
}

}  // namespace bench
}  // namespace vifiler
