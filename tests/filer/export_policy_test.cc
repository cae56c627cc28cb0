// Copyright 2026 The vifiler Authors.
//
// ExportPolicy: parsing (and refusing) rules, the most specific rule winning, IPv4 and IPv6,
// peer addresses with ports, and the default of every address read-write.

#include "filer/export_policy.h"

#include "gtest/gtest.h"

namespace vifiler {
namespace filer {
namespace {

using Access = ExportPolicy::Access;

ExportPolicy Parsed(const std::string& spec) {
  absl::StatusOr<ExportPolicy> p = ExportPolicy::Parse(spec);
  EXPECT_TRUE(p.ok()) << spec << ": " << p.status();
  return p.ok() ? *p : ExportPolicy();
}

TEST(ExportPolicyTest, DefaultIsEveryAddressReadWrite) {
  ExportPolicy p;
  EXPECT_EQ(p.Check("10.1.2.3:4000"), Access::kReadWrite);
  EXPECT_EQ(p.Check("[fe80::1]:7300"), Access::kReadWrite);
  EXPECT_EQ(p.ToString(), "*(rw)");
}

TEST(ExportPolicyTest, TheMostSpecificRuleWins) {
  ExportPolicy p = Parsed("10.0.0.0/8(ro), 10.1.0.0/16 , 10.1.2.3(ro)");
  EXPECT_EQ(p.Check("10.9.9.9:1"), Access::kReadOnly);
  EXPECT_EQ(p.Check("10.1.9.9:1"), Access::kReadWrite);
  EXPECT_EQ(p.Check("10.1.2.3:1"), Access::kReadOnly);
  EXPECT_EQ(p.Check("10.1.2.3"), Access::kReadOnly) << "without a port";
  EXPECT_EQ(p.Check("11.0.0.1:1"), Access::kDenied) << "no rule covers it";
  EXPECT_EQ(p.ToString(), "10.0.0.0/8(ro),10.1.0.0/16(rw),10.1.2.3/32(ro)");
  // `*` is the least specific of all, whatever its place.
  p = Parsed("192.168.1.0/24(rw),*(ro)");
  EXPECT_EQ(p.Check("192.168.1.7:9"), Access::kReadWrite);
  EXPECT_EQ(p.Check("192.168.2.7:9"), Access::kReadOnly);
}

TEST(ExportPolicyTest, PrefixesThatAreNotWholeBytes) {
  ExportPolicy p = Parsed("172.16.0.0/12");
  EXPECT_EQ(p.Check("172.31.255.255:1"), Access::kReadWrite);
  EXPECT_EQ(p.Check("172.32.0.0:1"), Access::kDenied);
  EXPECT_EQ(p.Check("172.15.255.255:1"), Access::kDenied);
  p = Parsed("0.0.0.0/0(ro)");
  EXPECT_EQ(p.Check("1.2.3.4:5"), Access::kReadOnly);
  EXPECT_EQ(p.Check("[::1]:5"), Access::kDenied) << "an IPv4 rule never covers IPv6";
}

TEST(ExportPolicyTest, Ipv6) {
  ExportPolicy p = Parsed("fd00::/8,fd00:1::5(ro)");
  EXPECT_EQ(p.Check("[fd12:3456::1]:7300"), Access::kReadWrite);
  EXPECT_EQ(p.Check("[fd00:1::5]:7300"), Access::kReadOnly);
  EXPECT_EQ(p.Check("fd00:1::5"), Access::kReadOnly) << "bare";
  EXPECT_EQ(p.Check("[fe80::1]:7300"), Access::kDenied);
  EXPECT_EQ(p.Check("10.0.0.1:1"), Access::kDenied);
}

TEST(ExportPolicyTest, UnreadableAddressesAreDenied) {
  ExportPolicy p;
  EXPECT_EQ(p.Check(""), Access::kDenied);
  EXPECT_EQ(p.Check("?"), Access::kDenied);
  EXPECT_EQ(p.Check("host.example:1"), Access::kDenied);
}

TEST(ExportPolicyTest, BadRulesAreRefusedWithTheRule) {
  for (const char* bad :
       {"", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/x", "10.0.0", "ten", "10.0.0.1(rx)",
        "10.0.0.1(ro", "10.0.0.1,,10.0.0.2", "::1/129", "10.0.0.1/8/8"}) {
    absl::StatusOr<ExportPolicy> p = ExportPolicy::Parse(bad);
    EXPECT_FALSE(p.ok()) << "'" << bad << "' accepted as " << p->ToString();
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(p.status().message().find("export rule"), std::string::npos) << p.status();
    }
  }
}

}  // namespace
}  // namespace filer
}  // namespace vifiler
