// Copyright 2026 The vifiler Authors.
//
// Export policy and set-ID bits, end to end on one filer: a host the exports do not cover is
// refused at once with NOT_EXPORTED (not retried for the failover deadline) and named in the
// filer's log; a read-only export serves reads and refuses every change, which does not
// happen; the most specific rule wins; set-user-ID bits (and set-group-ID bits on files) are
// cleared from the modes clients set unless the filer allows them.

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "tests/integration/single_filer_test.h"
#include "tests/integration/test_env.h"

namespace vifiler {
namespace testing {
namespace {

using client::Client;
using protocol::ErrorCode;

class ExportsTest : public SingleFilerTest {
 protected:
  ExportsTest() : SingleFilerTest("vifiler-exports-test") {}
  // (Re)starts filer-a with these flags; waits by its admin port (a client may be refused).
  void StartFiler(std::vector<std::string> flags) { StartFilerUntilUp(std::move(flags)); }

  absl::StatusOr<std::unique_ptr<Client>> Connect() {
    client::ClientOptions o = TestClientOptions(hosts_);
    o.failover_deadline = absl::Seconds(20);
    return Client::Connect("filer-a", o);
  }
};

TEST_F(ExportsTest, AHostNoRuleCoversIsRefusedAtOnceAndNamed) {
  // 192.0.2.0/24 is TEST-NET-1: never the test client's address.
  ASSERT_NO_FATAL_FAILURE(StartFiler({"--exports=192.0.2.0/24"}));
  const absl::Time start = absl::Now();
  auto c = Connect();
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kPermissionDenied) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "not exported to this host")) << c.status();
  EXPECT_LT(took, Scaled(absl::Seconds(3))) << "retried instead of giving up: " << c.status();
  EXPECT_TRUE(absl::StrContains(filer_->Log(), "is not exported to")) << filer_->Log();
  auto status = AdminStatus(fabric_.address_a);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["exports"], "192.0.2.0/24(rw)");
}

TEST_F(ExportsTest, AReadOnlyExportServesReadsAndRefusesEveryChange) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  {
    auto c = Connect();
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Mkdir("/d").ok());
    auto f = (*c)->Create("/d/file");
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE(f->Write(0, "original").ok());
  }
  // The most specific rule covering the client is `*(ro)`: TEST-NET's rw rule does not apply.
  ASSERT_NO_FATAL_FAILURE(StartFiler({"--exports=*(ro),192.0.2.0/24(rw)"}));
  auto c = Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  auto f = (*c)->Open("/d/file");
  ASSERT_TRUE(f.ok()) << f.status();
  char buffer[16] = {};
  auto n = f->Read(0, absl::MakeSpan(buffer, sizeof(buffer)));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(buffer, *n), "original");
  EXPECT_TRUE((*c)->List("/d").ok());

  const absl::Status wrote = f->Write(0, "changed!").status();
  EXPECT_EQ(client::ErrorCodeOf(wrote), ErrorCode::kReadOnly) << wrote;
  EXPECT_EQ(wrote.code(), absl::StatusCode::kPermissionDenied) << wrote;
  EXPECT_EQ(client::ErrorCodeOf((*c)->Mkdir("/e")), ErrorCode::kReadOnly);
  EXPECT_EQ(client::ErrorCodeOf((*c)->Remove("/d/file")), ErrorCode::kReadOnly);
  EXPECT_EQ(client::ErrorCodeOf((*c)->Rename("/d/file", "/d/moved")), ErrorCode::kReadOnly);
  EXPECT_EQ(client::ErrorCodeOf((*c)->Create("/d/new").status()), ErrorCode::kReadOnly);
  EXPECT_EQ(client::ErrorCodeOf(f->Truncate(0)), ErrorCode::kReadOnly);
  // Nothing changed.
  n = f->Read(0, absl::MakeSpan(buffer, sizeof(buffer)));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(buffer, *n), "original");
  struct stat st;
  EXPECT_NE(stat((volume_ + "/e").c_str(), &st), 0);
  EXPECT_NE(stat((volume_ + "/d/new").c_str(), &st), 0);
  EXPECT_EQ(stat((volume_ + "/d/file").c_str(), &st), 0);
}

TEST_F(ExportsTest, SetIdBitsAreClearedUnlessAllowed) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  {
    auto c = Connect();
    ASSERT_TRUE(c.ok()) << c.status();
    auto f = (*c)->Create("/tool", 06755);
    ASSERT_TRUE(f.ok()) << f.status();
    auto attr = f->Stat();
    ASSERT_TRUE(attr.ok());
    EXPECT_EQ(attr->mode, 0755u) << std::oct << attr->mode;
    protocol::SetAttrRequest set;
    set.handle = f->handle();
    set.mask = protocol::kSetMode;
    set.mode = 04711;
    auto after = (*c)->SetAttr(set);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(after->mode, 0711u) << std::oct << after->mode;
    // A directory keeps its set-group-ID bit (its entries inherit its group), not set-user-ID.
    ASSERT_TRUE((*c)->Mkdir("/shared", 06775).ok());
    auto dir = (*c)->Stat("/shared");
    ASSERT_TRUE(dir.ok());
    EXPECT_EQ(dir->mode, 02775u) << std::oct << dir->mode;
    struct stat st;
    ASSERT_EQ(stat((volume_ + "/tool").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711u) << "on the filer host";
  }
  ASSERT_NO_FATAL_FAILURE(StartFiler({"--allow_setid"}));
  auto c = Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  auto f = (*c)->Create("/allowed", 06755);
  ASSERT_TRUE(f.ok()) << f.status();
  auto attr = f->Stat();
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->mode, 06755u) << std::oct << attr->mode;
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
