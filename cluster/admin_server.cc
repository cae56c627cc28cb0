// Copyright 2026 The vifiler Authors.

#include "cluster/admin_server.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"
#include "transport/connection.h"

namespace vifiler {
namespace cluster {
namespace {

constexpr char kSecretPrefix[] = "secret ";
constexpr absl::Duration kAcceptSlice = absl::Seconds(1);
constexpr absl::Duration kBusyReplyTimeout = absl::Milliseconds(200);
constexpr absl::Duration kStopWaitSlice = absl::Seconds(10);

absl::Status Malformed(absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("malformed request: ", reason));
}

// An IP address in binary form; IPv4-mapped IPv6 addresses are stored as IPv4.
struct IpAddress {
  int family = AF_UNSPEC;
  unsigned char bytes[16] = {};
  size_t length = 0;
};

bool ParseIp(absl::string_view text, IpAddress* out) {
  size_t percent = text.find('%');  // an IPv6 scope ("fe80::1%eth0")
  if (percent != absl::string_view::npos) text = text.substr(0, percent);
  std::string host(text);
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    out->family = AF_INET;
    out->length = 4;
    memcpy(out->bytes, &v4, 4);
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      out->family = AF_INET;
      out->length = 4;
      memcpy(out->bytes, &v6.s6_addr[12], 4);
    } else {
      out->family = AF_INET6;
      out->length = 16;
      memcpy(out->bytes, &v6, 16);
    }
    return true;
  }
  return false;
}

// The host part of "ip:port", "[ipv6]:port" or a bare address.
absl::string_view HostOf(absl::string_view peer_address) {
  if (absl::StartsWith(peer_address, "[")) {
    size_t close = peer_address.find(']');
    if (close == absl::string_view::npos) return peer_address.substr(1);
    return peer_address.substr(1, close - 1);
  }
  if (std::count(peer_address.begin(), peer_address.end(), ':') == 1) {
    return peer_address.substr(0, peer_address.find(':'));
  }
  return peer_address;
}

bool IsLoopback(const IpAddress& ip) {
  if (ip.family == AF_INET) return ip.bytes[0] == 127;
  if (ip.family == AF_INET6) {
    in6_addr v6;
    memcpy(&v6, ip.bytes, 16);
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

std::string OneLine(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"\r", " "}, {"\n", " "}});
}

}  // namespace

absl::StatusOr<AdminRequest> ParseAdminRequest(absl::string_view message) {
  if (message.size() > kMaxAdminRequestSize) {
    return Malformed(absl::StrCat("longer than ", kMaxAdminRequestSize, " bytes"));
  }
  for (char c : message) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n') || u == 0x7f) return Malformed("control characters");
  }
  if (absl::EndsWith(message, "\n")) message.remove_suffix(1);
  std::vector<absl::string_view> lines = absl::StrSplit(message, '\n');
  if (lines[0] != kAdminProtocolLine) {
    if (absl::StartsWith(lines[0], "VIFILER-ADMIN ")) {
      return Malformed(absl::StrCat("unsupported protocol version (this filer speaks \"",
                                    kAdminProtocolLine, "\")"));
    }
    return Malformed(absl::StrCat("does not start with \"", kAdminProtocolLine, "\""));
  }
  AdminRequest request;
  size_t next = 1;
  if (next < lines.size() &&
      (absl::StartsWith(lines[next], kSecretPrefix) || lines[next] == "secret")) {
    absl::string_view secret = lines[next];
    secret.remove_prefix(std::min(secret.size(), strlen(kSecretPrefix)));
    if (secret.empty()) return Malformed("empty secret");
    request.has_secret = true;
    request.secret = std::string(secret);
    ++next;
  }
  if (next >= lines.size()) return Malformed("no command");
  std::vector<std::string> words = absl::StrSplit(lines[next], ' ', absl::SkipEmpty());
  if (words.empty()) return Malformed("empty command");
  if (next + 1 < lines.size()) return Malformed("extra lines after the command");
  request.command = std::move(words[0]);
  request.args.assign(std::make_move_iterator(words.begin() + 1),
                      std::make_move_iterator(words.end()));
  return request;
}

