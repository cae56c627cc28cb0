// Copyright 2026 The vifiler Authors.

#include "transport/accept_backoff.h"

#include <errno.h>

#include <algorithm>

namespace vifiler {
namespace transport {

bool AcceptBackoff::IsResourceError(int error) {
  return error == EMFILE || error == ENFILE || error == ENOMEM || error == ENOBUFS;
}

absl::Duration AcceptBackoff::Failed() {
  const absl::Duration wait = next_;
  next_ = std::min(next_ * 2, kMax);
  return wait;
}

void AcceptBackoff::Succeeded() { next_ = kFirst; }

bool AcceptBackoff::ShouldLog(absl::Time now, uint64_t* suppressed) {
  if (now - last_logged_ < kLogInterval) {
    ++unlogged_;
    return false;
  }
  *suppressed = unlogged_;
  unlogged_ = 0;
  last_logged_ = now;
  return true;
}

}  // namespace transport
}  // namespace vifiler
