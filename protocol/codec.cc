// Copyright 2026 The vifiler Authors.

#include "protocol/codec.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace protocol {
namespace {

// Limit on strings that name a filer or explain a notice.
constexpr size_t kMaxTextLength = 256;
// Smallest encoding of one DirEntry: u32 name length, u64 file_id, u32 type.
constexpr size_t kMinDirEntrySize = 4 + 8 + 4;

// Decodes a little-endian unsigned integer of sizeof(T) bytes.
template <typename T>
T LoadLittleEndian(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i));
  }
  return v;
}

template <typename T>
void StoreLittleEndian(T v, std::string* out) {
  char buf[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) {
    buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  out->append(buf, sizeof(T));
}

void PutI64(int64_t v, Encoder* e) { e->PutU64(static_cast<uint64_t>(v)); }

void PutHandle(const FileHandle& h, Encoder* e) {
  e->PutU64(h.volume_id);
  e->PutU64(h.file_id);
  e->PutU64(h.generation);
}

bool GetHandle(Decoder* d, FileHandle* h) {
  return d->GetU64(&h->volume_id) && d->GetU64(&h->file_id) && d->GetU64(&h->generation);
}

bool GetFileType(Decoder* d, FileType* t) {
  uint32_t v = 0;
  if (!d->GetU32(&v)) return false;
  if (v > static_cast<uint32_t>(FileType::kSymlink)) {
    return d->Fail(absl::StrCat("unknown file type ", v));
  }
  *t = static_cast<FileType>(v);
  return true;
}

void PutAttr(const FileAttr& a, Encoder* e) {
  e->PutU64(a.file_id);
  e->PutU32(static_cast<uint32_t>(a.type));
  e->PutU32(a.mode);
  e->PutU32(a.nlink);
  e->PutU64(a.size);
  PutI64(a.atime_ns, e);
  PutI64(a.mtime_ns, e);
  PutI64(a.ctime_ns, e);
}

bool GetAttr(Decoder* d, FileAttr* a) {
  return d->GetU64(&a->file_id) && GetFileType(d, &a->type) && d->GetU32(&a->mode) &&
         d->GetU32(&a->nlink) && d->GetU64(&a->size) && d->GetI64(&a->atime_ns) &&
         d->GetI64(&a->mtime_ns) && d->GetI64(&a->ctime_ns);
}

void PutBuffer(const RemoteBuffer& b, Encoder* e) {
  e->PutU64(b.address);
  e->PutU32(b.key);
  e->PutU32(b.length);
}

bool GetBuffer(Decoder* d, RemoteBuffer* b) {
  return d->GetU64(&b->address) && d->GetU32(&b->key) && d->GetU32(&b->length);
}

// Checks a transfer length against kMaxTransferLength.
bool CheckTransferLength(Decoder* d, uint32_t length) {
  if (length > kMaxTransferLength) {
    return d->Fail(absl::StrCat("transfer length ", length, " over limit ", kMaxTransferLength));
  }
  return true;
}

}  // namespace

// ---- Encoder ----

void Encoder::PutU8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
void Encoder::PutU16(uint16_t v) { StoreLittleEndian(v, out_); }
void Encoder::PutU32(uint32_t v) { StoreLittleEndian(v, out_); }
void Encoder::PutU64(uint64_t v) { StoreLittleEndian(v, out_); }

void Encoder::PutString(absl::string_view s) {
  PutU32(static_cast<uint32_t>(s.size()));
  out_->append(s.data(), s.size());
}

void Encoder::PutRaw(absl::string_view s) { out_->append(s.data(), s.size()); }

// ---- Decoder ----

bool Decoder::Fail(absl::string_view reason) {
  if (status_.ok()) status_ = absl::InvalidArgumentError(reason);
  return false;
}

bool Decoder::GetU8(uint8_t* v) {
  if (!status_.ok()) return false;
  if (in_.size() < 1) return Fail("truncated: expected u8");
  *v = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return true;
}

