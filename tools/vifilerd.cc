// Copyright 2026 The vifiler Authors.
//
// vifilerd: the filer. Serves its volume on its primary data access port; with --partner, runs
// as one filer of an HA pair (interconnect, failure detection, takeover and giveback); answers
// vifilerctl on its admin port. SIGTERM/SIGINT halt it (with takeover by the partner unless
// --notakeover_on_sigterm); a fatal signal sends FAILING to the partner before the process dies.

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cluster/admin_server.h"
#include "cluster/fence_guard.h"
#include "cluster/pair_key.h"
#include "cluster/takeover_controller.h"
#include "filer/export_policy.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "storage/device_format.h"
#include "storage/volume_storage.h"
#include "tools/tool_main.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"
#include "transport/pinned_memory.h"
#include "transport/rdma/rdma_connection.h"

DEFINE_string(name, "", "this filer's name (required), e.g. filer-a");
DEFINE_string(volume, "",
              "this filer's volume (required): a directory, or a block device reachable by both "
              "filers and prepared with --format");
DEFINE_string(address, "", "host address the filer listens on (required), e.g. 127.0.0.2");
DEFINE_string(partner, "", "name of the partner filer (empty: no partner, no failover)");
DEFINE_string(partner_volume, "",
              "the partner's volume, on storage both filers reach (a directory or a device)");
DEFINE_bool(format, false,
            "prepare the block device --volume as a vifiler volume (header, ownership record, "
            "mailbox, reply log, ext4) and exit; refuses a device that holds a volume or a "
            "file system unless --force_format");
DEFINE_bool(force_format, false, "with --format: overwrite whatever the device holds");
DEFINE_string(format_label, "", "with --format: the volume's label (default: --name)");
DEFINE_uint32(reply_log_mb, 16,
              "size of the reply log of a volume made by --format, or of a "
              "directory volume's reply log when it is created");
DEFINE_uint32(lease_ms, 600,
              "lease on a held volume, renewed every heartbeat interval on storage: a filer "
              "that cannot renew it stops (the fence guard kills it), and the partner takes "
              "over no sooner than this after the last renewal it saw");
DEFINE_uint32(claim_margin_ms, 100,
              "margin a taker adds to the lease (clock rate differences, scheduling)");
DEFINE_uint32(guard_margin_ms, 100,
              "the fence guard fences and stops this filer this long before an unrenewed lease "
              "ends");
DEFINE_string(run_dir, "/run/vifiler",
              "where device volumes get their device-mapper nodes and mount points");
DEFINE_uint32(primary_discriminator, 7300, "discriminator of the primary data access port");
DEFINE_uint32(secondary_discriminator, 7301,
              "discriminator of the secondary data access port (takeover only)");
DEFINE_uint32(interconnect_discriminator, 7302, "discriminator of the interconnect");
DEFINE_string(pair_key_file, "",
              "the pair key: a file holding a secret both filers share (the same file on both; "
              "at least 32 bytes raw, or 64 hex digits; a regular file with no access for "
              "group or others, e.g. `openssl rand -hex 32 > F; chmod 600 F`). Every "
              "interconnect connection is authenticated with it and every message carries a "
              "MAC. Required with --partner unless --interconnect_trusted");
DEFINE_bool(interconnect_trusted, false,
            "run the interconnect without authentication, on a link no other host can reach: "
            "whoever reaches ADDR:--interconnect_discriminator can then make this filer take "
            "over its partner's volume or give up its own. Excludes --pair_key_file");
DEFINE_uint32(admin_discriminator, 7303,
              "discriminator (TCP port) of the admin port used by vifilerctl");
DEFINE_string(admin_secret, "",
              "shared secret that admits vifilerctl from other hosts (default: local only)");
DEFINE_uint32(heartbeat_interval_ms, 100, "interconnect and mailbox heartbeat interval");
DEFINE_uint32(heartbeat_misses, 3, "missed heartbeats before the partner is suspected");
DEFINE_bool(auto_giveback, false,
            "give the partner's volume back once it has been waiting for auto_giveback_delay_ms");
