// Copyright 2026 The vifiler Authors.

#include "clientlib/failover_session.h"

#include <unistd.h>

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "protocol/codec.h"

namespace vifiler {
namespace client {

using protocol::ErrorCode;
using protocol::MessageHeader;
using protocol::Opcode;

namespace {

constexpr absl::Duration kFirstBackoff = absl::Milliseconds(5);
constexpr absl::Duration kMaxBackoff = absl::Milliseconds(100);
constexpr absl::Duration kBusyRetry = absl::Milliseconds(5);

std::string RandomClientId() {
  char host[64] = {};
  gethostname(host, sizeof host - 1);
  absl::BitGen gen;
  return absl::StrFormat("%.12s-%d-%016x", host, getpid(), absl::Uniform<uint64_t>(gen));
}

std::string EncodeRequest(const MessageHeader& header, absl::string_view body) {
  MessageHeader h = header;
  h.payload_length = static_cast<uint32_t>(body.size());
  std::string out;
  out.reserve(protocol::kHeaderSize + body.size());
  protocol::Encoder e(&out);
  protocol::EncodeHeader(h, &e);
  out.append(body.data(), body.size());
  return out;
}

}  // namespace

absl::Status FilerError(ErrorCode code, Opcode op);

struct FailoverSession::Link {
  std::unique_ptr<transport::Connection> connection;
  uint64_t session_id = 0;
  uint32_t inline_threshold = 0;
  protocol::FileHandle root;
  std::string serving_filer;
  std::string endpoint;
  bool partner = false;
  std::atomic<bool> failed{false};
  // The rest is guarded by the session's mu_.
  // A caller is inside connection->Receive() on behalf of every waiting caller.
  bool receiving = false;
  // Requests sent on this link and not yet answered (or given up).
  int outstanding = 0;
  // When a message last arrived, or the link last became busy (outstanding 0 -> 1): the start
  // of the silence keepalive measures.
  absl::Time heard_at = absl::InfinitePast();
  absl::Time probed_at = absl::InfinitePast();
  uint64_t probe_sequence = 0;

  ~Link() { connection->Close(); }
};

absl::StatusOr<std::unique_ptr<FailoverSession>> FailoverSession::Open(
    const std::string& filer_name, ClientOptions options) {
  if (options.client_id.empty()) options.client_id = RandomClientId();
  if (options.client_id.size() > transport::kMaxIdentityLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("client id longer than ", transport::kMaxIdentityLength, " bytes"));
  }
  if (options.slots == 0 || options.slots > protocol::kMaxSlots) {
    return absl::InvalidArgumentError(absl::StrCat("slots must be 1..", protocol::kMaxSlots));
  }
  if (options.keepalive_interval < absl::ZeroDuration() ||
      (options.keepalive_interval > absl::ZeroDuration() &&
       options.keepalive_timeout < options.keepalive_interval)) {
    return absl::InvalidArgumentError(
        "keepalive_interval must be zero (off) or positive and at most keepalive_timeout");
  }
  absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric =
      transport::CreateFabric(options.fabric);
  if (!fabric.ok()) return fabric.status();
  std::unique_ptr<FailoverSession> session(
      new FailoverSession(std::move(options), filer_name, std::move(*fabric)));
  absl::StatusOr<std::shared_ptr<Link>> link =
      session->CurrentLink(absl::Now() + session->options_.failover_deadline);
  if (!link.ok()) return link.status();
  return session;
}

FailoverSession::FailoverSession(ClientOptions options, std::string filer_name,
                                 std::unique_ptr<transport::Fabric> fabric)
    : options_(std::move(options)),
      filer_name_(std::move(filer_name)),
      fabric_(std::move(fabric)),
      resolver_(options_.hosts_file) {
  // Sequences start from the clock, not from zero: a client that reuses its identity after a
  // restart must never present a (slot, sequence) the filer has cached from the last run.
  const uint64_t first_sequence = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())) << 10;
  slots_.resize(options_.slots);
  for (Slot& slot : slots_) slot.sequence = first_sequence;
  stats_.filer_name = filer_name_;
  attempts_.resize(Targets().size());
}

