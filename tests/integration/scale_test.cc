// Copyright 2026 The vifiler Authors.
//
// Bounded state and survivable exhaustion (issue 13), against a real vifilerd on loopback:
//  - 200 short-lived read-only clients leave no descriptors, no files and, once their lease
//    ran out, no sessions behind;
//  - with the descriptor limit at 64 the accept loop does not spin or flood the log, and 40
//    clients' mutations all execute exactly once;
//  - a connection that goes silent, or whose client process is killed, is freed within the
//    idle timeout;
//  - a client back after its lease gets SESSION_EXPIRED for a replay, never a second
//    execution, and a new client works.

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "tests/integration/raw_session.h"
#include "tests/integration/single_filer_test.h"
#include "tests/integration/test_env.h"
#include "transport/fabric.h"
#include "transport/tcp/socket_io.h"

namespace vifiler {
namespace testing {
namespace {

namespace fs = std::filesystem;
using protocol::ErrorCode;
using protocol::Opcode;

// Open descriptors of a process.
int CountFds(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = fs::directory_iterator(absl::StrCat("/proc/", pid, "/fd"), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// user + system CPU time of a process.
absl::Duration CpuTime(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which ends with the last ')').
  std::vector<std::string> f = absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ');
  int64_t utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime)) {
    return absl::InfiniteDuration();
  }
  return absl::Seconds(static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK));
}

std::set<std::string> FilesUnder(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    out.insert(it->path().string());
  }
  return out;
}

int CountLines(const std::string& text, absl::string_view needle) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) n += absl::StrContains(line, needle);
  return n;
}

class ScaleTest : public SingleFilerTest {
 protected:
  ScaleTest() : SingleFilerTest("vifiler-scale-test") {}
  void PrintFilerLog() override {
    // Its warnings and errors (bounded), then its last lines.
    int shown = 0;
    for (absl::string_view line : absl::StrSplit(filer_->Log(), '\n')) {
      if ((absl::StartsWith(line, "W") || absl::StartsWith(line, "E")) && shown++ < 100) {
        fprintf(stderr, "%s\n", std::string(line).c_str());
      }
    }
    fprintf(stderr, "filer log (tail):\n%s\n", tools::TailOfFile(filer_->log_path(), 30).c_str());
  }
  pid_t pid() { return filer_->process()->pid(); }
  std::unique_ptr<client::Client> Connect() {
    client::ClientOptions o = TestClientOptions(hosts_);
    o.failover = false;
    auto c = client::Client::Connect("filer-a", o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::string Status(const std::string& key) {
    auto s = AdminStatus(fabric_.address_a);
    if (!s.ok() || !s->count(key)) return "";
    return (*s)[key];
  }
  // Polls the status until pred(value of key) holds.
  bool WaitStatus(const std::string& key, std::function<bool(int64_t)> pred,
                  absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int64_t v = 0;
      if (absl::SimpleAtoi(Status(key), &v) && pred(v)) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }
};

TEST_F(ScaleTest, ReadOnlyClientsLeaveNoDescriptorsFilesOrSessions) {
  StartFiler({"--session_lease_ms=1000"});
  {
    auto writer = Connect();
    ASSERT_NE(writer, nullptr);
    auto f = writer->Create("/data");
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE(f->Write(0, "some data").ok());
  }
  auto read_once = [this]() {
    auto c = Connect();
    if (c == nullptr) return false;
    auto f = c->Open("/data");
    if (!f.ok()) return false;
    char buf[16];
    auto n = f->Read(0, absl::MakeSpan(buf, sizeof(buf)));
    return n.ok() && *n == 9;
  };
  ASSERT_TRUE(read_once());  // warms the filer's caches
  ASSERT_TRUE(WaitStatus(
      "connections", [](int64_t v) { return v == 0; }, absl::Seconds(5)));
  const int fds_before = CountFds(pid());
  const std::set<std::string> files_before = FilesUnder(volume_);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(read_once()) << "client " << i;
  ASSERT_TRUE(WaitStatus(
      "connections", [](int64_t v) { return v == 0; }, absl::Seconds(5)));
  EXPECT_LE(CountFds(pid()), fds_before + 2) << "descriptors kept per client";
  EXPECT_EQ(FilesUnder(volume_), files_before) << "files made per client";
  // Their sessions are gone once the lease ran out.
  EXPECT_TRUE(WaitStatus(
      "session_clients", [](int64_t v) { return v == 0; }, absl::Seconds(10)))
      << "session_clients=" << Status("session_clients");
  int64_t expired = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Status("sessions_expired"), &expired));
  EXPECT_GE(expired, 201);
  EXPECT_EQ(Status("sessions"), "0");
}

