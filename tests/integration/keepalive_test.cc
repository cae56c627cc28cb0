// Copyright 2026 The vifiler Authors.
//
// Keepalive against one DataAccessPort served in the test process (no vifilerd): the port
// answers a probe at once while a long direct write executes on the same connection; a client
// whose request takes much longer than keepalive_timeout keeps its connection because its
// probes are answered; an idle client sends no probes.
//
// The long request is a mutation held in the VolumeService's MutationGuard until the test
// releases it (a slow path the test controls), so no timing of the machine decides the outcome.

#include <sys/stat.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clientlib/client.h"
#include "filer/data_access_port.h"
#include "filer/volume.h"
#include "filer/volume_service.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "storage/block_file.h"
#include "storage/memory_disk.h"
#include "tests/integration/test_env.h"
#include "transport/fabric.h"

namespace vifiler {
namespace testing {
namespace {

using client::Client;
using protocol::ErrorCode;
using protocol::MessageHeader;
using protocol::Opcode;

constexpr uint32_t kProbeSlot = 0xFFFFFFFF;
// The longest the guard holds a mutation, should a test fail before releasing it.
constexpr absl::Duration kMaxHold = absl::Seconds(20);

// Holds mutations while armed, until released.
class Gate {
 public:
  void Arm() {
    absl::MutexLock lock(&mu_);
    armed_ = true;
    entered_ = 0;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    armed_ = false;
  }
  // The MutationGuard: waits while armed.
  absl::Status Pass() {
    absl::MutexLock lock(&mu_);
    if (armed_) ++entered_;
    auto open = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !armed_; };
    mu_.AwaitWithTimeout(absl::Condition(&open), kMaxHold);
    return absl::OkStatus();
  }
  // Waits until a mutation is held.
  bool WaitEntered(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto entered = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return entered_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&entered), timeout);
  }

 private:
  absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
};

class KeepaliveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(test_fabric_.address_a.empty()) << "no address for " << test_fabric_.fabric;
    dir_ = MakeScratchDir("vifiler-keepalive");
    ASSERT_FALSE(dir_.empty());
    volume_dir_ = dir_ + "/volume";
    ASSERT_EQ(mkdir(volume_dir_.c_str(), 0755), 0);
    auto volume = filer::Volume::Open(volume_dir_);
    ASSERT_TRUE(volume.ok()) << volume.status();
    storage::BlockFileOptions log_options;
    log_options.create = true;
    log_options.size = 4 << 20;
    auto log = storage::OpenBlockFile((*volume)->meta_path() + "/replylog", log_options);
    ASSERT_TRUE(log.ok()) << log.status();
    filer::ServiceOptions options;
    options.filer_name = "solo";
    auto service = filer::VolumeService::Open(std::move(*volume), std::move(*log), options,
                                              [this] { return gate_.Pass(); });
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    auto fabric = transport::CreateFabric(test_fabric_.fabric);
    ASSERT_TRUE(fabric.ok()) << fabric.status();
    fabric_ = std::move(*fabric);
    // A discriminator no filer of the other integration tests uses; the next if taken.
    absl::Status started;
    for (uint16_t d = 7310; d < 7320; ++d) {
      port_ = std::make_unique<filer::DataAccessPort>(
          fabric_.get(), transport::Endpoint{test_fabric_.address_a, d}, service_.get(), "test");
      started = port_->Start();
      if (started.ok()) break;
    }
    ASSERT_TRUE(started.ok()) << started;
    hosts_ = WriteHostsFile(dir_, {{"solo", test_fabric_.address_a}});
  }

  void TearDown() override {
    gate_.Release();
    if (port_ != nullptr) port_->Stop();
    port_.reset();
    service_.reset();
    RemoveTree(dir_);
  }

  client::ClientOptions SoloOptions() {
    client::ClientOptions o = TestClientOptions(hosts_);
    o.failover = false;
    o.primary_discriminator = port_->endpoint().discriminator;
    return o;
  }

  TestFabric test_fabric_ = GetTestFabric();
  std::string dir_, volume_dir_, hosts_;
  Gate gate_;
  std::unique_ptr<filer::VolumeService> service_;
  std::unique_ptr<transport::Fabric> fabric_;
  std::unique_ptr<filer::DataAccessPort> port_;
};

