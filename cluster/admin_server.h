// Copyright 2026 The vifiler Authors.
//
// AdminServer: a filer's admin port, the channel vifilerctl talks to.
//
// Protocol (tcp fabric, purpose kPurposeAdmin): one request message, one reply message, then the
// server closes the connection.
//   request = "VIFILER-ADMIN 1\n" ["secret <secret>\n"] "<command>\n"
//   reply   = "OK\n<body>" | "ERROR <one-line reason>"
// Commands: status, takeover, giveback, halt, halt-takeover, and in test builds only
// (VIFILER_TEST_HOOKS, meson -Dtest_hooks=true) the test hooks cut-interconnect and
// restore-interconnect: any other build answers them "ERROR unknown command". None takes
// arguments. The body of "status" is the handler's key=value lines; the body of the others is
// "<command> done\n".
//
// Access: a request is served when it comes from this host (the peer address is loopback,
// 127.0.0.0/8 or ::1, or an address of a local interface) or when it carries the configured
// secret (compared in constant time; an empty configured secret admits no remote peer).
// Everything else is answered "ERROR permission denied: ...". The address is checked first, at
// accept: without a configured secret a peer that is not on this host is refused there (told
// so, best effort, and closed) before it takes a session or anything is read from it.
//
// Threads: one accepting thread; each connection is served by its own short-lived thread that
// waits at most kAdminRequestTimeout for the request, so a slow or garbage client never holds up
// the others. At most kMaxAdminSessions connections are served at once. When all are taken, a
// new connection takes the place of the oldest one still waiting for its request (idle), one
// from another host first; a connection from another host never displaces one from this host.
// So idle connections, however many and however often renewed, cannot keep an operator on the
// filer host from being served. Only when no session can give way is a client answered
// "ERROR busy". Every command is logged with the peer address.
//
// Handler methods run on session threads, possibly concurrently with each other; they must not
// call Stop() or destroy the server. Start() and Stop() are called by the owner's thread; Stop()
// is idempotent and is called by the destructor.

#ifndef VIFILER_CLUSTER_ADMIN_SERVER_H_
#define VIFILER_CLUSTER_ADMIN_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/admin_handler.h"
#include "transport/fabric.h"

namespace vifiler {
namespace cluster {

inline constexpr uint16_t kDefaultAdminDiscriminator = 7303;
inline constexpr char kAdminProtocolLine[] = "VIFILER-ADMIN 1";
inline constexpr size_t kMaxAdminRequestSize = 4096;
inline constexpr absl::Duration kAdminRequestTimeout = absl::Seconds(2);
inline constexpr absl::Duration kAdminReplyTimeout = absl::Seconds(5);
inline constexpr size_t kMaxAdminSessions = 32;

// A request as parsed from the wire (the command is not yet checked against the known ones).
struct AdminRequest {
  bool has_secret = false;
  std::string secret;
  std::string command;
  std::vector<std::string> args;
};

// InvalidArgumentError with a one-line reason for anything but
// "VIFILER-ADMIN 1\n" ["secret S\n"] "COMMAND [ARGS]\n" (the final newline may be missing).
absl::StatusOr<AdminRequest> ParseAdminRequest(absl::string_view message);

// The request message for command (which may carry arguments after a space); the secret line
// is included when secret is not empty.
std::string EncodeAdminRequest(absl::string_view command, absl::string_view secret);

// "OK\n" + body, and "ERROR " + the status message flattened to one line.
std::string EncodeAdminReply(const absl::StatusOr<std::string>& body);

// The body of an "OK" reply; for "ERROR reason" an UnknownError carrying the reason; for
// anything else an InvalidArgumentError.
absl::StatusOr<std::string> ParseAdminReply(absl::string_view reply);

// True when the two secrets are equal. Takes time that depends only on the lengths.
bool SecretsEqual(absl::string_view expected, absl::string_view given);

// The numeric addresses of this host's interfaces (getifaddrs), IPv4 and IPv6.
std::vector<std::string> LocalInterfaceAddresses();

// True when peer_address ("ip:port", "[ipv6]:port" or a bare address) is loopback
// (127.0.0.0/8, ::1, or their IPv4-mapped forms) or equals one of local_addresses.
bool IsLocalPeer(absl::string_view peer_address, const std::vector<std::string>& local_addresses);

// OK when a connection from peer_address may be read at all: the peer is local, or
// configured_secret is not empty (the request may carry it). PermissionDeniedError otherwise.
absl::Status CheckAdminPeer(absl::string_view peer_address,
                            const std::vector<std::string>& local_addresses,
                            absl::string_view configured_secret);

// OK when the request may be served: the peer is local, or configured_secret is not empty and
// the request carries it. PermissionDeniedError otherwise.
absl::Status CheckAdminAccess(absl::string_view peer_address,
                              const std::vector<std::string>& local_addresses,
                              absl::string_view configured_secret, const AdminRequest& request);

class AdminServer {
 public:
  // fabric must be a tcp fabric and outlive the server; so must handler. endpoint is the
  // filer's own address with the admin discriminator. secret may be empty (local access only).
  AdminServer(transport::Fabric* fabric, transport::Endpoint endpoint, std::string secret,
              AdminHandler* handler);
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;
  ~AdminServer();

  // Listens and starts the accepting thread. The listener's error (e.g. UnavailableError for an
  // endpoint in use) when it cannot listen; InvalidArgumentError for a fabric that is not tcp;
  // FailedPreconditionError when already started (also after Stop()).
  absl::Status Start();
  // Closes the listener and every open admin connection and waits for the session threads.
  void Stop();

  // The endpoint listened on (with the chosen port when the discriminator was 0).
  transport::Endpoint endpoint() const;

  // The reply to one request message from peer_address: parses, checks access, runs the
  // command. Public for tests; used by every session.
  std::string HandleRequest(absl::string_view peer_address, absl::string_view message);

 private:
  struct Session {
    std::thread thread;
    std::unique_ptr<transport::Connection> connection;
    bool local = false;     // the peer is on this host
    bool received = false;  // its request arrived
    bool evicted = false;   // closed to make room for a newer connection
    bool done = false;
  };

  void AcceptLoop();
  // Takes in one accepted connection: refuses a peer the address check refuses, makes room
  // when every session is taken, starts its session.
  void Admit(std::unique_ptr<transport::Connection> connection) ABSL_LOCKS_EXCLUDED(mu_);
  // Closes the oldest idle session a newcomer may displace (see the contract). False when
  // there is none.
  bool EvictIdle(bool newcomer_local) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sessions not done and not evicted.
  size_t Occupied() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void Serve(uint64_t id, transport::Connection* connection);
  absl::StatusOr<std::string> RunCommand(const AdminRequest& request);
  // Joins the threads of finished sessions.
  void Reap() ABSL_LOCKS_EXCLUDED(mu_);

  transport::Fabric* const fabric_;
  transport::Endpoint endpoint_;
  const std::string secret_;
  AdminHandler* const handler_;

  std::unique_ptr<transport::Listener> listener_;
  std::thread acceptor_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_session_id_ ABSL_GUARDED_BY(mu_) = 0;
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  // Sessions that received a request and have not replied yet.
  size_t handling_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, Session> sessions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_ADMIN_SERVER_H_
