// Copyright 2026 The vifiler Authors.
//
// CPU affinity helpers: pin this process, and describe where a process may run, so the bench
// can say whether client, filer and raw server were pinned (these hosts have few cores and
// crossing them costs).
//
// PinToCpu and UnpinAll set the affinity of the calling thread; call them from main before any
// thread starts so every later thread inherits it.

#ifndef VIFILER_TOOLS_BENCH_CPU_PINNING_H_
#define VIFILER_TOOLS_BENCH_CPU_PINNING_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vifiler {
namespace bench {

// Restricts the calling thread (and threads it starts later) to one CPU.
absl::Status PinToCpu(int cpu);
// Allows the calling thread every online CPU.
absl::Status UnpinAll();

// Where a process may run.
struct Affinity {
  std::string cpus;     // "0", "0-1", "0,2"
  bool pinned = false;  // allowed fewer than all online CPUs
};
// pid 0: this process.
absl::StatusOr<Affinity> AffinityOf(pid_t pid);

// The PID of a local vifilerd whose command line has --address=ADDRESS (and, when name is not
// empty, --name=NAME); NotFoundError when there is none or more than one.
absl::StatusOr<pid_t> FindFilerPid(const std::string& address, const std::string& name);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_CPU_PINNING_H_