// A connection speaking the protocol directly, so the test decides what is sent when.
class RawSession {
 public:
  absl::Status Open(transport::Fabric* fabric, const transport::Endpoint& endpoint) {
    transport::PeerIdentity id;
    id.identity = "raw-keepalive-client";
    id.purpose = transport::kPurposeDataAccess;
    auto c = fabric->Connect(endpoint, id, absl::Now() + absl::Seconds(5));
    if (!c.ok()) return c.status();
    connection_ = std::move(*c);
    protocol::SessionCreateRequest request;
    request.client_id = id.identity;
    request.slots = 4;
    MessageHeader h;
    h.opcode = Opcode::kSessionCreate;
    absl::Status s = Send(h, request);
    if (!s.ok()) return s;
    auto reply = connection_->Receive(absl::Now() + absl::Seconds(5));
    if (!reply.ok()) return reply.status();
    protocol::SessionCreateReply created;
    s = protocol::DecodeMessageBody(*reply, &created);
    if (!s.ok()) return s;
    session_id_ = created.session_id;
    root_ = created.root;
    return absl::OkStatus();
  }
  template <typename Body>
  absl::Status Send(MessageHeader h, const Body& body) {
    h.session_id = session_id_;
    return connection_->Send(protocol::EncodeMessage(h, body), absl::Now() + absl::Seconds(5));
  }
  transport::Connection* connection() { return connection_.get(); }
  const protocol::FileHandle& root() const { return root_; }

 private:
  std::unique_ptr<transport::Connection> connection_;
  uint64_t session_id_ = 0;
  protocol::FileHandle root_;
};

