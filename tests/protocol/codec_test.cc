// Copyright 2026 The vifiler Authors.
//
// Tests of the protocol value types and the message codec: round trips of every message,
// rejection of every kind of malformed input, and a deterministic mutation test.

#include "protocol/codec.h"

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "protocol/messages.h"
#include "protocol/types.h"

namespace vifiler {
namespace protocol {

// Equality for message bodies, found by argument-dependent lookup from the tests.
bool operator==(const RemoteBuffer& a, const RemoteBuffer& b) {
  return a.address == b.address && a.key == b.key && a.length == b.length;
}
bool operator==(const Empty&, const Empty&) { return true; }
bool operator==(const SessionCreateRequest& a, const SessionCreateRequest& b) {
  return a.client_id == b.client_id && a.slots == b.slots;
}
bool operator==(const SessionCreateReply& a, const SessionCreateReply& b) {
  return a.session_id == b.session_id && a.slots == b.slots &&
         a.inline_threshold == b.inline_threshold && a.root == b.root &&
         a.filer_name == b.filer_name;
}
bool operator==(const LookupRequest& a, const LookupRequest& b) {
  return a.dir == b.dir && a.name == b.name;
}
bool operator==(const HandleReply& a, const HandleReply& b) {
  return a.handle == b.handle && a.attr == b.attr;
}
bool operator==(const GetAttrRequest& a, const GetAttrRequest& b) { return a.handle == b.handle; }
bool operator==(const AttrReply& a, const AttrReply& b) { return a.attr == b.attr; }
bool operator==(const SetAttrRequest& a, const SetAttrRequest& b) {
  return a.handle == b.handle && a.mask == b.mask && a.size == b.size && a.mode == b.mode &&
         a.atime_ns == b.atime_ns && a.mtime_ns == b.mtime_ns;
}
bool operator==(const CreateRequest& a, const CreateRequest& b) {
  return a.dir == b.dir && a.name == b.name && a.mode == b.mode && a.exclusive == b.exclusive &&
         a.truncate == b.truncate;
}
bool operator==(const MkdirRequest& a, const MkdirRequest& b) {
  return a.dir == b.dir && a.name == b.name && a.mode == b.mode;
}
bool operator==(const RemoveRequest& a, const RemoveRequest& b) {
  return a.dir == b.dir && a.name == b.name;
}
bool operator==(const RenameRequest& a, const RenameRequest& b) {
  return a.from_dir == b.from_dir && a.from_name == b.from_name && a.to_dir == b.to_dir &&
         a.to_name == b.to_name;
}
bool operator==(const ReadDirRequest& a, const ReadDirRequest& b) {
  return a.dir == b.dir && a.cookie == b.cookie && a.max_entries == b.max_entries;
}
bool operator==(const ReadDirReply& a, const ReadDirReply& b) {
  return a.entries == b.entries && a.cookie == b.cookie && a.eof == b.eof;
}
bool operator==(const ReadRequest& a, const ReadRequest& b) {
  return a.handle == b.handle && a.offset == b.offset && a.length == b.length &&
         a.has_buffer == b.has_buffer && a.buffer == b.buffer;
}
bool operator==(const ReadReply& a, const ReadReply& b) {
  return a.count == b.count && a.eof == b.eof && a.data == b.data;
}
bool operator==(const WriteRequest& a, const WriteRequest& b) {
  return a.handle == b.handle && a.offset == b.offset && a.length == b.length &&
         a.has_buffer == b.has_buffer && a.buffer == b.buffer && a.data == b.data;
}
bool operator==(const WriteReply& a, const WriteReply& b) {
  return a.count == b.count && a.size == b.size;
}
bool operator==(const FsyncRequest& a, const FsyncRequest& b) { return a.handle == b.handle; }
bool operator==(const StatFsRequest& a, const StatFsRequest& b) { return a.handle == b.handle; }
bool operator==(const StatFsReply& a, const StatFsReply& b) {
  return a.total_bytes == b.total_bytes && a.free_bytes == b.free_bytes &&
         a.available_bytes == b.available_bytes && a.total_files == b.total_files &&
         a.free_files == b.free_files;
}
bool operator==(const NoticeMessage& a, const NoticeMessage& b) {
  return a.kind == b.kind && a.detail == b.detail;
}

namespace {

// Header field offsets, from the layout in messages.h.
constexpr size_t kMagicOffset = 0;
constexpr size_t kVersionOffset = 4;
constexpr size_t kOpcodeOffset = 6;
constexpr size_t kStatusOffset = 12;
constexpr size_t kPayloadLengthOffset = 28;

void PokeU16(std::string* s, size_t offset, uint16_t v) {
  for (size_t i = 0; i < 2; ++i) (*s)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PokeU32(std::string* s, size_t offset, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) (*s)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
// Makes payload_length agree with the message size again after the body was edited.
void FixPayloadLength(std::string* s) {
  PokeU32(s, kPayloadLengthOffset, static_cast<uint32_t>(s->size() - kHeaderSize));
}

FileHandle Handle(uint64_t seed) {
  FileHandle h;
  h.volume_id = 0x1122334455667788ull + seed;
  h.file_id = 0xA0B0C0D0E0F00010ull ^ seed;
  h.generation = 7 + seed;
  return h;
}

FileAttr Attr() {
  FileAttr a;
  a.file_id = 0xFEDCBA9876543210ull;
  a.type = FileType::kDirectory;
  a.mode = 0750;
  a.nlink = 3;
  a.size = 1ull << 40;
  a.atime_ns = -123456789;
  a.mtime_ns = 1700000000123456789;
  a.ctime_ns = 1700000000987654321;
  return a;
}

MessageHeader Header(Opcode op, bool reply) {
  MessageHeader h;
  h.opcode = op;
  h.flags = reply ? kFlagReply : kFlagReplay;
  h.session_id = 0x0102030405060708ull;
  h.slot = 5;
  h.sequence = 0x1000000000000001ull;
  return h;
}

// ---- Sample bodies with non-trivial values ----

SessionCreateRequest SampleSessionCreateRequest() {
  SessionCreateRequest m;
  m.client_id = "client-7f3a@host-b";
  m.slots = 16;
  return m;
}
SessionCreateReply SampleSessionCreateReply() {
  SessionCreateReply m;
  m.session_id = 0xDEADBEEFCAFEF00Dull;
  m.slots = 8;
  m.inline_threshold = 4096;
  m.root = Handle(1);
  m.filer_name = "filer-a";
  return m;
}
LookupRequest SampleLookupRequest() {
  LookupRequest m;
  m.dir = Handle(2);
  m.name = "report.txt";
  return m;
}
HandleReply SampleHandleReply() {
  HandleReply m;
  m.handle = Handle(3);
  m.attr = Attr();
  return m;
}
GetAttrRequest SampleGetAttrRequest() { return GetAttrRequest{Handle(4)}; }
AttrReply SampleAttrReply() { return AttrReply{Attr()}; }
SetAttrRequest SampleSetAttrRequest() {
  SetAttrRequest m;
  m.handle = Handle(5);
  m.mask = kSetSize | kSetMode | kSetMtime;
  m.size = 123456789012ull;
  m.mode = 0600;
  m.atime_ns = -1;
  m.mtime_ns = 1600000000000000001;
  return m;
}
CreateRequest SampleCreateRequest() {
  CreateRequest m;
  m.dir = Handle(6);
  m.name = "new file";
  m.mode = 0640;
  m.exclusive = true;
  m.truncate = false;
  return m;
}
MkdirRequest SampleMkdirRequest() {
  MkdirRequest m;
  m.dir = Handle(7);
  m.name = "subdir";
  m.mode = 0711;
  return m;
}
RemoveRequest SampleRemoveRequest() { return RemoveRequest{Handle(8), "old.log"}; }
RenameRequest SampleRenameRequest() {
  RenameRequest m;
  m.from_dir = Handle(9);
  m.from_name = "a";
  m.to_dir = Handle(10);
  m.to_name = std::string(kMaxNameLength, 'z');
  return m;
}
ReadDirRequest SampleReadDirRequest() {
  ReadDirRequest m;
  m.dir = Handle(11);
  m.cookie = 42;
  m.max_entries = 100;
  return m;
}
ReadDirReply SampleReadDirReply() {
  ReadDirReply m;
  m.entries.push_back(DirEntry{"alpha", 10, FileType::kRegular});
  m.entries.push_back(DirEntry{"beta", 11, FileType::kDirectory});
  m.entries.push_back(DirEntry{"gamma", 12, FileType::kSymlink});
  m.cookie = 0x7777;
  m.eof = true;
  return m;
}
ReadRequest SampleReadRequest() {
  ReadRequest m;
  m.handle = Handle(12);
  m.offset = 1ull << 33;
  m.length = 1 << 20;
  m.has_buffer = true;
  m.buffer = RemoteBuffer{0x7FFF00001000ull, 0xABCD, 1 << 20};
  return m;
}
ReadReply SampleReadReply() {
  ReadReply m;
  m.data = std::string("inline\0data", 11);
  m.count = static_cast<uint32_t>(m.data.size());
  m.eof = true;
  return m;
}
WriteRequest SampleWriteRequest() {
  WriteRequest m;
  m.handle = Handle(13);
  m.offset = 512;
  m.data = "hello, filer";
  m.length = static_cast<uint32_t>(m.data.size());
  return m;
}
WriteRequest SampleDirectWriteRequest() {
  WriteRequest m;
  m.handle = Handle(14);
  m.offset = 4096;
  m.length = 65536;
  m.has_buffer = true;
  m.buffer = RemoteBuffer{0x1000, 77, 65536};
  return m;
}
WriteReply SampleWriteReply() { return WriteReply{12, 524}; }
FsyncRequest SampleFsyncRequest() { return FsyncRequest{Handle(15)}; }
StatFsRequest SampleStatFsRequest() { return StatFsRequest{Handle(16)}; }
StatFsReply SampleStatFsReply() {
  return StatFsReply{1ull << 40, 1ull << 39, 1ull << 38, 1000000, 999};
}
NoticeMessage SampleNotice() { return NoticeMessage{NoticeKind::kShuttingDown, "admin halt"}; }

// ---- Decoding by header, as a receiver would ----

template <typename Body>
absl::StatusOr<std::string> DecodeAndReencodeAs(const MessageHeader& h, absl::string_view message) {
  Body body;
  absl::Status s = DecodeMessageBody(message, &body);
  if (!s.ok()) return s;
  return EncodeMessage(h, body);
}

// Decodes message with the body type its header implies, then encodes the result again.
absl::StatusOr<std::string> DecodeAndReencode(absl::string_view message) {
  absl::StatusOr<MessageHeader> h = DecodeHeader(message);
  if (!h.ok()) return h.status();
  const bool reply = (h->flags & kFlagReply) != 0;
  if (reply && h->status != ErrorCode::kOk) return DecodeAndReencodeAs<Empty>(*h, message);
  switch (h->opcode) {
    case Opcode::kNull:
    case Opcode::kSessionDestroy:
      return DecodeAndReencodeAs<Empty>(*h, message);
    case Opcode::kSessionCreate:
      return reply ? DecodeAndReencodeAs<SessionCreateReply>(*h, message)
                   : DecodeAndReencodeAs<SessionCreateRequest>(*h, message);
    case Opcode::kLookup:
      return reply ? DecodeAndReencodeAs<HandleReply>(*h, message)
                   : DecodeAndReencodeAs<LookupRequest>(*h, message);
    case Opcode::kGetAttr:
      return reply ? DecodeAndReencodeAs<AttrReply>(*h, message)
                   : DecodeAndReencodeAs<GetAttrRequest>(*h, message);
    case Opcode::kSetAttr:
      return reply ? DecodeAndReencodeAs<AttrReply>(*h, message)
                   : DecodeAndReencodeAs<SetAttrRequest>(*h, message);
    case Opcode::kCreate:
      return reply ? DecodeAndReencodeAs<HandleReply>(*h, message)
                   : DecodeAndReencodeAs<CreateRequest>(*h, message);
    case Opcode::kMkdir:
      return reply ? DecodeAndReencodeAs<HandleReply>(*h, message)
                   : DecodeAndReencodeAs<MkdirRequest>(*h, message);
    case Opcode::kRemove:
    case Opcode::kRmdir:
      return reply ? DecodeAndReencodeAs<Empty>(*h, message)
                   : DecodeAndReencodeAs<RemoveRequest>(*h, message);
    case Opcode::kRename:
      return reply ? DecodeAndReencodeAs<Empty>(*h, message)
                   : DecodeAndReencodeAs<RenameRequest>(*h, message);
    case Opcode::kReadDir:
      return reply ? DecodeAndReencodeAs<ReadDirReply>(*h, message)
                   : DecodeAndReencodeAs<ReadDirRequest>(*h, message);
    case Opcode::kRead:
      return reply ? DecodeAndReencodeAs<ReadReply>(*h, message)
                   : DecodeAndReencodeAs<ReadRequest>(*h, message);
    case Opcode::kWrite:
      return reply ? DecodeAndReencodeAs<WriteReply>(*h, message)
                   : DecodeAndReencodeAs<WriteRequest>(*h, message);
    case Opcode::kFsync:
      return reply ? DecodeAndReencodeAs<Empty>(*h, message)
                   : DecodeAndReencodeAs<FsyncRequest>(*h, message);
    case Opcode::kStatFs:
      return reply ? DecodeAndReencodeAs<StatFsReply>(*h, message)
                   : DecodeAndReencodeAs<StatFsRequest>(*h, message);
    case Opcode::kNotice:
      return DecodeAndReencodeAs<NoticeMessage>(*h, message);
  }
  return absl::InternalError("opcode passed DecodeHeader but has no body type");
}

// One valid encoding of every message type (and an error reply).
std::vector<std::string> AllSampleMessages() {
  std::vector<std::string> v;
  v.push_back(EncodeMessage(Header(Opcode::kNull, false), Empty{}));
  v.push_back(EncodeMessage(Header(Opcode::kNull, true), Empty{}));
  v.push_back(EncodeMessage(Header(Opcode::kSessionCreate, false), SampleSessionCreateRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kSessionCreate, true), SampleSessionCreateReply()));
  v.push_back(EncodeMessage(Header(Opcode::kSessionDestroy, false), Empty{}));
  v.push_back(EncodeMessage(Header(Opcode::kLookup, false), SampleLookupRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kLookup, true), SampleHandleReply()));
  v.push_back(EncodeMessage(Header(Opcode::kGetAttr, false), SampleGetAttrRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kGetAttr, true), SampleAttrReply()));
  v.push_back(EncodeMessage(Header(Opcode::kSetAttr, false), SampleSetAttrRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kCreate, false), SampleCreateRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kMkdir, false), SampleMkdirRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kRemove, false), SampleRemoveRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kRmdir, false), SampleRemoveRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kRename, false), SampleRenameRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kReadDir, false), SampleReadDirRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kReadDir, true), SampleReadDirReply()));
  v.push_back(EncodeMessage(Header(Opcode::kRead, false), SampleReadRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kRead, true), SampleReadReply()));
  v.push_back(EncodeMessage(Header(Opcode::kWrite, false), SampleWriteRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kWrite, false), SampleDirectWriteRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kWrite, true), SampleWriteReply()));
  v.push_back(EncodeMessage(Header(Opcode::kFsync, false), SampleFsyncRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kStatFs, false), SampleStatFsRequest()));
  v.push_back(EncodeMessage(Header(Opcode::kStatFs, true), SampleStatFsReply()));
  v.push_back(EncodeMessage(Header(Opcode::kNotice, false), SampleNotice()));
  MessageHeader error = Header(Opcode::kRead, true);
  error.status = ErrorCode::kStaleHandle;
  v.push_back(EncodeMessage(error, Empty{}));
  return v;
}

