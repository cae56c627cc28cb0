// Copyright 2026 The vifiler Authors.
//
// Interconnect authentication: the handshake that opens an interconnect connection between the
// two filers of a pair, and the MAC on every message after it. Pure functions and small state
// objects, with no network: cluster/interconnect.cc moves the bytes.
//
// Each interconnect connection has a dialer (the filer that connected; it sends the messages)
// and a listener (the filer that accepted; it receives them). Both hold the pair key K
// (cluster/pair_key.h). The handshake, four messages:
//   1. dialer -> listener  HELLO      dialer name D, listener name L, dialer nonce Nd
//   2. listener -> dialer  CHALLENGE  listener nonce Nl, Pl = PROOF(K, listener, T)
//   3. dialer -> listener  PROOF      Pd = PROOF(K, dialer, T)
//   4. listener -> dialer  ACCEPTED   HMAC(S, "accepted")
// where T = (D, L, Nd, Nl), nonces are kAuthNonceBytes from the CSPRNG (RAND_bytes), and
//   PROOF(K, role, T) = HMAC-SHA256(K, label "proof" | T | role)
//   S (the session key) = HMAC-SHA256(K, label "session" | T).
// The listener refuses a HELLO whose D is not its partner or whose L is not itself; each side
// refuses a proof that is not the other role's proof over this T. So a proof proves knowledge
// of K, for this pair of names, in this direction, on this connection (fresh nonces on both
// sides: nothing recorded from an earlier connection verifies again).
//
// After the handshake the dialer sends each interconnect message as a FRAME:
//   counter c (1, 2, 3, ... per connection and direction), the message, and
//   tag = HMAC-SHA256(S, label "frame" | sender role | every frame byte before the tag).
// FrameOpener accepts exactly the next counter: a replayed, reordered, dropped or reflected
// (other role) frame, or one from another connection (another S), is refused.
//
// Wire format (little-endian, protocol/codec.h): u32 magic "VIFA", u16 version, u16 kind, then
//   HELLO:     string D, string L, string Nd
//   CHALLENGE: string Nl, string Pl
//   PROOF:     string Pd
//   ACCEPTED:  string tag
//   FRAME:     u64 counter, string message, string tag
// (string: u32 length + bytes). Names are at most kMaxInterconnectString bytes, nonces and tags
// exactly their size, a message at most kMaxAuthFrameMessage bytes. Decoders never read past
// their input and refuse anything else with InvalidArgumentError; a proof or tag that does not
// verify, or a counter out of order, is UnauthenticatedError. Comparisons of secrets are
// constant-time (CRYPTO_memcmp).
//
// Thread safety: the free functions are thread-safe; a handshake, FrameSealer or FrameOpener
// is used by one thread at a time.

#ifndef VIFILER_CLUSTER_INTERCONNECT_AUTH_H_
#define VIFILER_CLUSTER_INTERCONNECT_AUTH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cluster/pair_key.h"

namespace vifiler {
namespace cluster {

inline constexpr uint32_t kInterconnectAuthMagic = 0x41464956;  // "VIFA" in memory order
inline constexpr uint16_t kInterconnectAuthVersion = 1;
inline constexpr size_t kAuthNonceBytes = 32;
inline constexpr size_t kAuthTagBytes = 32;  // HMAC-SHA256
inline constexpr size_t kMaxAuthFrameMessage = 4096;

// Values are on the wire and inside MACs: never renumber.
enum class AuthRole : uint8_t { kDialer = 1, kListener = 2 };
enum class AuthKind : uint16_t {
  kHello = 1,
  kChallenge = 2,
  kProof = 3,
  kAccepted = 4,
  kFrame = 5,
};

// kAuthNonceBytes from the CSPRNG; InternalError if it fails.
absl::StatusOr<std::string> NewAuthNonce();

// What the proofs and the session key are bound to.
struct AuthTranscript {
  std::string dialer;
  std::string listener;
  std::string dialer_nonce;
  std::string listener_nonce;
};

struct AuthHello {
  std::string dialer;
  std::string listener;
  std::string nonce;
};
struct AuthChallenge {
  std::string nonce;
  std::string proof;
};
struct AuthProof {
  std::string proof;
};
struct AuthAccepted {
  std::string tag;
};

std::string EncodeAuthHello(const AuthHello& m);
absl::StatusOr<AuthHello> DecodeAuthHello(absl::string_view data);
std::string EncodeAuthChallenge(const AuthChallenge& m);
absl::StatusOr<AuthChallenge> DecodeAuthChallenge(absl::string_view data);
std::string EncodeAuthProof(const AuthProof& m);
absl::StatusOr<AuthProof> DecodeAuthProof(absl::string_view data);
std::string EncodeAuthAccepted(const AuthAccepted& m);
absl::StatusOr<AuthAccepted> DecodeAuthAccepted(absl::string_view data);

// A per-connection key; wiped when destroyed. Movable, not copyable.
class SessionKey {
 public:
  SessionKey() = default;
  explicit SessionKey(std::string bytes) : bytes_(std::move(bytes)) {}
  SessionKey(SessionKey&& other) noexcept;
  SessionKey& operator=(SessionKey&& other) noexcept;
  SessionKey(const SessionKey&) = delete;
  SessionKey& operator=(const SessionKey&) = delete;
  ~SessionKey();
  absl::string_view bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }

