// Copyright 2026 The vifiler Authors.
//
// End-to-end tests of one filer: a real vifilerd process on loopback (tcp) or on the rxe
// address (rdma), driven through the client library, the raw protocol and the CLI.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "tests/integration/raw_session.h"
#include "tests/integration/single_filer_test.h"
#include "tests/integration/test_env.h"
#include "tools/run_command.h"
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

class FilerTest : public SingleFilerTest {
 protected:
  FilerTest() : SingleFilerTest("vifiler-filer-test") {}
  void SetUp() override {
    SingleFilerTest::SetUp();
    if (HasFatalFailure()) return;
    StartFiler();
  }

  std::unique_ptr<Client> Connect() {
    client::ClientOptions o = TestClientOptions(hosts_);
    o.failover = false;
    auto c = Client::Connect("filer-a", o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
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

// ---- the vifiler command line (issue 7)

class CliTest : public FilerTest {
 protected:
  void SetUp() override {
    // Times are shown in local time: pin it for the children.
    setenv("TZ", "UTC", 1);
    FilerTest::SetUp();
  }
  // Runs `vifiler` against the test filer with args after its flags, standard input from
  // stdin_path when not empty, output into out_ and err_. Returns the exit code, -1 when it
  // could not run.
  int Cli(const std::vector<std::string>& args, const std::string& stdin_path = "") {
    out_.clear();
    err_.clear();
    std::vector<std::string> argv;
    if (!stdin_path.empty()) argv = {"/bin/sh", "-c", "exec \"$@\" <\"$0\"", stdin_path};
    argv.insert(argv.end(), {BinaryPath("VIFILER"), "--hosts_file=" + hosts_,
                             "--fabric=" + fabric_.fabric, "--noenable_failover"});
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<int> rc = RunCommand(argv, &out_, &err_, absl::Seconds(60));
    return rc.ok() ? *rc : -1;
  }
  // Sets the mtime of path to 2026-12-02 01:23:45 UTC.
  void SetKnownMtime(Client* c, const std::string& path) {
    absl::StatusOr<protocol::FileHandle> h = c->Resolve(path);
    ASSERT_TRUE(h.ok()) << h.status();
    protocol::SetAttrRequest r;
    r.handle = *h;
    r.mask = protocol::kSetMtime;
    r.mtime_ns = absl::ToUnixNanos(
        absl::FromCivil(absl::CivilSecond(2026, 12, 2, 1, 23, 45), absl::UTCTimeZone()));
    ASSERT_TRUE(c->SetAttr(r).ok());
  }
  std::string out_, err_;
};

std::string ReadAll(Client* c, const std::string& path) {
  auto f = c->Open(path);
  if (!f.ok()) return "<" + f.status().ToString() + ">";
  auto attr = f->Stat();
  if (!attr.ok()) return "<" + attr.status().ToString() + ">";
  std::string data(attr->size, '\0');
  auto n = f->Read(0, absl::MakeSpan(data));
  if (!n.ok()) return "<" + n.status().ToString() + ">";
  data.resize(*n);
  return data;
}

// `put - FILER:/path` takes standard input; `get FILER:/path -` writes the bytes, and only
// them, to standard output. Binary data larger than one transfer chunk (4 MiB).
TEST_F(CliTest, PutFromStdinAndGetToStdout) {
  std::string data = Pattern((5u << 20) + 4099, 11);
  data[0] = '\0';
  data[1] = '\n';
  data[2] = '\r';
  data.back() = '\xff';
  const std::string local = dir_ + "/in.bin";
  {
    std::ofstream f(local, std::ios::binary);
    f.write(data.data(), data.size());
  }
  ASSERT_EQ(Cli({"put", "-", "filer-a:/from-stdin"}, local), 0) << err_;
  EXPECT_EQ(out_, "");
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(ReadAll(c.get(), "/from-stdin") == data) << "put - stored other bytes";

  ASSERT_EQ(Cli({"get", "filer-a:/from-stdin", "-"}), 0) << err_;
  EXPECT_EQ(out_.size(), data.size());
  EXPECT_TRUE(out_ == data) << "get - wrote other bytes";
  EXPECT_EQ(err_, "");
  EXPECT_NE(access((dir_ + "/-").c_str(), F_OK), 0) << "get - made a file named -";

  // Empty standard input: an empty file.
  ASSERT_EQ(Cli({"put", "-", "filer-a:/empty"}, "/dev/null"), 0) << err_;
  auto attr = c->Stat("/empty");
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->size, 0u);
  ASSERT_EQ(Cli({"get", "filer-a:/empty", "-"}), 0) << err_;
  EXPECT_EQ(out_, "");
}

// `mv FILER:/a FILER:/b` renames on the filer (so does the older `mv FILER:/a /b`); a target on
// another filer is refused before connecting, with the reason, and nothing moves.
TEST_F(CliTest, MoveRenamesOnTheFilerAndNotAcrossFilers) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  auto f = c->Create("/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write(0, "moved").ok());
  ASSERT_TRUE(c->Mkdir("/dir").ok());

  ASSERT_EQ(Cli({"mv", "filer-a:/a", "filer-a:/dir/b"}), 0) << err_;
  EXPECT_EQ(client::ErrorCodeOf(c->Stat("/a").status()), ErrorCode::kNoEntry);
  EXPECT_EQ(ReadAll(c.get(), "/dir/b"), "moved");
  ASSERT_EQ(Cli({"mv", "filer-a:/dir/b", "/c"}), 0) << err_;
  EXPECT_EQ(ReadAll(c.get(), "/c"), "moved");

  EXPECT_EQ(Cli({"mv", "filer-a:/c", "filer-b:/c"}), 1);
  EXPECT_NE(err_.find("filer-b"), std::string::npos) << err_;
  EXPECT_NE(err_.find("one filer"), std::string::npos) << err_;
  EXPECT_EQ(std::count(err_.begin(), err_.end(), '\n'), 1) << err_;
  EXPECT_EQ(ReadAll(c.get(), "/c"), "moved");

  // A missing source: the filer's error, as one line.
  EXPECT_EQ(Cli({"mv", "filer-a:/nope", "filer-a:/other"}), 1);
  EXPECT_NE(err_.find("NOT_FOUND"), std::string::npos) << err_;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  std::sort(lines.begin(), lines.end());
  return lines;
}

// `ls -l`: type, size, mtime in local time, name; plain `ls` as before.
TEST_F(CliTest, LongListingShowsTypeSizeLocalMtimeAndName) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Mkdir("/d").ok());
  ASSERT_TRUE(c->Mkdir("/d/sub").ok());
  auto f = c->Create("/d/hello.txt");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write(0, "hello, world").ok());
  SetKnownMtime(c.get(), "/d/hello.txt");
  SetKnownMtime(c.get(), "/d/sub");

  ASSERT_EQ(Cli({"ls", "filer-a:/d"}), 0) << err_;
  EXPECT_EQ(Lines(out_), (std::vector<std::string>{"hello.txt", "sub/"}));

  ASSERT_EQ(Cli({"ls", "-l", "filer-a:/d"}), 0) << err_;
  std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 2u) << out_;
  auto sub = c->Stat("/d/sub");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(lines[0], absl::StrFormat("dir     %12u 2026-12-02 01:23:45 sub", sub->size));
  EXPECT_EQ(lines[1], "file              12 2026-12-02 01:23:45 hello.txt");

  // Another local time zone shows the same instant in it (when the host has its tzdata).
  if (access("/usr/share/zoneinfo/Asia/Tokyo", R_OK) == 0) {
    setenv("TZ", "Asia/Tokyo", 1);
    ASSERT_EQ(Cli({"ls", "-l", "filer-a:/d"}), 0) << err_;
    setenv("TZ", "UTC", 1);
    EXPECT_NE(out_.find("file              12 2026-12-02 10:23:45 hello.txt"), std::string::npos)
        << out_;
  }

  // -l belongs to ls.
  EXPECT_EQ(Cli({"stat", "-l", "filer-a:/d"}), 1);
  EXPECT_NE(err_.find("-l applies to ls only"), std::string::npos) << err_;
}