// Encodes header + body, checks the header decodes to the same fields, and returns the
// decoded body.
template <typename Body>
Body RoundTrip(const MessageHeader& header, const Body& body) {
  std::string message = EncodeMessage(header, body);
  absl::StatusOr<MessageHeader> h = DecodeHeader(message);
  EXPECT_TRUE(h.ok()) << h.status();
  if (h.ok()) {
    EXPECT_EQ(h->magic, kMagic);
    EXPECT_EQ(h->version, kVersion);
    EXPECT_EQ(h->opcode, header.opcode);
    EXPECT_EQ(h->flags, header.flags);
    EXPECT_EQ(h->status, header.status);
    EXPECT_EQ(h->session_id, header.session_id);
    EXPECT_EQ(h->slot, header.slot);
    EXPECT_EQ(h->sequence, header.sequence);
    EXPECT_EQ(h->payload_length, message.size() - kHeaderSize);
  }
  Body out;
  absl::Status s = DecodeMessageBody(message, &out);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// Decodes message's body as Body; returns the status.
template <typename Body>
absl::Status DecodeAs(absl::string_view message) {
  Body body;
  return DecodeMessageBody(message, &body);
}

void ExpectInvalid(const absl::Status& s, absl::string_view reason_part) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), reason_part))
      << "reason '" << s.message() << "' lacks '" << reason_part << "'";
}

