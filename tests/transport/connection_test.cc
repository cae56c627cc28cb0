// Copyright 2026 The vifiler Authors.
//
// The fabric-agnostic Connection / Listener / Fabric suite. The fabric comes from
// VIFILER_TEST_FABRIC (tcp, the default, or rdma); on rdma the address comes from
// VIFILER_RDMA_ADDR, on tcp it is 127.0.0.1. Ports are derived from the process id so parallel
// runs do not collide. A few cases exercise tcp-only behaviour (raw sockets speaking the tcp
// wire format) and are skipped on rdma.

#include "transport/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "transport/fabric.h"
#include "transport/handshake.h"
#include "transport/tcp/tcp_wire.h"

namespace vifiler {
namespace transport {
namespace {

// Generous: the rdma suite runs on a software-emulated CPU.
constexpr absl::Duration kLong = absl::Seconds(30);

absl::Time Soon(absl::Duration d = kLong) { return absl::Now() + d; }

std::string FabricKindFromEnv() {
  const char* kind = std::getenv("VIFILER_TEST_FABRIC");
  return kind == nullptr || *kind == '\0' ? "tcp" : kind;
}

bool IsTcp() { return FabricKindFromEnv() == "tcp"; }

std::string AddressFromEnv() {
  if (IsTcp()) return "127.0.0.1";
  const char* address = std::getenv("VIFILER_RDMA_ADDR");
  return address == nullptr ? "" : address;
}

// Ports for this process: a block of 200 picked by the pid, handed out in turn.
uint16_t NextPort() {
  static std::atomic<int> next{0};
  int base = 10000 + (static_cast<int>(getpid()) % 250) * 200;
  return static_cast<uint16_t>(base + next.fetch_add(1) % 200);
}

// A deterministic byte pattern.
void Fill(char* data, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; ++i)
    data[i] = static_cast<char>((seed * 131 + i * 7 + (i >> 9)) & 0xff);
}
std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  Fill(s.data(), n, seed);
  return s;
}

std::string Numbered(int i, size_t padding) {
  return absl::StrCat(i, ":", std::string(padding, 'x'));
}
int NumberOf(const std::string& message) { return std::atoi(message.c_str()); }

struct Pair {
  std::unique_ptr<Connection> client;
  std::unique_ptr<Connection> server;
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (AddressFromEnv().empty()) {
      FAIL() << "VIFILER_TEST_FABRIC=rdma needs VIFILER_RDMA_ADDR (the RDMA device's address)";
    }
    Start(FabricOptions());
  }

  // (Re)creates the fabric and a listener with `options`.
  void Start(const FabricOptions& options) {
    listener_.reset();
    fabric_.reset();
    options_ = options;
    absl::StatusOr<std::unique_ptr<Fabric>> fabric = CreateFabric(FabricKindFromEnv(), options);
    ASSERT_TRUE(fabric.ok()) << fabric.status();
    fabric_ = std::move(*fabric);
    listener_ = ListenSomewhere();
    ASSERT_NE(listener_, nullptr);
  }

  std::unique_ptr<Listener> ListenSomewhere() {
    absl::Status last;
    for (int attempt = 0; attempt < 20; ++attempt) {
      absl::StatusOr<std::unique_ptr<Listener>> listener =
          fabric_->Listen(Endpoint{AddressFromEnv(), NextPort()});
      if (listener.ok()) return std::move(*listener);
      last = listener.status();
    }
    ADD_FAILURE() << "cannot listen: " << last;
    return nullptr;
  }

  // An endpoint nobody listens on.
  Endpoint UnusedEndpoint() { return Endpoint{AddressFromEnv(), NextPort()}; }

  // Connects a client to `listener` (default: listener_) and accepts it.
  Pair Connect(const std::string& identity = "test-client", uint16_t purpose = 1,
               Listener* listener = nullptr) {
    if (listener == nullptr) listener = listener_.get();
    Pair pair;
    absl::Status accepted;
    std::thread acceptor([&] {
      absl::StatusOr<std::unique_ptr<Connection>> c = listener->Accept(Soon());
      if (c.ok()) {
        pair.server = std::move(*c);
      } else {
        accepted = c.status();
      }
    });
    PeerIdentity id;
    id.identity = identity;
    id.purpose = purpose;
    absl::StatusOr<std::unique_ptr<Connection>> c =
        fabric_->Connect(listener->endpoint(), id, Soon());
    acceptor.join();
    EXPECT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(accepted.ok()) << accepted;
    if (c.ok()) pair.client = std::move(*c);
    return pair;
  }

  // Sends one message each way and checks it arrives.
  static void ExpectWorks(const Pair& pair) {
    ASSERT_NE(pair.client, nullptr);
    ASSERT_NE(pair.server, nullptr);
    ASSERT_TRUE(pair.client->Send("ping", Soon()).ok());
    absl::StatusOr<std::string> got = pair.server->Receive(Soon());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, "ping");
    ASSERT_TRUE(pair.server->Send("pong", Soon()).ok());
    got = pair.client->Receive(Soon());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, "pong");
  }

  FabricOptions options_;
  std::unique_ptr<Fabric> fabric_;
  std::unique_ptr<Listener> listener_;
};

// ---------------------------------------------------------------------------------------------
// The factory and endpoints.

