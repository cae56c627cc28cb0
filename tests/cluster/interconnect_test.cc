// Copyright 2026 The vifiler Authors.
//
// The interconnect message codec, and two Interconnects talking over a real fabric: tcp on
// 127.0.0.2 / 127.0.0.3 by default; rdma with VIFILER_TEST_FABRIC=rdma, on VIFILER_RDMA_ADDR
// and VIFILER_RDMA_ADDR2 (or twice VIFILER_RDMA_ADDR with two discriminators).

#include "cluster/interconnect.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/interconnect_message.h"
#include "cluster/pair_key.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "transport/connection.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

namespace vifiler {
namespace cluster {
namespace {

// ---- codec ----

InterconnectMessage Sample() {
  InterconnectMessage m;
  m.type = InterconnectMessageType::kRelinquishRequest;
  m.sender = "filer-a";
  m.incarnation = 0x0123456789abcdefull;
  m.sequence = 42;
  m.state = FilerState::kTakeover;
  m.epoch = 0xfedcba9876543210ull;
  m.detail = "please give back";
  return m;
}

void ExpectSame(const InterconnectMessage& a, const InterconnectMessage& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.sender, b.sender);
  EXPECT_EQ(a.incarnation, b.incarnation);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.detail, b.detail);
}

// Hand-built encoding, so malformed variants can be made field by field.
std::string Build(uint32_t magic, uint16_t version, uint16_t type, uint32_t state,
                  const std::string& sender, const std::string& detail) {
  std::string out;
  protocol::Encoder e(&out);
  e.PutU32(magic);
  e.PutU16(version);
  e.PutU16(type);
  e.PutU64(1);
  e.PutU64(2);
  e.PutU32(state);
  e.PutU64(3);
  e.PutString(sender);
  e.PutString(detail);
  return out;
}

TEST(InterconnectMessageTest, RoundTripsEveryTypeAndState) {
  for (uint16_t type = 1; type <= 5; ++type) {
    for (uint32_t state = 0; state <= 4; ++state) {
      InterconnectMessage m = Sample();
      m.type = static_cast<InterconnectMessageType>(type);
      m.state = static_cast<FilerState>(state);
      absl::StatusOr<InterconnectMessage> decoded =
          DecodeInterconnectMessage(EncodeInterconnectMessage(m));
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      ExpectSame(m, *decoded);
    }
  }
  InterconnectMessage empty;
  absl::StatusOr<InterconnectMessage> decoded =
      DecodeInterconnectMessage(EncodeInterconnectMessage(empty));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSame(empty, *decoded);
}

TEST(InterconnectMessageTest, StartsWithMagicAndVersionLittleEndian) {
  const std::string wire = EncodeInterconnectMessage(Sample());
  EXPECT_EQ(wire.substr(0, 4), "VIFI");
  EXPECT_EQ(wire.substr(4, 2), std::string("\x01\x00", 2));
  EXPECT_EQ(wire.substr(6, 2), std::string("\x04\x00", 2));
}

TEST(InterconnectMessageTest, AcceptsStringsAtTheLimit) {
  const std::string max(kMaxInterconnectString, 'x');
  absl::StatusOr<InterconnectMessage> decoded =
      DecodeInterconnectMessage(Build(kInterconnectMagic, kInterconnectVersion, 1, 1, max, max));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->sender, max);
  EXPECT_EQ(decoded->detail, max);
}

