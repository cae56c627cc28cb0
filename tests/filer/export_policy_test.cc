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
  EXPECT_EQ(p.ToString(), "*(rw,root_squash)");
}

TEST(ExportPolicyTest, TheMostSpecificRuleWins) {
  ExportPolicy p = Parsed("10.0.0.0/8(ro), 10.1.0.0/16 , 10.1.2.3(ro)");
  EXPECT_EQ(p.Check("10.9.9.9:1"), Access::kReadOnly);
  EXPECT_EQ(p.Check("10.1.9.9:1"), Access::kReadWrite);
  EXPECT_EQ(p.Check("10.1.2.3:1"), Access::kReadOnly);
  EXPECT_EQ(p.Check("10.1.2.3"), Access::kReadOnly) << "without a port";
  EXPECT_EQ(p.Check("11.0.0.1:1"), Access::kDenied) << "no rule covers it";
  EXPECT_EQ(p.ToString(),
            "10.0.0.0/8(ro,root_squash),10.1.0.0/16(rw,root_squash),10.1.2.3/32(ro,root_squash)");
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
        "10.0.0.1(ro", "10.0.0.1,,10.0.0.2", "::1/129", "10.0.0.1/8/8", "10.0.0.1(ro,rw)",
        "10.0.0.1(root_squash,all_squash)", "10.0.0.1(rw,)", "10.0.0.1(no_squash)",
        "*(rw,no_root_squash", "10.0.0.1(rw,ro)"}) {
    absl::StatusOr<ExportPolicy> p = ExportPolicy::Parse(bad);
    EXPECT_FALSE(p.ok()) << "'" << bad << "' accepted as " << p->ToString();
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(p.status().message().find("export rule"), std::string::npos) << p.status();
    }
  }
}

TEST(ExportPolicyTest, SquashOptions) {
  absl::StatusOr<ExportPolicy> p = ExportPolicy::Parse(
      "10.0.0.0/8(rw,no_root_squash), 10.1.0.0/16( ro , all_squash ),10.2.0.0/16(root_squash),"
      "*(no_root_squash)");
  ASSERT_TRUE(p.ok()) << p.status();
  ExportPolicy::Export e = p->Lookup("10.9.9.9:1");
  EXPECT_EQ(e.access, Access::kReadWrite);
  EXPECT_EQ(e.squash, Squash::kNone);
  e = p->Lookup("10.1.2.3:1");
  EXPECT_EQ(e.access, Access::kReadOnly);
  EXPECT_EQ(e.squash, Squash::kAll);
  e = p->Lookup("10.2.2.3:1");
  EXPECT_EQ(e.access, Access::kReadWrite) << "rw by default";
  EXPECT_EQ(e.squash, Squash::kRoot);
  e = p->Lookup("192.0.2.1:1");
  EXPECT_EQ(e.access, Access::kReadWrite);
  EXPECT_EQ(e.squash, Squash::kNone);
  EXPECT_EQ(p->ToString(),
            "10.0.0.0/8(rw,no_root_squash),10.1.0.0/16(ro,all_squash),"
            "10.2.0.0/16(rw,root_squash),*(rw,no_root_squash)");
  // The canonical form parses back to itself.
  absl::StatusOr<ExportPolicy> again = ExportPolicy::Parse(p->ToString());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ToString(), p->ToString());
}

TEST(ExportPolicyTest, RootIsSquashedByDefault) {
  EXPECT_EQ(ExportPolicy().Lookup("10.0.0.1:1").squash, Squash::kRoot);
  absl::StatusOr<ExportPolicy> p = ExportPolicy::Parse("10.0.0.0/8(ro)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Lookup("10.0.0.1:1").squash, Squash::kRoot);
  EXPECT_EQ(p->Lookup("11.0.0.1:1").access, Access::kDenied);
}

TEST(CredentialsTest, Squashing) {
  const Credentials root{0, 0, {0, 5}};
  const Credentials user{1000, 0, {0, 100}};
  EXPECT_EQ(SquashCredentials(root, Squash::kNone, 65534, 65533), root);
  EXPECT_EQ(SquashCredentials(root, Squash::kRoot, 65534, 65533),
            (Credentials{65534, 65533, {65533, 5}}));
  EXPECT_EQ(SquashCredentials(user, Squash::kRoot, 65534, 65533),
            (Credentials{1000, 65533, {65533, 100}}))
      << "gid 0 is squashed whoever the user, as Linux's nfsd does";
  EXPECT_EQ(SquashCredentials(user, Squash::kAll, 7, 8), (Credentials{7, 8, {}}));
  EXPECT_EQ(CredentialsToString(Credentials{1000, 100, {100, 27}}),
            "uid=1000 gid=100 groups=100,27");
}

}  // namespace
}  // namespace filer
}  // namespace vifiler
