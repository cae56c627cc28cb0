// Copyright 2026 The vifiler Authors.
//
// Per-user access control end to end on one filer (issue 11): a session carries its client's
// uid, gid and groups (AUTH_SYS: the test process is root, so it may claim any user, as any
// host an export admits may); the filer enforces permission bits for that user, so a client
// acting as uid 1000 cannot write, truncate or unlink another user's file nor create in a
// directory it may not write, and what it creates is its own on the filer's disk. Root is
// squashed to the anonymous ids by default (its files belong to 65534, it cannot chmod the
// volume's top); `no_root_squash` keeps it root; `all_squash` makes everyone anonymous. A
// client is the same user after it reconnects; the command line and the C API act as the user
// they are given. A session asking for more than 16 groups is refused with a clear error while
// other clients are served on.

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "clientlib/client.h"
#include "clientlib/vifiler_client.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "tests/integration/raw_session.h"
#include "tests/integration/test_env.h"
#include "tools/run_command.h"

namespace vifiler {
namespace testing {
namespace {

using client::Client;
using client::ClientCredentials;
using protocol::ErrorCode;

class UsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the filer must run as root to act as its clients";
    fabric_ = GetTestFabric();
    ASSERT_FALSE(fabric_.address_a.empty()) << "no address for fabric " << fabric_.fabric;
    dir_ = MakeScratchDir("vifiler-users-test");
    ASSERT_FALSE(dir_.empty());
    volume_ = dir_ + "/volume-a";
    ASSERT_EQ(mkdir(volume_.c_str(), 0755), 0);
    hosts_ = WritePairHostsFile(dir_, fabric_);
  }
  void TearDown() override {
    if (filer_ != nullptr) filer_->Stop();
    if (HasFailure() && filer_ != nullptr) {
      fprintf(stderr, "filer log:\n%s\n", filer_->Log().c_str());
    }
    if (!dir_.empty()) RemoveTree(dir_);
  }

  void StartFiler(std::vector<std::string> flags) {
    if (filer_ != nullptr) filer_->Stop();
    filer_ = std::make_unique<FilerProcess>("filer-a", volume_, fabric_.address_a, hosts_,
                                            dir_ + "/filer-a.log", std::move(flags));
    ASSERT_TRUE(filer_->StartNoWait().ok());
    ASSERT_TRUE(WaitForStatus(fabric_.address_a, "state", "up", Scaled(absl::Seconds(20))).ok())
        << filer_->Log();
  }

  // std::nullopt: the test process's own credentials (root).
  absl::StatusOr<std::unique_ptr<Client>> Connect(std::optional<ClientCredentials> as) {
    client::ClientOptions o = TestClientOptions(hosts_);
    o.failover_deadline = absl::Seconds(20);
    o.credentials = std::move(as);
    return Client::Connect("filer-a", o);
  }

  // Makes PATH (under the volume, on the filer's disk) as the filer's administrator would.
  void MakeOnDisk(const std::string& path, bool directory, mode_t mode, uid_t uid, gid_t gid) {
    const std::string full = volume_ + path;
    if (directory) {
      ASSERT_EQ(mkdir(full.c_str(), mode), 0) << full;
    } else {
      FILE* f = fopen(full.c_str(), "w");
      ASSERT_NE(f, nullptr) << full;
      fputs("theirs", f);
      fclose(f);
    }
    ASSERT_EQ(chown(full.c_str(), uid, gid), 0) << full;
    ASSERT_EQ(chmod(full.c_str(), mode), 0) << full;
  }

  struct stat OnDisk(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat((volume_ + path).c_str(), &st), 0) << path;
    return st;
  }

  TestFabric fabric_;
  std::string dir_, volume_, hosts_;
  std::unique_ptr<FilerProcess> filer_;
};

const ClientCredentials kUser{1000, 1000, {}};

