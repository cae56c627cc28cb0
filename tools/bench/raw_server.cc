// Copyright 2026 The vifiler Authors.

#include "tools/bench/raw_server.h"

#include <signal.h>
#include <time.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "tools/bench/raw_protocol.h"

namespace vifiler {
namespace bench {

RawServer::RawServer(transport::Fabric* fabric, transport::Endpoint endpoint,
                     absl::Time lifetime_deadline)
    : fabric_(fabric), endpoint_(std::move(endpoint)), lifetime_deadline_(lifetime_deadline) {}

RawServer::~RawServer() { Stop(); }

absl::Status RawServer::Start() {
  absl::StatusOr<std::unique_ptr<transport::Listener>> listener = fabric_->Listen(endpoint_);
  if (!listener.ok()) return listener.status();
  listener_ = std::move(*listener);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void RawServer::Stop() {
  std::vector<std::thread> servers;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& c : connections_) c->Close();
    servers.swap(servers_);
  }
  if (listener_ != nullptr) listener_->Close();
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& t : servers) t.join();
  absl::MutexLock lock(&mu_);
  connections_.clear();
}

void RawServer::AcceptLoop() {
  for (;;) {
    absl::StatusOr<std::unique_ptr<transport::Connection>> c =
        listener_->Accept(lifetime_deadline_);
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (!c.ok()) {
      if (absl::IsDeadlineExceeded(c.status()) || absl::IsCancelled(c.status())) return;
      LOG(WARNING) << "raw server: accept: " << c.status();
      continue;
    }
    transport::Connection* connection = c->get();
    connections_.push_back(std::move(*c));
    servers_.emplace_back([this, connection] { Serve(connection); });
  }
}

void RawServer::Serve(transport::Connection* connection) {
  std::unique_ptr<char[]> staging;
  size_t staging_size = 0;
  std::unique_ptr<transport::MemoryRegion> region;
  for (;;) {
    absl::StatusOr<std::string> message = connection->Receive(lifetime_deadline_);
    if (!message.ok()) break;
    absl::StatusOr<RawRequest> request = DecodeRawRequest(*message);
    if (!request.ok() || request->reply_size > connection->max_message_size() ||
        request->buffer.length > kMaxRawBulkSize) {
      LOG(WARNING) << "raw server: bad request from " << connection->peer().address;
      break;
    }
    RawReply reply;
    reply.tag = request->tag;
    if (request->op != RawOp::kPing) {
      const size_t length = request->buffer.length;
      if (staging_size < length) {
        region.reset();
        staging.reset(new char[length]);
        memset(staging.get(), 'r', length);
        staging_size = length;
        absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> r =
            connection->RegisterMemory(staging.get(), length, transport::Access::kLocalSink);
        if (!r.ok()) {
          LOG(ERROR) << "raw server: register: " << r.status();
          break;
        }
        region = std::move(*r);
      }
      absl::Status s =
          request->op == RawOp::kBulkRead
              ? connection->WriteRemote(*region, 0, request->buffer, 0, length, lifetime_deadline_)
              : connection->ReadRemote(*region, 0, request->buffer, 0, length, lifetime_deadline_);
      if (!s.ok()) {
        LOG(WARNING) << "raw server: transfer: " << s;
        break;
      }
    }
    if (!connection->Send(EncodeRawReply(reply, request->reply_size), lifetime_deadline_).ok()) {
      break;
    }
  }
  region.reset();
  connection->Close();
}

int RunRawServer(const std::string& fabric_kind, const transport::Endpoint& endpoint,
                 absl::Duration lifetime) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric = transport::CreateFabric(fabric_kind);
  if (!fabric.ok()) {
    LOG(ERROR) << "raw server: " << fabric.status();
    return 1;
  }
  const absl::Time deadline = absl::Now() + lifetime;
  RawServer server(fabric->get(), endpoint, deadline);
  absl::Status s = server.Start();
  if (!s.ok()) {
    LOG(ERROR) << "raw server: listen on " << endpoint.ToString() << ": " << s;
    return 1;
  }
  LOG(INFO) << "raw server on " << (*fabric)->name() << " " << endpoint.ToString();
  const timespec wait = absl::ToTimespec(lifetime);
  const int sig = sigtimedwait(&signals, nullptr, &wait);
  LOG(INFO) << "raw server stopping (" << (sig > 0 ? strsignal(sig) : "lifetime over") << ")";
  server.Stop();
  return 0;
}

}  // namespace bench
}  // namespace vifiler
