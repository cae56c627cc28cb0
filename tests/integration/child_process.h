// Copyright 2026 The vifiler Authors.
//
// ChildProcess: a process a test starts and is responsible for stopping. Started with
// fork/exec, its output goes to a log file; the destructor SIGKILLs and reaps it if it still
// runs, so no test leaves processes behind. Every wait is bounded.

#ifndef VIFILER_TESTS_INTEGRATION_CHILD_PROCESS_H_
#define VIFILER_TESTS_INTEGRATION_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vifiler {
namespace testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  // argv[0] is the program path. stdout and stderr are appended to log_path.
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv,
                                            const std::string& log_path);

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // Waits until the process exits; returns its wait status, or DeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGTERM, then SIGKILL after grace; reaps. Returns the wait status.
  int Stop(absl::Duration grace = absl::Seconds(5));

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = true;
};

// Runs argv to completion (bounded by timeout) and returns its exit code; stdout is captured
// into *out and stderr into *err when non-null.
absl::StatusOr<int> RunCommand(const std::vector<std::string>& argv, std::string* out,
                               std::string* err, absl::Duration timeout);

}  // namespace testing
}  // namespace vifiler

#endif  // VIFILER_TESTS_INTEGRATION_CHILD_PROCESS_H_
