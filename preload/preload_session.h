// Copyright 2026 The vifiler Authors.
//
// Session: the interception library's one client of the process, and its settings.
//
// Contract:
//  - Settings come from the environment, read once on first use: VIFILER_MOUNT (the prefix;
//    unset or empty: the library intercepts nothing), VIFILER_FILER (the filer's name),
//    VIFILER_HOSTS_FILE, VIFILER_FABRIC (tcp | rdma | auto), VIFILER_DEBUG=1 (the client
//    library's messages go to stderr; otherwise nothing is ever written there).
//  - Loading the library connects nothing and blocks on nothing: Client() connects on the
//    first call that needs the filer, under a mutex of its own (never the descriptor table's),
//    and tries again on the next call after a failure.
//  - Fork: the child forgets the parent's client without touching it (its threads do not exist
//    in the child) and connects anew on first use; file handles are the filer's stable names,
//    so the descriptors the child inherited work on the new session.
//  - InsideVifiler marks the calling thread while it calls into the client library, so the C
//    library calls that library makes (hosts file, sockets, /proc) go straight to libc.

#ifndef VIFILER_PRELOAD_PRELOAD_SESSION_H_
#define VIFILER_PRELOAD_PRELOAD_SESSION_H_

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <string>

#include "clientlib/client.h"

namespace vifiler {
namespace preload {

struct Settings {
  std::string prefix;  // VIFILER_MOUNT
  std::string filer;   // VIFILER_FILER
  std::string hosts_file;
  std::string fabric = "auto";
  bool debug = false;
};

class Session {
 public:
  static Session& Get();
  const Settings& settings() const { return settings_; }
  // The connected client, or null with errno set: EINVAL without VIFILER_FILER, EHOSTUNREACH
  // when its name does not resolve, EIO when the client gave up connecting.
  client::Client* Client();
  // The process's umask: read from /proc when the session is made (without changing it), then
  // kept up to date by the intercepted umask().
  mode_t umask() const { return umask_.load(); }
  void set_umask(mode_t mask) { umask_.store(mask & 0777); }

 private:
  Session();
  static void ForkPrepare();
  static void ForkParent();
  static void ForkChild();
  static void AtExit();

  Settings settings_;
  std::atomic<mode_t> umask_{022};
  std::mutex mu_;
  client::Client* client_ = nullptr;  // owned; deliberately leaked by a forked child
  bool at_exit_registered_ = false;
};

// Marks the calling thread as inside the client library while alive.
class InsideVifiler {
 public:
  InsideVifiler();
  ~InsideVifiler();
  InsideVifiler(const InsideVifiler&) = delete;
  InsideVifiler& operator=(const InsideVifiler&) = delete;
  static bool Now();

 private:
  const bool outer_;
};

}  // namespace preload
}  // namespace vifiler

#endif  // VIFILER_PRELOAD_PRELOAD_SESSION_H_
