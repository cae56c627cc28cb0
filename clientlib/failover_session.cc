// Copyright 2026 The vifiler Authors.

#include "clientlib/failover_session.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clientlib/client_log.h"
#include "protocol/codec.h"

namespace vifiler {
namespace client {

using protocol::ErrorCode;
using protocol::MessageHeader;
using protocol::Opcode;

namespace {

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

// Copies a bounced read into the application's buffer without faulting when that memory is
// not writable (a registration refused with EFAULT may mean just that): false then.
bool CopyToSink(char* sink, const char* from, size_t length) {
  iovec local{const_cast<char*>(from), length};
  iovec remote{sink, length};
  const ssize_t copied = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
  if (copied == static_cast<ssize_t>(length)) return true;
  if (copied < 0 && (errno == ENOSYS || errno == EPERM)) {
    std::memcpy(sink, from, length);  // the call is filtered out: copy as anyone would
    return true;
  }
  return false;
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
  // It answered a request with something other than a refusal (set once, under mu_).
  std::atomic<bool> served{false};
  // The rest is guarded by the session's mu_.
  // Why it failed (the first reason given to Fail).
  std::string failure;
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

namespace {

// A reconnect that ran out of failover deadline is UNAVAILABLE; DEADLINE_EXCEEDED is kept for
// the caller's own deadline (ClientOptions::call_timeout, CallDeadline).
absl::Status AsUnavailable(const absl::Status& status) {
  if (!absl::IsDeadlineExceeded(status)) return status;
  return absl::UnavailableError(status.message());
}

// The failures of a reconnect that no retry can fix (see ConnectTo).
bool IsPermanent(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsFailedPrecondition(status) ||
         absl::IsInvalidArgument(status) || absl::IsPermissionDenied(status);
}

}  // namespace

absl::Time FailoverSession::CallDeadlineFromNow() const {
  const absl::Time own = options_.call_timeout == absl::InfiniteDuration()
                             ? absl::InfiniteFuture()
                             : absl::Now() + options_.call_timeout;
  return std::min(own, CallDeadline::Current());
}

absl::Status FailoverSession::PastDeadlineStatus(absl::string_view what) const {
  return absl::DeadlineExceededError(
      absl::StrCat("call to filer ", filer_name_, " past its deadline, ", what));
}

absl::Status FailoverSession::PastDeadline(absl::string_view what) {
  {
    absl::MutexLock lock(&mu_);
    ++stats_.calls_past_deadline;
  }
  return PastDeadlineStatus(what);
}

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
  const absl::Time call_deadline = session->CallDeadlineFromNow();
  const absl::Time failover_deadline = absl::Now() + session->options_.failover_deadline;
  absl::StatusOr<std::shared_ptr<Link>> link =
      session->CurrentLink(std::min(call_deadline, failover_deadline));
  if (!link.ok()) {
    if (call_deadline < failover_deadline && !IsPermanent(link.status())) {
      return session->PastDeadline(absl::StrCat("connecting: ", link.status().message()));
    }
    return AsUnavailable(link.status());
  }
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
  // The witness ends at its current connect's deadline at the latest.
  std::thread witness;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    witness = std::move(witness_);
  }
  if (witness.joinable()) witness.join();
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

void FailoverSession::NoteInlineFallback() {
  absl::MutexLock lock(&mu_);
  ++stats_.inline_fallbacks;
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
  VIFILER_CLIENT_LOG(options_, Info) << text;
  if (options_.on_event) options_.on_event(text);
}

void FailoverSession::Fail(Link* link, const std::string& reason) {
  if (!link->failed.exchange(true)) {
    VIFILER_CLIENT_LOG(options_, Debug)
        << "connection to " << link->endpoint << " lost: " << reason;
  }
  link->connection->Close();
  absl::MutexLock lock(&mu_);  // also wakes callers waiting for replies on this link
  if (link->failure.empty()) link->failure = reason;
}

void FailoverSession::Served(Link* link) {
  std::string event;
  {
    if (link->served.load(std::memory_order_relaxed)) return;  // the data path: no lock
    absl::MutexLock lock(&mu_);
    if (link->served) return;
    link->served = true;
    if (unserved_announced_) {
      event = absl::StrFormat(
          "vifiler: %s (%s) serves requests again after %s of refused sessions",
          link->serving_filer, link->endpoint,
          absl::FormatDuration(absl::Trunc(absl::Now() - unserved_since_, absl::Milliseconds(1))));
    }
    unserved_streak_ = 0;
    unserved_announced_ = false;
  }
  if (!event.empty()) Event(event);
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
  bool permanent = false;
  absl::StatusOr<std::shared_ptr<Link>> result =
      ConnectTo(attempt->target, deadline, &error, &permanent);
  std::shared_ptr<Link> unwanted;  // closed once the lock is released
  absl::MutexLock lock(&attempts_mu_);
  if (attempt->orphaned && result.ok()) {
    // Nobody waits for this session any more: close it now, not at the next reconnect.
    unwanted = std::move(*result);
    result = absl::CancelledError("session made after the reconnect ended");
  }
  attempt->result = std::move(result);
  attempt->error = std::move(error);
  attempt->permanent = permanent;
  attempt->done = true;
}

absl::StatusOr<std::shared_ptr<FailoverSession::Link>> FailoverSession::Reconnect(
    absl::Time deadline) {
  reconnecting_ = true;
  std::shared_ptr<Link> old = std::move(link_);
  const bool was_partner = old != nullptr && old->partner;
  const absl::Time started = absl::Now();
  // A filer that makes sessions and refuses them: back off before the next one, and report the
  // run once rather than each reconnect. The first unserved session is an ordinary failure (a
  // filer lost right after the client connected).
  absl::Duration churn_delay = absl::ZeroDuration();
  if (old != nullptr && !old->served) {
    if (++unserved_streak_ == 1) unserved_since_ = started;
  }
  const bool quiet = unserved_streak_ >= 2;
  if (quiet) {
    churn_delay = std::min(kFirstBackoff * (1 << std::min(unserved_streak_ - 2, 10)), kMaxBackoff);
    if (!unserved_announced_ && old != nullptr) {
      unserved_announced_ = true;
      VIFILER_CLIENT_LOG(options_, Warning)
          << "vifiler: " << old->serving_filer << " (" << old->endpoint
          << ") makes sessions and then " << (old->failure.empty() ? "drops them" : old->failure)
          << "; reconnecting with backoff (up to " << absl::FormatDuration(kMaxBackoff)
          << ") until the failover deadline, without reporting each reconnect";
    }
  }
  mu_.Unlock();
  old.reset();

  const std::vector<Target> targets = Targets();
  const size_t n = targets.size();
  std::vector<std::string> errors(n);
  std::vector<absl::Duration> backoff(n, kFirstBackoff);
  std::vector<absl::Time> next_start(n, started + churn_delay);
  // Whether this reconnect started (or adopted) an attempt to the target.
  std::vector<bool> tried(n, false);
  // Sessions made and not yet chosen, by target.
  std::vector<std::shared_ptr<Link>> made(n);
  absl::Time grace_until = absl::InfiniteFuture();
  absl::StatusOr<std::shared_ptr<Link>> result;
  // The first round: each target's first outcome. When every target failed in a way no retry
  // can fix, the reconnect fails at once; otherwise it says once that it is retrying.
  std::vector<bool> answered(n, false);
  // Targets refused for a shared limit while another attempt ran: each is tried once more
  // while no other attempt runs, before its refusal is taken as final.
  std::vector<bool> solo_pending(n, false), solo_done(n, false);
  int solo_running = -1;  // the target being rechecked alone
  size_t unanswered = n;
  bool all_permanent = true;
  absl::Status refused;  // a session refused with NOT_EXPORTED ends the reconnect
  absl::StatusCode primary_code = absl::StatusCode::kOk;  // the primary's first failure
  bool announced = false;
  const absl::Time announce_at = started + std::min(kRetryNoticeAfter, (deadline - started) / 2);
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
        tried[&attempt - attempts_.data()] = true;
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
                tried[i] ? "): no answer" : "): not tried again before the deadline");
          }
        }
        result = absl::UnavailableError(absl::StrCat(
            "cannot reach filer ", filer_name_, " (gave up after ",
            absl::FormatDuration(now - started), "); tried ", absl::StrJoin(errors, "; ")));
        break;
      }
      // Start every attempt that is due; none while a session waits for the grace period.
      absl::Time wake = std::min(deadline, grace_until);
      if (!announced && announce_at > now) wake = std::min(wake, announce_at);
      const bool solo_waiting =
          solo_running >= 0 ||
          std::find(solo_pending.begin(), solo_pending.end(), true) != solo_pending.end();
      for (size_t i = 0; i < n && partner_ready < 0; ++i) {
        if (attempts_[i] != nullptr) continue;
        const bool running =
            std::any_of(attempts_.begin(), attempts_.end(),
                        [](const std::unique_ptr<Attempt>& a) { return a != nullptr; });
        if (solo_pending[i]) {
          if (running) continue;  // started when the others have ended (any_done wakes us)
          solo_pending[i] = false;
          solo_done[i] = true;
          solo_running = static_cast<int>(i);
        } else if (solo_waiting) {
          continue;  // the recheck runs alone first
        } else if (now < next_start[i]) {
          wake = std::min(wake, next_start[i]);
          continue;
        }
        auto attempt = std::make_unique<Attempt>();
        attempt->target = targets[i];
        for (std::unique_ptr<Attempt>& other : attempts_) {
          if (other == nullptr) continue;
          other->overlapped = true;
          attempt->overlapped = true;
        }
        Attempt* raw = attempt.get();
        const absl::Time attempt_deadline = std::min(deadline, now + options_.connect_timeout);
        attempt->thread =
            std::thread([this, raw, attempt_deadline] { RunAttempt(raw, attempt_deadline); });
        attempts_[i] = std::move(attempt);
        tried[i] = true;
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
        if (solo_running == static_cast<int>(i)) solo_running = -1;
        if (!attempt->result.ok() && attempt->permanent && attempt->overlapped && !solo_done[i] &&
            absl::IsFailedPrecondition(attempt->result.status())) {
          solo_pending[i] = true;  // maybe the other attempt's registration; see the header
          errors[i] = std::move(attempt->error);
          attempt.reset();
          continue;
        }
        if (!answered[i]) {
          answered[i] = true;
          --unanswered;
          if (attempt->result.ok() || !attempt->permanent) {
            all_permanent = false;
          } else if (i == 0) {
            primary_code = attempt->result.status().code();
          }
        }
        if (!attempt->result.ok() && absl::IsPermissionDenied(attempt->result.status())) {
          refused = attempt->result.status();  // a filer's verdict on this host: final
        }
        if (attempt->result.ok()) {
          made[i] = std::move(*attempt->result);
        } else {
          errors[i] = std::move(attempt->error);
          next_start[i] = absl::Now() + backoff[i];
          backoff[i] = std::min(backoff[i] * 2, kMaxBackoff);
        }
        attempt.reset();
      }
      if (!refused.ok()) {
        result = absl::PermissionDeniedError(
            absl::StrCat("cannot use filer ", filer_name_, ": ", refused.message()));
        break;
      }
      if (unanswered == 0 && all_permanent) {
        // Nothing to wait for: the names do not resolve or this host lacks the fabric.
        result =
            absl::Status(primary_code,
                         absl::StrCat("cannot reach filer ", filer_name_,
                                      ", and retrying cannot help: ", absl::StrJoin(errors, "; ")));
        break;
      }
      if (unanswered == 0 && !announced && absl::Now() >= announce_at &&
          std::none_of(made.begin(), made.end(),
                       [](const std::shared_ptr<Link>& m) { return m != nullptr; })) {
        // Once per reconnect, not per attempt: nothing answered the first round, and the
        // reconnect has lasted longer than an ordinary takeover.
        announced = true;
        VIFILER_CLIENT_LOG(options_, Warning)
            << "vifiler: cannot reach filer " << filer_name_ << " yet ("
            << absl::StrJoin(errors, "; ") << "); retrying until the failover deadline, "
            << absl::FormatDuration(absl::Trunc(deadline - absl::Now(), absl::Milliseconds(100)))
            << " from now";
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
    VIFILER_CLIENT_LOG(options_, Error)
        << "vifiler: " << link_->serving_filer << " (" << link_->endpoint
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
  } else if (announced) {
    what = "connected";  // ends the retrying notice
  }
  // While a filer refuses its sessions, the run was reported once (above), not each one.
  if (!what.empty() && !quiet) {
    Event(absl::StrFormat("vifiler: %s to %s (%s) after %s", what, link_->serving_filer,
                          link_->endpoint, absl::FormatDuration(took)));
  }
  ever_connected_ = true;
  return link_;
}

