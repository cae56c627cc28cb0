// Copyright 2026 The vifiler Authors.
//
// End-to-end tests of one filer: a real vifilerd process on loopback (tcp) or on the rxe
// address (rdma), driven through the client library, the raw protocol and the CLI.

#include <signal.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "tests/integration/run_command.h"
#include "tests/integration/test_env.h"
#include "transport/fabric.h"

namespace vifiler {
namespace testing {
namespace {

using client::Client;
using protocol::ErrorCode;
using protocol::Opcode;

uint64_t Fnv64(absl::string_view data, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string Pattern(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  std::mt19937 gen(seed);
  for (size_t i = 0; i + 4 <= size; i += 4) {
    uint32_t v = gen();
    memcpy(&s[i], &v, 4);
  }
  return s;
}

class FilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fabric_ = GetTestFabric();
    ASSERT_FALSE(fabric_.address_a.empty()) << "no address for fabric " << fabric_.fabric;
    dir_ = MakeScratchDir("vifiler-filer-test");
    ASSERT_FALSE(dir_.empty());
    volume_ = dir_ + "/volume-a";
    ASSERT_EQ(mkdir(volume_.c_str(), 0755), 0);
    hosts_ = WritePairHostsFile(dir_, fabric_);
    filer_ = std::make_unique<FilerProcess>("filer-a", volume_, fabric_.address_a, hosts_,
                                            dir_ + "/filer-a.log");
    ASSERT_TRUE(filer_->Start().ok()) << filer_->Log();
  }
  void TearDown() override {
    if (filer_ != nullptr) filer_->Stop();
    if (HasFailure() && filer_ != nullptr)
      fprintf(stderr, "filer log:\n%s\n", filer_->Log().c_str());
    RemoveTree(dir_);
  }

  std::unique_ptr<Client> Connect() {
    client::ClientOptions o = TestClientOptions(hosts_);
    o.failover = false;
    auto c = Client::Connect("filer-a", o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  TestFabric fabric_;
  std::string dir_, volume_, hosts_;
  std::unique_ptr<FilerProcess> filer_;
};

TEST_F(FilerTest, FileOperations) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Mkdir("/d").ok());
  EXPECT_EQ(client::ErrorCodeOf(c->Mkdir("/d")), ErrorCode::kExists);
  auto f = c->Create("/d/hello", 0640);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE(f->Write(0, "hello, world").ok());
  char buf[64] = {};
  auto n = f->Read(0, absl::MakeSpan(buf, sizeof buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(absl::string_view(buf, *n), "hello, world");
  auto attr = c->Stat("/d/hello");
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->size, 12u);
  EXPECT_EQ(attr->mode & 0777, 0640u);
  EXPECT_EQ(attr->type, protocol::FileType::kRegular);
  // The file is really on the volume.
  EXPECT_EQ(access((volume_ + "/d/hello").c_str(), F_OK), 0);

  ASSERT_TRUE(c->Rename("/d/hello", "/d/renamed").ok());
  EXPECT_EQ(client::ErrorCodeOf(c->Stat("/d/hello").status()), ErrorCode::kNoEntry);
  auto list = c->List("/d");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "renamed");
  // The handle survives the rename.
  n = f->Read(7, absl::MakeSpan(buf, 5));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(absl::string_view(buf, *n), "world");

