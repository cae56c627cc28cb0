// Copyright 2026 The vifiler Authors.
//
// Leases on shared storage: the ownership record and mailbox formats (round trips, torn and
// foreign blocks), the mailbox observer, the renewal and claim-wait decisions on their own, then
// the protocol with real timing on a MemoryDisk (renewal, loss, the claimant's waits against a
// live and a dead owner, concurrent claimants, release, injected write errors), and the fence
// guard with real processes (a SIGSTOPped lease holder is killed and fenced; a dead filer's
// volumes are fenced; an abandoned lease is fenced at its end; a dead guard stops the lease).
//
// Timing assertions use generous tolerances (hundreds of ms) for a loaded 2-core machine; every
// wait has a deadline.

#include "cluster/lease.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/claim.h"
#include "cluster/fence_guard.h"
#include "cluster/lease_mailbox.h"
#include "cluster/ownership_record.h"
#include "gtest/gtest.h"
#include "storage/block_file.h"
#include "storage/memory_disk.h"
#include "storage/record_block.h"

namespace vifiler {
namespace cluster {
namespace {

using storage::kBlockSize;

constexpr absl::Duration kInterval = absl::Milliseconds(50);
constexpr absl::Duration kLeaseDuration = absl::Milliseconds(600);
constexpr absl::Duration kMargin = absl::Milliseconds(100);
// Slack for scheduling on a loaded machine.
constexpr absl::Duration kSlack = absl::Milliseconds(400);

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

int64_t Ms(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string TempDir(const std::string& what) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/", what, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

// Appends "volume dev dev...\n" to path: the fence action the guard tests watch for.
FenceAction MarkerFence(const std::string& path) {
  return [path](const std::string& volume, const std::vector<std::string>& devices) {
    std::string line = volume;
    for (const std::string& d : devices) absl::StrAppend(&line, " ", d);
    line.push_back('\n');
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return absl::InternalError("cannot open the marker");
    const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    close(fd);
    return ok ? absl::OkStatus() : absl::InternalError("cannot write the marker");
  };
}

OwnerRecord Record(const std::string& owner, uint64_t epoch, OwnershipState state,
                   uint64_t incarnation) {
  OwnerRecord r;
  r.owner = owner;
  r.epoch = epoch;
  r.state = state;
  r.incarnation = incarnation;
  r.unix_time_ns = 1700000000123456789;
  return r;
}

MailboxEntry Entry(const std::string& writer, uint64_t epoch, uint64_t counter,
                   uint64_t incarnation, absl::Duration lease = kLeaseDuration) {
  MailboxEntry e;
  e.writer = writer;
  e.epoch = epoch;
  e.counter = counter;
  e.incarnation = incarnation;
  e.lease_duration = lease;
  e.unix_time_ns = 1700000000987654321;
  return e;
}

// A BlockFile whose reads can be held at a gate, to see what a renewal does before its read.
class GatedBlockFile : public storage::BlockFile {
 public:
  explicit GatedBlockFile(std::unique_ptr<storage::BlockFile> base) : base_(std::move(base)) {}

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    closed_ = false;
  }
  bool WaitForBlockedRead(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto blocked = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return blocked_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&blocked), timeout);
  }

  absl::Status Read(uint64_t offset, absl::Span<char> out) override {
    {
      absl::MutexLock lock(&mu_);
      ++blocked_;
      auto open = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !closed_; };
      mu_.AwaitWithTimeout(absl::Condition(&open), absl::Seconds(10));
      --blocked_;
    }
    return base_->Read(offset, out);
  }
  absl::Status Write(uint64_t offset, absl::string_view data) override {
    return base_->Write(offset, data);
  }
  absl::Status Sync() override { return base_->Sync(); }
  uint64_t size() const override { return base_->size(); }
  bool direct() const override { return base_->direct(); }
  std::string name() const override { return "gated " + base_->name(); }

 private:
  const std::unique_ptr<storage::BlockFile> base_;
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int blocked_ ABSL_GUARDED_BY(mu_) = 0;
};

// ---- Formats ----

TEST(OwnerRecordTest, RoundTripsAndRejectsDamage) {
  const OwnerRecord r = Record("filer-a", 7, OwnershipState::kReleased, 0x1234567890abcdefull);
  std::optional<OwnerRecord> payload = DecodeOwnerPayload(EncodeOwnerPayload(r));
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(payload->owner, "filer-a");
  EXPECT_EQ(payload->epoch, 7u);
  EXPECT_EQ(payload->state, OwnershipState::kReleased);
  EXPECT_EQ(payload->incarnation, 0x1234567890abcdefull);
  EXPECT_EQ(payload->unix_time_ns, 1700000000123456789);

  const std::string block = EncodeOwnerBlock(r);
  ASSERT_EQ(block.size(), kBlockSize);
  OwnerRead read = DecodeOwnerBlock(block);
  ASSERT_EQ(read.state, BlockState::kValid);
  EXPECT_TRUE(SameHolder(read.record, r));
  EXPECT_EQ(read.record.state, OwnershipState::kReleased);
  std::optional<storage::RecordBlock> framed = storage::DecodeRecordBlock(block);
  ASSERT_TRUE(framed.has_value());
  EXPECT_EQ(framed->kind, storage::RecordKind::kOwnership);
  EXPECT_EQ(framed->epoch, 7u);

  EXPECT_EQ(DecodeOwnerBlock(std::string(kBlockSize, '\0')).state, BlockState::kBlank);
  EXPECT_EQ(DecodeOwnerBlock(std::string(kBlockSize, 'x')).state, BlockState::kDamaged);
  EXPECT_EQ(DecodeOwnerBlock(block.substr(0, kBlockSize - 1)).state, BlockState::kDamaged);
  // Torn: the head of this record over an older one, split inside the header or payload.
  const std::string older = EncodeOwnerBlock(Record("filer-b", 6, OwnershipState::kClaimed, 9));
  // (A split inside bytes both records share yields one of them whole: that one is valid.)
  int torn_tested = 0;
  for (size_t split = 1; split < 64; ++split) {
    const std::string torn = block.substr(0, split) + older.substr(split);
    if (torn == older || torn == block) continue;
    ++torn_tested;
    EXPECT_EQ(DecodeOwnerBlock(torn).state, BlockState::kDamaged) << "split " << split;
  }
  EXPECT_GT(torn_tested, 40);
  // A mailbox block is not an ownership record.
  EXPECT_EQ(DecodeOwnerBlock(EncodeMailboxBlock(Entry("filer-a", 7, 1, 1))).state,
            BlockState::kDamaged);
  // A block whose header epoch disagrees with the payload's.
  storage::RecordBlock forged;
  forged.kind = storage::RecordKind::kOwnership;
  forged.epoch = 8;
  forged.payload = EncodeOwnerPayload(r);
  EXPECT_EQ(DecodeOwnerBlock(storage::EncodeRecordBlock(forged)).state, BlockState::kDamaged);
  // Payload damage the checksum does not see (a forged but well-framed block).
  std::string bad_state = EncodeOwnerPayload(r);
  bad_state[1] = 9;
  EXPECT_FALSE(DecodeOwnerPayload(bad_state).has_value());
  std::string bad_name = EncodeOwnerPayload(r);
  bad_name[33] = ' ';
  EXPECT_FALSE(DecodeOwnerPayload(bad_name).has_value());
  EXPECT_FALSE(DecodeOwnerPayload(EncodeOwnerPayload(r) + "x").has_value());
  EXPECT_FALSE(DecodeOwnerPayload("").has_value());
}

