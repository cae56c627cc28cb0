// Copyright 2026 The vifiler Authors.

#include "filer/reply_cache.h"

#include "absl/strings/escaping.h"
#include "glog/logging.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {

namespace {
// A reply record is a header and a small body; room for one is what HasRoom checks.
constexpr size_t kTypicalReply = 512;
}  // namespace

ReplyCache::ReplyCache(storage::KeyedLog* log) : log_(log) {}

ReplyCache::Slot* ReplyCache::GetSlot(absl::string_view client_id, uint32_t slot) {
  auto it = clients_.find(client_id);
  if (it == clients_.end()) {
    auto client = std::make_unique<Client>();
    client->slots.resize(protocol::kMaxSlots);
    it = clients_.emplace(std::string(client_id), std::move(client)).first;
  }
  return &it->second->slots[slot];
}

std::vector<ReplyCache::Unresolved> ReplyCache::Load(const storage::KeyedLog::LiveMap& live) {
  std::vector<Unresolved> unresolved;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, value] : live) {
    std::string client_id;
    uint32_t index = 0;
    if (!DecodeReplyKey(key, &client_id, &index) || index >= protocol::kMaxSlots) {
      LOG(WARNING) << "reply log: skipping a record with a bad key";
      continue;
    }
    absl::StatusOr<ReplyRecord> record = DecodeReplyRecord(value);
    if (!record.ok()) {
      LOG(WARNING) << "reply log: skipping an undecodable record of client "
                   << absl::CHexEscape(client_id) << ": " << record.status();
      continue;
    }
    Slot* slot = GetSlot(client_id, index);
    slot->sequence = record->sequence;
    slot->logged = true;
    switch (record->type) {
      case ReplyRecordType::kReply:
        slot->state = State::kReplied;
        slot->reply = std::move(record->reply);
        break;
      case ReplyRecordType::kIntent:
        slot->state = State::kExecuting;  // until resolved
        unresolved.push_back(Unresolved{client_id, index, record->sequence, record->intent});
        break;
      case ReplyRecordType::kNotExecuted:
        slot->state = State::kIdle;
        break;
    }
  }
  return unresolved;
}

ReplyCache::Verdict ReplyCache::Begin(absl::string_view client_id, uint32_t index,
                                      uint64_t sequence, std::string* reply, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  Slot* slot = GetSlot(client_id, index);
  auto settled = [slot]() { return slot->state == State::kIdle || slot->state == State::kReplied; };
  if (slot->sequence == sequence && !settled()) {
    // The same request is still running (an earlier copy, before a reconnect): wait for it.
    if (!mu_.AwaitWithDeadline(absl::Condition(&settled), deadline)) return Verdict::kBusy;
    slot = GetSlot(client_id, index);  // the map may have grown; the slot did not move
  }
  if (sequence < slot->sequence) return Verdict::kMisordered;
  if (sequence == slot->sequence && slot->state == State::kReplied) {
    *reply = slot->reply;
    replays_.fetch_add(1);
    return Verdict::kReplay;
  }
  if (!settled()) return Verdict::kBusy;  // another sequence still runs: a client bug
  slot->sequence = sequence;
  slot->state = State::kExecuting;
  slot->reply.clear();
  return Verdict::kExecute;
}

absl::StatusOr<uint64_t> ReplyCache::RecordIntent(absl::string_view client_id, uint32_t index,
                                                  uint64_t sequence, const Intent& intent) {
  ReplyRecord record;
  record.type = ReplyRecordType::kIntent;
  record.sequence = sequence;
  record.intent = intent;
  absl::StatusOr<uint64_t> lsn = log_->Put(ReplyKey(client_id, index), EncodeReplyRecord(record));
  if (lsn.ok()) {
    absl::MutexLock lock(&mu_);
    GetSlot(client_id, index)->logged = true;
  }
  return lsn;
}

absl::StatusOr<uint64_t> ReplyCache::RecordReply(
    absl::string_view client_id, uint32_t index, uint64_t sequence, absl::string_view reply,
    std::vector<std::shared_ptr<storage::KeyedLog::Effect>> effects) {
  ReplyRecord record;
  record.type = ReplyRecordType::kReply;
  record.sequence = sequence;
  record.reply = std::string(reply);
  absl::StatusOr<uint64_t> lsn =
      log_->Put(ReplyKey(client_id, index), EncodeReplyRecord(record), std::move(effects));
  absl::MutexLock lock(&mu_);
  Slot* slot = GetSlot(client_id, index);
  if (lsn.ok() && slot->sequence == sequence) {
    slot->state = State::kPending;
    slot->logged = true;
    slot->reply = std::string(reply);
  }
  return lsn;
}

absl::StatusOr<uint64_t> ReplyCache::RecordNotExecuted(absl::string_view client_id, uint32_t index,
                                                       uint64_t sequence) {
  ReplyRecord record;
  record.type = ReplyRecordType::kNotExecuted;
  record.sequence = sequence;
  absl::StatusOr<uint64_t> lsn = log_->Put(ReplyKey(client_id, index), EncodeReplyRecord(record));
  absl::MutexLock lock(&mu_);
  Slot* slot = GetSlot(client_id, index);
  if (lsn.ok() && slot->sequence == sequence) {
    slot->state = State::kIdle;
    slot->logged = true;
  }
  return lsn;
}

void ReplyCache::MarkDurable(absl::string_view client_id, uint32_t index, uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  Slot* slot = GetSlot(client_id, index);
  if (slot->sequence == sequence && slot->state == State::kPending) slot->state = State::kReplied;
}

void ReplyCache::Finish(absl::string_view client_id, uint32_t index, uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  Slot* slot = GetSlot(client_id, index);
  if (slot->sequence == sequence && slot->state == State::kExecuting) slot->state = State::kIdle;
}

void ReplyCache::Forget(absl::string_view client_id) {
  std::vector<uint32_t> logged;
  {
    absl::MutexLock lock(&mu_);
    auto it = clients_.find(client_id);
    if (it == clients_.end()) return;
    bool busy = false;
    for (uint32_t i = 0; i < it->second->slots.size(); ++i) {
      const Slot& slot = it->second->slots[i];
      if (slot.state == State::kExecuting || slot.state == State::kPending) busy = true;
      if (slot.logged) logged.push_back(i);
    }
    if (busy) return;  // forgotten with a later session
    clients_.erase(it);
  }
  for (uint32_t i : logged) log_->Put(ReplyKey(client_id, i), "").IgnoreError();
}

bool ReplyCache::HasRoom() const { return log_->HasRoom(kTypicalReply); }

size_t ReplyCache::clients() const {
  absl::MutexLock lock(&mu_);
  return clients_.size();
}

}  // namespace filer
}  // namespace vifiler