// ================================ types.cc ================================

TEST(TypesTest, ErrorCodeNamesAreDistinctAndKnown) {
  std::set<std::string> names;
  for (uint32_t i = 0; i <= static_cast<uint32_t>(protocol::kLastErrorCode); ++i) {
    std::string name = ErrorCodeName(static_cast<ErrorCode>(i));
    EXPECT_NE(name, "UNKNOWN") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(protocol::kLastErrorCode) + 1);
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kOk), "OK");
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kNoEntry), "NO_ENTRY");
  EXPECT_STREQ(
      ErrorCodeName(static_cast<ErrorCode>(static_cast<uint32_t>(protocol::kLastErrorCode) + 1)),
      "UNKNOWN");
  EXPECT_STREQ(ErrorCodeName(static_cast<ErrorCode>(0xFFFFFFFF)), "UNKNOWN");
}

TEST(TypesTest, OpcodeNamesAreDistinctAndKnown) {
  std::set<std::string> names;
  for (uint16_t i = 0; i <= kMaxOpcode; ++i) {
    std::string name = OpcodeName(static_cast<Opcode>(i));
    EXPECT_NE(name, "UNKNOWN") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kMaxOpcode) + 1);
  EXPECT_STREQ(OpcodeName(Opcode::kRead), "READ");
  EXPECT_STREQ(OpcodeName(static_cast<Opcode>(kMaxOpcode + 1)), "UNKNOWN");
}

TEST(TypesTest, IsMutating) {
  const std::set<Opcode> mutating = {Opcode::kSetAttr, Opcode::kCreate, Opcode::kMkdir,
                                     Opcode::kRemove,  Opcode::kRmdir,  Opcode::kRename,
                                     Opcode::kWrite};
  for (uint16_t i = 0; i <= kMaxOpcode + 1; ++i) {
    Opcode op = static_cast<Opcode>(i);
    EXPECT_EQ(IsMutating(op), mutating.count(op) == 1) << OpcodeName(op);
  }
}

TEST(TypesTest, FileHandleToStringNamesEveryField) {
  FileHandle a{1, 2, 3};
  std::string s = a.ToString();
  EXPECT_FALSE(s.empty());
  EXPECT_NE(s, (FileHandle{1, 2, 4}).ToString());
  EXPECT_NE(s, (FileHandle{1, 3, 3}).ToString());
  EXPECT_NE(s, (FileHandle{2, 2, 3}).ToString());
  EXPECT_EQ(s, (FileHandle{1, 2, 3}).ToString());
}

