// Copyright 2026 The vifiler Authors.
//
// The HA pair with real vifilerd processes on two host addresses (two loopback addresses on
// tcp; two addresses of the rxe netdev on rdma), the same discriminators on both: takeover on
// a silent death and on FAILING, the secondary port's lifetime, a cut interconnect, a filer
// presumed dead that wakes up, acknowledged data across takeover, and giveback cycles.

#include <signal.h>
#include <sys/wait.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "tests/integration/pair_fixture.h"
#include "tests/integration/test_env.h"
#include "transport/fabric.h"

namespace vifiler {
namespace testing {
namespace {

using client::Client;

constexpr absl::Duration kInterval = absl::Milliseconds(100);
constexpr int kMisses = 3;
// A filer process that dies is fenced and its volume released by its fence guard, so the
// partner takes over once it has missed heartbeat_misses heartbeats (plus the ticks that
// notice it): heartbeat_interval x (misses + 2).
const absl::Duration kSilentBound = kInterval * (kMisses + 2);

std::unique_ptr<Client> ConnectTo(const FilerPair& pair, const std::string& name,
                                  uint16_t discriminator = 7300, bool failover = false) {
  client::ClientOptions o = TestClientOptions(pair.hosts());
  o.failover = failover;
  o.primary_discriminator = discriminator;
  auto c = Client::Connect(name, o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

// Can a connection be made to address:discriminator right now?
bool PortOpen(const TestFabric& fabric, const std::string& address, uint16_t discriminator) {
  auto f = transport::CreateFabric(fabric.fabric);
  if (!f.ok()) return false;
  transport::PeerIdentity id;
  id.identity = "port-probe";
  id.purpose = transport::kPurposeDataAccess;
  auto c = (*f)->Connect({address, discriminator}, id, absl::Now() + absl::Seconds(2));
  return c.ok();
}

std::string Checksummed(int i) {
  std::mt19937 gen(i);
  std::string s(4096 + i * 13, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

using PairTest = PairFixture;

TEST_F(PairTest, SilentDeathIsTakenOverWithinBoundAndSecondaryPortLivesOnlyDuringTakeover) {
  EXPECT_FALSE(PortOpen(pair_.fabric(), B(), 7301)) << "secondary port open before takeover";
  auto ca = ConnectTo(pair_, "filer-a");
  ASSERT_NE(ca, nullptr);
  ASSERT_TRUE(ca->Mkdir("/from-a").ok());
  ca.reset();

  const absl::Time killed = absl::Now();
  pair_.a().Kill();
  auto took = WaitForStatus(B(), "state", "takeover", absl::Seconds(10));
  ASSERT_TRUE(took.ok()) << took.status();
  const absl::Duration since_kill = absl::Now() - killed;
  EXPECT_LE(since_kill, Scaled(kSilentBound + absl::Milliseconds(150)))
      << "silent takeover took " << since_kill;

  // filer-b serves filer-a's volume on its secondary port, on its own address.
  EXPECT_TRUE(PortOpen(pair_.fabric(), B(), 7301));
  auto cb = ConnectTo(pair_, "filer-b", 7301);
  ASSERT_NE(cb, nullptr);
  EXPECT_TRUE(cb->Stat("/from-a").ok());
  EXPECT_EQ(cb->stats().serving_filer, "filer-b");
  // The CLI, naming the secondary discriminator directly.
  std::string out, err;
  auto rc = RunCommand(
      {BinaryPath("VIFILER"), "--hosts_file=" + pair_.hosts(), "--fabric=" + pair_.fabric().fabric,
       "--primary_discriminator=7301", "--noenable_failover", "ls", "filer-b:/"},
      &out, &err, absl::Seconds(30));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0) << err;
  EXPECT_NE(out.find("from-a/"), std::string::npos) << out;
  cb.reset();

  // filer-a comes back: its volume is taken over, so it waits and keeps its primary port shut.
  ASSERT_TRUE(pair_.a().StartNoWait().ok());
  ASSERT_TRUE(WaitForStatus(A(), "state", "waiting-for-giveback", absl::Seconds(20)).ok());
  EXPECT_FALSE(PortOpen(pair_.fabric(), A(), 7300));
  auto gb = AdminCommand(B(), "giveback");
  ASSERT_TRUE(gb.ok());
  EXPECT_EQ(gb->substr(0, 2), "OK") << *gb;
  ASSERT_TRUE(WaitForStatus(A(), "state", "up", absl::Seconds(10)).ok());
  EXPECT_FALSE(PortOpen(pair_.fabric(), B(), 7301)) << "secondary port open after giveback";
  ca = ConnectTo(pair_, "filer-a");
  ASSERT_NE(ca, nullptr);
  EXPECT_TRUE(ca->Stat("/from-a").ok());
  auto sb = AdminStatus(B());
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ((*sb)["state"], "up");
}

// Neither a filer process killed on a live host nor an administrative halt with takeover makes
// the partner wait out the lease: the first is released on storage by the dying filer's fence
// guard, the second releases its volume and sends FAILING. (A host that loses power is silent
// and waits it out: the hosts suite.)
TEST_F(PairTest, KilledOrHaltedFilerIsTakenOverWithoutWaitingOutTheLease) {
  absl::Time t0 = absl::Now();
  pair_.a().Kill();
  ASSERT_TRUE(WaitForStatus(B(), "state", "takeover", absl::Seconds(10)).ok());
  const absl::Duration killed = absl::Now() - t0;
  auto sb = AdminStatus(B());
  ASSERT_TRUE(sb.ok());
  EXPECT_NE((*sb)["last_change"].find("released its volume"), std::string::npos)
      << (*sb)["last_change"];
  // Nobody to give the volume to: the giveback is refused with the reason, b keeps serving it.
  auto refused = AdminCommand(B(), "giveback");
  ASSERT_TRUE(refused.ok());
  EXPECT_NE(refused->find("not heard on the interconnect"), std::string::npos) << *refused;
  sb = AdminStatus(B());
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ((*sb)["state"], "takeover");
  ASSERT_TRUE(pair_.a().StartNoWait().ok());
  ASSERT_TRUE(WaitForStatus(A(), "state", "waiting-for-giveback", absl::Seconds(20)).ok());
  ASSERT_TRUE(AdminCommand(B(), "giveback").ok());
  ASSERT_TRUE(WaitForStatus(A(), "state", "up", absl::Seconds(10)).ok());
  ASSERT_TRUE(WaitForStatus(B(), "partner_state", "up", absl::Seconds(10)).ok());

  t0 = absl::Now();
  auto r = AdminCommand(A(), "halt-takeover");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->substr(0, 2), "OK") << *r;
  ASSERT_TRUE(WaitForStatus(B(), "state", "takeover", absl::Seconds(10)).ok());
  const absl::Duration halted = absl::Now() - t0;
  fprintf(stderr, "takeover after: kill -9 %s, halt with takeover %s\n",
          absl::FormatDuration(killed).c_str(), absl::FormatDuration(halted).c_str());
  EXPECT_LT(killed, Scaled(TestLease())) << "kill -9: " << killed;
  EXPECT_LT(halted, Scaled(TestLease())) << "halt with takeover: " << halted;
  EXPECT_TRUE(pair_.a().process()->Wait(absl::Seconds(10)).ok()) << "halted filer did not exit";
}

TEST_F(PairTest, FatalSignalSendsFailingBeforeTheFilerDies) {
  const absl::Time t0 = absl::Now();
  pair_.a().process()->Signal(SIGSEGV);
  ASSERT_TRUE(WaitForStatus(B(), "state", "takeover", absl::Seconds(10)).ok());
  const absl::Duration took = absl::Now() - t0;
  // A silent death cannot be detected before heartbeat_misses intervals have passed.
  EXPECT_LT(took, Scaled(kSilentBound + absl::Milliseconds(150)))
      << "takeover after SIGSEGV took " << took;
  // It was the FAILING notice that triggered it, not the silence (or, when the dying filer's
  // fence guard released the volume on storage before the notice arrived, that release: the
  // two race, and a loaded host decides which comes first).
  auto sb = AdminStatus(B());
  ASSERT_TRUE(sb.ok());
  const std::string& why = (*sb)["last_change"];
  EXPECT_TRUE(why.find("partner sent FAILING") != std::string::npos ||
              why.find("partner released its volume") != std::string::npos)
      << why;
  EXPECT_EQ(why.find("silent"), std::string::npos) << why;
  ASSERT_TRUE(pair_.a().process()->Wait(absl::Seconds(10)).ok());
  const int status = pair_.a().process()->wait_status();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) << "status " << status;
  EXPECT_NE(pair_.a().Log().find("sent FAILING (fatal signal"), std::string::npos)
      << pair_.a().Log();
}

TEST_F(PairTest, VifilerctlHaltWithTakeover) {
  std::string out, err;
  auto rc = RunCommand(
      {BinaryPath("VIFILERCTL"), "--hosts_file=" + pair_.hosts(), "halt", "--takeover", "filer-a"},
      &out, &err, absl::Seconds(60));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0) << out << err;
  EXPECT_TRUE(WaitForStatus(B(), "state", "takeover", absl::Seconds(10)).ok());
  EXPECT_TRUE(pair_.a().process()->Wait(absl::Seconds(10)).ok()) << "halted filer did not exit";
  rc = RunCommand({BinaryPath("VIFILERCTL"), "--hosts_file=" + pair_.hosts(), "status", "filer-b"},
                  &out, &err, absl::Seconds(60));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0) << err;
  EXPECT_NE(out.find("  state=takeover"), std::string::npos) << out;
  EXPECT_NE(out.find("filer-a: down"), std::string::npos) << out;
}

TEST_F(PairTest, CutInterconnectDoesNotCauseTakeover) {
  auto r = AdminCommand(A(), "cut-interconnect");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->substr(0, 2), "OK") << *r;
  // Well past the detection threshold: both see a dead interconnect and a fresh mailbox.
  absl::SleepFor(kInterval * kMisses * 5);
  auto sa = AdminStatus(A());
  auto sb = AdminStatus(B());
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ((*sa)["state"], "up");
  EXPECT_EQ((*sb)["state"], "up");
  EXPECT_GT(std::stoll((*sb)["heartbeat_age_ms"]), absl::ToInt64Milliseconds(kInterval * kMisses));
  EXPECT_EQ((*sb)["secondary_port"], "closed");
  EXPECT_FALSE(PortOpen(pair_.fabric(), A(), 7301));
  EXPECT_FALSE(PortOpen(pair_.fabric(), B(), 7301));
  // Each keeps serving its own volume.
  auto ca = ConnectTo(pair_, "filer-a");
  auto cb = ConnectTo(pair_, "filer-b");
  ASSERT_TRUE(ca != nullptr && cb != nullptr);
  EXPECT_TRUE(ca->Mkdir("/a-during-cut").ok());
  EXPECT_TRUE(cb->Mkdir("/b-during-cut").ok());
  ASSERT_TRUE(AdminCommand(A(), "restore-interconnect").ok());
  EXPECT_TRUE(WaitForStatus(B(), "interconnect", "connected", absl::Seconds(10)).ok());
  EXPECT_TRUE(WaitForStatus(A(), "interconnect", "connected", absl::Seconds(10)).ok());
}

TEST_F(PairTest, FrozenFilerIsStoppedByItsGuardAndMutatesNothing) {
  // A connection to filer-a made while it is healthy.
  auto f = transport::CreateFabric(pair_.fabric().fabric);
  ASSERT_TRUE(f.ok());
  transport::PeerIdentity id;
  id.identity = "zombie-client";
  id.purpose = transport::kPurposeDataAccess;
  auto conn = (*f)->Connect({A(), 7300}, id, absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(conn.ok());
  protocol::MessageHeader h;
  h.opcode = protocol::Opcode::kSessionCreate;
  protocol::SessionCreateRequest sc;
  sc.client_id = "zombie-client";
  sc.slots = 1;
  ASSERT_TRUE((*conn)->Send(protocol::EncodeMessage(h, sc), absl::Now() + absl::Seconds(2)).ok());
  auto created_reply = (*conn)->Receive(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(created_reply.ok());
  protocol::SessionCreateReply created;
  ASSERT_TRUE(protocol::DecodeMessageBody(*created_reply, &created).ok());

  const absl::Time stopped = absl::Now();
  ASSERT_TRUE(pair_.a().process()->Freeze(absl::Seconds(10)).ok());
  ASSERT_TRUE(WaitForStatus(B(), "state", "takeover", absl::Seconds(10)).ok());
  // A frozen filer still holds its lease: the partner waits it out before it takes over.
  EXPECT_GE(absl::Now() - stopped, TestLease() - kInterval) << "took over before the lease ran out";
  // Meanwhile filer-a's fence guard stopped it for good (a frozen process dies of SIGKILL):
  // whatever it had in hand never runs.
  ASSERT_TRUE(pair_.a().process()->Wait(absl::Seconds(5)).ok()) << "the guard did not stop it";
  const int status = pair_.a().process()->wait_status();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  EXPECT_NE(pair_.a().Log().find("was not renewed"), std::string::npos) << pair_.a().Log();
  // A mutation sent to it now gets no acknowledgement (the connection is gone).
  protocol::CreateRequest create;
  create.dir = created.root;
  create.name = "zombie-write";
  h.opcode = protocol::Opcode::kCreate;
  h.session_id = created.session_id;
  h.sequence = 1;
  if ((*conn)->Send(protocol::EncodeMessage(h, create), absl::Now() + absl::Seconds(2)).ok()) {
    auto reply = (*conn)->Receive(absl::Now() + absl::Seconds(3));
    EXPECT_FALSE(reply.ok()) << "a filer killed by its guard answered";
  }
  EXPECT_NE(access((pair_.volume_a() + "/zombie-write").c_str(), F_OK), 0)
      << "a filer that lost its lease mutated the volume";
  // Restarted, it waits for giveback; filer-b keeps serving.
  ASSERT_TRUE(pair_.a().StartNoWait().ok());
  EXPECT_TRUE(WaitForStatus(A(), "state", "waiting-for-giveback", absl::Seconds(10)).ok());
  auto cb = ConnectTo(pair_, "filer-b", 7301);
  ASSERT_NE(cb, nullptr);
  EXPECT_TRUE(cb->Mkdir("/after-zombie").ok());
  auto sb = AdminStatus(B());
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ((*sb)["state"], "takeover");
}

TEST_F(PairTest, AcknowledgedWritesSurviveTakeover) {
  auto ca = ConnectTo(pair_, "filer-a");
  ASSERT_NE(ca, nullptr);
  constexpr int kFiles = 40;
  for (int i = 0; i < kFiles; ++i) {
    auto f = ca->Create(absl::StrCat("/acked-", i));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Write(0, Checksummed(i)).ok());
  }
  ca.reset();
  pair_.a().Kill();
  ASSERT_TRUE(WaitForStatus(B(), "state", "takeover", absl::Seconds(10)).ok());
  auto cb = ConnectTo(pair_, "filer-b", 7301);
  ASSERT_NE(cb, nullptr);
  for (int i = 0; i < kFiles; ++i) {
    const std::string want = Checksummed(i);
    auto f = cb->Open(absl::StrCat("/acked-", i));
    ASSERT_TRUE(f.ok()) << i;
    std::string got(want.size() + 10, '\0');
    auto n = f->Read(0, absl::MakeSpan(got));
    ASSERT_TRUE(n.ok());
    got.resize(*n);
    EXPECT_EQ(got, want) << "file " << i;
  }
}

TEST_F(PairTest, TwentyTakeoverGivebackCyclesKeepBothVolumesConsistent) {
  client::ClientOptions o = TestClientOptions(pair_.hosts());
  auto ca = Client::Connect("filer-a", o);
  auto cb = Client::Connect("filer-b", o);
  ASSERT_TRUE(ca.ok() && cb.ok());
  constexpr int kCycles = 20;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    auto r = AdminCommand(B(), "takeover");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->substr(0, 2), "OK") << "cycle " << cycle << ": " << *r;
    ASSERT_TRUE(WaitForStatus(A(), "state", "waiting-for-giveback", absl::Seconds(10)).ok());
    // Both volumes take writes while filer-b serves them both.
    auto fa = (*ca)->Create(absl::StrCat("/a-cycle-", cycle));
    ASSERT_TRUE(fa.ok()) << fa.status();
    ASSERT_TRUE(fa->Write(0, Checksummed(cycle)).ok());
    auto fb = (*cb)->Create(absl::StrCat("/b-cycle-", cycle));
    ASSERT_TRUE(fb.ok());
    ASSERT_TRUE(fb->Write(0, Checksummed(1000 + cycle)).ok());
    EXPECT_TRUE((*ca)->stats().on_partner) << "cycle " << cycle;
    r = AdminCommand(B(), "giveback");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->substr(0, 2), "OK") << "cycle " << cycle << ": " << *r;
    ASSERT_TRUE(WaitForStatus(A(), "state", "up", absl::Seconds(10)).ok());
    ASSERT_TRUE(WaitForStatus(B(), "partner_state", "up", absl::Seconds(10)).ok());
    ASSERT_TRUE((*ca)->Stat(absl::StrCat("/a-cycle-", cycle)).ok());
    EXPECT_FALSE((*ca)->stats().on_partner) << "cycle " << cycle;
  }
  // Every file of every cycle, with its content, on the volume of its home filer.
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    for (auto [client, name, seed] :
         {std::tuple<Client*, std::string, int>{ca->get(), absl::StrCat("/a-cycle-", cycle), cycle},
          {cb->get(), absl::StrCat("/b-cycle-", cycle), 1000 + cycle}}) {
      const std::string want = Checksummed(seed);
      auto f = client->Open(name);
      ASSERT_TRUE(f.ok()) << name;
      std::string got(want.size(), '\0');
      auto n = f->Read(0, absl::MakeSpan(got));
      ASSERT_TRUE(n.ok());
      EXPECT_EQ(got, want) << name;
    }
  }
  auto la = (*ca)->List("/");
  auto lb = (*cb)->List("/");
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_EQ(la->size(), static_cast<size_t>(kCycles));
  EXPECT_EQ(lb->size(), static_cast<size_t>(kCycles));
  EXPECT_GE((*ca)->stats().failovers, static_cast<uint64_t>(kCycles));
  EXPECT_GE((*ca)->stats().failbacks, static_cast<uint64_t>(kCycles));
}

