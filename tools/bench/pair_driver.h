// Copyright 2026 The vifiler Authors.
//
// PairDriver: kills and restarts the filers of a FilerPair for the soak mode, reads their
// state through the admin port, and drives the pair back to "both up".
//
// Contract:
//  - "Both up": each filer answers status with state=up, partner_state=up, primary_port=open
//    (each serves its own volume, and sees its partner doing the same).
//  - Kill() is SIGKILL by PID (FilerPair); a killed filer is "down" until Restart().
//  - RecoverBothUp() loops until both up or timeout: it restarts filers that are down (or
//    whose admin port has not answered for a while since their last start), and when one
//    filer is in takeover while the other waits for giveback it sends giveback to the first.
//    Every action it took is appended to *actions.
//  - Every call is bounded by its timeout.
// Not thread-safe: the main thread (it starts processes), except Giveback(), which only
// talks to the admin port and may run on another thread.

#ifndef VIFILER_TOOLS_BENCH_PAIR_DRIVER_H_
#define VIFILER_TOOLS_BENCH_PAIR_DRIVER_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/bench/admin_client.h"
#include "tools/bench/filer_pair.h"

namespace vifiler {
namespace bench {

class PairDriver {
 public:
  using Which = FilerPair::Which;

  // pair and admin must outlive the driver; the pair has been started.
  PairDriver(FilerPair* pair, AdminClient* admin);

  void Kill(Which which);
  absl::Status Restart(Which which);
  // Polls the filer's status until state has value.
  absl::Status WaitState(Which which, const std::string& state, absl::Duration timeout);
  // Sends giveback to the filer (the one in takeover).
  absl::Status Giveback(Which from, absl::Duration timeout);
  // True when both are up (see above); *states describes what each reported.
  bool BothUp(std::string* states);
  absl::Status RecoverBothUp(absl::Duration timeout, std::string* actions);

  static const char* Name(Which which) { return which == FilerPair::kA ? "filer-a" : "filer-b"; }

 private:
  using StatusMap = std::map<std::string, std::string>;
  // Status of both filers (an empty map for one that does not answer); *states as BothUp.
  bool ReadBoth(StatusMap out[2], std::string* states);

  FilerPair* const pair_;
  AdminClient* const admin_;
  bool down_[2] = {false, false};
  absl::Time last_heard_[2];  // last status answer or start
};

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_PAIR_DRIVER_H_
