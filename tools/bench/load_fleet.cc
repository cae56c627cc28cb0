// Copyright 2026 The vifiler Authors.

#include "tools/bench/load_fleet.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vifiler {
namespace bench {

LoadFleet::LoadFleet(std::string program, std::vector<std::string> args, std::string dir,
                     std::string ids_prefix)
    : program_(std::move(program)),
      args_(std::move(args)),
      dir_(std::move(dir)),
      ids_prefix_(std::move(ids_prefix)) {}

LoadFleet::~LoadFleet() {
  for (auto& loader : loaders_) loader->Kill();
}

absl::Status LoadFleet::Start(int count) {
  for (int n = 0; n < count; ++n) {
    std::vector<std::string> argv = {program_};
    argv.insert(argv.end(), args_.begin(), args_.end());
    argv.push_back(absl::StrCat("--client_id=", ids_prefix_, "-", n));
    logs_.push_back(absl::StrCat(dir_, "/load-", n, ".log"));
    absl::StatusOr<std::unique_ptr<tools::ChildProcess>> child =
        tools::ChildProcess::Start(argv, logs_.back());
    if (!child.ok()) {
      logs_.pop_back();
      return child.status();
    }
    loaders_.push_back(std::move(*child));
  }
  return absl::OkStatus();
}

std::string LoadFleet::ReadLog(int n) const {
  std::ifstream in(logs_[n]);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status LoadFleet::WaitReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (int n = 0; n < size(); ++n) {
    while (ReadLog(n).find(load::kReadyPrefix) == std::string::npos) {
      if (!loaders_[n]->Running()) {
        return absl::AbortedError(absl::StrCat("loader ", n, " ", loaders_[n]->ExitDescription(),
                                               " before it was ready"));
      }
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("loader ", n, " not ready after ", absl::FormatDuration(timeout)));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  return absl::OkStatus();
}

std::vector<std::map<std::string, std::string>> LoadFleet::Progress() const {
  std::vector<std::map<std::string, std::string>> out;
  for (int n = 0; n < size(); ++n) {
    out.push_back(load::LastLineWithPrefix(ReadLog(n), load::kProgressPrefix));
  }
  return out;
}

std::vector<uint64_t> LoadFleet::Acked() const {
  std::vector<uint64_t> out;
  for (std::map<std::string, std::string>& kv : Progress()) {
    uint64_t acked = 0;
    if (kv.count("acked") > 0) absl::SimpleAtoi(kv["acked"], &acked);
    out.push_back(acked);
  }
  return out;
}

absl::Status LoadFleet::WaitProgress(const std::vector<uint64_t>& since, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::vector<uint64_t> now = Acked();
    int behind = -1;
    for (int n = 0; n < size(); ++n) {
      if (!loaders_[n]->Running()) {
        return absl::AbortedError(
            absl::StrCat("loader ", n, " ", loaders_[n]->ExitDescription(), " during the soak"));
      }
      if (n < static_cast<int>(since.size()) && now[n] <= since[n]) behind = n;
    }
    if (behind < 0) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("loader ", behind, " acknowledged nothing new in ",
                       absl::FormatDuration(timeout), " (still at acked=", now[behind], ")"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::vector<absl::StatusOr<load::LoadSummary>> LoadFleet::StopAndCollect(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (auto& loader : loaders_) loader->Signal(SIGTERM);
  std::vector<absl::StatusOr<load::LoadSummary>> out;
  for (int n = 0; n < size(); ++n) {
    absl::Status exited = loaders_[n]->Wait(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    if (!exited.ok()) loaders_[n]->Kill();
    absl::StatusOr<load::LoadSummary> summary = load::FindSummary(ReadLog(n));
    if (!exited.ok()) {
      summary = absl::DeadlineExceededError(absl::StrCat(
          "loader ", n, " still running ", absl::FormatDuration(timeout), " after SIGTERM"));
    } else if (!summary.ok()) {
      summary = absl::Status(summary.status().code(),
                             absl::StrCat("loader ", n, " (", loaders_[n]->ExitDescription(),
                                          "): ", summary.status().message()));
    }
    out.push_back(summary);
  }
  return out;
}

std::string LoadFleet::LogTails(int lines) const {
  std::string out;
  for (int n = 0; n < size(); ++n) {
    absl::StrAppend(&out, "---- loader ", n, " log (", logs_[n], "), last ", lines, " lines:\n",
                    tools::TailOfFile(logs_[n], lines));
  }
  return out;
}

}  // namespace bench
}  // namespace vifiler