TEST_F(ScaleTest, DescriptorLimitOf64IsSurvivable) {
  StartFiler({});
  const struct rlimit limit = {64, 64};
  ASSERT_EQ(prlimit(pid(), RLIMIT_NOFILE, &limit, nullptr), 0) << strerror(errno);
  const int base_fds = CountFds(pid());
  ASSERT_LT(base_fds, 40) << "the filer alone needs most of the 64 descriptors";

  // More connections than descriptors: accept(2) fails with EMFILE while they wait.
  std::vector<int> socks;
  for (int i = 0; i < 100; ++i) {
    auto s = transport::tcp::ConnectTcp({fabric_.address_a, 7300}, absl::Now() + absl::Seconds(2));
    if (s.ok()) socks.push_back(s->release());
  }
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Duration cpu_before = CpuTime(pid());
  absl::SleepFor(absl::Seconds(1));
  const absl::Duration cpu = CpuTime(pid()) - cpu_before;
  EXPECT_LT(cpu, absl::Milliseconds(250)) << "the filer spins while out of descriptors";
  for (int s : socks) close(s);
  EXPECT_LE(CountLines(filer_->Log(), "Too many open files"), 5) << "the log floods";

  // 40 clients at once, each with its own connection: every mutation runs exactly once (an
  // exclusive create that ran twice would answer EXISTS).
  constexpr int kClients = 40;
  constexpr int kFiles = 10;
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      client::ClientOptions o = TestClientOptions(hosts_);
      o.failover = false;
      o.failover_deadline = absl::Seconds(60);
      auto c = client::Client::Connect("filer-a", o);
      if (!c.ok()) {
        errors[i] = c.status().ToString();
        failures.fetch_add(1);
        return;
      }
      for (int j = 0; j < kFiles; ++j) {
        const std::string name = absl::StrCat("/c", i, "_", j);
        auto f = (*c)->Create(name, 0644, /*exclusive=*/true);
        absl::Status s = f.ok() ? f->Write(0, name).status() : f.status();
        if (!s.ok()) {
          errors[i] = absl::StrCat(name, ": ", s.ToString());
          failures.fetch_add(1);
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_TRUE(errors[i].empty()) << errors[i];
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kClients; ++i) {
    for (int j = 0; j < kFiles; ++j) {
      const std::string name = absl::StrCat("/c", i, "_", j);
      std::ifstream in(volume_ + name);
      std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(content, name);
    }
  }
  EXPECT_LE(CountLines(filer_->Log(), "Too many open files"), 20) << "the log floods";
  EXPECT_TRUE(filer_->process()->Running());
}

TEST_F(ScaleTest, ASilentConnectionIsClosedWithinTheIdleTimeout) {
  StartFiler({"--idle_timeout_ms=1000"});
  EXPECT_EQ(Status("idle_timeout_ms"), "1000");
  RawSession raw;
  ASSERT_TRUE(raw.Open(fabric_, "silent-client").ok());
  ASSERT_EQ(Status("connections"), "1");
  const absl::Time start = absl::Now();
  EXPECT_TRUE(WaitStatus(
      "connections", [](int64_t v) { return v == 0; }, absl::Seconds(5)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(700)) << "closed before the idle timeout";
  // A live client that pauses longer than that just reconnects.
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Create("/x").ok());
  absl::SleepFor(absl::Milliseconds(1500));
  auto f = c->Open("/x");
  EXPECT_TRUE(f.ok()) << f.status();
}

TEST_F(ScaleTest, AKilledClientProcessFreesItsConnection) {
  StartFiler({"--idle_timeout_ms=60000"});
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RawSession raw;
    char ok = raw.Open(fabric_, "doomed-client").ok() ? 1 : 0;
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    for (;;) pause();
  }
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  ASSERT_EQ(ok, 1);
  EXPECT_EQ(Status("connections"), "1");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(WaitStatus(
      "connections", [](int64_t v) { return v == 0; }, absl::Seconds(3)));
  close(ready[0]);
  close(ready[1]);
}

TEST_F(ScaleTest, AClientBackAfterItsLeaseGetsSessionExpiredNotASecondExecution) {
  StartFiler({"--session_lease_ms=500"});
  EXPECT_EQ(Status("session_lease_ms"), "500");
  protocol::CreateRequest create;
  RawSession first;
  ASSERT_TRUE(first.Open(fabric_, "returning-client").ok());
  create.dir = first.root();
  create.name = "once";
  create.exclusive = true;
  auto h = first.Request(Opcode::kCreate, 0, 77, create);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->status, ErrorCode::kOk);
  first.Close();  // the reply is "lost"; the client goes away for longer than its lease
  ASSERT_TRUE(fs::remove(volume_ + "/once"));  // a second execution would succeed
  ASSERT_TRUE(WaitStatus(
      "session_clients", [](int64_t v) { return v == 0; }, absl::Seconds(10)));

  RawSession back;
  ASSERT_TRUE(back.Open(fabric_, "returning-client").ok());
  h = back.Request(Opcode::kCreate, 0, 77, create, nullptr, protocol::kFlagReplay);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->status, ErrorCode::kSessionExpired) << protocol::ErrorCodeName(h->status);
  EXPECT_FALSE(fs::exists(volume_ + "/once")) << "the replay executed the create again";
  EXPECT_EQ(Status("session_expired_refusals"), "1");

  // New clients work.
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->Create("/new", 0644, true).ok());
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