bool Decoder::GetU16(uint16_t* v) {
  if (!status_.ok()) return false;
  if (in_.size() < 2) return Fail("truncated: expected u16");
  *v = LoadLittleEndian<uint16_t>(in_.data());
  in_.remove_prefix(2);
  return true;
}

bool Decoder::GetU32(uint32_t* v) {
  if (!status_.ok()) return false;
  if (in_.size() < 4) return Fail("truncated: expected u32");
  *v = LoadLittleEndian<uint32_t>(in_.data());
  in_.remove_prefix(4);
  return true;
}

bool Decoder::GetU64(uint64_t* v) {
  if (!status_.ok()) return false;
  if (in_.size() < 8) return Fail("truncated: expected u64");
  *v = LoadLittleEndian<uint64_t>(in_.data());
  in_.remove_prefix(8);
  return true;
}

bool Decoder::GetI64(int64_t* v) {
  uint64_t u = 0;
  if (!GetU64(&u)) return false;
  std::memcpy(v, &u, sizeof(u));
  return true;
}

bool Decoder::GetBool(bool* v) {
  uint8_t b = 0;
  if (!GetU8(&b)) return false;
  if (b > 1) return Fail(absl::StrCat("bool byte is ", static_cast<int>(b), ", not 0 or 1"));
  *v = (b == 1);
  return true;
}

bool Decoder::GetString(std::string* s, size_t max_length) {
  uint32_t length = 0;
  if (!GetU32(&length)) return false;
  if (length > max_length) {
    return Fail(absl::StrCat("string length ", length, " over limit ", max_length));
  }
  if (length > in_.size()) {
    return Fail(absl::StrCat("string length ", length, " beyond input (", in_.size(), " left)"));
  }
  s->assign(in_.data(), length);
  in_.remove_prefix(length);
  return true;
}

absl::Status Decoder::Finish() {
  if (!status_.ok()) return status_;
  if (!in_.empty()) {
    status_ = absl::InvalidArgumentError(absl::StrCat(in_.size(), " trailing bytes"));
    return status_;
  }
  return absl::OkStatus();
}

// ---- Header ----

void EncodeHeader(const MessageHeader& h, Encoder* e) {
  e->PutU32(h.magic);
  e->PutU16(h.version);
  e->PutU16(static_cast<uint16_t>(h.opcode));
  e->PutU32(h.flags);
  e->PutU32(static_cast<uint32_t>(h.status));
  e->PutU64(h.session_id);
  e->PutU32(h.slot);
  e->PutU32(h.payload_length);
  e->PutU64(h.sequence);
}

absl::StatusOr<MessageHeader> DecodeHeader(absl::string_view message) {
  if (message.size() < kHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message of ", message.size(), " bytes shorter than header (", kHeaderSize, ")"));
  }
  Decoder d(message.substr(0, kHeaderSize));
  MessageHeader h;
  uint16_t opcode = 0;
  uint32_t status = 0;
  d.GetU32(&h.magic) && d.GetU16(&h.version) && d.GetU16(&opcode) && d.GetU32(&h.flags) &&
      d.GetU32(&status) && d.GetU64(&h.session_id) && d.GetU32(&h.slot) &&
      d.GetU32(&h.payload_length) && d.GetU64(&h.sequence);
  absl::Status s = d.Finish();
  if (!s.ok()) return s;
  if (h.magic != kMagic) {
    return absl::InvalidArgumentError(absl::StrCat("bad magic 0x", absl::Hex(h.magic)));
  }
  if (h.version != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported version ", h.version));
  }
  if (opcode > kMaxOpcode) {
    return absl::InvalidArgumentError(absl::StrCat("unknown opcode ", opcode));
  }
  h.opcode = static_cast<Opcode>(opcode);
  if (status > static_cast<uint32_t>(kLastErrorCode)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown status ", status));
  }
  h.status = static_cast<ErrorCode>(status);
  const size_t body_size = message.size() - kHeaderSize;
  if (h.payload_length != body_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "payload_length ", h.payload_length, " does not match body of ", body_size, " bytes"));
  }
  return h;
}

