// Copyright 2026 The vifiler Authors.
//
// Operating a pair with the real tools: `vifilerctl status` (text and --json) as an operator
// reads it (both nodes, takeover possible or why not, the last takeover and giveback, who
// serves which volume, loud warnings), the log of a normal start (no warnings), and vifilerd
// refusing nonsense configurations at once, before it touches any storage.

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/pair_fixture.h"
#include "tests/integration/test_env.h"

namespace vifiler {
namespace testing {
namespace {

struct ToolRun {
  int exit_code = -1;
  std::string out, err;
};

ToolRun Vifilerctl(const std::string& hosts, std::vector<std::string> args) {
  std::vector<std::string> argv = {BinaryPath("VIFILERCTL"), "--hosts_file=" + hosts};
  argv.insert(argv.end(), args.begin(), args.end());
  ToolRun run;
  absl::StatusOr<int> rc = RunCommand(argv, &run.out, &run.err, absl::Seconds(60));
  EXPECT_TRUE(rc.ok()) << rc.status();
  if (rc.ok()) run.exit_code = *rc;
  return run;
}

// True when text is one well-formed JSON value (objects, arrays, strings, numbers, literals),
// with nothing but whitespace after it.
class JsonChecker {
 public:
  explicit JsonChecker(absl::string_view text) : s_(text) {}
  bool Valid() {
    if (!Value()) return false;
    Space();
    return i_ == s_.size();
  }

 private:
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  bool Literal(absl::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool String() {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    for (++i_; i_ < s_.size(); ++i_) {
      const unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c < 0x20) return false;
      if (c == '\\') {
        ++i_;
        if (i_ >= s_.size() || !absl::StrContains("\"\\/bfnrtu", s_[i_])) return false;
      } else if (c == '"') {
        ++i_;
        return true;
      }
    }
    return false;
  }
  bool Value() {
    Space();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '"') return String();
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      Space();
      if (i_ < s_.size() && s_[i_] == close) {
        ++i_;
        return true;
      }
      while (true) {
        if (c == '{') {
          Space();
          if (!String()) return false;
          Space();
          if (i_ >= s_.size() || s_[i_++] != ':') return false;
        }
        if (!Value()) return false;
        Space();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == close) {
          ++i_;
          return true;
        }
        if (s_[i_++] != ',') return false;
      }
    }
    if (Literal("true") || Literal("false") || Literal("null")) return true;
    const size_t start = i_;
    while (i_ < s_.size() && absl::StrContains("-+.eE0123456789", s_[i_])) ++i_;
    return i_ > start;
  }

  absl::string_view s_;
  size_t i_ = 0;
};

// The lines glog wrote at WARNING or above ("W1201 12:00:00.000000 ..." / "E...").
std::vector<std::string> AlarmingLines(const std::string& log) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (line.size() > 1 && (line[0] == 'W' || line[0] == 'E' || line[0] == 'F') && line[1] >= '0' &&
        line[1] <= '9') {
      lines.emplace_back(line);
    }
  }
  return lines;
}

using OperationsTest = PairFixture;

TEST_F(OperationsTest, NormalStartLogsNoWarnings) {
  for (FilerProcess* filer : {&pair_.a(), &pair_.b()}) {
    const std::vector<std::string> alarming = AlarmingLines(filer->Log());
    EXPECT_TRUE(alarming.empty()) << filer->name() << " logged on a normal start:\n"
                                  << absl::StrJoin(alarming, "\n");
  }
}

