// Copyright 2026 The vifiler Authors.
//
// CreditWindow: per-connection, credit-based flow control shared by both fabrics.
//
// Each side posts `credits` receive buffers (rdma) or bounds its receive queue to that many
// messages (tcp), and starts with `credits` send credits. Sending a data message takes one
// credit. When the receiving application consumes a message its buffer is free again and the
// credit becomes "pending return"; pending credits ride back to the peer in the header of the
// next outgoing message (piggyback) or, once half the window is pending, in a credit-only
// message. Credit-only messages take no credit and return none, so updates never ping-pong and
// a side with no send credits is always unblocked by its peer (rdma posts two extra receive
// buffers for them). A sender therefore never overruns the receiver's posted buffers.
//
// Thread-safe.

#ifndef VIFILER_TRANSPORT_CREDIT_WINDOW_H_
#define VIFILER_TRANSPORT_CREDIT_WINDOW_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vifiler {
namespace transport {

class CreditWindow {
 public:
  explicit CreditWindow(uint32_t credits);
  CreditWindow(const CreditWindow&) = delete;
  CreditWindow& operator=(const CreditWindow&) = delete;

  // Sender: waits until a send credit is available and takes it. UnavailableError after
  // Close(), DeadlineExceededError when the deadline passes first.
  absl::Status Acquire(absl::Time deadline);
  // Sender: the peer returned n credits.
  void Grant(uint32_t n);

  // Receiver: the application consumed one data message; its buffer is reposted.
  void Consumed();
  // Takes every pending credit, to piggyback on an outgoing message.
  uint32_t TakePending();
  // Takes every pending credit if half the window (at least one) is pending, else returns 0:
  // the caller then sends a credit-only message carrying the result.
  uint32_t TakePendingIfDue();

  // Wakes and fails every waiter; later Acquire calls fail at once.
  void Close();

  uint32_t available() const;
  uint32_t window() const { return window_; }

 private:
  const uint32_t window_;
  mutable absl::Mutex mu_;
  uint32_t available_ ABSL_GUARDED_BY(mu_);
  uint32_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_CREDIT_WINDOW_H_
