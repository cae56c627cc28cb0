// Copyright 2026 The vifiler Authors.
//
// Smoke test of vifiler-load: a few seconds against one filer (no partner, no failover) must
// exit 0 with a summary showing acknowledged requests and no twice/error/lost; --json prints
// the same as one JSON object.

#include <sys/stat.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/test_env.h"
#include "tools/load/load_summary.h"

namespace vifiler {
namespace testing {
namespace {

class LoadSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fabric_ = GetTestFabric();
    load_ = BinaryPath("VIFILER_LOAD");
    ASSERT_FALSE(load_.empty()) << "VIFILER_LOAD is not set";
    dir_ = MakeScratchDir("vifiler-load-smoke");
    ASSERT_FALSE(dir_.empty());
    const std::string volume = dir_ + "/volume-a";
    ASSERT_EQ(mkdir(volume.c_str(), 0755), 0);
    hosts_ = WritePairHostsFile(dir_, fabric_);
    filer_ = std::make_unique<FilerProcess>("filer-a", volume, fabric_.address_a, hosts_,
                                            dir_ + "/filer-a.log");
    ASSERT_TRUE(filer_->Start().ok()) << filer_->Log();
  }
  void TearDown() override {
    if (filer_ != nullptr) filer_->Stop();
    if (HasFailure() && filer_ != nullptr)
      fprintf(stderr, "filer log:\n%s\n", filer_->Log().c_str());
    RemoveTree(dir_);
  }

  // Runs vifiler-load for `duration` with extra flags; returns its exit code.
  int RunLoad(const std::string& duration, const std::string& extra, std::string* out,
              std::string* err) {
    std::vector<std::string> argv = {load_,
                                     "--server=filer-a",
                                     "--hosts_file=" + hosts_,
                                     "--fabric=" + fabric_.fabric,
                                     "--enable_failover=false",
                                     "--threads=2",
                                     "--failover_deadline_ms=5000",
                                     "--verify_timeout_s=5",
                                     "--duration=" + duration};
    if (!extra.empty()) argv.push_back(extra);
    absl::StatusOr<int> code = RunCommand(argv, out, err, absl::Seconds(25));
    EXPECT_TRUE(code.ok()) << code.status();
    return code.ok() ? *code : -1;
  }

  TestFabric fabric_;
  std::string load_, dir_, hosts_;
  std::unique_ptr<FilerProcess> filer_;
};

TEST_F(LoadSmokeTest, ShortRunPassesWithASummary) {
  std::string out, err;
  EXPECT_EQ(RunLoad("3s", "", &out, &err), 0) << out << err;
  absl::StatusOr<load::LoadSummary> summary = load::FindSummary(out);
  ASSERT_TRUE(summary.ok()) << summary.status() << "\n" << out << err;
  EXPECT_GT(summary->acked, 0u) << out;
  EXPECT_GT(summary->cycles, 0u) << out;
  EXPECT_EQ(summary->twice, 0u) << out << err;
  EXPECT_EQ(summary->errors, 0u) << out << err;
  EXPECT_EQ(summary->lost, 0u) << out << err;
  EXPECT_TRUE(summary->verified) << out << err;
  EXPECT_TRUE(absl::StrContains(out, "result=PASS")) << out;
  EXPECT_TRUE(absl::StrContains(out, load::kReadyPrefix)) << out;
}

TEST_F(LoadSmokeTest, JsonSummary) {
  std::string out, err;
  EXPECT_EQ(RunLoad("1s", "--json", &out, &err), 0) << out << err;
  const size_t begin = out.find("{\"tool\":\"vifiler-load\"");
  ASSERT_NE(begin, std::string::npos) << out;
  const std::string json = out.substr(begin);
  EXPECT_TRUE(absl::StrContains(json, "\"twice\":0,\"errors\":0,\"lost\":0")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"verified\":true")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"result\":\"PASS\"")) << json;
  EXPECT_FALSE(absl::StrContains(json, "\"acked\":0,")) << json;
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