TEST_F(OperationsTest, StatusOfAHealthyPairShowsBothNodesAndWhoServesWhat) {
  ToolRun run = Vifilerctl(pair_.hosts(), {"status", "filer-a"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string& out = run.out;
  // The blocks scripts parse: keys kept.
  for (const char* line :
       {"  state=up\n", "  primary_port=open\n", "  secondary_port=closed\n",
        "  partner_state=up\n", "  interconnect=connected\n", "  takeover_possible=yes\n",
        "  partner_mailbox=fresh\n", "  clients=0\n"}) {
    EXPECT_TRUE(absl::StrContains(out, line)) << line << " missing:\n" << out;
  }
  for (const char* key : {"\n  epoch=", "\n  partner_mailbox_age_ms=", "\n  lease_ms_left=",
                          "\n  last_change=", "\nfiler-b: up ("}) {
    EXPECT_TRUE(absl::StrContains(out, key)) << key << " missing:\n" << out;
  }
  // The summary: both nodes, takeover possible, each volume served by its home filer.
  EXPECT_TRUE(absl::StrContains(out,
                                "\nnode filer-a: up, takeover of filer-b possible: yes, "
                                "clients: 0, interconnect: connected"))
      << out;
  EXPECT_TRUE(absl::StrContains(out,
                                "\nnode filer-b: up, takeover of filer-a possible: yes, "
                                "clients: 0, interconnect: connected"))
      << out;
  EXPECT_TRUE(
      absl::StrContains(out, absl::StrCat("\nvolume of filer-a (directory ", pair_.volume_a(),
                                          "): served by filer-a on its primary port")))
      << out;
  EXPECT_TRUE(
      absl::StrContains(out, absl::StrCat("\nvolume of filer-b (directory ", pair_.volume_b(),
                                          "): served by filer-b on its primary port")))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "\nlast takeover: none")) << out;
  EXPECT_FALSE(absl::StrContains(out, "WARNING")) << out;

  run = Vifilerctl(pair_.hosts(), {"status", "--json", "filer-a"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(JsonChecker(run.out).Valid()) << run.out;
  for (const std::string& piece :
       {std::string("{\"filer\": \"filer-a\", \"filers\": [{\"name\": \"filer-a\", "
                    "\"answered\": true, \"takeover_possible\": true, \"status\": {"),
        std::string("{\"name\": \"filer-b\", \"answered\": true, \"takeover_possible\": true"),
        std::string("\"state\": \"up\""), std::string("\"interconnect\": \"connected\""),
        absl::StrCat("{\"owner\": \"filer-a\", \"volume\": \"directory ", pair_.volume_a(),
                     "\", \"served_by\": \"filer-a\", \"port\": \"primary\""),
        std::string("\"last_takeover\": null"), std::string("\"warnings\": []}")}) {
    EXPECT_TRUE(absl::StrContains(run.out, piece)) << piece << " missing:\n" << run.out;
  }
}

TEST_F(OperationsTest, StatusAfterATakeoverAndAGiveback) {
  {
    // A client of filer-b is counted.
    auto client = client::Client::Connect("filer-b", TestClientOptions(pair_.hosts()));
    ASSERT_TRUE(client.ok()) << client.status();
    ToolRun run = Vifilerctl(pair_.hosts(), {"status", "filer-b"});
    EXPECT_TRUE(absl::StrContains(run.out,
                                  "\nnode filer-b: up, takeover of filer-a possible: "
                                  "yes, clients: 1,"))
        << run.out;
  }
  pair_.a().Kill();
  ASSERT_TRUE(WaitForStatus(B(), "state", "takeover", absl::Seconds(20)).ok()) << pair_.Logs();

  ToolRun run = Vifilerctl(pair_.hosts(), {"status", "filer-b"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string& out = run.out;
  EXPECT_TRUE(absl::StrContains(out, "\n  last_takeover_time=20")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\n  last_takeover_reason=partner ")) << out;
  EXPECT_TRUE(absl::StrContains(out,
                                "\nnode filer-b: takeover, takeover of filer-a possible: no "
                                "(already in takeover)"))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "\nnode filer-a: down (")) << out;
  EXPECT_TRUE(
      absl::StrContains(out, absl::StrCat("\nvolume of filer-a (directory ", pair_.volume_a(),
                                          "): served by filer-b on its secondary port")))
      << out;
  EXPECT_TRUE(
      absl::StrContains(out, absl::StrCat("\nvolume of filer-b (directory ", pair_.volume_b(),
                                          "): served by filer-b on its primary port")))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "\nlast takeover: by filer-b at 20")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nWARNING: filer-a does not answer")) << out;
  EXPECT_FALSE(absl::StrContains(out, "served by nobody")) << out;

  run = Vifilerctl(pair_.hosts(), {"--json", "status", "filer-b"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(JsonChecker(run.out).Valid()) << run.out;
  for (const std::string& piece :
       {std::string("{\"name\": \"filer-a\", \"answered\": false, \"error\": \"down ("),
        absl::StrCat("{\"owner\": \"filer-a\", \"volume\": \"directory ", pair_.volume_a(),
                     "\", \"served_by\": \"filer-b\", \"port\": \"secondary\""),
        std::string("\"last_takeover\": {\"by\": \"filer-b\", \"time\": \"20"),
        std::string("\"last_giveback\": null"),
        std::string("\"warnings\": [\"filer-a does not answer: down (")}) {
    EXPECT_TRUE(absl::StrContains(run.out, piece)) << piece << " missing:\n" << run.out;
  }

  // The filer asked does not answer: exit 1, still one JSON object on stdout, and its partner,
  // found under filer-a's failover name, says who serves filer-a's volume.
  run = Vifilerctl(pair_.hosts(), {"--json", "status", "filer-a"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(JsonChecker(run.out).Valid()) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "\"answered\": false")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "\"served_by\": \"filer-b\", \"port\": \"secondary\""))
      << run.out;
  run = Vifilerctl(pair_.hosts(), {"status", "filer-a"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.out, "filer-a: down (")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "\nfiler-b: takeover")) << run.out;
  EXPECT_TRUE(
      absl::StrContains(run.out, absl::StrCat("\nvolume of filer-a (directory ", pair_.volume_a(),
                                              "): served by filer-b on its secondary port")))
      << run.out;

  ASSERT_TRUE(pair_.Restart(pair_.a()).ok());
  ASSERT_TRUE(GiveBack().ok()) << pair_.Logs();
  run = Vifilerctl(pair_.hosts(), {"status", "filer-a"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "\nlast giveback: by filer-b at 20")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "\n  last_giveback_reason=")) << run.out;
  EXPECT_TRUE(
      absl::StrContains(run.out, absl::StrCat("\nvolume of filer-a (directory ", pair_.volume_a(),
                                              "): served by filer-a on its primary port")))
      << run.out;
}

TEST_F(OperationsTest, AVolumeServedByNobodyIsAWarning) {
  // Halted without takeover: filer-b does not take filer-a's volume over.
  ToolRun run = Vifilerctl(pair_.hosts(), {"halt", "filer-a"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(pair_.a().process()->Wait(absl::Seconds(20)).ok()) << pair_.Logs();
  run = Vifilerctl(pair_.hosts(), {"status", "filer-b"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, absl::StrCat("\nvolume of filer-a (directory ",
                                                      pair_.volume_a(), "): served by NOBODY\n")))
      << run.out;
  EXPECT_TRUE(absl::StrContains(
      run.out, absl::StrCat("\nWARNING: volume of filer-a (directory ", pair_.volume_a(),
                            ") is served by nobody: filer-a is down")))
      << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "\n  takeover_impossible_because=")) << run.out;
  // A halt the administrator asked for is no alarm in the partner's log.
  const std::vector<std::string> alarming = AlarmingLines(pair_.b().Log());
  EXPECT_TRUE(alarming.empty()) << "filer-b logged:\n" << absl::StrJoin(alarming, "\n");

  run = Vifilerctl(pair_.hosts(), {"status", "--json", "filer-b"});
  EXPECT_TRUE(JsonChecker(run.out).Valid()) << run.out;
  EXPECT_TRUE(
      absl::StrContains(run.out, absl::StrCat("{\"owner\": \"filer-a\", \"volume\": \"directory ",
                                              pair_.volume_a(), "\", \"served_by\": null")))
      << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "\"volume of filer-a (")) << run.out;
}

