// Copyright 2026 The vifiler Authors.

#include "transport/credit_window.h"

#include <algorithm>

namespace vifiler {
namespace transport {

CreditWindow::CreditWindow(uint32_t credits)
    : window_(std::max<uint32_t>(credits, 1)), available_(window_) {}

absl::Status CreditWindow::Acquire(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || available_ > 0; };
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    return absl::DeadlineExceededError("timed out waiting for a send credit");
  }
  if (closed_) return absl::UnavailableError("connection closed");
  --available_;
  return absl::OkStatus();
}

void CreditWindow::Grant(uint32_t n) {
  absl::MutexLock lock(&mu_);
  available_ += n;
}

void CreditWindow::Consumed() {
  absl::MutexLock lock(&mu_);
  ++pending_;
}

uint32_t CreditWindow::TakePending() {
  absl::MutexLock lock(&mu_);
  uint32_t n = pending_;
  pending_ = 0;
  return n;
}

uint32_t CreditWindow::TakePendingIfDue() {
  absl::MutexLock lock(&mu_);
  if (pending_ == 0 || pending_ < std::max<uint32_t>(window_ / 2, 1)) return 0;
  uint32_t n = pending_;
  pending_ = 0;
  return n;
}

void CreditWindow::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

uint32_t CreditWindow::available() const {
  absl::MutexLock lock(&mu_);
  return available_;
}

}  // namespace transport
}  // namespace vifiler
