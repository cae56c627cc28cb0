// Copyright 2026 The vifiler Authors.
//
// ExportPolicy: which client addresses may use a volume, and how (read-write or read-only);
// the filer's counterpart of an NFS export list.
//
// Contract:
//  - Parse() reads a comma-separated list of rules, each ADDRESS[/PREFIX][(ro|rw)]: an IPv4
//    or IPv6 address with an optional prefix length (none: the one address), or `*` for every
//    address; the access defaults to rw. Spaces around rules are ignored. An empty spec, or one
//    with an unreadable rule, is InvalidArgumentError naming the rule.
//  - Check() gives the access of the most specific rule (longest prefix; `*` is the least
//    specific) that covers the address; kDenied when none does. The address is a peer address
//    as the fabric reports it: "A.B.C.D", "A.B.C.D:PORT", "[v6]:PORT" or a bare IPv6 address;
//    an unreadable one is denied.
//  - ToString() gives the rules back in a canonical form (for logs and `vifilerctl status`).
// Immutable after Parse(): thread-safe.

#ifndef VIFILER_FILER_EXPORT_POLICY_H_
#define VIFILER_FILER_EXPORT_POLICY_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vifiler {
namespace filer {

class ExportPolicy {
 public:
  enum class Access { kDenied, kReadOnly, kReadWrite };

  // Every address, read-write (a filer's default: `*`).
  ExportPolicy();

  static absl::StatusOr<ExportPolicy> Parse(absl::string_view spec);

  Access Check(absl::string_view peer_address) const;
  std::string ToString() const;

 private:
  struct Rule {
    bool any = false;  // `*`
    bool v6 = false;
    std::array<uint8_t, 16> address{};  // IPv4 in the first 4 bytes
    int prefix = 0;                     // bits
    bool read_only = false;
  };
  static bool Covers(const Rule& rule, bool v6, const std::array<uint8_t, 16>& address);

  std::vector<Rule> rules_;
};

const char* ExportAccessName(ExportPolicy::Access access);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_EXPORT_POLICY_H_
