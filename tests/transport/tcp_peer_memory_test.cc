// Copyright 2026 The vifiler Authors.
//
// What a tcp peer can make this side allocate (issue 11): every buffer sized from a peer's frame
// is bounded by the work actually accepted, and no connection keeps its high-water buffer.
// Raw sockets speak the tcp wire format to a listener in this process; the test reads this
// process's resident memory (VmRSS in /proc/self/status) after the frames were handled.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "transport/fabric.h"
#include "transport/handshake.h"
#include "transport/tcp/tcp_wire.h"

namespace vifiler {
namespace transport {
namespace {

constexpr size_t kConnections = 48;
constexpr uint32_t kLength = 16u << 20;  // the largest one-sided frame (tcp::kMaxTransfer)
// Growth of the resident set the test tolerates: before the fix each connection kept 16 MiB.
constexpr int64_t kMaxGrowthBytes = 96 << 20;

int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (words.size() >= 2 && absl::SimpleAtoi(words[1], &kib)) return kib * 1024;
  }
  return -1;
}

class TcpPeerMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fabric_ = std::move(*CreateFabric("tcp"));
    absl::StatusOr<std::unique_ptr<Listener>> listener = fabric_->Listen({"127.0.0.1", 0});
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = std::move(*listener);
  }
  void TearDown() override {
    for (int fd : raw_) ::close(fd);
  }

  // A raw client whose handshake was accepted; its server end is servers_.back().
  int Connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    raw_.push_back(fd);
    timeval tv = {15, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(listener_->endpoint().discriminator);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    PeerIdentity id;
    id.identity = "attacker";
    tcp::LinkParams params;
    params.credits = 16;
    params.max_message_size = 1024;
    SendAll(fd, tcp::EncodeHello(*EncodeHandshake(id), params));
    absl::StatusOr<std::unique_ptr<Connection>> server =
        listener_->Accept(absl::Now() + absl::Seconds(10));
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) servers_.push_back(std::move(*server));
    std::string reply = ReadExactly(fd, tcp::kReplySize);
    EXPECT_EQ(reply.size(), tcp::kReplySize);
    return fd;
  }

  static void SendAll(int fd, absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << strerror(errno);
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  static std::string ReadExactly(int fd, size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }
  static std::string Frame(tcp::FrameHeader header) {
    char encoded[tcp::kFrameHeaderSize];
    tcp::EncodeFrameHeader(header, encoded);
    return std::string(encoded, sizeof(encoded));
  }
  // Reads one kReadResp frame; returns its header (payload read and dropped).
  static tcp::FrameHeader ReadAnswer(int fd) {
    for (;;) {
      std::string head = ReadExactly(fd, tcp::kFrameHeaderSize);
      if (head.size() != tcp::kFrameHeaderSize) return tcp::FrameHeader{0, tcp::FrameType::kError};
      tcp::FrameHeader header = tcp::DecodeFrameHeader(head.data());
      size_t left = header.payload_length;
      char sink[65536];
      while (left > 0) {
        ssize_t r = ::recv(fd, sink, std::min(left, sizeof(sink)), 0);
        if (r <= 0) return tcp::FrameHeader{0, tcp::FrameType::kError};
        left -= static_cast<size_t>(r);
      }
      if (header.type == tcp::FrameType::kReadResp) return header;
    }
  }

  std::unique_ptr<Fabric> fabric_;
  std::unique_ptr<Listener> listener_;
  std::vector<std::unique_ptr<Connection>> servers_;
  std::vector<int> raw_;
};

TEST_F(TcpPeerMemoryTest, ReadRequestsForUnknownKeysAllocateNothing) {
  const int64_t before = ResidentBytes();
  ASSERT_GT(before, 0);
  for (size_t i = 0; i < kConnections; ++i) {
    int fd = Connect();
    tcp::FrameHeader request;
    request.type = tcp::FrameType::kReadReq;
    request.key = 0x1234567;  // never registered
    request.address = 4096;
    request.length = kLength;
    request.id = 1;
    SendAll(fd, Frame(request));
    tcp::FrameHeader answer = ReadAnswer(fd);
    ASSERT_EQ(answer.type, tcp::FrameType::kReadResp);
    EXPECT_EQ(answer.status, tcp::FrameStatus::kNotFound);
  }
  const int64_t growth = ResidentBytes() - before;
  EXPECT_LT(growth, kMaxGrowthBytes)
      << kConnections << " 32-byte frames grew the resident set by " << (growth >> 20) << " MiB";
  for (auto& server : servers_) EXPECT_TRUE(server->IsOpen());  // answered, not cut off
}

