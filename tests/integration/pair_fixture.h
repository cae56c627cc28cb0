// Copyright 2026 The vifiler Authors.
//
// PairFixture: a test fixture that starts a filer pair (FilerPair) before each test, prints
// both filers' logs when the test failed, and helps with giveback.

#ifndef VIFILER_TESTS_INTEGRATION_PAIR_FIXTURE_H_
#define VIFILER_TESTS_INTEGRATION_PAIR_FIXTURE_H_

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/test_env.h"

namespace vifiler {
namespace testing {

class PairFixture : public ::testing::Test {
 protected:
  // a_flags go to filer-a only.
  explicit PairFixture(std::vector<std::string> a_flags = {}) : pair_({}, std::move(a_flags)) {}
  void SetUp() override {
    ASSERT_FALSE(pair_.fabric().address_a.empty()) << "no addresses for " << pair_.fabric().fabric;
    ASSERT_TRUE(pair_.Start().ok()) << pair_.Logs();
  }
  void TearDown() override {
    if (HasFailure()) fprintf(stderr, "%s\n", pair_.Logs().c_str());
  }
  const std::string& A() const { return pair_.fabric().address_a; }
  const std::string& B() const { return pair_.fabric().address_b; }

  // Once the restarted filer-a waits for giveback: filer-b gives back, filer-a serves again.
  absl::Status GiveBack() {
    absl::Status s =
        WaitForStatus(A(), "state", "waiting-for-giveback", absl::Seconds(20)).status();
    if (!s.ok()) return s;
    absl::StatusOr<std::string> r = AdminCommand(B(), "giveback");
    if (!r.ok()) return r.status();
    if (r->rfind("OK", 0) != 0) return absl::InternalError(*r);
    return WaitForStatus(A(), "state", "up", absl::Seconds(10)).status();
  }

  FilerPair pair_;
};

}  // namespace testing
}  // namespace vifiler

#endif  // VIFILER_TESTS_INTEGRATION_PAIR_FIXTURE_H_
