// Copyright 2026 The vifiler Authors.

#include "tools/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"

namespace vifiler {
namespace tools {

namespace {

// Runs fork() on one thread that lives as long as the process: the child's PR_SET_PDEATHSIG
// follows the thread that forked it, so a child forked by a short-lived thread (a test's
// starter thread) would be killed when that thread ends. Never destroyed.
class ForkThread {
 public:
  static ForkThread& Get() {
    static ForkThread* const instance = new ForkThread;
    return *instance;
  }

  // Runs fork_and_exec on the fork thread and returns what it returned.
  pid_t Run(const std::function<pid_t()>& fork_and_exec) {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() { return job_ == nullptr; };
    mu_.Await(absl::Condition(&idle));
    job_ = &fork_and_exec;
    done_ = false;
    auto done = [this]() { return done_; };
    mu_.Await(absl::Condition(&done));
    job_ = nullptr;
    return result_;
  }

 private:
  ForkThread() {
    std::thread([this] { Loop(); }).detach();
  }

  void Loop() {
    while (true) {
      absl::MutexLock lock(&mu_);
      auto pending = [this]() { return job_ != nullptr && !done_; };
      mu_.Await(absl::Condition(&pending));
      result_ = (*job_)();  // fork() only: no lock is held by the child, which execs at once
      done_ = true;
    }
  }

  absl::Mutex mu_;
  const std::function<pid_t()>* job_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool done_ ABSL_GUARDED_BY(mu_) = true;
  pid_t result_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::string& log_path) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return absl::InternalError(absl::StrCat(log_path, ": ", strerror(errno)));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  int fork_errno = 0;
  const pid_t pid = ForkThread::Get().Run([&]() -> pid_t {
    pid_t child = fork();
    if (child < 0) fork_errno = errno;
    if (child != 0) return child;
    // The child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the starter died before prctl took effect
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    static const char kExecFailed[] = ": exec failed (not found or not executable?)\n";
    ssize_t ignored = write(STDERR_FILENO, args[0], strlen(args[0]));
    ignored = write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    (void)ignored;
    _exit(127);
  });
  close(log);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(fork_errno)));
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) Kill();
}

bool ChildProcess::Running() {
  if (reaped_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

void ChildProcess::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

absl::Status ChildProcess::Freeze(absl::Duration timeout) {
  if (reaped_) return absl::FailedPreconditionError(absl::StrCat("pid ", pid_, " has exited"));
  kill(pid_, SIGSTOP);
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WUNTRACED | WNOHANG);
    if (r == pid_ && WIFSTOPPED(status)) return absl::OkStatus();
    if (r == pid_) {
      reaped_ = true;
      status_ = status;
      return absl::FailedPreconditionError(
          absl::StrCat("pid ", pid_, " ", ExitDescription(), " before it stopped"));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " has not stopped"));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

absl::Status ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (Running()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running"));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  return absl::OkStatus();
}

void ChildProcess::Stop(absl::Duration grace) {
  if (!Running()) return;
  Signal(SIGTERM);
  if (!Wait(grace).ok()) Kill();
}

void ChildProcess::Kill() {
  Signal(SIGKILL);
  // SIGKILL cannot be caught; the wait only covers the kernel tearing the process down.
  Wait(absl::Seconds(10)).IgnoreError();
}

std::string ChildProcess::ExitDescription() const {
  if (!reaped_) return "running";
  if (WIFEXITED(status_)) return absl::StrCat("exited with ", WEXITSTATUS(status_));
  if (WIFSIGNALED(status_)) return absl::StrCat("killed by ", strsignal(WTERMSIG(status_)));
  return "ended";
}

std::string TailOfFile(const std::string& path, int max_lines) {
  std::ifstream in(path);
  if (!in) return absl::StrCat("(cannot read ", path, ")\n");
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > max_lines) lines.pop_front();
  }
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
}

}  // namespace tools
}  // namespace vifiler
