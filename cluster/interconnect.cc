// Copyright 2026 The vifiler Authors.

#include "cluster/interconnect.h"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace vifiler {
namespace cluster {
namespace {

// Time since an arbitrary fixed point, immune to wall clock steps.
absl::Duration MonotonicNow() {
  return absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

// How long an idle Accept waits before the accept loop looks at its state again. Close()
// wakes it earlier.
constexpr absl::Duration kAcceptPoll = absl::Milliseconds(500);
// Pause after an unexpected Accept error, so a broken listener does not spin.
constexpr absl::Duration kAcceptErrorPause = absl::Milliseconds(50);
// A connection that stayed up this many heartbeat intervals was a working link; one that
// dropped sooner counts as a failed dial (backoff keeps growing, no log line per attempt).
constexpr int kSteadyIntervals = 2;

absl::Status Annotated(const absl::Status& status, absl::string_view step) {
  return absl::Status(status.code(), absl::StrCat(step, ": ", status.message()));
}

uint64_t RandomIncarnation() {
  absl::BitGen gen;
  uint64_t value = 0;
  while (value == 0) value = absl::Uniform<uint64_t>(gen);
  return value;
}

}  // namespace

Interconnect::Interconnect(transport::Fabric* fabric, transport::NameResolver* resolver,
                           InterconnectOptions options,
                           std::function<InterconnectMessage()> heartbeat, Handler on_message)
    : fabric_(fabric),
      resolver_(resolver),
      options_(std::move(options)),
      heartbeat_(std::move(heartbeat)),
      on_message_(std::move(on_message)),
      incarnation_(RandomIncarnation()) {}

Interconnect::~Interconnect() { Stop(); }

absl::Duration Interconnect::ConnectTimeout() const {
  return std::clamp(5 * options_.heartbeat_interval, absl::Milliseconds(200), absl::Seconds(2));
}

absl::Duration Interconnect::IdleTimeout() const {
  return std::max(50 * options_.heartbeat_interval, absl::Seconds(5));
}

transport::Endpoint Interconnect::local_endpoint() const {
  absl::MutexLock lock(&mu_);
  return local_endpoint_;
}

absl::Status Interconnect::Start() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("interconnect already started");
  }
  if (fabric_ == nullptr || resolver_ == nullptr || !heartbeat_ || !on_message_) {
    return absl::InvalidArgumentError("interconnect needs a fabric, a resolver and callbacks");
  }
  if (options_.name.empty() || options_.name.size() > kMaxInterconnectString ||
      options_.partner_name.empty() || options_.partner_name.size() > kMaxInterconnectString) {
    return absl::InvalidArgumentError(absl::StrCat("bad interconnect names \"", options_.name,
                                                   "\" / \"", options_.partner_name, "\""));
  }
  if (options_.heartbeat_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("heartbeat interval must be positive");
  }
  absl::StatusOr<std::unique_ptr<transport::Listener>> listener = fabric_->Listen(options_.local);
  if (!listener.ok()) {
    return absl::Status(listener.status().code(),
                        absl::StrCat("interconnect cannot listen on ", options_.local.ToString(),
                                     ": ", listener.status().message()));
  }
  listener_ = std::move(*listener);
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
    local_endpoint_ = listener_->endpoint();
  }
  LOG(INFO) << "interconnect " << options_.name << " listening on "
            << listener_->endpoint().ToString() << ", partner " << options_.partner_name << ":"
            << options_.partner_discriminator << ", heartbeat every "
            << options_.heartbeat_interval;
  accept_thread_ = std::thread(&Interconnect::AcceptLoop, this);
  dial_thread_ = std::thread(&Interconnect::DialLoop, this);
  heartbeat_thread_ = std::thread(&Interconnect::HeartbeatLoop, this);
  return absl::OkStatus();
}

void Interconnect::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  std::vector<std::shared_ptr<transport::Connection>> to_close;
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    if (outgoing_ != nullptr) to_close.push_back(outgoing_->connection);
    outgoing_.reset();
    for (const auto& inbound : inbound_) to_close.push_back(inbound->connection);
  }
  listener_->Close();
  for (const auto& connection : to_close) connection->Close();
  if (accept_thread_.joinable()) accept_thread_.join();
  if (dial_thread_.joinable()) dial_thread_.join();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  ReapInbound(/*all=*/true);
  LOG(INFO) << "interconnect " << options_.name << " stopped";
}

