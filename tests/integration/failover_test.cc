// Copyright 2026 The vifiler Authors.
//
// Client-side failover with real processes: the client library rides through the loss of its
// filer (kill -9, FAILING, a frozen host found by keepalive) during writes, creates and
// renames, path operations and a large direct read; replays are executed exactly once (checked
// against the filer's replay counters); a wrong failover name fails clearly after the deadline;
// the C API rides through too.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "tests/integration/pair_fixture.h"
#include "tests/integration/test_env.h"
#include "tools/child_process.h"

namespace vifiler {
namespace testing {
namespace {

using client::Client;
using client::ErrorCodeOf;

std::string Record(uint64_t index, size_t size = 4096) {
  std::string s(size, '\0');
  std::mt19937_64 gen(index * 7919 + 1);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = gen();
    memcpy(&s[i], &v, 8);
  }
  return s;
}

std::unique_ptr<Client> FailoverClient(const FilerPair& pair, const std::string& name = "filer-a",
                                       client::ClientOptions* override = nullptr) {
  client::ClientOptions o = override != nullptr ? *override : TestClientOptions(pair.hosts());
  auto c = Client::Connect(name, o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

int64_t StatusInt(const std::string& address, const std::string& key) {
  auto s = AdminStatus(address);
  if (!s.ok() || s->count(key) == 0) return -1;
  return std::stoll((*s)[key]);
}

// Writes 4 KiB records at increasing offsets until stopped; remembers what was acknowledged
// and when each write completed.
class Writer {
 public:
  Writer(Client* client, protocol::FileHandle file) : client_(client), file_(file) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t acknowledged() const { return acknowledged_.load(); }
  int errors() const { return errors_.load(); }
  std::string first_error() {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }
  // The client-visible stall after t: the longest gap between consecutive completions (the
  // first measured from t) within the following five seconds.
  absl::Duration StallAround(absl::Time t) {
    absl::MutexLock lock(&mu_);
    absl::Time previous = t;
    absl::Duration longest;
    for (absl::Time c : completions_) {
      if (c <= t || c > t + absl::Seconds(5)) continue;
      longest = std::max(longest, c - previous);
      previous = c;
    }
    return longest;
  }
  absl::Status WaitFor(uint64_t count, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (acknowledged_ < count) {
      if (absl::Now() > deadline || errors_ > 0) {
        return absl::DeadlineExceededError(absl::StrCat("acknowledged ", acknowledged_.load(),
                                                        " of ", count, "; ", first_error()));
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    return absl::OkStatus();
  }

 private:
  void Run() {
    for (uint64_t i = 0; !stop_; ++i) {
      absl::StatusOr<size_t> n = client_->Write(file_, i * 4096, Record(i));
      if (!n.ok()) {
        errors_.fetch_add(1);
        absl::MutexLock lock(&mu_);
        if (first_error_.empty()) first_error_ = n.status().ToString();
        return;
      }
      {
        absl::MutexLock lock(&mu_);
        completions_.push_back(absl::Now());
      }
      acknowledged_ = i + 1;
    }
  }

  Client* client_;
  protocol::FileHandle file_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<int> errors_{0};
  absl::Mutex mu_;
  std::string first_error_;
  std::vector<absl::Time> completions_;
  std::thread thread_;
};

void VerifyRecords(Client* client, const protocol::FileHandle& file, uint64_t count) {
  std::string got(4096, '\0');
  for (uint64_t i = 0; i < count; ++i) {
    auto n = client->Read(file, i * 4096, absl::MakeSpan(got));
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_EQ(*n, 4096u) << "record " << i;
    ASSERT_EQ(got, Record(i)) << "acknowledged record " << i << " lost or damaged";
  }
}

// The processes whose parent is pid (a filer's fence guard), from /proc.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(it->path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == parent) children.push_back(std::stoi(name));
  }
  return children;
}

// Freezes a filer the way a host that lost power is frozen: the filer and every process it
// started (its fence guard) stop at once, nobody sends a reset or kills anyone. Thawed by Thaw
// or at destruction.
class FrozenHost {
 public:
  explicit FrozenHost(tools::ChildProcess* filer) : filer_(filer) {
    guards_ = ChildrenOf(filer_->pid());
    for (pid_t p : guards_) kill(p, SIGSTOP);
    absl::Status frozen = filer_->Freeze(absl::Seconds(10));
    EXPECT_TRUE(frozen.ok()) << frozen;
  }
  ~FrozenHost() { Thaw(); }
  // The filer resumes first: alone, before its guard can act, it must not apply anything.
  void Thaw() {
    if (thawed_) return;
    thawed_ = true;
    filer_->Signal(SIGCONT);
    for (pid_t p : guards_) kill(p, SIGCONT);
  }
  size_t guards() const { return guards_.size(); }

 private:
  tools::ChildProcess* const filer_;
  std::vector<pid_t> guards_;
  bool thawed_ = false;
};

class FailoverTest : public PairFixture {
 protected:
  explicit FailoverTest(std::vector<std::string> a_flags = {}) : PairFixture(std::move(a_flags)) {}
};

TEST_F(FailoverTest, WriteStreamRidesThroughKillAndGiveback) {
  auto c = FailoverClient(pair_);
  ASSERT_NE(c, nullptr);
  auto f = c->Create("/stream");
  ASSERT_TRUE(f.ok());
  Writer writer(c.get(), f->handle());
  ASSERT_TRUE(writer.WaitFor(200, absl::Seconds(20)).ok());

  const absl::Time killed = absl::Now();
  pair_.a().Kill();
  const uint64_t at_kill = writer.acknowledged();
  ASSERT_TRUE(writer.WaitFor(at_kill + 200, absl::Seconds(20)).ok()) << writer.first_error();
  EXPECT_TRUE(c->stats().on_partner);
  EXPECT_EQ(c->stats().serving_filer, "filer-b");
  EXPECT_EQ(c->stats().failovers, 1u);
  const absl::Duration stall = writer.StallAround(killed);
  EXPECT_LT(stall, Scaled(absl::Seconds(2))) << "client-visible stall " << stall;

  // filer-a returns; giveback moves the client home without an error.
  ASSERT_TRUE(pair_.a().StartNoWait().ok());
  ASSERT_TRUE(GiveBack().ok()) << pair_.Logs();
  const uint64_t at_giveback = writer.acknowledged();
  ASSERT_TRUE(writer.WaitFor(at_giveback + 200, absl::Seconds(20)).ok()) << writer.first_error();
  EXPECT_FALSE(c->stats().on_partner);
  EXPECT_EQ(c->stats().failbacks, 1u);
  writer.Stop();
  EXPECT_EQ(writer.errors(), 0) << writer.first_error();
  VerifyRecords(c.get(), f->handle(), writer.acknowledged());
}

// filer-a dies right after executing (and recording) its 8th mutation, before replying: the
// client's replay of that mutation is answered by filer-b from the recovered reply cache.
class ReplayTest : public FailoverTest {
 protected:
  ReplayTest() : FailoverTest({"--test_only_die_after_mutations=8"}) {}
};

TEST_F(ReplayTest, CreatesAndRenamesAreExecutedExactlyOnce) {
  auto c = FailoverClient(pair_);
  ASSERT_NE(c, nullptr);
  // Mutations: create x0 (1), rename x0->y0 (2), ... the 8th is rename x3 -> y3.
  constexpr int kPairs = 8;
  for (int i = 0; i < kPairs; ++i) {
    protocol::CreateRequest create;
    create.dir = c->root();
    create.name = absl::StrCat("x", i);
    create.exclusive = true;  // executing it twice would fail with kExists
    auto made = c->CreateAt(create);
    ASSERT_TRUE(made.ok()) << "create " << i << ": " << made.status();
    protocol::RenameRequest rename;
    rename.from_dir = c->root();
    rename.from_name = create.name;
    rename.to_dir = c->root();
    rename.to_name = absl::StrCat("y", i);
    absl::Status renamed = c->RenameAt(rename);  // twice would fail with kNoEntry
    ASSERT_TRUE(renamed.ok()) << "rename " << i << ": " << renamed;
  }
  EXPECT_EQ(c->stats().failovers, 1u);
  EXPECT_GE(c->stats().replays, 1u);
  EXPECT_EQ(StatusInt(B(), "secondary_replays"), 1)
      << "the replayed rename was not answered from the reply cache";
  auto list = c->List("/");
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& e : *list) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  std::vector<std::string> want;
  for (int i = 0; i < kPairs; ++i) want.push_back(absl::StrCat("y", i));
  EXPECT_EQ(names, want);
}

class ReplayCreateTest : public FailoverTest {
 protected:
  ReplayCreateTest() : FailoverTest({"--test_only_die_after_mutations=3"}) {}
};

TEST_F(ReplayCreateTest, ReplayedExclusiveCreateDoesNotFail) {
  auto c = FailoverClient(pair_);
  ASSERT_NE(c, nullptr);
  // Mutations 1..3 are exclusive creates; the 3rd dies before its reply.
  for (int i = 0; i < 5; ++i) {
    auto f = c->Create(absl::StrCat("/excl-", i), 0644, /*exclusive=*/true);
    ASSERT_TRUE(f.ok()) << i << ": " << f.status();
  }
  EXPECT_EQ(StatusInt(B(), "secondary_replays"), 1);
  auto list = c->List("/");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 5u);
}

TEST_F(FailoverTest, LargeDirectReadCompletesAcrossKill) {
  auto c = FailoverClient(pair_);
  ASSERT_NE(c, nullptr);
  constexpr size_t kSize = 64u << 20;
  std::string data(kSize, '\0');
  for (size_t i = 0; i < kSize / 4096; ++i) memcpy(&data[i * 4096], Record(i).data(), 4096);
  auto f = c->Create("/large");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write(0, data).ok());