TEST(OwnerRecordTest, StoreWritesSyncsAndReports) {
  auto disk = storage::MemoryDisk::Create(2 * kBlockSize);
  std::unique_ptr<storage::BlockFile> file = disk->Open(kBlockSize, kBlockSize);
  OwnershipStore store(file.get());
  absl::StatusOr<OwnerRead> blank = store.Read();
  ASSERT_TRUE(blank.ok());
  EXPECT_EQ(blank->state, BlockState::kBlank);

  ASSERT_TRUE(store.Write(Record("filer-a", 3, OwnershipState::kClaimed, 5)).ok());
  EXPECT_EQ(disk->unsynced_writes(), 0u) << "Write must sync";
  // A power cut keeps it; the block 0 of the disk is untouched.
  disk->PowerCut(storage::MemoryDisk::PowerCutMode::kLoseUnsynced);
  absl::StatusOr<OwnerRead> read = store.Read();
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->state, BlockState::kValid);
  EXPECT_EQ(read->record.owner, "filer-a");
  EXPECT_EQ(read->record.epoch, 3u);
  EXPECT_TRUE(IsBlankBlock(disk->Contents(0, kBlockSize)));

  EXPECT_TRUE(
      absl::IsInvalidArgument(store.Write(Record("filer a", 4, OwnershipState::kClaimed, 5))));
  EXPECT_TRUE(absl::IsInvalidArgument(store.Write(Record("", 4, OwnershipState::kClaimed, 5))));
  disk->SetWriteError(absl::UnavailableError("injected"));
  EXPECT_TRUE(absl::IsUnavailable(store.Write(Record("filer-b", 4, OwnershipState::kClaimed, 6))));
  disk->SetWriteError(absl::OkStatus());
  disk->SetReadError(absl::UnavailableError("injected"));
  EXPECT_TRUE(absl::IsUnavailable(store.Read().status()));
  disk->SetReadError(absl::OkStatus());
  EXPECT_EQ(store.Read()->record.owner, "filer-a");
}

TEST(MailboxEntryTest, RoundTripsAndRejectsDamage) {
  const MailboxEntry e = Entry("filer-b", 4, 99, 77, absl::Milliseconds(1500));
  std::optional<MailboxEntry> payload = DecodeMailboxPayload(EncodeMailboxPayload(e));
  ASSERT_TRUE(payload.has_value());
  EXPECT_TRUE(SameBeat(*payload, e));
  EXPECT_EQ(payload->lease_duration, absl::Milliseconds(1500));
  EXPECT_EQ(payload->unix_time_ns, e.unix_time_ns);

  const std::string block = EncodeMailboxBlock(e);
  MailboxRead read = DecodeMailboxBlock(block);
  ASSERT_EQ(read.state, BlockState::kValid);
  EXPECT_TRUE(SameBeat(read.entry, e));
  std::optional<storage::RecordBlock> framed = storage::DecodeRecordBlock(block);
  ASSERT_TRUE(framed.has_value());
  EXPECT_EQ(framed->kind, storage::RecordKind::kMailbox);
  EXPECT_EQ(framed->sequence, 99u);

  EXPECT_EQ(DecodeMailboxBlock(std::string(kBlockSize, '\0')).state, BlockState::kBlank);
  EXPECT_EQ(
      DecodeMailboxBlock(EncodeOwnerBlock(Record("filer-b", 4, OwnershipState::kClaimed, 1))).state,
      BlockState::kDamaged);
  const std::string older = EncodeMailboxBlock(Entry("filer-b", 4, 98, 77));
  int torn_tested = 0;
  for (size_t split = 1; split < 80; ++split) {
    const std::string torn = block.substr(0, split) + older.substr(split);
    if (torn == older || torn == block) continue;
    ++torn_tested;
    EXPECT_EQ(DecodeMailboxBlock(torn).state, BlockState::kDamaged) << "split " << split;
  }
  EXPECT_GT(torn_tested, 20);
  storage::RecordBlock forged;
  forged.kind = storage::RecordKind::kMailbox;
  forged.epoch = 4;
  forged.sequence = 100;  // not the payload's counter
  forged.payload = EncodeMailboxPayload(e);
  EXPECT_EQ(DecodeMailboxBlock(storage::EncodeRecordBlock(forged)).state, BlockState::kDamaged);
  MailboxEntry no_lease = e;
  no_lease.lease_duration = absl::ZeroDuration();
  EXPECT_FALSE(DecodeMailboxPayload(EncodeMailboxPayload(no_lease)).has_value());

  // SameBeat: any of writer, incarnation, epoch, counter tells two writes apart.
  EXPECT_FALSE(SameBeat(e, Entry("filer-a", 4, 99, 77)));
  EXPECT_FALSE(SameBeat(e, Entry("filer-b", 4, 99, 78)));
  EXPECT_FALSE(SameBeat(e, Entry("filer-b", 5, 99, 77)));
  EXPECT_FALSE(SameBeat(e, Entry("filer-b", 4, 100, 77)));
}

TEST(MailboxObserverTest, NewBeatsResetTheClockAndGarbageChangesNothing) {
  auto disk = storage::MemoryDisk::Create(kBlockSize);
  std::unique_ptr<storage::BlockFile> file = disk->Open();
  MailboxStore store(file.get());
  MailboxObserver observer(file.get());

  MailboxObservation o = observer.Observe();  // blank
  EXPECT_FALSE(o.seen);
  EXPECT_EQ(o.last_state, BlockState::kBlank);
  const absl::Duration first = o.first_seen;
  absl::SleepFor(absl::Milliseconds(30));
  o = observer.Observe();
  EXPECT_EQ(o.first_seen, first);
  EXPECT_GE(o.unchanged(), absl::Milliseconds(30));

  ASSERT_TRUE(store.Write(Entry("filer-a", 1, 1, 11)).ok());
  const absl::Duration before_read = LeaseClockNow();
  o = observer.Observe();
  ASSERT_TRUE(o.seen);
  EXPECT_EQ(o.entry.counter, 1u);
  EXPECT_GE(o.first_seen, before_read) << "first_seen is the read's completion time";
  EXPECT_LE(o.first_seen, LeaseClockNow());
  const absl::Duration seen_at = o.first_seen;

  absl::SleepFor(absl::Milliseconds(30));
  o = observer.Observe();
  EXPECT_EQ(o.first_seen, seen_at);
  EXPECT_GE(o.unchanged(), absl::Milliseconds(30));

  // Garbage, a torn block, a blank block and a read error: no change.
  ASSERT_TRUE(file->Write(0, std::string(kBlockSize, '\xff')).ok());
  o = observer.Observe();
  EXPECT_EQ(o.last_state, BlockState::kDamaged);
  const std::string next = EncodeMailboxBlock(Entry("filer-a", 1, 2, 11));
  const std::string old = EncodeMailboxBlock(Entry("filer-a", 1, 1, 11));
  ASSERT_TRUE(file->Write(0, next.substr(0, 20) + old.substr(20)).ok());
  observer.Observe();
  ASSERT_TRUE(file->Write(0, std::string(kBlockSize, '\0')).ok());
  observer.Observe();
  disk->SetReadError(absl::UnavailableError("injected"));
  o = observer.Observe();
  disk->SetReadError(absl::OkStatus());
  EXPECT_EQ(o.last_state, BlockState::kDamaged);
  EXPECT_EQ(o.entry.counter, 1u);
  EXPECT_EQ(o.first_seen, seen_at);
  EXPECT_EQ(observer.last().reads, o.reads);

  // The same beat again after garbage: still no change.
  ASSERT_TRUE(store.Write(Entry("filer-a", 1, 1, 11)).ok());
  EXPECT_EQ(observer.Observe().first_seen, seen_at);
  // A new counter, and another writer with the same counter: both are changes.
  ASSERT_TRUE(store.Write(Entry("filer-a", 1, 2, 11)).ok());
  o = observer.Observe();
  EXPECT_GT(o.first_seen, seen_at);
  const absl::Duration second = o.first_seen;
  ASSERT_TRUE(store.Write(Entry("filer-b", 2, 2, 22)).ok());
  o = observer.Observe();
  EXPECT_GT(o.first_seen, second);
  EXPECT_EQ(o.entry.writer, "filer-b");
}