TEST(FabricFactoryTest, CreatesKnownKindsAndRejectsOthers) {
  absl::StatusOr<std::unique_ptr<Fabric>> tcp = CreateFabric("tcp");
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  EXPECT_EQ((*tcp)->kind(), FabricKind::kTcp);
  EXPECT_EQ((*tcp)->name(), "tcp");
  absl::StatusOr<std::unique_ptr<Fabric>> rdma = CreateFabric("rdma");
  ASSERT_TRUE(rdma.ok()) << rdma.status();
  EXPECT_EQ((*rdma)->kind(), FabricKind::kRdma);
  absl::StatusOr<std::unique_ptr<Fabric>> automatic = CreateFabric("auto");
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  EXPECT_EQ((*automatic)->kind(), RdmaDeviceAvailable() ? FabricKind::kRdma : FabricKind::kTcp);
  absl::StatusOr<std::unique_ptr<Fabric>> bogus = CreateFabric("carrier-pigeon");
  EXPECT_TRUE(absl::IsInvalidArgument(bogus.status())) << bogus.status();
  EXPECT_TRUE(absl::StrContains(bogus.status().message(), "tcp")) << bogus.status();
  EXPECT_TRUE(absl::StrContains(bogus.status().message(), "rdma")) << bogus.status();
}

TEST(EndpointTest, ToString) {
  EXPECT_EQ((Endpoint{"127.0.0.2", 7301}).ToString(), "127.0.0.2:7301");
  EXPECT_EQ((Endpoint{"::1", 7300}).ToString(), "[::1]:7300");
}

// ---------------------------------------------------------------------------------------------
// Connection set-up.

TEST_F(ConnectionTest, ConnectDeliversIdentity) {
  Pair pair = Connect("client-7", 3);
  ASSERT_NE(pair.server, nullptr);
  ASSERT_NE(pair.client, nullptr);
  EXPECT_EQ(pair.server->peer().identity, "client-7");
  EXPECT_EQ(pair.server->peer().purpose, 3);
  EXPECT_TRUE(absl::StrContains(pair.server->peer().address, AddressFromEnv()))
      << pair.server->peer().address;
  EXPECT_EQ(pair.client->peer().identity, "client-7");
  EXPECT_EQ(pair.client->peer().address, listener_->endpoint().ToString());
  EXPECT_TRUE(pair.client->IsOpen());
  EXPECT_TRUE(pair.server->IsOpen());
  EXPECT_EQ(pair.client->max_message_size(), options_.max_message_size);
  EXPECT_EQ(pair.server->max_message_size(), options_.max_message_size);
  ExpectWorks(pair);
}

TEST_F(ConnectionTest, IdentityTooLongIsInvalid) {
  PeerIdentity id;
  id.identity = std::string(kMaxIdentityLength + 1, 'a');
  absl::StatusOr<std::unique_ptr<Connection>> c =
      fabric_->Connect(listener_->endpoint(), id, Soon(absl::Seconds(5)));
  EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
}

TEST_F(ConnectionTest, ConnectWithoutListenerIsUnavailable) {
  Endpoint nobody = UnusedEndpoint();
  absl::StatusOr<std::unique_ptr<Connection>> c =
      fabric_->Connect(nobody, PeerIdentity(), Soon(absl::Seconds(10)));
  ASSERT_TRUE(absl::IsUnavailable(c.status())) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), nobody.ToString())) << c.status();
}

TEST_F(ConnectionTest, ListenerCloseRefusesLaterConnects) {
  ExpectWorks(Connect());
  Endpoint endpoint = listener_->endpoint();
  listener_->Close();
  listener_->Close();  // idempotent
  absl::StatusOr<std::unique_ptr<Connection>> c =
      fabric_->Connect(endpoint, PeerIdentity(), Soon(absl::Seconds(10)));
  EXPECT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsUnavailable(c.status()) || absl::IsDeadlineExceeded(c.status()))
      << c.status();
  absl::StatusOr<std::unique_ptr<Connection>> a = listener_->Accept(Soon(absl::Seconds(1)));
  EXPECT_TRUE(absl::IsCancelled(a.status())) << a.status();
}

