// Copyright 2026 The vifiler Authors.

#include "tools/testbed/status_watch.h"

#include <stdio.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cluster/admin_server.h"
#include "transport/connection.h"
#include "transport/fabric.h"

namespace vifiler {
namespace testbed {
namespace {

absl::StatusOr<std::string> AskStatus(transport::Fabric* fabric, const std::string& address,
                                      const StatusWatchOptions& options) {
  const absl::Time deadline = absl::Now() + options.timeout;
  transport::PeerIdentity identity;
  identity.identity = "vifiler-testbed-watch";
  identity.purpose = transport::kPurposeAdmin;
  absl::StatusOr<std::unique_ptr<transport::Connection>> c =
      fabric->Connect({address, options.admin_discriminator}, identity, deadline);
  if (!c.ok()) return c.status();
  absl::Status s = (*c)->Send(cluster::EncodeAdminRequest("status", options.secret), deadline);
  if (!s.ok()) return s;
  absl::StatusOr<std::string> reply = (*c)->Receive(deadline);
  (*c)->Close();
  if (!reply.ok()) return reply.status();
  return cluster::ParseAdminReply(*reply);
}

// Writes text to path atomically (temp file + rename in the same directory).
void WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  FILE* f = fopen(tmp.c_str(), "w");
  if (f == nullptr) return;
  const bool written = fwrite(text.data(), 1, text.size(), f) == text.size();
  if (fclose(f) == 0 && written) rename(tmp.c_str(), path.c_str());
}

void Watch(const std::string& name, const std::string& address, const StatusWatchOptions& options,
           transport::Fabric* fabric) {
  const std::string path = absl::StrCat(options.out_dir, "/status-", name);
  for (uint64_t seq = 1;; ++seq) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> body = AskStatus(fabric, address, options);
    std::string text = absl::StrCat("seq=", seq, "\nunix_ms=", absl::ToUnixMillis(absl::Now()),
                                    "\nreachable=", body.ok() ? "yes" : "no", "\n");
    if (body.ok()) {
      absl::StrAppend(&text, *body);
    } else {
      absl::StrAppend(&text, "error=", absl::StrReplaceAll(body.status().ToString(), {{"\n", " "}}),
                      "\n");
    }
    WriteAtomically(path, text);
    const absl::Duration spent = absl::Now() - start;
    if (spent < options.interval) absl::SleepFor(options.interval - spent);
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseFilerList(absl::string_view list) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty() || kv[1].empty()) return {};
    out.emplace_back(kv[0], kv[1]);
  }
  return out;
}

std::map<std::string, std::string> ParseStatusLines(absl::string_view text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    out[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return out;
}

int RunStatusWatch(const StatusWatchOptions& options) {
  if (options.filers.empty() || options.out_dir.empty()) {
    fprintf(stderr, "status watch: no filers or no output directory\n");
    return 1;
  }
  absl::StatusOr<std::unique_ptr<transport::Fabric>> tcp = transport::CreateFabric("tcp");
  if (!tcp.ok()) {
    fprintf(stderr, "status watch: %s\n", tcp.status().ToString().c_str());
    return 1;
  }
  std::vector<std::thread> threads;
  for (const auto& [name, address] : options.filers) {
    threads.emplace_back(Watch, name, address, options, tcp->get());
  }
  for (std::thread& t : threads) t.join();  // never returns: each thread polls forever
  return 0;
}

}  // namespace testbed
}  // namespace vifiler
