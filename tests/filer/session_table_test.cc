// Copyright 2026 The vifiler Authors.
//
// SessionTable: one session per client, leases that run only while a client is not held,
// expiry, continuity after expiry, ids recognised as expired, the client limit.

#include "filer/session_table.h"

#include "gtest/gtest.h"

namespace vifiler {
namespace filer {
namespace {

constexpr absl::Duration kLease = absl::Seconds(10);
const absl::Time kStart = absl::FromUnixSeconds(1000000);

TEST(SessionTableTest, OneSessionPerClient) {
  SessionTable table(kLease, 10);
  SessionTable::Session s;
  absl::StatusOr<uint64_t> first = table.Create("c", 4, kStart, &s);
  ASSERT_TRUE(first.ok());
  absl::StatusOr<uint64_t> second = table.Create("c", 8, kStart + absl::Seconds(1), &s);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(s.slots, 8u);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(table.sessions(), 1u) << "the new session replaces the old one";
  EXPECT_EQ(table.Find(*first, kStart, &s), SessionTable::Lookup::kExpired);
  EXPECT_EQ(table.Find(*second, kStart, &s), SessionTable::Lookup::kFound);
  EXPECT_EQ(s.client_id, "c");
  EXPECT_EQ(table.Find(12345, kStart, &s), SessionTable::Lookup::kUnknown);
}

TEST(SessionTableTest, LeaseRunsOutWithoutRequestsAndIsRenewedByThem) {
  SessionTable table(kLease, 10);
  SessionTable::Session s;
  const uint64_t id = *table.Create("c", 4, kStart, &s);
  EXPECT_TRUE(table.Expire(kStart + kLease - absl::Seconds(1)).empty());
  ASSERT_EQ(table.Find(id, kStart + absl::Seconds(9), &s), SessionTable::Lookup::kFound);
  EXPECT_TRUE(table.Expire(kStart + absl::Seconds(18)).empty()) << "renewed at 9 s";
  std::vector<std::string> expired = table.Expire(kStart + absl::Seconds(19));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], "c");
  EXPECT_EQ(table.clients(), 0u);
  EXPECT_EQ(table.sessions(), 0u);
  EXPECT_EQ(table.expired(), 1u);
  EXPECT_EQ(table.Find(id, kStart + absl::Seconds(20), &s), SessionTable::Lookup::kExpired);
  // Back after its lease: a new session.
  ASSERT_TRUE(table.Create("c", 4, kStart + absl::Seconds(30), &s).ok());
}

TEST(SessionTableTest, AHeldClientNeverExpiresItsLeaseStartsAtRelease) {
  SessionTable table(kLease, 10);
  SessionTable::Session s;
  ASSERT_TRUE(table.Create("c", 4, kStart, &s).ok());
  table.Hold("c");
  EXPECT_TRUE(table.Expire(kStart + absl::Hours(5)).empty());
  table.Release("c", kStart + absl::Hours(5));
  EXPECT_TRUE(table.Expire(kStart + absl::Hours(5) + kLease / 2).empty());
  EXPECT_EQ(table.Expire(kStart + absl::Hours(5) + kLease).size(), 1u);
}

TEST(SessionTableTest, RestoredClientsAreKnownAndExpireLikeOthers) {
  SessionTable table(kLease, 1);
  table.Restore("old", kStart);
  SessionTable::Session s;
  ASSERT_TRUE(table.Create("old", 4, kStart + absl::Seconds(1), &s).ok())
      << "a client found in the reply log is never refused for the limit";
  EXPECT_EQ(table.Expire(kStart + absl::Seconds(11)).size(), 1u);
}

TEST(SessionTableTest, NewClientsBeyondTheLimitAreRefusedKnownOnesNot) {
  SessionTable table(kLease, 2);
  SessionTable::Session s;
  ASSERT_TRUE(table.Create("a", 4, kStart, &s).ok());
  ASSERT_TRUE(table.Create("b", 4, kStart, &s).ok());
  absl::StatusOr<uint64_t> c = table.Create("c", 4, kStart, &s);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(table.Create("a", 4, kStart, &s).ok()) << "a known client may reconnect";
  EXPECT_EQ(table.Expire(kStart + kLease).size(), 2u);
  EXPECT_TRUE(table.Create("c", 4, kStart + kLease, &s).ok()) << "room again once expired";
}

TEST(SessionTableTest, DestroyDropsAnUnheldClient) {
  SessionTable table(kLease, 10);
  SessionTable::Session s;
  const uint64_t id = *table.Create("c", 4, kStart, &s);
  EXPECT_EQ(table.Destroy(id, kStart), "c");
  EXPECT_EQ(table.clients(), 0u);
  EXPECT_EQ(table.Destroy(id, kStart), "");
  EXPECT_EQ(table.Find(id, kStart, &s), SessionTable::Lookup::kExpired);
}

TEST(SessionTableTest, IdsOfAnotherTableAreUnknown) {
  SessionTable one(kLease, 10);
  SessionTable two(kLease, 10);
  SessionTable::Session s;
  const uint64_t id = *one.Create("c", 4, kStart, &s);
  EXPECT_EQ(two.Find(id, kStart, &s), SessionTable::Lookup::kUnknown)
      << "a session of another filer (or an earlier run) is a stranger, not an expired one";
}

}  // namespace
}  // namespace filer
}  // namespace vifiler
