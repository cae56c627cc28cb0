// Copyright 2026 The vifiler Authors.
//
// Smoke test of VmCluster (suite 'hosts'): one boot of guests a, b, c with a shared disk and
// the build directory shared, then: commands run on each guest with its own address; a
// partition a|b cuts a -> b while c still reaches b; a file written with sync on an ext4 on the
// shared disk is seen by b after a's power cut (journal recovery); a restarted a has its
// address again. Also: Start/Signal/Wait of a background job, and an Exec past its timeout.

#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tools/testbed/vm_cluster.h"

namespace vifiler {
namespace testing {
namespace {

using testbed::ExecResult;
using testbed::VmCluster;

constexpr absl::Duration kCommandTimeout = absl::Seconds(60);

std::string CurrentDir() {
  char buf[4096];
  return getcwd(buf, sizeof(buf)) != nullptr ? std::string(buf) : std::string(".");
}

// bash in the guest: connect to ip:7000, send a line, expect it back from the echo server.
std::vector<std::string> EchoClient(const std::string& ip) {
  return {"timeout",
          "15",
          "bash",
          "-c",
          "exec 3<>/dev/tcp/$0/7000 && echo ping >&3 && read -r -t 10 l <&3 && echo \"$l\"",
          ip};
}

::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status;
}

void Timing(const std::string& what, absl::Time since) {
  std::cout << "[timing] " << what << ": " << absl::FormatDuration(absl::Now() - since) << "\n";
}

class HostsSmokeTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && cluster_ != nullptr) {
      for (const std::string& host : cluster_->hosts()) {
        absl::StatusOr<std::string> console = cluster_->Console(host);
        if (!console.ok()) continue;
        const std::string& c = *console;
        std::cerr << "--- console of " << host << " (tail):\n"
                  << c.substr(c.size() > 3000 ? c.size() - 3000 : 0) << "\n";
      }
    }
    cluster_.reset();  // down --purge (unless VIFILER_KEEP_CLUSTER=1)
  }

  std::unique_ptr<VmCluster> cluster_;
};

TEST_F(HostsSmokeTest, ExecPartitionPowerCutRestart) {
  const absl::Time t0 = absl::Now();
  VmCluster::Options options;
  options.hosts = {"a", "b", "c"};
  options.disks = {{"d1", 64}};
  options.shares = {CurrentDir()};  // meson runs the test in the build directory
  absl::StatusOr<std::unique_ptr<VmCluster>> up = VmCluster::Up(options);
  ASSERT_TRUE(up.ok()) << up.status();
  cluster_ = std::move(*up);
  VmCluster& vmc = *cluster_;
  Timing("up a,b,c", t0);
  std::cout << vmc.boot_log();

  // Each guest is its own host: its name, its address on eth0.
  std::map<std::string, std::string> ip;
  for (const std::string& host : vmc.hosts()) {
    absl::StatusOr<std::string> addr = vmc.Ip(host);
    ASSERT_TRUE(addr.ok()) << addr.status();
    ip[host] = *addr;
    absl::StatusOr<ExecResult> r =
        vmc.Exec(host, {"sh", "-c", "cat /proc/sys/kernel/hostname; ip -4 -o addr show dev eth0"},
                 kCommandTimeout);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->exit_code, 0) << r->err;
    EXPECT_TRUE(absl::StartsWith(r->out, host + "\n")) << r->out;
    EXPECT_TRUE(absl::StrContains(r->out, " " + ip[host] + "/24 ")) << r->out;
  }
  EXPECT_NE(ip["a"], ip["b"]);

  // A partition a|b: a cannot reach b, c still can.
  absl::Time t = absl::Now();
  absl::StatusOr<std::string> server =
      vmc.Start("b", {"busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/cat"});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<ExecResult> r = vmc.Exec("a", EchoClient(ip["b"]), kCommandTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "ping\n") << "a -> b before the partition: " << r->err;
  ASSERT_TRUE(IsOk(vmc.Partition("a", "b")));
  r = vmc.Exec("c", EchoClient(ip["b"]), kCommandTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "ping\n") << "c -> b during the partition a|b: " << r->err;
  r = vmc.Exec("a", {"timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/$0/7000", ip["b"]},
               kCommandTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0) << "a -> b connected during the partition a|b";
  ASSERT_TRUE(IsOk(vmc.Heal()));
  ASSERT_TRUE(IsOk(vmc.Signal("b", *server, SIGTERM)));
  r = vmc.Wait("b", *server, kCommandTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 128 + SIGTERM) << r->err;
  Timing("partition checks", t);

  // Calls are bounded: a command past its timeout is killed and reported as such.
  r = vmc.Exec("c", {"sleep", "100"}, absl::Seconds(2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();

  // ext4 on the shared disk: written and synced on a, power cut, mounted on b.
  t = absl::Now();
  r = vmc.Exec("a",
               {"sh", "-c",
                "set -e; mkfs.ext4 -q -F /dev/disk/by-id/virtio-d1; mkdir -p /mnt/d1;"
                "mount /dev/disk/by-id/virtio-d1 /mnt/d1; echo survived-power-cut > /mnt/d1/f;"
                "sync"},
               kCommandTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->exit_code, 0) << r->out << r->err;
  ASSERT_TRUE(IsOk(vmc.PowerCut("a")));
  absl::StatusOr<std::map<std::string, std::string>> states = vmc.States();
  ASSERT_TRUE(states.ok()) << states.status();
  EXPECT_EQ((*states)["a"], "down");
  r = vmc.Exec("b",
               {"sh", "-c",
                "mkdir -p /mnt/d1 && mount /dev/disk/by-id/virtio-d1 /mnt/d1 && cat /mnt/d1/f;"
                "rc=$?; umount /mnt/d1; exit $rc"},
               kCommandTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_EQ(r->out, "survived-power-cut\n") << r->err;
  Timing("mkfs + write + sync on a, power cut, mount on b", t);

  // A restarted a has its address again.
  t = absl::Now();
  ASSERT_TRUE(IsOk(vmc.Restart("a")));
  Timing("restart a", t);
  r = vmc.Exec("a", {"sh", "-c", "echo $VMC_BOOT; ip -4 -o addr show dev eth0"}, kCommandTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(absl::StartsWith(r->out, "2\n")) << r->out;
  EXPECT_TRUE(absl::StrContains(r->out, " " + ip["a"] + "/24 ")) << r->out;
  Timing("total", t0);
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