  std::string back(kSize, '\0');
  absl::StatusOr<size_t> read = absl::InternalError("not run");
  std::atomic<bool> started{false};
  std::thread reader([&] {
    started = true;
    read = f->Read(0, absl::MakeSpan(back));
  });
  while (!started) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(20));
  pair_.a().Kill();
  reader.join();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, kSize);
  EXPECT_TRUE(back == data) << "direct read returned wrong bytes after failover";
  EXPECT_EQ(c->stats().failovers, 1u);
}

// A filer process killed on a live host is not silent: its fence guard fences its volume and
// writes a released beat, and the partner takes over without waiting for missed heartbeats or the
// lease; an administrative halt with takeover releases the volume and sends FAILING. Either way
// the client's stall stays under the lease (a power cut, truly silent, waits it out: hosts suite).
TEST_F(FailoverTest, KilledAndHaltedFilersFailOverWithoutWaitingOutTheLease) {
  auto c = FailoverClient(pair_);
  ASSERT_NE(c, nullptr);
  auto f = c->Create("/timed");
  ASSERT_TRUE(f.ok());
  Writer writer(c.get(), f->handle());
  ASSERT_TRUE(writer.WaitFor(100, absl::Seconds(20)).ok());

  absl::Time t = absl::Now();
  pair_.a().Kill();
  ASSERT_TRUE(writer.WaitFor(writer.acknowledged() + 100, absl::Seconds(20)).ok());
  const absl::Duration silent = writer.StallAround(t);
  ASSERT_TRUE(pair_.a().StartNoWait().ok());
  ASSERT_TRUE(GiveBack().ok());
  ASSERT_TRUE(writer.WaitFor(writer.acknowledged() + 100, absl::Seconds(20)).ok());
  ASSERT_TRUE(WaitForStatus(B(), "partner_state", "up", absl::Seconds(10)).ok());
  ASSERT_FALSE(c->stats().on_partner);

  t = absl::Now();
  auto r = AdminCommand(A(), "halt-takeover");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(writer.WaitFor(writer.acknowledged() + 100, absl::Seconds(20)).ok());
  const absl::Duration failing = writer.StallAround(t);
  writer.Stop();
  EXPECT_EQ(writer.errors(), 0);
  fprintf(stderr, "client-visible stall: kill -9 %s, halt with takeover %s\n",
          absl::FormatDuration(silent).c_str(), absl::FormatDuration(failing).c_str());
  EXPECT_LT(silent, Scaled(TestLease())) << "kill -9 stall " << silent;
  EXPECT_LT(failing, Scaled(TestLease())) << "halt-with-takeover stall " << failing;
  VerifyRecords(c.get(), f->handle(), writer.acknowledged());
}

