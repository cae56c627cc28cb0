// Copyright 2026 The vifiler Authors.

#include "tools/bench/cpu_pinning.h"

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace vifiler {
namespace bench {

namespace {

int OnlineCpus() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

// "0-2,5" for the CPUs set in mask.
std::string CpuList(const cpu_set_t& mask) {
  std::vector<std::string> ranges;
  int start = -1;
  for (int cpu = 0; cpu <= CPU_SETSIZE; ++cpu) {
    const bool set = cpu < CPU_SETSIZE && CPU_ISSET(cpu, &mask);
    if (set && start < 0) start = cpu;
    if (!set && start >= 0) {
      ranges.push_back(start == cpu - 1 ? absl::StrCat(start) : absl::StrCat(start, "-", cpu - 1));
      start = -1;
    }
  }
  return absl::StrJoin(ranges, ",");
}

}  // namespace

absl::Status PinToCpu(int cpu) {
  if (cpu < 0 || cpu >= OnlineCpus()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu ", cpu, " is not online (", OnlineCpus(), " CPUs)"));
  }
  cpu_set_t mask;
  CPU_ZERO(&mask);
  CPU_SET(cpu, &mask);
  if (sched_setaffinity(0, sizeof(mask), &mask) != 0) {
    return absl::InternalError(absl::StrCat("sched_setaffinity: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status UnpinAll() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  for (int cpu = 0; cpu < OnlineCpus() && cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &mask);
  if (sched_setaffinity(0, sizeof(mask), &mask) != 0) {
    return absl::InternalError(absl::StrCat("sched_setaffinity: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Affinity> AffinityOf(pid_t pid) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(pid, sizeof(mask), &mask) != 0) {
    return absl::InternalError(absl::StrCat("sched_getaffinity(", pid, "): ", strerror(errno)));
  }
  Affinity a;
  a.cpus = CpuList(mask);
  a.pinned = CPU_COUNT(&mask) < OnlineCpus();
  return a;
}

absl::StatusOr<pid_t> FindFilerPid(const std::string& address, const std::string& name) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return absl::NotFoundError("cannot read /proc");
  std::vector<pid_t> found;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"));
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<std::string> args = absl::StrSplit(ss.str(), '\0');
    if (args.empty() || args[0].find("vifilerd") == std::string::npos) continue;
    bool address_ok = false;
    bool name_ok = name.empty();
    for (const std::string& arg : args) {
      if (arg == "--address=" + address) address_ok = true;
      if (arg == "--name=" + name) name_ok = true;
    }
    if (address_ok && name_ok) found.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  if (found.size() != 1) {
    return absl::NotFoundError(
        absl::StrCat(found.size(), " local vifilerd processes with --address=", address));
  }
  return found[0];
}

}  // namespace bench
}  // namespace vifiler
