// Copyright 2026 The vifiler Authors.

#include "mount/mount.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mount/fuse.h"

namespace vifiler {
namespace mount {

namespace {

// One mount option value, with the characters libfuse's option parser treats specially
// escaped.
std::string EscapeOption(const std::string& value) {
  std::string out;
  for (char ch : value) {
    if (ch == ',' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

// The daemon's side of the pipe its starter waits on: "OK" or an error message, then EOF.
class ReadyPipe {
 public:
  explicit ReadyPipe(int fd) : fd_(fd) {}
  ~ReadyPipe() { Close(); }
  void Send(const std::string& message) {
    if (fd_ < 0) return;
    absl::string_view rest = message;
    while (!rest.empty()) {
      ssize_t n = write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<size_t>(n));
    }
    Close();
  }
  bool active() const { return fd_ >= 0; }

 private:
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_;
};

// The starter's side: waits for the daemon's word. OK when it said so.
absl::Status WaitForDaemon(pid_t pid, int fd) {
  std::string message;
  char buf[512];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (message == "OK") return absl::OkStatus();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // "CODE MESSAGE": the status the daemon failed with.
  const size_t space = message.find(' ');
  int code = 0;
  if (space == std::string::npos || !absl::SimpleAtoi(message.substr(0, space), &code) ||
      code <= 0) {
    return absl::InternalError("the mount daemon exited before the mount was up");
  }
  return absl::Status(static_cast<absl::StatusCode>(code), message.substr(space + 1));
}

// Standard streams to /dev/null, the working directory to /: a daemon holds nothing.
void Detach() {
  if (chdir("/") != 0) {
    // Nothing to report to: keep going where we are.
  }
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, STDIN_FILENO);
  dup2(null, STDOUT_FILENO);
  dup2(null, STDERR_FILENO);
  if (null > STDERR_FILENO) close(null);
}

absl::Status WritePidFile(const std::string& path) {
  FILE* f = fopen(path.c_str(), "we");
  if (f == nullptr) return absl::InternalError(absl::StrCat(path, ": ", strerror(errno)));
  fprintf(f, "%d\n", static_cast<int>(getpid()));
  if (fclose(f) != 0) return absl::InternalError(absl::StrCat(path, ": ", strerror(errno)));
  return absl::OkStatus();
}

// Owns a FUSE session from creation to destruction (unmounting it if mounted).
class Session {
 public:
  ~Session() {
    if (se_ == nullptr) return;
    if (signals_) fuse_remove_signal_handlers(se_);
    if (mounted_) fuse_session_unmount(se_);
    fuse_session_destroy(se_);
  }

  absl::Status Create(const MountOptions& options, VifilerFs* fs) {
    std::vector<std::string> kernel = {
        absl::StrCat("fsname=", EscapeOption(options.filer + ":" + options.path)),
        "subtype=vifiler", "default_permissions"};
    if (options.fs.read_only) kernel.push_back("ro");
    for (const std::string& o : options.kernel_options) kernel.push_back(o);
    std::vector<std::string> args = {"vifiler", "-o", absl::StrJoin(kernel, ",")};
    if (options.debug) args.push_back("-d");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    struct fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    se_ = fuse_session_new(&fargs, VifilerFs::Operations(), sizeof(struct fuse_lowlevel_ops), fs);
    fuse_opt_free_args(&fargs);
    if (se_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot start a FUSE session with options ", absl::StrJoin(kernel, ",")));
    }
    if (fuse_set_signal_handlers(se_) != 0) {
      return absl::InternalError("cannot install the FUSE signal handlers");
    }
    signals_ = true;
    if (fuse_session_mount(se_, options.mountpoint.c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot mount ", options.mountpoint,
                       " (is it an existing directory? is /dev/fuse there? fusermount3 "
                       "installed?)"));
    }
    mounted_ = true;
    return absl::OkStatus();
  }

  // Serves until unmounted or signalled.
  absl::Status Loop(int max_threads) {
    struct fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(config, 0);
    fuse_loop_cfg_set_max_threads(config, static_cast<unsigned int>(max_threads));
    fuse_loop_cfg_set_idle_threads(config, static_cast<unsigned int>(max_threads));
    const int rc = fuse_session_loop_mt(se_, config);
    fuse_loop_cfg_destroy(config);
    // A signal ends the loop with its number; an unmount ends it with 0.
    if (rc < 0) return absl::InternalError(absl::StrCat("FUSE loop: ", strerror(-rc)));
    return absl::OkStatus();
  }

 private:
  struct fuse_session* se_ = nullptr;
  bool signals_ = false;
  bool mounted_ = false;
};

// Waits until the mount at mountpoint answers (a stat through it: the kernel holds every
// request until the loop has answered INIT), then raises its readahead to max_io bytes, so
// that sequential reads reach the filer in requests that large (the kernel starts a FUSE mount
// at 128 KiB; only root may change it: best effort).
absl::Status AwaitMount(const std::string& mountpoint, dev_t unmounted, uint32_t max_io) {
  struct stat st;
  int rc;
  do {
    rc = stat(mountpoint.c_str(), &st);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("the mount at ", mountpoint, " does not answer: ", strerror(errno)));
  }
  if (st.st_dev == unmounted) {
    return absl::InternalError(absl::StrCat(mountpoint, " is not mounted"));
  }
  const std::string knob =
      absl::StrCat("/sys/class/bdi/", major(st.st_dev), ":", minor(st.st_dev), "/read_ahead_kb");
  FILE* f = fopen(knob.c_str(), "we");
  if (f != nullptr) {
    fprintf(f, "%u\n", max_io / 1024);
    fclose(f);
  }
  return absl::OkStatus();
}

// Connects, mounts and tells `ready` (when active) the outcome; then serves.
absl::Status Serve(const MountOptions& options, ReadyPipe* ready) {
  absl::StatusOr<std::unique_ptr<client::Client>> client =
      client::Client::Connect(options.filer, options.client);
  if (!client.ok()) return client.status();
  absl::StatusOr<protocol::FileHandle> root = (*client)->Resolve(options.path);
  if (!root.ok()) return root.status();
  absl::StatusOr<protocol::FileAttr> attr = (*client)->GetAttr(*root);
  if (!attr.ok()) return attr.status();
  if (attr->type != protocol::FileType::kDirectory) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.filer, ":", options.path, " is not a directory"));
  }
  struct stat unmounted;
  if (stat(options.mountpoint.c_str(), &unmounted) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("mount point ", options.mountpoint, ": ", strerror(errno)));
  }
  auto fs = std::make_unique<VifilerFs>(client->get(), *root, options.fs);
  absl::Status usable;
  {
    Session session;
    absl::Status s = session.Create(options, fs.get());
    if (!s.ok()) return s;
    if (!options.pid_file.empty()) {
      s = WritePidFile(options.pid_file);
      if (!s.ok()) return s;
    }
    // The check runs beside the loop, which must answer it; with the loop's stop signals
    // blocked, so that they reach the loop.
    sigset_t stop, saved;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &saved);
    std::thread check([&] {
      usable = AwaitMount(options.mountpoint, unmounted.st_dev, options.fs.max_io);
      if (ready->active()) {
        if (!usable.ok()) {
          ready->Send(absl::StrCat(static_cast<int>(usable.code()), " ", usable.message()));
        } else {
          ready->Send("OK");
          Detach();
        }
      }
      if (!usable.ok()) kill(getpid(), SIGTERM);  // ends the loop, which unmounts
    });
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    s = session.Loop(options.max_threads);
    check.join();
    if (!usable.ok()) return usable;
    if (!s.ok()) return s;
  }  // unmounted and destroyed before the client goes
  if (!options.pid_file.empty()) unlink(options.pid_file.c_str());
  return absl::OkStatus();
}

}  // namespace

bool ParseFilerPath(const std::string& arg, std::string* filer, std::string* path) {
  const size_t colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  *filer = arg.substr(0, colon);
  *path = arg.substr(colon + 1);
  if (path->empty()) *path = "/";
  return true;
}

absl::Status Mount(const MountOptions& options) {
  if (options.foreground || options.debug) {
    ReadyPipe none(-1);
    return Serve(options, &none);
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid > 0) {
    close(fds[1]);
    return WaitForDaemon(pid, fds[0]);
  }
  close(fds[0]);
  setsid();
  ReadyPipe ready(fds[1]);
  absl::Status s = Serve(options, &ready);
  if (s.ok()) return s;
  // The starter reports a failure before the mount was up; one after it has nobody to tell.
  if (ready.active()) ready.Send(absl::StrCat(static_cast<int>(s.code()), " ", s.message()));
  _exit(1);
}

}  // namespace mount
}  // namespace vifiler
