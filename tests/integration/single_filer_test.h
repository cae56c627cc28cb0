// Copyright 2026 The vifiler Authors.
//
// SingleFilerTest: the fixture of the tests that run one filer (filer-a, no partner) on the
// test fabric.
//
// SetUp makes a scratch directory (named after `scratch_prefix`) holding filer-a's volume
// (volume_) and a pair hosts file (hosts_: filer-a-failover resolves; nothing listens there),
// and starts nothing. StartFiler (re)starts filer-a with extra flags, under a command prefix if
// given, and waits until it serves its primary port; StartFilerUntilUp waits for its admin
// port to say "up" instead (for a filer that refuses this host's sessions). TearDown stops it,
// shows its log when the test failed (PrintFilerLog, which a test may override) and removes the
// scratch directory.

#ifndef VIFILER_TESTS_INTEGRATION_SINGLE_FILER_TEST_H_
#define VIFILER_TESTS_INTEGRATION_SINGLE_FILER_TEST_H_

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/test_env.h"

namespace vifiler {
namespace testing {

class SingleFilerTest : public ::testing::Test {
 protected:
  explicit SingleFilerTest(std::string scratch_prefix)
      : scratch_prefix_(std::move(scratch_prefix)) {}

  void SetUp() override;
  void TearDown() override;

  void StartFiler(std::vector<std::string> flags = {}, std::vector<std::string> wrapper = {});
  void StartFilerUntilUp(std::vector<std::string> flags);
  // Shows filer-a's log on stderr (called by TearDown when the test failed).
  virtual void PrintFilerLog();

  TestFabric fabric_;
  std::string dir_, volume_, hosts_;
  std::unique_ptr<FilerProcess> filer_;

 private:
  void MakeFiler(std::vector<std::string> flags, std::vector<std::string> wrapper);

  const std::string scratch_prefix_;
};

}  // namespace testing
}  // namespace vifiler

#endif  // VIFILER_TESTS_INTEGRATION_SINGLE_FILER_TEST_H_
