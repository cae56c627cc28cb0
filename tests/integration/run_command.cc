// Copyright 2026 The vifiler Authors.

#include "tests/integration/run_command.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace testing {

absl::StatusOr<int> RunCommand(const std::vector<std::string>& argv, std::string* out,
                               std::string* err, absl::Duration timeout) {
  char out_path[] = "/tmp/vifiler-cmd-out-XXXXXX";
  char err_path[] = "/tmp/vifiler-cmd-err-XXXXXX";
  int out_fd = mkstemp(out_path);
  int err_fd = mkstemp(err_path);
  if (out_fd < 0 || err_fd < 0) return absl::InternalError("mkstemp failed");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_fd);
  close(err_fd);
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  bool done = false;
  while (!done) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      done = true;
    } else if (absl::Now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      unlink(out_path);
      unlink(err_path);
      return absl::DeadlineExceededError(absl::StrCat(argv[0], " did not finish"));
    } else {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  if (out != nullptr) *out = slurp(out_path);
  if (err != nullptr) *err = slurp(err_path);
  unlink(out_path);
  unlink(err_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace testing
}  // namespace vifiler
