// Copyright 2026 The vifiler Authors.

#include "tools/load/load_record.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace load {
namespace {

constexpr char kAppendMagic[4] = {'V', 'L', 'A', '1'};
constexpr char kSlotMagic[4] = {'V', 'L', 'S', '1'};
constexpr size_t kFillerBegin = 32;
constexpr size_t kChecksumAt = 56;

uint64_t Fnv64(absl::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  return h;
}

void PutU64(char* at, uint64_t v) {
  for (int b = 0; b < 8; ++b) at[b] = static_cast<char>(v >> (8 * b));
}

uint64_t GetU64(const char* at) {
  uint64_t v = 0;
  for (int b = 0; b < 8; ++b)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(at[b])) << (8 * b);
  return v;
}

void FillFiller(char* out, const Record& r) {
  uint64_t x = r.tag ^ (static_cast<uint64_t>(r.thread) << 48) ^ (r.index * 0x9E3779B97F4A7C15ull) ^
               (r.slot << 40) ^ 0x5DEECE66Dull;
  for (size_t at = kFillerBegin; at < kChecksumAt; at += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    PutU64(out + at, x);
  }
}

}  // namespace

uint64_t ClientTag(absl::string_view client_id) { return Fnv64(client_id); }

std::string EncodeRecord(const Record& r) {
  std::string out(kRecordBytes, '\0');
  memcpy(&out[0], r.kind == RecordKind::kAppend ? kAppendMagic : kSlotMagic, 4);
  const uint32_t thread = r.thread;
  for (int b = 0; b < 4; ++b) out[4 + b] = static_cast<char>(thread >> (8 * b));
  PutU64(&out[8], r.index);
  PutU64(&out[16], r.slot);
  PutU64(&out[24], r.tag);
  FillFiller(&out[0], r);
  PutU64(&out[kChecksumAt], Fnv64(absl::string_view(out.data(), kChecksumAt)));
  return out;
}

bool IsZero(absl::string_view bytes) {
  for (char c : bytes) {
    if (c != '\0') return false;
  }
  return true;
}

absl::StatusOr<Record> DecodeRecord(absl::string_view bytes) {
  if (bytes.size() != kRecordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("record of ", bytes.size(), " bytes"));
  }
  Record r;
  if (memcmp(bytes.data(), kAppendMagic, 4) == 0) {
    r.kind = RecordKind::kAppend;
  } else if (memcmp(bytes.data(), kSlotMagic, 4) == 0) {
    r.kind = RecordKind::kSlot;
  } else {
    return absl::InvalidArgumentError(IsZero(bytes) ? "zeros (never written)" : "bad magic");
  }
  if (GetU64(bytes.data() + kChecksumAt) != Fnv64(bytes.substr(0, kChecksumAt))) {
    return absl::InvalidArgumentError("bad checksum");
  }
  uint32_t thread = 0;
  for (int b = 0; b < 4; ++b)
    thread |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[4 + b])) << (8 * b);
  r.thread = thread;
  r.index = GetU64(bytes.data() + 8);
  r.slot = GetU64(bytes.data() + 16);
  r.tag = GetU64(bytes.data() + 24);
  if (EncodeRecord(r) != bytes) return absl::InvalidArgumentError("bad filler");
  return r;
}

std::string DescribeRecord(const Record& r) {
  if (r.kind == RecordKind::kAppend) return absl::StrCat("append ", r.index, " of t", r.thread);
  return absl::StrCat("slot ", r.slot, " version ", r.index, " of t", r.thread);
}

}  // namespace load
}  // namespace vifiler