absl::StatusOr<std::shared_ptr<FailoverSession::Link>> FailoverSession::ConnectTo(
    const Target& target, absl::Time deadline, std::string* error, bool* permanent) {
  *permanent = false;
  absl::StatusOr<std::string> address = resolver_.Resolve(target.name);
  if (!address.ok()) {
    *error = absl::StrCat(target.name, ": ", address.status().message());
    *permanent = absl::IsNotFound(address.status());
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
    *permanent = absl::IsInvalidArgument(connection.status()) ||
                 absl::IsFailedPrecondition(connection.status());
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
  if (reply_header->status == ErrorCode::kNotExported) {
    // The filer serving the volume refuses this host: no other target or retry will do better.
    *error = absl::StrCat(where, ": the volume is not exported to this host (NOT_EXPORTED)");
    *permanent = true;
    return absl::PermissionDeniedError(*error);
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
  if (!sent.ok())
    VIFILER_CLIENT_LOG(options_, Debug) << "keepalive probe to " << link->endpoint << ": " << sent;
  return sent.ok();
}

void FailoverSession::MaybeStartWitness(const std::shared_ptr<Link>& link) {
  if (witness_running_ || stopping_ || link->partner || !options_.failover) return;
  // A finished witness has nothing left to do but return.
  if (witness_.joinable()) witness_.join();
  witness_running_ = true;
  witness_ = std::thread([this, link] { RunWitness(link); });
}

void FailoverSession::RunWitness(std::shared_ptr<Link> link) {
  const Target target = Targets().back();  // the failover name's secondary port
  const absl::Duration after = options_.keepalive_interval * kWitnessAfterProbes;
  transport::PeerIdentity identity;
  identity.identity = options_.client_id;
  identity.purpose = transport::kPurposeDataAccess;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || link->failed || link->outstanding == 0 ||
          absl::Now() - link->heard_at < after) {
        witness_running_ = false;
        return;
      }
    }
    absl::StatusOr<std::string> address = resolver_.Resolve(target.name);
    if (address.ok()) {
      const transport::Endpoint endpoint{*address, target.discriminator};
      absl::StatusOr<std::unique_ptr<transport::Connection>> connection = fabric_->Connect(
          endpoint, identity,
          absl::Now() + std::min(options_.connect_timeout, options_.keepalive_timeout));
      if (connection.ok()) {
        (*connection)->Close();
        absl::Duration silence;
        {
          absl::MutexLock lock(&mu_);
          silence = absl::Now() - link->heard_at;
          ++stats_.witness_failovers;
        }
        VIFILER_CLIENT_LOG(options_, Warning)
            << "vifiler: " << target.name << " (" << endpoint.ToString()
            << ") accepts on its secondary port: it took over " << link->serving_filer
            << "; leaving " << link->endpoint << " after " << absl::FormatDuration(silence)
            << " of silence";
        Fail(link.get(), "the partner took the volume over");
        absl::MutexLock lock(&mu_);
        witness_running_ = false;
        return;
      }
    }
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithDeadline(absl::Condition(&stopping), absl::Now() + kWitnessRetry);
  }
}

