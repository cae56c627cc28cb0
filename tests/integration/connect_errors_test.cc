// Copyright 2026 The vifiler Authors.
//
// Connection failures, through the CLI and the client library, with no filer running: those
// no retry can fix (the name is not in the hosts file, no hosts file, no RDMA on this host)
// fail at once, naming the cause; a filer that does not answer is retried until
// failover_deadline, and the client says once that it is retrying. A call's own deadline
// (ClientOptions::call_timeout, client::CallDeadline) ends it sooner, whatever it waits for.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "tests/integration/test_env.h"

namespace vifiler {
namespace testing {
namespace {

// Far longer than any bound below: a failure that waits for it is caught.
constexpr char kLongDeadline[] = "--failover_deadline_ms=20000";

struct CliRun {
  int rc = -1;
  std::string err;
  absl::Duration took;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ConnectErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fabric_ = GetTestFabric();
    ASSERT_FALSE(fabric_.address_a.empty()) << "no address for fabric " << fabric_.fabric;
    dir_ = MakeScratchDir("vifiler-connect-errors-test");
    ASSERT_FALSE(dir_.empty());
    // filer-a resolves to an address where nothing listens; filer-a-failover is absent.
    hosts_ = WriteHostsFile(dir_, {{"filer-a", fabric_.address_a}});
    local_ = dir_ + "/x.txt";
    FILE* f = fopen(local_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs("hello\n", f);
    fclose(f);
  }
  void TearDown() override { RemoveTree(dir_); }

  // `vifiler [flags] put LOCAL remote`, bounded by 60 s.
  CliRun Put(const std::string& remote, std::vector<std::string> flags) {
    std::vector<std::string> argv = {BinaryPath("VIFILER"), "--fabric=" + fabric_.fabric};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"put", local_, remote});
    CliRun run;
    std::string out;
    const absl::Time start = absl::Now();
    absl::StatusOr<int> rc = RunCommand(argv, &out, &run.err, absl::Seconds(60));
    run.took = absl::Now() - start;
    EXPECT_TRUE(rc.ok()) << rc.status();
    if (rc.ok()) run.rc = *rc;
    return run;
  }

  TestFabric fabric_;
  std::string dir_, hosts_, local_;
};

TEST_F(ConnectErrorsTest, NameNotInHostsFileFailsAtOnce) {
  for (const char* failover : {"--enable_failover", "--noenable_failover"}) {
    SCOPED_TRACE(failover);
    CliRun run = Put("filer-zz:/x", {"--hosts_file=" + hosts_, kLongDeadline, failover});
    EXPECT_NE(run.rc, 0);
    EXPECT_LT(run.took, Scaled(absl::Seconds(3))) << run.err;
    EXPECT_TRUE(absl::StrContains(run.err, "NOT_FOUND")) << run.err;
    EXPECT_TRUE(absl::StrContains(run.err, "name 'filer-zz' not in hosts file " + hosts_))
        << run.err;
    EXPECT_TRUE(absl::StrContains(run.err, "retrying cannot help")) << run.err;
    EXPECT_FALSE(absl::StrContains(run.err, "retrying until")) << run.err;
  }
}

TEST_F(ConnectErrorsTest, MissingHostsFileFailsAtOnce) {
  const std::string missing = dir_ + "/no-such-hosts-file";
  CliRun run = Put("filer-a:/x", {"--hosts_file=" + missing, kLongDeadline});
  EXPECT_NE(run.rc, 0);
  EXPECT_LT(run.took, Scaled(absl::Seconds(3))) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "cannot read hosts file " + missing)) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "retrying cannot help")) << run.err;
}