// ---- The decisions, apart from I/O ----

TEST(JudgeRenewalTest, ExtendsOnlyOnItsOwnRecord) {
  const OwnerRecord mine = Record("filer-a", 5, OwnershipState::kClaimed, 42);
  auto valid = [](const OwnerRecord& r) {
    OwnerRead read;
    read.state = BlockState::kValid;
    read.record = r;
    return absl::StatusOr<OwnerRead>(read);
  };
  absl::Status why;
  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(), valid(mine), true, &why), RenewalVerdict::kExtend);
  EXPECT_TRUE(why.ok());

  EXPECT_EQ(JudgeRenewal(mine, absl::UnavailableError("w"), valid(mine), true, &why),
            RenewalVerdict::kKeep);
  EXPECT_EQ(why.message(), "w");
  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(), absl::UnavailableError("r"), true, &why),
            RenewalVerdict::kKeep);
  OwnerRead blank;
  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(), blank, true, &why), RenewalVerdict::kKeep);
  OwnerRead damaged;
  damaged.state = BlockState::kDamaged;
  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(), damaged, true, &why), RenewalVerdict::kKeep);

  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(),
                         valid(Record("filer-b", 6, OwnershipState::kClaimed, 7)), true, &why),
            RenewalVerdict::kLost);
  EXPECT_TRUE(absl::IsFailedPrecondition(why));
  EXPECT_NE(why.message().find("filer-b at epoch 6"), std::string::npos) << why;
  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(),
                         valid(Record("filer-a", 6, OwnershipState::kClaimed, 42)), true, &why),
            RenewalVerdict::kLost);
  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(),
                         valid(Record("filer-a", 5, OwnershipState::kClaimed, 43)), true, &why),
            RenewalVerdict::kLost);
  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(),
                         valid(Record("filer-a", 5, OwnershipState::kReleased, 42)), true, &why),
            RenewalVerdict::kLost);
  EXPECT_EQ(JudgeRenewal(mine, absl::OkStatus(), valid(mine), false, &why), RenewalVerdict::kLost);
  EXPECT_TRUE(absl::IsUnavailable(why));
}

TEST(ComputeClaimWaitTest, BoundsFollowTheProtocol) {
  const absl::Duration t_cd = absl::Seconds(100);
  const absl::Duration f = absl::Seconds(99);
  const absl::Duration L = kLeaseDuration;
  const absl::Duration M = kMargin;
  OwnerRead held;
  held.state = BlockState::kValid;
  held.record = Record("filer-a", 5, OwnershipState::kClaimed, 42);
  OwnerRead released = held;
  released.record.state = OwnershipState::kReleased;
  auto read = [](const MailboxEntry& e) {
    MailboxRead r;
    r.state = BlockState::kValid;
    r.entry = e;
    return absl::StatusOr<MailboxRead>(r);
  };
  MailboxObservation none;
  MailboxObservation seen;
  seen.seen = true;
  seen.entry = Entry("filer-a", 5, 10, 42);
  seen.first_seen = f;

  // Blank and never seen: nobody ever renewed.
  ClaimWait w = ComputeClaimWait(held, none, MailboxRead(), t_cd, L, M);
  EXPECT_EQ(w.reason, ClaimWaitReason::kNeverRenewed);
  EXPECT_EQ(w.until, t_cd);
  // Blank although a beat was seen before: wiped; the full wait.
  w = ComputeClaimWait(held, seen, MailboxRead(), t_cd, L, M);
  EXPECT_EQ(w.reason, ClaimWaitReason::kRenewalsMoving);
  EXPECT_EQ(w.until, t_cd + L + M);
  // Frozen since f.
  w = ComputeClaimWait(held, seen, read(Entry("filer-a", 5, 10, 42)), t_cd, L, M);
  EXPECT_EQ(w.reason, ClaimWaitReason::kRenewalsStopped);
  EXPECT_EQ(w.until, f + L + M);
  // Moved, or unreadable, or never observed.
  w = ComputeClaimWait(held, seen, read(Entry("filer-a", 5, 11, 42)), t_cd, L, M);
  EXPECT_EQ(w.reason, ClaimWaitReason::kRenewalsMoving);
  EXPECT_EQ(w.until, t_cd + L + M);
  w = ComputeClaimWait(held, seen, absl::UnavailableError("x"), t_cd, L, M);
  EXPECT_EQ(w.until, t_cd + L + M);
  MailboxRead damaged;
  damaged.state = BlockState::kDamaged;
  EXPECT_EQ(ComputeClaimWait(held, seen, damaged, t_cd, L, M).until, t_cd + L + M);
  EXPECT_EQ(ComputeClaimWait(held, none, read(Entry("filer-a", 5, 10, 42)), t_cd, L, M).until,
            t_cd + L + M);
  // A longer L in the mailbox wins.
  w = ComputeClaimWait(held, seen, read(Entry("filer-a", 5, 11, 42, absl::Seconds(3))), t_cd, L, M);
  EXPECT_EQ(w.until, t_cd + absl::Seconds(3) + M);
  EXPECT_EQ(w.lease_duration, absl::Seconds(3));
  // Released, and the releaser was the last to write the mailbox: no wait.
  w = ComputeClaimWait(released, seen, read(Entry("filer-a", 5, 12, 42)), t_cd, L, M);
  EXPECT_EQ(w.reason, ClaimWaitReason::kReleased);
  EXPECT_EQ(w.until, t_cd);
  // A "released" record that someone else renewed after (a stale release): wait.
  w = ComputeClaimWait(released, seen, read(Entry("filer-b", 6, 1, 7)), t_cd, L, M);
  EXPECT_EQ(w.reason, ClaimWaitReason::kRenewalsMoving);
  w = ComputeClaimWait(released, seen, read(Entry("filer-a", 5, 12, 43)), t_cd, L, M);
  EXPECT_EQ(w.reason, ClaimWaitReason::kRenewalsMoving);
}

