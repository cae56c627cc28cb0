// Copyright 2026 The vifiler Authors.
//
// vifiler-bench --failover --testbed: the failover benchmark with real power cuts. It boots the
// vm-cluster test bed (tools/testbed/pair_testbed.h: QEMU guests a, b, c; filer-a on a, filer-b
// on b, each volume on a shared virtio disk), runs one stream writer on c (testbed_agent.h: a
// request stream to each filer), and --cuts times cuts the power of the host serving a stream:
// a, b, a, b, ... Each cut: power cut; the partner takes over; the stream's stall is measured
// in the guest (last completion before the loss to the first completion on the partner); the
// cut guest is powered on again, its filer restarted, and it gets its volume back (giveback).
// At the end the writer reads everything back. It prints the stall p50/p99/max, acknowledged
// requests lost, requests executed twice, errors, and PASS/FAIL against the targets
// (p99 < 1 s, 0 lost, 0 twice, 0 errors). The guests are emulated (TCG): every figure includes
// the emulation's slowness; they say nothing about real hardware.
//
// The internal modes --testbed_watch (the status watcher, status_watch.h) and --testbed_writer
// are what this binary runs inside the guests.

#ifndef VIFILER_TOOLS_BENCH_TESTBED_FAILOVER_MODE_H_
#define VIFILER_TOOLS_BENCH_TESTBED_FAILOVER_MODE_H_

#include <string>

namespace vifiler {
namespace bench {

// --failover --testbed, --testbed_watch or --testbed_writer.
bool TestbedModeRequested();
// Runs the mode requested; self_path is this binary (the guests run it too). Returns the exit
// code (0 only on PASS for the benchmark).
int RunTestbedMode(const std::string& self_path);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_TESTBED_FAILOVER_MODE_H_
