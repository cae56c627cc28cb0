// Copyright 2026 The vifiler Authors.
//
// ChildProcess: a child started from a thread that then ends keeps running (its death signal
// follows the process, not the starting thread), exit and kill are reported, every wait is
// bounded.

#include "tools/child_process.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
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

// The state letter of every thread of pid ("R", "S", "T", ...), from /proc.
std::string ThreadStates(pid_t pid) {
  std::string states;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(tasks.c_str()), closedir);
  if (dir == nullptr) return states;
  while (dirent* e = readdir(dir.get())) {
    if (e->d_name[0] == '.') continue;
    std::ifstream stat(tasks + "/" + e->d_name + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size()) states += line[paren + 2];
  }
  return states;
}

// Freeze returns only once the child has stopped: a busy child is seen stopped at once
// after it, and runs again after SIGCONT. A child that exited cannot be frozen.
TEST(ChildProcessTest, FreezeReturnsOnceTheChildHasStopped) {
  auto busy = ChildProcess::Start({"/bin/sh", "-c", "while :; do :; done"}, LogPath());
  ASSERT_TRUE(busy.ok()) << busy.status();
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE((*busy)->Freeze(absl::Seconds(10)).ok());
    const std::string states = ThreadStates((*busy)->pid());
    ASSERT_FALSE(states.empty());
    EXPECT_EQ(states.find_first_not_of('T'), std::string::npos)
        << "round " << round << ": " << states;
    (*busy)->Signal(SIGCONT);
  }
  (*busy)->Kill();
  EXPECT_TRUE(absl::IsFailedPrecondition((*busy)->Freeze(absl::Seconds(1))));
  auto quick = ChildProcess::Start({"/bin/true"}, LogPath());
  ASSERT_TRUE(quick.ok());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(absl::IsFailedPrecondition((*quick)->Freeze(absl::Seconds(1))));
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