TEST_F(TcpPeerMemoryTest, AnswerBuffersAreReleasedOnceWritten) {
  // One 16 MiB region (resident once, in this test) registered for remote access on every
  // connection; each peer reads all of it once.
  std::unique_ptr<char[]> memory(new char[kLength]);
  memset(memory.get(), 'm', kLength);
  std::vector<std::unique_ptr<MemoryRegion>> regions;
  const int64_t before = ResidentBytes();
  for (size_t i = 0; i < kConnections; ++i) {
    int fd = Connect();
    absl::StatusOr<std::unique_ptr<MemoryRegion>> region =
        servers_.back()->RegisterMemory(memory.get(), kLength, transport::Access::kRemoteAny);
    ASSERT_TRUE(region.ok()) << region.status();
    RemoteBuffer remote = (*region)->Describe();
    regions.push_back(std::move(*region));
    tcp::FrameHeader request;
    request.type = tcp::FrameType::kReadReq;
    request.key = remote.key;
    request.address = remote.address;
    request.length = kLength;
    request.id = 7;
    SendAll(fd, Frame(request));
    tcp::FrameHeader answer = ReadAnswer(fd);
    ASSERT_EQ(answer.type, tcp::FrameType::kReadResp);
    EXPECT_EQ(answer.status, tcp::FrameStatus::kOk);
    EXPECT_EQ(answer.payload_length, kLength);
  }
  // Let the service threads return from writing the last answers.
  absl::SleepFor(absl::Milliseconds(200));
  const int64_t growth = ResidentBytes() - before;
  EXPECT_LT(growth, kMaxGrowthBytes)
      << kConnections << " answered 16 MiB reads left " << (growth >> 20) << " MiB resident";
}

TEST_F(TcpPeerMemoryTest, RemoteWritesDoNotGrowAConnectionsBuffer) {
  std::unique_ptr<char[]> memory(new char[kLength]);
  memset(memory.get(), 0, kLength);
  const std::string payload(kLength, 'w');
  std::vector<std::unique_ptr<MemoryRegion>> regions;
  const int64_t before = ResidentBytes();
  for (size_t i = 0; i < kConnections; ++i) {
    int fd = Connect();
    absl::StatusOr<std::unique_ptr<MemoryRegion>> region =
        servers_.back()->RegisterMemory(memory.get(), kLength, transport::Access::kRemoteAny);
    ASSERT_TRUE(region.ok()) << region.status();
    RemoteBuffer remote = (*region)->Describe();
    regions.push_back(std::move(*region));
    tcp::FrameHeader write;
    write.type = tcp::FrameType::kWrite;
    write.key = remote.key;
    write.address = remote.address;
    write.payload_length = kLength;
    SendAll(fd, Frame(write) + payload);
    // A read of the last byte after the write: answered once the write was applied.
    tcp::FrameHeader request;
    request.type = tcp::FrameType::kReadReq;
    request.key = remote.key;
    request.address = remote.address + kLength - 1;
    request.length = 1;
    request.id = 9;
    SendAll(fd, Frame(request));
    ASSERT_EQ(ReadAnswer(fd).status, tcp::FrameStatus::kOk);
  }
  EXPECT_EQ(memory[kLength - 1], 'w');
  const int64_t growth = ResidentBytes() - before;
  EXPECT_LT(growth, kMaxGrowthBytes)
      << kConnections << " 16 MiB remote writes left " << (growth >> 20) << " MiB resident";
}

TEST_F(TcpPeerMemoryTest, RemoteWriteToAnUnknownKeyIsRefusedBeforeItsPayload) {
  int fd = Connect();
  tcp::FrameHeader write;
  write.type = tcp::FrameType::kWrite;
  write.key = 0x7654321;
  write.address = 4096;
  write.payload_length = kLength;
  SendAll(fd, Frame(write));  // no payload follows: the header alone must be refused
  std::string head = ReadExactly(fd, tcp::kFrameHeaderSize);
  ASSERT_EQ(head.size(), tcp::kFrameHeaderSize);
  EXPECT_EQ(tcp::DecodeFrameHeader(head.data()).type, tcp::FrameType::kError);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (servers_.back()->IsOpen() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE(servers_.back()->IsOpen());
}

}  // namespace
}  // namespace transport
}  // namespace vifiler
