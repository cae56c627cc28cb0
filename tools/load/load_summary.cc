// Copyright 2026 The vifiler Authors.

#include "tools/load/load_summary.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tools/json_string.h"

namespace vifiler {
namespace load {
namespace {

using tools::JsonString;

// The last line of text starting with prefix; empty when there is none.
absl::string_view LastLine(absl::string_view text, absl::string_view prefix) {
  absl::string_view found;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) found = line;
  }
  return found;
}

template <typename T>
bool Number(const std::map<std::string, std::string>& kv, const std::string& key, T* out) {
  auto it = kv.find(key);
  return it != kv.end() && absl::SimpleAtoi(it->second, out);
}

}  // namespace

std::string FormatSummaryLine(const LoadSummary& s) {
  return absl::StrCat(
      kSummaryPrefix, "acked=", s.acked, " twice=", s.twice, " errors=", s.errors, " lost=", s.lost,
      " max_stall_ms=", s.max_stall_ms, " failovers=", s.failovers, " failbacks=", s.failbacks,
      " reconnects=", s.reconnects, " replays=", s.replays,
      " keepalive_failures=", s.keepalive_failures, " root_mismatches=", s.root_mismatches,
      " cycles=", s.cycles, " threads=", s.threads, " seconds=", absl::StrFormat("%.1f", s.seconds),
      " verified=", s.verified ? "yes" : "no", " client=", s.client_id.empty() ? "-" : s.client_id,
      " result=", s.Passed() ? "PASS" : "FAIL");
}

std::string FormatSummaryJson(const LoadSummary& s) {
  std::string problems;
  for (const std::string& p : s.problems) {
    absl::StrAppend(&problems, problems.empty() ? "" : ",", JsonString(p));
  }
  return absl::StrCat("{\"tool\":\"vifiler-load\",\"client\":", JsonString(s.client_id),
                      ",\"threads\":", s.threads, ",\"cycles\":", s.cycles, ",\"acked\":", s.acked,
                      ",\"twice\":", s.twice, ",\"errors\":", s.errors, ",\"lost\":", s.lost,
                      ",\"max_stall_ms\":", s.max_stall_ms, ",\"failovers\":", s.failovers,
                      ",\"failbacks\":", s.failbacks, ",\"reconnects\":", s.reconnects,
                      ",\"replays\":", s.replays, ",\"keepalive_failures\":", s.keepalive_failures,
                      ",\"root_mismatches\":", s.root_mismatches,
                      ",\"seconds\":", absl::StrFormat("%.1f", s.seconds),
                      ",\"verified\":", s.verified ? "true" : "false", ",\"result\":\"",
                      s.Passed() ? "PASS" : "FAIL", "\",\"problems\":[", problems, "]}");
}

std::map<std::string, std::string> ParseKeyValues(absl::string_view line) {
  std::map<std::string, std::string> out;
  for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    const size_t eq = word.find('=');
    if (eq == absl::string_view::npos) continue;
    out[std::string(word.substr(0, eq))] = std::string(word.substr(eq + 1));
  }
  return out;
}

std::map<std::string, std::string> LastLineWithPrefix(absl::string_view text,
                                                      absl::string_view prefix) {
  absl::string_view line = LastLine(text, prefix);
  if (line.empty()) return {};
  return ParseKeyValues(line.substr(prefix.size()));
}

absl::StatusOr<LoadSummary> FindSummary(absl::string_view text) {
  absl::string_view line = LastLine(text, kSummaryPrefix);
  if (line.empty()) return absl::NotFoundError("no summary line");
  const std::map<std::string, std::string> kv =
      ParseKeyValues(line.substr(sizeof(kSummaryPrefix) - 1));
  LoadSummary s;
  bool ok = Number(kv, "acked", &s.acked) && Number(kv, "twice", &s.twice) &&
            Number(kv, "errors", &s.errors) && Number(kv, "lost", &s.lost) &&
            Number(kv, "max_stall_ms", &s.max_stall_ms) && Number(kv, "failovers", &s.failovers) &&
            Number(kv, "failbacks", &s.failbacks);
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("malformed summary: ", line));
  Number(kv, "reconnects", &s.reconnects);
  Number(kv, "replays", &s.replays);
  Number(kv, "keepalive_failures", &s.keepalive_failures);
  Number(kv, "root_mismatches", &s.root_mismatches);
  Number(kv, "cycles", &s.cycles);
  Number(kv, "threads", &s.threads);
  auto seconds = kv.find("seconds");
  if (seconds != kv.end()) absl::SimpleAtod(seconds->second, &s.seconds);
  auto verified = kv.find("verified");
  s.verified = verified != kv.end() && verified->second == "yes";
  auto client = kv.find("client");
  if (client != kv.end()) s.client_id = client->second;
  return s;
}

}  // namespace load
}  // namespace vifiler
