// Copyright 2026 The vifiler Authors.
//
// ExportPolicy: which client addresses may use a volume, and how (read-write or read-only,
// and how their users are squashed); the filer's counterpart of an NFS export list.
//
// Contract:
//  - Parse() reads a comma-separated list of rules, each ADDRESS[/PREFIX][(OPTION,...)]: an
//    IPv4 or IPv6 address with an optional prefix length (none: the one address), or `*` for
//    every address. Options: `rw` (the default) or `ro`; `root_squash` (the default: the
//    client's uid 0 and gid 0 become the anonymous ids), `no_root_squash` (root stays root) or
//    `all_squash` (every user becomes anonymous); see filer/credentials.h. Commas inside the
//    parentheses separate options, outside them rules. Spaces around rules and options are
//    ignored. An empty spec, or one with an unreadable rule, is InvalidArgumentError naming
//    the rule.
//  - Lookup() gives the export of the most specific rule (longest prefix; `*` is the least
//    specific) that covers the address; access kDenied when none does. The address is a peer
//    address as the fabric reports it: "A.B.C.D", "A.B.C.D:PORT", "[v6]:PORT" or a bare IPv6
//    address; an unreadable one is denied. Check() is Lookup().access.
//  - ToString() gives the rules back in a canonical form with every option spelled out, e.g.
//    `10.0.0.0/8(rw,no_root_squash),*(ro,root_squash)` (for logs and `vifilerctl status`).
// Immutable after Parse(): thread-safe.

#ifndef VIFILER_FILER_EXPORT_POLICY_H_
#define VIFILER_FILER_EXPORT_POLICY_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "filer/credentials.h"

namespace vifiler {
namespace filer {

class ExportPolicy {
 public:
  enum class Access { kDenied, kReadOnly, kReadWrite };

  // Every address, read-write (a filer's default: `*`).
  ExportPolicy();

  struct Export {
    Access access = Access::kDenied;
    Squash squash = Squash::kRoot;
  };

  static absl::StatusOr<ExportPolicy> Parse(absl::string_view spec);

  Export Lookup(absl::string_view peer_address) const;
  Access Check(absl::string_view peer_address) const { return Lookup(peer_address).access; }
  std::string ToString() const;

 private:
  struct Rule {
    bool any = false;  // `*`
    bool v6 = false;
    std::array<uint8_t, 16> address{};  // IPv4 in the first 4 bytes
    int prefix = 0;                     // bits
    bool read_only = false;
    Squash squash = Squash::kRoot;
  };
  static bool Covers(const Rule& rule, bool v6, const std::array<uint8_t, 16>& address);

  std::vector<Rule> rules_;
};

const char* ExportAccessName(ExportPolicy::Access access);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_EXPORT_POLICY_H_