// ---- configurations vifilerd refuses

class ConfigurationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fabric_ = GetTestFabric();
    dir_ = MakeScratchDir("vifiler-config");
    volume_a_ = dir_ + "/volume-a";
    volume_b_ = dir_ + "/volume-b";
    ASSERT_EQ(mkdir(volume_a_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(volume_b_.c_str(), 0755), 0);
    hosts_ = WritePairHostsFile(dir_, fabric_);
  }
  void TearDown() override { RemoveTree(dir_); }

  // Runs vifilerd as filer-a with flags after the usual ones; expects it to exit 1 within a
  // few seconds with one line on stderr that contains `message`, and both volumes untouched.
  void ExpectRefused(const std::vector<std::string>& flags, const std::string& message) {
    std::vector<std::string> argv = {BinaryPath("VIFILERD"), "--address=" + fabric_.address_a,
                                     "--fabric=" + fabric_.fabric};
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::string out, err;
    const absl::Time start = absl::Now();
    absl::StatusOr<int> rc = RunCommand(argv, &out, &err, absl::Seconds(30));
    ASSERT_TRUE(rc.ok()) << rc.status() << "\n" << absl::StrJoin(argv, " ");
    const absl::Duration took = absl::Now() - start;
    EXPECT_EQ(*rc, 1) << err;
    EXPECT_LT(took, Scaled(absl::Seconds(3))) << "refusing took " << took;
    EXPECT_TRUE(absl::StartsWith(err, "vifilerd: ")) << err;
    EXPECT_TRUE(absl::StrContains(err, message)) << "expected \"" << message << "\" in: " << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    for (const std::string& volume : {volume_a_, volume_b_}) {
      EXPECT_TRUE(Empty(volume)) << volume << " was touched";
    }
  }

  static bool Empty(const std::string& directory) {
    DIR* d = opendir(directory.c_str());
    if (d == nullptr) return false;
    int entries = 0;
    while (dirent* e = readdir(d)) {
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++entries;
    }
    closedir(d);
    return entries == 0;
  }

  TestFabric fabric_;
  std::string dir_, volume_a_, volume_b_, hosts_;
};

