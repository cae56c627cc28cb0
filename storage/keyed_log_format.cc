// Copyright 2026 The vifiler Authors.

#include "storage/keyed_log_format.h"

namespace vifiler {
namespace storage {
namespace {

void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetLE(absl::string_view* in, int bytes, uint64_t* v) {
  if (in->size() < static_cast<size_t>(bytes)) return false;
  *v = 0;
  for (int i = 0; i < bytes; ++i) *v |= uint64_t{static_cast<uint8_t>((*in)[i])} << (8 * i);
  in->remove_prefix(bytes);
  return true;
}

}  // namespace

size_t EncodedEntrySize(const LogEntry& entry) {
  return kEntryOverhead + entry.key.size() + entry.value.size();
}

void AppendEntry(const LogEntry& entry, std::string* payload) {
  PutLE(payload, entry.key.size(), 2);
  payload->append(entry.key);
  PutLE(payload, entry.value.size(), 4);
  payload->append(entry.value);
}

bool DecodeEntries(absl::string_view payload, std::vector<LogEntry>* entries) {
  while (!payload.empty()) {
    uint64_t key_length;
    uint64_t value_length;
    if (!GetLE(&payload, 2, &key_length) || key_length > payload.size() || key_length == 0 ||
        key_length > kMaxKeySize) {
      return false;
    }
    LogEntry entry;
    entry.key = std::string(payload.substr(0, key_length));
    payload.remove_prefix(key_length);
    if (!GetLE(&payload, 4, &value_length) || value_length > payload.size()) return false;
    entry.value = std::string(payload.substr(0, value_length));
    payload.remove_prefix(value_length);
    entries->push_back(std::move(entry));
  }
  return true;
}

}  // namespace storage
}  // namespace vifiler
