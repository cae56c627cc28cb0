// Copyright 2026 The vifiler Authors.
//
// FailoverWriter: the steady request stream of the failover mode. One thread issues, through a
// failover-enabled Client, 4 KiB writes at increasing offsets of one file (record w at offset
// w * 4096, its content derived from the offset, see RecordContent) and, as every 8th request,
// an exclusive create of a unique name. A create answered kExists was executed twice.
//
// Contract:
//  - Each completed request is timestamped, with whether the client was on the partner's
//    secondary port when it completed; the controlling thread waits on these (bounded).
//  - Only requests the filer acknowledged (OK) are recorded as acknowledged; a request that
//    fails (the client gave up) is counted as an error and the stream goes on.
//  - Start() once, Stop() once (joins the thread; bounded by the client's own deadlines);
//    outcome() after Stop().
// Thread-safe.

#ifndef VIFILER_TOOLS_BENCH_FAILOVER_WRITER_H_
#define VIFILER_TOOLS_BENCH_FAILOVER_WRITER_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clientlib/client.h"

namespace vifiler {
namespace bench {

inline constexpr size_t kRecordSize = 4096;

// The content of the record at offset.
std::string RecordContent(uint64_t offset);

class FailoverWriter {
 public:
  struct Outcome {
    std::vector<uint64_t> acked_records;     // record numbers (offset / kRecordSize)
    std::vector<std::string> acked_creates;  // paths
    uint64_t executed_twice = 0;             // exclusive creates answered kExists
    uint64_t errors = 0;
    std::string first_error;
  };

  // client and the file must outlive the writer. interval: pause after each request.
  FailoverWriter(client::Client* client, client::File file, std::string create_prefix,
                 absl::Duration interval);
  ~FailoverWriter();
  FailoverWriter(const FailoverWriter&) = delete;
  FailoverWriter& operator=(const FailoverWriter&) = delete;

  void Start();
  void Stop();
  Outcome outcome() const;

  // The completion time of the first request completing after `after` (on the partner when
  // on_partner), or DeadlineExceededError.
  absl::StatusOr<absl::Time> WaitForCompletionAfter(absl::Time after, bool on_partner,
                                                    absl::Time deadline);
  // Waits until `count` requests have completed after `after`.
  absl::Status WaitForCompletions(absl::Time after, uint64_t count, absl::Time deadline);
  // The longest time between consecutive completions (or a window edge) within [from, to].
  absl::Duration LongestGap(absl::Time from, absl::Time to) const;

 private:
  struct Completion {
    absl::Time time;
    bool on_partner;
  };
  void Loop();
  size_t CountAfter(absl::Time after, bool only_partner) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  client::Client* const client_;
  const client::File file_;
  const std::string create_prefix_;
  const absl::Duration interval_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Completion> completions_ ABSL_GUARDED_BY(mu_);
  Outcome outcome_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_FAILOVER_WRITER_H_