std::string EncodeAdminRequest(absl::string_view command, absl::string_view secret) {
  std::string request = absl::StrCat(kAdminProtocolLine, "\n");
  if (!secret.empty()) absl::StrAppend(&request, kSecretPrefix, secret, "\n");
  absl::StrAppend(&request, command, "\n");
  return request;
}

std::string EncodeAdminReply(const absl::StatusOr<std::string>& body) {
  if (body.ok()) return absl::StrCat("OK\n", *body);
  std::string reason = OneLine(body.status().message());
  if (reason.empty()) reason = absl::StatusCodeToString(body.status().code());
  return absl::StrCat("ERROR ", reason);
}

absl::StatusOr<std::string> ParseAdminReply(absl::string_view reply) {
  if (absl::StartsWith(reply, "OK\n")) return std::string(reply.substr(3));
  if (reply == "OK") return std::string();
  if (absl::StartsWith(reply, "ERROR ")) {
    return absl::UnknownError(OneLine(reply.substr(strlen("ERROR "))));
  }
  return absl::InvalidArgumentError("malformed reply from the admin port");
}

bool SecretsEqual(absl::string_view expected, absl::string_view given) {
  size_t n = std::max(expected.size(), given.size());
  volatile unsigned char diff = expected.size() == given.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char a = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    unsigned char b = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = diff | static_cast<unsigned char>(a ^ b);
  }
  return diff == 0;
}

std::vector<std::string> LocalInterfaceAddresses() {
  std::vector<std::string> addresses;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    PLOG(WARNING) << "getifaddrs";
    return addresses;
  }
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (it->ifa_addr->sa_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
      if (inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text)) != nullptr) {
        addresses.push_back(text);
      }
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
      if (inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text)) != nullptr) {
        addresses.push_back(text);
      }
    }
  }
  freeifaddrs(list);
  return addresses;
}

bool IsLocalPeer(absl::string_view peer_address, const std::vector<std::string>& local_addresses) {
  IpAddress peer;
  if (!ParseIp(HostOf(peer_address), &peer)) return false;
  if (IsLoopback(peer)) return true;
  for (const std::string& local : local_addresses) {
    IpAddress ip;
    if (ParseIp(local, &ip) && ip.family == peer.family &&
        memcmp(ip.bytes, peer.bytes, ip.length) == 0) {
      return true;
    }
  }
  return false;
}

absl::Status CheckAdminPeer(absl::string_view peer_address,
                            const std::vector<std::string>& local_addresses,
                            absl::string_view configured_secret) {
  if (!configured_secret.empty() || IsLocalPeer(peer_address, local_addresses)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("permission denied: ", peer_address,
                   " is not on this host and this filer has no admin secret"));
}

absl::Status CheckAdminAccess(absl::string_view peer_address,
                              const std::vector<std::string>& local_addresses,
                              absl::string_view configured_secret, const AdminRequest& request) {
  if (IsLocalPeer(peer_address, local_addresses)) return absl::OkStatus();
  if (configured_secret.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("permission denied: ", peer_address,
                     " is not on this host and this filer has no admin secret"));
  }
  if (!request.has_secret) {
    return absl::PermissionDeniedError(absl::StrCat("permission denied: ", peer_address,
                                                    " is not on this host and sent no secret"));
  }
  if (!SecretsEqual(configured_secret, request.secret)) {
    return absl::PermissionDeniedError("permission denied: wrong secret");
  }
  return absl::OkStatus();
}

AdminServer::AdminServer(transport::Fabric* fabric, transport::Endpoint endpoint,
                         std::string secret, AdminHandler* handler)
    : fabric_(fabric),
      endpoint_(std::move(endpoint)),
      secret_(std::move(secret)),
      handler_(handler) {}

AdminServer::~AdminServer() { Stop(); }

absl::Status AdminServer::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return absl::FailedPreconditionError("admin server already started");
  if (fabric_->kind() != transport::FabricKind::kTcp) {
    return absl::InvalidArgumentError("the admin port needs a tcp fabric");
  }
  absl::StatusOr<std::unique_ptr<transport::Listener>> listener = fabric_->Listen(endpoint_);
  if (!listener.ok()) return listener.status();
  listener_ = std::move(*listener);
  endpoint_ = listener_->endpoint();
  started_ = true;
  acceptor_ = std::thread(&AdminServer::AcceptLoop, this);
  LOG(INFO) << "admin port listening on " << endpoint_.ToString()
            << (secret_.empty() ? " (local access only)" : " (local access or secret)");
  return absl::OkStatus();
}

