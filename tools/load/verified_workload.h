// Copyright 2026 The vifiler Authors.
//
// VerifiedWorkload: one thread of vifiler-load. It repeats a fixed cycle of mutations whose
// every effect can be checked afterwards, classifies every answer, and after the run checks
// the volume against what the filer acknowledged.
//
// The thread owns the directory D = /<prefix>/<client id>-t<N>/ (no other thread or client
// touches it) holding `log` and `slots`. Cycle i (i = 0, 1, 2, ...) is seven requests, each
// one protocol operation through the shared Client:
//   1. write append record i (64 bytes, see load_record.h) at offset i*64 of D/log
//   2. write the slot record (slot k = i % 8, version i) at offset k*64 of D/slots
//   3. create D/c-i, exclusive
//   4. rename D/c-i -> D/r-i
//   5. mkdir D/d-i
//   6. remove D/r-i
//   7. rmdir D/d-i
// Steps 3-7 are "chain i".
//
// Classification of each answer:
//  - OK: acknowledged (counted in acked).
//  - "twice": EXISTS on the create or mkdir, NO_ENTRY on the rename, remove or rmdir. Every
//    name is this thread's alone and was absent (present) when the request was sent, so the
//    filer executed the request twice (the first execution's effect is taken as done and the
//    chain goes on).
//  - "error": any other failure that reached the application. The effect is unknown: for a
//    write, the record may or may not be there; for a chain step, the rest of the chain is
//    skipped and its names may be in either the state before or after that step.
// The thread stops between requests (stop flag or deadline); a chain stopped midway is
// expected in the state after its last completed step.
//
// Verify() (after Run returned, with the filer answering) reads the volume back:
//  - log: every acknowledged record i is at i*64 with exactly its content; every other
//    64 bytes are either zeros or the record that belongs there (only for records issued
//    but not acknowledged); nothing lies past the last issued record.
//  - slots: slot k holds a valid record of slot k with a version v >= the last acknowledged
//    version for k and issued (v <= the last issued version for k); zeros only when none
//    was acknowledged.
//  - names: D holds log, slots, and c-/r-/d- names only of chains that were stopped or broken
//    by an error, each chain in a state it can be in (see above), with the right types.
// Every mismatch counts one "lost" (an acknowledged effect missing or something on the
// volume no request explains); the first few are kept as problems.
//
// Thread-safety: Setup, Run and Verify from one thread, in that order; the counters (acked()
// ...) may be read from any thread at any time.

#ifndef VIFILER_TOOLS_LOAD_VERIFIED_WORKLOAD_H_
#define VIFILER_TOOLS_LOAD_VERIFIED_WORKLOAD_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clientlib/client.h"
#include "tools/load/load_record.h"

namespace vifiler {
namespace load {

struct WorkloadOptions {
  std::string prefix = "vifiler-load";  // top directory on the volume
  absl::Duration op_interval;           // pause after each request
  int max_problems = 5;                 // problems kept (and printed) per kind and thread
};

class VerifiedWorkload {
 public:
  // client must outlive the workload; thread is N.
  VerifiedWorkload(client::Client* client, int thread, WorkloadOptions options);
  VerifiedWorkload(const VerifiedWorkload&) = delete;
  VerifiedWorkload& operator=(const VerifiedWorkload&) = delete;

  // Creates /<prefix> (may exist), D (may exist only empty), D/log and D/slots. A failure is
  // also counted as an error; Run() then does nothing.
  absl::Status Setup();
  // Runs cycles until *stop is set or deadline passes (checked before each request).
  void Run(const std::atomic<bool>* stop, absl::Time deadline);
  // Reads the volume back (see above) and returns the number of lost effects, also added to
  // lost(); an error when the volume could not be read (then nothing is counted).
  absl::StatusOr<uint64_t> Verify();

  const std::string& dir() const { return dir_path_; }
  uint64_t acked() const { return acked_.load(); }
  uint64_t twice() const { return twice_.load(); }
  uint64_t errors() const { return errors_.load(); }
  uint64_t lost() const { return lost_.load(); }
  uint64_t cycles() const { return cycles_.load(); }
  absl::Duration max_stall() const { return absl::Microseconds(max_stall_us_.load()); }
  std::vector<std::string> problems() const;

 private:
  enum Step { kAppend, kSlot, kCreate, kRename, kMkdir, kRemove, kRmdir, kSteps };
  enum class Outcome { kAcked, kTwice, kError };
  // A chain left with names on the volume: `done` chain steps completed (0..4), and when
  // `uncertain` the next one was sent and failed with an unknown effect.
  struct OpenChain {
    uint64_t i = 0;
    int done = 0;
    bool uncertain = false;
  };

  static Outcome Classify(Step step, const absl::Status& status);
  static const char* StepName(Step step);
  // Performs step of cycle i and classifies the answer (counting it, timing it).
  Outcome Perform(Step step, uint64_t i);
  absl::Status Call(Step step, uint64_t i);
  // Creates the directories and files (Setup).
  absl::Status MakeFiles();
  // Records (and prints) a problem of kind "twice", "error" or "lost".
  void Problem(const std::string& kind, const std::string& text);
  void Lost(uint64_t* lost, const std::string& text);

  absl::Status VerifyLog(uint64_t* lost);
  absl::Status VerifySlots(uint64_t* lost);
  absl::Status VerifyNames(uint64_t* lost);

  client::Client* const client_;
  const int thread_;
  const WorkloadOptions options_;
  const uint64_t tag_;
  std::string dir_path_;
  protocol::FileHandle dir_;
  protocol::FileHandle log_;
  protocol::FileHandle slots_;
  bool ready_ = false;

  // Owned by the running thread.
  uint64_t next_cycle_ = 0;
  std::vector<bool> append_acked_;  // by record index; size: records issued
  int64_t slot_acked_[kSlots];      // last acknowledged version per slot, -1: none
  int64_t slot_issued_[kSlots];     // last issued version per slot, -1: none
  std::vector<OpenChain> open_chains_;

  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> twice_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> cycles_{0};
  std::atomic<int64_t> max_stall_us_{0};

  mutable absl::Mutex mu_;
  std::vector<std::string> problems_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> problems_seen_ ABSL_GUARDED_BY(mu_);  // by kind
};

}  // namespace load
}  // namespace vifiler

#endif  // VIFILER_TOOLS_LOAD_VERIFIED_WORKLOAD_H_
