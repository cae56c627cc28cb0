// Copyright 2026 The vifiler Authors.
//
// The stream writer of vifiler-bench --failover --testbed: runs inside the client guest (c) of
// the test bed (`vifiler-bench --testbed_writer ...`) and streams requests to each filer named,
// through its own failover-enabled Client per filer, one request at a time: 4 KiB writes at
// increasing offsets of one file (record w at w * 4096, content RecordContent) and, as every
// 8th request, an exclusive create of a unique name (answered EXISTS: executed twice).
//
// It measures what the application sees: after every completed request (acknowledged or not) it
// notes the time and whether the client is on the partner's secondary port; a change of port
// between two consecutive completions is a failover (to the partner) or a failback (home), and
// the time between those two completions is its stall: from the last request completed before
// the filer was lost to the first one completed after (it includes one ordinary request
// latency). Any other gap above 500 ms is reported as a pause.
//
// Lines on stdout (key=value, values without spaces; flushed at once):
//   testbed-writer ready: filer=F dir=D
//   testbed-writer progress: filer=F acked=N twice=N errors=N on_partner=0|1   (every 250 ms)
//   testbed-writer stall: filer=F kind=failover|failback|pause ms=M n=K   (K-th event of F)
//   testbed-writer summary: filer=F acked=N twice=N errors=N lost=N verified=yes|no
//   testbed-writer done
// On SIGTERM/SIGINT it stops issuing, waits (up to 5 minutes) until each filer answers, reads
// everything back (the whole file, the create directory's listing), prints the summaries and
// exits: 0 when every stream verified with twice = errors = lost = 0.

#ifndef VIFILER_TOOLS_BENCH_TESTBED_AGENT_H_
#define VIFILER_TOOLS_BENCH_TESTBED_AGENT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "clientlib/client.h"

namespace vifiler {
namespace bench {

inline constexpr char kWriterPrefix[] = "testbed-writer ";

struct TestbedWriterOptions {
  std::vector<std::string> filers;                  // one stream each
  client::ClientOptions client;                     // hosts file, fabric, deadlines
  absl::Duration interval = absl::Milliseconds(5);  // pause after each request
};

int RunTestbedWriter(const TestbedWriterOptions& options);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_TESTBED_AGENT_H_
