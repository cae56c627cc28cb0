// Copyright 2026 The vifiler Authors.
//
// VolumeService with its reply log: a crash between a namespace operation and its reply
// record (the cause of mutations executed twice after failovers) is resolved from the durable
// intent by the next owner, in both directions (it ran / it did not run); acknowledged
// replies survive a power cut; a filer that lost its lease cannot record; durable-or-nothing.

#include "filer/volume_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "filer/sequence_window.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "storage/memory_disk.h"

namespace vifiler {
namespace filer {
namespace {

namespace fs = std::filesystem;
using protocol::ErrorCode;
using protocol::Opcode;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "service_test.XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A guard that says yes until told to refuse from its N-th call on (counting from now).
class Guard {
 public:
  absl::Status Check() {
    const int call = ++calls_;
    if (refuse_from_ > 0 && call >= refuse_from_) {
      return absl::FailedPreconditionError("lease expired (test)");
    }
    return absl::OkStatus();
  }
  void RefuseFromCall(int n) { refuse_from_ = calls_.load() + n; }
  void Allow() { refuse_from_ = 0; }

 private:
  std::atomic<int> calls_{0};
  std::atomic<int> refuse_from_{0};
};

// One filer's view of the volume: service + log on the shared test disk.
class Owner {
 public:
  Owner(const std::string& root, const std::shared_ptr<storage::MemoryDisk>& disk, uint64_t epoch,
        Guard* guard, Limits limits = Limits()) {
    auto volume = Volume::Open(root);
    EXPECT_TRUE(volume.ok()) << volume.status();
    ServiceOptions o;
    o.filer_name = "filer-test";
    o.epoch = epoch;
    o.limits = limits;
    auto service = VolumeService::Open(std::move(*volume), disk->Open(), o,
                                       [guard] { return guard->Check(); });
    EXPECT_TRUE(service.ok()) << service.status();
    if (service.ok()) service_ = std::move(*service);
  }
  VolumeService* service() { return service_.get(); }

  // Sends one request; returns the reply header (status) and body.
  template <typename Body>
  absl::Status Call(Opcode op, uint32_t slot, uint64_t sequence, const Body& body,
                    protocol::MessageHeader* reply_header, std::string* reply = nullptr) {
    protocol::MessageHeader h;
    h.opcode = op;
    h.session_id = session_;
    h.slot = slot;
    h.sequence = sequence;
    h.flags = flags_;
    std::string out;
    VolumeService::Channel channel(nullptr);
    absl::Status s = service_->Handle(&channel, protocol::EncodeMessage(h, body), &out);
    if (!s.ok()) return s;
    absl::StatusOr<protocol::MessageHeader> decoded = protocol::DecodeHeader(out);
    if (!decoded.ok()) return decoded.status();
    *reply_header = *decoded;
    if (reply != nullptr) *reply = out;
    return absl::OkStatus();
  }

  void OpenSession(const std::string& client_id) {
    protocol::SessionCreateRequest r;
    r.client_id = client_id;
    r.slots = 8;
    protocol::MessageHeader h;
    std::string out;
    ASSERT_TRUE(Call(Opcode::kSessionCreate, 0, 0, r, &h, &out).ok());
    protocol::SessionCreateReply created;
    ASSERT_TRUE(protocol::DecodeMessageBody(out, &created).ok());
    session_ = created.session_id;
    slots_ = created.slots;
    root_ = created.root;
  }
  const protocol::FileHandle& root() const { return root_; }
  uint64_t session() const { return session_; }
  void set_session(uint64_t session) { session_ = session; }
  // Flags of the requests sent from now on (kFlagReplay: a resend).
  void set_flags(uint32_t flags) { flags_ = flags; }
  uint32_t granted_slots() const { return slots_; }