FailoverSession::~FailoverSession() {
  // Attempts still connecting end by their connect deadline; their sessions are closed.
  std::vector<std::unique_ptr<Attempt>> attempts;
  {
    absl::MutexLock lock(&attempts_mu_);
    attempts.swap(attempts_);
  }
  for (std::unique_ptr<Attempt>& attempt : attempts) {
    if (attempt != nullptr) attempt->thread.join();
  }
  attempts.clear();
  std::shared_ptr<Link> link;
  {
    absl::MutexLock lock(&mu_);
    link = std::move(link_);
  }
  if (link != nullptr) {
    // Best effort: let the filer drop the session now rather than at its next restart.
    MessageHeader header;
    header.opcode = Opcode::kSessionDestroy;
    header.session_id = link->session_id;
    link->connection->Send(EncodeRequest(header, ""), absl::Now() + absl::Milliseconds(100))
        .IgnoreError();
  }
}

uint32_t FailoverSession::inline_threshold() const {
  absl::MutexLock lock(&mu_);
  return inline_threshold_;
}

protocol::FileHandle FailoverSession::root() const {
  absl::MutexLock lock(&mu_);
  return root_;
}

ClientStats FailoverSession::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void FailoverSession::Event(const std::string& text) {
  LOG(INFO) << text;
  if (options_.on_event) options_.on_event(text);
}

void FailoverSession::Fail(Link* link, const std::string& reason) {
  if (!link->failed.exchange(true)) {
    VLOG(1) << "connection to " << link->endpoint << " lost: " << reason;
  }
  link->connection->Close();
  absl::MutexLock lock(&mu_);  // wake callers waiting for replies on this link
}

absl::StatusOr<std::shared_ptr<FailoverSession::Link>> FailoverSession::CurrentLink(
    absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (link_ != nullptr && !link_->failed) return link_;
    if (!reconnecting_) break;
    auto settled = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !reconnecting_; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&settled), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("timed out waiting to reconnect to ", filer_name_));
    }
  }
  return Reconnect(deadline);
}

std::vector<FailoverSession::Target> FailoverSession::Targets() const {
  std::vector<Target> targets = {{filer_name_, options_.primary_discriminator, false}};
  if (options_.failover) {
    targets.push_back(
        {filer_name_ + options_.failover_suffix, options_.secondary_discriminator, true});
  }
  return targets;
}

void FailoverSession::RunAttempt(Attempt* attempt, absl::Time deadline) {
  std::string error;
  absl::StatusOr<std::shared_ptr<Link>> result = ConnectTo(attempt->target, deadline, &error);
  std::shared_ptr<Link> unwanted;  // closed once the lock is released
  absl::MutexLock lock(&attempts_mu_);
  if (attempt->orphaned && result.ok()) {
    // Nobody waits for this session any more: close it now, not at the next reconnect.
    unwanted = std::move(*result);
    result = absl::CancelledError("session made after the reconnect ended");
  }
  attempt->result = std::move(result);
  attempt->error = std::move(error);
  attempt->done = true;
}