TEST_F(ConnectionTest, ListenerCloseWakesPendingAccept) {
  absl::Status status;
  absl::Time returned;
  std::thread acceptor([&] {
    status = listener_->Accept(Soon()).status();
    returned = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(200));
  absl::Time closed = absl::Now();
  listener_->Close();
  acceptor.join();
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_LT(returned - closed, absl::Seconds(5));
}

TEST_F(ConnectionTest, AcceptHonoursDeadline) {
  absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Connection>> c =
      listener_->Accept(absl::Now() + absl::Milliseconds(300));
  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(absl::IsDeadlineExceeded(c.status())) << c.status();
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(ConnectionTest, ListenerServesAgainAfterReopen) {
  Endpoint endpoint = listener_->endpoint();
  listener_.reset();
  absl::StatusOr<std::unique_ptr<Listener>> again = fabric_->Listen(endpoint);
  ASSERT_TRUE(again.ok()) << again.status();
  listener_ = std::move(*again);
  ExpectWorks(Connect());
}

// ---------------------------------------------------------------------------------------------
// Messages.

TEST_F(ConnectionTest, SendReceiveSizes) {
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  const size_t max = pair.client->max_message_size();
  uint32_t seed = 1;
  for (size_t size : {size_t{0}, size_t{1}, size_t{4096}, max}) {
    std::string message = Pattern(size, seed++);
    ASSERT_TRUE(pair.client->Send(message, Soon()).ok()) << size;
    absl::StatusOr<std::string> got = pair.server->Receive(Soon());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->size(), size);
    EXPECT_TRUE(*got == message) << "content differs at size " << size;

    message = Pattern(size, seed++);
    ASSERT_TRUE(pair.server->Send(message, Soon()).ok()) << size;
    got = pair.client->Receive(Soon());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(*got == message) << "content differs at size " << size;
  }
}

TEST_F(ConnectionTest, OversizedSendIsInvalidAndHarmless) {
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  std::string big(pair.client->max_message_size() + 1, 'b');
  EXPECT_TRUE(absl::IsInvalidArgument(pair.client->Send(big, Soon())));
  EXPECT_TRUE(absl::IsInvalidArgument(pair.server->Send(big, Soon())));
  EXPECT_TRUE(pair.client->IsOpen());
  ExpectWorks(pair);
}

TEST_F(ConnectionTest, TenThousandMessagesArriveInOrder) {
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  constexpr int kCount = 10000;
  absl::Status send_status;
  std::thread sender([&] {
    for (int i = 0; i < kCount && send_status.ok(); ++i) {
      send_status = pair.client->Send(Numbered(i, i % 97), Soon());
    }
  });
  for (int i = 0; i < kCount; ++i) {
    absl::StatusOr<std::string> got = pair.server->Receive(Soon());
    ASSERT_TRUE(got.ok()) << "message " << i << ": " << got.status();
    ASSERT_EQ(*got, Numbered(i, i % 97));
  }
  sender.join();
  EXPECT_TRUE(send_status.ok()) << send_status;
}

TEST_F(ConnectionTest, SenderBlocksOnSlowReceiverAndNothingIsLost) {
  FabricOptions options;
  options.credits = 4;
  Start(options);
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  constexpr int kCount = 200;  // fifty windows
  std::atomic<int> sent{0};
  absl::Status send_status;
  std::thread sender([&] {
    for (int i = 0; i < kCount; ++i) {
      send_status = pair.client->Send(Numbered(i, 10), Soon());
      if (!send_status.ok()) return;
      sent.fetch_add(1);
    }
  });
  absl::SleepFor(absl::Milliseconds(500));
  // Nothing consumed yet: the sender got at most one window out and waits.
  EXPECT_GE(sent.load(), 1);
  EXPECT_LE(sent.load(), 4);
  for (int i = 0; i < kCount; ++i) {
    if (i < 40) absl::SleepFor(absl::Milliseconds(2));  // slow consumer
    absl::StatusOr<std::string> got = pair.server->Receive(Soon());
    ASSERT_TRUE(got.ok()) << "message " << i << ": " << got.status();
    ASSERT_EQ(NumberOf(*got), i);
  }
  sender.join();
  EXPECT_TRUE(send_status.ok()) << send_status;
  EXPECT_EQ(sent.load(), kCount);
  // Nothing beyond what was sent.
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      pair.server->Receive(absl::Now() + absl::Milliseconds(100)).status()));
}

TEST_F(ConnectionTest, SendTimesOutWhileReceiverDoesNotConsume) {
  FabricOptions options;
  options.credits = 4;
  Start(options);
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  int sent = 0;
  absl::Status status;
  // Fill the window (and whatever slack a fabric has).
  while (sent < 64) {
    status = pair.client->Send(Numbered(sent, 0), absl::Now() + absl::Milliseconds(300));
    if (!status.ok()) break;
    ++sent;
  }
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_GE(sent, 1);
  EXPECT_LE(sent, 4);
  absl::Time start = absl::Now();
  status = pair.client->Send("late", absl::Now() + absl::Milliseconds(200));
  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_GE(took, absl::Milliseconds(150));
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_TRUE(pair.client->IsOpen());

  // Once the receiver consumes, sending resumes; the timed-out messages never went out.
  for (int i = 0; i < sent; ++i) {
    absl::StatusOr<std::string> got = pair.server->Receive(Soon());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, Numbered(i, 0));
  }
  ASSERT_TRUE(pair.client->Send("after", Soon()).ok());
  absl::StatusOr<std::string> got = pair.server->Receive(Soon());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "after");
}

TEST_F(ConnectionTest, BothSidesFarBeyondTheWindowDoNotDeadlock) {
  FabricOptions options;
  options.credits = 4;
  Start(options);
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  constexpr int kCount = 2000;
  auto send_all = [](Connection* c, absl::Status* status) {
    for (int i = 0; i < kCount && status->ok(); ++i) *status = c->Send(Numbered(i, i % 50), Soon());
  };
  auto receive_all = [](Connection* c, absl::Status* status) {
    for (int i = 0; i < kCount; ++i) {
      absl::StatusOr<std::string> got = c->Receive(Soon());
      if (!got.ok()) {
        *status = got.status();
        return;
      }
      if (*got != Numbered(i, i % 50)) {
        *status = absl::InternalError(absl::StrCat("message ", i, " is \"", *got, "\""));
        return;
      }
    }
  };
  absl::Status s1, s2, r1, r2;
  std::thread a(send_all, pair.client.get(), &s1);
  std::thread b(send_all, pair.server.get(), &s2);
  std::thread c(receive_all, pair.client.get(), &r1);
  std::thread d(receive_all, pair.server.get(), &r2);
  a.join();
  b.join();
  c.join();
  d.join();
  EXPECT_TRUE(s1.ok()) << s1;
  EXPECT_TRUE(s2.ok()) << s2;
  EXPECT_TRUE(r1.ok()) << r1;
  EXPECT_TRUE(r2.ok()) << r2;
}

