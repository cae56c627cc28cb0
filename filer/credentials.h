// Copyright 2026 The vifiler Authors.
//
// Credentials: the user a client's requests act as on the filer (uid, gid and supplementary
// groups, as NFS's AUTH_SYS carries them), after the export policy's squashing.
//
// Squash (the export rule's option, filer/export_policy.h):
//  - kRoot (root_squash, the default): uid 0 becomes anon_uid, gid 0 (primary or
//    supplementary) becomes anon_gid, as Linux's nfsd does;
//  - kNone (no_root_squash): kept as the client said;
//  - kAll (all_squash): every user becomes anon_uid/anon_gid, without supplementary groups.
// Plain values: thread-compatible.

#ifndef VIFILER_FILER_CREDENTIALS_H_
#define VIFILER_FILER_CREDENTIALS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace vifiler {
namespace filer {

inline constexpr uint32_t kDefaultAnonId = 65534;  // "nobody" / "nogroup"

struct Credentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;  // supplementary; at most protocol::kMaxGroups
  bool operator==(const Credentials& o) const {
    return uid == o.uid && gid == o.gid && groups == o.groups;
  }
};

enum class Squash { kRoot, kNone, kAll };

const char* SquashName(Squash squash);  // "root_squash", "no_root_squash", "all_squash"

// What `asserted` becomes under `squash`.
Credentials SquashCredentials(const Credentials& asserted, Squash squash, uint32_t anon_uid,
                              uint32_t anon_gid);

// "uid=1000 gid=100 groups=100,27" (for logs).
std::string CredentialsToString(const Credentials& credentials);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_CREDENTIALS_H_
