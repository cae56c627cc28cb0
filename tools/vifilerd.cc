// Copyright 2026 The vifiler Authors.
//
// vifilerd: the filer. Serves its volume on its primary data access port; with --partner, runs
// as one filer of an HA pair (interconnect, failure detection, takeover and giveback); answers
// vifilerctl on its admin port. SIGTERM/SIGINT halt it (with takeover by the partner unless
// --notakeover_on_sigterm); a fatal signal sends FAILING to the partner before the process dies.

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cluster/admin_server.h"
#include "cluster/takeover_controller.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

DEFINE_string(name, "", "this filer's name (required), e.g. filer-a");
DEFINE_string(volume, "", "directory holding this filer's volume (required)");
DEFINE_string(address, "", "host address the filer listens on (required), e.g. 127.0.0.2");
DEFINE_string(partner, "", "name of the partner filer (empty: no partner, no failover)");
DEFINE_string(partner_volume, "", "directory of the partner's volume, on storage both reach");
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

int Main() {
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
  options.service.inline_threshold = FLAGS_inline_threshold;
  options.service.durable = FLAGS_durable;
#ifdef VIFILER_TEST_HOOKS
  options.service.test_only_die_after_mutations = FLAGS_test_only_die_after_mutations;
  options.service.test_only_die_after_syscall = FLAGS_test_only_die_after_syscall;
  options.service.test_only_stop_before_mutation = FLAGS_test_only_stop_before_mutation;
#endif

  cluster::TakeoverController controller(fabric->get(), &resolver, options);
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

  std::thread([&controller, signals] {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) return;
    LOG(WARNING) << FLAGS_name << ": signal " << strsignal(sig) << ", halting";
    controller.Halt(FLAGS_takeover_on_sigterm).IgnoreError();
  }).detach();
  controller.WaitForHalt(absl::InfiniteFuture());
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
  google::InitGoogleLogging(argv[0]);
  return vifiler::Main();
}