absl::Status Interconnect::Send(const InterconnectMessage& m, absl::Time deadline) {
  std::shared_ptr<Outgoing> link;
  {
    absl::MutexLock lock(&mu_);
    if (cut_) return absl::UnavailableError("interconnect is cut");
    if (outgoing_ == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("interconnect not connected to ", options_.partner_name));
    }
    link = outgoing_;
  }
  return SendOn(link, m, deadline);
}

absl::Duration Interconnect::SinceLastHeard() const {
  absl::MutexLock lock(&mu_);
  if (last_heard_ == -absl::InfiniteDuration()) return absl::InfiniteDuration();
  return MonotonicNow() - last_heard_;
}

bool Interconnect::connected() const {
  absl::MutexLock lock(&mu_);
  return outgoing_ != nullptr;
}

void Interconnect::SetCut(bool cut) {
  std::vector<std::shared_ptr<transport::Connection>> to_close;
  {
    absl::MutexLock lock(&mu_);
    if (cut_ == cut) return;
    cut_ = cut;
    if (cut) {
      if (outgoing_ != nullptr) to_close.push_back(outgoing_->connection);
      outgoing_.reset();
      drop_reason_ = absl::UnavailableError("interconnect cut");
      for (const auto& inbound : inbound_) to_close.push_back(inbound->connection);
    }
  }
  LOG(WARNING) << "interconnect " << options_.name << (cut ? " cut" : " restored")
               << " (test hook)";
  for (const auto& connection : to_close) connection->Close();
}

void Interconnect::ExpectPartnerLeaving() { partner_leaving_ = true; }

bool Interconnect::cut() const {
  absl::MutexLock lock(&mu_);
  return cut_;
}

void Interconnect::AcceptLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    ReapInbound(/*all=*/false);
    absl::StatusOr<std::unique_ptr<transport::Connection>> accepted =
        listener_->Accept(absl::Now() + kAcceptPoll);
    if (!accepted.ok()) {
      if (absl::IsDeadlineExceeded(accepted.status())) continue;
      if (absl::IsCancelled(accepted.status())) return;  // listener closed by Stop()
      LOG(WARNING) << "interconnect " << options_.name << " accept: " << accepted.status();
      Pause(kAcceptErrorPause);
      continue;
    }
    std::shared_ptr<transport::Connection> connection = std::move(*accepted);
    const transport::PeerIdentity& peer = connection->peer();
    if (peer.purpose != transport::kPurposeInterconnect) {
      LogRefused(peer.address, absl::StrCat("purpose ", peer.purpose, " is not interconnect"));
      connection->Close();
      continue;
    }
    AdmitInbound(std::move(connection));
  }
}

void Interconnect::AdmitInbound(std::shared_ptr<transport::Connection> connection) {
  std::shared_ptr<transport::Connection> evicted;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && !cut_) {
      size_t open = 0;
      for (const auto& inbound : inbound_) {
        if (!inbound->finished) ++open;
      }
      if (open >= kMaxInboundConnections) {
        // The oldest unproven connection; the oldest proven one only if all are proven.
        for (const auto& inbound : inbound_) {
          if (!inbound->finished && !inbound->proven) {
            evicted = inbound->connection;
            break;
          }
        }
        for (const auto& inbound : inbound_) {
          if (evicted == nullptr && !inbound->finished) evicted = inbound->connection;
        }
      }
      VLOG(1) << "interconnect " << options_.name << " accepted connection from "
              << connection->peer().address;
      auto inbound = std::make_unique<Inbound>();
      inbound->connection = std::move(connection);
      Inbound* raw = inbound.get();
      inbound_.push_back(std::move(inbound));
      raw->thread = std::thread(&Interconnect::ReadLoop, this, raw);
    }
  }
  if (connection != nullptr) connection->Close();  // not admitted: stopping or cut
  if (evicted != nullptr) {
    LogRefused(evicted->peer().address,
               absl::StrCat("closed to make room (", kMaxInboundConnections,
                            " incoming connections were open)"));
    evicted->Close();
  }
}

