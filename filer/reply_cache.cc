// Copyright 2026 The vifiler Authors.

#include "filer/reply_cache.h"

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {

namespace {
// A reply record is a header and a small body; room for one is what HasRoom checks.
constexpr size_t kTypicalReply = 512;
}  // namespace

ReplyCache::ReplyCache(storage::KeyedLog* log) : log_(log) {}

ReplyCache::Client* ReplyCache::GetClient(absl::string_view client_id) {
  auto it = clients_.find(client_id);
  if (it == clients_.end()) {
    auto client = std::make_unique<Client>();
    client->slots.resize(protocol::kMaxSlots);
    // A client back after its lease expired: its old sequences stay refused.
    if (auto e = expired_.find(client_id); e != expired_.end()) {
      for (const auto& [index, sequence] : e->second.sequences) {
        Slot& slot = client->slots[index];
        slot.sequence = sequence;
        slot.state = State::kExpired;
        slot.logged = true;
      }
      expired_.erase(e);
    }
    it = clients_.emplace(std::string(client_id), std::move(client)).first;
  }
  return it->second.get();
}

ReplyCache::Slot* ReplyCache::GetSlot(absl::string_view client_id, uint32_t slot) {
  return &GetClient(client_id)->slots[slot];
}

std::vector<ReplyCache::Unresolved> ReplyCache::Load(const storage::KeyedLog::LiveMap& live) {
  std::vector<Unresolved> unresolved;
  absl::flat_hash_map<std::string, absl::Time> expired_at;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, value] : live) {
    std::string client_id;
    uint32_t index = 0;
    if (DecodeReplyKey(key, &client_id, &index) && index == kClientRecordSlot) {
      GetClient(client_id)->recorded = true;
      continue;
    }
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
      case ReplyRecordType::kClient:  // only under kClientRecordSlot, handled above
        slot->state = State::kIdle;
        break;
      case ReplyRecordType::kExpired:
        slot->state = State::kExpired;
        expired_at[client_id] = std::max(expired_at[client_id], record->expired_at);
        break;
    }
  }
  // Clients with nothing but expired slots are kept in the compact form.
  for (const auto& [client_id, at] : expired_at) {
    auto it = clients_.find(client_id);
    if (it == clients_.end() || it->second->recorded) continue;
    Expired expired{at, {}};
    bool only_expired = true;
    for (uint32_t i = 0; i < it->second->slots.size(); ++i) {
      const Slot& slot = it->second->slots[i];
      if (!slot.logged) continue;
      if (slot.state != State::kExpired) only_expired = false;
      expired.sequences.emplace_back(i, slot.sequence);
    }
    if (!only_expired) continue;
    expired_[client_id] = std::move(expired);
    clients_.erase(it);
  }
  return unresolved;
}

ReplyCache::Verdict ReplyCache::Begin(absl::string_view client_id, uint32_t index,
                                      uint64_t sequence, std::string* reply, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  Slot* slot = GetSlot(client_id, index);
  auto settled = [slot]() { return slot->Settled(); };
  if (slot->sequence == sequence && !settled()) {
    // The same request is still running (an earlier copy, before a reconnect): wait for it.
    if (!mu_.AwaitWithDeadline(absl::Condition(&settled), deadline)) return Verdict::kBusy;
    slot = GetSlot(client_id, index);  // the map may have grown; the slot did not move
  }
  const Verdict verdict = slot->Begin(sequence, absl::Now());
  if (verdict == Verdict::kReplay) {
    *reply = slot->reply;
    replays_.fetch_add(1);
  }
  return verdict;
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
  if (lsn.ok()) GetSlot(client_id, index)->Recorded(sequence, std::string(reply));
  return lsn;
}

absl::StatusOr<uint64_t> ReplyCache::RecordNotExecuted(absl::string_view client_id, uint32_t index,
                                                       uint64_t sequence) {
  ReplyRecord record;
  record.type = ReplyRecordType::kNotExecuted;
  record.sequence = sequence;
  absl::StatusOr<uint64_t> lsn = log_->Put(ReplyKey(client_id, index), EncodeReplyRecord(record));
  absl::MutexLock lock(&mu_);
  if (lsn.ok()) GetSlot(client_id, index)->NotExecuted(sequence);
  return lsn;
}

void ReplyCache::MarkDurable(absl::string_view client_id, uint32_t index, uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  GetSlot(client_id, index)->Durable(sequence);
}

void ReplyCache::Finish(absl::string_view client_id, uint32_t index, uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  GetSlot(client_id, index)->Finished(sequence);
}