TEST(TypesTest, FileAttrEqualityComparesEveryField) {
  const FileAttr base = Attr();
  EXPECT_TRUE(base == Attr());
  std::vector<FileAttr> variants(8, base);
  variants[0].file_id++;
  variants[1].type = FileType::kRegular;
  variants[2].mode++;
  variants[3].nlink++;
  variants[4].size++;
  variants[5].atime_ns++;
  variants[6].mtime_ns++;
  variants[7].ctime_ns++;
  for (size_t i = 0; i < variants.size(); ++i) EXPECT_FALSE(base == variants[i]) << i;
}

// ============================ Encoder / Decoder ============================

TEST(EncoderTest, LittleEndianLayout) {
  std::string out;
  Encoder e(&out);
  e.PutU8(0x01);
  e.PutU16(0x0302);
  e.PutU32(0x07060504);
  e.PutU64(0x0F0E0D0C0B0A0908ull);
  e.PutBool(true);
  e.PutString("ab");
  e.PutRaw("xy");
  const std::string expected =
      std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x0B\x0C\x0D\x0E\x0F\x01", 16) +
      std::string("\x02\x00\x00\x00", 4) + "abxy";
  EXPECT_EQ(out, expected);
}

TEST(DecoderTest, ReadsWhatEncoderWrote) {
  std::string buf;
  Encoder e(&buf);
  e.PutU8(200);
  e.PutU16(65000);
  e.PutU32(4000000000u);
  e.PutU64(static_cast<uint64_t>(-5));
  e.PutBool(false);
  e.PutString("name");
  Decoder d(buf);
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  int64_t i64 = 0;
  bool b = true;
  std::string s;
  ASSERT_TRUE(d.GetU8(&u8));
  ASSERT_TRUE(d.GetU16(&u16));
  ASSERT_TRUE(d.GetU32(&u32));
  ASSERT_TRUE(d.GetI64(&i64));
  ASSERT_TRUE(d.GetBool(&b));
  ASSERT_TRUE(d.GetString(&s, 4));
  EXPECT_EQ(u8, 200);
  EXPECT_EQ(u16, 65000);
  EXPECT_EQ(u32, 4000000000u);
  EXPECT_EQ(i64, -5);
  EXPECT_FALSE(b);
  EXPECT_EQ(s, "name");
  EXPECT_EQ(d.remaining(), 0u);
  EXPECT_TRUE(d.Finish().ok());
}

TEST(DecoderTest, EveryGetFailsAfterTheFirstFailure) {
  std::string buf(3, '\x01');  // too short for a u32, enough for a u8 and a u16
  Decoder d(buf);
  uint32_t u32 = 0;
  EXPECT_FALSE(d.GetU32(&u32));
  ExpectInvalid(d.status(), "truncated");
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  EXPECT_FALSE(d.GetU8(&u8));
  EXPECT_FALSE(d.GetU16(&u16));
  EXPECT_EQ(u8, 0);
  EXPECT_EQ(d.remaining(), 3u);
  EXPECT_FALSE(d.Finish().ok());
}

TEST(DecoderTest, FirstFailureReasonIsKept) {
  Decoder d("");
  EXPECT_FALSE(d.Fail("first reason"));
  EXPECT_FALSE(d.Fail("second reason"));
  ExpectInvalid(d.Finish(), "first reason");
}

TEST(DecoderTest, FinishRejectsTrailingBytes) {
  Decoder d(absl::string_view("\x05\x00\x01", 3));
  uint16_t v = 0;
  ASSERT_TRUE(d.GetU16(&v));
  EXPECT_EQ(v, 5);
  ExpectInvalid(d.Finish(), "trailing");
}

TEST(DecoderTest, BoolMustBeZeroOrOne) {
  bool b = false;
  Decoder ok(absl::string_view("\x01", 1));
  EXPECT_TRUE(ok.GetBool(&b));
  EXPECT_TRUE(b);
  Decoder bad(absl::string_view("\x02", 1));
  EXPECT_FALSE(bad.GetBool(&b));
  ExpectInvalid(bad.status(), "bool");
}

TEST(DecoderTest, StringLimits) {
  std::string buf;
  Encoder e(&buf);
  e.PutString("abcdef");
  std::string s;
  Decoder over(buf);
  EXPECT_FALSE(over.GetString(&s, 5));
  ExpectInvalid(over.status(), "over limit");
  Decoder exact(buf);
  EXPECT_TRUE(exact.GetString(&s, 6));
  EXPECT_EQ(s, "abcdef");
  Decoder beyond(absl::string_view(buf.data(), buf.size() - 1));
  EXPECT_FALSE(beyond.GetString(&s, 100));
  ExpectInvalid(beyond.status(), "beyond input");
}

TEST(DecoderTest, HugeStringLengthFailsWithoutAllocating) {
  std::string buf(
      "\xFF\xFF\xFF\xFF"
      "abc",
      7);
  std::string s;
  Decoder d(buf);
  EXPECT_FALSE(d.GetString(&s, SIZE_MAX));
  ExpectInvalid(d.status(), "beyond input");
  EXPECT_TRUE(s.empty());
  EXPECT_LT(s.capacity(), 4096u);
}

// ================================ Header ================================

TEST(HeaderTest, WireLayout) {
  MessageHeader h;
  h.opcode = Opcode::kWrite;
  h.flags = kFlagReply | kFlagReplay;
  h.status = ErrorCode::kNoSpace;
  h.session_id = 0x0102030405060708ull;
  h.slot = 9;
  h.payload_length = 0;
  h.sequence = 0x1112131415161718ull;
  std::string out;
  Encoder e(&out);
  EncodeHeader(h, &e);
  ASSERT_EQ(out.size(), kHeaderSize);
  const std::string expected(
      "VIFL"
      "\x01\x00"
      "\x0D\x00"
      "\x03\x00\x00\x00"
      "\x0B\x00\x00\x00"
      "\x08\x07\x06\x05\x04\x03\x02\x01"
      "\x09\x00\x00\x00"
      "\x00\x00\x00\x00"
      "\x18\x17\x16\x15\x14\x13\x12\x11",
      kHeaderSize);
  EXPECT_EQ(out, expected);
}

TEST(HeaderTest, EmptyInput) { ExpectInvalid(DecodeHeader("").status(), "shorter than header"); }

TEST(HeaderTest, TruncatedHeader) {
  std::string m = EncodeMessage(Header(Opcode::kNull, false), Empty{});
  for (size_t n = 0; n < kHeaderSize; ++n) {
    ExpectInvalid(DecodeHeader(absl::string_view(m.data(), n)).status(), "shorter than header");
  }
  EXPECT_TRUE(DecodeHeader(m).ok());
}

