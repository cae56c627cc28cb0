// Copyright 2026 The vifiler Authors.

#include "filer/export_policy.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace vifiler {
namespace filer {
namespace {

// Reads an IPv4 or IPv6 address (no port, no brackets).
bool ParseAddress(const std::string& text, bool* v6, std::array<uint8_t, 16>* out) {
  out->fill(0);
  if (inet_pton(AF_INET, text.c_str(), out->data()) == 1) {
    *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out->data()) == 1) {
    *v6 = true;
    return true;
  }
  return false;
}

// The host part of a peer address: "A.B.C.D:PORT" -> "A.B.C.D", "[v6]:PORT" -> "v6"; a bare
// address is returned as it is.
std::string HostOf(absl::string_view peer) {
  if (absl::StartsWith(peer, "[")) {
    const size_t close = peer.find(']');
    return std::string(peer.substr(1, close == absl::string_view::npos ? 0 : close - 1));
  }
  const size_t colon = peer.find(':');
  if (colon != absl::string_view::npos && peer.find(':', colon + 1) == absl::string_view::npos) {
    return std::string(peer.substr(0, colon));  // IPv4 with a port
  }
  return std::string(peer);  // IPv4 alone, or a bare IPv6 address
}

}  // namespace

ExportPolicy::ExportPolicy() {
  Rule everyone;
  everyone.any = true;
  rules_.push_back(everyone);
}

absl::StatusOr<ExportPolicy> ExportPolicy::Parse(absl::string_view spec) {
  ExportPolicy policy;
  policy.rules_.clear();
  for (absl::string_view raw : absl::StrSplit(spec, ',')) {
    absl::string_view text = absl::StripAsciiWhitespace(raw);
    const auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("export rule '", text, "': ", why,
                                                     " (expected ADDRESS[/PREFIX][(ro|rw)] or *)"));
    };
    if (text.empty()) return bad("empty");
    Rule rule;
    absl::string_view target = text;
    const size_t paren = text.find('(');
    if (paren != absl::string_view::npos) {
      if (!absl::EndsWith(text, ")")) return bad("unclosed option");
      const absl::string_view option = text.substr(paren + 1, text.size() - paren - 2);
      if (option == "ro") {
        rule.read_only = true;
      } else if (option != "rw") {
        return bad(absl::StrCat("unknown option '", option, "'"));
      }
      target = absl::StripAsciiWhitespace(text.substr(0, paren));
    }
    if (target == "*") {
      rule.any = true;
    } else {
      std::vector<absl::string_view> parts = absl::StrSplit(target, absl::MaxSplits('/', 1));
      if (!ParseAddress(std::string(parts[0]), &rule.v6, &rule.address)) {
        return bad("not an IPv4 or IPv6 address");
      }
      const int max_prefix = rule.v6 ? 128 : 32;
      rule.prefix = max_prefix;
      if (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &rule.prefix) || rule.prefix < 0 ||
                                rule.prefix > max_prefix)) {
        return bad(absl::StrCat("prefix length must be 0..", max_prefix));
      }
    }
    policy.rules_.push_back(rule);
  }
  return policy;
}

bool ExportPolicy::Covers(const Rule& rule, bool v6, const std::array<uint8_t, 16>& address) {
  if (rule.any) return true;
  if (rule.v6 != v6) return false;
  int bits = rule.prefix;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((rule.address[i] & mask) != (address[i] & mask)) return false;
  }
  return true;
}

ExportPolicy::Access ExportPolicy::Check(absl::string_view peer_address) const {
  bool v6 = false;
  std::array<uint8_t, 16> address{};
  if (!ParseAddress(HostOf(peer_address), &v6, &address)) return Access::kDenied;
  const Rule* best = nullptr;
  for (const Rule& rule : rules_) {
    if (!Covers(rule, v6, address)) continue;
    const int specificity = rule.any ? -1 : rule.prefix;
    if (best == nullptr || specificity > (best->any ? -1 : best->prefix)) best = &rule;
  }
  if (best == nullptr) return Access::kDenied;
  return best->read_only ? Access::kReadOnly : Access::kReadWrite;
}

std::string ExportPolicy::ToString() const {
  std::vector<std::string> out;
  for (const Rule& rule : rules_) {
    std::string target = "*";
    if (!rule.any) {
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(rule.v6 ? AF_INET6 : AF_INET, rule.address.data(), text, sizeof(text));
      target = absl::StrCat(text, "/", rule.prefix);
    }
    out.push_back(absl::StrCat(target, rule.read_only ? "(ro)" : "(rw)"));
  }
  return absl::StrJoin(out, ",");
}

const char* ExportAccessName(ExportPolicy::Access access) {
  switch (access) {
    case ExportPolicy::Access::kDenied:
      return "denied";
    case ExportPolicy::Access::kReadOnly:
      return "read-only";
    case ExportPolicy::Access::kReadWrite:
      return "read-write";
  }
  return "?";
}

}  // namespace filer
}  // namespace vifiler
