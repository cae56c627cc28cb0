// Copyright 2026 The vifiler Authors.
//
// AdminServer and vifilerctl: the request parser and access decision as pure functions, then a
// real admin port on 127.0.0.2 (and 127.0.0.3 for the partner) with a fake AdminHandler, and
// the vifilerctl binary (env VIFILERCTL) against it.

#include "cluster/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "transport/fabric.h"

namespace vifiler {
namespace cluster {
namespace {

constexpr char kFilerA[] = "127.0.0.2";
constexpr char kFilerB[] = "127.0.0.3";
constexpr uint16_t kPort = 17303;

// Records every call; answers with a configurable status text and error.
class FakeHandler : public AdminHandler {
 public:
  explicit FakeHandler(std::string status) : status_(std::move(status)) {}

  std::string Status() override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("status");
    return status_;
  }
  absl::Status Takeover() override { return Result("takeover"); }
  absl::Status Giveback() override { return Result("giveback"); }
  absl::Status Halt(bool takeover) override { return Result(takeover ? "halt-takeover" : "halt"); }
  absl::Status SetInterconnectCut(bool cut) override {
    return Result(cut ? "cut-interconnect" : "restore-interconnect");
  }

  void set_error(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Status Result(const std::string& call) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(call);
    return error_;
  }

