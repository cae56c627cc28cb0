// Copyright 2026 The vifiler Authors.
//
// Encoding and bounds-checked decoding of protocol messages. Decoding never reads past the
// input, rejects trailing bytes, strings over their limits, unknown enum values and lengths
// that do not match the message; errors are InvalidArgumentError with a reason.
//
// Field encodings (little-endian): integers fixed width; bool as u8 (0 or 1 only); string as
// u32 length + bytes; FileHandle as 3 x u64; FileAttr as u64 file_id, u32 type, u32 mode,
// u32 nlink, u64 size, i64 atime_ns, i64 mtime_ns, i64 ctime_ns; RemoteBuffer as u64 address,
// u32 key, u32 length; vectors as u32 count + elements.

#ifndef VIFILER_PROTOCOL_CODEC_H_
#define VIFILER_PROTOCOL_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protocol/messages.h"

namespace vifiler {
namespace protocol {

// Appends fixed-width little-endian fields to a string.
class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}
  void PutU8(uint8_t v);
  void PutU16(uint16_t v);
  void PutU32(uint32_t v);
  void PutU64(uint64_t v);
  void PutBool(bool v) { PutU8(v ? 1 : 0); }
  void PutString(absl::string_view s);  // u32 length + bytes
  void PutRaw(absl::string_view s);
  std::string* out() { return out_; }

 private:
  std::string* out_;
};

// Reads fields from a byte range with bounds checks. After the first failure every Get
// returns false and status() says what failed.
class Decoder {
 public:
  explicit Decoder(absl::string_view in) : in_(in) {}
  bool GetU8(uint8_t* v);
  bool GetU16(uint16_t* v);
  bool GetU32(uint32_t* v);
  bool GetU64(uint64_t* v);
  bool GetI64(int64_t* v);
  bool GetBool(bool* v);
  // Fails when the length exceeds max_length or the remaining input.
  bool GetString(std::string* s, size_t max_length);
  bool Fail(absl::string_view reason);
  // OK when no error occurred and every byte was consumed.
  absl::Status Finish();
  absl::Status status() const { return status_; }
  size_t remaining() const { return in_.size(); }

 private:
  absl::string_view in_;
  absl::Status status_;
};

void EncodeHeader(const MessageHeader& header, Encoder* e);
// Validates magic, version, opcode range and that payload_length equals message.size() -
// kHeaderSize.
absl::StatusOr<MessageHeader> DecodeHeader(absl::string_view message);

// Body codecs, one overload pair per body type.
void EncodeBody(const Empty& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, Empty* m);
void EncodeBody(const SessionCreateRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, SessionCreateRequest* m);
void EncodeBody(const SessionCreateReply& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, SessionCreateReply* m);
void EncodeBody(const LookupRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, LookupRequest* m);
void EncodeBody(const HandleReply& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, HandleReply* m);
void EncodeBody(const GetAttrRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, GetAttrRequest* m);
void EncodeBody(const AttrReply& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, AttrReply* m);
void EncodeBody(const SetAttrRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, SetAttrRequest* m);
void EncodeBody(const CreateRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, CreateRequest* m);
void EncodeBody(const MkdirRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, MkdirRequest* m);
void EncodeBody(const RemoveRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, RemoveRequest* m);
void EncodeBody(const RenameRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, RenameRequest* m);
void EncodeBody(const ReadDirRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, ReadDirRequest* m);
void EncodeBody(const ReadDirReply& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, ReadDirReply* m);
void EncodeBody(const ReadRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, ReadRequest* m);
void EncodeBody(const ReadReply& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, ReadReply* m);
void EncodeBody(const WriteRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, WriteRequest* m);
void EncodeBody(const WriteReply& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, WriteReply* m);
void EncodeBody(const FsyncRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, FsyncRequest* m);
void EncodeBody(const StatFsRequest& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, StatFsRequest* m);
void EncodeBody(const StatFsReply& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, StatFsReply* m);
void EncodeBody(const NoticeMessage& m, Encoder* e);
absl::Status DecodeBody(Decoder* d, NoticeMessage* m);

// Header + body as one message; sets header.payload_length.
template <typename Body>
std::string EncodeMessage(MessageHeader header, const Body& body) {
  std::string payload;
  Encoder pe(&payload);
  EncodeBody(body, &pe);
  header.payload_length = static_cast<uint32_t>(payload.size());
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  Encoder e(&out);
  EncodeHeader(header, &e);
  out.append(payload);
  return out;
}

// Decodes the body of message (which must start with a valid header), requiring that the body
// is consumed exactly.
template <typename Body>
absl::Status DecodeMessageBody(absl::string_view message, Body* body) {
  if (message.size() < kHeaderSize)
    return absl::InvalidArgumentError("message shorter than header");
  Decoder d(message.substr(kHeaderSize));
  absl::Status s = DecodeBody(&d, body);
  if (!s.ok()) return s;
  return d.Finish();
}

}  // namespace protocol
}  // namespace vifiler

#endif  // VIFILER_PROTOCOL_CODEC_H_