// ---- The protocol on a shared MemoryDisk ----

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    record_disk_ = storage::MemoryDisk::Create(kBlockSize);
    mailbox_disk_ = storage::MemoryDisk::Create(kBlockSize);
    record_ = record_disk_->Open();
    mailbox_ = mailbox_disk_->Open();
  }

  ClaimOptions Taker(const std::string& name, uint64_t incarnation) const {
    ClaimOptions o;
    o.volume = "vol-a";
    o.taker = name;
    o.incarnation = incarnation;
    o.lease_duration = kLeaseDuration;
    o.margin = kMargin;
    o.progress_interval = absl::Milliseconds(100);
    return o;
  }

  LeaseOptions Holder(const ClaimResult& claim) const {
    LeaseOptions o;
    o.volume = "vol-a";
    o.owner = claim.claim.owner;
    o.epoch = claim.claim.epoch;
    o.incarnation = claim.claim.incarnation;
    o.interval = kInterval;
    o.duration = kLeaseDuration;
    return o;
  }

  absl::StatusOr<ClaimResult> Claim(const std::string& name, uint64_t incarnation,
                                    const MailboxObservation& observed = MailboxObservation()) {
    return ClaimVolume(record_.get(), mailbox_.get(), observed, Taker(name, incarnation),
                       absl::Now() + absl::Seconds(10));
  }

  // Claims the fresh volume for filer-a and starts its lease.
  std::unique_ptr<Lease> OwnedByA(LeaseOptions* options = nullptr) {
    absl::StatusOr<ClaimResult> claim = Claim("filer-a", 1001);
    EXPECT_TRUE(claim.ok()) << claim.status();
    if (!claim.ok()) return nullptr;
    LeaseOptions o = Holder(*claim);
    if (options != nullptr) {
      o.on_lost = options->on_lost;
      o.guard = options->guard;
      o.fence_devices = options->fence_devices;
    }
    auto lease = std::make_unique<Lease>(record_.get(), mailbox_.get(), o);
    absl::Status s = lease->Start(absl::Now() + absl::Seconds(5));
    EXPECT_TRUE(s.ok()) << s;
    return lease;
  }

  // Observes the mailbox every interval until it has seen `count` different beats.
  MailboxObservation WatchBeats(MailboxObserver* observer, int count) {
    MailboxObservation o = observer->Observe();
    uint64_t first = o.entry.counter;
    WaitUntil(
        [&] {
          o = observer->Observe();
          return o.seen && o.entry.counter >= first + static_cast<uint64_t>(count);
        },
        absl::Seconds(5));
    return o;
  }

  std::shared_ptr<storage::MemoryDisk> record_disk_;
  std::shared_ptr<storage::MemoryDisk> mailbox_disk_;
  std::unique_ptr<storage::BlockFile> record_;
  std::unique_ptr<storage::BlockFile> mailbox_;
};

TEST_F(LeaseTest, FreshVolumeIsClaimedWithoutWaitAndRenewed) {
  const absl::Duration t0 = LeaseClockNow();
  absl::StatusOr<ClaimResult> claim = Claim("filer-a", 1001);
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_LT(LeaseClockNow() - t0, absl::Milliseconds(200));
  EXPECT_EQ(claim->wait.reason, ClaimWaitReason::kNeverRenewed);
  EXPECT_EQ(claim->previous.state, BlockState::kBlank);
  EXPECT_EQ(claim->claim.epoch, 1u);

  Lease lease(record_.get(), mailbox_.get(), Holder(*claim));
  EXPECT_FALSE(lease.Valid());
  ASSERT_TRUE(lease.Start(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_TRUE(lease.Valid());
  EXPECT_TRUE(lease.Valid(kLeaseDuration - kInterval * 4));
  EXPECT_FALSE(lease.Valid(kLeaseDuration + absl::Milliseconds(1)));
  EXPECT_GT(lease.until(), LeaseClockNow());
  EXPECT_LE(lease.until(), LeaseClockNow() + kLeaseDuration);
  EXPECT_TRUE(absl::IsFailedPrecondition(lease.Start(absl::Now() + absl::Seconds(1))));

  const uint64_t counter = lease.status().counter;
  ASSERT_TRUE(WaitUntil([&] { return lease.status().renewals >= 5; }, absl::Seconds(5)));
  absl::StatusOr<MailboxRead> box = MailboxStore(mailbox_.get()).Read();
  ASSERT_TRUE(box.ok());
  ASSERT_EQ(box->state, BlockState::kValid);
  EXPECT_EQ(box->entry.writer, "filer-a");
  EXPECT_EQ(box->entry.epoch, 1u);
  EXPECT_EQ(box->entry.incarnation, 1001u);
  EXPECT_EQ(box->entry.lease_duration, kLeaseDuration);
  EXPECT_GT(box->entry.counter, counter);
  EXPECT_TRUE(lease.Valid(kLeaseDuration - kInterval * 4));
}

TEST_F(LeaseTest, RenewalExtendsOnlyAfterTheOwnershipRead) {
  auto gated = std::make_unique<GatedBlockFile>(record_disk_->Open());
  GatedBlockFile* gate = gated.get();
  record_ = std::move(gated);
  std::unique_ptr<Lease> lease = OwnedByA();
  ASSERT_NE(lease, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return lease->status().renewals >= 2; }, absl::Seconds(5)));

  gate->Close();
  ASSERT_TRUE(gate->WaitForBlockedRead(absl::Seconds(5)));
  // The renewal held at its read has written the mailbox already; the lease did not move.
  const absl::Duration until = lease->until();
  const uint64_t renewals = lease->status().renewals;
  absl::StatusOr<MailboxRead> box = MailboxStore(mailbox_.get()).Read();
  ASSERT_TRUE(box.ok() && box->state == BlockState::kValid);
  EXPECT_EQ(box->entry.counter, lease->status().counter) << "the mailbox write came first";
  absl::SleepFor(3 * kInterval);
  EXPECT_EQ(lease->until(), until) << "extended without the ownership read";
  EXPECT_EQ(lease->status().renewals, renewals);

  const absl::Duration opened = LeaseClockNow();
  gate->Open();
  ASSERT_TRUE(WaitUntil([&] { return lease->until() > until; }, absl::Seconds(2)));
  const absl::Duration extended = lease->until();
  // Extended from the held attempt's issue time (before the gate opened), not from the read.
  EXPECT_LE(extended, opened + kLeaseDuration + kInterval);
  EXPECT_TRUE(lease->Valid());
}

TEST_F(LeaseTest, OwnerSeesAClaimWithinOneIntervalAndReportsLoss) {
  absl::Mutex mu;
  absl::Status lost_why;
  absl::Duration lost_at = absl::ZeroDuration();
  int lost_calls = 0;
  LeaseOptions callbacks;
  callbacks.on_lost = [&](const absl::Status& why) {
    absl::MutexLock lock(&mu);
    lost_why = why;
    lost_at = LeaseClockNow();
    ++lost_calls;
  };
  std::unique_ptr<Lease> lease = OwnedByA(&callbacks);
  ASSERT_NE(lease, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return lease->status().renewals >= 3; }, absl::Seconds(5)));

  absl::StatusOr<ClaimResult> taken;
  std::thread taker([&] { taken = Claim("filer-b", 2002); });
  ASSERT_TRUE(WaitUntil(
      [&] {
        absl::MutexLock lock(&mu);
        return lost_calls > 0;
      },
      absl::Seconds(5)));
  EXPECT_FALSE(lease->Valid());
  taker.join();
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->claim.epoch, 2u);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(lost_calls, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(lost_why)) << lost_why;
  EXPECT_NE(lost_why.message().find("filer-b at epoch 2"), std::string::npos) << lost_why;
  // Seen at the first renewal after the claim landed (T_cd is after the landing).
  const absl::Duration seen_after = lost_at - taken->claimed_at;
  std::printf("loss reported %lld ms after the claim completed (interval %lld ms)\n",
              static_cast<long long>(Ms(seen_after)), static_cast<long long>(Ms(kInterval)));
  EXPECT_LE(seen_after, kInterval + kSlack);
  // The old owner's lease ended before the new owner's wait did.
  EXPECT_LE(lease->until() + kMargin, taken->wait.until);
  EXPECT_TRUE(absl::IsFailedPrecondition(lease->Release()));
}