  absl::Mutex mu_;
  const std::string status_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

// ---- pure functions ----

TEST(ParseAdminRequestTest, CommandWithoutSecret) {
  absl::StatusOr<AdminRequest> request = ParseAdminRequest("VIFILER-ADMIN 1\nstatus\n");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_FALSE(request->has_secret);
  EXPECT_EQ(request->command, "status");
  EXPECT_TRUE(request->args.empty());
}

TEST(ParseAdminRequestTest, CommandWithSecretAndArgs) {
  absl::StatusOr<AdminRequest> request =
      ParseAdminRequest("VIFILER-ADMIN 1\nsecret s3 cret\nhalt now  please\n");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->has_secret);
  EXPECT_EQ(request->secret, "s3 cret");
  EXPECT_EQ(request->command, "halt");
  EXPECT_EQ(request->args, (std::vector<std::string>{"now", "please"}));
}

TEST(ParseAdminRequestTest, FinalNewlineIsOptional) {
  absl::StatusOr<AdminRequest> request = ParseAdminRequest("VIFILER-ADMIN 1\ntakeover");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->command, "takeover");
}

TEST(ParseAdminRequestTest, EncodeRoundTrips) {
  absl::StatusOr<AdminRequest> request = ParseAdminRequest(EncodeAdminRequest("giveback", "xyz"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->secret, "xyz");
  EXPECT_EQ(request->command, "giveback");
  EXPECT_EQ(EncodeAdminRequest("status", ""), "VIFILER-ADMIN 1\nstatus\n");
}

TEST(ParseAdminRequestTest, RejectsMalformed) {
  const std::vector<std::string> bad = {
      "",
      "\n",
      "status\n",
      "VIFILER-ADMIN 2\nstatus\n",
      "VIFILER-ADMIN 1\n",
      "VIFILER-ADMIN 1\nsecret abc\n",
      "VIFILER-ADMIN 1\nsecret \nstatus\n",
      "VIFILER-ADMIN 1\n   \n",
      "VIFILER-ADMIN 1\nstatus\ntakeover\n",
      "VIFILER-ADMIN 1\nstatus\n\n",
      "VIFILER-ADMIN 1\r\nstatus\r\n",
      std::string("VIFILER-ADMIN 1\nsta\0tus\n", 24),
      "VIFILER-ADMIN 1\n" + std::string(kMaxAdminRequestSize, 'a') + "\n",
  };
  for (const std::string& message : bad) {
    absl::StatusOr<AdminRequest> request = ParseAdminRequest(message);
    EXPECT_TRUE(absl::IsInvalidArgument(request.status())) << "accepted: " << message;
    EXPECT_TRUE(absl::StartsWith(request.status().message(), "malformed request"));
  }
}

TEST(AdminReplyTest, EncodeAndParse) {
  EXPECT_EQ(EncodeAdminReply(std::string("a=1\n")), "OK\na=1\n");
  EXPECT_EQ(EncodeAdminReply(absl::InternalError("two\nlines")), "ERROR two lines");
  absl::StatusOr<std::string> ok = ParseAdminReply("OK\nstate=up\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "state=up\n");
  absl::StatusOr<std::string> error = ParseAdminReply("ERROR permission denied: no");
  EXPECT_EQ(error.status().message(), "permission denied: no");
  EXPECT_TRUE(absl::IsInvalidArgument(ParseAdminReply("HELLO").status()));
}

TEST(SecretsEqualTest, ComparesWholeStrings) {
  EXPECT_TRUE(SecretsEqual("hunter2", "hunter2"));
  EXPECT_FALSE(SecretsEqual("hunter2", "hunter3"));
  EXPECT_FALSE(SecretsEqual("hunter2", "hunter"));
  EXPECT_FALSE(SecretsEqual("hunter", "hunter2"));
  EXPECT_FALSE(SecretsEqual("a", ""));
  EXPECT_TRUE(SecretsEqual("", ""));
}

TEST(IsLocalPeerTest, LoopbackIsLocal) {
  EXPECT_TRUE(IsLocalPeer("127.0.0.1:5000", {}));
  EXPECT_TRUE(IsLocalPeer("127.4.5.6:1", {}));
  EXPECT_TRUE(IsLocalPeer("[::1]:7303", {}));
  EXPECT_TRUE(IsLocalPeer("[::ffff:127.0.0.2]:7303", {}));
  EXPECT_TRUE(IsLocalPeer("127.0.0.1", {}));
}

TEST(IsLocalPeerTest, OtherAddressesAreNotLocal) {
  EXPECT_FALSE(IsLocalPeer("192.0.2.1:5000", {}));
  EXPECT_FALSE(IsLocalPeer("192.0.2.1:5000", {"192.0.2.2", "10.0.0.1"}));
  EXPECT_FALSE(IsLocalPeer("128.0.0.1:5000", {}));
  EXPECT_FALSE(IsLocalPeer("[2001:db8::1]:5000", {"2001:db8::2"}));
  EXPECT_FALSE(IsLocalPeer("[::ffff:192.0.2.1]:5000", {}));
  EXPECT_FALSE(IsLocalPeer("unknown", {"192.0.2.1"}));
  EXPECT_FALSE(IsLocalPeer("", {}));
  EXPECT_FALSE(IsLocalPeer("[::1:5000", {}));
}

TEST(IsLocalPeerTest, InterfaceAddressesAreLocal) {
  EXPECT_TRUE(IsLocalPeer("192.0.2.1:5000", {"10.0.0.1", "192.0.2.1"}));
  EXPECT_TRUE(IsLocalPeer("[::ffff:192.0.2.1]:5000", {"192.0.2.1"}));
  EXPECT_TRUE(IsLocalPeer("[2001:db8::1]:5000", {"2001:db8:0:0::1"}));
  EXPECT_TRUE(IsLocalPeer("[fe80::1]:5000", {"fe80::1%eth0"}));
}

TEST(IsLocalPeerTest, LocalInterfaceAddressesIncludeLoopback) {
  std::vector<std::string> addresses = LocalInterfaceAddresses();
  bool loopback = false;
  for (const std::string& address : addresses) loopback |= absl::StartsWith(address, "127.");
  EXPECT_TRUE(loopback);
}

AdminRequest WithSecret(const std::string& secret) {
  AdminRequest request;
  request.command = "status";
  request.has_secret = !secret.empty();
  request.secret = secret;
  return request;
}

TEST(CheckAdminAccessTest, Decisions) {
  const std::vector<std::string> none;
  EXPECT_TRUE(CheckAdminAccess("127.0.0.1:1", none, "", WithSecret("")).ok());
  EXPECT_TRUE(CheckAdminAccess("127.0.0.1:1", none, "s", WithSecret("wrong")).ok());
  EXPECT_TRUE(CheckAdminAccess("192.0.2.1:5000", {"192.0.2.1"}, "", WithSecret("")).ok());
  EXPECT_TRUE(CheckAdminAccess("192.0.2.1:5000", none, "s3", WithSecret("s3")).ok());
  for (const absl::Status& denied :
       {CheckAdminAccess("192.0.2.1:5000", none, "", WithSecret("")),
        CheckAdminAccess("192.0.2.1:5000", none, "", WithSecret("anything")),
        CheckAdminAccess("192.0.2.1:5000", none, "s3", WithSecret("")),
        CheckAdminAccess("192.0.2.1:5000", none, "s3", WithSecret("s4")),
        CheckAdminAccess("192.0.2.1:5000", none, "s3", WithSecret("s3s3"))}) {
    EXPECT_TRUE(absl::IsPermissionDenied(denied)) << denied;
    EXPECT_TRUE(absl::StartsWith(denied.message(), "permission denied: ")) << denied;
  }
}

// HandleRequest is the whole decision path; a remote peer address is only a string here.
TEST(HandleRequestTest, RemotePeerNeedsTheSecret) {
  std::unique_ptr<transport::Fabric> fabric = *transport::CreateFabric("tcp");
  FakeHandler handler("state=up\n");
  AdminServer server(fabric.get(), {kFilerA, kPort}, "s3cret", &handler);
  std::string denied = server.HandleRequest("192.0.2.1:5000", EncodeAdminRequest("takeover", ""));
  EXPECT_TRUE(absl::StartsWith(denied, "ERROR permission denied: ")) << denied;
  denied = server.HandleRequest("192.0.2.1:5000", EncodeAdminRequest("takeover", "s3creT"));
  EXPECT_TRUE(absl::StartsWith(denied, "ERROR permission denied: ")) << denied;
  EXPECT_TRUE(handler.calls().empty());
  EXPECT_EQ(server.HandleRequest("192.0.2.1:5000", EncodeAdminRequest("takeover", "s3cret")),
            "OK\ntakeover done\n");
  EXPECT_EQ(server.HandleRequest("127.0.0.1:5000", EncodeAdminRequest("status", "")),
            "OK\nstate=up\n");
  EXPECT_EQ(handler.calls(), (std::vector<std::string>{"takeover", "status"}));
}

TEST(HandleRequestTest, RemotePeerWithoutConfiguredSecretIsDenied) {
  std::unique_ptr<transport::Fabric> fabric = *transport::CreateFabric("tcp");
  FakeHandler handler("state=up\n");
  AdminServer server(fabric.get(), {kFilerA, kPort}, "", &handler);
  std::string reply = server.HandleRequest("192.0.2.1:5000", EncodeAdminRequest("halt", "x"));
  EXPECT_TRUE(absl::StartsWith(reply, "ERROR permission denied: ")) << reply;
  EXPECT_TRUE(handler.calls().empty());
}

TEST(CheckAdminPeerTest, OtherHostsAreRefusedAtAcceptWithoutASecret) {
  const std::vector<std::string> local = {"10.0.0.5"};
  EXPECT_TRUE(CheckAdminPeer("127.0.0.1:4000", local, "").ok());
  EXPECT_TRUE(CheckAdminPeer("10.0.0.5:4000", local, "").ok());
  absl::Status refused = CheckAdminPeer("10.0.0.6:4000", local, "");
  EXPECT_TRUE(absl::IsPermissionDenied(refused)) << refused;
  EXPECT_TRUE(absl::StartsWith(refused.message(), "permission denied: 10.0.0.6:4000")) << refused;
  // With a secret any host may try (its request must carry the secret).
  EXPECT_TRUE(CheckAdminPeer("10.0.0.6:4000", local, "s3cret").ok());
}

TEST(HandleRequestTest, UnknownCommandsAndArguments) {
  std::unique_ptr<transport::Fabric> fabric = *transport::CreateFabric("tcp");
  FakeHandler handler("state=up\n");
  AdminServer server(fabric.get(), {kFilerA, kPort}, "", &handler);
  EXPECT_EQ(server.HandleRequest("127.0.0.1:1", EncodeAdminRequest("reboot", "")),
            "ERROR unknown command \"reboot\"");
  EXPECT_EQ(server.HandleRequest("127.0.0.1:1", EncodeAdminRequest("status now", "")),
            "ERROR command status takes no arguments");
  EXPECT_TRUE(
      absl::StartsWith(server.HandleRequest("127.0.0.1:1", "garbage"), "ERROR malformed request"));
  EXPECT_TRUE(handler.calls().empty());
}

// ---- a real admin port on loopback ----

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fabric_ = *transport::CreateFabric("tcp");
    server_ = std::make_unique<AdminServer>(fabric_.get(), transport::Endpoint{kFilerA, kPort},
                                            "s3cret", &handler_);
    ASSERT_TRUE(server_->Start().ok());
  }

  absl::StatusOr<std::unique_ptr<transport::Connection>> Connect(
      uint16_t purpose = transport::kPurposeAdmin) {
    transport::PeerIdentity identity;
    identity.identity = "admin-test";
    identity.purpose = purpose;
    return fabric_->Connect({kFilerA, kPort}, identity, absl::Now() + absl::Seconds(5));
  }

  absl::StatusOr<std::string> Exchange(absl::string_view message,
                                       uint16_t purpose = transport::kPurposeAdmin) {
    absl::StatusOr<std::unique_ptr<transport::Connection>> connection = Connect(purpose);
    if (!connection.ok()) return connection.status();
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    absl::Status sent = (*connection)->Send(message, deadline);
    if (!sent.ok()) return sent;
    return (*connection)->Receive(deadline);
  }

  FakeHandler handler_{"name=filer-a\nstate=takeover\npartner=filer-b\n"};
  std::unique_ptr<transport::Fabric> fabric_;
  std::unique_ptr<AdminServer> server_;
};

// The test hooks: commands in test builds (-Dtest_hooks=true) only.
const std::vector<std::string> kTestHookCommands = {"cut-interconnect", "restore-interconnect"};
#ifdef VIFILER_TEST_HOOKS
constexpr bool kTestHooks = true;
#else
constexpr bool kTestHooks = false;
#endif

TEST_F(AdminServerTest, EveryCommandReachesTheHandler) {
  absl::StatusOr<std::string> reply = Exchange(EncodeAdminRequest("status", ""));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "OK\nname=filer-a\nstate=takeover\npartner=filer-b\n");
  std::vector<std::string> commands = {"takeover", "giveback", "halt", "halt-takeover"};
  if (kTestHooks)
    commands.insert(commands.end(), kTestHookCommands.begin(), kTestHookCommands.end());
  for (const std::string& command : commands) {
    reply = Exchange(EncodeAdminRequest(command, ""));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(*reply, absl::StrCat("OK\n", command, " done\n"));
  }
  std::vector<std::string> expected = {"status"};
  expected.insert(expected.end(), commands.begin(), commands.end());
  EXPECT_EQ(handler_.calls(), expected);
}