absl::StatusOr<std::shared_ptr<FailoverSession::Link>> FailoverSession::Reconnect(
    absl::Time deadline) {
  reconnecting_ = true;
  std::shared_ptr<Link> old = std::move(link_);
  const bool was_partner = old != nullptr && old->partner;
  const absl::Time started = absl::Now();
  mu_.Unlock();
  old.reset();

  const std::vector<Target> targets = Targets();
  const size_t n = targets.size();
  std::vector<std::string> errors(n);
  std::vector<absl::Duration> backoff(n, kFirstBackoff);
  std::vector<absl::Time> next_start(n, started);
  // Sessions made and not yet chosen, by target.
  std::vector<std::shared_ptr<Link>> made(n);
  absl::Time grace_until = absl::InfiniteFuture();
  absl::StatusOr<std::shared_ptr<Link>> result;
  {
    absl::MutexLock lock(&attempts_mu_);
    // Attempts orphaned by an earlier reconnect: those that ended are joined, those still
    // running are adopted (this reconnect waits for them rather than start another).
    for (std::unique_ptr<Attempt>& attempt : attempts_) {
      if (attempt == nullptr) continue;
      if (attempt->done) {
        attempt->thread.join();
        attempt.reset();
      } else {
        attempt->orphaned = false;
      }
    }
    while (true) {
      const absl::Time now = absl::Now();
      // The first session made wins; a partner's waits briefly for a pending primary attempt.
      if (made[0] != nullptr) {
        result = std::move(made[0]);
        break;
      }
      int partner_ready = -1;
      for (size_t i = 1; i < n; ++i) {
        if (made[i] != nullptr) partner_ready = static_cast<int>(i);
      }
      if (partner_ready >= 0) {
        if (grace_until == absl::InfiniteFuture()) grace_until = now + kPrimaryGrace;
        if (attempts_[0] == nullptr || now >= grace_until) {
          result = std::move(made[partner_ready]);
          break;
        }
      }
      if (now >= deadline) {
        for (size_t i = 0; i < n; ++i) {
          if (errors[i].empty()) {
            absl::StatusOr<std::string> address = resolver_.Resolve(targets[i].name);
            errors[i] = absl::StrCat(
                targets[i].name, " (",
                address.ok() ? transport::Endpoint{*address, targets[i].discriminator}.ToString()
                             : std::string(address.status().message()),
                "): no answer");
          }
        }
        result = absl::UnavailableError(absl::StrCat(
            "cannot reach filer ", filer_name_, " (gave up after ",
            absl::FormatDuration(now - started), "); tried ", absl::StrJoin(errors, "; ")));
        break;
      }
      // Start every attempt that is due; none while a session waits for the grace period.
      absl::Time wake = std::min(deadline, grace_until);
      for (size_t i = 0; i < n && partner_ready < 0; ++i) {
        if (attempts_[i] != nullptr) continue;
        if (now < next_start[i]) {
          wake = std::min(wake, next_start[i]);
          continue;
        }
        auto attempt = std::make_unique<Attempt>();
        attempt->target = targets[i];
        Attempt* raw = attempt.get();
        const absl::Time attempt_deadline = std::min(deadline, now + options_.connect_timeout);
        attempt->thread =
            std::thread([this, raw, attempt_deadline] { RunAttempt(raw, attempt_deadline); });
        attempts_[i] = std::move(attempt);
      }
      auto any_done = [this]() ABSL_SHARED_LOCKS_REQUIRED(attempts_mu_) {
        for (const std::unique_ptr<Attempt>& a : attempts_) {
          if (a != nullptr && a->done) return true;
        }
        return false;
      };
      attempts_mu_.AwaitWithDeadline(absl::Condition(&any_done), wake);
      for (size_t i = 0; i < n; ++i) {
        std::unique_ptr<Attempt>& attempt = attempts_[i];
        if (attempt == nullptr || !attempt->done) continue;
        attempt->thread.join();  // it has finished: done is its last write
        if (attempt->result.ok()) {
          made[i] = std::move(*attempt->result);
        } else {
          errors[i] = std::move(attempt->error);
          next_start[i] = absl::Now() + backoff[i];
          backoff[i] = std::min(backoff[i] * 2, kMaxBackoff);
        }
        attempt.reset();
      }
    }
    for (std::unique_ptr<Attempt>& attempt : attempts_) {
      if (attempt != nullptr) attempt->orphaned = true;
    }
  }
  made.clear();  // losing sessions, if any, are closed here

  mu_.Lock();
  reconnecting_ = false;
  if (!result.ok()) return result.status();
  link_ = *result;
  const absl::Duration took = absl::Now() - started;
  if (!ever_connected_) {
    root_ = link_->root;
  } else if (link_->root != root_) {
    ++stats_.root_mismatches;
    LOG(ERROR) << "vifiler: " << link_->serving_filer << " (" << link_->endpoint
               << ") reports volume root " << link_->root.ToString() << ", not " << root_.ToString()
               << " as at the first session; keeping the first";
  }
  inline_threshold_ = link_->inline_threshold;
  stats_.serving_filer = link_->serving_filer;
  stats_.endpoint = link_->endpoint;
  stats_.on_partner = link_->partner;
  if (ever_connected_) {
    ++stats_.reconnects;
    stats_.failover_time += took;
    stats_.last_failover_time = took;
  }
  std::string what;
  if (link_->partner && !was_partner) {
    ++stats_.failovers;
    what = ever_connected_ ? "failed over" : absl::StrCat(filer_name_, " unavailable; failed over");
  } else if (!link_->partner && was_partner) {
    ++stats_.failbacks;
    what = "failed back";
  } else if (ever_connected_) {
    what = "reconnected";
  }
  if (!what.empty()) {
    Event(absl::StrFormat("vifiler: %s to %s (%s) after %s", what, link_->serving_filer,
                          link_->endpoint, absl::FormatDuration(took)));
  }
  ever_connected_ = true;
  return link_;
}