TEST_F(UsersTest, PermissionBitsAreEnforcedForTheSessionsUser) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  // A fresh, empty volume's top is 1777 (sticky: nobody removes another user's entries).
  EXPECT_EQ(OnDisk("").st_mode & 07777, 01777u);
  // Another user's (2000) file and directory, and a directory of user 1000's own.
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/theirs", false, 0644, 2000, 2000));
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/secret", false, 0600, 2000, 2000));
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/their-dir", true, 0755, 2000, 2000));
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/home", true, 0755, 1000, 1000));

  auto c = Connect(kUser);
  ASSERT_TRUE(c.ok()) << c.status();
  // Reading a 0644 file is allowed; writing, truncating and unlinking it are not.
  auto theirs = (*c)->Open("/theirs");
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  char buffer[16] = {};
  auto n = theirs->Read(0, absl::MakeSpan(buffer, sizeof(buffer)));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(buffer, *n), "theirs");
  const absl::Status wrote = theirs->Write(0, "mine!").status();
  EXPECT_EQ(client::ErrorCodeOf(wrote), ErrorCode::kAccess) << wrote;
  EXPECT_EQ(wrote.code(), absl::StatusCode::kPermissionDenied) << wrote;
  EXPECT_EQ(client::ErrorCodeOf(theirs->Truncate(0)), ErrorCode::kAccess);
  EXPECT_EQ(client::ErrorCodeOf((*c)->Remove("/theirs")), ErrorCode::kAccess)
      << "the top is sticky: only the owner removes";
  EXPECT_EQ(client::ErrorCodeOf((*c)->Rename("/theirs", "/stolen")), ErrorCode::kAccess);
  EXPECT_EQ(client::ErrorCodeOf((*c)->Create("/theirs").status()), ErrorCode::kAccess)
      << "open-or-create of a file it may not write";
  // A 0600 file of another user cannot be read, directly or as a large (direct) read.
  auto secret = (*c)->Open("/secret");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(client::ErrorCodeOf(secret->Read(0, absl::MakeSpan(buffer, sizeof(buffer))).status()),
            ErrorCode::kAccess);
  std::string big(256 * 1024, '\0');
  EXPECT_EQ(client::ErrorCodeOf(secret->Read(0, absl::MakeSpan(big)).status()), ErrorCode::kAccess);
  // No creating in a 0755 directory of another user.
  EXPECT_EQ(client::ErrorCodeOf((*c)->Create("/their-dir/new").status()), ErrorCode::kAccess);
  EXPECT_EQ(client::ErrorCodeOf((*c)->Mkdir("/their-dir/sub")), ErrorCode::kAccess);
  // Nothing changed on the filer.
  EXPECT_EQ(OnDisk("/theirs").st_size, 6);
  struct stat st;
  EXPECT_NE(stat((volume_ + "/their-dir/new").c_str(), &st), 0);
  EXPECT_NE(stat((volume_ + "/stolen").c_str(), &st), 0);

  // In its own directory it creates, writes and removes; what it creates is its own.
  auto mine = (*c)->Create("/home/mine", 0644);
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_TRUE(mine->Write(0, "hello").ok());
  st = OnDisk("/home/mine");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);
  ASSERT_TRUE((*c)->Mkdir("/top-level-of-mine").ok()) << "the 1777 top takes everyone's";
  EXPECT_EQ(OnDisk("/top-level-of-mine").st_uid, 1000u);
  // A file its creator made read-only is still written through the handle that made it.
  auto read_only = (*c)->Create("/home/read-only", 0444);
  ASSERT_TRUE(read_only.ok()) << read_only.status();
  EXPECT_TRUE(read_only->Write(0, "kept").ok());
  EXPECT_TRUE((*c)->Remove("/home/mine").ok());

  // Another user sharing the group: the group bits decide.
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/group-file", false, 0660, 2000, 3000));
  EXPECT_EQ(client::ErrorCodeOf((*c)->Open("/group-file")->Write(0, "x").status()),
            ErrorCode::kAccess);
  auto member = Connect(ClientCredentials{1001, 1001, {3000}});
  ASSERT_TRUE(member.ok()) << member.status();
  auto group_file = (*member)->Open("/group-file");
  ASSERT_TRUE(group_file.ok()) << group_file.status();
  EXPECT_TRUE(group_file->Write(0, "x").ok()) << "a member of its group may write it";
}