TEST_F(LeaseTest, ClaimAgainstALiveOwnerWaitsTheFullLeaseAfterTheClaim) {
  std::unique_ptr<Lease> lease = OwnedByA();
  ASSERT_NE(lease, nullptr);
  MailboxObserver observer(mailbox_.get());
  MailboxObservation seen = WatchBeats(&observer, 2);
  ASSERT_TRUE(seen.seen);
  // The owner renews again after this observation, as a live owner does between a partner's
  // last look and its claim.
  absl::SleepFor(3 * kInterval);

  std::vector<ClaimProgress> progress;
  ClaimOptions o = Taker("filer-b", 2002);
  o.progress = [&](const ClaimProgress& p) { progress.push_back(p); };
  const absl::Duration start = LeaseClockNow();
  absl::StatusOr<ClaimResult> claim = ClaimVolume(record_.get(), mailbox_.get(), observer.last(), o,
                                                  absl::Now() + absl::Seconds(10));
  const absl::Duration took = LeaseClockNow() - start;
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->wait.reason, ClaimWaitReason::kRenewalsMoving);
  EXPECT_EQ(claim->wait.until, claim->claimed_at + kLeaseDuration + kMargin);
  std::printf("live owner: claim took %lld ms (L + M = %lld ms)\n",
              static_cast<long long>(Ms(took)),
              static_cast<long long>(Ms(kLeaseDuration + kMargin)));
  EXPECT_GE(claim->waited, kLeaseDuration + kMargin);
  EXPECT_LE(took, kLeaseDuration + kMargin + kSlack);
  // Safety: the owner's lease had ended (by its own clock, here the same one) before.
  EXPECT_FALSE(lease->Valid());
  EXPECT_LE(lease->until() + kMargin, claim->wait.until);
  ASSERT_GE(progress.size(), 3u);
  EXPECT_EQ(progress.front().phase, ClaimPhase::kClaimed);
  EXPECT_EQ(progress[1].phase, ClaimPhase::kWaiting);
  EXPECT_EQ(progress.back().phase, ClaimPhase::kOwned);
  EXPECT_NE(progress.front().ToString().find("vol-a epoch 2: claimed"), std::string::npos)
      << progress.front().ToString();

  Lease mine(record_.get(), mailbox_.get(), Holder(*claim));
  ASSERT_TRUE(mine.Start(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_TRUE(mine.Valid());
}

TEST_F(LeaseTest, ClaimAgainstADeadOwnerWaitsOnlyFromTheFirstSighting) {
  std::unique_ptr<Lease> lease = OwnedByA();
  ASSERT_NE(lease, nullptr);
  MailboxObserver observer(mailbox_.get());
  WatchBeats(&observer, 2);
  lease->Abandon();  // renewals stop: the owner is "dead"
  const absl::Duration owner_until = lease->until();
  // Keep watching as a partner would; the frozen beat's first sighting is f.
  for (int i = 0; i < 3; ++i) {
    observer.Observe();
    absl::SleepFor(kInterval);
  }
  const absl::Duration f = observer.last().first_seen;
  EXPECT_LE(owner_until, f + kLeaseDuration) << "the owner's last lease ends by f + L";
  absl::SleepFor(absl::Milliseconds(300));
  observer.Observe();

  const absl::Duration start = LeaseClockNow();
  absl::StatusOr<ClaimResult> claim = Claim("filer-b", 2002, observer.last());
  const absl::Duration took = LeaseClockNow() - start;
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->wait.reason, ClaimWaitReason::kRenewalsStopped);
  EXPECT_EQ(claim->wait.until, f + kLeaseDuration + kMargin);
  const absl::Duration expected = f + kLeaseDuration + kMargin - start;
  std::printf("dead owner: claim took %lld ms; f + L + M was %lld ms away (full wait %lld ms)\n",
              static_cast<long long>(Ms(took)), static_cast<long long>(Ms(expected)),
              static_cast<long long>(Ms(kLeaseDuration + kMargin)));
  EXPECT_GE(took, expected - absl::Milliseconds(5));
  EXPECT_LE(took, expected + kSlack);
  EXPECT_LT(expected, kLeaseDuration + kMargin - absl::Milliseconds(250));
}

TEST_F(LeaseTest, OwnerGoneLongerThanTheLeaseIsClaimedAtOnce) {
  std::unique_ptr<Lease> lease = OwnedByA();
  ASSERT_NE(lease, nullptr);
  MailboxObserver observer(mailbox_.get());
  WatchBeats(&observer, 1);
  lease->Abandon();
  observer.Observe();
  absl::SleepFor(kLeaseDuration + kMargin + absl::Milliseconds(50));
  observer.Observe();
  const absl::Duration start = LeaseClockNow();
  absl::StatusOr<ClaimResult> claim = Claim("filer-b", 2002, observer.last());
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->wait.reason, ClaimWaitReason::kRenewalsStopped);
  EXPECT_LT(LeaseClockNow() - start, absl::Milliseconds(200));
}

TEST_F(LeaseTest, ConcurrentClaimantsExactlyOneWins) {
  std::unique_ptr<Lease> lease = OwnedByA();
  ASSERT_NE(lease, nullptr);
  MailboxObserver observer(mailbox_.get());
  const MailboxObservation seen = WatchBeats(&observer, 1);
  absl::Notification go;
  absl::StatusOr<ClaimResult> results[2];
  const std::string names[2] = {"filer-b", "filer-c"};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      go.WaitForNotificationWithTimeout(absl::Seconds(5));
      results[i] = Claim(names[i], 3000 + i, seen);
    });
  }
  go.Notify();
  for (std::thread& t : threads) t.join();
  int winners = 0;
  int winner = -1;
  for (int i = 0; i < 2; ++i) {
    if (results[i].ok()) {
      ++winners;
      winner = i;
      // 2, or 3 when one claimant read the record after the other's claim landed.
      EXPECT_GE(results[i]->claim.epoch, 2u);
    } else {
      EXPECT_TRUE(absl::IsAborted(results[i].status())) << results[i].status();
      EXPECT_NE(results[i].status().message().find("lost"), std::string::npos);
    }
  }
  ASSERT_EQ(winners, 1);
  absl::StatusOr<OwnerRead> record = OwnershipStore(record_.get()).Read();
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->record.owner, names[winner]);
  Lease won(record_.get(), mailbox_.get(), Holder(*results[winner]));
  ASSERT_TRUE(won.Start(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_TRUE(won.Valid());
  EXPECT_FALSE(lease->Valid());
}

TEST_F(LeaseTest, ReleaseLetsTheNextClaimantSkipTheWait) {
  std::unique_ptr<Lease> lease = OwnedByA();
  ASSERT_NE(lease, nullptr);
  MailboxObserver observer(mailbox_.get());
  WatchBeats(&observer, 1);
  ASSERT_TRUE(lease->Release().ok());
  EXPECT_FALSE(lease->Valid());
  EXPECT_TRUE(lease->status().released);
  EXPECT_TRUE(absl::IsFailedPrecondition(lease->Release()));
  absl::StatusOr<OwnerRead> record = OwnershipStore(record_.get()).Read();
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->record.state, OwnershipState::kReleased);
  EXPECT_EQ(record->record.owner, "filer-a");

  const absl::Duration start = LeaseClockNow();
  absl::StatusOr<ClaimResult> claim = Claim("filer-b", 2002, observer.Observe());
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->wait.reason, ClaimWaitReason::kReleased);
  EXPECT_LT(LeaseClockNow() - start, absl::Milliseconds(200));
  EXPECT_EQ(claim->claim.epoch, 2u);
}

