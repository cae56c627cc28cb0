// Copyright 2026 The vifiler Authors.
//
// The main() of every test binary that does not bring its own: GoogleTest's, plus a listener
// that repeats each failed assertion (file, line, message) at the very end of the output.
// Integration tests print long process logs after a failure, and a CI log that keeps only the
// last lines of a test's output would otherwise show the logs but not what failed.

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

class FailureSummary : public testing::EmptyTestEventListener {
 public:
  void OnTestStart(const testing::TestInfo& test) override {
    current_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestEnd(const testing::TestInfo&) override { current_ = "(outside a test)"; }

  // Called with GoogleTest's own lock held: must not call back into testing::UnitTest.
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (!result.failed()) return;
    const std::string& where = current_;
    std::string message = result.message();
    constexpr size_t kMaxMessage = 2000;
    if (message.size() > kMaxMessage) message = message.substr(0, kMaxMessage) + " [...]";
    failures_.push_back(where + " at " + (result.file_name() ? result.file_name() : "?") + ":" +
                        std::to_string(result.line_number()) + ":\n" + message);
  }

  void OnTestProgramEnd(const testing::UnitTest&) override {
    if (failures_.empty()) return;
    fprintf(stdout, "\n==== %zu failed assertion(s), repeated from above:\n", failures_.size());
    for (const std::string& f : failures_) fprintf(stdout, "---- %s\n", f.c_str());
    fflush(stdout);
  }

 private:
  std::string current_ = "(outside a test)";
  std::vector<std::string> failures_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testing::UnitTest::GetInstance()->listeners().Append(new FailureSummary);
  return RUN_ALL_TESTS();
}