TEST_F(ConnectionTest, SixteenConcurrentConnections) {
  constexpr int kClients = 16;
  constexpr int kMessages = 100;
  std::vector<std::unique_ptr<Connection>> accepted;
  std::vector<std::thread> echoers;
  std::atomic<int> echo_errors{0};
  std::thread acceptor([&] {
    for (int i = 0; i < kClients; ++i) {
      absl::StatusOr<std::unique_ptr<Connection>> c = listener_->Accept(Soon());
      if (!c.ok()) {
        ADD_FAILURE() << c.status();
        return;
      }
      Connection* server = c->get();
      accepted.push_back(std::move(*c));
      echoers.emplace_back([server, &echo_errors] {
        for (int m = 0; m < kMessages; ++m) {
          absl::StatusOr<std::string> got = server->Receive(Soon());
          if (!got.ok() ||
              !server->Send(absl::StrCat(server->peer().identity, "/", *got), Soon()).ok()) {
            echo_errors.fetch_add(1);
            return;
          }
        }
      });
    }
  });
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      PeerIdentity id;
      id.identity = absl::StrCat("client-", i);
      absl::StatusOr<std::unique_ptr<Connection>> c =
          fabric_->Connect(listener_->endpoint(), id, Soon());
      if (!c.ok()) {
        ADD_FAILURE() << id.identity << ": " << c.status();
        return;
      }
      for (int m = 0; m < kMessages; ++m) {
        std::string message = Numbered(m, (m * 13 + i) % 300);
        if (!(*c)->Send(message, Soon()).ok()) return;
        absl::StatusOr<std::string> got = (*c)->Receive(Soon());
        if (!got.ok() || *got != absl::StrCat(id.identity, "/", message)) {
          ADD_FAILURE() << id.identity << " message " << m << ": "
                        << (got.ok() ? *got : got.status().ToString());
          return;
        }
      }
      good.fetch_add(1);
    });
  }
  for (std::thread& t : clients) t.join();
  acceptor.join();
  for (std::thread& t : echoers) t.join();
  EXPECT_EQ(good.load(), kClients);
  EXPECT_EQ(echo_errors.load(), 0);
}

// ---------------------------------------------------------------------------------------------
// Closing.

TEST_F(ConnectionTest, PeerCloseFailsReceive) {
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  ExpectWorks(pair);
  pair.client->Close();
  pair.client->Close();  // idempotent
  EXPECT_FALSE(pair.client->IsOpen());
  EXPECT_TRUE(absl::IsUnavailable(pair.client->Send("x", Soon())));
  EXPECT_TRUE(absl::IsUnavailable(pair.client->Receive(Soon()).status()));
  absl::StatusOr<std::string> got = pair.server->Receive(Soon());
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  EXPECT_FALSE(pair.server->IsOpen());
  EXPECT_TRUE(absl::IsUnavailable(pair.server->Send("x", Soon())));
}

TEST_F(ConnectionTest, PeerDestroyedFailsReceive) {
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  pair.client.reset();
  absl::StatusOr<std::string> got = pair.server->Receive(Soon());
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
}