TEST(InterconnectMessageTest, RejectsMalformedInput) {
  const uint32_t magic = kInterconnectMagic;
  const uint16_t version = kInterconnectVersion;
  const std::string too_long(kMaxInterconnectString + 1, 'x');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"bad magic", Build(0x54464956, version, 1, 1, "a", "")},
      {"bad version", Build(magic, 2, 1, 1, "a", "")},
      {"type 0", Build(magic, version, 0, 1, "a", "")},
      {"type 6", Build(magic, version, 6, 1, "a", "")},
      {"type 0xffff", Build(magic, version, 0xffff, 1, "a", "")},
      {"state 5", Build(magic, version, 1, 5, "a", "")},
      {"state 0xffffffff", Build(magic, version, 1, 0xffffffffu, "a", "")},
      {"long sender", Build(magic, version, 1, 1, too_long, "")},
      {"long detail", Build(magic, version, 1, 1, "a", too_long)},
      {"trailing byte", Build(magic, version, 1, 1, "a", "") + "z"},
  };
  for (const auto& [name, data] : cases) {
    absl::StatusOr<InterconnectMessage> decoded = DecodeInterconnectMessage(data);
    EXPECT_TRUE(absl::IsInvalidArgument(decoded.status())) << name << ": " << decoded.status();
  }
  // A string length pointing beyond the input.
  std::string beyond = Build(magic, version, 1, 1, "", "");
  beyond.resize(beyond.size() - 8);
  protocol::Encoder e(&beyond);
  e.PutU32(200);
  e.PutU32(0);
  EXPECT_FALSE(DecodeInterconnectMessage(beyond).ok());
  // Every proper prefix of a valid message.
  const std::string wire = EncodeInterconnectMessage(Sample());
  for (size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(DecodeInterconnectMessage(wire.substr(0, n)).ok()) << "prefix " << n;
  }
  // Arbitrary bytes.
  EXPECT_FALSE(DecodeInterconnectMessage(std::string(64, '\xff')).ok());
}

TEST(InterconnectMessageTest, EncodeTruncatesOverlongStrings) {
  InterconnectMessage m = Sample();
  m.sender = std::string(1000, 's');
  m.detail = std::string(1000, 'd');
  absl::StatusOr<InterconnectMessage> decoded =
      DecodeInterconnectMessage(EncodeInterconnectMessage(m));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->sender, std::string(kMaxInterconnectString, 's'));
  EXPECT_EQ(decoded->detail, std::string(kMaxInterconnectString, 'd'));
}

// ---- interconnect over a fabric ----

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Collects what one Interconnect delivers.
class Inbox {
 public:
  void Add(const InterconnectMessage& m) {
    absl::MutexLock lock(&mu_);
    messages_.push_back(m);
  }
  std::vector<InterconnectMessage> messages() const {
    absl::MutexLock lock(&mu_);
    return messages_;
  }
  bool Has(const std::function<bool(const InterconnectMessage&)>& match) const {
    absl::MutexLock lock(&mu_);
    for (const auto& m : messages_) {
      if (match(m)) return true;
    }
    return false;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    messages_.clear();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<InterconnectMessage> messages_;
};

// One filer's side of the pair.
struct Side {
  InterconnectOptions options;
  std::atomic<uint64_t> epoch{0};
  std::atomic<FilerState> state{FilerState::kServing};
  Inbox inbox;
  std::unique_ptr<Interconnect> interconnect;
};

class InterconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fabric_name_ = Env("VIFILER_TEST_FABRIC", "tcp");
    uint16_t discriminator_b = kDiscriminator;
    if (fabric_name_ == "rdma") {
      address_a_ = Env("VIFILER_RDMA_ADDR", "");
      address_b_ = Env("VIFILER_RDMA_ADDR2", "");
      // The rdma suite is never skipped: without an address it fails (tools/test sets it).
      ASSERT_FALSE(address_a_.empty())
          << "VIFILER_RDMA_ADDR not set (run through tools/test or tools/rxe-vm/run-rdma-suite)";
      if (address_b_.empty()) {
        address_b_ = address_a_;
        discriminator_b = kDiscriminator + 1;
      }
      interval_ = absl::Milliseconds(100);
    } else {
      address_a_ = "127.0.0.2";
      address_b_ = "127.0.0.3";
      interval_ = absl::Milliseconds(50);
    }
    absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric =
        transport::CreateFabric(fabric_name_);
    ASSERT_TRUE(fabric.ok()) << fabric.status();
    fabric_ = std::move(*fabric);