TEST_F(LeaseTest, MailboxWriteErrorsLetTheLeaseRunOut) {
  int lost_calls = 0;
  LeaseOptions callbacks;
  callbacks.on_lost = [&](const absl::Status&) { ++lost_calls; };
  std::unique_ptr<Lease> lease = OwnedByA(&callbacks);
  ASSERT_NE(lease, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return lease->status().renewals >= 2; }, absl::Seconds(5)));
  const absl::Duration until_before = lease->until();
  const absl::Duration t0 = LeaseClockNow();
  mailbox_disk_->SetWriteError(absl::UnavailableError("injected write error"));
  ASSERT_TRUE(WaitUntil([&] { return !lease->Valid(); }, absl::Seconds(5)));
  const absl::Duration ran_out = LeaseClockNow() - t0;
  std::printf("write errors: the lease ran out %lld ms after they began (L = %lld ms)\n",
              static_cast<long long>(Ms(ran_out)), static_cast<long long>(Ms(kLeaseDuration)));
  EXPECT_GE(ran_out, kLeaseDuration - absl::Milliseconds(200));
  EXPECT_LE(ran_out, kLeaseDuration + kSlack);
  EXPECT_LE(lease->until(), until_before + 2 * kInterval + absl::Milliseconds(100));
  const LeaseStatus status = lease->status();
  EXPECT_GT(status.failed_renewals, 0u);
  EXPECT_NE(status.last_error.message().find("injected write error"), std::string::npos);
  EXPECT_EQ(lost_calls, 0) << "a failing disk is not a lost volume";

  mailbox_disk_->SetWriteError(absl::OkStatus());
  ASSERT_TRUE(WaitUntil([&] { return lease->Valid(); }, absl::Seconds(2)));
  lease->Abandon();
  EXPECT_FALSE(lease->Valid());
}

TEST_F(LeaseTest, StartFailsOnAClaimedAwayVolumeAndOnBadOptions) {
  absl::StatusOr<ClaimResult> claim = Claim("filer-a", 1001);
  ASSERT_TRUE(claim.ok());
  ASSERT_TRUE(OwnershipStore(record_.get())
                  .Write(Record("filer-b", 9, OwnershipState::kClaimed, 2002))
                  .ok());
  Lease lease(record_.get(), mailbox_.get(), Holder(*claim));
  absl::Status s = lease.Start(absl::Now() + absl::Seconds(2));
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_FALSE(lease.Valid());

  LeaseOptions bad = Holder(*claim);
  bad.duration = bad.interval;
  EXPECT_TRUE(absl::IsInvalidArgument(
      Lease(record_.get(), mailbox_.get(), bad).Start(absl::Now() + absl::Seconds(1))));

  // An unreadable record: no renewal succeeds by the deadline.
  record_disk_->SetReadError(absl::UnavailableError("injected"));
  Lease blind(record_.get(), mailbox_.get(), Holder(*claim));
  s = blind.Start(absl::Now() + 3 * kInterval);
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  record_disk_->SetReadError(absl::OkStatus());

  // A claim whose wait would end after the deadline.
  absl::StatusOr<ClaimResult> late =
      ClaimVolume(record_.get(), mailbox_.get(), MailboxObservation(), Taker("filer-c", 3003),
                  absl::Now() + absl::Milliseconds(100));
  EXPECT_TRUE(absl::IsDeadlineExceeded(late.status())) << late.status();
}

// ---- The fence guard, with real processes ----

class FenceGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("fence-guard-test");
    ASSERT_FALSE(dir_.empty());
    marker_ = dir_ + "/fenced";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<storage::BlockFile> OpenFile(const std::string& name) {
    storage::BlockFileOptions o;
    o.create = true;
    o.size = kBlockSize;
    absl::StatusOr<std::unique_ptr<storage::BlockFile>> file =
        storage::OpenBlockFile(dir_ + "/" + name, o);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? std::move(*file) : nullptr;
  }

  // Waits for a child to terminate (not merely stop); false on timeout.
  static bool WaitChild(pid_t pid, absl::Duration timeout, int* status, absl::Duration* when) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      const pid_t r = waitpid(pid, status, WNOHANG);
      if (r == pid) {
        *when = LeaseClockNow();
        return true;
      }
      if (r < 0) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return false;
  }

  // Reads one line from fd within timeout.
  static bool ReadLine(int fd, absl::Duration timeout, std::string* line) {
    const absl::Time deadline = absl::Now() + timeout;
    line->clear();
    while (absl::Now() < deadline) {
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      char c;
      if (read(fd, &c, 1) != 1) return false;
      if (c == '\n') return true;
      line->push_back(c);
    }
    return false;
  }

  // True once every holder of the write end of fd's pipe is gone.
  static bool WaitEof(int fd, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      char c;
      if (read(fd, &c, 1) == 0) return true;
    }
    return false;
  }

  FenceGuardOptions FastGuard(std::vector<int> keep_fds = {}) const {
    FenceGuardOptions o;
    o.tick = absl::Milliseconds(10);
    o.margin = absl::Milliseconds(30);
    o.fence_timeout = absl::Seconds(1);
    o.fence = MarkerFence(marker_);
    o.keep_fds = std::move(keep_fds);
    return o;
  }

  std::string dir_;
  std::string marker_;
};

