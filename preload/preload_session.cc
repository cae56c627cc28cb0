// Copyright 2026 The vifiler Authors.

#include "preload/preload_session.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "preload/fd_table.h"
#include "preload/real_libc.h"

namespace vifiler {
namespace preload {
namespace {

__thread bool inside_vifiler = false;

std::string Env(const char* name) {
  const char* v = getenv(name);
  return v == nullptr ? "" : v;
}

// The "Umask:" line of /proc/self/status (octal); 022 when it cannot be read.
mode_t ReadUmask() {
  const vp_real_libc& libc = *vp_real();
  const int fd = libc.open("/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return 022;
  char buf[4096];
  ssize_t n = libc.read(fd, buf, sizeof(buf) - 1);
  libc.close(fd);
  if (n <= 0) return 022;
  buf[n] = '\0';
  const char* line = strstr(buf, "Umask:");
  if (line == nullptr) return 022;
  return static_cast<mode_t>(strtoul(line + 6, nullptr, 8));
}

}  // namespace

InsideVifiler::InsideVifiler() : outer_(inside_vifiler) { inside_vifiler = true; }
InsideVifiler::~InsideVifiler() { inside_vifiler = outer_; }
bool InsideVifiler::Now() { return inside_vifiler; }

Session& Session::Get() {
  // Never destroyed (see AtExit): threads may still call in while the process exits.
  static Session* session = new Session();
  return *session;
}

Session::Session() {
  settings_.prefix = Env("VIFILER_MOUNT");
  settings_.filer = Env("VIFILER_FILER");
  settings_.hosts_file = Env("VIFILER_HOSTS_FILE");
  if (!Env("VIFILER_FABRIC").empty()) settings_.fabric = Env("VIFILER_FABRIC");
  settings_.debug = Env("VIFILER_DEBUG") == "1";
  umask_.store(ReadUmask());
  pthread_atfork(&Session::ForkPrepare, &Session::ForkParent, &Session::ForkChild);
}

client::Client* Session::Client() {
  std::lock_guard<std::mutex> lock(mu_);
  if (client_ != nullptr) return client_;
  if (settings_.filer.empty()) {
    errno = EINVAL;  // VIFILER_FILER is not set: no filer to ask
    return nullptr;
  }
  InsideVifiler inside;
  client::ClientOptions options;
  options.fabric = settings_.fabric;
  options.hosts_file = settings_.hosts_file;
  if (settings_.debug) {
    options.log_level = client::LogLevel::kDebug;
    client::SetLogHandler(client::LogLevel::kDebug, nullptr);  // stderr
  } else {
    options.log_level = client::LogLevel::kOff;
  }
  absl::StatusOr<std::unique_ptr<client::Client>> c =
      client::Client::Connect(settings_.filer, options);
  if (!c.ok()) {
    if (settings_.debug) {
      fprintf(stderr, "vifiler_preload: cannot connect to %s: %s\n", settings_.filer.c_str(),
              c.status().ToString().c_str());
    }
    // A filer name that does not resolve: no route to it (ENOENT would blame the file).
    errno = c.status().code() == absl::StatusCode::kNotFound ? EHOSTUNREACH : EIO;
    return nullptr;
  }
  client_ = c->release();
  if (!at_exit_registered_) {
    // Registered after the client's own static state exists, so it runs before that goes.
    atexit(&Session::AtExit);
    at_exit_registered_ = true;
  }
  return client_;
}

void Session::ForkPrepare() {
  Get().mu_.lock();
  FdTable::Get().ForkPrepare();
}

void Session::ForkParent() {
  FdTable::Get().ForkParent();
  Get().mu_.unlock();
}

void Session::ForkChild() {
  FdTable::Get().ForkChild();
  Session& s = Get();
  s.client_ = nullptr;  // the parent's: its threads are not here; never used nor freed
  s.mu_.unlock();
}

void Session::AtExit() {
  Session& s = Get();
  client::Client* c;
  {
    std::lock_guard<std::mutex> lock(s.mu_);
    c = s.client_;
    s.client_ = nullptr;
  }
  InsideVifiler inside;
  delete c;
}

}  // namespace preload
}  // namespace vifiler
