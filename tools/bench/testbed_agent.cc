// Copyright 2026 The vifiler Authors.

#include "tools/bench/testbed_agent.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <set>
#include <thread>

#include "absl/base/attributes.h"
#include "absl/base/const_init.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "protocol/types.h"
#include "tools/bench/failover_writer.h"

namespace vifiler {
namespace bench {
namespace {

constexpr absl::Duration kPauseReport = absl::Milliseconds(500);
constexpr absl::Duration kConnectTimeout = absl::Minutes(2);
constexpr absl::Duration kVerifyTimeout = absl::Minutes(5);
constexpr size_t kReadChunk = 256 * 1024;
constexpr uint64_t kCreateEvery = 8;

std::atomic<bool> g_stop{false};
void OnStop(int) { g_stop.store(true); }

ABSL_CONST_INIT absl::Mutex print_mu(absl::kConstInit);
void PrintLine(const std::string& line) {
  absl::MutexLock lock(&print_mu);
  printf("%s%s\n", kWriterPrefix, line.c_str());
  fflush(stdout);
}

class Stream {
 public:
  Stream(std::string filer, const TestbedWriterOptions& options)
      : filer_(std::move(filer)), options_(options) {}

  // Connects and creates the stream's directory and file.
  absl::Status Setup() {
    const absl::Time deadline = absl::Now() + kConnectTimeout;
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Connect(filer_, options_.client);
    while (!c.ok() && absl::Now() < deadline && !g_stop.load()) {
      absl::SleepFor(absl::Seconds(1));
      c = client::Client::Connect(filer_, options_.client);
    }
    if (!c.ok()) return c.status();
    client_ = std::move(*c);
    char host[64] = "guest";
    gethostname(host, sizeof(host) - 1);
    dir_ = absl::StrCat("/testbed-", host, "-", getpid(), "-", absl::ToUnixMillis(absl::Now()));
    absl::Status s = client_->Mkdir(dir_);
    if (!s.ok()) return s;
    absl::StatusOr<client::File> f = client_->Create(dir_ + "/stream", 0644, /*exclusive=*/true);
    if (!f.ok()) return f.status();
    file_ = *f;
    PrintLine(absl::StrCat("ready: filer=", filer_, " dir=", dir_));
    return absl::OkStatus();
  }

  void Run() {
    absl::Time previous = absl::InfinitePast();
    bool previous_on_partner = false;
    uint64_t record = 0;
    for (uint64_t op = 0; !g_stop.load(); ++op) {
      const bool create = op % kCreateEvery == kCreateEvery - 1;
      absl::Status status;
      std::string name;
      uint64_t this_record = 0;
      if (create) {
        name = absl::StrCat("c-", op);
        status = client_->Create(dir_ + "/" + name, 0644, /*exclusive=*/true).status();
      } else {
        this_record = record++;
        status = file_.Write(this_record * kRecordSize, RecordContent(this_record * kRecordSize))
                     .status();
        records_issued_ = record;
      }
      const absl::Time done = absl::Now();
      const bool on_partner = client_->stats().on_partner;
      if (status.ok()) {
        if (create) {
          acked_creates_.push_back(name);
        } else {
          acked_records_.push_back(this_record);
        }
        acked_.fetch_add(1);
      } else if (create && client::ErrorCodeOf(status) == protocol::ErrorCode::kExists) {
        twice_.fetch_add(1);
        PrintLine(absl::StrCat("problem: filer=", filer_, " twice: create ", name));
      } else {
        errors_.fetch_add(1);
        PrintLine(absl::StrCat("problem: filer=", filer_, " error: ", status.ToString()));
      }
      on_partner_.store(on_partner);
      if (previous != absl::InfinitePast()) {
        const absl::Duration gap = done - previous;
        const char* kind = on_partner != previous_on_partner
                               ? (on_partner ? "failover" : "failback")
                           : gap > kPauseReport ? "pause"
                                                : nullptr;
        if (kind != nullptr) {
          PrintLine(absl::StrCat("stall: filer=", filer_, " kind=", kind,
                                 " ms=", absl::ToInt64Milliseconds(gap), " n=", ++events_));
        }
      }
      previous = done;
      previous_on_partner = on_partner;
      if (options_.interval > absl::ZeroDuration()) absl::SleepFor(options_.interval);
    }
  }

