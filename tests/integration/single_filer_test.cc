// Copyright 2026 The vifiler Authors.

#include "tests/integration/single_filer_test.h"

#include <sys/stat.h>

#include <cstdio>
#include <utility>

#include "absl/time/time.h"

namespace vifiler {
namespace testing {

void SingleFilerTest::SetUp() {
  fabric_ = GetTestFabric();
  ASSERT_FALSE(fabric_.address_a.empty()) << "no address for fabric " << fabric_.fabric;
  dir_ = MakeScratchDir(scratch_prefix_);
  ASSERT_FALSE(dir_.empty());
  volume_ = dir_ + "/volume-a";
  ASSERT_EQ(mkdir(volume_.c_str(), 0755), 0);
  hosts_ = WritePairHostsFile(dir_, fabric_);
}

void SingleFilerTest::TearDown() {
  if (filer_ != nullptr) filer_->Stop();
  if (HasFailure() && filer_ != nullptr) PrintFilerLog();
  if (!dir_.empty()) RemoveTree(dir_);
}

void SingleFilerTest::PrintFilerLog() {
  fprintf(stderr, "filer log:\n%s\n", filer_->Log().c_str());
}

void SingleFilerTest::MakeFiler(std::vector<std::string> flags, std::vector<std::string> wrapper) {
  if (filer_ != nullptr) filer_->Stop();
  filer_ = std::make_unique<FilerProcess>("filer-a", volume_, fabric_.address_a, hosts_,
                                          dir_ + "/filer-a.log", std::move(flags));
  filer_->set_wrapper(std::move(wrapper));
}

void SingleFilerTest::StartFiler(std::vector<std::string> flags, std::vector<std::string> wrapper) {
  MakeFiler(std::move(flags), std::move(wrapper));
  ASSERT_TRUE(filer_->Start().ok()) << filer_->Log();
}

void SingleFilerTest::StartFilerUntilUp(std::vector<std::string> flags) {
  MakeFiler(std::move(flags), {});
  ASSERT_TRUE(filer_->StartNoWait().ok());
  ASSERT_TRUE(WaitForStatus(fabric_.address_a, "state", "up", Scaled(absl::Seconds(20))).ok())
      << filer_->Log();
}

}  // namespace testing
}  // namespace vifiler