TEST_F(ConnectionTest, CloseFromAnotherThreadUnblocksReceive) {
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  absl::Status status;
  absl::Time returned;
  std::thread receiver([&] {
    status = pair.server->Receive(Soon()).status();
    returned = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(200));
  absl::Time closed = absl::Now();
  pair.server->Close();
  receiver.join();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_LT(returned - closed, absl::Seconds(2));
}

TEST_F(ConnectionTest, CloseFromAnotherThreadUnblocksSend) {
  FabricOptions options;
  options.credits = 2;
  Start(options);
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  absl::Status status;
  absl::Time returned;
  std::thread sender([&] {
    for (int i = 0; i < 100 && status.ok(); ++i) status = pair.client->Send("fill", Soon());
    returned = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(300));
  absl::Time closed = absl::Now();
  pair.client->Close();
  sender.join();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_LT(returned - closed, absl::Seconds(2));
}

// ---------------------------------------------------------------------------------------------
// One-sided operations. As on the filer, the accepting side is active against memory the
// connecting side registered with remote access.

class OneSidedTest : public ConnectionTest {
 protected:
  static constexpr size_t kRemoteSize = 2 * 1024 * 1024 + 4096;
  void SetUp() override {
    ConnectionTest::SetUp();
    pair_ = Connect();
    ASSERT_NE(pair_.server, nullptr);
    remote_memory_.assign(kRemoteSize, 'r');
    local_memory_.assign(kRemoteSize, 'l');
    absl::StatusOr<std::unique_ptr<MemoryRegion>> remote = pair_.client->RegisterMemory(
        remote_memory_.data(), remote_memory_.size(), transport::Access::kRemoteAny);
    ASSERT_TRUE(remote.ok()) << remote.status();
    remote_ = std::move(*remote);
    absl::StatusOr<std::unique_ptr<MemoryRegion>> local = pair_.server->RegisterMemory(
        local_memory_.data(), local_memory_.size(), transport::Access::kLocalSink);
    ASSERT_TRUE(local.ok()) << local.status();
    local_ = std::move(*local);
  }
  void TearDown() override {
    local_.reset();
    remote_.reset();
  }

  // The remote side's memory must be exactly `expected` (nothing else written).
  void ExpectRemoteMemory(const std::string& expected) {
    EXPECT_TRUE(remote_memory_ == expected) << "remote memory was modified";
  }

  // A one-sided write the passive side must refuse: the write fails, or (when the fabric only
  // learns of it afterwards) the connection does.
  void ExpectWriteFails(const RemoteBuffer& target, uint64_t offset, size_t length) {
    absl::Status status = pair_.server->WriteRemote(*local_, 0, target, offset, length, Soon());
    if (status.ok()) {
      status = pair_.server->ReadRemote(*local_, 0, remote_->Describe(), 0, 16, Soon());
    }
    EXPECT_FALSE(status.ok());
  }

  Pair pair_;
  std::string remote_memory_;
  std::string local_memory_;
  std::unique_ptr<MemoryRegion> remote_;
  std::unique_ptr<MemoryRegion> local_;
};

TEST_F(OneSidedTest, DescribeMatchesRegistration) {
  RemoteBuffer b = remote_->Describe();
  EXPECT_EQ(b.address, reinterpret_cast<uintptr_t>(remote_memory_.data()));
  EXPECT_EQ(b.length, remote_memory_.size());
  EXPECT_EQ(remote_->data(), remote_memory_.data());
  EXPECT_EQ(remote_->size(), remote_memory_.size());
}

TEST_F(OneSidedTest, WriteAndReadAtOffsets) {
  struct Case {
    size_t length;
    size_t local_offset;
    uint64_t remote_offset;
  };
  const Case cases[] = {
      {1, 0, 0},       {1, 5, kRemoteSize - 1},        {4096, 0, 0},        {4096, 3, 12345},
      {1 << 20, 0, 0}, {1 << 20, 7, (1 << 20) + 4093}, {kRemoteSize, 0, 0},
  };
  uint32_t seed = 10;
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat("length ", c.length, " local offset ", c.local_offset,
                              " remote offset ", c.remote_offset));
    // Write: local -> remote; a following message proves the data has landed.
    std::string expected = remote_memory_;
    Fill(local_memory_.data() + c.local_offset, c.length, seed);
    std::memcpy(expected.data() + c.remote_offset, local_memory_.data() + c.local_offset, c.length);
    ASSERT_TRUE(pair_.server
                    ->WriteRemote(*local_, c.local_offset, remote_->Describe(), c.remote_offset,
                                  c.length, Soon())
                    .ok());
    ASSERT_TRUE(pair_.server->Send("written", Soon()).ok());
    absl::StatusOr<std::string> got = pair_.client->Receive(Soon());
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectRemoteMemory(expected);

    // Read: remote -> local.
    Fill(remote_memory_.data() + c.remote_offset, c.length, seed + 1);
    std::string local_expected = local_memory_;
    std::memcpy(local_expected.data() + c.local_offset, remote_memory_.data() + c.remote_offset,
                c.length);
    absl::Status status = pair_.server->ReadRemote(*local_, c.local_offset, remote_->Describe(),
                                                   c.remote_offset, c.length, Soon());
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_TRUE(local_memory_ == local_expected) << "read data differs";
    seed += 2;
  }
}

TEST_F(OneSidedTest, WriteThenSendIsSeenWithTheMessage) {
  for (int i = 0; i < 200; ++i) {
    std::string value = absl::StrCat("value-", i);
    std::memcpy(local_memory_.data(), value.data(), value.size());
    uint64_t offset = static_cast<uint64_t>(i) * 4099 % (kRemoteSize - value.size());
    ASSERT_TRUE(
        pair_.server->WriteRemote(*local_, 0, remote_->Describe(), offset, value.size(), Soon())
            .ok());
    ASSERT_TRUE(pair_.server->Send(absl::StrCat(offset), Soon()).ok());
    absl::StatusOr<std::string> got = pair_.client->Receive(Soon());
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(*got, absl::StrCat(offset));
    ASSERT_EQ(absl::string_view(remote_memory_.data() + offset, value.size()), value);
  }
}

TEST_F(OneSidedTest, ReadWithLocalRangeErrorsFailsWithoutTraffic) {
  RemoteBuffer b = remote_->Describe();
  EXPECT_FALSE(pair_.server->ReadRemote(*local_, kRemoteSize - 1, b, 0, 2, Soon()).ok());
  EXPECT_FALSE(pair_.server->ReadRemote(*local_, 0, b, kRemoteSize - 1, 2, Soon()).ok());
  EXPECT_FALSE(pair_.server->WriteRemote(*local_, 0, b, kRemoteSize, 1, Soon()).ok());
  EXPECT_TRUE(pair_.server->IsOpen());
  ExpectWorks(pair_);
}

TEST_F(OneSidedTest, ReadWithWrongKeyFails) {
  RemoteBuffer b = remote_->Describe();
  b.key ^= 0x5a5a5a5a;
  Fill(local_memory_.data(), 4096, 3);
  std::string before = local_memory_;
  EXPECT_FALSE(pair_.server->ReadRemote(*local_, 0, b, 0, 4096, Soon()).ok());
  EXPECT_TRUE(local_memory_ == before);
  ExpectWorks(Connect());  // the listener serves on
}