// Issue 11: the test hooks are no commands of a build without them.
TEST_F(AdminServerTest, TestHooksAreServedOnlyInTestBuilds) {
  for (const std::string& command : kTestHookCommands) {
    absl::StatusOr<std::string> reply = Exchange(EncodeAdminRequest(command, ""));
    ASSERT_TRUE(reply.ok()) << reply.status();
    if (kTestHooks) {
      EXPECT_EQ(*reply, absl::StrCat("OK\n", command, " done\n"));
    } else {
      EXPECT_EQ(*reply, absl::StrCat("ERROR unknown command \"", command, "\""));
    }
  }
  EXPECT_EQ(handler_.calls(), kTestHooks ? kTestHookCommands : std::vector<std::string>{});
}

TEST_F(AdminServerTest, HandlerErrorsAreRelayed) {
  handler_.set_error(absl::FailedPreconditionError("partner still owns\nthe volume"));
  absl::StatusOr<std::string> reply = Exchange(EncodeAdminRequest("takeover", ""));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "ERROR partner still owns the volume");
}

TEST_F(AdminServerTest, LoopbackNeedsNoSecretAndIgnoresAWrongOne) {
  absl::StatusOr<std::string> reply = Exchange(EncodeAdminRequest("giveback", ""));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, "OK\ngiveback done\n");
  reply = Exchange(EncodeAdminRequest("giveback", "not-the-secret"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, "OK\ngiveback done\n");
}