  EXPECT_EQ(client::ErrorCodeOf(c->Remove("/d")), ErrorCode::kNotEmpty);
  ASSERT_TRUE(c->Remove("/d/renamed").ok());
  EXPECT_EQ(client::ErrorCodeOf(f->Stat().status()), ErrorCode::kStaleHandle);
  ASSERT_TRUE(c->Remove("/d").ok());
  auto root = c->List("/");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->empty()) << "metadata directory must stay hidden";
  EXPECT_EQ(client::ErrorCodeOf(c->Stat("/../etc/passwd").status()), ErrorCode::kInvalid);
  auto fs = c->StatFs();
  ASSERT_TRUE(fs.ok());
  EXPECT_GT(fs->total_bytes, 0u);
}

// Starting a filer a second time on a volume that is being served (same address: its ports are
// taken; another address: it would serve the same volume) must fail with an error naming the
// running one, and must not disturb it (before: it raised the volume's epoch and the running
// filer refused every write from then on).
TEST_F(FilerTest, SecondFilerOnAServedVolumeRefusesAndLeavesTheFirstServing) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Mkdir("/before").ok());
  for (const std::string& address : {fabric_.address_a, fabric_.address_b}) {
    FilerProcess second("filer-a", volume_, address, hosts_, dir_ + "/second.log");
    ASSERT_TRUE(second.StartNoWait().ok());
    ASSERT_TRUE(second.process()->Wait(Scaled(absl::Seconds(20))).ok())
        << "second filer kept running";
    const int status = second.process()->wait_status();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "status " << status;
    EXPECT_NE(second.Log().find("another vifilerd named filer-a"), std::string::npos)
        << second.Log();
    // The first one still serves, reads and writes.
    EXPECT_TRUE(c->Mkdir(absl::StrCat("/after-", address)).ok());
    EXPECT_TRUE(c->Stat("/before").ok());
  }
}

// `vifiler get` of a file that does not exist fails and leaves an existing local file alone.
TEST_F(FilerTest, FailedGetLeavesTheLocalFileAlone) {
  const std::string local = dir_ + "/keep.txt";
  {
    std::ofstream out(local);
    out << "precious";
  }
  std::string out, err;
  auto rc =
      RunCommand({BinaryPath("VIFILER"), "--hosts_file=" + hosts_, "--fabric=" + fabric_.fabric,
                  "--noenable_failover", "get", "filer-a:/nope", local},
                 &out, &err, absl::Seconds(30));
  ASSERT_TRUE(rc.ok());
  EXPECT_NE(*rc, 0);
  EXPECT_NE(err.find("nope"), std::string::npos) << err;
  std::ifstream in(local);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "precious");
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find("vifiler-get"), std::string::npos)
        << "temporary file left behind: " << e.path();
  }
  // A get that works replaces it.
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  auto f = c->Create("/there");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write(0, "fresh").ok());
  rc = RunCommand({BinaryPath("VIFILER"), "--hosts_file=" + hosts_, "--fabric=" + fabric_.fabric,
                   "--noenable_failover", "get", "filer-a:/there", local},
                  &out, &err, absl::Seconds(30));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0) << err;
  std::ifstream again(local);
  std::string now((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  EXPECT_EQ(now, "fresh");
}

TEST_F(FilerTest, ClientRestartedWithSameIdentityIsNotAnsweredFromTheOldRun) {
  client::ClientOptions o = TestClientOptions(hosts_);
  o.failover = false;
  o.client_id = "fixed-identity";
  protocol::FileHandle first;
  {
    auto c = Client::Connect("filer-a", o);
    ASSERT_TRUE(c.ok());
    auto f = (*c)->Create("/one", 0644, /*exclusive=*/true);
    ASSERT_TRUE(f.ok());
    first = f->handle();
  }
  auto c = Client::Connect("filer-a", o);
  ASSERT_TRUE(c.ok());
  auto f = (*c)->Create("/two", 0644, /*exclusive=*/true);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_NE(f->handle(), first) << "the new run got the cached reply of the old run's create";
  EXPECT_TRUE((*c)->Stat("/two").ok());
}

TEST_F(FilerTest, HundredMiBRoundTripWithChecksum) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  const size_t kSize = 100u << 20;
  const std::string data = Pattern(kSize, 42);
  auto f = c->Create("/big");
  ASSERT_TRUE(f.ok());
  const size_t kChunk = 8u << 20;
  for (size_t off = 0; off < kSize; off += kChunk) {
    auto w = f->Write(off, absl::string_view(data).substr(off, kChunk));
    ASSERT_TRUE(w.ok()) << w.status();
  }
  std::string back(kSize, '\0');
  for (size_t off = 0; off < kSize; off += kChunk) {
    auto r = f->Read(off, absl::MakeSpan(&back[off], std::min(kChunk, kSize - off)));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, std::min(kChunk, kSize - off));
  }
  EXPECT_EQ(Fnv64(back), Fnv64(data));
  // Reading past the end returns only what exists.
  char tail[100];
  auto r = f->Read(kSize - 10, absl::MakeSpan(tail, sizeof tail));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 10u);
}