TEST_F(OneSidedTest, ReadOutOfBoundsFails) {
  RemoteBuffer b = remote_->Describe();
  b.length += 8192;  // lie about the size: the passive side must check
  EXPECT_FALSE(pair_.server->ReadRemote(*local_, 0, b, kRemoteSize - 100, 4096, Soon()).ok());
  ExpectWorks(Connect());
}

TEST_F(OneSidedTest, ReadWithoutRemoteAccessFails) {
  std::string memory(4096, 'p');
  absl::StatusOr<std::unique_ptr<MemoryRegion>> privy =
      pair_.client->RegisterMemory(memory.data(), memory.size(), transport::Access::kLocalSink);
  ASSERT_TRUE(privy.ok()) << privy.status();
  EXPECT_FALSE(pair_.server->ReadRemote(*local_, 0, (*privy)->Describe(), 0, 16, Soon()).ok());
  ExpectWorks(Connect());
}

// Registration rights follow the use (Access): read-only memory registers as a remote source,
// which the peer can read and cannot write.
TEST_F(OneSidedTest, RemoteSourceMayBeReadOnlyAndIsNotWritable) {
  const size_t kSize = 64 * 1024;
  void* map = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  Fill(static_cast<char*>(map), kSize, 77);
  const std::string expected(static_cast<char*>(map), kSize);
  ASSERT_EQ(mprotect(map, kSize, PROT_READ), 0);
  absl::StatusOr<std::unique_ptr<MemoryRegion>> source =
      pair_.client->RegisterMemory(map, kSize, transport::Access::kRemoteSource);
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_TRUE(pair_.server->ReadRemote(*local_, 0, (*source)->Describe(), 0, kSize, Soon()).ok());
  EXPECT_TRUE(std::string(local_memory_.data(), kSize) == expected);
  ExpectWriteFails((*source)->Describe(), 0, 4096);
  source->reset();
  munmap(map, kSize);
  ExpectWorks(Connect());
}

// The copying calls move memory that is not registered, through the connection's own
// buffers, in pieces; ranges are checked as for the others.
TEST_F(OneSidedTest, CopyCallsMoveUnregisteredMemory) {
  const size_t kLength = (1 << 20) + 12345;  // many message buffers
  std::string source(kLength, '\0');
  Fill(source.data(), kLength, 5);
  std::string expected = remote_memory_;
  std::memcpy(expected.data() + 777, source.data(), kLength);
  ASSERT_TRUE(pair_.server->WriteRemoteCopy(source, remote_->Describe(), 777, Soon()).ok());
  std::string back(kLength, '\0');
  ASSERT_TRUE(
      pair_.server->ReadRemoteCopy(back.data(), kLength, remote_->Describe(), 777, Soon()).ok());
  EXPECT_TRUE(back == source) << "read back differs";
  ExpectRemoteMemory(expected);
  EXPECT_FALSE(
      pair_.server->WriteRemoteCopy(source, remote_->Describe(), kRemoteSize - 10, Soon()).ok());
  EXPECT_FALSE(
      pair_.server->ReadRemoteCopy(back.data(), 20, remote_->Describe(), kRemoteSize - 10, Soon())
          .ok());
  ExpectRemoteMemory(expected);
}

TEST_F(OneSidedTest, ReadAfterRegionDestroyedFails) {
  RemoteBuffer b = remote_->Describe();
  ASSERT_TRUE(pair_.server->ReadRemote(*local_, 0, b, 0, 16, Soon()).ok());
  remote_.reset();
  EXPECT_FALSE(pair_.server->ReadRemote(*local_, 0, b, 0, 16, Soon()).ok());
  ExpectWorks(Connect());
}

TEST_F(OneSidedTest, WriteWithWrongKeyFailsAndLeavesMemoryAlone) {
  std::string before = remote_memory_;
  RemoteBuffer b = remote_->Describe();
  b.key ^= 0x00ff00ff;
  ExpectWriteFails(b, 0, 4096);
  ExpectRemoteMemory(before);
  ExpectWorks(Connect());
}

TEST_F(OneSidedTest, WriteOutOfBoundsFailsAndLeavesMemoryAlone) {
  std::string before = remote_memory_;
  RemoteBuffer b = remote_->Describe();
  b.length += 8192;
  ExpectWriteFails(b, kRemoteSize - 10, 4096);
  ExpectRemoteMemory(before);
  ExpectWorks(Connect());
}

TEST_F(OneSidedTest, WriteAfterRegionDestroyedFails) {
  std::string before = remote_memory_;
  RemoteBuffer b = remote_->Describe();
  remote_.reset();
  absl::Status status = pair_.server->WriteRemote(*local_, 0, b, 0, 4096, Soon());
  if (status.ok()) {
    // Any further operation must see the failure.
    status = pair_.server->Send("after", Soon());
    if (status.ok()) status = pair_.server->Receive(Soon()).status();
  }
  EXPECT_FALSE(status.ok());
  ExpectRemoteMemory(before);
  ExpectWorks(Connect());
}

// ---------------------------------------------------------------------------------------------
// tcp only: raw sockets that do not follow the protocol.

class TcpOnlyTest : public ConnectionTest {
 protected:
  void SetUp() override {
    if (!IsTcp()) {
      GTEST_SKIP() << "raw-socket cases speak the tcp wire format; rdma peers are "
                      "validated by rdma_cm and the HCA instead";
    }
    ConnectionTest::SetUp();
  }

