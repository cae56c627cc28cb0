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
  // A caller is inside connection->Receive() on behalf of every waiting caller (guarded by
  // the session's mu_).
  bool receiving = false;

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
}

FailoverSession::~FailoverSession() {
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
  return link_ != nullptr ? link_->inline_threshold : 0;
}

protocol::FileHandle FailoverSession::root() const {
  absl::MutexLock lock(&mu_);
  return link_ != nullptr ? link_->root : protocol::FileHandle();
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

absl::StatusOr<std::shared_ptr<FailoverSession::Link>> FailoverSession::Reconnect(
    absl::Time deadline) {
  reconnecting_ = true;
  std::shared_ptr<Link> old = std::move(link_);
  const bool was_partner = old != nullptr && old->partner;
  const absl::Time started = absl::Now();
  mu_.Unlock();
  old.reset();

  std::vector<Target> targets = {{filer_name_, options_.primary_discriminator, false}};
  if (options_.failover) {
    targets.push_back(
        {filer_name_ + options_.failover_suffix, options_.secondary_discriminator, true});
  }
  std::vector<std::string> errors(targets.size());
  absl::Duration backoff = kFirstBackoff;
  absl::StatusOr<std::shared_ptr<Link>> result;
  while (true) {
    std::shared_ptr<Link> link;
    for (size_t i = 0; i < targets.size() && link == nullptr; ++i) {
      absl::StatusOr<std::shared_ptr<Link>> attempt = ConnectTo(targets[i], &errors[i]);
      if (attempt.ok()) link = std::move(*attempt);
    }
    if (link != nullptr) {
      result = std::move(link);
      break;
    }
    absl::Time now = absl::Now();
    if (now >= deadline) {
      result = absl::UnavailableError(absl::StrCat(
          "cannot reach filer ", filer_name_, " (gave up after ",
          absl::FormatDuration(now - started), "); tried ", absl::StrJoin(errors, "; ")));
      break;
    }
    absl::SleepFor(std::min(backoff, deadline - now));
    backoff = std::min(backoff * 2, kMaxBackoff);
  }

  mu_.Lock();
  reconnecting_ = false;
  if (!result.ok()) return result.status();
  link_ = *result;
  const absl::Duration took = absl::Now() - started;
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
    const Target& target, std::string* error) {
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
  const absl::Time deadline = absl::Now() + options_.connect_timeout;
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
  if (!(header->flags & protocol::kFlagReply) || header->slot >= slots_.size()) return;
  Slot& slot = slots_[header->slot];
  if (slot.busy && slot.sequence == header->sequence && !slot.has_reply) {
    slot.has_reply = true;
    slot.reply = std::move(message);
  }
}

std::string FailoverSession::AwaitReply(Link* link, uint32_t index, absl::Time deadline) {
  std::vector<std::string> events;
  std::string reply;
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
    link->receiving = true;
    mu_.Unlock();
    absl::StatusOr<std::string> message = link->connection->Receive(deadline);
    mu_.Lock();
    link->receiving = false;
    if (message.ok()) {
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
    if (replay) {
      absl::MutexLock lock(&mu_);
      ++stats_.replays;
    }
    absl::Status sent =
        link->connection->Send(EncodeRequest(header, build(direct != nullptr ? &buffer : nullptr)),
                               absl::Now() + options_.request_timeout);
    if (!sent.ok()) {
      Fail(link.get(), std::string(sent.message()));
      replay = true;
      continue;
    }
    std::string reply = AwaitReply(link.get(), index, absl::Now() + options_.request_timeout);
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
