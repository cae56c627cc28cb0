// Copyright 2026 The vifiler Authors.

#include "tools/run_command.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace tools {

absl::StatusOr<int> RunCommand(const std::vector<std::string>& argv, std::string* out,
                               std::string* err, absl::Duration timeout) {
  char out_path[] = "/tmp/vifiler-cmd-out-XXXXXX";
  char err_path[] = "/tmp/vifiler-cmd-err-XXXXXX";
  const int out_fd = mkstemp(out_path);
  const int err_fd = mkstemp(err_path);
  if (out_fd < 0 || err_fd < 0) {
    if (out_fd >= 0) {
      close(out_fd);
      unlink(out_path);
    }
    if (err_fd >= 0) {
      close(err_fd);
      unlink(err_path);
    }
    return absl::InternalError("mkstemp failed");
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_fd);
  close(err_fd);
  auto slurp_and_unlink = [](const char* path, std::string* into) {
    if (into != nullptr) {
      std::ifstream in(path);
      std::stringstream ss;
      ss << in.rdbuf();
      *into = ss.str();
    }
    unlink(path);
  };
  if (pid < 0) {
    slurp_and_unlink(out_path, nullptr);
    slurp_and_unlink(err_path, nullptr);
    return absl::InternalError("fork failed");
  }
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (absl::Now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      slurp_and_unlink(out_path, nullptr);
      slurp_and_unlink(err_path, nullptr);
      return absl::DeadlineExceededError(absl::StrCat(argv[0], " did not finish"));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  slurp_and_unlink(out_path, out);
  slurp_and_unlink(err_path, err);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace tools
}  // namespace vifiler