TEST_F(UsersTest, RootIsSquashedByDefault) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  auto status = AdminStatus(fabric_.address_a);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["exports"], "*(rw,root_squash)");
  EXPECT_EQ((*status)["anon_ids"], "65534:65534");
  EXPECT_EQ((*status)["user_identity"], "enforced");

  auto c = Connect(std::nullopt);  // the test process: root
  ASSERT_TRUE(c.ok()) << c.status();
  auto f = (*c)->Create("/by-root");
  ASSERT_TRUE(f.ok()) << f.status();
  struct stat st = OnDisk("/by-root");
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
  // Squashed root is nobody: it cannot change the volume's top, nor read root's secrets.
  protocol::SetAttrRequest chmod_top;
  chmod_top.handle = (*c)->root();
  chmod_top.mask = protocol::kSetMode;
  chmod_top.mode = 0777;
  EXPECT_EQ(client::ErrorCodeOf((*c)->SetAttr(chmod_top).status()), ErrorCode::kAccess);
  EXPECT_EQ(OnDisk("").st_mode & 07777, 01777u);
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/roots", false, 0600, 0, 0));
  auto roots = (*c)->Open("/roots");
  ASSERT_TRUE(roots.ok()) << roots.status();
  char buffer[8];
  EXPECT_EQ(client::ErrorCodeOf(roots->Read(0, absl::MakeSpan(buffer, sizeof(buffer))).status()),
            ErrorCode::kAccess);
}

TEST_F(UsersTest, NoRootSquashKeepsRootAndAllSquashMakesEveryoneAnonymous) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({"--exports=*(rw,no_root_squash)"}));
  {
    auto status = AdminStatus(fabric_.address_a);
    ASSERT_TRUE(status.ok());
    EXPECT_EQ((*status)["exports"], "*(rw,no_root_squash)");
    auto c = Connect(std::nullopt);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Create("/by-root").ok());
    EXPECT_EQ(OnDisk("/by-root").st_uid, 0u);
    EXPECT_EQ(OnDisk("/by-root").st_gid, 0u);
    protocol::SetAttrRequest chmod_top;
    chmod_top.handle = (*c)->root();
    chmod_top.mask = protocol::kSetMode;
    chmod_top.mode = 0755;
    EXPECT_TRUE((*c)->SetAttr(chmod_top).ok());
    EXPECT_EQ(OnDisk("").st_mode & 07777, 0755u);
    // A user is still that user.
    auto user = Connect(kUser);
    ASSERT_TRUE(user.ok()) << user.status();
    EXPECT_EQ(client::ErrorCodeOf((*user)->Create("/by-user").status()), ErrorCode::kAccess)
        << "the top is 0755 root's now";
  }
  ASSERT_NO_FATAL_FAILURE(
      StartFiler({"--exports=*(all_squash)", "--anon_uid=3000", "--anon_gid=3001"}));
  ASSERT_EQ(chmod(volume_.c_str(), 01777), 0);
  auto c = Connect(kUser);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Create("/anonymous").ok());
  EXPECT_EQ(OnDisk("/anonymous").st_uid, 3000u);
  EXPECT_EQ(OnDisk("/anonymous").st_gid, 3001u);
}

TEST_F(UsersTest, AReconnectingClientIsTheSameUser) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  auto c = Connect(ClientCredentials{1000, 1001, {3000}});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Create("/before").ok());
  EXPECT_EQ(OnDisk("/before").st_uid, 1000u);
  // The filer restarts: the client's new session carries the same credentials.
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  ASSERT_TRUE((*c)->Create("/after").ok());
  const struct stat st = OnDisk("/after");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_GE((*c)->stats().reconnects, 1u);
}