DEFINE_uint32(auto_giveback_delay_ms, 2000,
              "with --auto_giveback, how long the partner must have waited");
DEFINE_uint32(takeover_grace_ms, 5000,
              "a partner never seen alive is taken over only after this long");
DEFINE_bool(takeover_on_sigterm, true,
            "on SIGTERM/SIGINT send FAILING so the partner takes over at once");
DEFINE_string(fabric, "auto",
              "fabric: auto (rdma when an active RDMA port has an IP address), rdma or tcp");
DEFINE_string(hosts_file, "",
              "resolve filer names with this hosts file instead of the system resolver");
DEFINE_uint32(inline_threshold, 16384, "reads and writes up to this many bytes travel inline");
DEFINE_bool(durable, true,
            "acknowledge a mutation only once it and its reply-cache record are on stable "
            "storage; --nodurable acknowledges at once (unsafe: a power cut loses acknowledged "
            "writes; benchmarks and scratch volumes only)");
DEFINE_uint32(max_connections, 1024,
              "client connections each data access port serves at once; more are closed");
DEFINE_string(exports, "*",
              "who may use this filer's volume: comma-separated ADDRESS[/PREFIX][(ro|rw)] "
              "rules or * (every address), rw by default; the most specific rule that covers "
              "a client's address applies, and an address no rule covers is refused "
              "(NOT_EXPORTED). E.g. 10.0.0.0/16(rw),10.0.9.7(ro)");
DEFINE_string(partner_exports, "",
              "the same for the partner's volume while this filer serves it after a takeover "
              "(empty: --exports); give it the partner's --exports");
DEFINE_bool(allow_setid, false,
            "keep set-user-ID bits (and set-group-ID bits on files) in the modes clients set; "
            "by default they are cleared, so no client can plant a set-ID executable");
DEFINE_uint32(max_sessions, 4096,
              "clients (each with one session) a volume keeps state for at once; a new client "
              "beyond is refused (BUSY) until a lease expires");
DEFINE_uint32(max_inflight_per_session, 64,
              "requests one session may have in flight (the slots it is granted, 1..64)");
DEFINE_uint32(session_lease_ms, 600000,
              "a client's session and reply-cache state are dropped once it has had no "
              "connection and no request for this long; it then gets SESSION_EXPIRED for a "
              "replay of an earlier request");
DEFINE_uint32(idle_timeout_ms, 300000,
              "a client connection silent for this long with no request running is closed "
              "(0: never)");
#ifdef VIFILER_TEST_HOOKS
DEFINE_uint64(test_only_die_after_mutations, 0,
              "testing only: SIGKILL this filer right after the N-th mutation's reply is "
              "durable, before it is sent (0: never)");
DEFINE_uint64(test_only_die_after_syscall, 0,
              "testing only: SIGKILL this filer right after the N-th mutation ran, before its "
              "reply is recorded (0: never)");
DEFINE_uint64(test_only_stop_before_mutation, 0,
              "testing only: SIGSTOP this filer when the N-th mutation has passed every check, "
              "just before it changes the volume (0: never)");
#endif

