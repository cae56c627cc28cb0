// Copyright 2026 The vifiler Authors.
//
// The pair key file and the interconnect's authentication (handshake and frames), without a
// network: wrong keys, tampered, replayed, reordered and reflected messages are refused.

#include "cluster/interconnect_auth.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cluster/interconnect_message.h"
#include "cluster/pair_key.h"
#include "gtest/gtest.h"

namespace vifiler {
namespace cluster {
namespace {

PairKey Key(char fill) { return *PairKey::FromSecret(std::string(32, fill)); }

// ---- the key file ----

class PairKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/pair-key-test-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    { std::ofstream(path, std::ios::binary) << content; }
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST_F(PairKeyFileTest, ReadsHexAndRawKeys) {
  const std::string hex(64, 'a');
  absl::StatusOr<PairKey> from_hex = LoadPairKeyFile(Write("hex", hex + "\n", 0600));
  ASSERT_TRUE(from_hex.ok()) << from_hex.status();
  EXPECT_EQ(from_hex->secret(), std::string(32, '\xaa'));
  absl::StatusOr<PairKey> crlf = LoadPairKeyFile(Write("crlf", hex + "\r\n", 0400));
  ASSERT_TRUE(crlf.ok()) << crlf.status();
  EXPECT_EQ(crlf->secret(), std::string(32, '\xaa'));

  const std::string raw = std::string("\x01\x02 not hex at all, and long enough!\n", 37);
  absl::StatusOr<PairKey> from_raw = LoadPairKeyFile(Write("raw", raw, 0600));
  ASSERT_TRUE(from_raw.ok()) << from_raw.status();
  EXPECT_EQ(from_raw->secret(), raw);  // every byte, the newline included
}

TEST_F(PairKeyFileTest, RefusesMissingOpenShortAndOddFiles) {
  absl::StatusOr<PairKey> missing = LoadPairKeyFile(dir_ + "/nope");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot open"), absl::string_view::npos)
      << missing.status();

  for (mode_t mode : {0640, 0604, 0660, 0602, 0610}) {
    absl::StatusOr<PairKey> open = LoadPairKeyFile(Write("open", std::string(64, 'b'), mode));
    EXPECT_FALSE(open.ok()) << std::oct << mode;
    EXPECT_NE(open.status().message().find("group or others"), absl::string_view::npos)
        << open.status();
  }

  // 31 raw bytes; 62 hex digits (31 bytes).
  for (const std::string& short_key : {std::string(31, 'z'), std::string(62, 'c') + "\n"}) {
    absl::StatusOr<PairKey> key = LoadPairKeyFile(Write("short", short_key, 0600));
    EXPECT_TRUE(absl::IsInvalidArgument(key.status())) << key.status();
    EXPECT_NE(key.status().message().find("at least"), absl::string_view::npos) << key.status();
  }
  EXPECT_FALSE(LoadPairKeyFile(Write("empty", "", 0600)).ok());

  absl::StatusOr<PairKey> directory = LoadPairKeyFile(dir_);
  EXPECT_FALSE(directory.ok());
  EXPECT_NE(directory.status().message().find("not a regular file"), absl::string_view::npos)
      << directory.status();
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(LoadPairKeyFile(fifo).ok());  // and does not wait for a writer

  EXPECT_FALSE(
      LoadPairKeyFile(Write("big", std::string(kMaxPairKeyFileBytes + 1, 'k'), 0600)).ok());
}

// ---- handshake ----

struct Completed {
  absl::Status status;
  SessionKey dialer;
  SessionKey listener;
};

// Runs the four messages between a dialer holding dialer_key and a listener holding
// listener_key.
Completed Handshake(const PairKey& dialer_key, const PairKey& listener_key,
                    const std::string& dialer_name = "filer-a",
                    const std::string& listener_name = "filer-b") {
  Completed out;
  DialerHandshake dialer(&dialer_key, dialer_name, listener_name);
  ListenerHandshake listener(&listener_key, "filer-b", "filer-a");
  absl::StatusOr<std::string> hello = dialer.Hello();
  if (!hello.ok()) return {hello.status()};
  absl::StatusOr<std::string> challenge = listener.OnHello(*hello);
  if (!challenge.ok()) return {challenge.status()};
  absl::StatusOr<std::string> proof = dialer.OnChallenge(*challenge);
  if (!proof.ok()) return {proof.status()};
  absl::StatusOr<std::string> accepted = listener.OnProof(*proof);
  if (!accepted.ok()) return {accepted.status()};
  out.status = dialer.OnAccepted(*accepted);
  out.dialer = dialer.TakeSessionKey();
  out.listener = listener.TakeSessionKey();
  return out;
}

TEST(InterconnectAuthTest, SameKeyAgreesOnASessionKey) {
  const PairKey key = Key('k');
  Completed done = Handshake(key, key);
  ASSERT_TRUE(done.status.ok()) << done.status;
  EXPECT_EQ(done.dialer.bytes().size(), kAuthTagBytes);
  EXPECT_EQ(done.dialer.bytes(), done.listener.bytes());
  // Fresh nonces: another connection gets another session key.
  Completed again = Handshake(key, key);
  ASSERT_TRUE(again.status.ok());
  EXPECT_NE(again.dialer.bytes(), done.dialer.bytes());
}

TEST(InterconnectAuthTest, WrongKeyIsRefusedBothWays) {
  const PairKey key = Key('k');
  const PairKey other = Key('x');
  // A listener with another key: the dialer refuses its proof.
  Completed done = Handshake(key, other);
  EXPECT_TRUE(absl::IsUnauthenticated(done.status)) << done.status;

  // A dialer with another key cannot verify the listener's proof; the proof it makes with its
  // own key anyway is refused by the listener.
  ListenerHandshake listener(&key, "filer-b", "filer-a");
  DialerHandshake impostor(&other, "filer-a", "filer-b");
  absl::StatusOr<std::string> hello = impostor.Hello();
  ASSERT_TRUE(hello.ok());
  absl::StatusOr<AuthHello> sent = DecodeAuthHello(*hello);
  ASSERT_TRUE(sent.ok());
  absl::StatusOr<std::string> challenge = listener.OnHello(*hello);
  ASSERT_TRUE(challenge.ok()) << challenge.status();
  EXPECT_TRUE(absl::IsUnauthenticated(impostor.OnChallenge(*challenge).status()));
  absl::StatusOr<AuthChallenge> decoded = DecodeAuthChallenge(*challenge);
  ASSERT_TRUE(decoded.ok());
  const AuthTranscript t{"filer-a", "filer-b", sent->nonce, decoded->nonce};
  absl::StatusOr<std::string> accepted =
      listener.OnProof(EncodeAuthProof({ComputeAuthProof(other, t, AuthRole::kDialer)}));
  EXPECT_TRUE(absl::IsUnauthenticated(accepted.status())) << accepted.status();

  // A guessed proof.
  ListenerHandshake listener2(&key, "filer-b", "filer-a");
  ASSERT_TRUE(listener2.OnHello(*DialerHandshake(&other, "filer-a", "filer-b").Hello()).ok());
  EXPECT_TRUE(absl::IsUnauthenticated(
      listener2.OnProof(EncodeAuthProof({std::string(kAuthTagBytes, '\0')})).status()));
}

TEST(InterconnectAuthTest, ListenerRefusesStrangersAndMisdirectedHellos) {
  const PairKey key = Key('k');
  // A dialer that says it is someone else than the partner, even with the key.
  Completed stranger = Handshake(key, key, "filer-x", "filer-b");
  EXPECT_TRUE(absl::IsUnauthenticated(stranger.status)) << stranger.status;
  // A HELLO meant for another filer.
  Completed misdirected = Handshake(key, key, "filer-a", "filer-c");
  EXPECT_TRUE(absl::IsUnauthenticated(misdirected.status)) << misdirected.status;
  // An unauthenticated interconnect message where HELLO is due.
  ListenerHandshake listener(&key, "filer-b", "filer-a");
  InterconnectMessage failing;
  failing.type = InterconnectMessageType::kFailing;
  failing.sender = "filer-a";
  absl::StatusOr<std::string> refused = listener.OnHello(EncodeInterconnectMessage(failing));
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("without a pair key"), absl::string_view::npos)
      << refused.status();
}

TEST(InterconnectAuthTest, ProofsAreBoundToDirectionNamesAndNonces) {
  const PairKey key = Key('k');
  AuthTranscript t{"filer-a", "filer-b", std::string(32, '1'), std::string(32, '2')};
  const std::string dialer_proof = ComputeAuthProof(key, t, AuthRole::kDialer);
  EXPECT_TRUE(VerifyAuthProof(key, t, AuthRole::kDialer, dialer_proof).ok());
  // Direction swap: the dialer's proof is not a listener's proof.
  EXPECT_TRUE(absl::IsUnauthenticated(VerifyAuthProof(key, t, AuthRole::kListener, dialer_proof)));
  // Names swapped (the same filers, the other connection).
  AuthTranscript swapped{t.listener, t.dialer, t.dialer_nonce, t.listener_nonce};
  EXPECT_FALSE(VerifyAuthProof(key, swapped, AuthRole::kDialer, dialer_proof).ok());
  // Another nonce (a proof recorded on an earlier connection).
  AuthTranscript replayed = t;
  replayed.listener_nonce = std::string(32, '3');
  EXPECT_FALSE(VerifyAuthProof(key, replayed, AuthRole::kDialer, dialer_proof).ok());
  // Another key; a truncated or empty proof.
  EXPECT_FALSE(VerifyAuthProof(Key('x'), t, AuthRole::kDialer, dialer_proof).ok());
  EXPECT_FALSE(VerifyAuthProof(key, t, AuthRole::kDialer, dialer_proof.substr(1)).ok());
  EXPECT_FALSE(VerifyAuthProof(key, t, AuthRole::kDialer, "").ok());
}

TEST(InterconnectAuthTest, ReflectedChallengeIsRefused) {
  // A listener that echoes the dialer's own nonce and proof material back.
  const PairKey key = Key('k');
  DialerHandshake dialer(&key, "filer-a", "filer-b");
  absl::StatusOr<AuthHello> hello = DecodeAuthHello(*dialer.Hello());
  ASSERT_TRUE(hello.ok());
  AuthTranscript t{"filer-a", "filer-b", hello->nonce, hello->nonce};
  absl::StatusOr<std::string> proof = dialer.OnChallenge(
      EncodeAuthChallenge({hello->nonce, ComputeAuthProof(key, t, AuthRole::kListener)}));
  EXPECT_TRUE(absl::IsUnauthenticated(proof.status())) << proof.status();
}

TEST(InterconnectAuthTest, HandshakeMessagesAreCheckedStrictly) {
  const std::string hello = EncodeAuthHello({"filer-a", "filer-b", std::string(32, 'n')});
  ASSERT_TRUE(DecodeAuthHello(hello).ok());
  for (size_t n = 0; n < hello.size(); ++n) {
    EXPECT_FALSE(DecodeAuthHello(hello.substr(0, n)).ok()) << "prefix " << n;
  }
  EXPECT_FALSE(DecodeAuthHello(hello + "z").ok());
  EXPECT_FALSE(DecodeAuthHello(EncodeAuthHello({"filer-a", "filer-b", std::string(31, 'n')})).ok());
  EXPECT_FALSE(DecodeAuthHello(EncodeAuthHello({std::string(kMaxInterconnectString + 1, 'a'),
                                                "filer-b", std::string(32, 'n')}))
                   .ok());
  // A message of another kind where HELLO is due.
  EXPECT_FALSE(DecodeAuthHello(EncodeAuthProof({std::string(32, 'p')})).ok());
  EXPECT_FALSE(DecodeAuthChallenge(hello).ok());
  EXPECT_FALSE(DecodeAuthAccepted(EncodeAuthAccepted({std::string(33, 't')})).ok());

  // Steps out of order.
  const PairKey key = Key('k');
  DialerHandshake dialer(&key, "filer-a", "filer-b");
  EXPECT_FALSE(dialer.OnAccepted(EncodeAuthAccepted({std::string(32, 't')})).ok());
  ListenerHandshake listener(&key, "filer-b", "filer-a");
  EXPECT_FALSE(listener.OnProof(EncodeAuthProof({std::string(32, 'p')})).ok());
}

// ---- frames ----

class FrameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Completed done = Handshake(key_, key_);
    ASSERT_TRUE(done.status.ok()) << done.status;
    sealer_ = std::make_unique<FrameSealer>(std::move(done.dialer), AuthRole::kDialer);
    opener_ = std::make_unique<FrameOpener>(std::move(done.listener), AuthRole::kDialer);
  }
  std::string Seal(const std::string& message) {
    absl::StatusOr<std::string> frame = sealer_->Seal(message);
    EXPECT_TRUE(frame.ok()) << frame.status();
    return frame.ok() ? *frame : "";
  }
  const PairKey key_ = Key('k');
  std::unique_ptr<FrameSealer> sealer_;
  std::unique_ptr<FrameOpener> opener_;
};