TEST_F(UsersTest, TheCommandLineActsAsTheUserItIsGiven) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/home", true, 0755, 1000, 1000));
  auto vifiler = [&](std::vector<std::string> args, std::string* err) {
    std::vector<std::string> argv = {BinaryPath("VIFILER"), "--hosts_file=" + hosts_,
                                     "--fabric=" + fabric_.fabric, "--noenable_failover"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    absl::StatusOr<int> rc = RunCommand(argv, &out, err, absl::Seconds(30));
    return rc.ok() ? *rc : -1;
  };
  std::string err;
  EXPECT_EQ(vifiler({"--uid=1000", "--gid=1000", "mkdir", "filer-a:/home/sub"}, &err), 0) << err;
  EXPECT_EQ(OnDisk("/home/sub").st_uid, 1000u);
  EXPECT_NE(vifiler({"--uid=1001", "--gid=1001", "mkdir", "filer-a:/home/not-yours"}, &err), 0);
  EXPECT_TRUE(absl::StrContains(err, "PERMISSION_DENIED") || absl::StrContains(err, "ACCESS"))
      << err;
  EXPECT_NE(
      vifiler({"--groups=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "ls", "filer-a:/"}, &err), 0)
      << "17 groups";
}

TEST_F(UsersTest, TheCApiConnectsAsAUserAndGetsEacces) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/home", true, 0755, 1000, 1000));
  ASSERT_NO_FATAL_FAILURE(MakeOnDisk("/theirs", true, 0755, 2000, 2000));
  vifiler_options_t options;
  vifiler_options_init(&options);
  options.fabric = fabric_.fabric.c_str();
  options.hosts_file = hosts_.c_str();
  options.failover_deadline_ms = 20000;
  const uint32_t groups[] = {3000};
  vifiler_t* v = nullptr;
  ASSERT_EQ(vifiler_connect_as("filer-a", &options, 1000, 1000, groups, 1, &v), VIFILER_OK)
      << vifiler_last_error();
  vifiler_file_t file;
  EXPECT_EQ(vifiler_create(v, "/theirs/new", 0644, &file), VIFILER_EACCES) << vifiler_last_error();
  EXPECT_EQ(vifiler_mkdir(v, "/home/c", 0755), VIFILER_OK) << vifiler_last_error();
  EXPECT_EQ(OnDisk("/home/c").st_uid, 1000u);
  vifiler_disconnect(v);
}

TEST_F(UsersTest, MoreThanSixteenGroupsAreRefusedAndOthersServedOn) {
  ASSERT_NO_FATAL_FAILURE(StartFiler({}));
  auto other = Connect(kUser);
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE((*other)->Mkdir("/others").ok());

  // Through the library: refused before anything is sent, saying why.
  ClientCredentials many{1000, 1000, {}};
  for (uint32_t g = 1; g <= protocol::kMaxGroups + 1; ++g) many.groups.push_back(g);
  const absl::Time start = absl::Now();
  auto refused = Connect(many);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "17 supplementary groups"))
      << refused.status();
  EXPECT_LT(absl::Now() - start, Scaled(absl::Seconds(3)));

  // On the wire: the filer refuses the session as malformed and serves the connection on.
  RawSession raw;
  ASSERT_TRUE(raw.Open(fabric_, "raw-many-groups").ok());
  protocol::SessionCreateRequest create;
  create.client_id = "raw-many-groups-2";
  create.slots = 1;
  create.uid = 1000;
  create.gid = 1000;
  create.groups = many.groups;
  protocol::MessageHeader header;
  header.opcode = protocol::Opcode::kSessionCreate;
  auto reply = raw.Call(protocol::EncodeMessage(header, create));
  ASSERT_TRUE(reply.ok()) << reply.status();
  auto reply_header = protocol::DecodeHeader(*reply);
  ASSERT_TRUE(reply_header.ok()) << reply_header.status();
  EXPECT_EQ(reply_header->status, ErrorCode::kBadRequest);
  EXPECT_TRUE(absl::StrContains(filer_->Log(), "17 supplementary groups: at most 16"))
      << "the filer says why";
  create.groups.resize(protocol::kMaxGroups);
  reply = raw.Call(protocol::EncodeMessage(header, create));
  ASSERT_TRUE(reply.ok()) << reply.status();
  reply_header = protocol::DecodeHeader(*reply);
  ASSERT_TRUE(reply_header.ok()) << reply_header.status();
  EXPECT_EQ(reply_header->status, ErrorCode::kOk) << "16 groups are fine, on the same connection";

  // The other client was served throughout.
  auto f = (*other)->Create("/others/still-served");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->Write(0, "yes").ok());
  EXPECT_EQ(OnDisk("/others/still-served").st_uid, 1000u);
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