void Interconnect::ReapInbound(bool all) {
  std::vector<std::unique_ptr<Inbound>> done;
  {
    absl::MutexLock lock(&mu_);
    auto keep = std::stable_partition(
        inbound_.begin(), inbound_.end(),
        [all](const std::unique_ptr<Inbound>& inbound) { return !all && !inbound->finished; });
    for (auto it = keep; it != inbound_.end(); ++it) done.push_back(std::move(*it));
    inbound_.erase(keep, inbound_.end());
  }
  for (const auto& inbound : done) {
    inbound->connection->Close();
    if (inbound->thread.joinable()) inbound->thread.join();
  }
}

void Interconnect::LogRefused(const std::string& peer, absl::string_view why, bool warning) {
  int64_t unlogged = 0;
  {
    absl::MutexLock lock(&mu_);
    const absl::Duration now = MonotonicNow();
    if (now - last_refusal_log_ < kRefusalLogInterval) {
      ++unlogged_refusals_;
      return;
    }
    last_refusal_log_ = now;
    unlogged = unlogged_refusals_;
    unlogged_refusals_ = 0;
  }
  const std::string line = absl::StrCat(
      "interconnect ", options_.name, " refuses a connection from ", peer, ": ", why,
      unlogged > 0 ? absl::StrCat(" (and refused ", unlogged, " more since the last such report)")
                   : "");
  if (warning) {
    LOG(WARNING) << line;
  } else {
    LOG(INFO) << line;
  }
}

absl::StatusOr<std::unique_ptr<FrameOpener>> Interconnect::AuthenticateInbound(
    transport::Connection* connection) {
  const absl::Time deadline = absl::Now() + ConnectTimeout();
  ListenerHandshake handshake(options_.key.get(), options_.name, options_.partner_name);
  absl::StatusOr<std::string> hello = connection->Receive(deadline);
  if (!hello.ok()) return Annotated(hello.status(), "no HELLO");
  absl::StatusOr<std::string> challenge = handshake.OnHello(*hello);
  if (!challenge.ok()) return challenge.status();
  if (absl::Status s = connection->Send(*challenge, deadline); !s.ok()) {
    return Annotated(s, "sending CHALLENGE");
  }
  absl::StatusOr<std::string> proof = connection->Receive(deadline);
  if (!proof.ok()) return Annotated(proof.status(), "no PROOF");
  absl::StatusOr<std::string> accepted = handshake.OnProof(*proof);
  if (!accepted.ok()) return accepted.status();
  if (absl::Status s = connection->Send(*accepted, deadline); !s.ok()) {
    return Annotated(s, "sending ACCEPTED");
  }
  return std::make_unique<FrameOpener>(handshake.TakeSessionKey(), AuthRole::kDialer);
}

absl::StatusOr<std::unique_ptr<FrameSealer>> Interconnect::AuthenticateOutgoing(
    transport::Connection* connection) {
  const absl::Time deadline = absl::Now() + ConnectTimeout();
  DialerHandshake handshake(options_.key.get(), options_.name, options_.partner_name);
  absl::StatusOr<std::string> hello = handshake.Hello();
  if (!hello.ok()) return hello.status();
  if (absl::Status s = connection->Send(*hello, deadline); !s.ok()) {
    return Annotated(s, "sending HELLO");
  }
  absl::StatusOr<std::string> challenge = connection->Receive(deadline);
  if (!challenge.ok()) {
    return Annotated(challenge.status(),
                     "no CHALLENGE (does the partner run without a pair key, or is it cut?)");
  }
  absl::StatusOr<std::string> proof = handshake.OnChallenge(*challenge);
  if (!proof.ok()) return proof.status();
  if (absl::Status s = connection->Send(*proof, deadline); !s.ok()) {
    return Annotated(s, "sending PROOF");
  }
  absl::StatusOr<std::string> accepted = connection->Receive(deadline);
  if (!accepted.ok()) return Annotated(accepted.status(), "no ACCEPTED");
  if (absl::Status s = handshake.OnAccepted(*accepted); !s.ok()) return s;
  return std::make_unique<FrameSealer>(handshake.TakeSessionKey(), AuthRole::kDialer);
}