// ---- Bodies ----

void EncodeBody(const Empty&, Encoder*) {}
absl::Status DecodeBody(Decoder* d, Empty*) { return d->status(); }

void EncodeBody(const SessionCreateRequest& m, Encoder* e) {
  e->PutString(m.client_id);
  e->PutU32(m.slots);
}
absl::Status DecodeBody(Decoder* d, SessionCreateRequest* m) {
  if (d->GetString(&m->client_id, kMaxClientIdLength) && d->GetU32(&m->slots) &&
      (m->slots < 1 || m->slots > kMaxSlots)) {
    d->Fail(absl::StrCat("slots ", m->slots, " not in 1..", kMaxSlots));
  }
  return d->status();
}

void EncodeBody(const SessionCreateReply& m, Encoder* e) {
  e->PutU64(m.session_id);
  e->PutU32(m.slots);
  e->PutU32(m.inline_threshold);
  PutHandle(m.root, e);
  e->PutString(m.filer_name);
}
absl::Status DecodeBody(Decoder* d, SessionCreateReply* m) {
  d->GetU64(&m->session_id) && d->GetU32(&m->slots) && d->GetU32(&m->inline_threshold) &&
      GetHandle(d, &m->root) && d->GetString(&m->filer_name, kMaxTextLength);
  return d->status();
}

void EncodeBody(const LookupRequest& m, Encoder* e) {
  PutHandle(m.dir, e);
  e->PutString(m.name);
}
absl::Status DecodeBody(Decoder* d, LookupRequest* m) {
  GetHandle(d, &m->dir) && d->GetString(&m->name, kMaxNameLength);
  return d->status();
}

void EncodeBody(const HandleReply& m, Encoder* e) {
  PutHandle(m.handle, e);
  PutAttr(m.attr, e);
}
absl::Status DecodeBody(Decoder* d, HandleReply* m) {
  GetHandle(d, &m->handle) && GetAttr(d, &m->attr);
  return d->status();
}

void EncodeBody(const GetAttrRequest& m, Encoder* e) { PutHandle(m.handle, e); }
absl::Status DecodeBody(Decoder* d, GetAttrRequest* m) {
  GetHandle(d, &m->handle);
  return d->status();
}

void EncodeBody(const AttrReply& m, Encoder* e) { PutAttr(m.attr, e); }
absl::Status DecodeBody(Decoder* d, AttrReply* m) {
  GetAttr(d, &m->attr);
  return d->status();
}

void EncodeBody(const SetAttrRequest& m, Encoder* e) {
  PutHandle(m.handle, e);
  e->PutU32(m.mask);
  e->PutU64(m.size);
  e->PutU32(m.mode);
  PutI64(m.atime_ns, e);
  PutI64(m.mtime_ns, e);
}
absl::Status DecodeBody(Decoder* d, SetAttrRequest* m) {
  GetHandle(d, &m->handle) && d->GetU32(&m->mask) && d->GetU64(&m->size) && d->GetU32(&m->mode) &&
      d->GetI64(&m->atime_ns) && d->GetI64(&m->mtime_ns);
  return d->status();
}

void EncodeBody(const CreateRequest& m, Encoder* e) {
  PutHandle(m.dir, e);
  e->PutString(m.name);
  e->PutU32(m.mode);
  e->PutBool(m.exclusive);
  e->PutBool(m.truncate);
}
absl::Status DecodeBody(Decoder* d, CreateRequest* m) {
  GetHandle(d, &m->dir) && d->GetString(&m->name, kMaxNameLength) && d->GetU32(&m->mode) &&
      d->GetBool(&m->exclusive) && d->GetBool(&m->truncate);
  return d->status();
}

void EncodeBody(const MkdirRequest& m, Encoder* e) {
  PutHandle(m.dir, e);
  e->PutString(m.name);
  e->PutU32(m.mode);
}
absl::Status DecodeBody(Decoder* d, MkdirRequest* m) {
  GetHandle(d, &m->dir) && d->GetString(&m->name, kMaxNameLength) && d->GetU32(&m->mode);
  return d->status();
}

