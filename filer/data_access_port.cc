// Copyright 2026 The vifiler Authors.

#include "filer/data_access_port.h"

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace vifiler {
namespace filer {
namespace {

// Serving and accept loops wake up this often to notice Stop().
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);
constexpr absl::Duration kSendTimeout = absl::Seconds(30);
// Each connection has a serving thread; beyond this many, new connections are closed.
constexpr size_t kMaxConnections = 1024;

}  // namespace

DataAccessPort::DataAccessPort(transport::Fabric* fabric, transport::Endpoint endpoint,
                               VolumeService* service, std::string label)
    : fabric_(fabric),
      endpoint_(std::move(endpoint)),
      service_(service),
      label_(std::move(label)) {}

DataAccessPort::~DataAccessPort() { Stop(); }

absl::Status DataAccessPort::Start() {
  absl::MutexLock lock(&mu_);
  if (listener_ != nullptr) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<transport::Listener>> listener = fabric_->Listen(endpoint_);
  if (!listener.ok()) {
    return absl::Status(
        listener.status().code(),
        absl::StrCat(label_, " port ", endpoint_.ToString(), ": ", listener.status().message()));
  }
  listener_ = std::move(*listener);
  stopping_ = false;
  accept_thread_ = std::thread(&DataAccessPort::AcceptLoop, this);
  LOG(INFO) << label_ << " data access port listening on " << endpoint_.ToString() << " ("
            << fabric_->name() << ")";
  return absl::OkStatus();
}

bool DataAccessPort::running() const {
  absl::MutexLock lock(&mu_);
  return listener_ != nullptr;
}

void DataAccessPort::Stop() {
  std::unique_ptr<transport::Listener> listener;
  {
    absl::MutexLock lock(&mu_);
    if (listener_ == nullptr) return;
    stopping_ = true;
    listener_->Close();
    for (auto& s : served_) s->connection->Close();
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  std::list<std::unique_ptr<Served>> served;
  {
    absl::MutexLock lock(&mu_);
    served.swap(served_);
    listener = std::move(listener_);
  }
  for (auto& s : served) {
    if (s->thread.joinable()) s->thread.join();
  }
  LOG(INFO) << label_ << " data access port " << endpoint_.ToString() << " closed";
}

int DataAccessPort::Broadcast(absl::string_view message) {
  absl::MutexLock lock(&mu_);
  int sent = 0;
  for (auto& s : served_) {
    if (s->finished) continue;
    if (s->connection->Send(message, absl::Now() + absl::Seconds(1)).ok()) ++sent;
  }
  return sent;
}

int DataAccessPort::connections() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (auto& s : served_) n += s->finished ? 0 : 1;
  return n;
}

void DataAccessPort::ReapFinished() {
  for (auto it = served_.begin(); it != served_.end();) {
    if ((*it)->finished) {
      (*it)->thread.join();
      it = served_.erase(it);
    } else {
      ++it;
    }
  }
}

void DataAccessPort::AcceptLoop() {
  transport::Listener* listener;
  {
    absl::MutexLock lock(&mu_);
    listener = listener_.get();
  }
  while (!stopping_) {
    absl::StatusOr<std::unique_ptr<transport::Connection>> connection =
        listener->Accept(absl::Now() + kPollInterval);
    absl::MutexLock lock(&mu_);
    ReapFinished();
    if (!connection.ok()) {
      if (connection.status().code() == absl::StatusCode::kDeadlineExceeded) continue;
      if (stopping_) break;
      LOG(WARNING) << label_ << " port: accept failed: " << connection.status();
      continue;
    }
    if (stopping_) {
      (*connection)->Close();
      break;
    }
    if (served_.size() >= kMaxConnections) {
      LOG_EVERY_N(WARNING, 100) << label_ << " port: " << kMaxConnections
                                << " connections already; refusing "
                                << (*connection)->peer().address;
      (*connection)->Close();
      continue;
    }
    auto served = std::make_unique<Served>();
    served->connection = std::move(*connection);
    Served* raw = served.get();
    served_.push_back(std::move(served));
    raw->thread = std::thread(&DataAccessPort::Serve, this, raw);
  }
}

void DataAccessPort::Serve(Served* served) {
  transport::Connection* connection = served->connection.get();
  const std::string peer = connection->peer().address;
  VLOG(1) << label_ << " port: client " << connection->peer().identity << " connected from "
          << peer;
  {
    VolumeService::Channel channel(connection);
    std::string reply;
    while (!stopping_) {
      absl::StatusOr<std::string> request = connection->Receive(absl::Now() + kPollInterval);
      if (!request.ok()) {
        if (request.status().code() == absl::StatusCode::kDeadlineExceeded) continue;
        VLOG(1) << label_ << " port: " << peer << ": " << request.status();
        break;
      }
      absl::Status handled = service_->Handle(&channel, *request, &reply);
      if (!handled.ok()) {
        LOG(WARNING) << label_ << " port: closing connection from " << peer << ": " << handled;
        break;
      }
      absl::Status sent = connection->Send(reply, absl::Now() + kSendTimeout);
      if (!sent.ok()) {
        VLOG(1) << label_ << " port: reply to " << peer << " failed: " << sent;
        break;
      }
    }
  }  // the channel's registered memory goes before the connection closes
  connection->Close();
  served->finished = true;
}

}  // namespace filer
}  // namespace vifiler