TEST_F(KeepaliveTest, ProbeIsAnsweredWhileALongDirectWriteExecutes) {
  RawSession raw;
  ASSERT_TRUE(raw.Open(fabric_.get(), port_->endpoint()).ok());
  MessageHeader h;
  h.opcode = Opcode::kCreate;
  h.slot = 0;
  h.sequence = 1;
  protocol::CreateRequest create;
  create.dir = raw.root();
  create.name = "big";
  ASSERT_TRUE(raw.Send(h, create).ok());
  auto created_reply = raw.connection()->Receive(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(created_reply.ok()) << created_reply.status();
  protocol::HandleReply created;
  ASSERT_TRUE(protocol::DecodeMessageBody(*created_reply, &created).ok());

  // A 4 MiB direct write (the client library's largest direct chunk; some RDMA devices refuse
  // one-sided transfers of protocol::kMaxTransferLength), held in the guard: it executes until
  // the gate opens.
  constexpr size_t kSize = 4 << 20;
  std::string data(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) data[i] = static_cast<char>(i * 131 + 7);
  auto region = raw.connection()->RegisterMemory(data.data(), kSize, transport::Access::kRemoteAny);
  ASSERT_TRUE(region.ok()) << region.status();
  const transport::RemoteBuffer described = (*region)->Describe();
  gate_.Arm();
  protocol::WriteRequest write;
  write.handle = created.handle;
  write.length = kSize;
  write.has_buffer = true;
  write.buffer = protocol::RemoteBuffer{described.address, described.key, described.length};
  h.opcode = Opcode::kWrite;
  h.slot = 1;
  h.sequence = 1;
  ASSERT_TRUE(raw.Send(h, write).ok());
  ASSERT_TRUE(gate_.WaitEntered(absl::Seconds(10))) << "the write never reached the guard";

  // A probe on the same connection is answered while the write still executes.
  h.opcode = Opcode::kNull;
  h.slot = kProbeSlot;
  h.sequence = 42;
  const absl::Time probed = absl::Now();
  ASSERT_TRUE(raw.Send(h, protocol::Empty()).ok());
  auto answer = raw.connection()->Receive(absl::Now() + absl::Seconds(3));
  const absl::Duration took = absl::Now() - probed;
  ASSERT_TRUE(answer.ok()) << "probe not answered while a write executes: " << answer.status();
  auto answer_header = protocol::DecodeHeader(*answer);
  ASSERT_TRUE(answer_header.ok());
  EXPECT_EQ(answer_header->opcode, Opcode::kNull);
  EXPECT_EQ(answer_header->slot, kProbeSlot);
  EXPECT_EQ(answer_header->sequence, 42u);
  EXPECT_TRUE(answer_header->flags & protocol::kFlagReply);
  EXPECT_EQ(answer_header->status, ErrorCode::kOk);
  EXPECT_EQ(answer_header->payload_length, 0u);
  fprintf(stderr, "probe answered in %s while a 4 MiB direct write was held\n",
          absl::FormatDuration(took).c_str());
  EXPECT_EQ(port_->nulls_answered(), 1u);

  // The write completes once released, with its data.
  gate_.Release();
  auto written = raw.connection()->Receive(absl::Now() + absl::Seconds(20));
  ASSERT_TRUE(written.ok()) << written.status();
  auto written_header = protocol::DecodeHeader(*written);
  ASSERT_TRUE(written_header.ok());
  EXPECT_EQ(written_header->opcode, Opcode::kWrite);
  EXPECT_EQ(written_header->status, ErrorCode::kOk);
  protocol::WriteReply out;
  ASSERT_TRUE(protocol::DecodeMessageBody(*written, &out).ok());
  EXPECT_EQ(out.count, kSize);
  struct stat st;
  ASSERT_EQ(stat((volume_dir_ + "/big").c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), kSize);
  region->reset();
}

TEST_F(KeepaliveTest, ClientKeepsItsConnectionThroughARequestLongerThanKeepaliveTimeout) {
  client::ClientOptions o = SoloOptions();
  o.keepalive_interval = absl::Milliseconds(50);
  o.keepalive_timeout = absl::Milliseconds(400);
  o.request_timeout = absl::Seconds(10);
  auto c = Client::Connect("solo", o);
  ASSERT_TRUE(c.ok()) << c.status();
  auto f = (*c)->Create("/slow");
  ASSERT_TRUE(f.ok()) << f.status();

  gate_.Arm();
  absl::Status written = absl::InternalError("not run");
  std::thread writer([&] {
    written = f->Write(0, std::string(1 << 20, 'x')).status();  // direct
  });
  ASSERT_TRUE(gate_.WaitEntered(absl::Seconds(10)));
  absl::SleepFor(o.keepalive_timeout * 3);  // far past keepalive_timeout
  gate_.Release();
  writer.join();
  ASSERT_TRUE(written.ok()) << written;
  const client::ClientStats stats = (*c)->stats();
  EXPECT_EQ(stats.keepalive_failures, 0u);
  EXPECT_EQ(stats.reconnects, 0u);
  EXPECT_EQ(stats.replays, 0u);
  EXPECT_GE(stats.probes, 2u);
  EXPECT_GE(stats.probe_replies, 2u);
  EXPECT_GE(port_->nulls_answered(), stats.probe_replies);
}

TEST_F(KeepaliveTest, IdleClientSendsNoProbes) {
  client::ClientOptions o = SoloOptions();
  auto c = Client::Connect("solo", o);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Mkdir("/d").ok());
  ASSERT_TRUE((*c)->Stat("/d").ok());
  const uint64_t probes = (*c)->stats().probes;
  const uint64_t answered = port_->nulls_answered();
  absl::SleepFor(o.keepalive_timeout * 2);  // twenty keepalive intervals, idle
  EXPECT_EQ((*c)->stats().probes, probes);
  EXPECT_EQ(port_->nulls_answered(), answered) << "an idle client probed its filer";
  EXPECT_EQ((*c)->stats().keepalive_failures, 0u);
  // Still connected and usable after the idle period.
  EXPECT_TRUE((*c)->Stat("/d").ok());
  EXPECT_EQ((*c)->stats().reconnects, 0u);
}

TEST_F(KeepaliveTest, RootIsKnownFromConnectAndNeverZero) {
  auto c = Client::Connect("solo", SoloOptions());
  ASSERT_TRUE(c.ok()) << c.status();
  const protocol::FileHandle root = (*c)->root();
  EXPECT_NE(root, protocol::FileHandle());
  EXPECT_EQ(root, service_->volume()->root());
  EXPECT_EQ((*c)->stats().root_mismatches, 0u);
}

TEST_F(KeepaliveTest, BadKeepaliveOptionsAreRefused) {
  client::ClientOptions o = SoloOptions();
  o.keepalive_interval = absl::Seconds(2);
  o.keepalive_timeout = absl::Seconds(1);
  auto c = Client::Connect("solo", o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
