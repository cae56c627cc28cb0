// Copyright 2026 The vifiler Authors.

#include "storage/run_program.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace vifiler {
namespace storage {
namespace {

constexpr size_t kKeptOutput = 2000;
constexpr absl::Duration kReapLimit = absl::Seconds(5);

std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::vector<std::string> dirs = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
  const char* path = getenv("PATH");
  if (path != nullptr) {
    for (absl::string_view d : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      dirs.emplace_back(d);
    }
  }
  for (const std::string& d : dirs) {
    const std::string candidate = absl::StrCat(d, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

// Waits up to `limit` for pid to exit; true and *status once it has.
bool Reap(pid_t pid, absl::Duration limit, int* status) {
  const absl::Time deadline = absl::Now() + limit;
  while (true) {
    const pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      *status = -1;  // ECHILD: someone else reaped it (SIGCHLD ignored)
      return true;
    }
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

std::string Describe(int status) {
  if (status == -1) return "ended, exit status unavailable (SIGCHLD ignored?)";
  if (WIFEXITED(status)) return absl::StrCat("exited with ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("ended with wait status ", status);
}

std::string Tail(const std::string& output) {
  std::string tail =
      output.size() > kKeptOutput ? output.substr(output.size() - kKeptOutput) : output;
  for (char& c : tail) {
    if (c == '\n') c = ' ';
  }
  while (!tail.empty() && tail.back() == ' ') tail.pop_back();
  return tail.empty() ? "" : absl::StrCat(": ", tail);
}

}  // namespace

absl::Status RunProgram(const std::vector<std::string>& argv, absl::Duration limit) {
  if (argv.empty()) return absl::InvalidArgumentError("RunProgram: empty argv");
  const std::string program = FindProgram(argv[0]);
  const std::string what = absl::StrJoin(argv, " ");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("pipe for ", what, ": ", strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal dispositions and no blocked signals.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int err = posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pipe_fds[1]);
  if (err != 0) {
    close(pipe_fds[0]);
    return absl::FailedPreconditionError(absl::StrCat("cannot run ", what, ": ", strerror(err)));
  }

  // Collect output until the pipe closes (the program and anything it started are done) or the
  // deadline passes.
  const absl::Time deadline = absl::Now() + limit;
  std::string output;
  bool timed_out = false;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    struct pollfd p = {pipe_fds[0], POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // the loop re-checks the deadline
    char buf[4096];
    const ssize_t n = read(pipe_fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<size_t>(n));
    if (output.size() > 4 * kKeptOutput) output.erase(0, output.size() - kKeptOutput);
  }
  close(pipe_fds[0]);
  int status = 0;
  if (timed_out || !Reap(pid, std::max(deadline - absl::Now(), absl::ZeroDuration()), &status)) {
    kill(pid, SIGKILL);
    const bool reaped = Reap(pid, kReapLimit, &status);
    return absl::DeadlineExceededError(
        absl::StrCat(what, " did not finish within ", absl::FormatDuration(limit), "; killed",
                     reaped ? "" : " (not yet reaped)", Tail(output)));
  }
  if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " ", Describe(status), Tail(output)));
}

}  // namespace storage
}  // namespace vifiler