TEST_F(AdminServerTest, MalformedRequestsGetAnError) {
  for (const std::string& message :
       {std::string("status\n"), std::string("VIFILER-ADMIN 1\n"), std::string("\xff\xfe\x00", 3),
        std::string("VIFILER-ADMIN 1\nreboot\n")}) {
    absl::StatusOr<std::string> reply = Exchange(message);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_TRUE(absl::StartsWith(*reply, "ERROR ")) << *reply;
  }
  EXPECT_TRUE(handler_.calls().empty());
}

TEST_F(AdminServerTest, WrongPurposeGetsAnError) {
  absl::StatusOr<std::string> reply =
      Exchange(EncodeAdminRequest("takeover", ""), transport::kPurposeDataAccess);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(absl::StartsWith(*reply, "ERROR wrong connection purpose")) << *reply;
  EXPECT_TRUE(handler_.calls().empty());
}

int RawConnect(const char* address, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, address, &sin.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST_F(AdminServerTest, GarbageAndSilentClientsDoNotBlockOthers) {
  // Raw bytes that are no handshake, a raw socket that says nothing, and a connected admin
  // client that never sends its request.
  int garbage = RawConnect(kFilerA, kPort);
  ASSERT_GE(garbage, 0);
  std::string junk(300, '\x5a');
  ASSERT_EQ(write(garbage, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  int silent = RawConnect(kFilerA, kPort);
  ASSERT_GE(silent, 0);
  absl::StatusOr<std::unique_ptr<transport::Connection>> idle = Connect();
  ASSERT_TRUE(idle.ok()) << idle.status();
  absl::StatusOr<std::unique_ptr<transport::Connection>> junk_after_handshake = Connect();
  ASSERT_TRUE(junk_after_handshake.ok());
  ASSERT_TRUE((*junk_after_handshake)
                  ->Send(std::string(2000, '\x01'), absl::Now() + absl::Seconds(5))
                  .ok());

  absl::Time start = absl::Now();
  absl::StatusOr<std::string> reply = Exchange(EncodeAdminRequest("status", ""));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(absl::StartsWith(*reply, "OK\n"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  absl::StatusOr<std::string> junk_reply =
      (*junk_after_handshake)->Receive(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(junk_reply.ok()) << junk_reply.status();
  EXPECT_TRUE(absl::StartsWith(*junk_reply, "ERROR malformed request")) << *junk_reply;
  close(garbage);
  close(silent);
}

// Issue 11: idle connections, more than there are sessions and renewed all the time, do not
// starve the operator (before: every status was answered "ERROR busy").
TEST_F(AdminServerTest, IdleConnectionsDoNotStarveTheOperator) {
  std::atomic<bool> stop{false};
  std::atomic<int> opened{0};
  // An attacker keeps 2 * kMaxAdminSessions idle connections open, renewing them in turn.
  std::thread attacker([&] {
    std::vector<std::unique_ptr<transport::Connection>> idle(2 * kMaxAdminSessions);
    for (size_t i = 0; !stop; i = (i + 1) % idle.size()) {
      absl::StatusOr<std::unique_ptr<transport::Connection>> connection = Connect();
      if (connection.ok()) {
        idle[i] = std::move(*connection);
        ++opened;
      }
      if (i == idle.size() - 1) absl::SleepFor(absl::Milliseconds(20));
    }
  });
  absl::Time until = absl::Now() + absl::Seconds(5);
  while (opened < static_cast<int>(2 * kMaxAdminSessions) && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (int i = 0; i < 10; ++i) {
    absl::Time start = absl::Now();
    absl::StatusOr<std::string> reply = Exchange(EncodeAdminRequest("status", ""));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_TRUE(absl::StartsWith(*reply, "OK\n")) << *reply;
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  }
  stop = true;
  attacker.join();
  EXPECT_GE(opened, static_cast<int>(2 * kMaxAdminSessions));
}

TEST_F(AdminServerTest, SilentConnectionsAreClosedAfterTheRequestTimeout) {
  absl::StatusOr<std::unique_ptr<transport::Connection>> idle = Connect();
  ASSERT_TRUE(idle.ok()) << idle.status();
  absl::Time start = absl::Now();
  absl::StatusOr<std::string> nothing = (*idle)->Receive(start + absl::Seconds(10));
  EXPECT_FALSE(nothing.ok());
  EXPECT_FALSE(absl::IsDeadlineExceeded(nothing.status())) << nothing.status();
  EXPECT_LT(absl::Now() - start, kAdminRequestTimeout + absl::Seconds(1));
}

TEST_F(AdminServerTest, StopClosesThePortAndIdleSessions) {
  EXPECT_TRUE(absl::IsFailedPrecondition(server_->Start()));
  absl::StatusOr<std::unique_ptr<transport::Connection>> idle = Connect();
  ASSERT_TRUE(idle.ok());
  absl::SleepFor(absl::Milliseconds(100));
  absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_FALSE(Connect().ok());
  server_->Stop();  // idempotent
}

TEST(AdminServerStartTest, EndpointInUse) {
  std::unique_ptr<transport::Fabric> fabric = *transport::CreateFabric("tcp");
  FakeHandler handler("state=up\n");
  AdminServer first(fabric.get(), {kFilerA, kPort}, "", &handler);
  ASSERT_TRUE(first.Start().ok());
  AdminServer second(fabric.get(), {kFilerA, kPort}, "", &handler);
  EXPECT_FALSE(second.Start().ok());
}

// ---- vifilerctl end to end ----

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class VifilerctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* binary = getenv("VIFILERCTL");
    if (binary == nullptr) GTEST_SKIP() << "VIFILERCTL is not set";
    binary_ = binary;
    char dir_template[] = "/tmp/vifilerctl_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    hosts_ = dir_ + "/hosts";
    std::ofstream(hosts_) << "# test pair\n"
                          << kFilerA << " filer-a\n"
                          << kFilerB << " filer-b\n"
                          << "127.0.0.4 filer-c\n";
    fabric_ = *transport::CreateFabric("tcp");
    a_ = std::make_unique<AdminServer>(fabric_.get(), transport::Endpoint{kFilerA, kPort}, "",
                                       &handler_a_);
    b_ = std::make_unique<AdminServer>(fabric_.get(), transport::Endpoint{kFilerB, kPort}, "",
                                       &handler_b_);
    ASSERT_TRUE(a_->Start().ok());
    ASSERT_TRUE(b_->Start().ok());
  }

  void TearDown() override {
    if (!dir_.empty()) {
      std::string cleanup = absl::StrCat("rm -rf '", dir_, "'");
      EXPECT_EQ(system(cleanup.c_str()), 0);
    }
  }

  ToolRun Vifilerctl(const std::string& args) {
    std::string out = dir_ + "/out";
    std::string err = dir_ + "/err";
    std::string command = absl::StrCat("timeout 30 '", binary_, "' --hosts_file='", hosts_,
                                       "' --admin_discriminator=", kPort, " --timeout_ms=2000 ",
                                       args, " >'", out, "' 2>'", err, "'");
    int status = system(command.c_str());
    ToolRun run;
    if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
    run.out = ReadFile(out);
    run.err = ReadFile(err);
    return run;
  }

  FakeHandler handler_a_{
      "name=filer-a\nstate=takeover\npartner=filer-b\nepoch=4\ninterconnect=down\n"};
  FakeHandler handler_b_{"name=filer-b\nstate=waiting-for-giveback\npartner=filer-a\n"};
  std::string binary_;
  std::string dir_;
  std::string hosts_;
  std::unique_ptr<transport::Fabric> fabric_;
  std::unique_ptr<AdminServer> a_;
  std::unique_ptr<AdminServer> b_;
};

TEST_F(VifilerctlTest, StatusShowsBothFilers) {
  ToolRun run = Vifilerctl("status filer-a");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // The two blocks (a format scripts parse), then the summary (lines not indented).
  EXPECT_TRUE(absl::StartsWith(run.out,
                               "filer-a: takeover (partner=filer-b epoch=4 interconnect=down)\n"
                               "  name=filer-a\n"
                               "  state=takeover\n"
                               "  partner=filer-b\n"
                               "  epoch=4\n"
                               "  interconnect=down\n"
                               "filer-b: waiting-for-giveback (partner=filer-a)\n"
                               "  name=filer-b\n"
                               "  state=waiting-for-giveback\n"
                               "  partner=filer-a\n"
                               "node filer-a: takeover, takeover of filer-b possible: "))
      << run.out;
  // The fake filers report no open port: both volumes are served by nobody, loudly.
  EXPECT_TRUE(absl::StrContains(run.out, "\nvolume of filer-a (?): served by NOBODY\n")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "\nWARNING: volume of filer-b (?) is served by nobody"))
      << run.out;
  EXPECT_EQ(handler_a_.calls(), std::vector<std::string>{"status"});
  EXPECT_EQ(handler_b_.calls(), std::vector<std::string>{"status"});
}

TEST_F(VifilerctlTest, StatusWithPartnerDown) {
  b_->Stop();
  ToolRun run = Vifilerctl("status filer-a");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "  state=takeover\n")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "\nfiler-b: down (")) << run.out;
}

TEST_F(VifilerctlTest, StatusOfAnUnreachableFiler) {
  b_->Stop();
  ToolRun run = Vifilerctl("status filer-b");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(run.out, "filer-b: down (")) << run.out;
  EXPECT_TRUE(absl::StartsWith(run.err, "vifilerctl: filer-b: ")) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;

  run = Vifilerctl("takeover filer-c");  // nobody listens on 127.0.0.4
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(run.err, "vifilerctl: filer-c: takeover: ")) << run.err;

  run = Vifilerctl("status no-such-filer");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.err, "no-such-filer")) << run.err;
}