// Without an RDMA stack (no /dev/infiniband/rdma_cm) --fabric=rdma cannot work on this host.
TEST_F(ConnectErrorsTest, RdmaWithoutRdmaOnThisHostFailsAtOnce) {
  if (access("/dev/infiniband/rdma_cm", F_OK) == 0) GTEST_SKIP() << "this host has rdma_cm";
  CliRun run = Put("filer-a:/x", {"--hosts_file=" + hosts_, kLongDeadline, "--fabric=rdma",
                                  "--noenable_failover"});
  EXPECT_NE(run.rc, 0);
  EXPECT_LT(run.took, Scaled(absl::Seconds(3))) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "FAILED_PRECONDITION")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "no RDMA support on this host")) << run.err;
}

// Nothing listens at filer-a's address (a filer restarting): retried until the deadline, with
// one notice. The failover name is absent, but one transient failure is enough to keep trying.
TEST_F(ConnectErrorsTest, NothingListeningIsRetriedUntilTheDeadlineWithOneNotice) {
  CliRun run = Put("filer-a:/x", {"--hosts_file=" + hosts_, "--failover_deadline_ms=1500"});
  EXPECT_NE(run.rc, 0);
  EXPECT_GE(run.took, absl::Milliseconds(1200)) << run.err;
  EXPECT_LT(run.took, Scaled(absl::Seconds(10))) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "UNAVAILABLE: cannot reach filer filer-a (gave up after"))
      << run.err;
  EXPECT_EQ(Count(run.err, "retrying until the failover deadline"), 1u) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "cannot reach filer filer-a yet")) << run.err;
}

// Library: only when every candidate fails for good does Connect give up early. The home name
// is absent but its failover name resolves (nothing listens there): retried to the deadline.
TEST_F(ConnectErrorsTest, OneResolvableCandidateKeepsTheRetrying) {
  const std::string hosts = WriteHostsFile(dir_, {{"filer-x-failover", fabric_.address_a}});
  client::ClientOptions o = TestClientOptions(hosts);
  o.failover_deadline = absl::Milliseconds(1500);
  const absl::Time start = absl::Now();
  auto c = client::Client::Connect("filer-x", o);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable) << c.status();
  EXPECT_GE(took, absl::Milliseconds(1200)) << c.status();

  // With failover off, the absent home name is all there is: at once, NotFound.
  o.failover = false;
  o.failover_deadline = absl::Seconds(20);
  const absl::Time again = absl::Now();
  c = client::Client::Connect("filer-x", o);
  EXPECT_LT(absl::Now() - again, Scaled(absl::Seconds(3)));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "name 'filer-x' not in hosts file"))
      << c.status();
}

// A filer that comes up shortly after the client started trying (a restart, an ordinary
// takeover) is connected to without the "retrying" warning: it comes only once a reconnect has
// failed for longer than a takeover takes.
TEST_F(ConnectErrorsTest, AFilerUpWithinASecondIsReachedWithoutTheRetryingNotice) {
  if (fabric_.fabric != "tcp") GTEST_SKIP() << "a filer's start time is bounded on tcp only";
  const std::string volume = dir_ + "/volume-a";
  ASSERT_EQ(mkdir(volume.c_str(), 0755), 0);
  FilerProcess filer("filer-a", volume, fabric_.address_a, hosts_, dir_ + "/filer-a.log");
  absl::Mutex mu;
  std::vector<std::string> warnings;
  client::ClientOptions o = TestClientOptions(hosts_);
  o.failover_deadline = absl::Seconds(20);
  o.log_level = client::LogLevel::kWarning;
  o.log = [&](client::LogLevel, const std::string& message) {
    absl::MutexLock lock(&mu);
    warnings.push_back(message);
  };
  absl::Status started = absl::InternalError("not started");
  std::thread starter([&] {
    absl::SleepFor(absl::Milliseconds(300));
    started = filer.Start();
  });
  const absl::Time start = absl::Now();
  auto c = client::Client::Connect("filer-a", o);
  const absl::Duration took = absl::Now() - start;
  starter.join();
  ASSERT_TRUE(started.ok()) << started << filer.Log();
  ASSERT_TRUE(c.ok()) << c.status();
  c->reset();
  filer.Stop();
  if (took >= absl::Milliseconds(1900)) GTEST_SKIP() << "the filer took " << took << " to start";
  absl::MutexLock lock(&mu);
  for (const std::string& w : warnings) {
    EXPECT_FALSE(absl::StrContains(w, "retrying until"))
        << w << " (connected after " << took << ")";
  }
}

