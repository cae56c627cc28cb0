// Copyright 2026 The vifiler Authors.
//
// DataAccessPort: a listener at (host address, discriminator) whose connections are served by
// one VolumeService. A filer has a primary port for its own volume and, only during takeover,
// a secondary port for its partner's.
//
// Contract:
//  - Start() listens; until then, and after Stop(), connection attempts are refused.
//  - Each connection gets its own serving thread that receives a request, handles it and sends
//    the reply. A connection whose request cannot be handled (unreadable header, failed
//    transfer) or whose peer vanishes is closed; every other connection is served on.
//  - Broadcast() sends an unsolicited message (a notice) to every connected client.
//  - Stop() closes the listener and every connection and joins all threads; bounded in time.
// Thread-safe.

#ifndef VIFILER_FILER_DATA_ACCESS_PORT_H_
#define VIFILER_FILER_DATA_ACCESS_PORT_H_

#include <atomic>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "filer/volume_service.h"
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
  const transport::Endpoint& endpoint() const { return endpoint_; }

 private:
  struct Served {
    std::unique_ptr<transport::Connection> connection;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  void AcceptLoop();
  void Serve(Served* served);
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
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_DATA_ACCESS_PORT_H_