namespace vifiler {
namespace {

// --help prints this, then every flag with its default: together, the manual page.
constexpr char kUsage[] =
    "vifilerd --name=NAME --volume=DIR|DEVICE --address=ADDR\n"
    "         [--partner=NAME --partner_volume=DIR|DEVICE] [--hosts_file=FILE] [flags]\n"
    "vifilerd --format --volume=DEVICE [--format_label=NAME] [--reply_log_mb=16] "
    "[--force_format]\n"
    "vifilerd --flagfile=FILE   (one --flag=value per line; '#' starts a comment)\n"
    "\n"
    "The vifiler filer. Serves the volume --volume (a directory, or a block device prepared\n"
    "with --format) to clients on ADDR:--primary_discriminator. With --partner it is one filer\n"
    "of an HA pair: it keeps the interconnect to the partner (ADDR:--interconnect_discriminator),\n"
    "holds its volume under a lease renewed on storage, takes the partner's volume over on\n"
    "ADDR:--secondary_discriminator when the partner fails (it sends FAILING, or it is silent\n"
    "on the interconnect and on storage), and gives it back. vifilerctl talks to it on\n"
    "ADDR:--admin_discriminator (status, takeover, giveback, halt; see vifilerctl --help).\n"
    "\n"
    "Names (--name, --partner, NAME-failover for clients) resolve through --hosts_file\n"
    "(/etc/hosts format, authoritative when given) or the system resolver.\n"
    "\n"
    "Refused at start, with one line on stderr and exit status 1, before any storage is\n"
    "touched: a missing --name, --volume or --address; --partner equal to --name; --partner\n"
    "without --partner_volume; --partner_volume naming the same volume as --volume (same path,\n"
    "or the same file or device); a --hosts_file that cannot be read, or that lacks --name;\n"
    "--partner without --pair_key_file or --interconnect_trusted, or with both; a\n"
    "--pair_key_file that is missing, not a regular file, accessible by group or others, or\n"
    "holds less than 32 bytes of key.\n"
    "\n"
    "Security: the interconnect is authenticated with the pair key (--pair_key_file): a\n"
    "challenge-response at connect proves both filers hold it, and every message carries an\n"
    "HMAC-SHA256 and a counter, so no other host can send FAILING, relinquish requests or\n"
    "heartbeats in the partner's name, nor displace its connection. --interconnect_trusted\n"
    "turns that off (logged as a WARNING) for a private link.\n"
    "\n"
    "Signals: SIGTERM and SIGINT halt the filer (the partner takes over at once unless\n"
    "--notakeover_on_sigterm); a fatal signal sends FAILING to the partner before the process\n"
    "dies. Exit status: 0 after a halt, 1 when it cannot start (the reason on stderr).\n"
    "\n"
    "Logging: glog to stderr. INFO for normal state changes (start, claims, takeover,\n"
    "giveback, halt, the interconnect coming up), WARNING for what an operator should look\n"
    "at (a partner that fails, a lost interconnect, a dropped volume), ERROR for failures of\n"
    "this filer. --minloglevel=1 keeps only warnings and errors.\n"
    "\n"
    "Files: device volumes are mapped and mounted under --run_dir; a directory volume keeps\n"
    "its metadata in DIR/.vifiler. A systemd unit example is tools/vifilerd.service.\n"
    "\n"
    "Example (two hosts; filer-b is the mirror image):\n"
    "  vifilerd --name=filer-a --address=10.0.0.11 --volume=/dev/disk/by-id/VOLUME-A \\\n"
    "           --partner=filer-b --partner_volume=/dev/disk/by-id/VOLUME-B \\\n"
    "           --hosts_file=/etc/vifiler/hosts --pair_key_file=/etc/vifiler/pair.key";

int Fatal(const std::string& what) {
  fprintf(stderr, "vifilerd: %s\n", what.c_str());
  return 1;
}

// Fatal signals: the handler wakes the notifier thread through a pipe, waits briefly for it to
// send FAILING, then lets the signal kill the process.
int fatal_pipe[2] = {-1, -1};
int fatal_ack[2] = {-1, -1};

void OnFatalSignal(int sig) {
  char c = static_cast<char>(sig);
  if (write(fatal_pipe[1], &c, 1) == 1) {
    pollfd p = {fatal_ack[0], POLLIN, 0};
    poll(&p, 1, 500);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallFatalHandlers(cluster::TakeoverController* controller) {
  if (pipe(fatal_pipe) != 0 || pipe(fatal_ack) != 0) return;
  std::thread([controller] {
    char c;
    if (read(fatal_pipe[0], &c, 1) == 1) {
      controller->SendFailing(absl::StrCat("fatal signal ", strsignal(c)));
      char ack = 1;
      if (write(fatal_ack[1], &ack, 1) != 1) return;
    }
  }).detach();
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, OnFatalSignal);
}

// True when a and b name the same volume: the same path once symbolic links and relative
// parts are resolved, or (when both exist) the same file (device and inode) or the same block
// device (device number).
bool SameVolume(const std::string& a, const std::string& b) {
  auto canonical = [](const std::string& path) {
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) != nullptr) return std::string(resolved);
    return path;
  };
  if (canonical(a) == canonical(b)) return true;
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode)) return sa.st_rdev == sb.st_rdev;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The configuration checks that need no storage and no network: run before the fence guard
// is forked and before any volume is opened, so a nonsense command line fails at once with
// one line and touches nothing. InvalidArgumentError with that line. Sets *key to the pair key
// when --pair_key_file names one.
absl::Status CheckConfiguration(std::shared_ptr<const cluster::PairKey>* key) {
  if (FLAGS_name.empty() || FLAGS_volume.empty() || FLAGS_address.empty()) {
    return absl::InvalidArgumentError("--name, --volume and --address are required (see --help)");
  }
  if (!FLAGS_partner.empty()) {
    if (FLAGS_partner == FLAGS_name) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--partner=", FLAGS_partner, " is this filer's own --name; name the other filer"));
    }
    if (FLAGS_partner_volume.empty()) {
      return absl::InvalidArgumentError("--partner needs --partner_volume");
    }
    if (SameVolume(FLAGS_volume, FLAGS_partner_volume)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--partner_volume=", FLAGS_partner_volume, " is the same volume as --volume=",
          FLAGS_volume, "; each filer of a pair has its own volume"));
    }
  }
  if (!FLAGS_hosts_file.empty()) {
    if (access(FLAGS_hosts_file.c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--hosts_file=", FLAGS_hosts_file, ": cannot read it: ", strerror(errno)));
    }
    transport::NameResolver resolver(FLAGS_hosts_file);
    if (!resolver.Resolve(FLAGS_name).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--name=", FLAGS_name, " is not in --hosts_file=", FLAGS_hosts_file,
                       " (clients and the partner find this filer by its name there)"));
    }
  }
  if (!FLAGS_pair_key_file.empty() && FLAGS_interconnect_trusted) {
    return absl::InvalidArgumentError(
        "--pair_key_file and --interconnect_trusted exclude each other; give one");
  }
  if (!FLAGS_partner.empty() && FLAGS_pair_key_file.empty() && !FLAGS_interconnect_trusted) {
    return absl::InvalidArgumentError(
        "--partner needs --pair_key_file=FILE (a secret both filers share, e.g. `openssl rand "
        "-hex 32 > FILE; chmod 600 FILE`), or --interconnect_trusted on a private link");
  }
  if (!FLAGS_pair_key_file.empty()) {
    absl::StatusOr<cluster::PairKey> loaded = cluster::LoadPairKeyFile(FLAGS_pair_key_file);
    if (!loaded.ok()) return absl::InvalidArgumentError(loaded.status().message());
    *key = std::make_shared<const cluster::PairKey>(std::move(*loaded));
  }
  return absl::OkStatus();
}