TEST(HeaderTest, GarbageBytes) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 200; ++i) {
    std::string garbage(kHeaderSize + rng() % 64, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    EXPECT_FALSE(DecodeHeader(garbage).ok());
    EXPECT_FALSE(DecodeAndReencode(garbage).ok());
  }
}

TEST(HeaderTest, BadMagic) {
  std::string m = EncodeMessage(Header(Opcode::kNull, false), Empty{});
  PokeU32(&m, kMagicOffset, 0x4C464957);
  ExpectInvalid(DecodeHeader(m).status(), "magic");
}

TEST(HeaderTest, BadVersion) {
  std::string m = EncodeMessage(Header(Opcode::kNull, false), Empty{});
  PokeU16(&m, kVersionOffset, 2);
  ExpectInvalid(DecodeHeader(m).status(), "version");
  PokeU16(&m, kVersionOffset, 0);
  ExpectInvalid(DecodeHeader(m).status(), "version");
}

TEST(HeaderTest, UnknownOpcode) {
  std::string m = EncodeMessage(Header(Opcode::kNull, false), Empty{});
  PokeU16(&m, kOpcodeOffset, kMaxOpcode);
  EXPECT_TRUE(DecodeHeader(m).ok());
  PokeU16(&m, kOpcodeOffset, kMaxOpcode + 1);
  ExpectInvalid(DecodeHeader(m).status(), "opcode");
  PokeU16(&m, kOpcodeOffset, 0xFFFF);
  ExpectInvalid(DecodeHeader(m).status(), "opcode");
}

TEST(HeaderTest, UnknownStatus) {
  std::string m = EncodeMessage(Header(Opcode::kNull, true), Empty{});
  PokeU32(&m, kStatusOffset, static_cast<uint32_t>(protocol::kLastErrorCode));
  EXPECT_TRUE(DecodeHeader(m).ok());
  PokeU32(&m, kStatusOffset, static_cast<uint32_t>(protocol::kLastErrorCode) + 1);
  ExpectInvalid(DecodeHeader(m).status(), "status");
  PokeU32(&m, kStatusOffset, 0xFFFFFFFF);
  ExpectInvalid(DecodeHeader(m).status(), "status");
}

TEST(HeaderTest, PayloadLengthMustMatchBody) {
  std::string m = EncodeMessage(Header(Opcode::kLookup, false), SampleLookupRequest());
  const uint32_t body = static_cast<uint32_t>(m.size() - kHeaderSize);
  ASSERT_TRUE(DecodeHeader(m).ok());
  PokeU32(&m, kPayloadLengthOffset, body + 1);
  ExpectInvalid(DecodeHeader(m).status(), "payload_length");
  PokeU32(&m, kPayloadLengthOffset, 0xFFFFFFFF);
  ExpectInvalid(DecodeHeader(m).status(), "payload_length");
  PokeU32(&m, kPayloadLengthOffset, body - 1);
  ExpectInvalid(DecodeHeader(m).status(), "payload_length");
  PokeU32(&m, kPayloadLengthOffset, 0);
  ExpectInvalid(DecodeHeader(m).status(), "payload_length");
}

TEST(HeaderTest, DecodeMessageBodyRejectsShortMessage) {
  Empty e;
  EXPECT_FALSE(DecodeMessageBody(absl::string_view("VIFL", 4), &e).ok());
}

// ============================== Round trips ==============================

TEST(RoundTripTest, Empty) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kNull, false), Empty{}), Empty{});
  std::string m = EncodeMessage(Header(Opcode::kSessionDestroy, true), Empty{});
  EXPECT_EQ(m.size(), kHeaderSize);
}

TEST(RoundTripTest, SessionCreate) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kSessionCreate, false), SampleSessionCreateRequest()),
            SampleSessionCreateRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kSessionCreate, true), SampleSessionCreateReply()),
            SampleSessionCreateReply());
}

TEST(RoundTripTest, Lookup) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kLookup, false), SampleLookupRequest()),
            SampleLookupRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kLookup, true), SampleHandleReply()), SampleHandleReply());
}

TEST(RoundTripTest, GetAttrAndSetAttr) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kGetAttr, false), SampleGetAttrRequest()),
            SampleGetAttrRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kGetAttr, true), SampleAttrReply()), SampleAttrReply());
  EXPECT_EQ(RoundTrip(Header(Opcode::kSetAttr, false), SampleSetAttrRequest()),
            SampleSetAttrRequest());
}

TEST(RoundTripTest, CreateMkdirRemoveRename) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kCreate, false), SampleCreateRequest()),
            SampleCreateRequest());
  CreateRequest truncating = SampleCreateRequest();
  truncating.exclusive = false;
  truncating.truncate = true;
  EXPECT_EQ(RoundTrip(Header(Opcode::kCreate, false), truncating), truncating);
  EXPECT_EQ(RoundTrip(Header(Opcode::kMkdir, false), SampleMkdirRequest()), SampleMkdirRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kRemove, false), SampleRemoveRequest()),
            SampleRemoveRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kRename, false), SampleRenameRequest()),
            SampleRenameRequest());
}

TEST(RoundTripTest, ReadDir) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kReadDir, false), SampleReadDirRequest()),
            SampleReadDirRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kReadDir, true), SampleReadDirReply()), SampleReadDirReply());
  ReadDirReply empty;
  empty.cookie = 3;
  EXPECT_EQ(RoundTrip(Header(Opcode::kReadDir, true), empty), empty);
  ReadDirReply full;
  for (uint32_t i = 0; i < kMaxReadDirEntries; ++i) {
    full.entries.push_back(DirEntry{"f" + std::to_string(i), i, FileType::kRegular});
  }
  EXPECT_EQ(RoundTrip(Header(Opcode::kReadDir, true), full), full);
}

TEST(RoundTripTest, Read) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kRead, false), SampleReadRequest()), SampleReadRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kRead, true), SampleReadReply()), SampleReadReply());
  ReadReply direct;
  direct.count = 1 << 20;
  EXPECT_EQ(RoundTrip(Header(Opcode::kRead, true), direct), direct);
}

TEST(RoundTripTest, Write) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kWrite, false), SampleWriteRequest()), SampleWriteRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kWrite, false), SampleDirectWriteRequest()),
            SampleDirectWriteRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kWrite, true), SampleWriteReply()), SampleWriteReply());
}