absl::StatusOr<std::shared_ptr<FailoverSession::Link>> FailoverSession::ConnectTo(
    const Target& target, absl::Time deadline, std::string* error) {
  absl::StatusOr<std::string> address = resolver_.Resolve(target.name);
  if (!address.ok()) {
    *error = absl::StrCat(target.name, ": ", address.status().message());
    return address.status();
  }
  transport::Endpoint endpoint{*address, target.discriminator};
  const std::string where = absl::StrCat(target.name, " (", endpoint.ToString(), ")");
  transport::PeerIdentity identity;
  identity.identity = options_.client_id;
  identity.purpose = transport::kPurposeDataAccess;
  absl::StatusOr<std::unique_ptr<transport::Connection>> connection =
      fabric_->Connect(endpoint, identity, deadline);
  if (!connection.ok()) {
    *error = absl::StrCat(where, ": ", connection.status().message());
    return connection.status();
  }
  auto link = std::make_shared<Link>();
  link->connection = std::move(*connection);
  link->endpoint = endpoint.ToString();
  link->partner = target.partner;

  protocol::SessionCreateRequest request;
  request.client_id = options_.client_id;
  request.slots = options_.slots;
  MessageHeader header;
  header.opcode = Opcode::kSessionCreate;
  std::string body;
  protocol::Encoder e(&body);
  protocol::EncodeBody(request, &e);
  absl::Status s = link->connection->Send(EncodeRequest(header, body), deadline);
  absl::StatusOr<std::string> reply =
      s.ok() ? link->connection->Receive(deadline) : absl::StatusOr<std::string>(s);
  absl::StatusOr<MessageHeader> reply_header =
      reply.ok() ? protocol::DecodeHeader(*reply) : absl::StatusOr<MessageHeader>(reply.status());
  if (!reply_header.ok()) {
    *error = absl::StrCat(where, ": session: ", reply_header.status().message());
    return reply_header.status();
  }
  if (reply_header->status != ErrorCode::kOk) {
    *error =
        absl::StrCat(where, ": session refused: ", protocol::ErrorCodeName(reply_header->status));
    return absl::UnavailableError(*error);
  }
  protocol::SessionCreateReply created;
  s = protocol::DecodeMessageBody(*reply, &created);
  if (!s.ok() || created.slots < options_.slots) {
    *error = absl::StrCat(where, ": bad session reply");
    return absl::InternalError(*error);
  }
  link->session_id = created.session_id;
  link->inline_threshold = created.inline_threshold;
  link->root = created.root;
  link->serving_filer = created.filer_name;
  return link;
}