int Format() {
  storage::FormatOptions o;
  o.label = FLAGS_format_label.empty() ? FLAGS_name : FLAGS_format_label;
  o.log_bytes = uint64_t{FLAGS_reply_log_mb} << 20;
  o.force = FLAGS_force_format;
  o.run_dir = FLAGS_run_dir;
  absl::StatusOr<storage::DeviceLayout> layout = storage::FormatDevice(FLAGS_volume, o);
  if (!layout.ok()) return Fatal(std::string(layout.status().message()));
  printf("vifilerd: %s is now volume '%s'\n", FLAGS_volume.c_str(), o.label.c_str());
  return 0;
}

// Says, once at start, how many rdma connections the memlock limit leaves room for and what to
// raise: under a limit, a connection the limit cannot pin is refused, and direct transfers
// whose staging cannot be pinned are copied through message buffers (slower).
void CheckMemlockLimit() {
  const transport::MemlockLimit limit = transport::GetMemlockLimit();
  if (limit.unlimited) return;
  const uint64_t per_connection =
      transport::rdma::RdmaConnection::MessageBufferBytes(transport::FabricOptions());
  const uint64_t staging = uint64_t{1} << 20;
  LOG(WARNING) << "memlock limit: " << transport::DescribeMemlockLimit(limit)
               << "; each rdma connection pins " << (per_connection + 1023) / 1024
               << " KiB of message buffers, so about " << limit.limit_bytes / per_connection
               << " connections fit (the interconnect's included), "
               << limit.limit_bytes / (per_connection + staging)
               << " with a 1 MiB staging buffer each; connections beyond are refused and "
               << "direct transfers copied; " << transport::kMemlockAdvice;
}