TEST_F(FenceGuardTest, KillsAndFencesALeaseHolderThatStopsItself) {
  int report[2];
  int guard_alive[2];
  ASSERT_EQ(pipe(report), 0);
  ASSERT_EQ(pipe(guard_alive), 0);
  const std::string log = dir_ + "/stderr";
  constexpr absl::Duration kChildLease = absl::Milliseconds(500);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The filer: a guard first, then the lease, then SIGSTOP inside "a mutation".
    close(report[0]);
    close(guard_alive[0]);
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log_fd < 0 || dup2(log_fd, STDERR_FILENO) < 0) _exit(10);
    absl::StatusOr<std::unique_ptr<FenceGuard>> guard =
        FenceGuard::Spawn(FastGuard({guard_alive[1]}));
    if (!guard.ok()) _exit(11);
    close(guard_alive[1]);
    std::unique_ptr<storage::BlockFile> record = OpenFile("owner");
    std::unique_ptr<storage::BlockFile> mailbox = OpenFile("mailbox");
    if (record == nullptr || mailbox == nullptr) _exit(12);
    ClaimOptions co;
    co.volume = "vol-a";
    co.taker = "filer-a";
    co.incarnation = 77;
    co.lease_duration = kChildLease;
    absl::StatusOr<ClaimResult> claim = ClaimVolume(
        record.get(), mailbox.get(), MailboxObservation(), co, absl::Now() + absl::Seconds(5));
    if (!claim.ok()) _exit(13);
    LeaseOptions lo;
    lo.volume = "vol-a";
    lo.owner = "filer-a";
    lo.incarnation = 77;
    lo.epoch = claim->claim.epoch;
    lo.interval = kInterval;
    lo.duration = kChildLease;
    lo.guard = guard->get();
    lo.fence_devices = {"vifiler-test-a0", "vifiler-test-a1"};
    Lease lease(record.get(), mailbox.get(), lo);
    if (!lease.Start(absl::Now() + absl::Seconds(5)).ok()) _exit(14);
    absl::SleepFor(4 * kInterval);
    if (!lease.Valid()) _exit(15);
    const std::string line = absl::StrCat(absl::ToInt64Nanoseconds(lease.until()), " ",
                                          absl::ToInt64Nanoseconds(LeaseClockNow()), "\n");
    if (write(report[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(16);
    raise(SIGSTOP);
    _exit(17);  // not reached: the guard kills this process
  }
  close(report[1]);
  close(guard_alive[1]);
  std::string line;
  const bool reported = ReadLine(report[0], absl::Seconds(10), &line);
  int status = 0;
  absl::Duration died_at;
  const bool died = WaitChild(child, absl::Seconds(10), &status, &died_at);
  if (!died) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
  }
  ASSERT_TRUE(reported) << "child status " << status << "; stderr: " << ReadFile(log);
  ASSERT_TRUE(died) << "the guard did not kill the stopped filer; stderr: " << ReadFile(log);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status << "; stderr: " << ReadFile(log);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  std::vector<std::string> fields = absl::StrSplit(line, ' ');
  ASSERT_EQ(fields.size(), 2u) << line;
  int64_t until_ns = 0;
  int64_t stopped_ns = 0;
  ASSERT_TRUE(absl::SimpleAtoi(fields[0], &until_ns) && absl::SimpleAtoi(fields[1], &stopped_ns));
  const absl::Duration killed_after = died_at - absl::Nanoseconds(stopped_ns);
  std::printf(
      "guard: the stopped filer died %lld ms after it stopped (lease %lld ms, its lease "
      "ended %lld ms after it stopped at the earliest)\n",
      static_cast<long long>(Ms(killed_after)), static_cast<long long>(Ms(kChildLease)),
      static_cast<long long>(Ms(absl::Nanoseconds(until_ns - stopped_ns))));
  // Not before the lease it reported (less the guard margin), and within L + a bound of its stop.
  EXPECT_GE(died_at, absl::Nanoseconds(until_ns) - absl::Milliseconds(30) - absl::Milliseconds(5));
  EXPECT_LE(killed_after, kChildLease + kSlack);

  EXPECT_TRUE(WaitEof(guard_alive[0], absl::Seconds(5))) << "the guard did not exit";
  close(report[0]);
  close(guard_alive[0]);
  ASSERT_TRUE(WaitUntil([&] { return !ReadFile(marker_).empty(); }, absl::Seconds(2)));
  EXPECT_EQ(ReadFile(marker_), "vol-a vifiler-test-a0 vifiler-test-a1\n");
  const std::string err = ReadFile(log);
  const size_t said = err.find("vifiler guard:");
  ASSERT_NE(said, std::string::npos) << err;
  std::printf("the guard said: %s", err.substr(said).c_str());
  EXPECT_NE(err.find("vifiler guard: the lease on vol-a"), std::string::npos) << err;
  EXPECT_NE(err.find("killed filer pid " + std::to_string(child)), std::string::npos) << err;
}

TEST_F(FenceGuardTest, FencesEveryHeldVolumeWhenTheFilerDies) {
  int report[2];
  int guard_alive[2];
  ASSERT_EQ(pipe(report), 0);
  ASSERT_EQ(pipe(guard_alive), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(report[0]);
    close(guard_alive[0]);
    absl::StatusOr<std::unique_ptr<FenceGuard>> guard =
        FenceGuard::Spawn(FastGuard({guard_alive[1]}));
    if (!guard.ok()) _exit(11);
    close(guard_alive[1]);
    absl::StatusOr<int> a = (*guard)->AcquireSlot("vol-a", {"dm-a"});
    absl::StatusOr<int> b = (*guard)->AcquireSlot("vol-b", {"dm-b0", "dm-b1"});
    absl::StatusOr<int> c = (*guard)->AcquireSlot("vol-c", {"dm-c"});
    if (!a.ok() || !b.ok() || !c.ok()) _exit(12);
    (*guard)->Publish(*a, LeaseClockNow() + absl::Seconds(30));
    (*guard)->Publish(*b, LeaseClockNow() + absl::Seconds(30));
    (*guard)->FenceAtExpiry(*b);  // abandoned, lease not over yet: still held
    (*guard)->Publish(*c, LeaseClockNow() + absl::Seconds(30));
    (*guard)->FreeSlot(*c);  // released cleanly: not fenced
    if (write(report[1], "ready\n", 6) != 6) _exit(13);
    absl::SleepFor(absl::Seconds(30));
    _exit(14);
  }
  close(report[1]);
  close(guard_alive[1]);
  std::string line;
  const bool ready = ReadLine(report[0], absl::Seconds(10), &line);
  kill(child, SIGKILL);
  int status = 0;
  absl::Duration died_at;
  ASSERT_TRUE(WaitChild(child, absl::Seconds(10), &status, &died_at));
  ASSERT_TRUE(ready);
  EXPECT_TRUE(WaitEof(guard_alive[0], absl::Seconds(5))) << "the guard did not exit";
  const absl::Duration fenced_after = LeaseClockNow() - died_at;
  std::printf("guard: fenced and exited %lld ms after the filer died\n",
              static_cast<long long>(Ms(fenced_after)));
  EXPECT_LE(fenced_after, kSlack);
  close(report[0]);
  close(guard_alive[0]);
  const std::string fenced = ReadFile(marker_);
  EXPECT_NE(fenced.find("vol-a dm-a\n"), std::string::npos) << fenced;
  EXPECT_NE(fenced.find("vol-b dm-b0 dm-b1\n"), std::string::npos) << fenced;
  EXPECT_EQ(fenced.find("vol-c"), std::string::npos) << fenced;
}

