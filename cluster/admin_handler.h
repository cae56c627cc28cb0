// Copyright 2026 The vifiler Authors.
//
// AdminHandler: what a filer lets its administrator do (vifilerctl, over the admin port).

#ifndef VIFILER_CLUSTER_ADMIN_HANDLER_H_
#define VIFILER_CLUSTER_ADMIN_HANDLER_H_

#include <string>

#include "absl/status/status.h"

namespace vifiler {
namespace cluster {

class AdminHandler {
 public:
  virtual ~AdminHandler() = default;
  // "key=value" lines: name, state, partner, volume, epoch, partner_volume, partner_epoch,
  // heartbeat_age_ms, interconnect, mailbox_age_ms, ... (see the implementation).
  virtual std::string Status() = 0;
  // Take over the partner's volume (the partner is asked to relinquish it, or is down).
  virtual absl::Status Takeover() = 0;
  // Hand the partner's volume back.
  virtual absl::Status Giveback() = 0;
  // Stop this filer; with takeover, the partner takes over at once (FAILING); without, the
  // partner is told not to take over (HALTING). Returns before the process exits.
  virtual absl::Status Halt(bool takeover) = 0;
  // Test hook: cut (or restore) the interconnect as if the link had failed.
  virtual absl::Status SetInterconnectCut(bool cut) = 0;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_ADMIN_HANDLER_H_