std::string FailoverSession::AwaitReply(const std::shared_ptr<Link>& link, uint32_t index,
                                        absl::Time deadline) {
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
        VIFILER_CLIENT_LOG(options_, Warning)
            << "vifiler: nothing from " << link->serving_filer << " (" << link->endpoint << ") for "
            << absl::FormatDuration(silence) << " with " << link->outstanding
            << " requests outstanding; presuming it lost";
        link->failed = true;
        break;
      }
      if (silence >= options_.keepalive_interval * kWitnessAfterProbes) MaybeStartWitness(link);
      if (now >= std::max(link->heard_at, link->probed_at) + options_.keepalive_interval) {
        link->probed_at = now;
        probe = ++link->probe_sequence;
      }
      wake = std::min({deadline, link->heard_at + options_.keepalive_timeout,
                       std::max(link->heard_at, link->probed_at) + options_.keepalive_interval});
    }
    link->receiving = true;
    mu_.Unlock();
    const bool probed = probe != 0 && SendProbe(link.get(), probe);
    absl::StatusOr<std::string> message = link->connection->Receive(wake);
    mu_.Lock();
    link->receiving = false;
    if (probed) ++stats_.probes;
    if (message.ok()) {
      link->heard_at = absl::Now();
      Deliver(link.get(), std::move(*message), &events);
    } else if (message.status().code() != absl::StatusCode::kDeadlineExceeded) {
      link->failed = true;
      VIFILER_CLIENT_LOG(options_, Debug)
          << "connection to " << link->endpoint << " lost: " << message.status();
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

absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> FailoverSession::RegisterDirect(
    transport::Connection* connection, const Direct* direct, transport::PageBuffer* bounce) {
  const transport::Access access =
      direct->filer_writes ? transport::Access::kRemoteSink : transport::Access::kRemoteSource;
  if (bounce->data() == nullptr) {
    absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> own =
        connection->RegisterMemory(direct->data, direct->length, access);
    if (own.ok()) return own;
    VIFILER_CLIENT_LOG(options_, Debug) << "vifiler: a direct transfer of " << direct->length
                                        << " bytes goes through a bounce buffer: " << own.status();
    *bounce = transport::PageBuffer(direct->length);
    if (bounce->data() == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot register the buffer of a direct transfer (", own.status().message(),
                       ") and no memory for a bounce buffer of ", direct->length, " bytes"));
    }
    // A read's sink too: the bytes the filer does not write stay as they were.
    std::memcpy(bounce->data(), direct->data, direct->length);
    absl::MutexLock lock(&mu_);
    ++stats_.bounced_transfers;
  }
  absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> bounced =
      connection->RegisterMemory(bounce->data(), direct->length, access);
  if (!bounced.ok()) {
    return absl::Status(bounced.status().code(),
                        absl::StrCat("cannot register memory for a direct transfer of ",
                                     direct->length, " bytes: ", bounced.status().message()));
  }
  return bounced;
}