void EncodeBody(const RemoveRequest& m, Encoder* e) {
  PutHandle(m.dir, e);
  e->PutString(m.name);
}
absl::Status DecodeBody(Decoder* d, RemoveRequest* m) {
  GetHandle(d, &m->dir) && d->GetString(&m->name, kMaxNameLength);
  return d->status();
}

void EncodeBody(const RenameRequest& m, Encoder* e) {
  PutHandle(m.from_dir, e);
  e->PutString(m.from_name);
  PutHandle(m.to_dir, e);
  e->PutString(m.to_name);
}
absl::Status DecodeBody(Decoder* d, RenameRequest* m) {
  GetHandle(d, &m->from_dir) && d->GetString(&m->from_name, kMaxNameLength) &&
      GetHandle(d, &m->to_dir) && d->GetString(&m->to_name, kMaxNameLength);
  return d->status();
}

void EncodeBody(const ReadDirRequest& m, Encoder* e) {
  PutHandle(m.dir, e);
  e->PutU64(m.cookie);
  e->PutU32(m.max_entries);
}
absl::Status DecodeBody(Decoder* d, ReadDirRequest* m) {
  if (GetHandle(d, &m->dir) && d->GetU64(&m->cookie) && d->GetU32(&m->max_entries) &&
      (m->max_entries < 1 || m->max_entries > kMaxReadDirEntries)) {
    d->Fail(absl::StrCat("max_entries ", m->max_entries, " not in 1..", kMaxReadDirEntries));
  }
  return d->status();
}

void EncodeBody(const ReadDirReply& m, Encoder* e) {
  e->PutU32(static_cast<uint32_t>(m.entries.size()));
  for (const DirEntry& entry : m.entries) {
    e->PutString(entry.name);
    e->PutU64(entry.file_id);
    e->PutU32(static_cast<uint32_t>(entry.type));
  }
  e->PutU64(m.cookie);
  e->PutBool(m.eof);
}
absl::Status DecodeBody(Decoder* d, ReadDirReply* m) {
  uint32_t count = 0;
  if (!d->GetU32(&count)) return d->status();
  if (count > kMaxReadDirEntries) {
    d->Fail(absl::StrCat("entry count ", count, " over limit ", kMaxReadDirEntries));
    return d->status();
  }
  if (static_cast<size_t>(count) * kMinDirEntrySize > d->remaining()) {
    d->Fail(absl::StrCat("entry count ", count, " beyond input (", d->remaining(), " left)"));
    return d->status();
  }
  m->entries.clear();
  m->entries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    DirEntry entry;
    if (!d->GetString(&entry.name, kMaxNameLength) || !d->GetU64(&entry.file_id) ||
        !GetFileType(d, &entry.type)) {
      return d->status();
    }
    m->entries.push_back(std::move(entry));
  }
  d->GetU64(&m->cookie) && d->GetBool(&m->eof);
  return d->status();
}

void EncodeBody(const ReadRequest& m, Encoder* e) {
  PutHandle(m.handle, e);
  e->PutU64(m.offset);
  e->PutU32(m.length);
  e->PutBool(m.has_buffer);
  PutBuffer(m.buffer, e);
}
absl::Status DecodeBody(Decoder* d, ReadRequest* m) {
  if (GetHandle(d, &m->handle) && d->GetU64(&m->offset) && d->GetU32(&m->length) &&
      CheckTransferLength(d, m->length) && d->GetBool(&m->has_buffer) && GetBuffer(d, &m->buffer) &&
      m->has_buffer && m->buffer.length < m->length) {
    d->Fail(absl::StrCat("read buffer of ", m->buffer.length, " bytes shorter than length ",
                         m->length));
  }
  return d->status();
}