int Main(cluster::FenceGuard* guard, std::shared_ptr<const cluster::PairKey> pair_key) {
  if (FLAGS_format) {
    if (FLAGS_volume.empty()) return Fatal("--format needs --volume=DEVICE");
    return Format();
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric = transport::CreateFabric(FLAGS_fabric);
  if (!fabric.ok()) return Fatal(fabric.status().ToString());
  absl::StatusOr<std::unique_ptr<transport::Fabric>> admin_fabric = transport::CreateFabric("tcp");
  if (!admin_fabric.ok()) return Fatal(admin_fabric.status().ToString());
  transport::NameResolver resolver(FLAGS_hosts_file);
  if ((*fabric)->name() == "rdma") CheckMemlockLimit();

  cluster::PairOptions options;
  options.name = FLAGS_name;
  options.volume = FLAGS_volume;
  options.address = FLAGS_address;
  options.partner = FLAGS_partner;
  options.partner_volume = FLAGS_partner_volume;
  options.primary_discriminator = static_cast<uint16_t>(FLAGS_primary_discriminator);
  options.secondary_discriminator = static_cast<uint16_t>(FLAGS_secondary_discriminator);
  options.interconnect_discriminator = static_cast<uint16_t>(FLAGS_interconnect_discriminator);
  options.pair_key = std::move(pair_key);
  if (!FLAGS_partner.empty() && options.pair_key == nullptr) {
    LOG(WARNING) << "the interconnect is unauthenticated (--interconnect_trusted): any host "
                 << "that reaches " << FLAGS_address << ":" << FLAGS_interconnect_discriminator
                 << " can make " << FLAGS_name << " take over its partner's volume or give up "
                 << "its own; use --pair_key_file unless no other host can reach that link";
  }
  options.heartbeat_interval = absl::Milliseconds(FLAGS_heartbeat_interval_ms);
  options.heartbeat_misses = static_cast<int>(FLAGS_heartbeat_misses);
  options.auto_giveback = FLAGS_auto_giveback;
  options.auto_giveback_delay = absl::Milliseconds(FLAGS_auto_giveback_delay_ms);
  options.takeover_grace = absl::Milliseconds(FLAGS_takeover_grace_ms);
  options.lease_duration = absl::Milliseconds(FLAGS_lease_ms);
  options.claim_margin = absl::Milliseconds(FLAGS_claim_margin_ms);
  options.run_dir = FLAGS_run_dir;
  options.storage.directory_reply_log_bytes = uint64_t{FLAGS_reply_log_mb} << 20;
  if (options.lease_duration <= options.heartbeat_interval * 2) {
    return Fatal("--lease_ms must be more than two heartbeat intervals");
  }
  options.service.inline_threshold = FLAGS_inline_threshold;
  options.service.durable = FLAGS_durable;
  absl::StatusOr<filer::ExportPolicy> exports = filer::ExportPolicy::Parse(FLAGS_exports);
  if (!exports.ok()) return Fatal(absl::StrCat("--exports: ", exports.status().message()));
  absl::StatusOr<filer::ExportPolicy> partner_exports = filer::ExportPolicy::Parse(
      FLAGS_partner_exports.empty() ? FLAGS_exports : FLAGS_partner_exports);
  if (!partner_exports.ok()) {
    return Fatal(absl::StrCat("--partner_exports: ", partner_exports.status().message()));
  }
  options.service.exports = *exports;
  options.partner_exports = *partner_exports;
  options.service.allow_setid = FLAGS_allow_setid;
  if (FLAGS_max_connections == 0 || FLAGS_max_sessions == 0 || FLAGS_session_lease_ms == 0 ||
      FLAGS_max_inflight_per_session == 0 || FLAGS_max_inflight_per_session > 64) {
    return Fatal(
        "--max_connections, --max_sessions and --session_lease_ms must be positive, "
        "--max_inflight_per_session 1..64");
  }
  options.service.limits.max_connections = FLAGS_max_connections;
  options.service.limits.max_sessions = FLAGS_max_sessions;
  options.service.limits.max_inflight_per_session = FLAGS_max_inflight_per_session;
  options.service.limits.session_lease = absl::Milliseconds(FLAGS_session_lease_ms);
  options.service.limits.idle_timeout = absl::Milliseconds(FLAGS_idle_timeout_ms);
#ifdef VIFILER_TEST_HOOKS
  options.service.test_only_die_after_mutations = FLAGS_test_only_die_after_mutations;
  options.service.test_only_die_after_syscall = FLAGS_test_only_die_after_syscall;
  options.service.test_only_stop_before_mutation = FLAGS_test_only_stop_before_mutation;
#endif

  cluster::TakeoverController controller(fabric->get(), &resolver, options, guard);
  absl::Status started = controller.Start();
  if (!started.ok()) return Fatal(started.ToString());
  InstallFatalHandlers(&controller);
  cluster::AdminServer admin(
      admin_fabric->get(),
      transport::Endpoint{FLAGS_address, static_cast<uint16_t>(FLAGS_admin_discriminator)},
      FLAGS_admin_secret, &controller);
  started = admin.Start();
  if (!started.ok()) return Fatal(started.ToString());
  LOG(INFO) << FLAGS_name << " started on " << (*fabric)->name() << " ("
            << cluster::FilerStateName(controller.state()) << ")";

  // SIGTERM/SIGINT halt the filer. The thread that waits for them is joined before the
  // controller goes away (it may still be inside Halt() when the halt completes).
  std::atomic<bool> halted{false};
  std::thread signal_waiter([&controller, &halted, signals] {
    const struct timespec tick = {0, 100 * 1000 * 1000};
    while (!halted) {
      const int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig <= 0) continue;  // timeout or EINTR
      LOG(INFO) << FLAGS_name << ": signal " << strsignal(sig) << ", halting";
      controller.Halt(FLAGS_takeover_on_sigterm).IgnoreError();
      return;
    }
  });
  controller.WaitForHalt(absl::InfiniteFuture());
  halted = true;
  signal_waiter.join();
  admin.Stop();
  LOG(INFO) << FLAGS_name << " halted";
  return 0;
}

}  // namespace
}  // namespace vifiler