    std::string pattern = absl::StrCat(Env("TMPDIR", "/tmp"), "/interconnect-test-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    const std::string hosts = dir_ + "/hosts";
    {
      std::ofstream out(hosts);
      out << "# interconnect_test\n" << address_a_ << " filer-a\n" << address_b_ << " filer-b\n";
    }
    resolver_ = std::make_unique<transport::NameResolver>(hosts);

    a_.options = Options("filer-a", address_a_, kDiscriminator, "filer-b", discriminator_b);
    b_.options = Options("filer-b", address_b_, discriminator_b, "filer-a", kDiscriminator);
    a_.epoch = 10;
    b_.epoch = 20;
  }

  void TearDown() override {
    if (a_.interconnect != nullptr) a_.interconnect->Stop();
    if (b_.interconnect != nullptr) b_.interconnect->Stop();
    a_.interconnect.reset();
    b_.interconnect.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  InterconnectOptions Options(const std::string& name, const std::string& address,
                              uint16_t discriminator, const std::string& partner,
                              uint16_t partner_discriminator) {
    InterconnectOptions options;
    options.name = name;
    options.local = {address, discriminator};
    options.partner_name = partner;
    options.partner_discriminator = partner_discriminator;
    options.heartbeat_interval = interval_;
    options.key = key_;
    return options;
  }

  absl::Status StartSide(Side* side) {
    side->interconnect = std::make_unique<Interconnect>(
        fabric_.get(), resolver_.get(), side->options,
        [side]() {
          InterconnectMessage m;
          m.type = InterconnectMessageType::kHeartbeat;
          m.state = side->state.load();
          m.epoch = side->epoch.load();
          return m;
        },
        [side](const InterconnectMessage& m) { side->inbox.Add(m); });
    return side->interconnect->Start();
  }

  void StartPair() {
    ASSERT_TRUE(StartSide(&a_).ok());
    ASSERT_TRUE(StartSide(&b_).ok());
  }

  // Both sides connected and hearing each other.
  bool PairHealthy() const {
    return a_.interconnect->connected() && b_.interconnect->connected() &&
           a_.interconnect->SinceLastHeard() < 3 * interval_ &&
           b_.interconnect->SinceLastHeard() < 3 * interval_;
  }

  transport::Endpoint EndpointOf(const Side& side) const { return side.options.local; }

  static constexpr uint16_t kDiscriminator = 17302;
  static constexpr absl::Duration kSettle = absl::Seconds(10);

  std::string fabric_name_;
  std::string address_a_;
  std::string address_b_;
  absl::Duration interval_;
  std::unique_ptr<transport::Fabric> fabric_;
  std::string dir_;
  std::unique_ptr<transport::NameResolver> resolver_;
  // Both sides authenticate with this key unless a test says otherwise.
  std::shared_ptr<const PairKey> key_ =
      std::make_shared<const PairKey>(*PairKey::FromSecret(std::string(32, 'k')));
  Side a_;
  Side b_;
};

TEST_F(InterconnectTest, ExchangesHeartbeatsBothWays) {
  StartPair();
  ASSERT_TRUE(WaitUntil([&] { return PairHealthy(); }, kSettle));
  b_.state = FilerState::kTakeover;
  b_.epoch = 21;
  ASSERT_TRUE(WaitUntil(
      [&] {
        return a_.inbox.Has([](const InterconnectMessage& m) {
          return m.state == FilerState::kTakeover && m.epoch == 21;
        });
      },
      kSettle));
  // Stays healthy over several intervals.
  for (int i = 0; i < 10; ++i) {
    absl::SleepFor(interval_);
    EXPECT_LT(a_.interconnect->SinceLastHeard(), 4 * interval_);
    EXPECT_LT(b_.interconnect->SinceLastHeard(), 4 * interval_);
  }
  for (const Side* side : {&a_, &b_}) {
    const Side& partner = side == &a_ ? b_ : a_;
    std::vector<InterconnectMessage> got = side->inbox.messages();
    ASSERT_GE(got.size(), 5u);
    uint64_t last_sequence = 0;
    for (const InterconnectMessage& m : got) {
      EXPECT_EQ(m.type, InterconnectMessageType::kHeartbeat);
      EXPECT_EQ(m.sender, partner.options.name);
      EXPECT_EQ(m.incarnation, partner.interconnect->incarnation());
      EXPECT_GT(m.sequence, last_sequence);
      last_sequence = m.sequence;
    }
  }
  EXPECT_TRUE(b_.inbox.Has([](const InterconnectMessage& m) {
    return m.state == FilerState::kServing && m.epoch == 10;
  }));
}

TEST_F(InterconnectTest, NeverHeardIsInfinite) {
  ASSERT_TRUE(StartSide(&a_).ok());
  EXPECT_EQ(a_.interconnect->SinceLastHeard(), absl::InfiniteDuration());
  EXPECT_FALSE(a_.interconnect->connected());
  EXPECT_TRUE(absl::IsUnavailable(
      a_.interconnect->Send(InterconnectMessage{}, absl::Now() + absl::Seconds(1))));
}

TEST_F(InterconnectTest, StartFailsWhenTheEndpointIsTaken) {
  absl::StatusOr<std::unique_ptr<transport::Listener>> squatter = fabric_->Listen(EndpointOf(a_));
  ASSERT_TRUE(squatter.ok()) << squatter.status();
  Interconnect interconnect(
      fabric_.get(), resolver_.get(), a_.options, [] { return InterconnectMessage{}; },
      [](const InterconnectMessage&) {});
  EXPECT_FALSE(interconnect.Start().ok());
  (*squatter)->Close();
}

TEST_F(InterconnectTest, SendFailingArrivesPromptly) {
  // Heartbeats far apart, so only the explicit send can explain a prompt arrival.
  a_.options.heartbeat_interval = absl::Seconds(2);
  b_.options.heartbeat_interval = absl::Seconds(2);
  StartPair();
  ASSERT_TRUE(WaitUntil([&] { return a_.interconnect->connected(); }, kSettle));
  ASSERT_TRUE(WaitUntil([&] { return !b_.inbox.messages().empty(); }, kSettle));
  InterconnectMessage failing;
  failing.type = InterconnectMessageType::kFailing;
  failing.state = FilerState::kHalting;
  failing.epoch = 10;
  failing.detail = "fatal: disk on fire";
  const absl::Time sent = absl::Now();
  ASSERT_TRUE(a_.interconnect->Send(failing, sent + absl::Seconds(1)).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return b_.inbox.Has([](const InterconnectMessage& m) {
          return m.type == InterconnectMessageType::kFailing;
        });
      },
      absl::Seconds(1)));
  EXPECT_LT(absl::Now() - sent, absl::Milliseconds(500));
  for (const InterconnectMessage& m : b_.inbox.messages()) {
    if (m.type != InterconnectMessageType::kFailing) continue;
    EXPECT_EQ(m.sender, "filer-a");
    EXPECT_EQ(m.state, FilerState::kHalting);
    EXPECT_EQ(m.detail, "fatal: disk on fire");
    EXPECT_EQ(m.incarnation, a_.interconnect->incarnation());
  }
}