TEST_F(FenceGuardTest, FencesAnAbandonedLeaseAtItsEndAndNothingAfterARelease) {
  absl::StatusOr<std::unique_ptr<FenceGuard>> guard = FenceGuard::Spawn(FastGuard());
  ASSERT_TRUE(guard.ok()) << guard.status();
  auto disk = storage::MemoryDisk::Create(4 * kBlockSize);
  std::unique_ptr<storage::BlockFile> record = disk->Open(0, kBlockSize);
  std::unique_ptr<storage::BlockFile> mailbox = disk->Open(kBlockSize, kBlockSize);
  std::unique_ptr<storage::BlockFile> record2 = disk->Open(2 * kBlockSize, kBlockSize);
  std::unique_ptr<storage::BlockFile> mailbox2 = disk->Open(3 * kBlockSize, kBlockSize);
  auto start = [&](storage::BlockFile* r, storage::BlockFile* m, const std::string& volume) {
    ClaimOptions co;
    co.volume = volume;
    co.taker = "filer-a";
    co.incarnation = 5;
    co.lease_duration = absl::Seconds(1);
    absl::StatusOr<ClaimResult> claim =
        ClaimVolume(r, m, MailboxObservation(), co, absl::Now() + absl::Seconds(5));
    EXPECT_TRUE(claim.ok()) << claim.status();
    LeaseOptions lo;
    lo.volume = volume;
    lo.owner = "filer-a";
    lo.incarnation = 5;
    lo.epoch = claim.ok() ? claim->claim.epoch : 1;
    lo.interval = kInterval;
    lo.duration = absl::Seconds(1);
    lo.guard = guard->get();
    lo.fence_devices = {"dm-" + volume};
    auto lease = std::make_unique<Lease>(r, m, lo);
    EXPECT_TRUE(lease->Start(absl::Now() + absl::Seconds(5)).ok());
    return lease;
  };
  std::unique_ptr<Lease> abandoned = start(record.get(), mailbox.get(), "vol-x");
  std::unique_ptr<Lease> released = start(record2.get(), mailbox2.get(), "vol-y");
  ASSERT_TRUE(abandoned->Valid() && released->Valid());
  EXPECT_EQ((*guard)->SlotState(0), "active");
  EXPECT_EQ((*guard)->SlotState(1), "active");

  ASSERT_TRUE(released->Release().ok());
  EXPECT_EQ((*guard)->SlotState(1), "free");
  abandoned->Abandon();
  const absl::Duration until = abandoned->until();
  EXPECT_EQ((*guard)->SlotState(0), "fence-at-expiry");
  ASSERT_TRUE(WaitUntil([&] { return (*guard)->SlotState(0) == "fenced"; }, absl::Seconds(3)));
  const absl::Duration fenced_at = LeaseClockNow();
  std::printf("guard: abandoned lease fenced %lld ms before its end\n",
              static_cast<long long>(Ms(until - fenced_at)));
  EXPECT_GE(fenced_at, until - absl::Milliseconds(30) - absl::Milliseconds(5));
  EXPECT_LE(fenced_at, until + kSlack);
  EXPECT_EQ(ReadFile(marker_), "vol-x dm-vol-x\n");
  EXPECT_TRUE((*guard)->alive());
  // This process lives on; a clean stop with nothing held fences nothing more.
  EXPECT_TRUE((*guard)->Stop(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_FALSE((*guard)->alive());
  EXPECT_EQ(ReadFile(marker_), "vol-x dm-vol-x\n");
}

TEST_F(FenceGuardTest, LeaseStopsWhenTheGuardDies) {
  absl::StatusOr<std::unique_ptr<FenceGuard>> guard = FenceGuard::Spawn(FastGuard());
  ASSERT_TRUE(guard.ok()) << guard.status();
  auto disk = storage::MemoryDisk::Create(2 * kBlockSize);
  std::unique_ptr<storage::BlockFile> record = disk->Open(0, kBlockSize);
  std::unique_ptr<storage::BlockFile> mailbox = disk->Open(kBlockSize, kBlockSize);
  ClaimOptions co;
  co.volume = "vol-a";
  co.taker = "filer-a";
  co.incarnation = 5;
  co.lease_duration = absl::Seconds(2);
  absl::StatusOr<ClaimResult> claim = ClaimVolume(record.get(), mailbox.get(), MailboxObservation(),
                                                  co, absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(claim.ok()) << claim.status();
  absl::Mutex mu;
  absl::Status lost;
  absl::Duration lost_at;
  LeaseOptions lo;
  lo.volume = "vol-a";
  lo.owner = "filer-a";
  lo.incarnation = 5;
  lo.epoch = claim->claim.epoch;
  lo.interval = kInterval;
  lo.duration = absl::Seconds(2);
  lo.guard = guard->get();
  lo.on_lost = [&](const absl::Status& why) {
    absl::MutexLock lock(&mu);
    lost = why;
    lost_at = LeaseClockNow();
  };
  Lease lease(record.get(), mailbox.get(), lo);
  ASSERT_TRUE(lease.Start(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_TRUE((*guard)->alive());

  const absl::Duration killed_at = LeaseClockNow();
  ASSERT_EQ(kill((*guard)->pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return !(*guard)->alive(); }, absl::Seconds(2)));
  ASSERT_TRUE(WaitUntil(
      [&] {
        absl::MutexLock lock(&mu);
        return !lost.ok();
      },
      absl::Seconds(3)));
  EXPECT_FALSE(lease.Valid());
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(absl::IsUnavailable(lost)) << lost;
  EXPECT_NE(lost.message().find("fence guard"), std::string::npos) << lost;
  std::printf("guard death: lease stopped %lld ms after the guard was killed\n",
              static_cast<long long>(Ms(lost_at - killed_at)));
  EXPECT_LE(lost_at - killed_at, kInterval + kSlack);
  absl::Status stopped = (*guard)->Stop(absl::Now() + absl::Seconds(2));
  EXPECT_NE(stopped.message().find("signal 9"), std::string::npos) << stopped;
}

TEST_F(FenceGuardTest, SpawnRefusesOnceThreadsRunAndSlotsAreBounded) {
  absl::Notification stop;
  std::thread busy([&] { stop.WaitForNotificationWithTimeout(absl::Seconds(10)); });
  absl::StatusOr<std::unique_ptr<FenceGuard>> refused = FenceGuard::Spawn(FastGuard());
  stop.Notify();
  busy.join();
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();

  absl::StatusOr<std::unique_ptr<FenceGuard>> guard = FenceGuard::Spawn(FastGuard());
  ASSERT_TRUE(guard.ok()) << guard.status();
  EXPECT_TRUE(absl::IsInvalidArgument((*guard)->AcquireSlot("v", {"a", "b", "c", "d"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument((*guard)->AcquireSlot("v", {""}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      (*guard)->AcquireSlot("v", {std::string(FenceGuard::kMaxDeviceName + 1, 'x')}).status()));
  for (int i = 0; i < FenceGuard::kMaxSlots; ++i) {
    absl::StatusOr<int> slot = (*guard)->AcquireSlot(absl::StrCat("v", i), {"d"});
    ASSERT_TRUE(slot.ok()) << slot.status();
    EXPECT_EQ((*guard)->SlotState(*slot), "idle");
  }
  EXPECT_TRUE(absl::IsResourceExhausted((*guard)->AcquireSlot("one more", {}).status()));
  (*guard)->FreeSlot(3);
  EXPECT_EQ(*(*guard)->AcquireSlot("again", {}), 3);
  EXPECT_TRUE((*guard)->Stop(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_TRUE(ReadFile(marker_).empty()) << "idle slots are never fenced";
}

}  // namespace
}  // namespace cluster
}  // namespace vifiler
