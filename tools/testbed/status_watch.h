// Copyright 2026 The vifiler Authors.
//
// The status watcher of the vm-cluster test bed: runs inside a client guest and keeps, for each
// filer of the pair, a file with the filer's latest `status` answer, so that the host program
// (which cannot reach the guests' network, and whose every command in a guest costs seconds
// under emulation) can follow the pair's state with a resolution of a few hundred milliseconds
// by reading a file of a shared directory.
//
// File out_dir/status-NAME, rewritten atomically (write to a temp file, rename) after every
// attempt:
//   seq=N                 attempt number, from 1
//   unix_ms=T             when the attempt ended (the guest's clock)
//   reachable=yes|no
//   error=...             (reachable=no: why)
//   KEY=VALUE ...         (reachable=yes: the filer's status lines, cluster/takeover_controller)
// Each filer is polled by its own thread every interval (a filer that does not answer costs its
// own thread the timeout, not the others). The watcher runs until killed.

#ifndef VIFILER_TOOLS_TESTBED_STATUS_WATCH_H_
#define VIFILER_TOOLS_TESTBED_STATUS_WATCH_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vifiler {
namespace testbed {

struct StatusWatchOptions {
  std::vector<std::pair<std::string, std::string>> filers;  // name, address
  std::string out_dir;
  std::string secret;  // the filers' --admin_secret (the watcher runs on another host)
  uint16_t admin_discriminator = 7303;
  absl::Duration interval = absl::Milliseconds(300);
  absl::Duration timeout = absl::Milliseconds(1500);
};

// Polls forever; returns 1 only when it cannot start (bad options, no tcp fabric).
int RunStatusWatch(const StatusWatchOptions& options);

// "name=address,name=address" -> pairs; empty on a malformed list.
std::vector<std::pair<std::string, std::string>> ParseFilerList(absl::string_view list);

// The key=value lines of a status file (or of a status answer).
std::map<std::string, std::string> ParseStatusLines(absl::string_view text);

}  // namespace testbed
}  // namespace vifiler

#endif  // VIFILER_TOOLS_TESTBED_STATUS_WATCH_H_
