// Copyright 2026 The vifiler Authors.

#include "cluster/interconnect_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cluster/interconnect_message.h"
#include "protocol/codec.h"

namespace vifiler {
namespace cluster {
namespace {

// Labels keep the MACs of different purposes apart (a proof is never a session key or a tag).
constexpr absl::string_view kProofLabel = "vifiler interconnect v1 proof";
constexpr absl::string_view kSessionLabel = "vifiler interconnect v1 session";
constexpr absl::string_view kAcceptedLabel = "vifiler interconnect v1 accepted";
constexpr absl::string_view kFrameLabel = "vifiler interconnect v1 frame";

const char* RoleName(AuthRole role) { return role == AuthRole::kDialer ? "dialer" : "listener"; }

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  // HMAC-SHA256 on memory cannot fail short of memory exhaustion; an empty result never
  // verifies, so a failure refuses instead of accepting.
  if (result == nullptr || length != kAuthTagBytes) return std::string();
  return std::string(reinterpret_cast<const char*>(out), length);
}

bool ConstantTimeEqual(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// label | T, every part with its length.
std::string TranscriptInput(absl::string_view label, const AuthTranscript& t) {
  std::string out;
  protocol::Encoder e(&out);
  e.PutString(label);
  e.PutString(t.dialer);
  e.PutString(t.listener);
  e.PutString(t.dialer_nonce);
  e.PutString(t.listener_nonce);
  return out;
}

void PutHeader(AuthKind kind, protocol::Encoder* e) {
  e->PutU32(kInterconnectAuthMagic);
  e->PutU16(kInterconnectAuthVersion);
  e->PutU16(static_cast<uint16_t>(kind));
}

// Checks magic, version and that the kind is want.
bool GetHeader(AuthKind want, protocol::Decoder* d) {
  uint32_t magic = 0;
  uint16_t version = 0;
  uint16_t kind = 0;
  if (!d->GetU32(&magic) || !d->GetU16(&version) || !d->GetU16(&kind)) return false;
  if (magic != kInterconnectAuthMagic) {
    return d->Fail(absl::StrCat(
        magic == kInterconnectMagic
            ? "an unauthenticated interconnect message (the peer runs without a pair key)"
            : "not an authenticated interconnect message",
        " (magic 0x", absl::Hex(magic), ")"));
  }
  if (version != kInterconnectAuthVersion) {
    return d->Fail(absl::StrCat("unsupported interconnect authentication version ", version));
  }
  if (kind != static_cast<uint16_t>(want)) {
    return d->Fail(absl::StrCat("authentication message of kind ", kind, " where kind ",
                                static_cast<uint16_t>(want), " was due"));
  }
  return true;
}

// A string of exactly size bytes.
bool GetFixed(protocol::Decoder* d, std::string* s, size_t size, absl::string_view what) {
  if (!d->GetString(s, size)) return false;
  if (s->size() != size) {
    return d->Fail(absl::StrCat(what, " of ", s->size(), " bytes, not ", size));
  }
  return true;
}

absl::Status Refused(absl::string_view why) { return absl::UnauthenticatedError(why); }

}  // namespace

absl::StatusOr<std::string> NewAuthNonce() {
  std::string nonce(kAuthNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) !=
      1) {
    return absl::InternalError("the random number generator failed (RAND_bytes)");
  }
  return nonce;
}

// ---- messages ----

std::string EncodeAuthHello(const AuthHello& m) {
  std::string out;
  protocol::Encoder e(&out);
  PutHeader(AuthKind::kHello, &e);
  e.PutString(m.dialer);
  e.PutString(m.listener);
  e.PutString(m.nonce);
  return out;
}

absl::StatusOr<AuthHello> DecodeAuthHello(absl::string_view data) {
  protocol::Decoder d(data);
  AuthHello m;
  if (GetHeader(AuthKind::kHello, &d) && d.GetString(&m.dialer, kMaxInterconnectString) &&
      d.GetString(&m.listener, kMaxInterconnectString)) {
    GetFixed(&d, &m.nonce, kAuthNonceBytes, "nonce");
  }
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  return m;
}

std::string EncodeAuthChallenge(const AuthChallenge& m) {
  std::string out;
  protocol::Encoder e(&out);
  PutHeader(AuthKind::kChallenge, &e);
  e.PutString(m.nonce);
  e.PutString(m.proof);
  return out;
}

absl::StatusOr<AuthChallenge> DecodeAuthChallenge(absl::string_view data) {
  protocol::Decoder d(data);
  AuthChallenge m;
  if (GetHeader(AuthKind::kChallenge, &d) && GetFixed(&d, &m.nonce, kAuthNonceBytes, "nonce")) {
    GetFixed(&d, &m.proof, kAuthTagBytes, "proof");
  }
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  return m;
}

std::string EncodeAuthProof(const AuthProof& m) {
  std::string out;
  protocol::Encoder e(&out);
  PutHeader(AuthKind::kProof, &e);
  e.PutString(m.proof);
  return out;
}

absl::StatusOr<AuthProof> DecodeAuthProof(absl::string_view data) {
  protocol::Decoder d(data);
  AuthProof m;
  if (GetHeader(AuthKind::kProof, &d)) GetFixed(&d, &m.proof, kAuthTagBytes, "proof");
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  return m;
}

std::string EncodeAuthAccepted(const AuthAccepted& m) {
  std::string out;
  protocol::Encoder e(&out);
  PutHeader(AuthKind::kAccepted, &e);
  e.PutString(m.tag);
  return out;
}

absl::StatusOr<AuthAccepted> DecodeAuthAccepted(absl::string_view data) {
  protocol::Decoder d(data);
  AuthAccepted m;
  if (GetHeader(AuthKind::kAccepted, &d)) GetFixed(&d, &m.tag, kAuthTagBytes, "tag");
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  return m;
}

// ---- keys and proofs ----

SessionKey::SessionKey(SessionKey&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

SessionKey& SessionKey::operator=(SessionKey&& other) noexcept {
  if (this != &other) {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

SessionKey::~SessionKey() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

std::string ComputeAuthProof(const PairKey& key, const AuthTranscript& t, AuthRole prover) {
  std::string input = TranscriptInput(kProofLabel, t);
  input.push_back(static_cast<char>(prover));
  return HmacSha256(key.secret(), input);
}

absl::Status VerifyAuthProof(const PairKey& key, const AuthTranscript& t, AuthRole prover,
                             absl::string_view proof) {
  if (!ConstantTimeEqual(ComputeAuthProof(key, t, prover), proof)) {
    return Refused(
        absl::StrCat("the ", RoleName(prover), "'s proof does not verify (a different pair key?)"));
  }
  return absl::OkStatus();
}

SessionKey DeriveSessionKey(const PairKey& key, const AuthTranscript& t) {
  return SessionKey(HmacSha256(key.secret(), TranscriptInput(kSessionLabel, t)));
}

std::string ComputeAcceptedTag(const SessionKey& session) {
  return HmacSha256(session.bytes(), kAcceptedLabel);
}

absl::Status VerifyAcceptedTag(const SessionKey& session, absl::string_view tag) {
  if (!ConstantTimeEqual(ComputeAcceptedTag(session), tag)) {
    return Refused("the listener's acceptance does not verify");
  }
  return absl::OkStatus();
}

// ---- handshakes ----

DialerHandshake::DialerHandshake(const PairKey* key, std::string self, std::string partner)
    : key_(key) {
  transcript_.dialer = std::move(self);
  transcript_.listener = std::move(partner);
}

absl::StatusOr<std::string> DialerHandshake::Hello() {
  if (step_ != 0) return absl::FailedPreconditionError("HELLO already sent");
  absl::StatusOr<std::string> nonce = NewAuthNonce();
  if (!nonce.ok()) return nonce.status();
  transcript_.dialer_nonce = *nonce;
  step_ = 1;
  return EncodeAuthHello({transcript_.dialer, transcript_.listener, transcript_.dialer_nonce});
}

absl::StatusOr<std::string> DialerHandshake::OnChallenge(absl::string_view data) {
  if (step_ != 1) return absl::FailedPreconditionError("no CHALLENGE due");
  step_ = -1;  // until it verifies
  absl::StatusOr<AuthChallenge> challenge = DecodeAuthChallenge(data);
  if (!challenge.ok()) return challenge.status();
  transcript_.listener_nonce = challenge->nonce;
  if (ConstantTimeEqual(transcript_.listener_nonce, transcript_.dialer_nonce)) {
    return Refused("the listener echoed the dialer's nonce");
  }
  if (absl::Status s = VerifyAuthProof(*key_, transcript_, AuthRole::kListener, challenge->proof);
      !s.ok()) {
    return s;
  }
  session_ = DeriveSessionKey(*key_, transcript_);
  step_ = 2;
  return EncodeAuthProof({ComputeAuthProof(*key_, transcript_, AuthRole::kDialer)});
}

absl::Status DialerHandshake::OnAccepted(absl::string_view data) {
  if (step_ != 2) return absl::FailedPreconditionError("no ACCEPTED due");
  step_ = -1;
  absl::StatusOr<AuthAccepted> accepted = DecodeAuthAccepted(data);
  if (!accepted.ok()) return accepted.status();
  if (absl::Status s = VerifyAcceptedTag(session_, accepted->tag); !s.ok()) return s;
  step_ = 3;
  return absl::OkStatus();
}

ListenerHandshake::ListenerHandshake(const PairKey* key, std::string self, std::string partner)
    : key_(key), self_(std::move(self)), partner_(std::move(partner)) {}

absl::StatusOr<std::string> ListenerHandshake::OnHello(absl::string_view data) {
  if (step_ != 0) return absl::FailedPreconditionError("no HELLO due");
  step_ = -1;
  absl::StatusOr<AuthHello> hello = DecodeAuthHello(data);
  if (!hello.ok()) return hello.status();
  if (hello->dialer != partner_) {
    return Refused(absl::StrCat("HELLO from \"", hello->dialer, "\", not from the partner \"",
                                partner_, "\""));
  }
  if (hello->listener != self_) {
    return Refused(absl::StrCat("HELLO for \"", hello->listener, "\", not for \"", self_, "\""));
  }
  transcript_.dialer = hello->dialer;
  transcript_.listener = hello->listener;
  transcript_.dialer_nonce = hello->nonce;
  absl::StatusOr<std::string> nonce = NewAuthNonce();
  if (!nonce.ok()) return nonce.status();
  transcript_.listener_nonce = *nonce;
  step_ = 1;
  return EncodeAuthChallenge(
      {transcript_.listener_nonce, ComputeAuthProof(*key_, transcript_, AuthRole::kListener)});
}

absl::StatusOr<std::string> ListenerHandshake::OnProof(absl::string_view data) {
  if (step_ != 1) return absl::FailedPreconditionError("no PROOF due");
  step_ = -1;
  absl::StatusOr<AuthProof> proof = DecodeAuthProof(data);
  if (!proof.ok()) return proof.status();
  if (absl::Status s = VerifyAuthProof(*key_, transcript_, AuthRole::kDialer, proof->proof);
      !s.ok()) {
    return s;
  }
  session_ = DeriveSessionKey(*key_, transcript_);
  step_ = 2;
  return EncodeAuthAccepted({ComputeAcceptedTag(session_)});
}

// ---- frames ----

namespace {

std::string FrameTag(const SessionKey& session, AuthRole sender, absl::string_view body) {
  std::string input;
  protocol::Encoder e(&input);
  e.PutString(kFrameLabel);
  e.PutU8(static_cast<uint8_t>(sender));
  e.PutRaw(body);
  return HmacSha256(session.bytes(), input);
}

}  // namespace

absl::StatusOr<std::string> FrameSealer::Seal(absl::string_view message) {
  if (message.size() > kMaxAuthFrameMessage) {
    return absl::InvalidArgumentError(absl::StrCat("interconnect message of ", message.size(),
                                                   " bytes exceeds ", kMaxAuthFrameMessage));
  }
  std::string out;
  protocol::Encoder e(&out);
  PutHeader(AuthKind::kFrame, &e);
  e.PutU64(next_counter_++);
  e.PutString(message);
  const std::string tag = FrameTag(session_, sender_, out);
  e.PutString(tag);
  return out;
}

absl::StatusOr<std::string> FrameOpener::Open(absl::string_view frame) {
  protocol::Decoder d(frame);
  uint64_t counter = 0;
  std::string message;
  std::string tag;
  size_t body_size = 0;
  if (GetHeader(AuthKind::kFrame, &d) && d.GetU64(&counter) &&
      d.GetString(&message, kMaxAuthFrameMessage)) {
    body_size = frame.size() - d.remaining();
    GetFixed(&d, &tag, kAuthTagBytes, "tag");
  }
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  if (!ConstantTimeEqual(FrameTag(session_, sender_, frame.substr(0, body_size)), tag)) {
    return Refused(absl::StrCat("frame ", counter, " does not verify (tampered, or not the ",
                                RoleName(sender_), "'s of this connection)"));
  }
  if (counter != next_counter_) {
    return Refused(absl::StrCat("frame ", counter, " out of order (expected ", next_counter_,
                                "): replayed or reordered"));
  }
  ++next_counter_;
  return message;
}

}  // namespace cluster
}  // namespace vifiler
