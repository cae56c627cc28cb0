// Copyright 2026 The vifiler Authors.

#include "filer/reply_record.h"

#include "protocol/codec.h"

namespace vifiler {
namespace filer {
namespace {

void EncodeHandle(const protocol::FileHandle& h, protocol::Encoder* e) {
  e->PutU64(h.volume_id);
  e->PutU64(h.file_id);
  e->PutU64(h.generation);
}

bool DecodeHandle(protocol::Decoder* d, protocol::FileHandle* h) {
  return d->GetU64(&h->volume_id) && d->GetU64(&h->file_id) && d->GetU64(&h->generation);
}

}  // namespace

std::string ReplyKey(absl::string_view client_id, uint32_t slot) {
  std::string key;
  protocol::Encoder e(&key);
  e.PutU8(static_cast<uint8_t>(client_id.size()));
  e.PutRaw(client_id);
  e.PutU32(slot);
  return key;
}

bool DecodeReplyKey(absl::string_view key, std::string* client_id, uint32_t* slot) {
  if (key.empty()) return false;
  const size_t length = static_cast<uint8_t>(key[0]);
  if (key.size() != 1 + length + 4) return false;
  *client_id = std::string(key.substr(1, length));
  protocol::Decoder d(key.substr(1 + length));
  return d.GetU32(slot) && d.Finish().ok();
}

std::string EncodeReplyRecord(const ReplyRecord& record) {
  std::string out;
  protocol::Encoder e(&out);
  e.PutU8(static_cast<uint8_t>(record.type));
  e.PutU64(record.sequence);
  switch (record.type) {
    case ReplyRecordType::kReply:
      e.PutRaw(record.reply);
      break;
    case ReplyRecordType::kIntent: {
      const Intent& i = record.intent;
      e.PutU16(static_cast<uint16_t>(i.op));
      EncodeHandle(i.dir, &e);
      e.PutString(i.name);
      EncodeHandle(i.to_dir, &e);
      e.PutString(i.to_name);
      e.PutU64(i.file_id);
      e.PutU32(i.mode);
      break;
    }
    case ReplyRecordType::kNotExecuted:
    case ReplyRecordType::kClient:
      break;
    case ReplyRecordType::kExpired:
      e.PutU64(static_cast<uint64_t>(absl::ToUnixMicros(record.expired_at)));
      break;
  }
  return out;
}

absl::StatusOr<ReplyRecord> DecodeReplyRecord(absl::string_view value) {
  protocol::Decoder d(value);
  ReplyRecord record;
  uint8_t type = 0;
  if (!d.GetU8(&type) || !d.GetU64(&record.sequence)) return d.status();
  switch (static_cast<ReplyRecordType>(type)) {
    case ReplyRecordType::kReply:
      record.type = ReplyRecordType::kReply;
      record.reply = std::string(value.substr(value.size() - d.remaining()));
      if (record.reply.size() < protocol::kHeaderSize) {
        return absl::DataLossError("reply record without a reply");
      }
      return record;
    case ReplyRecordType::kIntent: {
      record.type = ReplyRecordType::kIntent;
      Intent& i = record.intent;
      uint16_t op = 0;
      if (!d.GetU16(&op) || !DecodeHandle(&d, &i.dir) ||
          !d.GetString(&i.name, protocol::kMaxNameLength) || !DecodeHandle(&d, &i.to_dir) ||
          !d.GetString(&i.to_name, protocol::kMaxNameLength) || !d.GetU64(&i.file_id) ||
          !d.GetU32(&i.mode)) {
        return d.status();
      }
      if (op > protocol::kMaxOpcode) return absl::DataLossError("intent with a bad opcode");
      i.op = static_cast<protocol::Opcode>(op);
      if (absl::Status s = d.Finish(); !s.ok()) return s;
      return record;
    }
    case ReplyRecordType::kNotExecuted:
    case ReplyRecordType::kClient:
      record.type = static_cast<ReplyRecordType>(type);
      if (absl::Status s = d.Finish(); !s.ok()) return s;
      return record;
    case ReplyRecordType::kExpired: {
      record.type = ReplyRecordType::kExpired;
      uint64_t micros = 0;
      if (!d.GetU64(&micros)) return d.status();
      if (absl::Status s = d.Finish(); !s.ok()) return s;
      record.expired_at = absl::FromUnixMicros(static_cast<int64_t>(micros));
      return record;
    }
  }
  return absl::DataLossError("unknown reply record type");
}

}  // namespace filer
}  // namespace vifiler