TEST_F(VifilerctlTest, Commands) {
  ToolRun run = Vifilerctl("takeover filer-a");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "filer-a: takeover done\n");
  EXPECT_EQ(Vifilerctl("giveback filer-a").exit_code, 0);
  EXPECT_EQ(Vifilerctl("halt filer-a").exit_code, 0);
  run = Vifilerctl("halt filer-b --takeover");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "filer-b: halt-takeover done\n");
  std::vector<std::string> expected = {"takeover", "giveback", "halt"};
  if (kTestHooks) {
    EXPECT_EQ(Vifilerctl("cut-interconnect filer-a").exit_code, 0);
    EXPECT_EQ(Vifilerctl("restore-interconnect 127.0.0.2").exit_code, 0);
    expected.insert(expected.end(), kTestHookCommands.begin(), kTestHookCommands.end());
  }
  EXPECT_EQ(handler_a_.calls(), expected);
  EXPECT_EQ(handler_b_.calls(), std::vector<std::string>{"halt-takeover"});
}

// Issue 11: a build without test hooks has no cut-interconnect: vifilerctl says so.
TEST_F(VifilerctlTest, TestHooksAreUnknownCommandsWithoutTestHooks) {
  if (kTestHooks) GTEST_SKIP() << "a test build: the hooks are commands here";
  for (const std::string& command : kTestHookCommands) {
    ToolRun run = Vifilerctl(command + " filer-a");
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_TRUE(absl::StrContains(run.err, absl::StrCat("unknown command \"", command, "\"")))
        << run.err;
  }
  EXPECT_TRUE(handler_a_.calls().empty());
}

TEST_F(VifilerctlTest, FailedCommand) {
  handler_a_.set_error(absl::FailedPreconditionError("not in takeover"));
  ToolRun run = Vifilerctl("giveback filer-a");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "vifilerctl: filer-a: giveback: not in takeover\n");
}

TEST_F(VifilerctlTest, UsageErrors) {
  EXPECT_EQ(Vifilerctl("").exit_code, 2);
  EXPECT_EQ(Vifilerctl("status").exit_code, 2);
  EXPECT_EQ(Vifilerctl("reboot filer-a").exit_code, 2);
  EXPECT_EQ(Vifilerctl("takeover --takeover filer-a").exit_code, 2);
  EXPECT_EQ(Vifilerctl("status filer-a filer-b").exit_code, 2);
  EXPECT_TRUE(handler_a_.calls().empty());
}

}  // namespace
}  // namespace cluster
}  // namespace vifiler
