// Copyright 2026 The vifiler Authors.
//
// The interconnect under attack (issue 11): a host on the fabric that can reach the filers'
// interconnect ports but holds no pair key connects as the partner and sends FAILING,
// RELINQUISH_REQUEST and heartbeats, bare (the unauthenticated protocol) or after a handshake
// with a key of its own. Nothing it sends may change the pair: no takeover of a live partner,
// no volume given up, no delay in taking over a partner that died, and the partner's own
// connection stays up. Also: vifilerd with --interconnect_trusted starts with one WARNING.

#include <sys/stat.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cluster/interconnect_auth.h"
#include "cluster/interconnect_message.h"
#include "cluster/pair_key.h"
#include "gtest/gtest.h"
#include "tests/integration/pair_fixture.h"
#include "tests/integration/test_env.h"
#include "transport/connection.h"
#include "transport/fabric.h"

namespace vifiler {
namespace testing {
namespace {

using cluster::InterconnectMessage;
using cluster::InterconnectMessageType;

constexpr uint16_t kInterconnect = 7302;
constexpr absl::Duration kInterval = absl::Milliseconds(100);
constexpr int kMisses = 3;
// As in pair_test: a killed filer (its guard released its volume) is taken over once it missed
// heartbeat_misses heartbeats, plus the ticks that notice it.
const absl::Duration kSilentBound = kInterval * (kMisses + 2);

// Lines of a log that contain needle.
int CountLines(const std::string& log, absl::string_view needle) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, needle)) ++n;
  }
  return n;
}

InterconnectMessage Spoofed(InterconnectMessageType type, const std::string& sender,
                            cluster::FilerState state, uint64_t sequence) {
  InterconnectMessage m;
  m.type = type;
  m.sender = sender;
  m.incarnation = 0x5eed0000 + sequence;
  m.sequence = sequence;
  m.state = state;
  m.epoch = 1;
  m.detail = "spoofed";
  return m;
}

// A host without the pair key.
class Attacker {
 public:
  explicit Attacker(const TestFabric& fabric) {
    absl::StatusOr<std::unique_ptr<transport::Fabric>> f = transport::CreateFabric(fabric.fabric);
    EXPECT_TRUE(f.ok()) << f.status();
    if (f.ok()) fabric_ = std::move(*f);
  }

