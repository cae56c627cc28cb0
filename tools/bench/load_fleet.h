// Copyright 2026 The vifiler Authors.
//
// LoadFleet: the vifiler-load processes of the soak mode (see tools/load/), started and
// stopped by PID, their output in log files the fleet reads.
//
// Contract:
//  - Start() starts `count` loaders from the main thread (ChildProcess: they die with the
//    bench), loader n with argv = program, args, --client_id=<ids_prefix>-<n>, its stdout and
//    stderr appended to dir/load-<n>.log.
//  - WaitReady() returns once every loader has printed its ready line, or an error naming the
//    first one that exited or was not ready in time.
//  - Progress() is each loader's last progress line as key=value pairs (empty when none yet);
//    Acked() its acked count (0 when none yet); WaitProgress() waits
//    until every loader's acked count exceeds the one given, or an error naming a loader that
//    made no progress or exited.
//  - StopAndCollect() SIGTERMs every loader, waits until each exits (all bounded by timeout
//    together), SIGKILLs those left, and returns each loader's summary (or why there is none).
// Not thread-safe: the main thread only.

#ifndef VIFILER_TOOLS_BENCH_LOAD_FLEET_H_
#define VIFILER_TOOLS_BENCH_LOAD_FLEET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/child_process.h"
#include "tools/load/load_summary.h"

namespace vifiler {
namespace bench {

class LoadFleet {
 public:
  LoadFleet(std::string program, std::vector<std::string> args, std::string dir,
            std::string ids_prefix);
  ~LoadFleet();
  LoadFleet(const LoadFleet&) = delete;
  LoadFleet& operator=(const LoadFleet&) = delete;

  absl::Status Start(int count);
  absl::Status WaitReady(absl::Duration timeout);
  std::vector<std::map<std::string, std::string>> Progress() const;
  std::vector<uint64_t> Acked() const;
  absl::Status WaitProgress(const std::vector<uint64_t>& since, absl::Duration timeout);
  std::vector<absl::StatusOr<load::LoadSummary>> StopAndCollect(absl::Duration timeout);

  int size() const { return static_cast<int>(loaders_.size()); }
  const std::string& log_path(int n) const { return logs_[n]; }
  // The last lines of every loader's log.
  std::string LogTails(int lines) const;

 private:
  std::string ReadLog(int n) const;

  const std::string program_;
  const std::vector<std::string> args_;
  const std::string dir_;
  const std::string ids_prefix_;
  std::vector<std::unique_ptr<tools::ChildProcess>> loaders_;
  std::vector<std::string> logs_;
};

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_LOAD_FLEET_H_