TEST_F(InterconnectTest, ReconnectsAfterPartnerRestart) {
  StartPair();
  ASSERT_TRUE(WaitUntil([&] { return PairHealthy(); }, kSettle));
  const uint64_t old_incarnation = b_.interconnect->incarnation();

  b_.interconnect->Stop();
  ASSERT_TRUE(
      WaitUntil([&] { return a_.interconnect->SinceLastHeard() > 6 * interval_; }, kSettle));
  EXPECT_TRUE(WaitUntil([&] { return !a_.interconnect->connected(); }, kSettle));
  absl::SleepFor(5 * interval_);  // a's dialer backs off against a missing listener
  EXPECT_GT(a_.interconnect->SinceLastHeard(), 10 * interval_);

  a_.inbox.Clear();
  ASSERT_TRUE(StartSide(&b_).ok());
  const absl::Time restarted = absl::Now();
  ASSERT_TRUE(WaitUntil([&] { return PairHealthy(); }, kSettle));
  // Backoff is capped at one second, plus a connect and a heartbeat.
  EXPECT_LT(absl::Now() - restarted, absl::Seconds(3));
  const uint64_t new_incarnation = b_.interconnect->incarnation();
  EXPECT_NE(new_incarnation, old_incarnation);
  // on_message runs just after SinceLastHeard is updated.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return a_.inbox.Has(
            [&](const InterconnectMessage& m) { return m.incarnation == new_incarnation; });
      },
      kSettle));
}