TEST_F(FilerTest, SixteenConcurrentClients) {
  constexpr int kClients = 16;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = Connect();
      if (c == nullptr) return;
      const std::string name = absl::StrCat("/client-", i);
      const std::string data = Pattern(256 * 1024 + i, i);
      auto f = c->Create(name);
      if (!f.ok()) return;
      for (int round = 0; round < 5; ++round) {
        if (!f->Write(0, data).ok()) return;
        std::string back(data.size(), '\0');
        auto r = f->Read(0, absl::MakeSpan(back));
        if (!r.ok() || back != data) return;
        char small[100];
        if (!f->Read(1000, absl::MakeSpan(small, sizeof small)).ok()) return;
      }
      ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  auto list = c->List("/");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), static_cast<size_t>(kClients));
}

TEST_F(FilerTest, HandlesSurviveFilerRestart) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Mkdir("/keep").ok());
  auto f = c->Create("/keep/file");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write(0, "persistent").ok());
  const protocol::FileHandle handle = f->handle();

  ASSERT_EQ(filer_->Stop(), 0);
  ASSERT_TRUE(filer_->Start().ok()) << filer_->Log();

  // The same client reconnects by itself; the old handle names the same file.
  char buf[32];
  auto n = c->Read(handle, 0, absl::MakeSpan(buf, sizeof buf));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(absl::string_view(buf, *n), "persistent");
  EXPECT_GE(c->stats().reconnects, 1u);
  // And so does a brand-new client given the handle.
  auto c2 = Connect();
  ASSERT_NE(c2, nullptr);
  auto attr = c2->GetAttr(handle);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->size, 10u);
}

// Speaks the protocol directly, to send what a well-behaved client never would.
class RawSession {
 public:
  absl::Status Open(const TestFabric& fabric, const std::string& client_id) {
    auto f = transport::CreateFabric(fabric.fabric);
    if (!f.ok()) return f.status();
    fabric_ = std::move(*f);
    transport::PeerIdentity id;
    id.identity = client_id;
    id.purpose = transport::kPurposeDataAccess;
    auto c = fabric_->Connect({fabric.address_a, 7300}, id, absl::Now() + absl::Seconds(5));
    if (!c.ok()) return c.status();
    conn_ = std::move(*c);
    protocol::SessionCreateRequest req;
    req.client_id = client_id;
    req.slots = 4;
    protocol::MessageHeader h;
    h.opcode = Opcode::kSessionCreate;
    auto reply = Call(protocol::EncodeMessage(h, req));
    if (!reply.ok()) return reply.status();
    protocol::SessionCreateReply created;
    absl::Status s = protocol::DecodeMessageBody(*reply, &created);
    session_ = created.session_id;
    root_ = created.root;
    return s;
  }
  absl::StatusOr<std::string> Call(const std::string& message) {
    absl::Status s = conn_->Send(message, absl::Now() + absl::Seconds(5));
    if (!s.ok()) return s;
    return conn_->Receive(absl::Now() + absl::Seconds(5));
  }
  template <typename Body>
  absl::StatusOr<protocol::MessageHeader> Request(Opcode op, uint32_t slot, uint64_t seq,
                                                  const Body& body, std::string* reply = nullptr) {
    protocol::MessageHeader h;
    h.opcode = op;
    h.session_id = session_;
    h.slot = slot;
    h.sequence = seq;
    auto r = Call(protocol::EncodeMessage(h, body));
    if (!r.ok()) return r.status();
    if (reply != nullptr) *reply = *r;
    return protocol::DecodeHeader(*r);
  }
  transport::Connection* connection() { return conn_.get(); }
  const protocol::FileHandle& root() const { return root_; }