  // A raw TCP connection to the listener (blocking socket, 15 s receive timeout, beyond the
  // handshake timeout).
  int RawConnect() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    timeval tv = {15, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(listener_->endpoint().discriminator);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    return fd;
  }

  static void SendAll(int fd, absl::string_view data) {
    ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }

  // Everything the peer sends until it closes (or 15 s pass).
  static std::string ReadUntilClosed(int fd) {
    std::string all;
    char buffer[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return all;
      all.append(buffer, static_cast<size_t>(n));
    }
  }

  static std::string GoodHello(const std::string& identity) {
    PeerIdentity id;
    id.identity = identity;
    tcp::LinkParams params;
    params.credits = 16;
    params.max_message_size = 1024;
    return tcp::EncodeHello(*EncodeHandshake(id), params);
  }

  // Runs Accept in a loop in the background; keeps what it accepts.
  void StartAccepting() {
    acceptor_ = std::thread([this] {
      while (!stop_.HasBeenNotified()) {
        absl::StatusOr<std::unique_ptr<Connection>> c =
            listener_->Accept(absl::Now() + absl::Milliseconds(100));
        if (c.ok()) {
          absl::MutexLock lock(&mu_);
          accepted_.push_back(std::move(*c));
        } else if (!absl::IsDeadlineExceeded(c.status())) {
          return;
        }
      }
    });
  }
  // Waits until the background acceptor has n connections; returns the nth (1-based).
  Connection* WaitAccepted(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return accepted_.size() >= n; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10))) return nullptr;
    return accepted_[n - 1].get();
  }
  void TearDown() override {
    if (acceptor_.joinable()) {
      stop_.Notify();
      acceptor_.join();
    }
  }

  // Connects through the fabric while the background acceptor runs; the server end is then
  // Server(index).
  std::unique_ptr<Connection> ConnectInBackground(size_t index) {
    absl::StatusOr<std::unique_ptr<Connection>> c =
        fabric_->Connect(listener_->endpoint(), PeerIdentity(), Soon(absl::Seconds(10)));
    EXPECT_TRUE(c.ok()) << c.status();
    EXPECT_NE(WaitAccepted(index), nullptr);
    return c.ok() ? std::move(*c) : nullptr;
  }
  Connection* Server(size_t index) {
    absl::MutexLock lock(&mu_);
    return accepted_.size() >= index ? accepted_[index - 1].get() : nullptr;
  }

  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> accepted_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread acceptor_;
};

TEST_F(TcpOnlyTest, BadMagicIsRejectedWithReason) {
  StartAccepting();
  int fd = RawConnect();
  std::string hello = GoodHello("x");
  hello[0] = 'Z';
  SendAll(fd, hello);
  std::string reply = ReadUntilClosed(fd);
  ::close(fd);
  EXPECT_TRUE(absl::StrContains(reply, "bad magic")) << reply;
  std::unique_ptr<Connection> client = ConnectInBackground(1);
  ASSERT_NE(client, nullptr);
  ASSERT_NE(Server(1), nullptr);
  ASSERT_TRUE(client->Send("hello", Soon()).ok());
  absl::StatusOr<std::string> got = Server(1)->Receive(Soon());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "hello");
}

TEST_F(TcpOnlyTest, BadVersionIsRejectedWithReason) {
  StartAccepting();
  int fd = RawConnect();
  std::string hello = GoodHello("x");
  hello[4] = 99;
  SendAll(fd, hello);
  std::string reply = ReadUntilClosed(fd);
  ::close(fd);
  EXPECT_TRUE(absl::StrContains(reply, "unsupported version 99")) << reply;
}

TEST_F(TcpOnlyTest, StalledAndJunkPeersDoNotHoldUpTheListener) {
  StartAccepting();
  int silent = RawConnect();   // connects and says nothing
  int partial = RawConnect();  // starts a hello and stalls
  SendAll(partial, GoodHello("p").substr(0, 10));
  int garbage = RawConnect();  // garbage, then leaves
  SendAll(garbage, std::string(300, '\xee'));
  ::close(garbage);
  int quitter = RawConnect();  // leaves at once
  ::close(quitter);

  absl::Time start = absl::Now();
  std::unique_ptr<Connection> client = ConnectInBackground(1);
  ASSERT_NE(client, nullptr);
  ASSERT_NE(Server(1), nullptr);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  ASSERT_TRUE(client->Send("through", Soon()).ok());
  absl::StatusOr<std::string> got = Server(1)->Receive(Soon());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "through");

  // The stalled handshakes are dropped after their deadline.
  char byte;
  EXPECT_EQ(::recv(silent, &byte, 1, 0), 0);
  EXPECT_EQ(::recv(partial, &byte, 1, 0), 0);
  ::close(silent);
  ::close(partial);
}

