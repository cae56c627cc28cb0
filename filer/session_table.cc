// Copyright 2026 The vifiler Authors.

#include "filer/session_table.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace vifiler {
namespace filer {

namespace {
uint32_t RandomTag() {
  absl::BitGen gen;
  return absl::Uniform<uint32_t>(gen, 1, UINT32_MAX);
}
}  // namespace

SessionTable::SessionTable(absl::Duration lease, size_t max_clients)
    : lease_(lease), max_clients_(max_clients), tag_(RandomTag()) {}

bool SessionTable::Issued(uint64_t session_id) const {
  const uint32_t counter = static_cast<uint32_t>(session_id);
  return (session_id >> 32) == tag_ && counter != 0 && counter < next_counter_;
}

absl::StatusOr<uint64_t> SessionTable::Create(absl::string_view client_id, uint32_t slots,
                                              absl::Time now, Session* session) {
  absl::MutexLock lock(&mu_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) {
    if (clients_.size() >= max_clients_) {
      return absl::ResourceExhaustedError(
          absl::StrCat(clients_.size(), " clients already (the most this filer keeps)"));
    }
    it = clients_.emplace(std::string(client_id), Client()).first;
  }
  if (next_counter_ == UINT32_MAX) {
    // 4 billion sessions in one run: start over (ids of long-gone sessions may come back as
    // kUnknown instead of kExpired, which only loses the nicer error).
    next_counter_ = 1;
  }
  const uint64_t id = (static_cast<uint64_t>(tag_) << 32) | next_counter_++;
  Client& client = it->second;
  if (client.session_id != 0) sessions_.erase(client.session_id);
  client.session_id = id;
  client.slots = slots;
  client.last_active = now;
  sessions_[id] = std::string(client_id);
  *session = Session{std::string(client_id), slots};
  return id;
}

SessionTable::Lookup SessionTable::Find(uint64_t session_id, absl::Time now, Session* session) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return Issued(session_id) ? Lookup::kExpired : Lookup::kUnknown;
  Client& client = clients_[it->second];
  client.last_active = now;
  *session = Session{it->second, client.slots};
  return Lookup::kFound;
}

std::string SessionTable::Destroy(uint64_t session_id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return "";
  std::string client_id = it->second;
  sessions_.erase(it);
  auto c = clients_.find(client_id);
  if (c != clients_.end()) {
    c->second.session_id = 0;
    c->second.last_active = now;
    if (c->second.holds == 0) clients_.erase(c);
  }
  return client_id;
}

void SessionTable::Restore(absl::string_view client_id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Client& client = clients_[client_id];
  client.last_active = now;
}

void SessionTable::Hold(absl::string_view client_id) {
  absl::MutexLock lock(&mu_);
  ++clients_[client_id].holds;
}

void SessionTable::Release(absl::string_view client_id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return;
  if (it->second.holds > 0) --it->second.holds;
  it->second.last_active = now;
}

std::vector<std::string> SessionTable::Expire(absl::Time now) {
  std::vector<std::string> expired;
  absl::MutexLock lock(&mu_);
  for (auto it = clients_.begin(); it != clients_.end();) {
    const Client& client = it->second;
    if (client.holds == 0 && now - client.last_active >= lease_) {
      if (client.session_id != 0) sessions_.erase(client.session_id);
      expired.push_back(it->first);
      clients_.erase(it++);
    } else {
      ++it;
    }
  }
  expired_ += expired.size();
  return expired;
}

size_t SessionTable::clients() const {
  absl::MutexLock lock(&mu_);
  return clients_.size();
}

size_t SessionTable::sessions() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

uint64_t SessionTable::expired() const {
  absl::MutexLock lock(&mu_);
  return expired_;
}

}  // namespace filer
}  // namespace vifiler
