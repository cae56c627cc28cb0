// Copyright 2026 The vifiler Authors.
//
// DataAccessPort: a listener at (host address, discriminator) whose connections are served by
// one VolumeService. A filer has a primary port for its own volume and, only during takeover,
// a secondary port for its partner's.
//
// Contract:
//  - Start() listens; until then, and after Stop(), connection attempts are refused.
//  - Each connection gets a receiving thread and an executor thread. The receiving thread
//    answers kNull requests (keepalive probes) itself at once, whatever runs on the executor,
//    and hands every other request, in order, to the executor through a bounded queue
//    (kMaxQueuedRequests); while the queue is full it stops receiving (back-pressure through
//    the transport's flow control). The executor runs one request at a time with
//    VolumeService::HandleAsync and sends the replies, both those ready at once and those of
//    mutations the reply log hands back once durable (meanwhile it runs the next requests, so a
//    connection's mutations share flushes); it owns the connection's Channel, destroyed before
//    the connection.
//  - A connection whose request cannot be handled (unreadable header, failed transfer) or
//    whose peer vanishes is closed; every other connection is served on.
//  - Limits (the service's Limits): beyond max_connections a new connection is closed at
//    once; a connection on which nothing arrived for idle_timeout while none of its requests
//    was unanswered is closed (a client that went silent, a host that vanished without TCP
//    noticing yet); the tcp fabric's keepalive ends connections to hosts that vanished. Requests
//    received before the peer left are still handled in order (their replies then fail to send).
//  - Broadcast() sends an unsolicited message (a notice) to every connected client.
//  - Stop() closes the listener and every connection and joins all threads; bounded in time
//    (a request already executing finishes; queued ones are dropped, to be replayed by their
//    clients elsewhere).
// Thread-safe.

#ifndef VIFILER_FILER_DATA_ACCESS_PORT_H_
#define VIFILER_FILER_DATA_ACCESS_PORT_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "filer/volume_service.h"
#include "protocol/messages.h"
#include "transport/fabric.h"

namespace vifiler {
namespace filer {

class DataAccessPort {
 public:
  // label names the port in logs ("primary", "secondary").
  DataAccessPort(transport::Fabric* fabric, transport::Endpoint endpoint, VolumeService* service,
                 std::string label);
  ~DataAccessPort();
  DataAccessPort(const DataAccessPort&) = delete;
  DataAccessPort& operator=(const DataAccessPort&) = delete;

  absl::Status Start();
  void Stop();
  bool running() const;

  // Sends message to every connection; returns how many got it.
  int Broadcast(absl::string_view message);
  int connections() const;
  // Connections closed because they were idle for the idle timeout.
  uint64_t idle_closed() const { return idle_closed_.load(); }
  // kNull requests the receiving threads replied to (keepalive probes included); counted
  // before the reply is sent.
  uint64_t nulls_answered() const { return nulls_answered_.load(); }
  const transport::Endpoint& endpoint() const { return endpoint_; }

 private:
  // Most requests one connection may have waiting for its executor.
  static constexpr size_t kMaxQueuedRequests = 2 * protocol::kMaxSlots;

  struct Served {
    std::unique_ptr<transport::Connection> connection;
    std::thread thread;  // receives; starts and joins the executor
    std::atomic<bool> finished{false};
  };
  // The requests a connection's receiving thread hands to its executor, and the replies the
  // reply log hands back to it once they are durable (shared: a late reply may arrive after
  // the connection is gone).
  struct RequestQueue {
    absl::Mutex mu;
    std::deque<std::string> requests ABSL_GUARDED_BY(mu);
    std::deque<std::pair<absl::Status, std::string>> replies ABSL_GUARDED_BY(mu);
    bool receiving_done ABSL_GUARDED_BY(mu) = false;  // no more requests will come
    // Requests handed to the executor whose reply (or error) it has not dealt with yet.
    size_t unanswered ABSL_GUARDED_BY(mu) = 0;
    bool executor_done ABSL_GUARDED_BY(mu) = false;  // the executor has stopped
  };

  void AcceptLoop();
  // The receiving thread of one connection.
  void Serve(Served* served);
  // Answers a kNull request on the receiving thread. False when the reply cannot be sent.
  bool AnswerNull(transport::Connection* connection, const protocol::MessageHeader& header);
  // The executor thread of one connection.
  void Execute(transport::Connection* connection, std::shared_ptr<RequestQueue> queue);
  // Sends one reply (or closes on an error). False when the connection must be closed.
  bool Reply(transport::Connection* connection, const absl::Status& status,
             const std::string& reply);
  void ReapFinished() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  transport::Fabric* const fabric_;
  const transport::Endpoint endpoint_;
  VolumeService* const service_;
  const std::string label_;

  mutable absl::Mutex mu_;
  std::unique_ptr<transport::Listener> listener_ ABSL_GUARDED_BY(mu_);
  std::list<std::unique_ptr<Served>> served_ ABSL_GUARDED_BY(mu_);
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> nulls_answered_{0};
  std::atomic<uint64_t> idle_closed_{0};
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_DATA_ACCESS_PORT_H_
