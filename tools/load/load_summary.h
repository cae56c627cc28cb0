// Copyright 2026 The vifiler Authors.
//
// LoadSummary: what one vifiler-load run found, and the lines it prints, which other programs
// (vifiler-bench --soak, the hosts suite) read back.
//
// Lines vifiler-load writes to stdout, each `key=value` separated by single spaces, values
// without spaces:
//   vifiler-load ready: client=ID threads=N dirs=/P/ID-t0,/P/ID-t1
//   vifiler-load progress: acked=.. twice=.. errors=.. max_stall_ms=.. (every progress interval)
//   vifiler-load: acked=.. twice=.. errors=.. lost=.. max_stall_ms=.. failovers=.. ... result=PASS
// The last is the summary (exactly one per run, the last line starting "vifiler-load: "); with
// --json the summary is one JSON object on one line instead. Problems (each twice, error and
// lost effect, first few per thread) go to stderr as "vifiler-load problem: ...".

#ifndef VIFILER_TOOLS_LOAD_LOAD_SUMMARY_H_
#define VIFILER_TOOLS_LOAD_LOAD_SUMMARY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vifiler {
namespace load {

inline constexpr char kReadyPrefix[] = "vifiler-load ready: ";
inline constexpr char kProgressPrefix[] = "vifiler-load progress: ";
inline constexpr char kSummaryPrefix[] = "vifiler-load: ";
inline constexpr char kProblemPrefix[] = "vifiler-load problem: ";

struct LoadSummary {
  std::string client_id;
  int threads = 0;
  uint64_t cycles = 0;       // complete cycles of the operation mix, all threads
  uint64_t acked = 0;        // mutations the filer acknowledged
  uint64_t twice = 0;        // mutations whose answer shows they ran twice
  uint64_t errors = 0;       // any other error that reached the application
  uint64_t lost = 0;         // acknowledged effects missing or wrong after the run
  bool verified = false;     // the volume was read back and checked
  int64_t max_stall_ms = 0;  // longest single call
  uint64_t failovers = 0;
  uint64_t failbacks = 0;
  uint64_t reconnects = 0;
  uint64_t replays = 0;
  uint64_t keepalive_failures = 0;
  uint64_t root_mismatches = 0;
  double seconds = 0;                 // issuing time
  std::vector<std::string> problems;  // the first few, JSON only

  // verified, and no twice, error or lost effect.
  bool Passed() const { return verified && twice == 0 && errors == 0 && lost == 0; }
};

// The summary line (without newline), starting with kSummaryPrefix.
std::string FormatSummaryLine(const LoadSummary& summary);
// The summary as one JSON object on one line.
std::string FormatSummaryJson(const LoadSummary& summary);

// The key=value pairs of a line after its prefix.
std::map<std::string, std::string> ParseKeyValues(absl::string_view line);

// The last summary line in text (a loader's output) parsed; NotFoundError when there is none.
absl::StatusOr<LoadSummary> FindSummary(absl::string_view text);

// The key=value pairs of the last line starting with prefix; empty when there is none.
std::map<std::string, std::string> LastLineWithPrefix(absl::string_view text,
                                                      absl::string_view prefix);

}  // namespace load
}  // namespace vifiler

#endif  // VIFILER_TOOLS_LOAD_LOAD_SUMMARY_H_