TEST(RoundTripTest, FsyncStatFsNotice) {
  EXPECT_EQ(RoundTrip(Header(Opcode::kFsync, false), SampleFsyncRequest()), SampleFsyncRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kStatFs, false), SampleStatFsRequest()),
            SampleStatFsRequest());
  EXPECT_EQ(RoundTrip(Header(Opcode::kStatFs, true), SampleStatFsReply()), SampleStatFsReply());
  EXPECT_EQ(RoundTrip(Header(Opcode::kNotice, false), SampleNotice()), SampleNotice());
  NoticeMessage giving_back{NoticeKind::kGivingBack, ""};
  EXPECT_EQ(RoundTrip(Header(Opcode::kNotice, false), giving_back), giving_back);
}

TEST(RoundTripTest, BodyWireLayout) {
  // LookupRequest: 3 x u64 handle, then u32 length + bytes.
  LookupRequest m;
  m.dir = FileHandle{1, 2, 3};
  m.name = "ab";
  std::string out;
  Encoder e(&out);
  EncodeBody(m, &e);
  const std::string expected(
      "\x01\0\0\0\0\0\0\0"
      "\x02\0\0\0\0\0\0\0"
      "\x03\0\0\0\0\0\0\0"
      "\x02\0\0\0"
      "ab",
      30);
  EXPECT_EQ(out, expected);
}

TEST(RoundTripTest, EverySampleReencodesIdentically) {
  for (const std::string& m : AllSampleMessages()) {
    absl::StatusOr<std::string> again = DecodeAndReencode(m);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, m);
  }
}

// ============================ Malformed bodies ============================

TEST(MalformedBodyTest, EveryTruncationFails) {
  for (const std::string& m : AllSampleMessages()) {
    for (size_t n = kHeaderSize; n < m.size(); ++n) {
      std::string cut = m.substr(0, n);
      FixPayloadLength(&cut);
      ASSERT_TRUE(DecodeHeader(cut).ok());
      EXPECT_FALSE(DecodeAndReencode(cut).ok()) << "cut at " << n << " of " << m.size();
    }
  }
}

TEST(MalformedBodyTest, TrailingBytesFail) {
  for (const std::string& m : AllSampleMessages()) {
    std::string longer = m + std::string("\0", 1);
    FixPayloadLength(&longer);
    ASSERT_TRUE(DecodeHeader(longer).ok());
    ExpectInvalid(DecodeAndReencode(longer).status(), "trailing");
  }
}

TEST(MalformedBodyTest, StringLengthBeyondInput) {
  std::string m = EncodeMessage(Header(Opcode::kLookup, false), SampleLookupRequest());
  // The name's length field follows the 24-byte handle.
  PokeU32(&m, kHeaderSize + 24, 200);
  ExpectInvalid(DecodeAs<LookupRequest>(m), "beyond input");
}

TEST(MalformedBodyTest, NameOverLimit) {
  LookupRequest m = SampleLookupRequest();
  m.name = std::string(kMaxNameLength, 'n');
  EXPECT_TRUE(DecodeAs<LookupRequest>(EncodeMessage(Header(Opcode::kLookup, false), m)).ok());
  m.name.push_back('n');
  ExpectInvalid(DecodeAs<LookupRequest>(EncodeMessage(Header(Opcode::kLookup, false), m)),
                "over limit");

  CreateRequest c = SampleCreateRequest();
  c.name = std::string(kMaxNameLength + 1, 'c');
  ExpectInvalid(DecodeAs<CreateRequest>(EncodeMessage(Header(Opcode::kCreate, false), c)),
                "over limit");
  MkdirRequest k = SampleMkdirRequest();
  k.name = std::string(kMaxNameLength + 1, 'k');
  ExpectInvalid(DecodeAs<MkdirRequest>(EncodeMessage(Header(Opcode::kMkdir, false), k)),
                "over limit");
  RemoveRequest r = SampleRemoveRequest();
  r.name = std::string(kMaxNameLength + 1, 'r');
  ExpectInvalid(DecodeAs<RemoveRequest>(EncodeMessage(Header(Opcode::kRemove, false), r)),
                "over limit");
  RenameRequest n = SampleRenameRequest();
  n.from_name = std::string(kMaxNameLength + 1, 'f');
  n.to_name = "ok";
  ExpectInvalid(DecodeAs<RenameRequest>(EncodeMessage(Header(Opcode::kRename, false), n)),
                "over limit");
  n.from_name = "ok";
  n.to_name = std::string(kMaxNameLength + 1, 't');
  ExpectInvalid(DecodeAs<RenameRequest>(EncodeMessage(Header(Opcode::kRename, false), n)),
                "over limit");
  ReadDirReply d = SampleReadDirReply();
  d.entries[1].name = std::string(kMaxNameLength + 1, 'd');
  ExpectInvalid(DecodeAs<ReadDirReply>(EncodeMessage(Header(Opcode::kReadDir, true), d)),
                "over limit");
}

TEST(MalformedBodyTest, ClientIdFilerNameAndDetailLimits) {
  SessionCreateRequest req = SampleSessionCreateRequest();
  req.client_id = std::string(kMaxClientIdLength, 'c');
  EXPECT_TRUE(
      DecodeAs<SessionCreateRequest>(EncodeMessage(Header(Opcode::kSessionCreate, false), req))
          .ok());
  req.client_id.push_back('c');
  ExpectInvalid(
      DecodeAs<SessionCreateRequest>(EncodeMessage(Header(Opcode::kSessionCreate, false), req)),
      "over limit");

  SessionCreateReply reply = SampleSessionCreateReply();
  reply.filer_name = std::string(256, 'f');
  EXPECT_TRUE(
      DecodeAs<SessionCreateReply>(EncodeMessage(Header(Opcode::kSessionCreate, true), reply))
          .ok());
  reply.filer_name.push_back('f');
  ExpectInvalid(
      DecodeAs<SessionCreateReply>(EncodeMessage(Header(Opcode::kSessionCreate, true), reply)),
      "over limit");

  NoticeMessage notice = SampleNotice();
  notice.detail = std::string(256, 'd');
  EXPECT_TRUE(DecodeAs<NoticeMessage>(EncodeMessage(Header(Opcode::kNotice, false), notice)).ok());
  notice.detail.push_back('d');
  ExpectInvalid(DecodeAs<NoticeMessage>(EncodeMessage(Header(Opcode::kNotice, false), notice)),
                "over limit");
}

TEST(MalformedBodyTest, HugeVectorCountFailsFastWithoutAllocating) {
  for (uint32_t count : {0xFFFFFFFFu, kMaxReadDirEntries + 1, kMaxReadDirEntries, 2u}) {
    std::string m = EncodeMessage(Header(Opcode::kReadDir, true), ReadDirReply{});
    PokeU32(&m, kHeaderSize, count);  // the entry count opens the body
    ReadDirReply body;
    Decoder d(absl::string_view(m).substr(kHeaderSize));
    absl::Status s = DecodeBody(&d, &body);
    EXPECT_FALSE(s.ok()) << count;
    EXPECT_TRUE(absl::StrContains(s.message(), "entry count")) << s;
    // Only 9 bytes follow the count: the decoder must not have reserved room for any entry.
    EXPECT_EQ(body.entries.capacity(), 0u) << "count " << count;
  }
}

