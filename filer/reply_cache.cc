// Copyright 2026 The vifiler Authors.

#include "filer/reply_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "protocol/types.h"

namespace vifiler {
namespace filer {
namespace {

// Record layout: u64 sequence, u32 reply length, u32 checksum, reply bytes, zero padding.
constexpr size_t kRecordHeader = 16;
constexpr size_t kRecordSize = kRecordHeader + ReplyCache::kMaxReplySize + 16;

uint32_t Checksum(uint64_t sequence, absl::string_view data) {
  uint32_t h = 2166136261u;  // FNV-1a over the sequence and the reply
  for (int i = 0; i < 8; ++i) h = (h ^ ((sequence >> (8 * i)) & 0xff)) * 16777619u;
  for (unsigned char c : data) h = (h ^ c) * 16777619u;
  return h;
}

void PutLE(char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t GetLE(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

}  // namespace

ReplyCache::ReplyCache(std::string dir, bool sync) : dir_(std::move(dir)), sync_(sync) {
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    LOG(ERROR) << "reply cache: cannot create " << dir_ << ": " << strerror(errno);
  }
}

ReplyCache::~ReplyCache() {
  for (auto& [id, client] : clients_) {
    if (client->fd >= 0) close(client->fd);
  }
}

ReplyCache::Client* ReplyCache::GetClient(absl::string_view client_id) {
  auto it = clients_.find(client_id);
  if (it != clients_.end()) return it->second.get();
  auto client = std::make_unique<Client>();
  client->slots.resize(protocol::kMaxSlots);
  std::string path = absl::StrCat(dir_, "/", absl::BytesToHexString(client_id));
  client->fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (client->fd < 0) {
    LOG(ERROR) << "reply cache: cannot open " << path << ": " << strerror(errno);
  } else {
    // Recover the slots persisted by this filer or by its partner before a takeover.
    std::string record(kRecordSize, '\0');
    for (uint32_t s = 0; s < protocol::kMaxSlots; ++s) {
      ssize_t n = pread(client->fd, record.data(), kRecordSize, off_t{s} * kRecordSize);
      if (n != static_cast<ssize_t>(kRecordSize)) break;
      uint64_t sequence = GetLE(record.data(), 8);
      size_t length = GetLE(record.data() + 8, 4);
      uint32_t sum = static_cast<uint32_t>(GetLE(record.data() + 12, 4));
      if (sequence == 0 || length > kMaxReplySize) continue;
      absl::string_view reply(record.data() + kRecordHeader, length);
      if (Checksum(sequence, reply) != sum) {
        LOG(WARNING) << "reply cache: bad checksum in " << path << " slot " << s;
        continue;
      }
      Slot& slot = client->slots[s];
      slot.sequence = sequence;
      slot.has_reply = true;
      slot.reply = std::string(reply);
    }
  }
  Client* raw = client.get();
  clients_.emplace(std::string(client_id), std::move(client));
  return raw;
}

ReplyCache::Verdict ReplyCache::Begin(absl::string_view client_id, uint32_t slot_index,
                                      uint64_t sequence, std::string* reply, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  Client* client = GetClient(client_id);
  Slot* slot = &client->slots[slot_index];
  auto idle = [slot]() { return !slot->executing; };
  while (slot->executing && slot->sequence == sequence) {
    if (mu_.AwaitWithDeadline(absl::Condition(&idle), deadline)) break;
    if (absl::Now() >= deadline) return Verdict::kBusy;
  }
  if (sequence < slot->sequence) return Verdict::kMisordered;
  if (sequence == slot->sequence && slot->has_reply) {
    *reply = slot->reply;
    replays_.fetch_add(1);
    return Verdict::kReplay;
  }
  if (slot->executing) return Verdict::kBusy;  // a different sequence still runs: client bug
  slot->sequence = sequence;
  slot->has_reply = false;
  slot->executing = true;
  return Verdict::kExecute;
}

absl::Status ReplyCache::Persist(Client* client, uint32_t slot, uint64_t sequence,
                                 absl::string_view reply) {
  if (client->fd < 0) return absl::InternalError("reply cache file is not open");
  if (reply.size() > kMaxReplySize) {
    return absl::InternalError(absl::StrCat("reply of ", reply.size(), " bytes too big to cache"));
  }
  std::string record(kRecordSize, '\0');
  PutLE(record.data(), sequence, 8);
  PutLE(record.data() + 8, reply.size(), 4);
  PutLE(record.data() + 12, Checksum(sequence, reply), 4);
  memcpy(record.data() + kRecordHeader, reply.data(), reply.size());
  ssize_t n = pwrite(client->fd, record.data(), kRecordSize, off_t{slot} * kRecordSize);
  if (n != static_cast<ssize_t>(kRecordSize)) {
    return absl::InternalError(absl::StrCat("reply cache write failed: ", strerror(errno)));
  }
  if (sync_ && fdatasync(client->fd) != 0) {
    return absl::InternalError(absl::StrCat("reply cache sync failed: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ReplyCache::Finish(absl::string_view client_id, uint32_t slot_index, uint64_t sequence,
                                bool mutating, absl::string_view reply) {
  absl::MutexLock lock(&mu_);
  Client* client = GetClient(client_id);
  Slot& slot = client->slots[slot_index];
  absl::Status status;
  if (mutating) status = Persist(client, slot_index, sequence, reply);
  if (slot.sequence == sequence) {
    slot.executing = false;
    slot.has_reply = mutating && status.ok();
    slot.reply = slot.has_reply ? std::string(reply) : std::string();
  }
  return status;
}

void ReplyCache::Abandon(absl::string_view client_id, uint32_t slot_index, uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  Slot& slot = GetClient(client_id)->slots[slot_index];
  if (slot.sequence == sequence) slot.executing = false;
}

}  // namespace filer
}  // namespace vifiler