TEST_F(InterconnectTest, CutSilencesBothDirectionsUntilRestored) {
  StartPair();
  ASSERT_TRUE(WaitUntil([&] { return PairHealthy(); }, kSettle));

  a_.interconnect->SetCut(true);
  EXPECT_TRUE(a_.interconnect->cut());
  EXPECT_FALSE(a_.interconnect->connected());
  EXPECT_TRUE(absl::IsUnavailable(
      a_.interconnect->Send(InterconnectMessage{}, absl::Now() + absl::Seconds(1))));
  absl::SleepFor(2 * interval_);  // messages in flight drain
  a_.inbox.Clear();
  b_.inbox.Clear();
  absl::SleepFor(10 * interval_);
  EXPECT_GT(a_.interconnect->SinceLastHeard(), 8 * interval_);
  EXPECT_GT(b_.interconnect->SinceLastHeard(), 8 * interval_);
  EXPECT_TRUE(a_.inbox.messages().empty());
  EXPECT_TRUE(b_.inbox.messages().empty());
  EXPECT_FALSE(a_.interconnect->connected());

  a_.interconnect->SetCut(false);
  EXPECT_FALSE(a_.interconnect->cut());
  EXPECT_TRUE(WaitUntil([&] { return PairHealthy(); }, kSettle));
  // on_message runs just after SinceLastHeard is updated.
  EXPECT_TRUE(WaitUntil(
      [&] { return !a_.inbox.messages().empty() && !b_.inbox.messages().empty(); }, kSettle));
}

// The accepting side closes the connection: Receive fails (not by its deadline).
void ExpectClosedByPeer(transport::Connection* connection) {
  absl::StatusOr<std::string> got = connection->Receive(absl::Now() + absl::Seconds(5));
  EXPECT_FALSE(got.ok());
  EXPECT_FALSE(absl::IsDeadlineExceeded(got.status())) << got.status();
}

// Sends raw bytes to a TCP endpoint and waits (bounded) for the peer to close.
void SendRawTcp(const transport::Endpoint& endpoint, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(endpoint.discriminator);
  ASSERT_EQ(::inet_pton(AF_INET, endpoint.address.c_str(), &addr.sin_addr), 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
    char buffer[256];
    while (::recv(fd, buffer, sizeof(buffer), 0) > 0) {
    }
  }
  ::close(fd);
}

