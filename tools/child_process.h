// Copyright 2026 The vifiler Authors.
//
// ChildProcess: a process a tool or a test started and is responsible for stopping.
//
// Contract:
//  - Start() forks and execs argv (argv[0] is the program path) with stdout and stderr appended
//    to log_path and stdin from /dev/null. The child gets SIGKILL when the starting process
//    dies (PR_SET_PDEATHSIG), so no filer outlives a crashed bench or test. Start() may be
//    called from any thread: the fork runs on one thread that lives as long as the process
//    (the death signal follows the forking thread, not the process).
//  - Every wait is bounded: Wait() by its timeout; Stop() sends SIGTERM, waits up to grace,
//    then SIGKILL and a bounded reap; Kill() is SIGKILL and a bounded reap.
//  - Signals go only to this child's PID. The destructor SIGKILLs and reaps a child still
//    running.
// Not thread-safe: one owning thread.

#ifndef VIFILER_TOOLS_CHILD_PROCESS_H_
#define VIFILER_TOOLS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vifiler {
namespace tools {

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // False once the child has exited (reaps it).
  bool Running();
  void Signal(int sig);
  // SIGSTOP, then waits until the child has stopped (every thread: the group stop its parent
  // is told of). A signal is delivered asynchronously: on a loaded machine the child may run
  // on for a while after kill(2) returned. DeadlineExceededError after timeout (the child is
  // left with the signal pending); FailedPreconditionError when the child exited meanwhile.
  absl::Status Freeze(absl::Duration timeout);
  // Waits until the child exits: OK, or DeadlineExceededError after timeout.
  absl::Status Wait(absl::Duration timeout);
  // SIGTERM; after grace SIGKILL; reaps.
  void Stop(absl::Duration grace);
  // SIGKILL; reaps.
  void Kill();
  // "exited with N" / "killed by SIGNAL" / "running".
  std::string ExitDescription() const;
  // The wait(2) status once the child has been reaped (see Running, Wait).
  int wait_status() const { return status_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

// The last max_lines lines of the file at path (for printing a child's log on failure).
std::string TailOfFile(const std::string& path, int max_lines);

}  // namespace tools
}  // namespace vifiler

#endif  // VIFILER_TOOLS_CHILD_PROCESS_H_