void AdminServer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  listener_->Close();
  acceptor_.join();
  {
    absl::MutexLock lock(&mu_);
    // A command being handled (e.g. the halt that stops this server) still gets its reply.
    auto replied = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return handling_ == 0; };
    mu_.AwaitWithTimeout(absl::Condition(&replied), kAdminReplyTimeout);
    for (auto& [id, session] : sessions_) session.connection->Close();
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return running_ == 0; };
    while (!mu_.AwaitWithTimeout(absl::Condition(&idle), kStopWaitSlice)) {
      LOG(WARNING) << "admin port: still waiting for " << running_ << " command(s) to finish";
    }
  }
  Reap();
  LOG(INFO) << "admin port on " << endpoint_.ToString() << " stopped";
}

transport::Endpoint AdminServer::endpoint() const {
  absl::MutexLock lock(&mu_);
  return endpoint_;
}

void AdminServer::AcceptLoop() {
  while (true) {
    Reap();
    absl::StatusOr<std::unique_ptr<transport::Connection>> connection =
        listener_->Accept(absl::Now() + kAcceptSlice);
    if (!connection.ok()) {
      if (absl::IsDeadlineExceeded(connection.status())) continue;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
      }
      if (absl::IsCancelled(connection.status())) return;
      LOG(WARNING) << "admin port: accept: " << connection.status();
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    Admit(std::move(*connection));
  }
}

void AdminServer::Admit(std::unique_ptr<transport::Connection> connection) {
  const std::string peer = connection->peer().address;
  // The address first: nothing is read from a peer that could never be served.
  std::vector<std::string> local_addresses;
  if (!IsLocalPeer(peer, {})) local_addresses = LocalInterfaceAddresses();
  const bool local = IsLocalPeer(peer, local_addresses);
  absl::Status allowed = CheckAdminPeer(peer, local_addresses, secret_);
  if (!allowed.ok()) {
    LOG_EVERY_N(WARNING, 100) << "admin port: refused a connection: " << allowed.message();
    connection->Send(EncodeAdminReply(allowed), absl::Now() + kBusyReplyTimeout).IgnoreError();
    connection->Close();
    return;
  }
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    connection->Close();
    return;
  }
  if (Occupied() >= kMaxAdminSessions && !EvictIdle(local)) {
    LOG(WARNING) << "admin port: every session is running a command; turning away " << peer;
    // Take the request first: closing a socket with unread input resets the connection,
    // and the reset would discard the "busy" reply before the client reads it.
    connection->Receive(absl::Now() + kBusyReplyTimeout).IgnoreError();
    connection
        ->Send(EncodeAdminReply(absl::UnavailableError("busy")), absl::Now() + kBusyReplyTimeout)
        .IgnoreError();
    connection->Close();
    return;
  }
  uint64_t id = next_session_id_++;
  Session& session = sessions_[id];
  session.connection = std::move(connection);
  session.local = local;
  ++running_;
  session.thread = std::thread(&AdminServer::Serve, this, id, session.connection.get());
}

size_t AdminServer::Occupied() const {
  size_t n = 0;
  for (const auto& [id, session] : sessions_) n += session.done || session.evicted ? 0 : 1;
  return n;
}

bool AdminServer::EvictIdle(bool newcomer_local) {
  // Oldest first (ids grow); a remote idle session before any local one.
  Session* victim = nullptr;
  for (auto& [id, session] : sessions_) {
    if (session.done || session.evicted || session.received) continue;
    if (!session.local) {
      victim = &session;
      break;
    }
    if (newcomer_local && victim == nullptr) victim = &session;
  }
  if (victim == nullptr) return false;
  LOG_EVERY_N(WARNING, 100) << "admin port: all " << kMaxAdminSessions
                            << " sessions taken; closing the oldest idle one, from "
                            << victim->connection->peer().address;
  victim->evicted = true;
  victim->connection->Close();  // its session thread wakes up and ends
  return true;
}

