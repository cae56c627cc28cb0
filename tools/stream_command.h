// Copyright 2026 The vifiler Authors.
//
// `vifiler stream FILER:/path`: writes checksummed records to a file and reads each one back,
// continuously, until --stream_seconds pass or SIGINT/SIGTERM; prints progress (records, the
// filer serving them, the longest stall) every second, then verifies every byte written and
// prints the client's failover counters. Exit 0 only when no call failed and every byte matched.

#ifndef VIFILER_TOOLS_STREAM_COMMAND_H_
#define VIFILER_TOOLS_STREAM_COMMAND_H_

#include <string>

#include "clientlib/client.h"

namespace vifiler {
namespace tools {

int RunStream(client::Client* client, const std::string& path, double seconds, size_t record_size);

}  // namespace tools
}  // namespace vifiler

#endif  // VIFILER_TOOLS_STREAM_COMMAND_H_