void FailoverSession::Deliver(Link* link, std::string message, std::vector<std::string>* events) {
  absl::StatusOr<MessageHeader> header = protocol::DecodeHeader(message);
  if (!header.ok()) {
    link->failed = true;
    link->connection->Close();
    return;
  }
  if (header->opcode == Opcode::kNotice) {
    protocol::NoticeMessage notice;
    if (protocol::DecodeMessageBody(message, &notice).ok()) {
      events->push_back(absl::StrCat("vifiler: ", link->serving_filer,
                                     notice.kind == protocol::NoticeKind::kGivingBack
                                         ? " is giving the volume back"
                                         : " is shutting down",
                                     notice.detail.empty() ? "" : ": ", notice.detail));
    }
    return;
  }
  if (!(header->flags & protocol::kFlagReply)) return;
  if (header->slot == kProbeSlot) {
    if (header->opcode == Opcode::kNull) ++stats_.probe_replies;
    return;
  }
  if (header->slot >= slots_.size()) return;
  Slot& slot = slots_[header->slot];
  if (slot.busy && slot.sequence == header->sequence && !slot.has_reply) {
    slot.has_reply = true;
    slot.reply = std::move(message);
  }
}

bool FailoverSession::SendProbe(Link* link, uint64_t sequence) {
  MessageHeader header;
  header.opcode = Opcode::kNull;
  header.session_id = link->session_id;
  header.slot = kProbeSlot;
  header.sequence = sequence;
  // Never block the receiving caller for long: a filer that cannot take the probe now (no send
  // credit, full socket) is probed again at the next interval.
  absl::Status sent =
      link->connection->Send(EncodeRequest(header, ""), absl::Now() + options_.keepalive_interval);
  if (!sent.ok()) VLOG(1) << "keepalive probe to " << link->endpoint << ": " << sent;
  return sent.ok();
}

std::string FailoverSession::AwaitReply(Link* link, uint32_t index, absl::Time deadline) {
  std::vector<std::string> events;
  std::string reply;
  const bool keepalive = options_.keepalive_interval > absl::ZeroDuration();
  mu_.Lock();
  Slot& slot = slots_[index];
  while (!slot.has_reply && !link->failed && absl::Now() < deadline) {
    if (link->receiving) {
      // Another caller receives for everyone; wait for it to hand over a reply or the turn.
      auto changed = [&slot, link]() {
        return slot.has_reply || !link->receiving || link->failed.load();
      };
      mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
      continue;
    }
    // This caller receives for everyone. With keepalive it wakes when a probe is due and when
    // the silence reaches keepalive_timeout.
    absl::Time wake = deadline;
    uint64_t probe = 0;
    if (keepalive) {
      const absl::Time now = absl::Now();
      const absl::Duration silence = now - link->heard_at;
      if (silence >= options_.keepalive_timeout) {
        ++stats_.keepalive_failures;
        LOG(WARNING) << "vifiler: nothing from " << link->serving_filer << " (" << link->endpoint
                     << ") for " << absl::FormatDuration(silence) << " with " << link->outstanding
                     << " requests outstanding; presuming it lost";
        link->failed = true;
        break;
      }
      if (now >= std::max(link->heard_at, link->probed_at) + options_.keepalive_interval) {
        link->probed_at = now;
        probe = ++link->probe_sequence;
      }
      wake = std::min({deadline, link->heard_at + options_.keepalive_timeout,
                       std::max(link->heard_at, link->probed_at) + options_.keepalive_interval});
    }
    link->receiving = true;
    mu_.Unlock();
    const bool probed = probe != 0 && SendProbe(link, probe);
    absl::StatusOr<std::string> message = link->connection->Receive(wake);
    mu_.Lock();
    link->receiving = false;
    if (probed) ++stats_.probes;
    if (message.ok()) {
      link->heard_at = absl::Now();
      Deliver(link, std::move(*message), &events);
    } else if (message.status().code() != absl::StatusCode::kDeadlineExceeded) {
      link->failed = true;
      VLOG(1) << "connection to " << link->endpoint << " lost: " << message.status();
    }
  }
  if (slot.has_reply) {
    reply = std::move(slot.reply);
    slot.has_reply = false;
  }
  mu_.Unlock();
  for (const std::string& e : events) Event(e);
  return reply;
}