int main(int argc, char** argv) {
  vifiler::tools::ParseToolCommandLine(vifiler::kUsage, &argc, &argv);
  FLAGS_logtostderr = true;
  std::shared_ptr<const vifiler::cluster::PairKey> pair_key;
  if (!FLAGS_format) {
    absl::Status config = vifiler::CheckConfiguration(&pair_key);
    if (!config.ok()) return vifiler::Fatal(std::string(config.message()));
  }
  // The fence guard is forked before any thread exists (glog and gflags start none).
  std::unique_ptr<vifiler::cluster::FenceGuard> guard;
  if (!FLAGS_format) {
    vifiler::cluster::FenceGuardOptions go;
    go.margin = absl::Milliseconds(FLAGS_guard_margin_ms);
    go.tick = std::min(absl::Milliseconds(50), absl::Milliseconds(FLAGS_heartbeat_interval_ms) / 2);
    go.fence = [](const std::string&, const std::vector<std::string>& devices) {
      return vifiler::storage::FenceDevices(devices);
    };
    absl::StatusOr<std::unique_ptr<vifiler::cluster::FenceGuard>> spawned =
        vifiler::cluster::FenceGuard::Spawn(go);
    if (!spawned.ok()) {
      fprintf(stderr, "vifilerd: cannot start the fence guard: %s\n",
              std::string(spawned.status().message()).c_str());
      return 1;
    }
    guard = std::move(*spawned);
  }
  google::InitGoogleLogging(argv[0]);
  vifiler::tools::RouteLogToGlog();
  const int rc = vifiler::Main(guard.get(), std::move(pair_key));
  if (guard != nullptr) guard->Stop(absl::Now() + absl::Seconds(5)).IgnoreError();
  return rc;
}