TEST(MalformedBodyTest, HugeInlineDataLengthFailsWithoutAllocating) {
  ReadReply r;
  r.count = kMaxTransferLength;
  r.data = "x";
  std::string m = EncodeMessage(Header(Opcode::kRead, true), r);
  PokeU32(&m, kHeaderSize + 5, kMaxTransferLength);  // data length after count and eof
  ReadReply body;
  Decoder d(absl::string_view(m).substr(kHeaderSize));
  ExpectInvalid(DecodeBody(&d, &body), "beyond input");
  EXPECT_LT(body.data.capacity(), 4096u);
}

TEST(MalformedBodyTest, BoolByteTwo) {
  // CreateRequest ends with the two bools exclusive, truncate.
  std::string m = EncodeMessage(Header(Opcode::kCreate, false), SampleCreateRequest());
  std::string bad = m;
  bad[bad.size() - 1] = 2;
  ExpectInvalid(DecodeAs<CreateRequest>(bad), "bool");
  bad = m;
  bad[bad.size() - 2] = 2;
  ExpectInvalid(DecodeAs<CreateRequest>(bad), "bool");
  // ReadDirReply ends with eof.
  std::string d = EncodeMessage(Header(Opcode::kReadDir, true), SampleReadDirReply());
  d[d.size() - 1] = 2;
  ExpectInvalid(DecodeAs<ReadDirReply>(d), "bool");
  // ReadRequest's has_buffer follows handle, offset and length.
  std::string r = EncodeMessage(Header(Opcode::kRead, false), SampleReadRequest());
  r[kHeaderSize + 24 + 8 + 4] = static_cast<char>(0xFF);
  ExpectInvalid(DecodeAs<ReadRequest>(r), "bool");
}

TEST(MalformedBodyTest, OutOfRangeFileType) {
  // FileAttr's type follows the 24-byte handle and the u64 file_id.
  std::string m = EncodeMessage(Header(Opcode::kLookup, true), SampleHandleReply());
  PokeU32(&m, kHeaderSize + 24 + 8, static_cast<uint32_t>(FileType::kSymlink));
  EXPECT_TRUE(DecodeAs<HandleReply>(m).ok());
  PokeU32(&m, kHeaderSize + 24 + 8, static_cast<uint32_t>(FileType::kSymlink) + 1);
  ExpectInvalid(DecodeAs<HandleReply>(m), "file type");

  std::string a = EncodeMessage(Header(Opcode::kGetAttr, true), SampleAttrReply());
  PokeU32(&a, kHeaderSize + 8, 0xFFFFFFFF);
  ExpectInvalid(DecodeAs<AttrReply>(a), "file type");

  ReadDirReply d;
  d.entries.push_back(DirEntry{"x", 1, FileType::kRegular});
  std::string e = EncodeMessage(Header(Opcode::kReadDir, true), d);
  // count(4) + name length(4) + "x"(1) + file_id(8), then the type.
  PokeU32(&e, kHeaderSize + 17, 4);
  ExpectInvalid(DecodeAs<ReadDirReply>(e), "file type");
}

TEST(MalformedBodyTest, OutOfRangeNoticeKind) {
  std::string m = EncodeMessage(Header(Opcode::kNotice, false), SampleNotice());
  for (uint32_t kind : {0u, 3u, 0xFFFFFFFFu}) {
    PokeU32(&m, kHeaderSize, kind);
    ExpectInvalid(DecodeAs<NoticeMessage>(m), "notice kind");
  }
  PokeU32(&m, kHeaderSize, static_cast<uint32_t>(NoticeKind::kGivingBack));
  EXPECT_TRUE(DecodeAs<NoticeMessage>(m).ok());
}

TEST(MalformedBodyTest, SlotsOutOfRange) {
  SessionCreateRequest req = SampleSessionCreateRequest();
  for (uint32_t slots : {0u, kMaxSlots + 1, 0xFFFFFFFFu}) {
    req.slots = slots;
    ExpectInvalid(
        DecodeAs<SessionCreateRequest>(EncodeMessage(Header(Opcode::kSessionCreate, false), req)),
        "slots");
  }
  for (uint32_t slots : {1u, kMaxSlots}) {
    req.slots = slots;
    EXPECT_TRUE(
        DecodeAs<SessionCreateRequest>(EncodeMessage(Header(Opcode::kSessionCreate, false), req))
            .ok());
  }
}

TEST(MalformedBodyTest, MaxEntriesOutOfRange) {
  ReadDirRequest req = SampleReadDirRequest();
  for (uint32_t n : {0u, kMaxReadDirEntries + 1, 0xFFFFFFFFu}) {
    req.max_entries = n;
    ExpectInvalid(DecodeAs<ReadDirRequest>(EncodeMessage(Header(Opcode::kReadDir, false), req)),
                  "max_entries");
  }
  for (uint32_t n : {1u, kMaxReadDirEntries}) {
    req.max_entries = n;
    EXPECT_TRUE(DecodeAs<ReadDirRequest>(EncodeMessage(Header(Opcode::kReadDir, false), req)).ok());
  }
}

TEST(MalformedBodyTest, TransferLengthOutOfRange) {
  ReadRequest read = SampleReadRequest();
  read.length = kMaxTransferLength;
  read.buffer.length = kMaxTransferLength;
  EXPECT_TRUE(DecodeAs<ReadRequest>(EncodeMessage(Header(Opcode::kRead, false), read)).ok());
  read.length = kMaxTransferLength + 1;
  read.buffer.length = 0xFFFFFFFF;
  ExpectInvalid(DecodeAs<ReadRequest>(EncodeMessage(Header(Opcode::kRead, false), read)),
                "over limit");

  WriteRequest write = SampleDirectWriteRequest();
  write.length = kMaxTransferLength + 1;
  write.buffer.length = 0xFFFFFFFF;
  ExpectInvalid(DecodeAs<WriteRequest>(EncodeMessage(Header(Opcode::kWrite, false), write)),
                "over limit");

  ReadReply reply;
  reply.count = kMaxTransferLength + 1;
  ExpectInvalid(DecodeAs<ReadReply>(EncodeMessage(Header(Opcode::kRead, true), reply)),
                "over limit");
}

