// Copyright 2026 The vifiler Authors.
//
// Command-line flags shared by the client tools (vifiler, vifiler-bench) and the ClientOptions
// they produce.

#ifndef VIFILER_TOOLS_CLIENT_FLAGS_H_
#define VIFILER_TOOLS_CLIENT_FLAGS_H_

#include "clientlib/client.h"
#include "gflags/gflags.h"

DECLARE_string(fabric);
DECLARE_string(hosts_file);
DECLARE_uint32(primary_discriminator);
DECLARE_uint32(secondary_discriminator);
DECLARE_string(failover_suffix);

namespace vifiler {
namespace tools {

// Options from the flags; on_event prints failover notices to stderr.
client::ClientOptions ClientOptionsFromFlags();

}  // namespace tools
}  // namespace vifiler

#endif  // VIFILER_TOOLS_CLIENT_FLAGS_H_