class AutoGivebackPairTest : public ::testing::Test {
 protected:
  FilerPair pair_{{"--auto_giveback", "--auto_giveback_delay_ms=500"}};
};

TEST_F(AutoGivebackPairTest, SurvivorGivesBackOnItsOwnAfterTheDelay) {
  ASSERT_TRUE(pair_.Start().ok()) << pair_.Logs();
  const std::string& a = pair_.fabric().address_a;
  const std::string& b = pair_.fabric().address_b;
  pair_.a().Kill();
  ASSERT_TRUE(WaitForStatus(b, "state", "takeover", absl::Seconds(10)).ok()) << pair_.Logs();
  ASSERT_TRUE(pair_.a().StartNoWait().ok());
  ASSERT_TRUE(WaitForStatus(a, "state", "waiting-for-giveback", absl::Seconds(20)).ok());
  const absl::Time waiting = absl::Now();
  auto back = WaitForStatus(a, "state", "up", absl::Seconds(20));
  ASSERT_TRUE(back.ok()) << back.status() << pair_.Logs();
  // Not before the configured delay: the partner must have been waiting that long.
  EXPECT_GE(absl::Now() - waiting, absl::Milliseconds(400));
  auto sb = AdminStatus(b);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ((*sb)["state"], "up");
  EXPECT_EQ((*sb)["secondary_port"], "closed");
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