TEST(MalformedBodyTest, DirectBufferShorterThanLength) {
  ReadRequest read = SampleReadRequest();
  read.buffer.length = read.length - 1;
  ExpectInvalid(DecodeAs<ReadRequest>(EncodeMessage(Header(Opcode::kRead, false), read)),
                "shorter than length");
  read.has_buffer = false;  // the buffer is ignored for inline reads
  EXPECT_TRUE(DecodeAs<ReadRequest>(EncodeMessage(Header(Opcode::kRead, false), read)).ok());

  WriteRequest write = SampleDirectWriteRequest();
  write.buffer.length = write.length - 1;
  ExpectInvalid(DecodeAs<WriteRequest>(EncodeMessage(Header(Opcode::kWrite, false), write)),
                "shorter than length");
}

TEST(MalformedBodyTest, InlineWriteLengthMismatch) {
  WriteRequest w = SampleWriteRequest();
  w.length = static_cast<uint32_t>(w.data.size()) + 1;
  ExpectInvalid(DecodeAs<WriteRequest>(EncodeMessage(Header(Opcode::kWrite, false), w)),
                "inline write length");
  w.length = static_cast<uint32_t>(w.data.size()) - 1;
  ExpectInvalid(DecodeAs<WriteRequest>(EncodeMessage(Header(Opcode::kWrite, false), w)),
                "inline write length");
  w.length = 0;
  w.data.clear();
  EXPECT_TRUE(DecodeAs<WriteRequest>(EncodeMessage(Header(Opcode::kWrite, false), w)).ok());
}

TEST(MalformedBodyTest, DirectWriteWithInlineData) {
  WriteRequest w = SampleDirectWriteRequest();
  w.data = "x";
  ExpectInvalid(DecodeAs<WriteRequest>(EncodeMessage(Header(Opcode::kWrite, false), w)),
                "inline data");
}

TEST(MalformedBodyTest, ReadReplyCountMismatch) {
  ReadReply r = SampleReadReply();
  r.count = static_cast<uint32_t>(r.data.size()) + 1;
  ExpectInvalid(DecodeAs<ReadReply>(EncodeMessage(Header(Opcode::kRead, true), r)), "inline data");
  r.count = 0;
  ExpectInvalid(DecodeAs<ReadReply>(EncodeMessage(Header(Opcode::kRead, true), r)), "inline data");
}

TEST(MalformedBodyTest, ErrorReplyMustHaveEmptyBody) {
  MessageHeader h = Header(Opcode::kGetAttr, true);
  h.status = ErrorCode::kNoEntry;
  EXPECT_TRUE(DecodeAndReencode(EncodeMessage(h, Empty{})).ok());
  ExpectInvalid(DecodeAndReencode(EncodeMessage(h, SampleAttrReply())).status(), "trailing");
}

// ============================ Randomized mutation ============================

// Applies one random mutation to m.
void Mutate(std::mt19937* rng, std::string* m) {
  auto pick = [rng](size_t n) { return static_cast<size_t>((*rng)() % n); };
  switch (pick(7)) {
    case 0:  // overwrite random bytes
      for (size_t i = 0, n = 1 + pick(4); i < n && !m->empty(); ++i) {
        (*m)[pick(m->size())] = static_cast<char>((*rng)());
      }
      break;
    case 1:  // flip one bit
      if (!m->empty()) (*m)[pick(m->size())] ^= static_cast<char>(1 << pick(8));
      break;
    case 2:  // truncate
      m->resize(pick(m->size() + 1));
      break;
    case 3:  // append random bytes
      for (size_t i = 0, n = 1 + pick(8); i < n; ++i) m->push_back(static_cast<char>((*rng)()));
      break;
    case 4:  // delete one byte
      if (!m->empty()) m->erase(pick(m->size()), 1);
      break;
    case 5:  // insert one byte
      m->insert(pick(m->size() + 1), 1, static_cast<char>((*rng)()));
      break;
    case 6: {  // write an edge value as a u32 at a random offset
      static const uint32_t kEdges[] = {0,          1,          2,          255,
                                        256,        1024,       1025,       kMaxTransferLength,
                                        0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 64};
      if (m->size() >= 4) {
        PokeU32(m, pick(m->size() - 3), kEdges[pick(sizeof(kEdges) / sizeof(kEdges[0]))]);
      }
      break;
    }
  }
}

TEST(RandomizedTest, MutatedMessagesFailCleanlyOrReencodeIdentically) {
  std::mt19937 rng(20260101);
  const std::vector<std::string> samples = AllSampleMessages();
  size_t accepted = 0;
  size_t rejected = 0;
  size_t rejected_in_body = 0;
  for (const std::string& sample : samples) {
    for (int iter = 0; iter < 3000; ++iter) {
      std::string m = sample;
      for (size_t n = 1 + rng() % 3; n > 0; --n) Mutate(&rng, &m);
      // Usually keep payload_length consistent, so the body decoders see the mutations.
      if (m.size() >= kHeaderSize && rng() % 4 != 0) FixPayloadLength(&m);
      absl::StatusOr<std::string> again = DecodeAndReencode(m);
      if (again.ok()) {
        ++accepted;
        ASSERT_EQ(*again, m) << "accepted message does not re-encode to its own bytes";
      } else {
        ++rejected;
        ASSERT_EQ(again.status().code(), absl::StatusCode::kInvalidArgument) << again.status();
        ASSERT_FALSE(again.status().message().empty());
        if (DecodeHeader(m).ok()) ++rejected_in_body;
      }
    }
  }
  // Both outcomes must be exercised, and the body decoders reached, or the test proves little.
  EXPECT_GT(accepted, 1000u);
  EXPECT_GT(rejected, 1000u);
  EXPECT_GT(rejected_in_body, 1000u);
}

TEST(RandomizedTest, RandomBodiesBehindValidHeaders) {
  std::mt19937 rng(7);
  size_t accepted = 0;
  for (uint16_t op = 0; op <= kMaxOpcode; ++op) {
    for (bool reply : {false, true}) {
      for (int iter = 0; iter < 500; ++iter) {
        std::string body(rng() % 80, '\0');
        for (char& c : body) c = static_cast<char>(rng() % 4 == 0 ? rng() : rng() % 3);
        std::string m = EncodeMessage(Header(static_cast<Opcode>(op), reply), Empty{}) + body;
        FixPayloadLength(&m);
        absl::StatusOr<std::string> again = DecodeAndReencode(m);
        if (again.ok()) {
          ++accepted;
          ASSERT_EQ(*again, m);
        } else {
          ASSERT_EQ(again.status().code(), absl::StatusCode::kInvalidArgument);
        }
      }
    }
  }
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace protocol
}  // namespace vifiler