TEST_F(FrameTest, OpensWhatWasSealedInOrder) {
  for (int i = 0; i < 5; ++i) {
    const std::string message = absl::StrCat("message ", i);
    absl::StatusOr<std::string> opened = opener_->Open(Seal(message));
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, message);
  }
  EXPECT_EQ(opener_->next_counter(), 6u);
  absl::StatusOr<std::string> empty = opener_->Open(Seal(""));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "");
  EXPECT_FALSE(sealer_->Seal(std::string(kMaxAuthFrameMessage + 1, 'm')).ok());
}

TEST_F(FrameTest, TamperedFrameIsRefused) {
  const std::string frame = Seal("FAILING from filer-a");
  for (size_t i = 0; i < frame.size(); ++i) {
    std::string tampered = frame;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_FALSE(opener_->Open(tampered).ok()) << "byte " << i;
  }
  // Truncated, extended.
  EXPECT_FALSE(opener_->Open(frame.substr(0, frame.size() - 1)).ok());
  EXPECT_FALSE(opener_->Open(frame + "x").ok());
  // None of that moved the counter: the genuine frame still opens.
  absl::StatusOr<std::string> opened = opener_->Open(frame);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "FAILING from filer-a");
}

TEST_F(FrameTest, ReplayedFrameIsRefused) {
  const std::string first = Seal("one");
  ASSERT_TRUE(opener_->Open(first).ok());
  absl::StatusOr<std::string> replayed = opener_->Open(first);
  EXPECT_TRUE(absl::IsUnauthenticated(replayed.status())) << replayed.status();
  EXPECT_NE(replayed.status().message().find("out of order"), absl::string_view::npos);
  EXPECT_TRUE(opener_->Open(Seal("two")).ok());
}