absl::StatusOr<std::string> FailoverSession::Call(Opcode op, const BodyBuilder& build, char* direct,
                                                  size_t direct_length) {
  uint32_t index = 0;
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&mu_);
    auto free_slot = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      for (const Slot& s : slots_) {
        if (!s.busy) return true;
      }
      return false;
    };
    if (!mu_.AwaitWithDeadline(
            absl::Condition(&free_slot),
            absl::Now() + options_.failover_deadline + options_.request_timeout)) {
      return absl::DeadlineExceededError("no free session slot");
    }
    while (slots_[index].busy) ++index;
    Slot& slot = slots_[index];
    slot.busy = true;
    slot.has_reply = false;
    sequence = ++slot.sequence;
  }

  absl::Time trouble_since = absl::InfiniteFuture();
  bool replay = false;
  absl::StatusOr<std::string> result;
  while (true) {
    if (trouble_since == absl::InfiniteFuture() && replay) trouble_since = absl::Now();
    const absl::Time reconnect_deadline =
        (trouble_since == absl::InfiniteFuture() ? absl::Now() : trouble_since) +
        options_.failover_deadline;
    absl::StatusOr<std::shared_ptr<Link>> current = CurrentLink(reconnect_deadline);
    if (!current.ok()) {
      result = current.status();
      break;
    }
    std::shared_ptr<Link> link = std::move(*current);
    std::unique_ptr<transport::MemoryRegion> region;
    protocol::RemoteBuffer buffer;
    if (direct != nullptr) {
      absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> registered =
          link->connection->RegisterMemory(direct, direct_length, /*allow_remote=*/true);
      if (!registered.ok()) {
        if (absl::Now() >= reconnect_deadline) {
          result = registered.status();
          break;
        }
        Fail(link.get(), std::string(registered.status().message()));
        replay = true;
        continue;
      }
      region = std::move(*registered);
      transport::RemoteBuffer d = region->Describe();
      buffer = protocol::RemoteBuffer{d.address, d.key, d.length};
    }
    MessageHeader header;
    header.opcode = op;
    header.flags = replay ? protocol::kFlagReplay : 0;
    header.session_id = link->session_id;
    header.slot = index;
    header.sequence = sequence;
    {
      absl::MutexLock lock(&mu_);
      if (replay) ++stats_.replays;
      // Keepalive measures silence from the moment the link has something to wait for.
      if (link->outstanding++ == 0) link->heard_at = absl::Now();
    }
    absl::Status sent =
        link->connection->Send(EncodeRequest(header, build(direct != nullptr ? &buffer : nullptr)),
                               absl::Now() + options_.request_timeout);
    std::string reply;
    if (sent.ok()) reply = AwaitReply(link.get(), index, absl::Now() + options_.request_timeout);
    {
      absl::MutexLock lock(&mu_);
      --link->outstanding;
    }
    if (!sent.ok()) {
      Fail(link.get(), std::string(sent.message()));
      replay = true;
      continue;
    }
    if (reply.empty()) {
      Fail(link.get(), link->failed ? "connection failed"
                                    : absl::StrCat("no reply within ",
                                                   absl::FormatDuration(options_.request_timeout)));
      replay = true;
      continue;
    }
    absl::StatusOr<MessageHeader> reply_header = protocol::DecodeHeader(reply);
    if (!reply_header.ok()) {
      Fail(link.get(), "unreadable reply");
      replay = true;
      continue;
    }
    ErrorCode code = reply_header->status;
    if (code == ErrorCode::kNotOwner || code == ErrorCode::kBadSession) {
      // The filer gave the volume away or restarted: find the one that serves it now.
      Fail(link.get(), protocol::ErrorCodeName(code));
      replay = true;
      continue;
    }
    if (code == ErrorCode::kBusy && absl::Now() < reconnect_deadline) {
      absl::SleepFor(kBusyRetry);
      replay = true;
      continue;
    }
    if (code != ErrorCode::kOk) {
      result = FilerError(code, op);
    } else {
      result = std::move(reply);
    }
    break;
  }
  absl::MutexLock lock(&mu_);
  slots_[index].busy = false;
  slots_[index].has_reply = false;
  return result;
}

}  // namespace client
}  // namespace vifiler