// `stat` shows times readably in local time, not as nanoseconds.
TEST_F(CliTest, StatShowsReadableTimes) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  auto f = c->Create("/s", 0640);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write(0, "0123456789").ok());
  SetKnownMtime(c.get(), "/s");
  auto attr = c->Stat("/s");
  ASSERT_TRUE(attr.ok());

  ASSERT_EQ(Cli({"stat", "filer-a:/s"}), 0) << err_;
  EXPECT_NE(out_.find("type: file\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("size: 10\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("mode: 0640\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find(absl::StrCat("file_id: ", attr->file_id, "\n")), std::string::npos) << out_;
  EXPECT_NE(out_.find("mtime: 2026-12-02 01:23:45\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("ctime: 20"), std::string::npos) << out_;
  EXPECT_NE(out_.find("atime: 20"), std::string::npos) << out_;
  EXPECT_EQ(out_.find("_ns"), std::string::npos) << out_;
  EXPECT_EQ(out_.find(std::to_string(attr->mtime_ns)), std::string::npos) << out_;
}

// Errors are one line "vifiler: CODE: message": no payload type URLs, nothing on stdout.
TEST_F(CliTest, ErrorsAreOneLineWithoutStatusPayloads) {
  const std::vector<std::vector<std::string>> failing = {
      {"stat", "filer-a:/nope"},
      {"ls", "filer-a:/nope"},
      {"ls", "-l", "filer-a:/nope"},
      {"cat", "filer-a:/nope"},
      {"get", "filer-a:/nope", "-"},
      {"rm", "filer-a:/nope"},
      {"put", "/dev/null", "filer-a:/nodir/x"},
  };
  for (const std::vector<std::string>& args : failing) {
    const std::string what = absl::StrJoin(args, " ");
    EXPECT_EQ(Cli(args), 1) << what;
    EXPECT_EQ(out_, "") << what;
    EXPECT_TRUE(absl::StartsWith(err_, "vifiler: NOT_FOUND: /no")) << what << ": " << err_;
    EXPECT_EQ(std::count(err_.begin(), err_.end(), '\n'), 1) << what << ": " << err_;
    EXPECT_EQ(err_.find("type."), std::string::npos) << what << ": " << err_;
    EXPECT_EQ(err_.find('['), std::string::npos) << what << ": " << err_;
  }
  // Other errors of the path calls name the path too.
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Mkdir("/full").ok());
  ASSERT_TRUE(c->Create("/full/file").ok());
  const std::vector<std::pair<std::vector<std::string>, std::string>> named = {
      {{"ls", "filer-a:/full/file"}, "vifiler: FAILED_PRECONDITION: /full/file: "},
      {{"rm", "filer-a:/full"}, "vifiler: FAILED_PRECONDITION: /full: "},
      {{"mkdir", "filer-a:/full"}, "vifiler: ALREADY_EXISTS: /full: "},
      {{"mv", "filer-a:/full", "filer-a:/full/file/x"},
       "vifiler: FAILED_PRECONDITION: /full to /full/file/x: "},
  };
  for (const auto& [args, prefix] : named) {
    EXPECT_EQ(Cli(args), 1) << absl::StrJoin(args, " ");
    EXPECT_TRUE(absl::StartsWith(err_, prefix)) << absl::StrJoin(args, " ") << ": " << err_;
    EXPECT_EQ(std::count(err_.begin(), err_.end(), '\n'), 1) << err_;
  }
  // The usage shows the new forms.
  ASSERT_EQ(Cli({"--help"}), 0);
  for (const char* form : {"put LOCAL FILER:/path", "-: standard input", "-: standard output",
                           "ls -l FILER:/dir", "mv FILER:/from FILER:/to"}) {
    EXPECT_NE(out_.find(form), std::string::npos) << form << " not in:\n" << out_;
  }
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
    auto region =
        raw4.connection()->RegisterMemory(sink.data(), sink.size(), transport::Access::kRemoteAny);
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