TEST_F(ConfigurationTest, PartnerVolumeIsTheOwnVolume) {
  ExpectRefused({"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
                 "--partner_volume=" + volume_a_, "--hosts_file=" + hosts_},
                "is the same volume as --volume");
  // The same directory under another path: a trailing "/." and a symbolic link.
  ExpectRefused({"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
                 "--partner_volume=" + volume_a_ + "/.", "--hosts_file=" + hosts_},
                "is the same volume as --volume");
  const std::string link = dir_ + "/link-to-a";
  ASSERT_EQ(symlink(volume_a_.c_str(), link.c_str()), 0);
  ExpectRefused({"--name=filer-a", "--volume=" + link, "--partner=filer-b",
                 "--partner_volume=" + volume_a_, "--hosts_file=" + hosts_},
                "is the same volume as --volume");
}

TEST_F(ConfigurationTest, HostsFileMissing) {
  ExpectRefused({"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
                 "--partner_volume=" + volume_b_, "--hosts_file=" + dir_ + "/no-such-hosts"},
                "--hosts_file=" + dir_ + "/no-such-hosts: cannot read it");
}

TEST_F(ConfigurationTest, NameNotInHostsFile) {
  ExpectRefused({"--name=filer-x", "--volume=" + volume_a_, "--partner=filer-b",
                 "--partner_volume=" + volume_b_, "--hosts_file=" + hosts_},
                "--name=filer-x is not in --hosts_file=" + hosts_);
}

TEST_F(ConfigurationTest, PartnerIsItself) {
  ExpectRefused({"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-a",
                 "--partner_volume=" + volume_b_, "--hosts_file=" + hosts_},
                "--partner=filer-a is this filer's own --name");
}

TEST_F(ConfigurationTest, PairedWithoutKey) {
  ExpectRefused({"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
                 "--partner_volume=" + volume_b_, "--hosts_file=" + hosts_},
                "--partner needs --pair_key_file=FILE");
  const std::string key = WritePairKeyFile(dir_);
  ExpectRefused({"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
                 "--partner_volume=" + volume_b_, "--hosts_file=" + hosts_,
                 "--pair_key_file=" + key, "--interconnect_trusted"},
                "--pair_key_file and --interconnect_trusted exclude each other");
}

TEST_F(ConfigurationTest, PairKeyFileMissing) {
  ExpectRefused({"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
                 "--partner_volume=" + volume_b_, "--hosts_file=" + hosts_,
                 "--pair_key_file=" + dir_ + "/no-such-key"},
                "pair key file " + dir_ + "/no-such-key: cannot open it");
}

TEST_F(ConfigurationTest, PairKeyFileTooOpen) {
  const std::string key = WritePairKeyFile(dir_);
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  ExpectRefused(
      {"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
       "--partner_volume=" + volume_b_, "--hosts_file=" + hosts_, "--pair_key_file=" + key},
      "pair key file " + key + ": group or others may access it (mode 0644)");
  ExpectRefused(
      {"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
       "--partner_volume=" + volume_b_, "--hosts_file=" + hosts_, "--pair_key_file=" + dir_},
      "pair key file " + dir_ + ": not a regular file");
}

TEST_F(ConfigurationTest, PairKeyTooShort) {
  const std::string key = dir_ + "/short.key";
  {
    std::ofstream out(key);
    out << "0123456789abcdef0123456789abcdef\n";  // 32 hex digits: 16 bytes
  }
  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
  ExpectRefused(
      {"--name=filer-a", "--volume=" + volume_a_, "--partner=filer-b",
       "--partner_volume=" + volume_b_, "--hosts_file=" + hosts_, "--pair_key_file=" + key},
      "pair key file " + key + ": the key is 32 hex digits; at least 64 are needed");
}

TEST_F(ConfigurationTest, MissingRequiredFlags) {
  ExpectRefused({"--volume=" + volume_a_}, "--name, --volume and --address are required");
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
