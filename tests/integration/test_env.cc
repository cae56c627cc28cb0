// Copyright 2026 The vifiler Authors.

#include "tests/integration/test_env.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "transport/fabric.h"

namespace vifiler {
namespace testing {

namespace {
std::string Env(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}
}  // namespace

TestFabric GetTestFabric() {
  TestFabric f;
  f.fabric = Env("VIFILER_TEST_FABRIC", "tcp");
  if (f.fabric == "rdma") {
    f.address_a = Env("VIFILER_RDMA_ADDR", "");
    f.address_b = Env("VIFILER_RDMA_ADDR2", "");
  } else {
    // Loopback addresses of this test process's own (127.X.Y.0/24, from its pid), so that test
    // runs in other build directories at the same time never reach each other's filers.
    const int pid = static_cast<int>(getpid());
    const std::string net = absl::StrCat("127.", 1 + pid % 250, ".", (pid / 250) % 250, ".");
    f.address_a = Env("VIFILER_TCP_ADDR", (net + "2").c_str());
    f.address_b = Env("VIFILER_TCP_ADDR2", (net + "3").c_str());
  }
  return f;
}

std::string BinaryPath(const char* env_name) { return Env(env_name, ""); }

double TimeScale() {
  double scale = 1;
  if (!absl::SimpleAtod(Env("VIFILER_TEST_TIME_SCALE", "1"), &scale) || scale < 1) scale = 1;
  return scale;
}

absl::Duration Scaled(absl::Duration bound) { return bound * TimeScale(); }

absl::Duration TestLease() {
  int64_t ms = 600;
  if (!absl::SimpleAtoi(Env("VIFILER_TEST_LEASE_MS", "600"), &ms) || ms <= 0) ms = 600;
  return absl::Milliseconds(ms);
}

std::string MakeScratchDir(const std::string& prefix) {
  std::string tmpl = absl::StrCat(Env("TMPDIR", "/tmp"), "/", prefix, "-XXXXXX");
  char* made = mkdtemp(tmpl.data());
  return made != nullptr ? std::string(made) : std::string();
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string WriteHostsFile(const std::string& dir,
                           const std::map<std::string, std::string>& hosts) {
  std::string path = dir + "/hosts";
  std::ofstream out(path);
  for (const auto& [name, address] : hosts) out << address << " " << name << "\n";
  return path;
}

std::string WritePairHostsFile(const std::string& dir, const TestFabric& fabric) {
  return WriteHostsFile(dir, {{"filer-a", fabric.address_a},
                              {"filer-b", fabric.address_b},
                              {"filer-a-failover", fabric.address_b},
                              {"filer-b-failover", fabric.address_a}});
}

FilerProcess::FilerProcess(std::string name, std::string volume, std::string address,
                           std::string hosts_file, std::string log_path,
                           std::vector<std::string> extra_flags)
    : name_(std::move(name)),
      volume_(std::move(volume)),
      address_(std::move(address)),
      hosts_file_(std::move(hosts_file)),
      log_path_(std::move(log_path)),
      extra_flags_(std::move(extra_flags)) {}

std::vector<std::string> FilerProcess::Argv() const {
  std::vector<std::string> argv = wrapper_;
  argv.insert(argv.end(), {BinaryPath("VIFILERD"), "--name=" + name_, "--volume=" + volume_,
                           "--address=" + address_, "--fabric=" + GetTestFabric().fabric,
                           "--hosts_file=" + hosts_file_});
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  if (std::none_of(extra_flags_.begin(), extra_flags_.end(),
                   [](const std::string& f) { return f.rfind("--lease_ms=", 0) == 0; })) {
    argv.push_back(absl::StrCat("--lease_ms=", absl::ToInt64Milliseconds(TestLease())));
  }
  return argv;
}

absl::Status FilerProcess::StartNoWait() {
  absl::StatusOr<std::unique_ptr<tools::ChildProcess>> child =
      tools::ChildProcess::Start(Argv(), log_path_);
  if (!child.ok()) return child.status();
  process_ = std::move(*child);
  return absl::OkStatus();
}

absl::Status FilerProcess::Start(absl::Duration ready_timeout) {
  absl::Status s = StartNoWait();
  if (!s.ok()) return s;
  return WaitServing(ready_timeout);
}

absl::Status FilerProcess::WaitServing(absl::Duration timeout) {
  uint16_t discriminator = 7300;
  for (const std::string& f : extra_flags_) {
    const std::string key = "--primary_discriminator=";
    if (f.rfind(key, 0) == 0)
      discriminator = static_cast<uint16_t>(std::stoi(f.substr(key.size())));
  }
  absl::Status s = WaitForFiler(name_, hosts_file_, discriminator, timeout);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(s.message(), "\nfiler log:\n", Log()));
  return s;
}

void FilerProcess::Kill() {
  if (process_ != nullptr) process_->Kill();
}

int FilerProcess::Stop() {
  if (process_ == nullptr) return 0;
  process_->Stop(absl::Seconds(5));
  return process_->wait_status();
}

std::string FilerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

client::ClientOptions TestClientOptions(const std::string& hosts_file) {
  client::ClientOptions o;
  o.fabric = GetTestFabric().fabric;
  o.hosts_file = hosts_file;
  o.request_timeout = absl::Seconds(3);
  o.failover_deadline = absl::Seconds(20);
  o.connect_timeout = absl::Seconds(1);
  return o;
}

absl::Status WaitForFiler(const std::string& name, const std::string& hosts_file,
                          uint16_t discriminator, absl::Duration timeout) {
  client::ClientOptions o = TestClientOptions(hosts_file);
  o.failover = false;
  o.primary_discriminator = discriminator;
  o.failover_deadline = timeout;
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(name, o);
  return c.status();
}

absl::StatusOr<std::string> AdminCommand(const std::string& address, const std::string& command) {
  static transport::Fabric* tcp = transport::CreateFabric("tcp")->release();
  transport::PeerIdentity id;
  id.identity = "test-admin";
  id.purpose = transport::kPurposeAdmin;
  auto c = tcp->Connect({address, 7303}, id, absl::Now() + absl::Seconds(2));
  if (!c.ok()) return c.status();
  absl::Status s =
      (*c)->Send(absl::StrCat("VIFILER-ADMIN 1\n", command, "\n"), absl::Now() + absl::Seconds(2));
  if (!s.ok()) return s;
  return (*c)->Receive(absl::Now() + absl::Seconds(15));
}

absl::StatusOr<std::map<std::string, std::string>> AdminStatus(const std::string& address) {
  absl::StatusOr<std::string> reply = AdminCommand(address, "status");
  if (!reply.ok()) return reply.status();
  if (reply->rfind("OK\n", 0) != 0) return absl::InternalError(*reply);
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(reply->substr(3), '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

absl::StatusOr<absl::Duration> WaitForStatus(const std::string& address, const std::string& key,
                                             const std::string& value, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  std::string last = "(no answer)";
  while (absl::Now() - start < timeout) {
    auto status = AdminStatus(address);
    if (status.ok()) {
      last = (*status)[key];
      if (last == value) return absl::Now() - start;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(address, ": ", key, " is '", last, "', not '", value, "'"));
}

std::string WritePairKeyFile(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  std::random_device random;
  std::string hex;
  for (int i = 0; i < 8; ++i) hex += absl::StrCat(absl::Hex(random(), absl::kZeroPad8));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    hex += "\n";
    const bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
    ::fchmod(fd, 0600);
    ::close(fd);
    if (written) return path;
  }
  fprintf(stderr, "cannot write the pair key file %s\n", path.c_str());
  abort();
}

FilerPair::FilerPair(std::vector<std::string> extra_flags, std::vector<std::string> a_flags)
    : fabric_(GetTestFabric()) {
  dir_ = MakeScratchDir("vifiler-pair");
  volume_a_ = dir_ + "/volume-a";
  volume_b_ = dir_ + "/volume-b";
  mkdir(volume_a_.c_str(), 0755);
  mkdir(volume_b_.c_str(), 0755);
  hosts_ = WritePairHostsFile(dir_, fabric_);
  key_ = WritePairKeyFile(dir_);
  std::vector<std::string> flags_a = {"--partner=filer-b", "--partner_volume=" + volume_b_,
                                      "--pair_key_file=" + key_};
  std::vector<std::string> flags_b = {"--partner=filer-a", "--partner_volume=" + volume_a_,
                                      "--pair_key_file=" + key_};
  flags_a.insert(flags_a.end(), extra_flags.begin(), extra_flags.end());
  flags_b.insert(flags_b.end(), extra_flags.begin(), extra_flags.end());
  flags_a.insert(flags_a.end(), a_flags.begin(), a_flags.end());
  a_ = std::make_unique<FilerProcess>("filer-a", volume_a_, fabric_.address_a, hosts_,
                                      dir_ + "/filer-a.log", flags_a);
  b_ = std::make_unique<FilerProcess>("filer-b", volume_b_, fabric_.address_b, hosts_,
                                      dir_ + "/filer-b.log", flags_b);
}

FilerPair::~FilerPair() {
  a_->Kill();
  b_->Kill();
  RemoveTree(dir_);
}

absl::Status FilerPair::Start() {
  absl::Status s = a_->StartNoWait();
  if (s.ok()) s = b_->StartNoWait();
  if (s.ok()) s = a_->WaitServing(absl::Seconds(20));
  if (s.ok()) s = b_->WaitServing(absl::Seconds(20));
  if (s.ok()) {
    // Both see each other on the interconnect before the test starts.
    auto ws = WaitForStatus(fabric_.address_a, "partner_state", "up", absl::Seconds(20));
    if (ws.ok()) ws = WaitForStatus(fabric_.address_b, "partner_state", "up", absl::Seconds(20));
    s = ws.status();
  }
  return s;
}

absl::Status FilerPair::Restart(FilerProcess& filer) {
  filer.Kill();
  return filer.StartNoWait();
}

std::string FilerPair::Logs() const {
  return absl::StrCat("---- filer-a log:\n", a_->Log(), "---- filer-b log:\n", b_->Log());
}

}  // namespace testing
}  // namespace vifiler
