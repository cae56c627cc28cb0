// Copyright 2026 The vifiler Authors.
//
// `vifiler mount FILER:/path MOUNTPOINT`: the command-line side of the FUSE mount
// (mount/mount.h): its flags (-o OPTIONS, -f/--foreground, --read_only, --debug, --pid_file,
// --attr_timeout_ms) and the client flags every vifiler command takes (tools/client_flags.h).
// Returns the exit status: 0 once the mount is up (daemon) or after it was unmounted
// (foreground); 1 with a one-line error on stderr otherwise.

#ifndef VIFILER_TOOLS_MOUNT_COMMAND_H_
#define VIFILER_TOOLS_MOUNT_COMMAND_H_

#include <string>
#include <vector>

namespace vifiler {
namespace tools {

// args: "mount", "FILER:/path", "MOUNTPOINT". Call from a process without threads (the mount
// forks into a daemon).
int MountCommand(const std::vector<std::string>& args);

}  // namespace tools
}  // namespace vifiler

#endif  // VIFILER_TOOLS_MOUNT_COMMAND_H_