std::vector<std::shared_ptr<transport::Connection>> Interconnect::Prove(Inbound* inbound) {
  std::vector<std::shared_ptr<transport::Connection>> older;
  absl::MutexLock lock(&mu_);
  if (stopping_ || cut_) return older;
  inbound->proven = true;
  // inbound_ is in the order of admission.
  for (const auto& other : inbound_) {
    if (other.get() == inbound) break;
    if (!other->finished) older.push_back(other->connection);
  }
  return older;
}

void Interconnect::ReadLoop(Inbound* inbound) {
  const std::shared_ptr<transport::Connection> connection = inbound->connection;
  const std::string peer = connection->peer().address;
  std::unique_ptr<FrameOpener> opener;  // with a key: set once the handshake succeeded
  bool proven = false;
  bool heard = false;
  // Before a connection proved itself anyone may be behind it: rate-limited. After, only the
  // partner (or a bug): every time.
  auto refuse = [&](absl::string_view why) {
    if (proven) {
      LOG(WARNING) << "interconnect " << options_.name << " closes connection from " << peer << ": "
                   << why;
    } else {
      LogRefused(peer, why);
    }
  };
  if (options_.key != nullptr) {
    absl::StatusOr<std::unique_ptr<FrameOpener>> authenticated =
        AuthenticateInbound(connection.get());
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      stopping = stopping_ || cut_;
    }
    if (!authenticated.ok()) {
      const absl::Status& why = authenticated.status();
      if (stopping) {
      } else if (absl::IsDeadlineExceeded(why) || absl::IsUnavailable(why)) {
        // Silent or gone before it said anything that could be checked: a partner's dial that
        // gave up (its connect timed out, or it dialled twice at start), or a port scan. Not
        // a failed proof: rate-limited, at INFO.
        LogRefused(peer, absl::StrCat("no handshake: ", why.message()), /*warning=*/false);
      } else {
        refuse(absl::StrCat("authentication failed: ", why.message()));
      }
    } else {
      opener = std::move(*authenticated);
      VLOG(1) << "interconnect " << options_.name << " authenticated " << options_.partner_name
              << " at " << peer;
      for (const auto& other : Prove(inbound)) other->Close();
      proven = true;
    }
  }
  while (options_.key == nullptr || opener != nullptr) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || cut_) break;
    }
    absl::StatusOr<std::string> data = connection->Receive(absl::Now() + IdleTimeout());
    if (!data.ok()) {
      if (absl::IsDeadlineExceeded(data.status())) {
        refuse(absl::StrCat("silent for ", absl::FormatDuration(IdleTimeout())));
      } else {
        VLOG(1) << "interconnect " << options_.name << " connection from " << peer
                << " ended: " << data.status();
      }
      break;
    }
    if (opener != nullptr) {
      absl::StatusOr<std::string> opened = opener->Open(*data);
      if (!opened.ok()) {
        refuse(absl::StrCat("frame refused: ", opened.status().message()));
        break;
      }
      *data = std::move(*opened);
    }
    absl::StatusOr<InterconnectMessage> m = DecodeInterconnectMessage(*data);
    if (!m.ok()) {
      refuse(absl::StrCat("malformed message: ", m.status().message()));
      break;
    }
    if (m->sender != options_.partner_name) {
      refuse(absl::StrCat("sender \"", m->sender, "\" is not the partner \"", options_.partner_name,
                          "\""));
      break;
    }
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || cut_) break;
      last_heard_ = MonotonicNow();
    }
    if (!proven) {
      // Without a key the first valid message proves the connection.
      for (const auto& other : Prove(inbound)) other->Close();
      proven = true;
    }
    if (!heard) {
      heard = true;
      LOG(INFO) << "interconnect " << options_.name << " hears " << options_.partner_name
                << " (incarnation " << m->incarnation << ") from " << peer
                << (opener != nullptr ? ", authenticated" : ", unauthenticated");
    }
    on_message_(*m);
  }
  connection->Close();
  absl::MutexLock lock(&mu_);
  inbound->finished = true;
}