 private:
  std::unique_ptr<transport::Fabric> fabric_;
  std::unique_ptr<transport::Connection> conn_;
  uint64_t session_ = 0;
  protocol::FileHandle root_;
};

TEST_F(FilerTest, MalformedInputGetsErrorsAndOthersAreServed) {
  auto good = Connect();
  ASSERT_NE(good, nullptr);
  auto gf = good->Create("/good");
  ASSERT_TRUE(gf.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> good_failures{0}, good_ops{0};
  std::thread steady([&] {
    while (!stop) {
      if (gf->Write(0, "steady").ok()) {
        good_ops.fetch_add(1);
      } else {
        good_failures.fetch_add(1);
      }
    }
  });

  RawSession raw;
  ASSERT_TRUE(raw.Open(fabric_, "raw-client").ok());
  // Unknown opcode: the header is readable, so an error reply.
  {
    protocol::MessageHeader h;
    h.opcode = Opcode::kNull;
    std::string msg = protocol::EncodeMessage(h, protocol::Empty());
    msg[6] = 99;  // opcode low byte
    auto r = raw.Call(msg);
    // The strict header decoder rejects unknown opcodes: the filer closes the connection
    // rather than guess at the rest of the message.
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  }
  RawSession raw2;
  ASSERT_TRUE(raw2.Open(fabric_, "raw-client-2").ok());
  // Valid header, garbage body.
  {
    protocol::LookupRequest lookup;
    lookup.dir = raw2.root();
    lookup.name = "x";
    protocol::MessageHeader h;
    h.opcode = Opcode::kLookup;
    std::string msg = protocol::EncodeMessage(h, lookup);
    // Truncate the name's length field to claim more bytes than exist.
    msg[protocol::kHeaderSize + 24] = 100;
    auto r = raw2.Call(msg);
    ASSERT_TRUE(r.ok()) << r.status();
    auto rh = protocol::DecodeHeader(*r);
    ASSERT_TRUE(rh.ok());
    EXPECT_NE(rh->status, ErrorCode::kOk);
  }
  // Forged handles.
  {
    protocol::GetAttrRequest req;
    req.handle = raw2.root();
    req.handle.file_id ^= 0x5a5a5a;
    auto rh = raw2.Request(Opcode::kGetAttr, 0, 1, req);
    ASSERT_TRUE(rh.ok());
    EXPECT_TRUE(rh->status == ErrorCode::kStaleHandle || rh->status == ErrorCode::kBadHandle)
        << protocol::ErrorCodeName(rh->status);
    req.handle = raw2.root();
    req.handle.volume_id ^= 1;
    rh = raw2.Request(Opcode::kGetAttr, 0, 2, req);
    ASSERT_TRUE(rh.ok());
    EXPECT_EQ(rh->status, ErrorCode::kBadHandle);
  }
  // Escaping names.
  for (const char* name : {"..", ".", "a/b", ".vifiler"}) {
    protocol::CreateRequest req;
    req.dir = raw2.root();
    req.name = name;
    auto rh = raw2.Request(Opcode::kCreate, 1, 10 + strlen(name) + name[0], req);
    ASSERT_TRUE(rh.ok());
    EXPECT_NE(rh->status, ErrorCode::kOk) << name;
  }
  // Oversized inline read.
  {
    protocol::ReadRequest req;
    req.handle = gf->handle();
    req.length = 1u << 20;
    auto rh = raw2.Request(Opcode::kRead, 2, 1, req);
    ASSERT_TRUE(rh.ok());
    EXPECT_EQ(rh->status, ErrorCode::kTooBig);
  }
  // Bad slot and no session.
  {
    protocol::GetAttrRequest req;
    req.handle = raw2.root();
    auto rh = raw2.Request(Opcode::kGetAttr, 60, 1, req);
    ASSERT_TRUE(rh.ok());
    EXPECT_EQ(rh->status, ErrorCode::kBadSlot);
  }
  // Pure garbage: the filer closes this connection.
  {
    RawSession raw3;
    ASSERT_TRUE(raw3.Open(fabric_, "raw-client-3").ok());
    std::string junk(200, '\xee');
    ASSERT_TRUE(raw3.connection()->Send(junk, absl::Now() + absl::Seconds(2)).ok());
    auto r = raw3.connection()->Receive(absl::Now() + absl::Seconds(5));
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  }
  // A client that asks for a large direct read and vanishes before the data arrives.
  {
    RawSession raw4;
    ASSERT_TRUE(raw4.Open(fabric_, "raw-client-4").ok());
    std::string sink(4 << 20, '\0');
    auto region = raw4.connection()->RegisterMemory(sink.data(), sink.size(), true);
    ASSERT_TRUE(region.ok());
    auto big = good->Create("/big");
    ASSERT_TRUE(big.ok());
    ASSERT_TRUE(big->Write(0, Pattern(4 << 20, 7)).ok());
    protocol::ReadRequest req;
    req.handle = big->handle();
    req.length = 4 << 20;
    req.has_buffer = true;
    transport::RemoteBuffer d = (*region)->Describe();
    req.buffer = protocol::RemoteBuffer{d.address, d.key, d.length};
    protocol::MessageHeader h;
    h.opcode = Opcode::kRead;
    ASSERT_TRUE(raw4.connection()
                    ->Send(protocol::EncodeMessage(h, req), absl::Now() + absl::Seconds(2))
                    .ok());
    region->reset();
    raw4.connection()->Close();
  }
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  steady.join();
  EXPECT_EQ(good_failures.load(), 0);
  EXPECT_GT(good_ops.load(), 0);
  // Still serving new clients.
  auto after = Connect();
  ASSERT_NE(after, nullptr);
  EXPECT_TRUE(after->Stat("/good").ok());
  EXPECT_TRUE(filer_->process()->Running());
}

TEST_F(FilerTest, ReplayedMutationExecutesOnce) {
  RawSession raw;
  ASSERT_TRUE(raw.Open(fabric_, "replay-client").ok());
  protocol::CreateRequest req;
  req.dir = raw.root();
  req.name = "once";
  req.exclusive = true;
  std::string first, second;
  auto h1 = raw.Request(Opcode::kCreate, 0, 1, req, &first);
  ASSERT_TRUE(h1.ok());
  ASSERT_EQ(h1->status, ErrorCode::kOk);
  // The same slot and sequence again: answered from the reply cache, not kExists.
  auto h2 = raw.Request(Opcode::kCreate, 0, 1, req, &second);
  ASSERT_TRUE(h2.ok());
  EXPECT_EQ(h2->status, ErrorCode::kOk);
  EXPECT_TRUE(h2->flags & protocol::kFlagReplay);
  // From a new connection with the same client identity, too (a reconnect).
  RawSession again;
  ASSERT_TRUE(again.Open(fabric_, "replay-client").ok());
  auto h3 = again.Request(Opcode::kCreate, 0, 1, req);
  ASSERT_TRUE(h3.ok());
  EXPECT_EQ(h3->status, ErrorCode::kOk);
  // A new sequence executes: now the name exists.
  auto h4 = again.Request(Opcode::kCreate, 0, 2, req);
  ASSERT_TRUE(h4.ok());
  EXPECT_EQ(h4->status, ErrorCode::kExists);
  // An older sequence is misordered.
  auto h5 = again.Request(Opcode::kCreate, 0, 1, req);
  ASSERT_TRUE(h5.ok());
  EXPECT_EQ(h5->status, ErrorCode::kSequenceMisordered);
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
