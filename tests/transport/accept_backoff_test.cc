// Copyright 2026 The vifiler Authors.
//
// AcceptBackoff: the pause after accept(2) runs out of resources grows from 10 to 100 ms and
// starts over after a success; failures are logged at a bounded rate.

#include "transport/accept_backoff.h"

#include <errno.h>

#include "gtest/gtest.h"

namespace vifiler {
namespace transport {
namespace {

TEST(AcceptBackoffTest, ResourceErrors) {
  EXPECT_TRUE(AcceptBackoff::IsResourceError(EMFILE));
  EXPECT_TRUE(AcceptBackoff::IsResourceError(ENFILE));
  EXPECT_TRUE(AcceptBackoff::IsResourceError(ENOMEM));
  EXPECT_TRUE(AcceptBackoff::IsResourceError(ENOBUFS));
  EXPECT_FALSE(AcceptBackoff::IsResourceError(EAGAIN));
  EXPECT_FALSE(AcceptBackoff::IsResourceError(ECONNABORTED));
}

TEST(AcceptBackoffTest, PauseDoublesToTheMaximumAndStartsOver) {
  AcceptBackoff b;
  EXPECT_EQ(b.Failed(), absl::Milliseconds(10));
  EXPECT_EQ(b.Failed(), absl::Milliseconds(20));
  EXPECT_EQ(b.Failed(), absl::Milliseconds(40));
  EXPECT_EQ(b.Failed(), absl::Milliseconds(80));
  EXPECT_EQ(b.Failed(), absl::Milliseconds(100));
  EXPECT_EQ(b.Failed(), absl::Milliseconds(100));
  b.Succeeded();
  EXPECT_EQ(b.Failed(), absl::Milliseconds(10));
}

TEST(AcceptBackoffTest, LogsAtABoundedRateWithACount) {
  AcceptBackoff b;
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  uint64_t suppressed = 99;
  EXPECT_TRUE(b.ShouldLog(t0, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  int logged = 0;
  for (int i = 1; i <= 1000; ++i) {
    if (b.ShouldLog(t0 + absl::Milliseconds(i), &suppressed)) ++logged;
  }
  EXPECT_EQ(logged, 0) << "a burst of failures within the interval logs nothing more";
  EXPECT_TRUE(b.ShouldLog(t0 + AcceptBackoff::kLogInterval, &suppressed));
  EXPECT_EQ(suppressed, 1000u);
}

}  // namespace
}  // namespace transport
}  // namespace vifiler
