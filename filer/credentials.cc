// Copyright 2026 The vifiler Authors.

#include "filer/credentials.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vifiler {
namespace filer {

const char* SquashName(Squash squash) {
  switch (squash) {
    case Squash::kRoot:
      return "root_squash";
    case Squash::kNone:
      return "no_root_squash";
    case Squash::kAll:
      return "all_squash";
  }
  return "?";
}

Credentials SquashCredentials(const Credentials& asserted, Squash squash, uint32_t anon_uid,
                              uint32_t anon_gid) {
  Credentials out = asserted;
  switch (squash) {
    case Squash::kNone:
      break;
    case Squash::kAll:
      out.uid = anon_uid;
      out.gid = anon_gid;
      out.groups.clear();
      break;
    case Squash::kRoot:
      if (out.uid == 0) out.uid = anon_uid;
      if (out.gid == 0) out.gid = anon_gid;
      for (uint32_t& group : out.groups) {
        if (group == 0) group = anon_gid;
      }
      break;
  }
  return out;
}

std::string CredentialsToString(const Credentials& credentials) {
  return absl::StrCat("uid=", credentials.uid, " gid=", credentials.gid,
                      " groups=", absl::StrJoin(credentials.groups, ","));
}

}  // namespace filer
}  // namespace vifiler
