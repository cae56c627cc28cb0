// Copyright 2026 The vifiler Authors.
//
// Registration of memory for direct transfers (issue 10, "registration done right"), against a
// real vifilerd on each fabric:
//  - a write from read-only memory (a PROT_READ mapping of a file, an anonymous mapping made
//    read-only, .rodata) succeeds at once, without a reconnect: the client registers a write's
//    source for remote reads only (it used to ask for write rights, which the kernel refuses on
//    such memory, and took the refusal for a dead link until the failover deadline);
//  - the filer registers its read-only file mapping as a local source (it used to ask for write
//    rights there too and always fell back to a copy, silently): direct reads are sent from it
//    where the kernel allows (Linux 6.2 and later; before, the kernel pins every registration
//    for writing), and the fallback is counted in status and logged;
//  - rdma only: a filer without CAP_IPC_LOCK under the usual 8 MiB memlock limit serves three
//    clients at once with 4 MiB transfers (the staging it cannot pin is replaced by a copy
//    through message buffers; it used to answer SERVER_FAULT), says at start what to raise,
//    and a client under a 64 KiB limit fails at once, saying why (it used to retry for 30 s).

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "tests/integration/single_filer_test.h"
#include "tests/integration/test_env.h"

namespace vifiler {
namespace testing {
namespace {

using client::Client;

std::string Pattern(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  std::mt19937 gen(seed);
  for (size_t i = 0; i + 4 <= size; i += 4) {
    uint32_t v = gen();
    memcpy(&s[i], &v, 4);
  }
  return s;
}

// 64 KiB of constant data: in .rodata, above the filer's 16 KiB inline threshold.
struct RodataBlock {
  std::array<char, 64 * 1024> bytes{};
  constexpr RodataBlock() {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + 7) % 251);
  }
};
constexpr RodataBlock kRodata;

// Whether the running kernel is at least major.minor.
bool KernelAtLeast(int major, int minor) {
  utsname u;
  if (uname(&u) != 0) return false;
  int have_major = 0, have_minor = 0;
  if (sscanf(u.release, "%d.%d", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

// The command prefix that runs a program as root would run without CAP_IPC_LOCK (so the memlock
// limit applies to it) under a memlock limit of `bytes`.
std::vector<std::string> UnderMemlock(uint64_t bytes) {
  return {"/usr/bin/setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock",
          "/usr/bin/prlimit", absl::StrCat("--memlock=", bytes, ":", bytes)};
}

class RegistrationTest : public SingleFilerTest {
 protected:
  RegistrationTest() : SingleFilerTest("vifiler-registration-test") {}
  std::unique_ptr<Client> Connect() {
    auto c = Client::Connect("filer-a", TestClientOptions(hosts_));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  // Writes data (which may be read-only memory) to path in one call, within a bound that is far
  // below the failover deadline, without a reconnect; then reads it back.
  void WriteAndCheck(Client* c, const std::string& path, absl::string_view data) {
    auto f = c->Create(path);
    ASSERT_TRUE(f.ok()) << f.status();
    const uint64_t reconnects = c->stats().reconnects;
    const absl::Time start = absl::Now();
    auto w = f->Write(0, data);
    ASSERT_TRUE(w.ok()) << path << ": " << w.status();
    EXPECT_EQ(*w, data.size());
    EXPECT_LT(absl::Now() - start, Scaled(absl::Seconds(2))) << path;
    EXPECT_EQ(c->stats().reconnects, reconnects) << path;
    std::string back(data.size(), '\0');
    auto r = f->Read(0, absl::MakeSpan(back));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, data.size());
    EXPECT_TRUE(back == data) << path << ": data read back differs";
  }
};

TEST_F(RegistrationTest, WritesFromReadOnlyMemory) {
  StartFiler();
  auto c = Connect();
  ASSERT_NE(c, nullptr);

  // A file mapped PROT_READ.
  const std::string data = Pattern((1u << 20) + 123, 5);
  const std::string source = dir_ + "/source";
  {
    int fd = open(source.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    close(fd);
  }
  int fd = open(source.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* file_map = mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  ASSERT_NE(file_map, MAP_FAILED);
  WriteAndCheck(c.get(), "/from-file-mapping",
                absl::string_view(static_cast<const char*>(file_map), data.size()));
  munmap(file_map, data.size());
  // Before Linux 6.2 the kernel pins every registration for writing (FOLL_FORCE for read-only
  // rights), which a read-only *shared* mapping refuses: that write went through a bounce
  // buffer. Private read-only memory registers for remote reads on any kernel.
  const uint64_t bounced = c->stats().bounced_transfers;
  EXPECT_LE(bounced, KernelAtLeast(6, 2) ? 0u : 1u);

  // Anonymous memory made read-only.
  const size_t kAnon = 256 * 1024;
  void* anon = mmap(nullptr, kAnon, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(anon, MAP_FAILED);
  memcpy(anon, data.data(), kAnon);
  ASSERT_EQ(mprotect(anon, kAnon, PROT_READ), 0);
  WriteAndCheck(c.get(), "/from-readonly-anon", absl::string_view(static_cast<char*>(anon), kAnon));
  munmap(anon, kAnon);

  // .rodata of this program.
  WriteAndCheck(c.get(), "/from-rodata",
                absl::string_view(kRodata.bytes.data(), kRodata.bytes.size()));
  EXPECT_EQ(c->stats().bounced_transfers, bounced) << "private read-only memory should register";
}

// A read into read-only memory is the application's error: reported, not a crash (the bounce
// buffer's copy-back does not fault) and not a link failure. On tcp the passive side copies
// into the memory itself, so this is an rdma case.
TEST_F(RegistrationTest, ReadIntoReadOnlyMemoryIsAnErrorNotACrash) {
  StartFiler();
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  const std::string data = Pattern(256 * 1024, 4);
  WriteAndCheck(c.get(), "/to-read", data);
  const size_t kSize = data.size();
  void* map = mmap(nullptr, kSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto f = c->Open("/to-read");
  ASSERT_TRUE(f.ok()) << f.status();
  const absl::Time start = absl::Now();
  auto r = f->Read(0, absl::MakeSpan(static_cast<char*>(map), kSize));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "not writable")) << r.status();
  EXPECT_LT(absl::Now() - start, Scaled(absl::Seconds(2)));
  munmap(map, kSize);
  EXPECT_EQ(c->stats().reconnects, 0u);
  std::string back(kSize, '\0');
  auto again = f->Read(0, absl::MakeSpan(back));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(back == data);
}

TEST_F(RegistrationTest, DirectReadsAreSentFromTheFileMapping) {
  StartFiler();
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  const std::string data = Pattern(1u << 20, 9);
  WriteAndCheck(c.get(), "/mapped", data);
  auto status = AdminStatus(fabric_.address_a);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ((*status)["direct_copied"], "0");
  if (fabric_.fabric == "tcp" || KernelAtLeast(6, 2)) {
    // Sent from the mapping: registered as a local source, it needs no write right.
    EXPECT_EQ((*status)["mapping_refusals"], "0");
    EXPECT_EQ((*status)["direct_reads_mapped"], "1");
  } else {
    // Linux before 6.2 pins a registration for writing whatever its rights: the read-only
    // mapping cannot be registered. The fallback is counted and said, once.
    EXPECT_EQ((*status)["mapping_refusals"], "1");
    EXPECT_EQ((*status)["direct_reads_mapped"], "0");
    EXPECT_TRUE(absl::StrContains(filer_->Log(), "refuses to register a read-only file mapping"));
  }
}

TEST_F(RegistrationTest, FilerUnderEightMiBMemlockServesThreeClients) {
  if (fabric_.fabric != "rdma") GTEST_SKIP() << "tcp pins no memory";
  StartFiler({}, UnderMemlock(8u << 20));
  EXPECT_TRUE(absl::StrContains(filer_->Log(), "memlock limit: RLIMIT_MEMLOCK 8 MiB"))
      << "no start-time memlock notice";
  EXPECT_TRUE(absl::StrContains(filer_->Log(), "raise the memlock limit"));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(Connect());
    ASSERT_NE(clients.back(), nullptr) << "client " << i;
  }
  const std::string data = Pattern(4u << 20, 3);
  for (size_t i = 0; i < clients.size(); ++i) {
    WriteAndCheck(clients[i].get(), absl::StrCat("/client-", i), data);
  }
  auto status = AdminStatus(fabric_.address_a);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_NE((*status)["direct_copied"], "0");
  EXPECT_NE((*status)["pinned_bytes"], "0");
  EXPECT_TRUE(absl::StrContains((*status)["memlock_limit"], "8 MiB"));
}

// A client whose memlock limit fits its connection but no direct buffer (nor a bounce buffer)
// moves its large reads and writes inline instead: `vifiler put` and `get` of 1 MiB work.
TEST_F(RegistrationTest, ClientWithRoomForItsConnectionOnlyMovesDataInline) {
  if (fabric_.fabric != "rdma") GTEST_SKIP() << "tcp pins no memory";
  StartFiler();
  const std::string data = Pattern(1u << 20, 8);
  const std::string input = dir_ + "/input", output = dir_ + "/output";
  {
    int fd = open(input.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    close(fd);
  }
  // The connection's message buffers take 2.4 MiB; 2.75 MiB leaves no room for 1 MiB more.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"put", input, "filer-a:/inline"},
        std::vector<std::string>{"get", "filer-a:/inline", output}}) {
    std::vector<std::string> argv = UnderMemlock(2816 * 1024);
    argv.insert(argv.end(),
                {BinaryPath("VIFILER"), "--hosts_file=" + hosts_, "--fabric=" + fabric_.fabric});
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out, err;
    const absl::Time start = absl::Now();
    absl::StatusOr<int> rc = RunCommand(argv, &out, &err, absl::Seconds(60));
    ASSERT_TRUE(rc.ok()) << rc.status();
    EXPECT_EQ(*rc, 0) << args[0] << ": " << out << err;
    EXPECT_LT(absl::Now() - start, Scaled(absl::Seconds(5))) << args[0];
  }
  std::ifstream in(output, std::ios::binary);
  const std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(back == data) << "got " << back.size() << " bytes back";
}

TEST_F(RegistrationTest, ClientUnderTinyMemlockFailsAtOnceSayingWhy) {
  if (fabric_.fabric != "rdma") GTEST_SKIP() << "tcp pins no memory";
  StartFiler();
  const std::string input = dir_ + "/input";
  {
    int fd = open(input.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "hello\n", 6), 6);
    close(fd);
  }
  std::vector<std::string> argv = UnderMemlock(64 * 1024);
  argv.insert(argv.end(), {BinaryPath("VIFILER"), "--hosts_file=" + hosts_,
                           "--fabric=" + fabric_.fabric, "put", input, "filer-a:/x"});
  std::string out, err;
  const absl::Time start = absl::Now();
  absl::StatusOr<int> rc = RunCommand(argv, &out, &err, absl::Seconds(60));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_NE(*rc, 0) << out << err;
  EXPECT_LT(took, absl::Seconds(10)) << err;  // the failover deadline is 30 s
  EXPECT_TRUE(absl::StrContains(err, "memlock")) << err;
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