// Threads resolve paths from the root while other threads' calls fail over and back: the root
// handle the client hands out must stay valid through every reconnect (never a zero handle
// that the filer rejects as BAD_HANDLE).
TEST_F(FailoverTest, PathOperationsDuringReconnectsNeverSeeBadHandle) {
  auto c = FailoverClient(pair_);
  ASSERT_NE(c, nullptr);
  const protocol::FileHandle root = c->root();
  ASSERT_NE(root, protocol::FileHandle());
  constexpr int kThreads = 6;
  for (int t = 0; t < kThreads; ++t) ASSERT_TRUE(c->Mkdir(absl::StrCat("/t", t)).ok());

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0};
  std::atomic<int> errors{0};
  std::atomic<int> bad_handles{0};
  absl::Mutex mu;
  std::string first_error;
  auto record = [&](const absl::Status& s) {
    if (s.ok()) return;
    errors.fetch_add(1);
    if (ErrorCodeOf(s) == protocol::ErrorCode::kBadHandle) bad_handles.fetch_add(1);
    absl::MutexLock lock(&mu);
    if (first_error.empty()) first_error = s.ToString();
  };
  std::vector<std::thread> threads;
  // Stops and joins the threads however the test ends (an ASSERT returns early).
  struct Joiner {
    std::atomic<bool>* stop;
    std::vector<std::thread>* threads;
    ~Joiner() {
      *stop = true;
      for (std::thread& t : *threads) {
        if (t.joinable()) t.join();
      }
    }
  } joiner{&stop, &threads};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 gen(t);
      for (uint64_t n = 0; !stop; ++n) {
        const std::string path = absl::StrCat("/t", t, "/f", n % 4);
        record(c->Create(path).status());
        record(c->Stat(path).status());
        record(c->Resolve(path).status());
        record(c->Stat("/").status());
        ops.fetch_add(1);
        // An application works between its calls: that is when it starts a new path walk
        // while another thread's call is reconnecting.
        absl::SleepFor(absl::Microseconds(500 + gen() % 2000));
      }
    });
  }
  auto wait_ops = [&](uint64_t more) {
    const uint64_t target = ops.load() + more;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (ops.load() < target && absl::Now() < deadline && errors.load() == 0) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    return ops.load() >= target;
  };
  EXPECT_TRUE(wait_ops(50));
  pair_.a().Kill();  // failover to filer-b: every thread is stuck on the dead filer
  EXPECT_TRUE(wait_ops(50));
  EXPECT_EQ(c->stats().failovers, 1u);
  ASSERT_TRUE(pair_.a().StartNoWait().ok());
  // Failback, then takeover/giveback cycles: each sends the client away from a filer that
  // refuses with NOT_OWNER while threads between calls start new path walks.
  EXPECT_TRUE(GiveBack().ok()) << pair_.Logs();
  EXPECT_TRUE(wait_ops(50));
  constexpr int kCycles = 4;
  for (int cycle = 0; cycle < kCycles && errors.load() == 0; ++cycle) {
    auto r = AdminCommand(B(), "takeover");
    ASSERT_TRUE(r.ok() && r->rfind("OK", 0) == 0) << (r.ok() ? *r : r.status().ToString());
    ASSERT_TRUE(WaitForStatus(A(), "state", "waiting-for-giveback", absl::Seconds(10)).ok());
    EXPECT_TRUE(wait_ops(30));
    r = AdminCommand(B(), "giveback");
    ASSERT_TRUE(r.ok() && r->rfind("OK", 0) == 0) << (r.ok() ? *r : r.status().ToString());
    ASSERT_TRUE(WaitForStatus(A(), "state", "up", absl::Seconds(10)).ok());
    ASSERT_TRUE(WaitForStatus(B(), "partner_state", "up", absl::Seconds(10)).ok());
    EXPECT_TRUE(wait_ops(30));
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  threads.clear();
  fprintf(stderr, "%llu path operations, %llu reconnects\n",
          static_cast<unsigned long long>(ops.load()),
          static_cast<unsigned long long>(c->stats().reconnects));
  EXPECT_EQ(bad_handles.load(), 0) << first_error;
  EXPECT_EQ(errors.load(), 0) << first_error;
  EXPECT_GE(c->stats().failbacks, 1u);
  EXPECT_EQ(c->root(), root);
  EXPECT_EQ(c->stats().root_mismatches, 0u);
}