TEST_F(InterconnectTest, StrangersAreClosedAndDoNotDisturbThePair) {
  StartPair();
  ASSERT_TRUE(WaitUntil([&] { return PairHealthy(); }, kSettle));
  const transport::Endpoint target = EndpointOf(b_);

  if (fabric_->kind() == transport::FabricKind::kTcp) {
    SendRawTcp(target, std::string(100, 'G'));  // not even a handshake
  }

  transport::PeerIdentity data_access;
  data_access.identity = "filer-a";
  data_access.purpose = transport::kPurposeDataAccess;
  transport::PeerIdentity interconnect;
  interconnect.identity = "filer-x";
  interconnect.purpose = transport::kPurposeInterconnect;

  {  // Wrong purpose.
    auto connection = fabric_->Connect(target, data_access, absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(connection.ok()) << connection.status();
    ExpectClosedByPeer(connection->get());
  }
  {  // Right purpose, garbage message.
    auto connection = fabric_->Connect(target, interconnect, absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE((*connection)->Send("garbage!", absl::Now() + absl::Seconds(5)).ok());
    ExpectClosedByPeer(connection->get());
  }
  {  // Right purpose, well-formed unauthenticated message in the partner's name.
    auto connection = fabric_->Connect(target, interconnect, absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(connection.ok()) << connection.status();
    InterconnectMessage m;
    m.type = InterconnectMessageType::kFailing;
    m.sender = "filer-a";
    ASSERT_TRUE(
        (*connection)->Send(EncodeInterconnectMessage(m), absl::Now() + absl::Seconds(5)).ok());
    ExpectClosedByPeer(connection->get());
  }
  {  // Right purpose, well-formed message from a filer that is not the partner.
    auto connection = fabric_->Connect(target, interconnect, absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(connection.ok()) << connection.status();
    InterconnectMessage m;
    m.type = InterconnectMessageType::kFailing;
    m.sender = "filer-x";
    ASSERT_TRUE(
        (*connection)->Send(EncodeInterconnectMessage(m), absl::Now() + absl::Seconds(5)).ok());
    ExpectClosedByPeer(connection->get());
  }

  EXPECT_FALSE(b_.inbox.Has([](const InterconnectMessage& m) {
    return m.sender != "filer-a" || m.type != InterconnectMessageType::kHeartbeat;
  }));
  for (int i = 0; i < 10; ++i) {
    absl::SleepFor(interval_);
    EXPECT_TRUE(PairHealthy());
  }
}

// Without a key on either side (--interconnect_trusted) the link works as before.
TEST_F(InterconnectTest, TrustedSidesTalkWithoutAKey) {
  a_.options.key = nullptr;
  b_.options.key = nullptr;
  StartPair();
  ASSERT_TRUE(WaitUntil([&] { return PairHealthy(); }, kSettle));
  EXPECT_TRUE(WaitUntil([&] { return !a_.inbox.messages().empty(); }, kSettle));
}

// Sides with different keys, or one without a key, never hear each other.
TEST_F(InterconnectTest, MismatchedKeysNeverConnect) {
  for (int variant = 0; variant < 2; ++variant) {
    b_.options.key =
        variant == 0 ? std::make_shared<const PairKey>(*PairKey::FromSecret(std::string(32, 'x')))
                     : nullptr;
    StartPair();
    absl::SleepFor(20 * interval_);
    EXPECT_FALSE(a_.interconnect->connected()) << variant;
    // (Without a key b cannot tell: its connections stand until a closes them.)
    if (variant == 0) {
      EXPECT_FALSE(b_.interconnect->connected());
    }
    EXPECT_EQ(a_.interconnect->SinceLastHeard(), absl::InfiniteDuration()) << variant;
    EXPECT_EQ(b_.interconnect->SinceLastHeard(), absl::InfiniteDuration()) << variant;
    EXPECT_TRUE(a_.inbox.messages().empty());
    EXPECT_TRUE(b_.inbox.messages().empty());
    a_.interconnect->Stop();
    b_.interconnect->Stop();
  }
}

// Connections that never authenticate, more than the listener keeps, do not displace the
// partner's authenticated one.
TEST_F(InterconnectTest, UnauthenticatedConnectionsDoNotDisplaceThePartner) {
  StartPair();
  ASSERT_TRUE(WaitUntil([&] { return PairHealthy(); }, kSettle));
  const uint64_t made = a_.interconnect->connections_made();
  transport::PeerIdentity interconnect;
  interconnect.identity = "filer-a";
  interconnect.purpose = transport::kPurposeInterconnect;
  std::vector<std::unique_ptr<transport::Connection>> idle;
  for (size_t i = 0; i < 2 * kMaxInboundConnections; ++i) {
    auto connection =
        fabric_->Connect(EndpointOf(b_), interconnect, absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(connection.ok()) << connection.status();
    idle.push_back(std::move(*connection));
  }
  // a's outgoing connection (b's authenticated inbound one) stayed up throughout.
  for (int i = 0; i < 10; ++i) {
    absl::SleepFor(interval_);
    EXPECT_TRUE(a_.interconnect->connected());
    EXPECT_TRUE(PairHealthy());
  }
  // Each is closed once its handshake is overdue, long before the idle timeout.
  const absl::Time closing = absl::Now();
  for (const auto& connection : idle) ExpectClosedByPeer(connection.get());
  EXPECT_LT(absl::Now() - closing, b_.interconnect->IdleTimeout());
  EXPECT_TRUE(PairHealthy());
  EXPECT_EQ(a_.interconnect->connections_made(), made) << "a had to redial";
}

}  // namespace
}  // namespace cluster
}  // namespace vifiler
