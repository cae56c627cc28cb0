// Copyright 2026 The vifiler Authors.
//
// What every tool (vifilerd, vifiler, vifilerctl, vifiler-bench, vifiler-load) does at start:
// parse its command line the same way, and show the messages of the embeddable layers
// (transport/log.h: the fabric and the client library, silent by default) through glog.

#ifndef VIFILER_TOOLS_TOOL_MAIN_H_
#define VIFILER_TOOLS_TOOL_MAIN_H_

namespace vifiler {
namespace tools {

// Parses the flags (gflags; removes them from argv). Handles, and then exits 0:
//  - --version: "TOOL version X.Y.Z" on stdout;
//  - --help: `usage`, then the tool's own flags (those defined under tools/), then the flags of
//    the logging and flag libraries, on stdout.
// The other gflags help flags (--helpfull, --helpshort, --helpmatch=S, ...) work as in gflags.
void ParseToolCommandLine(const char* usage, int* argc, char*** argv);

// Sends the shim's messages to glog as before the shim existed: same severity, source file and
// line; debug messages (glog's VLOG(1)) only with --v=1 or more. Call after
// google::InitGoogleLogging.
void RouteLogToGlog();

}  // namespace tools
}  // namespace vifiler

#endif  // VIFILER_TOOLS_TOOL_MAIN_H_