  void PrintProgress() const {
    PrintLine(absl::StrCat("progress: filer=", filer_, " acked=", acked_.load(),
                           " twice=", twice_.load(), " errors=", errors_.load(),
                           " on_partner=", on_partner_.load() ? 1 : 0));
  }

  // Reads everything back; prints the summary; true when clean.
  bool Verify() {
    uint64_t lost = 0;
    bool verified = false;
    std::string why;
    const absl::Time deadline = absl::Now() + kVerifyTimeout;
    absl::Status answered = client_->Null();
    while (!answered.ok() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(500));
      answered = client_->Null();
    }
    if (!answered.ok()) {
      why = "the filer did not answer: " + answered.ToString();
    } else {
      verified = true;
      // The file: every acknowledged record intact.
      std::string data(records_issued_ * kRecordSize, '\0');
      size_t have = 0;
      while (have < data.size()) {
        const size_t want = std::min(kReadChunk, data.size() - have);
        absl::StatusOr<size_t> n = file_.Read(have, absl::MakeSpan(&data[have], want));
        if (!n.ok()) {
          verified = false;
          why = "read: " + n.status().ToString();
          break;
        }
        if (*n == 0) break;
        have += *n;
      }
      for (uint64_t r : acked_records_) {
        if (!verified) break;
        const uint64_t offset = r * kRecordSize;
        if (offset + kRecordSize > have ||
            data.compare(offset, kRecordSize, RecordContent(offset)) != 0) {
          if (lost++ < 3) {
            PrintLine(absl::StrCat("problem: filer=", filer_, " lost: record ", r));
          }
        }
      }
      // The creates: every acknowledged name listed.
      absl::StatusOr<std::vector<client::DirectoryEntry>> entries = client_->List(dir_);
      if (!entries.ok()) {
        verified = false;
        why = "list: " + entries.status().ToString();
      } else if (verified) {
        std::set<std::string> names;
        for (const client::DirectoryEntry& e : *entries) names.insert(e.name);
        for (const std::string& n : acked_creates_) {
          if (names.count(n) == 0 && lost++ < 3) {
            PrintLine(absl::StrCat("problem: filer=", filer_, " lost: create ", n));
          }
        }
      }
    }
    PrintLine(absl::StrCat("summary: filer=", filer_, " acked=", acked_.load(),
                           " twice=", twice_.load(), " errors=", errors_.load(), " lost=", lost,
                           " verified=", verified ? "yes" : "no"));
    if (!why.empty()) PrintLine(absl::StrCat("problem: filer=", filer_, " ", why));
    return verified && lost == 0 && twice_.load() == 0 && errors_.load() == 0;
  }

 private:
  const std::string filer_;
  const TestbedWriterOptions& options_;
  std::unique_ptr<client::Client> client_;
  std::string dir_;
  client::File file_;
  // Owned by the stream thread (read by Verify after it ended).
  std::vector<uint64_t> acked_records_;
  std::vector<std::string> acked_creates_;
  uint64_t records_issued_ = 0;
  uint64_t events_ = 0;
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> twice_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<bool> on_partner_{false};
};

}  // namespace

int RunTestbedWriter(const TestbedWriterOptions& options) {
  struct sigaction action = {};
  action.sa_handler = OnStop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  if (options.filers.empty()) {
    fprintf(stderr, "testbed writer: no filers\n");
    return 2;
  }
  std::vector<std::unique_ptr<Stream>> streams;
  for (const std::string& f : options.filers) {
    streams.push_back(std::make_unique<Stream>(f, options));
    absl::Status s = streams.back()->Setup();
    if (!s.ok()) {
      PrintLine(absl::StrCat("problem: filer=", f, " setup: ", s.ToString()));
      PrintLine("done");
      return 1;
    }
  }
  std::vector<std::thread> threads;
  for (auto& s : streams) threads.emplace_back([&s] { s->Run(); });
  while (!g_stop.load()) {
    absl::SleepFor(absl::Milliseconds(250));
    for (auto& s : streams) s->PrintProgress();
  }
  for (std::thread& t : threads) t.join();
  bool clean = true;
  for (auto& s : streams) clean = s->Verify() && clean;
  PrintLine("done");
  return clean ? 0 : 1;
}

}  // namespace bench
}  // namespace vifiler
