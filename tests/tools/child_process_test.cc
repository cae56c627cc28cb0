// Copyright 2026 The vifiler Authors.
//
// ChildProcess: a child started from a thread that then ends keeps running (its death signal
// follows the process, not the starting thread), exit and kill are reported, every wait is
// bounded.

#include "tools/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace vifiler {
namespace tools {
namespace {

std::string LogPath() {
  const char* dir = getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/child_process_test." +
         std::to_string(getpid()) + ".log";
}

TEST(ChildProcessTest, AChildStartedByAThreadThatEndsKeepsRunning) {
  std::unique_ptr<ChildProcess> child;
  std::thread starter([&child] {
    auto started = ChildProcess::Start({"/bin/sleep", "30"}, LogPath());
    ASSERT_TRUE(started.ok()) << started.status();
    child = std::move(*started);
    absl::SleepFor(absl::Milliseconds(200));  // the child has set its death signal by now
  });
  starter.join();
  ASSERT_NE(child, nullptr);
  absl::SleepFor(absl::Milliseconds(300));  // a death signal for the thread would have hit
  EXPECT_TRUE(child->Running()) << child->ExitDescription();
  child->Kill();
  EXPECT_FALSE(child->Running());
  EXPECT_TRUE(WIFSIGNALED(child->wait_status()));
  EXPECT_EQ(WTERMSIG(child->wait_status()), SIGKILL);
}

TEST(ChildProcessTest, ExitIsReportedAndWaitIsBounded) {
  auto quick = ChildProcess::Start({"/bin/sh", "-c", "exit 3"}, LogPath());
  ASSERT_TRUE(quick.ok()) << quick.status();
  ASSERT_TRUE((*quick)->Wait(absl::Seconds(10)).ok());
  EXPECT_TRUE(WIFEXITED((*quick)->wait_status()));
  EXPECT_EQ(WEXITSTATUS((*quick)->wait_status()), 3);

  auto slow = ChildProcess::Start({"/bin/sleep", "30"}, LogPath());
  ASSERT_TRUE(slow.ok()) << slow.status();
  const absl::Time start = absl::Now();
  EXPECT_FALSE((*slow)->Wait(absl::Milliseconds(200)).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  (*slow)->Stop(absl::Seconds(1));
  EXPECT_FALSE((*slow)->Running());
}

TEST(ChildProcessTest, AMissingProgramExitsWith127) {
  auto missing = ChildProcess::Start({"/nonexistent/vifiler-program"}, LogPath());
  ASSERT_TRUE(missing.ok()) << missing.status();
  ASSERT_TRUE((*missing)->Wait(absl::Seconds(10)).ok());
  EXPECT_EQ(WEXITSTATUS((*missing)->wait_status()), 127);
  unlink(LogPath().c_str());
}

}  // namespace
}  // namespace tools
}  // namespace vifiler
