// Copyright 2026 The vifiler Authors.

#include "tools/bench/filer_pair.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace bench {

FilerPair::FilerPair(std::string vifilerd, std::string dir, std::string fabric,
                     std::string address_a, std::string address_b, AdminClient* admin)
    : vifilerd_(std::move(vifilerd)),
      dir_(std::move(dir)),
      fabric_(std::move(fabric)),
      address_{std::move(address_a), std::move(address_b)},
      name_{"filer-a", "filer-b"},
      admin_(admin) {
  for (int i = 0; i < 2; ++i) {
    volume_[i] = absl::StrCat(dir_, "/volume-", i == kA ? "a" : "b");
    log_[i] = absl::StrCat(dir_, "/", name_[i], ".log");
    mkdir(volume_[i].c_str(), 0755);
  }
  hosts_file_ = dir_ + "/hosts";
  std::ofstream out(hosts_file_);
  out << address_[kA] << " filer-a\n"
      << address_[kB] << " filer-b\n"
      << address_[kB] << " filer-a-failover\n"
      << address_[kA] << " filer-b-failover\n";
  // The pair key both filers authenticate their interconnect with: 64 random hex digits,
  // readable by this user only.
  key_file_ = dir_ + "/pair.key";
  std::random_device random;
  std::string key;
  for (int i = 0; i < 8; ++i) key += absl::StrCat(absl::Hex(random(), absl::kZeroPad8));
  key += "\n";
  const int fd = open(key_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (write(fd, key.data(), key.size()) != static_cast<ssize_t>(key.size())) key_file_.clear();
    fchmod(fd, 0600);
    close(fd);
  }
}

FilerPair::~FilerPair() { StopAll(absl::Seconds(5)); }

absl::Status FilerPair::StartFiler(Which which) {
  const int other = which == kA ? kB : kA;
  std::vector<std::string> argv = {vifilerd_,
                                   "--name=" + name_[which],
                                   "--volume=" + volume_[which],
                                   "--address=" + address_[which],
                                   "--fabric=" + fabric_,
                                   "--hosts_file=" + hosts_file_,
                                   "--partner=" + name_[other],
                                   "--partner_volume=" + volume_[other],
                                   "--pair_key_file=" + key_file_};
  if (process_[which] != nullptr) process_[which]->Kill();
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(argv, log_[which]);
  if (!child.ok()) return child.status();
  process_[which] = std::move(*child);
  return absl::OkStatus();
}

absl::Status FilerPair::WaitServing(Which which, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  client::ClientOptions o;
  o.fabric = fabric_;
  o.hosts_file = hosts_file_;
  o.failover = false;
  o.connect_timeout = absl::Seconds(1);
  o.failover_deadline = absl::Milliseconds(100);
  absl::Status last;
  while (absl::Now() < deadline) {
    if (process_[which] == nullptr || !process_[which]->Running()) {
      return absl::UnavailableError(
          absl::StrCat(name_[which], " is not running (",
                       process_[which] ? process_[which]->ExitDescription() : "not started", ")"));
    }
    absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(name_[which], o);
    if (c.ok()) return absl::OkStatus();
    last = c.status();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      name_[which], " not serving after ", absl::FormatDuration(timeout), ": ", last.message()));
}

absl::Status FilerPair::Start(absl::Duration timeout) {
  for (Which w : {kA, kB}) {
    absl::Status s = StartFiler(w);
    if (!s.ok()) return s;
  }
  for (Which w : {kA, kB}) {
    absl::Status s = WaitServing(w, timeout);
    if (!s.ok()) return s;
  }
  for (Which w : {kA, kB}) {
    absl::Status s = admin_->WaitFor(address_[w], "partner_state", "up", timeout);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void FilerPair::Kill(Which which) {
  if (process_[which] != nullptr) process_[which]->Kill();
}

void FilerPair::StopAll(absl::Duration grace) {
  // Both get SIGTERM first, so neither spends the grace period taking the other over.
  for (auto& p : process_) {
    if (p != nullptr) p->Signal(SIGTERM);
  }
  for (auto& p : process_) {
    if (p != nullptr) p->Stop(grace);
  }
}

std::string FilerPair::LogTails(int lines) const {
  std::string out;
  for (int i = 0; i < 2; ++i) {
    absl::StrAppend(&out, "---- ", name_[i], " log (", log_[i], "), last ", lines, " lines:\n",
                    TailOfFile(log_[i], lines));
  }
  return out;
}

}  // namespace bench
}  // namespace vifiler
