// Copyright 2026 The vifiler Authors.
//
// ha_watch: the status watcher the hosts suite runs on its client guest (tools/testbed/
// status_watch.h): writes each filer's latest status answer into a file of the shared
// directory, for the host-side test to read. Runs until killed.
//
//   ha_watch --testbed_filers=filer-a=10.77.0.11,filer-b=10.77.0.12 --testbed_out_dir=DIR
//            --testbed_secret=SECRET [--testbed_interval_ms=300]

#include <cstdio>

#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "tools/testbed/status_watch.h"

DEFINE_string(testbed_filers, "", "name=address,... of the filers to watch");
DEFINE_string(testbed_out_dir, "", "directory of the status files (status-NAME)");
DEFINE_string(testbed_secret, "", "the filers' admin secret");
DEFINE_uint32(testbed_interval_ms, 300, "pause between two status requests to one filer");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "ha_watch --testbed_filers=NAME=ADDR,... --testbed_out_dir=DIR --testbed_secret=S");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  vifiler::testbed::StatusWatchOptions o;
  o.filers = vifiler::testbed::ParseFilerList(FLAGS_testbed_filers);
  o.out_dir = FLAGS_testbed_out_dir;
  o.secret = FLAGS_testbed_secret;
  o.interval = absl::Milliseconds(FLAGS_testbed_interval_ms);
  return vifiler::testbed::RunStatusWatch(o);
}