void Interconnect::Pause(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const bool cut_before = cut_;
  auto changed = [this, cut_before]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || cut_ != cut_before; };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
}

void Interconnect::DialLoop() {
  // Redial at least every two heartbeat intervals: a partner that restarts must hear from us
  // before it would take our silence for death.
  const absl::Duration max_backoff = std::min(kMaxDialBackoff, 2 * options_.heartbeat_interval);
  absl::Duration backoff = kMinDialBackoff;
  bool failing = false;         // the last attempt failed (log only the first failure of a streak)
  bool ever_connected = false;  // before that, an unreachable partner is not news
  bool refused_before = false;  // the last attempt failed authentication
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      if (cut_) {
        auto restored = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !cut_; };
        mu_.AwaitWithTimeout(absl::Condition(&restored), max_backoff);
        continue;
      }
    }
    absl::Status status;
    absl::StatusOr<std::string> address = resolver_->Resolve(options_.partner_name);
    if (address.ok()) {
      transport::PeerIdentity identity;
      identity.identity = options_.name.substr(0, transport::kMaxIdentityLength);
      identity.purpose = transport::kPurposeInterconnect;
      const transport::Endpoint endpoint{*address, options_.partner_discriminator};
      absl::StatusOr<std::unique_ptr<transport::Connection>> connected =
          fabric_->Connect(endpoint, identity, absl::Now() + ConnectTimeout());
      std::shared_ptr<Outgoing> link;
      if (connected.ok()) {
        link = std::make_shared<Outgoing>();
        link->connection = std::move(*connected);
        if (options_.key != nullptr) {
          absl::StatusOr<std::unique_ptr<FrameSealer>> sealer =
              AuthenticateOutgoing(link->connection.get());
          if (sealer.ok()) {
            link->sealer = std::move(*sealer);
          } else {
            link->connection->Close();
            link.reset();
            connected =
                absl::Status(sealer.status().code(),
                             absl::StrCat("authentication failed: ", sealer.status().message()));
          }
        }
      }
      if (link != nullptr) {
        bool admitted = false;
        {
          absl::MutexLock lock(&mu_);
          if (!stopping_ && !cut_) {
            outgoing_ = link;
            send_now_ = true;
            admitted = true;
          }
        }
        if (!admitted) {
          link->connection->Close();
          continue;
        }
        ++connections_made_;
        ever_connected = true;
        refused_before = false;
        partner_leaving_ = false;
        // After failures, announce the connection only once it proves steady.
        if (!failing) {
          LOG(INFO) << "interconnect " << options_.name << " connected to " << options_.partner_name
                    << " at " << endpoint.ToString();
        }
        const absl::Time up_since = absl::Now();
        const absl::Status why = WaitWhileConnected(link, /*announce=*/failing);
        if (why.ok()) continue;  // stopping
        const absl::Duration up = absl::Now() - up_since;
        if (up >= kSteadyIntervals * options_.heartbeat_interval) {
          LOG_IF(WARNING, !partner_leaving_)
              << "interconnect " << options_.name << " lost its connection to "
              << options_.partner_name << " after " << up << ": " << why;
          LOG_IF(INFO, partner_leaving_)
              << "interconnect " << options_.name << " lost its connection to "
              << options_.partner_name << " after " << up << " (the partner is stopping): " << why;
          failing = false;
          backoff = kMinDialBackoff;
          Pause(backoff);
          continue;
        }
        // Dropped right after connecting (the partner refuses us, e.g. it is cut): back off
        // as for a failed dial.
        connected = absl::Status(why.code(),
                                 absl::StrCat("dropped right after connecting: ", why.message()));
      }
      status = connected.status();
    } else {
      status = address.status();
    }
    // A partner that fails authentication needs an operator (a different key?) at any time:
    // the first such failure is logged even within a streak of failures.
    const bool refused = absl::IsUnauthenticated(status);
    if (!failing || (refused && !refused_before)) {
      const bool news = (ever_connected && !partner_leaving_) || refused;
      LOG_IF(WARNING, news) << "interconnect " << options_.name << " cannot reach "
                            << options_.partner_name << " (retrying up to every " << max_backoff
                            << "): " << status;
      LOG_IF(INFO, !news) << "interconnect " << options_.name << " cannot reach "
                          << options_.partner_name << (ever_connected ? "" : " yet")
                          << " (retrying up to every " << max_backoff << "): " << status;
    } else {
      VLOG(1) << "interconnect " << options_.name << " dial: " << status;
    }
    failing = true;
    refused_before = refused;
    Pause(backoff);
    backoff = std::min(2 * backoff, max_backoff);
  }
}