// filer-a's host freezes (filer and fence guard stopped: no reset, no FIN, its port still
// accepts connections, its lease is not renewed) while the client has a mutation outstanding
// on it. Keepalive finds the silence and the client moves to filer-b long before
// request_timeout; after the thaw nothing filer-a received while frozen may land on the
// volume.
TEST_F(FailoverTest, FrozenHostIsLeftWithinKeepaliveTimeoutAndAppliesNothingWhenThawed) {
  client::ClientOptions o = TestClientOptions(pair_.hosts());
  o.request_timeout = absl::Seconds(10);  // only keepalive can make the move fast
  auto c = FailoverClient(pair_, "filer-a", &o);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Mkdir("/d").ok());
  auto dir = c->Resolve("/d");
  ASSERT_TRUE(dir.ok());
  auto file = c->Create("/d/kept");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->Write(0, "before").ok());

  FrozenHost host(pair_.a().process());
  const absl::Time frozen = absl::Now();
  absl::StatusOr<protocol::HandleReply> created = absl::InternalError("not run");
  absl::Time done_at;
  std::thread op([&] {
    protocol::CreateRequest create;
    create.dir = *dir;
    create.name = "during-freeze";
    create.exclusive = true;
    created = c->CreateAt(create);  // sent to the frozen filer-a, replayed on filer-b
    done_at = absl::Now();
  });
  auto takeover = WaitForStatus(B(), "state", "takeover", absl::Seconds(10));
  op.join();
  ASSERT_TRUE(takeover.ok()) << takeover.status();
  ASSERT_TRUE(created.ok()) << created.status();
  const absl::Duration stall = done_at - frozen;
  const absl::Duration bound = o.keepalive_timeout + *takeover + absl::Seconds(1);
  fprintf(stderr,
          "frozen host (%zu guard processes): client stall %s (takeover after %s, bound %s)\n",
          host.guards(), absl::FormatDuration(stall).c_str(),
          absl::FormatDuration(*takeover).c_str(), absl::FormatDuration(bound).c_str());
  EXPECT_LT(stall, bound);
  EXPECT_LT(stall, o.request_timeout);
  const client::ClientStats stats = c->stats();
  EXPECT_EQ(stats.failovers, 1u);
  EXPECT_EQ(stats.serving_filer, "filer-b");
  // Left for silence, or as soon as filer-b's secondary port (the witness) opened.
  EXPECT_GE(stats.keepalive_failures + stats.witness_failovers, 1u);
  EXPECT_GE(stats.probes, 1u);

  // Undo on filer-b what the resumed filer-a would redo if it executed its stale request.
  ASSERT_TRUE(c->Remove("/d/during-freeze").ok());
  ASSERT_TRUE(file->Write(0, "after!").ok());
  host.Thaw();
  // filer-a reads what it received while frozen and finds its lease gone, or its fence guard
  // kills it first: either way nothing it received may land.
  bool settled = false;
  for (const absl::Time resumed = absl::Now();
       !settled && absl::Now() - resumed < absl::Seconds(10);) {
    if (!pair_.a().process()->Running()) {
      settled = true;
    } else if (auto st = AdminStatus(A()); st.ok() && (*st)["state"] == "waiting-for-giveback") {
      settled = true;
    } else {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  ASSERT_TRUE(settled) << "filer-a neither exited nor waits for giveback";
  absl::SleepFor(absl::Milliseconds(500));  // whatever it still runs has had time to land
  EXPECT_NE(access((pair_.volume_a() + "/d/during-freeze").c_str(), F_OK), 0)
      << "the resumed filer applied a request it received while frozen";
  std::string got(6, '\0');
  auto n = file->Read(0, absl::MakeSpan(got));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(got, "after!");
  EXPECT_EQ(c->stats().failovers, 1u);
}

// The same frozen host, with a keepalive timeout far longer than a takeover: the client leaves
// filer-a as soon as filer-b's secondary port accepts (it opens only once filer-b holds
// filer-a's volume), not when its keepalive gives up.
TEST_F(FailoverTest, FrozenHostIsLeftAsSoonAsThePartnerTookOver) {
  client::ClientOptions o = TestClientOptions(pair_.hosts());
  o.keepalive_timeout = Scaled(absl::Seconds(8));
  o.request_timeout = Scaled(absl::Seconds(20));
  auto c = FailoverClient(pair_, "filer-a", &o);
  ASSERT_NE(c, nullptr);
  auto file = c->Create("/witnessed");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->Write(0, "before").ok());

  FrozenHost host(pair_.a().process());
  const absl::Time frozen = absl::Now();
  absl::Status written = absl::InternalError("not run");
  absl::Time done_at;
  std::thread op([&] {
    written = file->Write(0, "during").status();  // to the frozen filer-a, replayed on filer-b
    done_at = absl::Now();
  });
  auto takeover = WaitForStatus(B(), "state", "takeover", Scaled(absl::Seconds(10)));
  op.join();
  ASSERT_TRUE(takeover.ok()) << takeover.status();
  ASSERT_TRUE(written.ok()) << written;
  const absl::Duration stall = done_at - frozen;
  fprintf(stderr, "frozen host, witness: client stall %s (takeover seen after %s)\n",
          absl::FormatDuration(stall).c_str(), absl::FormatDuration(*takeover).c_str());
  EXPECT_LT(stall, *takeover + Scaled(absl::Seconds(1)));
  EXPECT_LT(stall, o.keepalive_timeout);
  const client::ClientStats stats = c->stats();
  EXPECT_EQ(stats.serving_filer, "filer-b");
  EXPECT_EQ(stats.witness_failovers, 1u);
  EXPECT_EQ(stats.keepalive_failures, 0u);
  host.Thaw();
}

