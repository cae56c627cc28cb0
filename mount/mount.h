// Copyright 2026 The vifiler Authors.
//
// Mount: `vifiler mount FILER:/path MOUNTPOINT`, a FUSE file system that shows a directory of a
// filer's volume through the client library (mount/vifiler_fs.h has the operations and the
// consistency model).
//
// Contract:
//  - Mount() connects to the filer, resolves the path (it must name a directory), mounts
//    MOUNTPOINT and serves it on a multi-threaded loop until it is unmounted
//    (`fusermount3 -u MOUNTPOINT`, or `umount`) or the process gets SIGTERM, SIGINT or SIGHUP
//    (then it unmounts itself). It returns OK after a clean unmount.
//  - The mount is "up" once a stat of MOUNTPOINT has gone through it (the kernel has finished
//    FUSE's INIT with the loop and the root answers). Then its readahead is raised to
//    FsOptions::max_io (1 MiB; the kernel starts a FUSE mount at 128 KiB), best effort: only
//    root may.
//  - Without foreground the caller's process forks before anything else (the client library's
//    threads cannot cross a fork); the parent waits until the child has the mount up, then
//    returns OK, or returns the child's error (cannot connect, no such directory, the mount
//    refused) as its own; it never returns before one of the two. The child detaches
//    (setsid, standard streams to /dev/null once the mount is up) and returns OK from Mount()
//    only when the mount is gone (any failure: it exits with status 1). Call Mount() from a
//    process without threads.
//  - Failover is the client's (ClientOptions): the mount pauses while the client reconnects
//    and replays; only a call the client gives up on (after failover_deadline) fails, with EIO.

#ifndef VIFILER_MOUNT_MOUNT_H_
#define VIFILER_MOUNT_MOUNT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "clientlib/client.h"
#include "mount/vifiler_fs.h"

namespace vifiler {
namespace mount {

struct MountOptions {
  std::string filer;       // the filer's name
  std::string path = "/";  // directory of its volume shown at the mount point
  std::string mountpoint;
  FsOptions fs;  // read_only, cache timeouts
  bool foreground = false;
  bool debug = false;                       // libfuse's request trace on stderr (foreground)
  std::vector<std::string> kernel_options;  // more -o options for the mount (allow_other, ...)
  std::string pid_file;                     // when set, the serving process writes its pid here
  int max_threads = 16;                     // the session loop's threads
  client::ClientOptions client;
};

// Parses "FILER:/path" into *filer and *path ("/" when empty); false when it has no filer.
bool ParseFilerPath(const std::string& arg, std::string* filer, std::string* path);

absl::Status Mount(const MountOptions& options);

}  // namespace mount
}  // namespace vifiler

#endif  // VIFILER_MOUNT_MOUNT_H_