TEST_F(ConnectErrorsTest, ConnectEndsAtTheCallDeadline) {
  client::ClientOptions o = TestClientOptions(hosts_);
  o.failover_deadline = absl::Seconds(20);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<client::Client>> c = absl::InternalError("not run");
  {
    client::CallDeadline deadline(absl::Now() + absl::Milliseconds(300));
    c = client::Client::Connect("filer-a", o);
  }
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "past its deadline")) << c.status();
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, Scaled(absl::Seconds(2))) << c.status();
  // The deadline ended with its scope: the next Connect retries for the failover deadline.
  EXPECT_EQ(client::CallDeadline::Current(), absl::InfiniteFuture());
}

class CallDeadlineTest : public ConnectErrorsTest {
 protected:
  void SetUp() override {
    ConnectErrorsTest::SetUp();
    if (HasFatalFailure()) return;
    const std::string volume = dir_ + "/volume-a";
    ASSERT_EQ(mkdir(volume.c_str(), 0755), 0);
    // The tests freeze the filer (SIGSTOP) for up to half a second: a lease longer than the
    // default 600 ms keeps its fence guard from killing it for not renewing meanwhile.
    filer_ = std::make_unique<FilerProcess>("filer-a", volume, fabric_.address_a, hosts_,
                                            dir_ + "/filer-a.log",
                                            std::vector<std::string>{"--lease_ms=2000"});
    ASSERT_TRUE(filer_->Start().ok()) << filer_->Log();
  }
  void TearDown() override {
    if (HasFailure() && filer_ != nullptr)
      fprintf(stderr, "filer log:\n%s\n", filer_->Log().c_str());
    if (filer_ != nullptr && filer_->process() != nullptr) filer_->process()->Signal(SIGCONT);
    filer_.reset();
    ConnectErrorsTest::TearDown();
  }
  std::unique_ptr<FilerProcess> filer_;
};

// A filer frozen mid-call: the call ends at its deadline, not at request_timeout or
// keepalive_timeout, and the connection is not given up for it: once the filer runs again the
// next calls are served on the same connection.
TEST_F(CallDeadlineTest, AFrozenFilerEndsACallAtItsDeadlineAndTheConnectionStays) {
  client::ClientOptions o = TestClientOptions(hosts_);
  o.failover_deadline = absl::Seconds(20);
  o.request_timeout = absl::Seconds(20);
  auto c = client::Client::Connect("filer-a", o);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Mkdir("/before").ok());
  ASSERT_TRUE(filer_->process()->Freeze(absl::Seconds(10)).ok());
  const absl::Time start = absl::Now();
  absl::Status made;
  {
    client::CallDeadline deadline(absl::Now() + absl::Milliseconds(300));
    made = (*c)->Mkdir("/during");
  }
  const absl::Duration took = absl::Now() - start;
  filer_->process()->Signal(SIGCONT);
  EXPECT_EQ(made.code(), absl::StatusCode::kDeadlineExceeded) << made;
  EXPECT_TRUE(absl::StrContains(made.message(), "waiting for the reply")) << made;
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, Scaled(absl::Milliseconds(900)));
  // The filer runs again: the same connection serves the next calls.
  EXPECT_TRUE((*c)->Mkdir("/after").ok());
  EXPECT_TRUE((*c)->Stat("/before").ok());
  const client::ClientStats stats = (*c)->stats();
  EXPECT_EQ(stats.calls_past_deadline, 1u);
  EXPECT_EQ(stats.reconnects, 0u);
}