 private:
  std::string bytes_;
};

// PROOF(K, prover, T) above, and its check (UnauthenticatedError when it does not match).
std::string ComputeAuthProof(const PairKey& key, const AuthTranscript& t, AuthRole prover);
absl::Status VerifyAuthProof(const PairKey& key, const AuthTranscript& t, AuthRole prover,
                             absl::string_view proof);
SessionKey DeriveSessionKey(const PairKey& key, const AuthTranscript& t);
std::string ComputeAcceptedTag(const SessionKey& session);
absl::Status VerifyAcceptedTag(const SessionKey& session, absl::string_view tag);

// The dialer's side of the handshake: Hello(), then OnChallenge() (returns the PROOF to send),
// then OnAccepted(); after that session_key() is the connection's key. Any error ends the
// handshake (the connection is to be closed).
class DialerHandshake {
 public:
  DialerHandshake(const PairKey* key, std::string self, std::string partner);
  absl::StatusOr<std::string> Hello();
  absl::StatusOr<std::string> OnChallenge(absl::string_view data);
  absl::Status OnAccepted(absl::string_view data);
  // Valid after OnAccepted() returned OK; moves the key out.
  SessionKey TakeSessionKey() { return std::move(session_); }

 private:
  const PairKey* const key_;
  AuthTranscript transcript_;
  SessionKey session_;
  int step_ = 0;
};

// The listener's side: OnHello() (returns the CHALLENGE to send), then OnProof() (returns the
// ACCEPTED to send); after that the dialer is authenticated.
class ListenerHandshake {
 public:
  ListenerHandshake(const PairKey* key, std::string self, std::string partner);
  absl::StatusOr<std::string> OnHello(absl::string_view data);
  absl::StatusOr<std::string> OnProof(absl::string_view data);
  SessionKey TakeSessionKey() { return std::move(session_); }

 private:
  const PairKey* const key_;
  const std::string self_;
  const std::string partner_;
  AuthTranscript transcript_;
  SessionKey session_;
  int step_ = 0;
};

// Seals the messages one role sends on one connection: counters 1, 2, 3, ...
class FrameSealer {
 public:
  FrameSealer(SessionKey session, AuthRole sender)
      : session_(std::move(session)), sender_(sender) {}
  // message must be at most kMaxAuthFrameMessage bytes (InvalidArgumentError).
  absl::StatusOr<std::string> Seal(absl::string_view message);
  uint64_t next_counter() const { return next_counter_; }

 private:
  SessionKey session_;
  const AuthRole sender_;
  uint64_t next_counter_ = 1;
};

// Opens the frames the other role (sender) sealed on the same connection, in order.
class FrameOpener {
 public:
  FrameOpener(SessionKey session, AuthRole sender)
      : session_(std::move(session)), sender_(sender) {}
  // The message; InvalidArgumentError when malformed, UnauthenticatedError when the tag does
  // not verify or the counter is not the next one. A refused frame does not advance the
  // counter.
  absl::StatusOr<std::string> Open(absl::string_view frame);
  uint64_t next_counter() const { return next_counter_; }

 private:
  SessionKey session_;
  const AuthRole sender_;
  uint64_t next_counter_ = 1;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_INTERCONNECT_AUTH_H_