TEST_F(TcpOnlyTest, MalformedFramesCloseOnlyTheirConnection) {
  StartAccepting();
  std::unique_ptr<Connection> good = ConnectInBackground(1);
  ASSERT_NE(good, nullptr);
  Connection* good_server = Server(1);
  ASSERT_NE(good_server, nullptr);

  auto raw_session = [&](size_t index, const std::string& frames, bool close_after) {
    int fd = RawConnect();
    SendAll(fd, GoodHello(absl::StrCat("raw-", index)));
    char reply[tcp::kReplySize];
    EXPECT_EQ(::recv(fd, reply, sizeof(reply), MSG_WAITALL), static_cast<ssize_t>(sizeof(reply)));
    Connection* server = WaitAccepted(index);
    EXPECT_NE(server, nullptr);
    SendAll(fd, frames);
    if (close_after) ::shutdown(fd, SHUT_WR);
    if (server != nullptr) {
      // The server drops the connection without the application doing anything (so no credit
      // goes back either); valid messages that came first are still delivered, then it fails.
      absl::Time until = Soon(absl::Seconds(10));
      while (server->IsOpen() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
      EXPECT_FALSE(server->IsOpen()) << index;
      absl::StatusOr<std::string> got;
      int delivered = 0;
      while ((got = server->Receive(Soon())).ok()) ++delivered;
      EXPECT_TRUE(absl::IsUnavailable(got.status())) << index << ": " << got.status();
      EXPECT_LE(delivered, 16) << index;
    }
    ::close(fd);
  };
  auto header = [](tcp::FrameType type, uint32_t length, uint32_t key = 0, uint64_t address = 0) {
    tcp::FrameHeader h;
    h.type = type;
    h.payload_length = length;
    h.key = key;
    h.address = address;
    std::string out(tcp::kFrameHeaderSize, '\0');
    tcp::EncodeFrameHeader(h, out.data());
    return out;
  };
  // A truncated frame, then the peer leaves.
  raw_session(2, header(tcp::FrameType::kData, 10) + "abc", true);
  // A message over the negotiated maximum.
  raw_session(3, header(tcp::FrameType::kData, 1u << 30), false);
  // An unknown frame type.
  raw_session(4, header(static_cast<tcp::FrameType>(77), 0), false);
  // A remote write to memory nobody registered.
  raw_session(5, header(tcp::FrameType::kWrite, 4, 1234, 0x1000) + "evil", false);
  // More messages than the credit window allows.
  std::string flood;
  for (int i = 0; i < 17; ++i) flood += header(tcp::FrameType::kData, 1) + "m";
  raw_session(6, flood, false);
  // An oversized read request.
  raw_session(
      7,
      [&] {
        tcp::FrameHeader h;
        h.type = tcp::FrameType::kReadReq;
        h.length = 1u << 31;
        std::string out(tcp::kFrameHeaderSize, '\0');
        tcp::EncodeFrameHeader(h, out.data());
        return out;
      }(),
      false);

  // The good connection and the listener are unaffected.
  ASSERT_TRUE(good->Send("still here", Soon()).ok());
  absl::StatusOr<std::string> got = good_server->Receive(Soon());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "still here");
  std::unique_ptr<Connection> late = ConnectInBackground(8);
  ASSERT_NE(late, nullptr);
}

TEST_F(TcpOnlyTest, RejectingListenerGivesReasonToConnector) {
  // A fake listener that rejects every hello.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t length = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  Endpoint endpoint{"127.0.0.1", ntohs(a.sin_port)};
  std::thread fake([fd] {
    int peer = ::accept(fd, nullptr, nullptr);
    if (peer < 0) return;
    char hello[tcp::kHelloSize];
    ::recv(peer, hello, sizeof(hello), MSG_WAITALL);
    std::string reply = tcp::EncodeReply(false, tcp::LinkParams(), "go away");
    ::send(peer, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(peer);
  });
  absl::StatusOr<std::unique_ptr<Connection>> c =
      fabric_->Connect(endpoint, PeerIdentity(), Soon(absl::Seconds(10)));
  fake.join();
  ::close(fd);
  ASSERT_TRUE(absl::IsUnavailable(c.status())) << c.status();
  EXPECT_EQ(c.status().message(), absl::StrCat("rejected by ", endpoint.ToString(), ": go away"));
}

TEST_F(TcpOnlyTest, SilentListenerMakesConnectTimeOut) {
  // The kernel completes the TCP connection, but nobody ever answers the hello.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t length = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Connection>> c =
      fabric_->Connect(Endpoint{"127.0.0.1", ntohs(a.sin_port)}, PeerIdentity(),
                       absl::Now() + absl::Milliseconds(300));
  absl::Duration took = absl::Now() - start;
  ::close(fd);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c.status())) << c.status();
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(TcpOnlyTest, Ipv6Loopback) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = fabric_->Listen(Endpoint{"::1", 0});
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_NE((*listener)->endpoint().discriminator, 0);  // port 0 picks a free port
  Pair pair = Connect("v6", 1, listener->get());
  ASSERT_NE(pair.server, nullptr);
  EXPECT_TRUE(absl::StartsWith(pair.server->peer().address, "[::1]:"))
      << pair.server->peer().address;
  ExpectWorks(pair);
}

TEST_F(TcpOnlyTest, MessagesSentBeforePeerCloseAreDelivered) {
  Pair pair = Connect();
  ASSERT_NE(pair.server, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pair.client->Send(Numbered(i, 5), Soon()).ok());
  pair.client->Close();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> got = pair.server->Receive(Soon());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, Numbered(i, 5));
  }
  absl::StatusOr<std::string> got = pair.server->Receive(Soon());
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  EXPECT_TRUE(absl::StrContains(got.status().message(), "closed by peer")) << got.status();
}

}  // namespace
}  // namespace transport
}  // namespace vifiler
