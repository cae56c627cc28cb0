// Copyright 2026 The vifiler Authors.

#include "filer/data_access_port.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "protocol/codec.h"

namespace vifiler {
namespace filer {
namespace {

// Receiving and accept loops wake up this often to notice Stop().
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);
constexpr absl::Duration kSendTimeout = absl::Seconds(30);

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
    const size_t most = service_->limits().max_connections;
    if (served_.size() >= most) {
      LOG_EVERY_N(WARNING, 100) << label_ << " port: " << most
                                << " connections already (--max_connections); refusing "
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
  auto shared_queue = std::make_shared<RequestQueue>();
  RequestQueue& queue = *shared_queue;
  std::thread executor(&DataAccessPort::Execute, this, connection, shared_queue);
  const absl::Duration idle_timeout = service_->limits().idle_timeout;
  absl::Time last_heard = absl::Now();
  while (!stopping_) {
    {
      // Back-pressure: no receiving while the executor has a full queue.
      absl::MutexLock lock(&queue.mu);
      auto room = [&queue]() ABSL_SHARED_LOCKS_REQUIRED(queue.mu) {
        return queue.requests.size() < kMaxQueuedRequests || queue.executor_done;
      };
      if (!queue.mu.AwaitWithTimeout(absl::Condition(&room), kPollInterval)) continue;
      if (queue.executor_done) break;
    }
    absl::StatusOr<std::string> request = connection->Receive(absl::Now() + kPollInterval);
    if (!request.ok()) {
      if (request.status().code() == absl::StatusCode::kDeadlineExceeded) {
        if (idle_timeout <= absl::ZeroDuration()) continue;
        absl::MutexLock lock(&queue.mu);
        if (queue.unanswered > 0) {
          last_heard = absl::Now();  // the client waits for us, not the other way round
          continue;
        }
        if (absl::Now() - last_heard < idle_timeout) continue;
        idle_closed_.fetch_add(1);
        VLOG(1) << label_ << " port: closing " << peer << ": idle for "
                << absl::FormatDuration(idle_timeout);
        break;
      }
      VLOG(1) << label_ << " port: " << peer << ": " << request.status();
      break;
    }
    last_heard = absl::Now();
    absl::StatusOr<protocol::MessageHeader> header = protocol::DecodeHeader(*request);
    if (header.ok() && header->opcode == protocol::Opcode::kNull &&
        !(header->flags & protocol::kFlagReply)) {
      if (!AnswerNull(connection, *header)) break;
      continue;
    }
    // Everything else, malformed requests included, is the executor's (and Handle's) to judge.
    absl::MutexLock lock(&queue.mu);
    queue.requests.push_back(std::move(*request));
    ++queue.unanswered;
  }
  {
    absl::MutexLock lock(&queue.mu);
    queue.receiving_done = true;
  }
  executor.join();
  connection->Close();
  served->finished = true;
}

bool DataAccessPort::AnswerNull(transport::Connection* connection,
                                const protocol::MessageHeader& request) {
  protocol::MessageHeader header = request;
  header.flags = protocol::kFlagReply;
  header.status = protocol::ErrorCode::kOk;
  nulls_answered_.fetch_add(1);  // before the reply can reach the client
  absl::Status sent = connection->Send(protocol::EncodeMessage(header, protocol::Empty()),
                                       absl::Now() + kSendTimeout);
  if (!sent.ok()) {
    VLOG(1) << label_ << " port: null reply to " << connection->peer().address
            << " failed: " << sent;
    return false;
  }
  return true;
}

void DataAccessPort::Execute(transport::Connection* connection,
                             std::shared_ptr<RequestQueue> queue) {
  {
    VolumeService::Channel channel(connection);
    std::string request;
    std::deque<std::pair<absl::Status, std::string>> replies;
    bool open = true;
    while (open) {
      bool have_request = false;
      {
        absl::MutexLock lock(&queue->mu);
        auto ready = [&queue]() ABSL_SHARED_LOCKS_REQUIRED(queue->mu) {
          return !queue->requests.empty() || !queue->replies.empty() || queue->receiving_done;
        };
        queue->mu.Await(absl::Condition(&ready));
        replies.swap(queue->replies);
        // After Stop() queued requests are dropped: their clients replay them elsewhere.
        if (!queue->requests.empty() && !stopping_) {
          request = std::move(queue->requests.front());
          queue->requests.pop_front();
          have_request = true;
        } else if (replies.empty()) {
          break;  // nothing left to run or to send
        }
      }
      for (auto& [status, reply] : replies) {
        if (open && !Reply(connection, status, reply)) open = false;
      }
      if (!replies.empty()) {
        absl::MutexLock lock(&queue->mu);
        queue->unanswered -= std::min(queue->unanswered, replies.size());
      }
      replies.clear();
      if (!open || !have_request) continue;
      std::weak_ptr<RequestQueue> to = queue;
      service_->HandleAsync(&channel, request, [to](absl::Status status, std::string reply) {
        std::shared_ptr<RequestQueue> q = to.lock();
        if (q == nullptr) return;  // the connection is gone: the client replays elsewhere
        absl::MutexLock lock(&q->mu);
        q->replies.emplace_back(std::move(status), std::move(reply));
      });
    }
    // Leaving this scope destroys the channel: its registered memory goes before the
    // connection closes.
  }
  connection->Close();  // wakes the receiving thread when the executor gave up first
  absl::MutexLock lock(&queue->mu);
  queue->executor_done = true;
}

bool DataAccessPort::Reply(transport::Connection* connection, const absl::Status& status,
                           const std::string& reply) {
  if (!status.ok()) {
    LOG(WARNING) << label_ << " port: closing connection from " << connection->peer().address
                 << ": " << status;
    return false;
  }
  absl::Status sent = connection->Send(reply, absl::Now() + kSendTimeout);
  if (!sent.ok()) {
    VLOG(1) << label_ << " port: reply to " << connection->peer().address << " failed: " << sent;
    return false;
  }
  return true;
}

}  // namespace filer
}  // namespace vifiler