TEST_F(FailoverTest, WrongFailoverSuffixFailsClearlyAfterTheDeadline) {
  client::ClientOptions o = TestClientOptions(pair_.hosts());
  o.failover_suffix = "-nope";
  o.failover_deadline = absl::Seconds(2);
  auto c = FailoverClient(pair_, "filer-a", &o);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Mkdir("/before").ok());
  pair_.a().Kill();
  const absl::Time t = absl::Now();
  absl::Status s = c->Mkdir("/after");
  const absl::Duration waited = absl::Now() - t;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("filer-a-nope"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("not in hosts file"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("filer-a ("), absl::string_view::npos)
      << "must name the primary tried: " << s;
  EXPECT_GE(waited, absl::Seconds(2));
  EXPECT_LT(waited, absl::Seconds(10));
}

TEST_F(FailoverTest, CommandLineAnnouncesFailover) {
  pair_.a().Kill();
  ASSERT_TRUE(WaitForStatus(B(), "state", "takeover", absl::Seconds(10)).ok());
  std::string out, err;
  auto rc = RunCommand({BinaryPath("VIFILER"), "--hosts_file=" + pair_.hosts(),
                        "--fabric=" + pair_.fabric().fabric, "mkdir", "filer-a:/via-partner"},
                       &out, &err, absl::Seconds(30));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0) << err;
  EXPECT_NE(err.find("failed over to filer-b"), std::string::npos) << err;
  EXPECT_EQ(access((pair_.volume_a() + "/via-partner").c_str(), F_OK), 0);
}

TEST_F(FailoverTest, CApiProgramRidesThroughFailover) {
  auto program = tools::ChildProcess::Start(
      {BinaryPath("VIFILER_C_FAILOVER"), pair_.hosts(), pair_.fabric().fabric, "3000"},
      pair_.dir() + "/c-program.log");
  ASSERT_TRUE(program.ok());
  absl::SleepFor(absl::Milliseconds(800));
  pair_.a().Kill();
  ASSERT_TRUE((*program)->Wait(absl::Seconds(60)).ok());
  const int status = (*program)->wait_status();
  std::string log;
  {
    std::ifstream in(pair_.dir() + "/c-program.log");
    std::stringstream ss;
    ss << in.rdbuf();
    log = ss.str();
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  EXPECT_NE(log.find("failovers=1"), std::string::npos) << log;
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
