// Copyright 2026 The vifiler Authors.
//
// vifilerd: the filer. Serves its volume on its primary data access port; with --partner, runs
// as one filer of an HA pair (interconnect, failure detection, takeover and giveback); answers
// vifilerctl on its admin port. SIGTERM/SIGINT halt it (with takeover by the partner unless
// --notakeover_on_sigterm); a fatal signal sends FAILING to the partner before the process dies.

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cluster/admin_server.h"
#include "cluster/fence_guard.h"
#include "cluster/takeover_controller.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "storage/device_format.h"
#include "storage/volume_storage.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

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
DEFINE_string(fabric, "auto", "fabric: auto (rdma when an RDMA device is present), rdma or tcp");
DEFINE_string(hosts_file, "",
              "resolve filer names with this hosts file instead of the system resolver");
DEFINE_uint32(inline_threshold, 16384, "reads and writes up to this many bytes travel inline");
DEFINE_bool(durable, true,
            "acknowledge a mutation only once it and its reply-cache record are on stable "
            "storage; --nodurable acknowledges at once (unsafe: a power cut loses acknowledged "
            "writes; benchmarks and scratch volumes only)");
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

int Main(cluster::FenceGuard* guard) {
  if (FLAGS_format) {
    if (FLAGS_volume.empty()) return Fatal("--format needs --volume=DEVICE");
    return Format();
  }
  if (FLAGS_name.empty() || FLAGS_volume.empty() || FLAGS_address.empty()) {
    return Fatal("--name, --volume and --address are required (see --help)");
  }
  if (!FLAGS_partner.empty() && FLAGS_partner_volume.empty()) {
    return Fatal("--partner needs --partner_volume");
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

  cluster::PairOptions options;
  options.name = FLAGS_name;
  options.volume = FLAGS_volume;
  options.address = FLAGS_address;
  options.partner = FLAGS_partner;
  options.partner_volume = FLAGS_partner_volume;
  options.primary_discriminator = static_cast<uint16_t>(FLAGS_primary_discriminator);
  options.secondary_discriminator = static_cast<uint16_t>(FLAGS_secondary_discriminator);
  options.interconnect_discriminator = static_cast<uint16_t>(FLAGS_interconnect_discriminator);
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
  gflags::SetUsageMessage(
      "vifilerd --name=NAME --volume=DIR --address=ADDR [--partner=NAME --partner_volume=DIR] "
      "[flags]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
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
  const int rc = vifiler::Main(guard.get());
  if (guard != nullptr) guard->Stop(absl::Now() + absl::Seconds(5)).IgnoreError();
  return rc;
}
