// Copyright 2026 The vifiler Authors.
//
// The states a filer of a pair reports to its partner and to administrators.

#ifndef VIFILER_CLUSTER_FILER_STATE_H_
#define VIFILER_CLUSTER_FILER_STATE_H_

#include <cstdint>

namespace vifiler {
namespace cluster {

// Values are on the interconnect wire: never renumber.
enum class FilerState : uint32_t {
  kStarting = 0,
  kServing = 1,             // serving its own volume on its primary port ("up")
  kTakeover = 2,            // also serving the partner's volume on its secondary port
  kWaitingForGiveback = 3,  // its volume is taken over; waits to get it back
  kHalting = 4,             // stopping
};

const char* FilerStateName(FilerState state);

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_FILER_STATE_H_