  // A connection to address's interconnect, presenting itself as `as`.
  std::unique_ptr<transport::Connection> Connect(const std::string& address,
                                                 const std::string& as) {
    if (fabric_ == nullptr) return nullptr;
    transport::PeerIdentity id;
    id.identity = as;
    id.purpose = transport::kPurposeInterconnect;
    auto c = fabric_->Connect({address, kInterconnect}, id, absl::Now() + absl::Seconds(2));
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Sends the messages bare, as the unauthenticated protocol would. Returns how many the
  // transport took before the filer closed the connection.
  int SendBare(const std::string& address, const std::vector<InterconnectMessage>& messages) {
    std::unique_ptr<transport::Connection> c = Connect(address, messages.front().sender);
    if (c == nullptr) return 0;
    int sent = 0;
    for (const InterconnectMessage& m : messages) {
      if (!c->Send(cluster::EncodeInterconnectMessage(m), absl::Now() + absl::Seconds(1)).ok()) {
        break;
      }
      ++sent;
      absl::SleepFor(absl::Milliseconds(5));
    }
    // Wait until the filer closed it (it must).
    closed_by_filer_ += !c->Receive(absl::Now() + absl::Seconds(5)).ok() ? 1 : 0;
    return sent;
  }

  // Runs the handshake with a key of its own (it cannot verify the filer's proof, and goes
  // on anyway), then sends the messages as frames sealed with what it has.
  void SendWithWrongKey(const std::string& address, const std::string& as,
                        const std::string& target, const std::vector<InterconnectMessage>& ms) {
    std::unique_ptr<transport::Connection> c = Connect(address, as);
    if (c == nullptr) return;
    const absl::Time deadline = absl::Now() + absl::Seconds(2);
    const cluster::PairKey wrong = *cluster::PairKey::FromSecret(std::string(32, 'w'));
    cluster::DialerHandshake handshake(&wrong, as, target);
    absl::StatusOr<std::string> hello = handshake.Hello();
    ASSERT_TRUE(hello.ok());
    ASSERT_TRUE(c->Send(*hello, deadline).ok());
    absl::StatusOr<std::string> challenge = c->Receive(deadline);
    ASSERT_TRUE(challenge.ok()) << "the filer answers HELLO with a CHALLENGE: "
                                << challenge.status();
    EXPECT_TRUE(absl::IsUnauthenticated(handshake.OnChallenge(*challenge).status()));
    absl::StatusOr<cluster::AuthHello> sent_hello = cluster::DecodeAuthHello(*hello);
    absl::StatusOr<cluster::AuthChallenge> got = cluster::DecodeAuthChallenge(*challenge);
    ASSERT_TRUE(sent_hello.ok() && got.ok());
    const cluster::AuthTranscript t{as, target, sent_hello->nonce, got->nonce};
    c->Send(cluster::EncodeAuthProof(
                {cluster::ComputeAuthProof(wrong, t, cluster::AuthRole::kDialer)}),
            deadline)
        .IgnoreError();
    cluster::FrameSealer sealer(cluster::DeriveSessionKey(wrong, t), cluster::AuthRole::kDialer);
    for (const InterconnectMessage& m : ms) {
      absl::StatusOr<std::string> frame = sealer.Seal(cluster::EncodeInterconnectMessage(m));
      if (!frame.ok() || !c->Send(*frame, deadline).ok()) break;
    }
    closed_by_filer_ += !c->Receive(absl::Now() + absl::Seconds(5)).ok() ? 1 : 0;
  }

  int closed_by_filer() const { return closed_by_filer_; }

 private:
  std::unique_ptr<transport::Fabric> fabric_;
  int closed_by_filer_ = 0;
};

class PairSecurityTest : public PairFixture {
 protected:
  // Both filers serve their own volume, nobody serves the other's, and each hears the other.
  void ExpectPairUndisturbed() {
    for (const std::string& address : {A(), B()}) {
      absl::StatusOr<std::map<std::string, std::string>> s = AdminStatus(address);
      ASSERT_TRUE(s.ok()) << s.status();
      EXPECT_EQ((*s)["state"], "up") << address;
      EXPECT_EQ((*s)["primary_port"], "open") << address;
      EXPECT_EQ((*s)["secondary_port"], "closed") << address;
      EXPECT_EQ((*s)["partner_state"], "up") << address;
      EXPECT_EQ((*s)["interconnect"], "connected") << address;
      int64_t age = 0;
      EXPECT_TRUE(absl::SimpleAtoi((*s)["heartbeat_age_ms"], &age)) << (*s)["heartbeat_age_ms"];
      EXPECT_LT(age, 1000) << address;
      EXPECT_EQ((*s).count("last_takeover_time"), 0u) << address;
    }
  }
  // The partner's connection to each filer came up once and was never replaced or lost.
  void ExpectLinksNeverReplaced() {
    for (FilerProcess* filer : {&pair_.a(), &pair_.b()}) {
      const std::string log = filer->Log();
      const std::string partner = filer->name() == "filer-a" ? "filer-b" : "filer-a";
      EXPECT_EQ(CountLines(log, absl::StrCat(" hears ", partner)), 1) << log;
      EXPECT_EQ(CountLines(log, "lost its connection"), 0) << log;
      EXPECT_EQ(CountLines(log, ", authenticated"), 1) << "the link is authenticated:\n" << log;
    }
  }
};

TEST_F(PairSecurityTest, SpoofedFailingAndRelinquishChangeNothing) {
  Attacker attacker(pair_.fabric());
  using T = InterconnectMessageType;
  // filer-a is told filer-b is failing; filer-b is asked for its volume in filer-a's name.
  const std::vector<InterconnectMessage> to_a = {
      Spoofed(T::kFailing, "filer-b", cluster::FilerState::kHalting, 1),
      Spoofed(T::kHeartbeat, "filer-b", cluster::FilerState::kHalting, 2)};
  const std::vector<InterconnectMessage> to_b = {
      Spoofed(T::kHeartbeat, "filer-a", cluster::FilerState::kTakeover, 1),
      Spoofed(T::kRelinquishRequest, "filer-a", cluster::FilerState::kTakeover, 2),
      Spoofed(T::kHeartbeat, "filer-a", cluster::FilerState::kTakeover, 3)};
  for (int round = 0; round < 3; ++round) {
    attacker.SendBare(A(), to_a);
    attacker.SendBare(B(), to_b);
    attacker.SendWithWrongKey(A(), "filer-b", "filer-a", to_a);
    attacker.SendWithWrongKey(B(), "filer-a", "filer-b", to_b);
  }
  EXPECT_EQ(attacker.closed_by_filer(), 12) << "every spoofed connection is closed";
  // Long enough for a takeover or a relinquish to show (detection is 3 intervals).
  absl::SleepFor(Scaled(absl::Seconds(2)));
  ExpectPairUndisturbed();
  ExpectLinksNeverReplaced();
  EXPECT_EQ(CountLines(pair_.a().Log(), "partner sent FAILING"), 0) << pair_.Logs();
  EXPECT_GE(CountLines(pair_.a().Log(), "refuses a connection from"), 1) << pair_.a().Log();
}

TEST_F(PairSecurityTest, ConnectionFloodDoesNotDisplaceThePartner) {
  Attacker attacker(pair_.fabric());
  // More idle connections than the filer keeps, none of which ever authenticates.
  std::vector<std::unique_ptr<transport::Connection>> idle;
  for (size_t i = 0; i < 2 * 8 + 2; ++i) {
    std::unique_ptr<transport::Connection> c = attacker.Connect(A(), "filer-b");
    if (c != nullptr) idle.push_back(std::move(c));
  }
  EXPECT_GE(idle.size(), 8u);
  absl::SleepFor(Scaled(absl::Seconds(1)));
  ExpectPairUndisturbed();
  ExpectLinksNeverReplaced();
}

TEST_F(PairSecurityTest, SpoofedHeartbeatsDoNotDelayTakeoverOfAKilledPartner) {
  // The attacker keeps telling filer-a that filer-b is up, reconnecting whenever it is closed.
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread spoofer([&] {
    Attacker attacker(pair_.fabric());
    uint64_t sequence = 1;
    while (!stop) {
      std::vector<InterconnectMessage> beats;
      for (int i = 0; i < 5; ++i) {
        beats.push_back(Spoofed(InterconnectMessageType::kHeartbeat, "filer-b",
                                cluster::FilerState::kServing, sequence++));
      }
      sent += attacker.SendBare(A(), beats);
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  absl::SleepFor(absl::Milliseconds(300));  // the spoofing is under way

  const absl::Time killed = absl::Now();
  pair_.b().Kill();
  absl::StatusOr<absl::Duration> took = WaitForStatus(A(), "state", "takeover", absl::Seconds(10));
  const absl::Duration since_kill = absl::Now() - killed;
  stop = true;
  spoofer.join();
  ASSERT_TRUE(took.ok()) << took.status() << "\n" << pair_.Logs();
  EXPECT_GT(sent.load(), 0);
  EXPECT_LE(since_kill, Scaled(kSilentBound + absl::Milliseconds(150)))
      << "takeover under spoofed heartbeats took " << since_kill;
}

// A filer started with --interconnect_trusted says once that its interconnect is open.
TEST(TrustedInterconnectTest, StartsWithOneWarning) {
  const TestFabric fabric = GetTestFabric();
  ASSERT_FALSE(fabric.address_a.empty());
  const std::string dir = MakeScratchDir("vifiler-trusted");
  const std::string volume_a = dir + "/volume-a";
  const std::string volume_b = dir + "/volume-b";
  ASSERT_EQ(mkdir(volume_a.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(volume_b.c_str(), 0755), 0);
  const std::string hosts = WritePairHostsFile(dir, fabric);
  {
    FilerProcess filer(
        "filer-a", volume_a, fabric.address_a, hosts, dir + "/filer-a.log",
        {"--partner=filer-b", "--partner_volume=" + volume_b, "--interconnect_trusted"});
    ASSERT_TRUE(filer.Start().ok()) << filer.Log();
    const std::string log = filer.Log();
    EXPECT_EQ(CountLines(log, "the interconnect is unauthenticated (--interconnect_trusted)"), 1)
        << log;
    filer.Kill();
  }
  RemoveTree(dir);
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