TEST_F(FrameTest, ReorderedOrDroppedFrameIsRefused) {
  const std::string first = Seal("one");
  const std::string second = Seal("two");
  EXPECT_TRUE(absl::IsUnauthenticated(opener_->Open(second).status()));
  ASSERT_TRUE(opener_->Open(first).ok());
  ASSERT_TRUE(opener_->Open(second).ok());
  Seal("three, dropped on the way");
  EXPECT_TRUE(absl::IsUnauthenticated(opener_->Open(Seal("four")).status()));
}

TEST_F(FrameTest, DirectionSwapIsRefused) {
  // A frame the listener sealed (same session key) is not the dialer's.
  Completed done = Handshake(key_, key_);
  ASSERT_TRUE(done.status.ok());
  FrameSealer listener_side(SessionKey(std::string(done.listener.bytes())), AuthRole::kListener);
  FrameOpener dialer_frames(std::move(done.listener), AuthRole::kDialer);
  absl::StatusOr<std::string> reflected = listener_side.Seal("RELINQUISH_REQUEST");
  ASSERT_TRUE(reflected.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(dialer_frames.Open(*reflected).status()));
}

TEST_F(FrameTest, FrameOfAnotherConnectionIsRefused) {
  Completed other = Handshake(key_, key_);
  ASSERT_TRUE(other.status.ok());
  FrameSealer other_sealer(std::move(other.dialer), AuthRole::kDialer);
  absl::StatusOr<std::string> frame = other_sealer.Seal("heartbeat");
  ASSERT_TRUE(frame.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(opener_->Open(*frame).status()));
  // A bare interconnect message is no frame.
  InterconnectMessage heartbeat;
  heartbeat.sender = "filer-a";
  EXPECT_TRUE(
      absl::IsInvalidArgument(opener_->Open(EncodeInterconnectMessage(heartbeat)).status()));
}

}  // namespace
}  // namespace cluster
}  // namespace vifiler