 private:
  std::unique_ptr<VolumeService> service_;
  uint64_t session_ = 0;
  uint32_t flags_ = 0;
  uint32_t slots_ = 0;
  protocol::FileHandle root_;
};

class ServiceTest : public ::testing::Test {
 protected:
  bool Exists(const std::string& name) { return fs::exists(dir_.path() + "/" + name); }
  TempDir dir_;
  std::shared_ptr<storage::MemoryDisk> disk_ = storage::MemoryDisk::Create(1 << 20);
  Guard guard_;
};

protocol::GetAttrRequest GetAttrOf(const protocol::FileHandle& handle) {
  protocol::GetAttrRequest r;
  r.handle = handle;
  return r;
}

protocol::MkdirRequest MkdirOf(const protocol::FileHandle& root, const std::string& name) {
  protocol::MkdirRequest r;
  r.dir = root;
  r.name = name;
  r.mode = 0750;
  return r;
}

// The log's guard calls for one namespace operation: (1) the service before it starts,
// (2) the log before writing the intent, (3) the service after the intent is durable,
// (4) the log before writing the reply.
constexpr int kBeforeReplyRecord = 4;
constexpr int kBeforeExecuting = 3;

TEST_F(ServiceTest, CrashBetweenMkdirAndItsReplyIsAnsweredOnceByTheNextOwner) {
  {
    Owner a(dir_.path(), disk_, 1, &guard_);
    a.OpenSession("client-1");
    guard_.RefuseFromCall(kBeforeReplyRecord);
    protocol::MessageHeader h;
    absl::Status s = a.Call(Opcode::kMkdir, 3, 100, MkdirOf(a.root(), "d"), &h);
    EXPECT_FALSE(s.ok()) << "a reply that could not be recorded was sent";
    EXPECT_TRUE(Exists("d")) << "the mkdir should have run";
    EXPECT_FALSE(a.service()->status().ok());
  }
  disk_->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  guard_.Allow();
  Owner b(dir_.path(), disk_, 2, &guard_);
  EXPECT_EQ(b.service()->counters().resolved_intents, 1u);
  b.OpenSession("client-1");
  protocol::MessageHeader h;
  ASSERT_TRUE(b.Call(Opcode::kMkdir, 3, 100, MkdirOf(b.root(), "d"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk) << protocol::ErrorCodeName(h.status);
  EXPECT_TRUE(h.flags & protocol::kFlagReplay) << "executed again instead of answered";
  EXPECT_EQ(fs::status(dir_.path() + "/d").permissions() & fs::perms::all,
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  // The next request on the slot executes normally.
  ASSERT_TRUE(b.Call(Opcode::kMkdir, 3, 101, MkdirOf(b.root(), "e"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk);
}

TEST_F(ServiceTest, IntentOfAnOperationThatNeverRanIsResolvedAsNotRun) {
  {
    Owner a(dir_.path(), disk_, 1, &guard_);
    a.OpenSession("client-1");
    guard_.RefuseFromCall(kBeforeExecuting);
    protocol::MessageHeader h;
    EXPECT_FALSE(a.Call(Opcode::kMkdir, 0, 7, MkdirOf(a.root(), "d"), &h).ok());
    EXPECT_FALSE(Exists("d"));
  }
  disk_->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  guard_.Allow();
  {
    Owner b(dir_.path(), disk_, 2, &guard_);
    EXPECT_EQ(b.service()->counters().resolved_intents, 1u);
    // Someone else creates the name meanwhile; after another crash the old intent must not be
    // mistaken for having run.
    b.OpenSession("client-2");
    protocol::MessageHeader h;
    ASSERT_TRUE(b.Call(Opcode::kMkdir, 0, 1, MkdirOf(b.root(), "d"), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk);
  }
  disk_->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  Owner c(dir_.path(), disk_, 3, &guard_);
  EXPECT_EQ(c.service()->counters().resolved_intents, 0u);
  c.OpenSession("client-1");
  protocol::MessageHeader h;
  ASSERT_TRUE(c.Call(Opcode::kMkdir, 0, 7, MkdirOf(c.root(), "d"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kExists) << "client-1's mkdir ran (now) and found client-2's";
  EXPECT_FALSE(h.flags & protocol::kFlagReplay);
}

TEST_F(ServiceTest, RemoveRmdirRenameAndExclusiveCreateAreResolvedOnce) {
  {
    Owner a(dir_.path(), disk_, 1, &guard_);
    a.OpenSession("c");
    protocol::MessageHeader h;
    ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, 1, MkdirOf(a.root(), "dir"), &h).ok());
    protocol::CreateRequest f;
    f.dir = a.root();
    f.name = "file";
    f.mode = 0640;
    f.exclusive = true;
    ASSERT_TRUE(a.Call(Opcode::kCreate, 1, 1, f, &h).ok());
    f.name = "moved";
    ASSERT_TRUE(a.Call(Opcode::kCreate, 2, 1, f, &h).ok());
    ASSERT_EQ(h.status, ErrorCode::kOk);

    // Each of these runs, then the filer "dies" before recording its reply.
    protocol::RemoveRequest rm;
    rm.dir = a.root();
    rm.name = "file";
    guard_.RefuseFromCall(kBeforeReplyRecord);
    EXPECT_FALSE(a.Call(Opcode::kRemove, 1, 2, rm, &h).ok());
  }
  disk_->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  guard_.Allow();
  {
    Owner b(dir_.path(), disk_, 2, &guard_);
    b.OpenSession("c");
    protocol::MessageHeader h;
    protocol::RemoveRequest rm;
    rm.dir = b.root();
    rm.name = "file";
    ASSERT_TRUE(b.Call(Opcode::kRemove, 1, 2, rm, &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk) << "remove answered " << protocol::ErrorCodeName(h.status);
    EXPECT_TRUE(h.flags & protocol::kFlagReplay);

    protocol::RenameRequest mv;
    mv.from_dir = b.root();
    mv.from_name = "moved";
    mv.to_dir = b.root();
    mv.to_name = "renamed";
    guard_.RefuseFromCall(kBeforeReplyRecord);
    EXPECT_FALSE(b.Call(Opcode::kRename, 2, 2, mv, &h).ok());
    EXPECT_TRUE(Exists("renamed"));
  }
  disk_->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  guard_.Allow();
  {
    Owner c(dir_.path(), disk_, 3, &guard_);
    c.OpenSession("c");
    protocol::MessageHeader h;
    protocol::RenameRequest mv;
    mv.from_dir = c.root();
    mv.from_name = "moved";
    mv.to_dir = c.root();
    mv.to_name = "renamed";
    ASSERT_TRUE(c.Call(Opcode::kRename, 2, 2, mv, &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk) << "rename answered " << protocol::ErrorCodeName(h.status);

    protocol::RemoveRequest rd;
    rd.dir = c.root();
    rd.name = "dir";
    guard_.RefuseFromCall(kBeforeReplyRecord);
    EXPECT_FALSE(c.Call(Opcode::kRmdir, 0, 2, rd, &h).ok());
    EXPECT_FALSE(Exists("dir"));
  }
  disk_->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  guard_.Allow();
  {
    Owner d(dir_.path(), disk_, 4, &guard_);
    d.OpenSession("c");
    protocol::MessageHeader h;
    protocol::RemoveRequest rd;
    rd.dir = d.root();
    rd.name = "dir";
    ASSERT_TRUE(d.Call(Opcode::kRmdir, 0, 2, rd, &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk) << "rmdir answered " << protocol::ErrorCodeName(h.status);

    protocol::CreateRequest f;
    f.dir = d.root();
    f.name = "new";
    f.mode = 0600;
    f.exclusive = true;
    guard_.RefuseFromCall(kBeforeReplyRecord);
    EXPECT_FALSE(d.Call(Opcode::kCreate, 4, 9, f, &h).ok());
  }
  disk_->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  guard_.Allow();
  Owner e(dir_.path(), disk_, 5, &guard_);
  e.OpenSession("c");
  protocol::MessageHeader h;
  protocol::CreateRequest f;
  f.dir = e.root();
  f.name = "new";
  f.mode = 0600;
  f.exclusive = true;
  std::string out;
  ASSERT_TRUE(e.Call(Opcode::kCreate, 4, 9, f, &h, &out).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk) << "create answered " << protocol::ErrorCodeName(h.status);
  protocol::HandleReply created;
  ASSERT_TRUE(protocol::DecodeMessageBody(out, &created).ok());
  EXPECT_EQ(created.attr.mode, 0600u);
  EXPECT_EQ(created.attr.type, protocol::FileType::kRegular);
}

TEST_F(ServiceTest, AcknowledgedRepliesSurviveAPowerCut) {
  protocol::WriteReply first;
  {
    Owner a(dir_.path(), disk_, 1, &guard_);
    a.OpenSession("w");
    protocol::CreateRequest f;
    f.dir = a.root();
    f.name = "data";
    f.mode = 0644;
    protocol::MessageHeader h;
    std::string out;
    ASSERT_TRUE(a.Call(Opcode::kCreate, 0, 1, f, &h, &out).ok());
    protocol::HandleReply created;
    ASSERT_TRUE(protocol::DecodeMessageBody(out, &created).ok());
    protocol::WriteRequest w;
    w.handle = created.handle;
    w.offset = 0;
    w.data = "hello";
    w.length = 5;
    ASSERT_TRUE(a.Call(Opcode::kWrite, 1, 1, w, &h).ok());
    ASSERT_EQ(h.status, ErrorCode::kOk);
    EXPECT_EQ(disk_->unsynced_writes(), 0u) << "acknowledged before the log was synced";
  }
  disk_->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  Owner b(dir_.path(), disk_, 2, &guard_);
  b.OpenSession("w");
  protocol::WriteRequest w;  // the replay is answered from the log without looking at the body
  protocol::MessageHeader h;
  ASSERT_TRUE(b.Call(Opcode::kWrite, 1, 1, w, &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk);
  EXPECT_TRUE(h.flags & protocol::kFlagReplay);
}

TEST_F(ServiceTest, ConcurrentExclusiveCreatesOfOneNameSucceedOnce) {
  Owner a(dir_.path(), disk_, 1, &guard_);
  constexpr int kThreads = 6;
  std::vector<std::unique_ptr<Owner>> clients;
  std::atomic<int> ok{0}, exists{0};
  std::vector<std::thread> threads;
  a.OpenSession("x");
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t]() {
      protocol::CreateRequest f;
      f.dir = a.root();
      f.name = "same";
      f.mode = 0644;
      f.exclusive = true;
      protocol::MessageHeader h;
      if (!a.Call(Opcode::kCreate, t, 1, f, &h).ok()) return;
      if (h.status == ErrorCode::kOk) ++ok;
      if (h.status == ErrorCode::kExists) ++exists;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(exists, kThreads - 1);
  EXPECT_GT(a.service()->counters().log.batches, 0u);
}

// Issue 11: a sequence far ahead of a slot's last one is refused without being recorded, so it
// cannot make the client's later requests misordered (before: 2^64 - 1 poisoned the slot for
// good, across restarts, since the log recorded it).
TEST_F(ServiceTest, SequenceOutOfTheWindowIsRefusedAndNotRecorded) {
  // Sequences as the client library numbers them: from its clock.
  const uint64_t first = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())) << 10;
  protocol::MessageHeader h;
  {
    Owner a(dir_.path(), disk_, 1, &guard_);
    a.OpenSession("victim");
    ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, UINT64_MAX, MkdirOf(a.root(), "evil"), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kSequenceMisordered) << protocol::ErrorCodeName(h.status);
    EXPECT_FALSE(Exists("evil")) << "a request out of the window executed";
    ASSERT_TRUE(a.Call(Opcode::kGetAttr, 1, UINT64_MAX - 5, GetAttrOf(a.root()), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kSequenceMisordered);
    // The client's own requests go on, on both slots.
    ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, first + 1, MkdirOf(a.root(), "one"), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk) << protocol::ErrorCodeName(h.status);
    ASSERT_TRUE(a.Call(Opcode::kGetAttr, 1, first + 1, GetAttrOf(a.root()), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk) << protocol::ErrorCodeName(h.status);
    // Small sequences still work, and so does a step within the window.
    ASSERT_TRUE(a.Call(Opcode::kGetAttr, 2, 1, GetAttrOf(a.root()), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk);
    ASSERT_TRUE(a.Call(Opcode::kGetAttr, 2, 1 + kSequenceWindow, GetAttrOf(a.root()), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk);
    // The poisoned value again, after the slot has a recorded reply: still refused.
    ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, UINT64_MAX, MkdirOf(a.root(), "evil"), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kSequenceMisordered);
    EXPECT_FALSE(Exists("evil"));
  }
  // After a restart (the next owner recovers the reply log), the client goes on where it was.
  Owner b(dir_.path(), disk_, 2, &guard_);
  b.OpenSession("victim");
  ASSERT_TRUE(b.Call(Opcode::kMkdir, 0, first + 1, MkdirOf(b.root(), "one"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk);
  EXPECT_TRUE(h.flags & protocol::kFlagReplay) << "the recorded reply was lost";
  ASSERT_TRUE(b.Call(Opcode::kMkdir, 0, first + 2, MkdirOf(b.root(), "two"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk) << protocol::ErrorCodeName(h.status);
  EXPECT_TRUE(Exists("two"));
}

TEST(SequenceWindowTest, Bounds) {
  const absl::Time now = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  const uint64_t clock_start = static_cast<uint64_t>(absl::ToUnixMicros(now)) << 10;
  EXPECT_TRUE(SequenceInWindow(0, 1, now));
  EXPECT_TRUE(SequenceInWindow(5, 3, now));  // below: the reply cache decides
  EXPECT_TRUE(SequenceInWindow(0, kSequenceWindow, now));
  EXPECT_TRUE(SequenceInWindow(0, clock_start, now));
  EXPECT_TRUE(SequenceInWindow(clock_start, clock_start + 1, now));
  EXPECT_TRUE(SequenceInWindow(0, SequenceCeiling(now), now));
  EXPECT_FALSE(SequenceInWindow(0, SequenceCeiling(now) + 1, now));
  EXPECT_FALSE(SequenceInWindow(clock_start, UINT64_MAX, now));
  EXPECT_FALSE(SequenceInWindow(0, UINT64_MAX, now));
  EXPECT_TRUE(SequenceInWindow(UINT64_MAX - 1, UINT64_MAX, now));  // one step: in the window
  EXPECT_GE(SequenceCeiling(now), clock_start + (uint64_t{3600} * 1000000 << 10));
}

// ---- Sessions and leases (issue 13)

Limits ShortLease() {
  Limits limits;
  limits.session_lease = absl::Milliseconds(200);
  return limits;
}

// Waits until the service dropped every client (its sweeper runs a few times per lease).
bool WaitNoClients(VolumeService* service) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (service->counters().live_clients == 0) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

TEST_F(ServiceTest, ReadOnlyClientsWriteNothingToTheReplyLogAndExpire) {
  Owner a(dir_.path(), disk_, 1, &guard_, ShortLease());
  for (int i = 0; i < 50; ++i) {
    a.OpenSession(absl::StrCat("reader-", i));
    protocol::MessageHeader h;
    ASSERT_TRUE(a.Call(Opcode::kGetAttr, 0, 1, GetAttrOf(a.root()), &h).ok());
    EXPECT_EQ(h.status, ErrorCode::kOk);
  }
  EXPECT_EQ(a.service()->counters().live_clients, 50u);
  EXPECT_EQ(a.service()->counters().log.entries_written, 0u) << "a read recorded something";
  ASSERT_TRUE(WaitNoClients(a.service()));
  EXPECT_EQ(a.service()->counters().expired_clients, 50u);
  EXPECT_EQ(a.service()->counters().live_sessions, 0u);
}

TEST_F(ServiceTest, AReplayAfterTheLeaseExpiredIsRefusedNotExecutedAgain) {
  Owner a(dir_.path(), disk_, 1, &guard_, ShortLease());
  a.OpenSession("client-1");
  const uint64_t old_session = a.session();
  protocol::MessageHeader h;
  ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, 5, MkdirOf(a.root(), "d"), &h).ok());
  ASSERT_EQ(h.status, ErrorCode::kOk);
  ASSERT_TRUE(fs::remove(dir_.path() + "/d"));  // so that a second mkdir would succeed
  EXPECT_GT(a.service()->counters().log.live_entries, 0u);
  ASSERT_TRUE(WaitNoClients(a.service()));
  // Its reply is gone; what is left is the slot's last sequence, one small record.
  EXPECT_EQ(a.service()->counters().log.live_entries, 1u);

  // The old session is known to have expired.
  a.set_flags(protocol::kFlagReplay);
  ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, 5, MkdirOf(a.root(), "d"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kSessionExpired) << protocol::ErrorCodeName(h.status);
  // A new session does not make the replay executable.
  a.OpenSession("client-1");
  EXPECT_NE(a.session(), old_session);
  ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, 5, MkdirOf(a.root(), "d"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kSessionExpired) << protocol::ErrorCodeName(h.status);
  EXPECT_FALSE(Exists("d")) << "the replayed mkdir ran a second time";
  // A replayed read is harmless and served; a new request executes.
  ASSERT_TRUE(a.Call(Opcode::kGetAttr, 1, 9, GetAttrOf(a.root()), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk);
  a.set_flags(0);
  ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, 6, MkdirOf(a.root(), "e"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk);
  EXPECT_EQ(a.service()->counters().expired_replays, 2u);
}

TEST_F(ServiceTest, AReplayWithinTheLeaseIsAnsweredFromTheCache) {
  Owner a(dir_.path(), disk_, 1, &guard_, ShortLease());
  a.OpenSession("client-1");
  protocol::MessageHeader h;
  ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, 5, MkdirOf(a.root(), "d"), &h).ok());
  a.OpenSession("client-1");  // reconnected at once
  a.set_flags(protocol::kFlagReplay);
  ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, 5, MkdirOf(a.root(), "d"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk) << protocol::ErrorCodeName(h.status);
  EXPECT_TRUE(h.flags & protocol::kFlagReplay);
}

TEST_F(ServiceTest, AReplayOfAClientThisVolumeNeverRecordedIsExecuted) {
  // The client's first mutation was in flight when its filer stopped (NOT_OWNER, or a crash
  // before anything was recorded): the next owner runs the replay.
  Owner a(dir_.path(), disk_, 1, &guard_, ShortLease());
  a.OpenSession("client-1");
  a.set_flags(protocol::kFlagReplay);
  protocol::MessageHeader h;
  ASSERT_TRUE(a.Call(Opcode::kMkdir, 2, 7, MkdirOf(a.root(), "d"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk) << protocol::ErrorCodeName(h.status);
  EXPECT_TRUE(Exists("d"));
}

TEST_F(ServiceTest, ExpiredStateStaysGoneForTheNextOwner) {
  {
    Owner a(dir_.path(), disk_, 1, &guard_, ShortLease());
    a.OpenSession("client-1");
    protocol::MessageHeader h;
    ASSERT_TRUE(a.Call(Opcode::kMkdir, 0, 5, MkdirOf(a.root(), "d"), &h).ok());
    ASSERT_TRUE(WaitNoClients(a.service()));
  }
  Owner b(dir_.path(), disk_, 2, &guard_, ShortLease());
  EXPECT_EQ(b.service()->counters().live_clients, 0u);
  b.OpenSession("client-1");
  b.set_flags(protocol::kFlagReplay);
  protocol::MessageHeader h;
  ASSERT_TRUE(b.Call(Opcode::kMkdir, 0, 5, MkdirOf(b.root(), "d"), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kSessionExpired) << protocol::ErrorCodeName(h.status);
}

TEST_F(ServiceTest, ClientsWithStateKeepTheirLeaseAcrossATakeover) {
  {
    Owner a(dir_.path(), disk_, 1, &guard_);
    a.OpenSession("writer");
    protocol::MessageHeader h;
    protocol::CreateRequest c;
    c.dir = a.root();
    c.name = "f";
    c.mode = 0644;
    std::string out;
    ASSERT_TRUE(a.Call(Opcode::kCreate, 0, 5, c, &h, &out).ok());
    ASSERT_EQ(h.status, ErrorCode::kOk);
  }
  Owner b(dir_.path(), disk_, 2, &guard_);
  EXPECT_EQ(b.service()->counters().live_clients, 1u);
  b.OpenSession("writer");
  b.set_flags(protocol::kFlagReplay);
  protocol::CreateRequest c;
  c.dir = b.root();
  c.name = "f";
  c.mode = 0644;
  protocol::MessageHeader h;
  ASSERT_TRUE(b.Call(Opcode::kCreate, 0, 5, c, &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kOk) << protocol::ErrorCodeName(h.status);
  EXPECT_TRUE(h.flags & protocol::kFlagReplay) << "answered from the reply log";
}

TEST_F(ServiceTest, SessionAndInflightLimits) {
  Limits limits;
  limits.max_sessions = 2;
  limits.max_inflight_per_session = 3;
  Owner a(dir_.path(), disk_, 1, &guard_, limits);
  a.OpenSession("one");
  EXPECT_EQ(a.granted_slots(), 3u) << "asked for 8";
  a.OpenSession("two");
  protocol::SessionCreateRequest r;
  r.client_id = "three";
  r.slots = 8;
  protocol::MessageHeader h;
  ASSERT_TRUE(a.Call(Opcode::kSessionCreate, 0, 0, r, &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kBusy);
  a.OpenSession("one");  // a known client is never refused
  ASSERT_TRUE(a.Call(Opcode::kGetAttr, 3, 1, GetAttrOf(a.root()), &h).ok());
  EXPECT_EQ(h.status, ErrorCode::kBadSlot);
}

}  // namespace
}  // namespace filer
}  // namespace vifiler