void EncodeBody(const ReadReply& m, Encoder* e) {
  e->PutU32(m.count);
  e->PutBool(m.eof);
  e->PutString(m.data);
}
absl::Status DecodeBody(Decoder* d, ReadReply* m) {
  if (d->GetU32(&m->count) && CheckTransferLength(d, m->count) && d->GetBool(&m->eof) &&
      d->GetString(&m->data, kMaxTransferLength) && !m->data.empty() &&
      m->data.size() != m->count) {
    d->Fail(absl::StrCat("read reply count ", m->count, " but ", m->data.size(),
                         " bytes of inline data"));
  }
  return d->status();
}

void EncodeBody(const WriteRequest& m, Encoder* e) {
  PutHandle(m.handle, e);
  e->PutU64(m.offset);
  e->PutU32(m.length);
  e->PutBool(m.has_buffer);
  PutBuffer(m.buffer, e);
  e->PutString(m.data);
}
absl::Status DecodeBody(Decoder* d, WriteRequest* m) {
  if (!(GetHandle(d, &m->handle) && d->GetU64(&m->offset) && d->GetU32(&m->length) &&
        CheckTransferLength(d, m->length) && d->GetBool(&m->has_buffer) &&
        GetBuffer(d, &m->buffer) && d->GetString(&m->data, kMaxTransferLength))) {
    return d->status();
  }
  if (m->has_buffer) {
    if (!m->data.empty()) {
      d->Fail(absl::StrCat("direct write carries ", m->data.size(), " bytes of inline data"));
    } else if (m->buffer.length < m->length) {
      d->Fail(absl::StrCat("write buffer of ", m->buffer.length, " bytes shorter than length ",
                           m->length));
    }
  } else if (m->data.size() != m->length) {
    d->Fail(
        absl::StrCat("inline write length ", m->length, " but ", m->data.size(), " bytes of data"));
  }
  return d->status();
}

void EncodeBody(const WriteReply& m, Encoder* e) {
  e->PutU32(m.count);
  e->PutU64(m.size);
}
absl::Status DecodeBody(Decoder* d, WriteReply* m) {
  d->GetU32(&m->count) && d->GetU64(&m->size);
  return d->status();
}

void EncodeBody(const FsyncRequest& m, Encoder* e) { PutHandle(m.handle, e); }
absl::Status DecodeBody(Decoder* d, FsyncRequest* m) {
  GetHandle(d, &m->handle);
  return d->status();
}

void EncodeBody(const StatFsRequest& m, Encoder* e) { PutHandle(m.handle, e); }
absl::Status DecodeBody(Decoder* d, StatFsRequest* m) {
  GetHandle(d, &m->handle);
  return d->status();
}

void EncodeBody(const StatFsReply& m, Encoder* e) {
  e->PutU64(m.total_bytes);
  e->PutU64(m.free_bytes);
  e->PutU64(m.available_bytes);
  e->PutU64(m.total_files);
  e->PutU64(m.free_files);
}
absl::Status DecodeBody(Decoder* d, StatFsReply* m) {
  d->GetU64(&m->total_bytes) && d->GetU64(&m->free_bytes) && d->GetU64(&m->available_bytes) &&
      d->GetU64(&m->total_files) && d->GetU64(&m->free_files);
  return d->status();
}

void EncodeBody(const NoticeMessage& m, Encoder* e) {
  e->PutU32(static_cast<uint32_t>(m.kind));
  e->PutString(m.detail);
}
absl::Status DecodeBody(Decoder* d, NoticeMessage* m) {
  uint32_t kind = 0;
  if (!d->GetU32(&kind)) return d->status();
  if (kind < static_cast<uint32_t>(NoticeKind::kGivingBack) ||
      kind > static_cast<uint32_t>(NoticeKind::kShuttingDown)) {
    d->Fail(absl::StrCat("unknown notice kind ", kind));
    return d->status();
  }
  m->kind = static_cast<NoticeKind>(kind);
  d->GetString(&m->detail, kMaxTextLength);
  return d->status();
}

}  // namespace protocol
}  // namespace vifiler