absl::StatusOr<uint64_t> ReplyCache::RecordClient(absl::string_view client_id) {
  {
    absl::MutexLock lock(&mu_);
    Client* client = GetClient(client_id);
    if (client->recorded) return 0;
    for (const Slot& slot : client->slots) {
      if (slot.logged) return 0;  // a record of one of its slots makes it known as well
    }
  }
  ReplyRecord record;
  record.type = ReplyRecordType::kClient;
  absl::StatusOr<uint64_t> lsn =
      log_->Put(ReplyKey(client_id, kClientRecordSlot), EncodeReplyRecord(record));
  if (lsn.ok()) {
    absl::MutexLock lock(&mu_);
    GetClient(client_id)->recorded = true;
  }
  return lsn;
}

bool ReplyCache::Forget(absl::string_view client_id) {
  std::vector<uint32_t> logged;
  {
    absl::MutexLock lock(&mu_);
    if (auto e = expired_.find(client_id); e != expired_.end()) {
      for (const auto& [index, sequence] : e->second.sequences) logged.push_back(index);
      expired_.erase(e);
    }
    auto it = clients_.find(client_id);
    if (it == clients_.end()) {
      for (uint32_t i : logged) log_->Put(ReplyKey(client_id, i), "").IgnoreError();
      return true;
    }
    for (uint32_t i = 0; i < it->second->slots.size(); ++i) {
      const Slot& slot = it->second->slots[i];
      if (slot.state == State::kExecuting || slot.state == State::kPending) return false;
      if (slot.logged) logged.push_back(i);
    }
    if (it->second->recorded) logged.push_back(kClientRecordSlot);
    clients_.erase(it);
  }
  // Appending an erasure only queues it (no I/O here). A full or failed log keeps the records;
  // they are then erased the next time the client is forgotten, or outlive it harmlessly.
  for (uint32_t i : logged) log_->Put(ReplyKey(client_id, i), "").IgnoreError();
  return true;
}

bool ReplyCache::Expire(absl::string_view client_id, absl::Time now) {
  Expired expired{now, {}};
  std::vector<uint32_t> erased;  // logged slots whose request did not run: nothing to refuse
  bool recorded = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = clients_.find(client_id);
    if (it == clients_.end()) return true;
    for (uint32_t i = 0; i < it->second->slots.size(); ++i) {
      const Slot& slot = it->second->slots[i];
      if (slot.state == State::kExecuting || slot.state == State::kPending) return false;
      if (!slot.logged) continue;
      if (slot.state == State::kReplied || slot.state == State::kExpired) {
        expired.sequences.emplace_back(i, slot.sequence);
      } else {
        erased.push_back(i);
      }
    }
    recorded = it->second->recorded;
    clients_.erase(it);
    if (!expired.sequences.empty()) expired_[client_id] = expired;
  }
  // Appending only queues the records (no I/O here). A full or failed log keeps the old ones,
  // which is safe: they are replies, and a replay gets them.
  ReplyRecord record;
  record.type = ReplyRecordType::kExpired;
  record.expired_at = now;
  for (const auto& [index, sequence] : expired.sequences) {
    record.sequence = sequence;
    log_->Put(ReplyKey(client_id, index), EncodeReplyRecord(record)).IgnoreError();
  }
  for (uint32_t i : erased) log_->Put(ReplyKey(client_id, i), "").IgnoreError();
  if (recorded) log_->Put(ReplyKey(client_id, kClientRecordSlot), "").IgnoreError();
  return true;
}

size_t ReplyCache::DropExpired(absl::Time cutoff) {
  std::vector<std::pair<std::string, Expired>> dropped;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = expired_.begin(); it != expired_.end();) {
      if (it->second.at < cutoff) {
        dropped.emplace_back(it->first, std::move(it->second));
        expired_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  for (const auto& [client_id, expired] : dropped) {
    for (const auto& [index, sequence] : expired.sequences) {
      log_->Put(ReplyKey(client_id, index), "").IgnoreError();
    }
  }
  return dropped.size();
}

size_t ReplyCache::expired_clients() const {
  absl::MutexLock lock(&mu_);
  return expired_.size();
}

std::vector<std::string> ReplyCache::client_ids() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  ids.reserve(clients_.size());
  for (const auto& [id, client] : clients_) ids.push_back(id);
  return ids;
}

bool ReplyCache::HasRoom() const { return log_->HasRoom(kTypicalReply); }

size_t ReplyCache::clients() const {
  absl::MutexLock lock(&mu_);
  return clients_.size();
}

}  // namespace filer
}  // namespace vifiler
