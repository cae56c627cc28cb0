// Copyright 2026 The vifiler Authors.
//
// The soak mode of vifiler-bench: a filer pair of its own (FilerPair, on loopback), `clients`
// vifiler-load processes (LoadFleet; `threads` threads each, failover on) against filer-a,
// and `cycles` failure cycles, each after a random 1-3 s pause, the kind chosen at random
// (every kind once in each run of three cycles):
//   a. SIGKILL filer-a; wait for filer-b's takeover; restart filer-a; wait until it waits for
//      giveback; give back.
//   b. as (a), but SIGKILL filer-b while it gives back (0-60 ms after the giveback is sent);
//      filer-a must then serve both volumes (takeover); restart filer-b.
//   c. SIGKILL both; restart both.
// After every cycle the pair is driven back to "both up" (PairDriver::RecoverBothUp) and
// every loader must acknowledge new requests. At the end the loaders get SIGTERM, verify
// what they wrote and print their summaries; the soak sums them (acked, twice, errors, lost,
// max stall, failovers) and judges twice = errors = lost = 0 with every loader verified.
//
// Every wait has a deadline; a cycle that does not finish in time fails the run and prints
// the filers' and loaders' log tails. Filers and loaders are stopped by PID before RunSoak
// returns and die with the bench if it dies. The temp dir is removed unless keep.

#ifndef VIFILER_TOOLS_BENCH_SOAK_MODE_H_
#define VIFILER_TOOLS_BENCH_SOAK_MODE_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "clientlib/client.h"

namespace vifiler {
namespace bench {

struct SoakOptions {
  std::string vifilerd;          // path of the filer binary
  std::string vifiler_load;      // path of the vifiler-load binary
  client::ClientOptions client;  // fabric, discriminators and client timeouts for the loaders
  std::string address_a = "127.0.0.2";
  std::string address_b = "127.0.0.3";
  uint16_t admin_discriminator = 7303;
  int clients = 4;
  int threads = 2;  // per loader
  int cycles = 20;
  absl::Duration op_interval = absl::Milliseconds(1);  // each loader thread, after each request
  uint64_t seed = 0;                                   // 0: random (printed)
  bool keep = false;
};

// Returns the exit code: 0 on PASS, 1 otherwise.
int RunSoak(const SoakOptions& options);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_SOAK_MODE_H_
