// Copyright 2026 The vifiler Authors.
//
// AcceptBackoff: what a listener does when accept(2) fails for lack of resources (EMFILE,
// ENFILE, ENOMEM, ENOBUFS). The connection stays in the kernel's backlog, so the listening
// socket stays readable: polling it again at once spins a core and, logging each failure,
// floods the log. The listener instead stops taking new connections for a while and logs a
// bounded number of lines.
//
// Contract:
//  - Failed() returns how long to stop accepting: kFirst after the first failure, doubling
//    up to kMax while failures continue; Succeeded() starts over at kFirst.
//  - ShouldLog(now) is true for the first failure and then at most once per kLogInterval;
//    *suppressed receives how many failures were not logged since the last logged one.
// Not thread-safe: one accepting thread.

#ifndef VIFILER_TRANSPORT_ACCEPT_BACKOFF_H_
#define VIFILER_TRANSPORT_ACCEPT_BACKOFF_H_

#include <cstdint>

#include "absl/time/time.h"

namespace vifiler {
namespace transport {

class AcceptBackoff {
 public:
  static constexpr absl::Duration kFirst = absl::Milliseconds(10);
  static constexpr absl::Duration kMax = absl::Milliseconds(100);
  static constexpr absl::Duration kLogInterval = absl::Seconds(10);

  // True for the errno values that mean "no resources now" rather than a broken listener.
  static bool IsResourceError(int error);

  absl::Duration Failed();
  void Succeeded();
  bool ShouldLog(absl::Time now, uint64_t* suppressed);

 private:
  absl::Duration next_ = kFirst;
  absl::Time last_logged_ = absl::InfinitePast();
  uint64_t unlogged_ = 0;
};

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_ACCEPT_BACKOFF_H_