absl::Status Interconnect::WaitWhileConnected(const std::shared_ptr<Outgoing>& link,
                                              bool announce) {
  auto dropped = [this, &link]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || outgoing_ != link; };
  const absl::Time steady_at = absl::Now() + kSteadyIntervals * options_.heartbeat_interval;
  absl::Status why;
  while (true) {
    if (announce && absl::Now() >= steady_at) {
      LOG(INFO) << "interconnect " << options_.name << " connected to " << options_.partner_name
                << " at " << link->connection->peer().address;
      announce = false;
    }
    {
      absl::MutexLock lock(&mu_);
      // Polls IsOpen() each interval: the transport may notice a drop before a send does.
      if (mu_.AwaitWithTimeout(absl::Condition(&dropped), options_.heartbeat_interval)) {
        if (!stopping_) why = drop_reason_;
        break;
      }
    }
    if (!link->connection->IsOpen()) {
      why = absl::UnavailableError("connection closed");
      DropOutgoing(link, why);
      break;
    }
  }
  link->connection->Close();
  return why;
}

void Interconnect::HeartbeatLoop() {
  absl::Time next = absl::Now();
  auto due = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || send_now_; };
  while (true) {
    std::shared_ptr<Outgoing> link;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithDeadline(absl::Condition(&due), next);
      if (stopping_) return;
      send_now_ = false;
      if (!cut_) link = outgoing_;
    }
    next = absl::Now() + options_.heartbeat_interval;
    if (link == nullptr) continue;
    SendOn(link, heartbeat_(), next).IgnoreError();
  }
}

absl::Status Interconnect::SendOn(const std::shared_ptr<Outgoing>& link, InterconnectMessage m,
                                  absl::Time deadline) {
  m.sender = options_.name;
  if (m.incarnation == 0) m.incarnation = incarnation_;
  std::string wire;
  absl::Status status;
  {
    // Take the turn: frames (and sequence numbers) leave in the order they are made.
    absl::MutexLock lock(&mu_);
    auto turn = [this, &link]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || outgoing_ != link || !link->sending;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&turn), deadline)) {
      status = absl::DeadlineExceededError("an earlier send on the interconnect is still going");
    } else if (stopping_ || outgoing_ != link) {
      return absl::UnavailableError(
          absl::StrCat("interconnect connection to ", options_.partner_name, " dropped"));
    } else {
      m.sequence = next_sequence_.fetch_add(1);
      wire = EncodeInterconnectMessage(m);
      if (link->sealer != nullptr) {
        absl::StatusOr<std::string> sealed = link->sealer->Seal(wire);
        if (sealed.ok()) {
          wire = std::move(*sealed);
        } else {
          status = sealed.status();
        }
      }
      link->sending = status.ok();
    }
  }
  if (status.ok()) {
    status = link->connection->Send(wire, deadline);
    absl::MutexLock lock(&mu_);
    link->sending = false;
  }
  if (!status.ok()) DropOutgoing(link, status);
  return status;
}

void Interconnect::DropOutgoing(const std::shared_ptr<Outgoing>& link, const absl::Status& why) {
  {
    absl::MutexLock lock(&mu_);
    if (outgoing_ == link) {
      outgoing_.reset();
      drop_reason_ = why.ok() ? absl::UnavailableError("dropped") : why;
    }
  }
  VLOG(1) << "interconnect " << options_.name << " drops its connection to "
          << options_.partner_name << ": " << why;
  link->connection->Close();
}

}  // namespace cluster
}  // namespace vifiler
