// Copyright 2026 The vifiler Authors.

#include "cluster/filer_state.h"

namespace vifiler {
namespace cluster {

const char* FilerStateName(FilerState state) {
  switch (state) {
    case FilerState::kStarting:
      return "starting";
    case FilerState::kServing:
      return "up";
    case FilerState::kTakeover:
      return "takeover";
    case FilerState::kWaitingForGiveback:
      return "waiting-for-giveback";
    case FilerState::kHalting:
      return "halting";
  }
  return "unknown";
}

}  // namespace cluster
}  // namespace vifiler