void AdminServer::Serve(uint64_t id, transport::Connection* connection) {
  const std::string peer = connection->peer().address;
  absl::StatusOr<std::string> message = connection->Receive(absl::Now() + kAdminRequestTimeout);
  if (!message.ok()) {
    LOG(INFO) << "admin port: no request from " << peer << ": " << message.status();
  } else {
    {
      absl::MutexLock lock(&mu_);
      ++handling_;
      sessions_[id].received = true;
    }
    std::string reply;
    if (connection->peer().purpose != transport::kPurposeAdmin) {
      LOG(WARNING) << "admin port: " << peer << " connected with purpose "
                   << connection->peer().purpose;
      reply = EncodeAdminReply(absl::InvalidArgumentError(absl::StrCat(
          "wrong connection purpose ", connection->peer().purpose, " for the admin port")));
    } else {
      reply = HandleRequest(peer, *message);
    }
    absl::Status sent = connection->Send(reply, absl::Now() + kAdminReplyTimeout);
    if (!sent.ok()) LOG(INFO) << "admin port: cannot reply to " << peer << ": " << sent;
    absl::MutexLock lock(&mu_);
    --handling_;
  }
  connection->Close();
  absl::MutexLock lock(&mu_);
  sessions_[id].done = true;
  --running_;
}

void AdminServer::Reap() {
  std::vector<Session> finished;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second.done) {
        finished.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Session& session : finished) session.thread.join();
}

std::string AdminServer::HandleRequest(absl::string_view peer_address, absl::string_view message) {
  absl::StatusOr<AdminRequest> request = ParseAdminRequest(message);
  if (!request.ok()) {
    LOG(WARNING) << "admin port: from " << peer_address << ": " << request.status().message();
    return EncodeAdminReply(request.status());
  }
  std::vector<std::string> local_addresses;
  if (!IsLocalPeer(peer_address, {})) local_addresses = LocalInterfaceAddresses();
  absl::Status access = CheckAdminAccess(peer_address, local_addresses, secret_, *request);
  if (!access.ok()) {
    LOG(WARNING) << "admin port: refused command from " << peer_address << ": " << access.message();
    return EncodeAdminReply(access);
  }
  // "status" is what monitors poll, often many times a second: logged only when verbose.
  const bool routine = request->command == "status";
  if (routine) {
    VLOG(1) << "admin command \"status\" from " << peer_address;
  } else {
    LOG(INFO) << "admin command \"" << request->command << "\" from " << peer_address;
  }
  absl::StatusOr<std::string> body = RunCommand(*request);
  if (!body.ok()) {
    LOG(WARNING) << "admin command \"" << request->command << "\" from " << peer_address
                 << " failed: " << OneLine(body.status().ToString());
  } else if (!routine) {
    LOG(INFO) << "admin command \"" << request->command << "\" from " << peer_address << " done";
  }
  return EncodeAdminReply(body);
}

absl::StatusOr<std::string> AdminServer::RunCommand(const AdminRequest& request) {
  const std::string& command = request.command;
  if (!request.args.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("command ", command, " takes no arguments"));
  }
  absl::Status status;
  if (command == "status") {
    std::string body = handler_->Status();
    if (!body.empty() && body.back() != '\n') body.push_back('\n');
    return body;
  } else if (command == "takeover") {
    status = handler_->Takeover();
  } else if (command == "giveback") {
    status = handler_->Giveback();
  } else if (command == "halt") {
    status = handler_->Halt(/*takeover=*/false);
  } else if (command == "halt-takeover") {
    status = handler_->Halt(/*takeover=*/true);
#ifdef VIFILER_TEST_HOOKS
  } else if (command == "cut-interconnect") {
    status = handler_->SetInterconnectCut(true);
  } else if (command == "restore-interconnect") {
    status = handler_->SetInterconnectCut(false);
#endif
  } else {
    std::string shown = command.substr(0, 64);
    return absl::InvalidArgumentError(absl::StrCat("unknown command \"", shown, "\""));
  }
  if (!status.ok()) return status;
  return absl::StrCat(command, " done\n");
}

}  // namespace cluster
}  // namespace vifiler