absl::StatusOr<std::string> FailoverSession::Call(Opcode op, const BodyBuilder& build,
                                                  Direct* direct) {
  uint32_t index = 0;
  uint64_t sequence = 0;
  const absl::Time call_deadline = CallDeadlineFromNow();
  {
    absl::MutexLock lock(&mu_);
    auto free_slot = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      for (const Slot& s : slots_) {
        if (!s.busy) return true;
      }
      return false;
    };
    const absl::Time slot_deadline =
        absl::Now() + options_.failover_deadline + options_.request_timeout;
    if (!mu_.AwaitWithDeadline(absl::Condition(&free_slot),
                               std::min(slot_deadline, call_deadline))) {
      if (call_deadline < slot_deadline) {
        ++stats_.calls_past_deadline;
        return PastDeadlineStatus("waiting for a free session slot");
      }
      return absl::UnavailableError(absl::StrCat(
          "no free session slot for ", filer_name_, " within ",
          absl::FormatDuration(options_.failover_deadline + options_.request_timeout)));
    }
    while (slots_[index].busy) ++index;
    Slot& slot = slots_[index];
    slot.busy = true;
    slot.has_reply = false;
    sequence = ++slot.sequence;
  }

  absl::Time trouble_since = absl::InfiniteFuture();
  bool replay = false;
  // What went wrong last, naming the filer and endpoint: the reason when the call gives up.
  std::string trouble;
  auto give_up_on = [&](Link* link, const std::string& reason) {
    trouble = absl::StrCat(link->serving_filer, " (", link->endpoint, ") ", reason);
    Fail(link, reason);
    replay = true;
  };
  absl::StatusOr<std::string> result;
  // The bounce buffer of a direct transfer whose own memory could not be registered.
  transport::PageBuffer bounce;
  while (true) {
    if (absl::Now() >= call_deadline) {
      result = PastDeadline(trouble.empty() ? "before the request could be sent"
                                            : absl::StrCat("after ", trouble));
      break;
    }
    if (trouble_since == absl::InfiniteFuture() && replay) trouble_since = absl::Now();
    const absl::Time reconnect_deadline =
        (trouble_since == absl::InfiniteFuture() ? absl::Now() : trouble_since) +
        options_.failover_deadline;
    absl::StatusOr<std::shared_ptr<Link>> current =
        CurrentLink(std::min(reconnect_deadline, call_deadline));
    if (!current.ok()) {
      if (call_deadline < reconnect_deadline && !IsPermanent(current.status())) {
        result = PastDeadline(absl::StrCat("reconnecting: ", current.status().message()));
        break;
      }
      result = AsUnavailable(current.status());
      if (!trouble.empty() && absl::IsUnavailable(result.status())) {
        result = absl::Status(
            result.status().code(),
            absl::StrCat("filer ", filer_name_, " served no request for ",
                         absl::FormatDuration(
                             absl::Trunc(absl::Now() - trouble_since, absl::Milliseconds(1))),
                         " (failover deadline ", absl::FormatDuration(options_.failover_deadline),
                         "); last, ", trouble, "; then ", result.status().message()));
      }
      break;
    }
    std::shared_ptr<Link> link = std::move(*current);
    std::unique_ptr<transport::MemoryRegion> region;
    protocol::RemoteBuffer buffer;
    if (direct != nullptr) {
      absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> registered =
          RegisterDirect(link->connection.get(), direct, &bounce);
      if (!registered.ok()) {
        // A local matter: the link is fine, and nothing is sent on it.
        direct->unregistrable = !replay;
        result = registered.status();
        break;
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
    // A direct transfer is waited for whatever the call's deadline: the filer may still move
    // data into or out of the caller's buffer until it answers.
    const absl::Time reply_deadline =
        direct != nullptr ? absl::Now() + options_.request_timeout
                          : std::min(absl::Now() + options_.request_timeout, call_deadline);
    if (sent.ok()) reply = AwaitReply(link, index, reply_deadline);
    {
      absl::MutexLock lock(&mu_);
      --link->outstanding;
    }
    if (!sent.ok()) {
      give_up_on(link.get(), absl::StrCat("could not take the request: ", sent.message()));
      continue;
    }
    if (reply.empty() && !link->failed && direct == nullptr && absl::Now() >= call_deadline &&
        call_deadline <= reply_deadline) {
      // The caller's deadline, not the filer's silence: the link stays for the other calls.
      result = PastDeadline(absl::StrCat("waiting for the reply of ", link->serving_filer, " (",
                                         link->endpoint, ")"));
      break;
    }
    if (reply.empty()) {
      give_up_on(link.get(), link->failed
                                 ? std::string("lost the connection")
                                 : absl::StrCat("sent no reply within ",
                                                absl::FormatDuration(options_.request_timeout)));
      continue;
    }
    absl::StatusOr<MessageHeader> reply_header = protocol::DecodeHeader(reply);
    if (!reply_header.ok()) {
      give_up_on(link.get(), "sent an unreadable reply");
      continue;
    }
    ErrorCode code = reply_header->status;
    if (code == ErrorCode::kNotOwner || code == ErrorCode::kBadSession) {
      // The filer gave the volume away or restarted: find the one that serves it now.
      give_up_on(link.get(), absl::StrCat("refused the request: ", protocol::ErrorCodeName(code)));
      continue;
    }
    Served(link.get());
    if (code == ErrorCode::kBusy && absl::Now() < reconnect_deadline) {
      absl::SleepFor(kBusyRetry);
      replay = true;
      continue;
    }
    if (code != ErrorCode::kOk) {
      result = FilerError(code, op);
    } else {
      if (direct != nullptr && direct->filer_writes && bounce.data() != nullptr &&
          !CopyToSink(direct->data, bounce.data(), direct->length)) {
        result = absl::InvalidArgumentError(absl::StrCat("the buffer of a read of ", direct->length,
                                                         " bytes is not writable memory"));
        break;
      }
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