// A mutation abandoned at its deadline runs once, and only once: not again when the next call
// takes its slot (one slot: it must), and not again when the client reconnects to a restarted
// filer and replays what it still has in flight. The abandoned call is a rename of /f to /g;
// the next one creates a new /f. Run twice, the rename would move the new /f away.
TEST_F(CallDeadlineTest, AnAbandonedMutationRunsOnceWhenItsSlotIsReusedAndAfterARestart) {
  client::ClientOptions o = TestClientOptions(hosts_);
  o.slots = 1;
  o.failover_deadline = absl::Seconds(30);
  o.request_timeout = absl::Seconds(30);
  auto c = client::Client::Connect("filer-a", o);
  ASSERT_TRUE(c.ok()) << c.status();
  auto write_file = [&](const std::string& path, absl::string_view data) {
    auto f = (*c)->Create(path);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE(f->Write(0, data).ok());
  };
  write_file("/f", "first");
  ASSERT_TRUE(filer_->process()->Freeze(absl::Seconds(10)).ok());
  absl::Status renamed;
  {
    client::CallDeadline deadline(absl::Now() + absl::Milliseconds(300));
    renamed = (*c)->Rename("/f", "/g");
  }
  ASSERT_EQ(renamed.code(), absl::StatusCode::kDeadlineExceeded) << renamed;
  // The next call goes out on the same slot while the filer is still frozen.
  absl::Status created = absl::UnknownError("not run");
  std::thread next([&] {
    auto f = (*c)->Create("/f", 0644, /*exclusive=*/true);
    created = f.ok() ? f->Write(0, "second").status() : f.status();
  });
  absl::SleepFor(absl::Milliseconds(200));
  filer_->process()->Signal(SIGCONT);
  next.join();
  // The rename ran before the create (the filer takes the slot's sequences in order): the new
  // /f can only exist if the rename had moved the old one.
  ASSERT_TRUE(created.ok()) << created;
  // A restart: the client reconnects and replays whatever it still holds in flight.
  filer_->Kill();
  ASSERT_TRUE(filer_->Start().ok()) << filer_->Log();
  ASSERT_TRUE((*c)->Mkdir("/after-restart").ok());
  auto read_file = [&](const std::string& path) -> std::string {
    auto f = (*c)->Open(path);
    if (!f.ok()) return absl::StrCat("(", f.status().ToString(), ")");
    char buf[64];
    auto n = f->Read(0, absl::MakeSpan(buf, sizeof buf));
    return n.ok() ? std::string(buf, *n) : absl::StrCat("(", n.status().ToString(), ")");
  };
  EXPECT_EQ(read_file("/g"), "first");
  EXPECT_EQ(read_file("/f"), "second") << "the abandoned rename ran again";
  const client::ClientStats stats = (*c)->stats();
  EXPECT_EQ(stats.calls_past_deadline, 1u);
  EXPECT_GE(stats.reconnects, 1u);
}

// ClientOptions::call_timeout bounds every call: a filer that is gone (no partner to fail over
// to) ends each call at call_timeout, not at the failover deadline.
TEST_F(CallDeadlineTest, CallTimeoutEndsCallsToALostFilerAtTheTimeout) {
  client::ClientOptions o = TestClientOptions(hosts_);
  o.failover_deadline = absl::Seconds(20);
  o.call_timeout = absl::Milliseconds(500);
  auto c = client::Client::Connect("filer-a", o);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Mkdir("/d").ok());
  filer_->Kill();
  for (int i = 0; i < 2; ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<protocol::FileAttr> attr = (*c)->Stat("/d");
    const absl::Duration took = absl::Now() - start;
    ASSERT_FALSE(attr.ok());
    EXPECT_EQ(attr.status().code(), absl::StatusCode::kDeadlineExceeded) << attr.status();
    EXPECT_LT(took, Scaled(absl::Seconds(2))) << attr.status();
  }
  EXPECT_EQ((*c)->stats().calls_past_deadline, 2u);
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
