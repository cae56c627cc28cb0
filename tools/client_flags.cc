// Copyright 2026 The vifiler Authors.

#include "tools/client_flags.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

DEFINE_string(fabric, "auto",
              "fabric: auto (rdma when an active RDMA port has an IP address), rdma or tcp");
DEFINE_string(hosts_file, "",
              "resolve filer names with this hosts file instead of the system resolver");
DEFINE_uint32(primary_discriminator, 7300,
              "discriminator of the filers' primary data access ports");
DEFINE_uint32(secondary_discriminator, 7301,
              "discriminator of the filers' secondary (takeover) ports");
DEFINE_string(failover_suffix, "-failover",
              "suffix that turns a filer's name into its failover name");
DEFINE_bool(enable_failover, true, "fail over to the partner filer when the filer is lost");
DEFINE_uint32(failover_deadline_ms, 30000,
              "give up reaching a filer or its partner after this long");
DEFINE_uint32(request_timeout_ms, 5000,
              "a request without reply for this long means the filer is lost");
DEFINE_uint32(keepalive_interval_ms, 100,
              "while requests are outstanding, probe a filer silent for this long (0: no "
              "keepalive)");
DEFINE_uint32(keepalive_timeout_ms, 1000,
              "while requests are outstanding, a filer silent for this long (probes included) "
              "is presumed lost");
DEFINE_uint32(slots, 16, "session slots (most requests outstanding at once)");
DEFINE_string(client_id, "",
              "client identity (default: random); the filer's reply cache is keyed by it");

DEFINE_int64(uid, -1,
             "the uid this client acts as on the filer (AUTH_SYS: the filer takes the host's "
             "word; uid 0 is squashed to the filer's --anon_uid unless its export says "
             "no_root_squash); -1: this process's real uid");
DEFINE_int64(gid, -1, "the gid this client acts as on the filer; -1: this process's real gid");
DEFINE_string(groups, "",
              "comma-separated supplementary groups (at most 16) this client acts with; empty: "
              "this process's own, unless --uid or --gid is given (then none)");

namespace {

bool ParseGroups(absl::string_view text, std::vector<uint32_t>* groups) {
  groups->clear();
  if (text.empty()) return true;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    uint32_t group = 0;
    if (!absl::SimpleAtoi(part, &group)) return false;
    groups->push_back(group);
  }
  return groups->size() <= vifiler::protocol::kMaxGroups;
}

bool ValidId(const char* flag, int64_t value) {
  if (value >= -1 && value <= 0xFFFFFFFEll) return true;
  fprintf(stderr, "--%s must be -1 or a uid/gid (0..4294967294)\n", flag);
  return false;
}
bool ValidGroups(const char* flag, const std::string& value) {
  std::vector<uint32_t> groups;
  if (ParseGroups(value, &groups)) return true;
  fprintf(stderr, "--%s must be at most %u comma-separated group ids\n", flag,
          vifiler::protocol::kMaxGroups);
  return false;
}
DEFINE_validator(uid, &ValidId);
DEFINE_validator(gid, &ValidId);
DEFINE_validator(groups, &ValidGroups);

}  // namespace

namespace vifiler {
namespace tools {

client::ClientOptions ClientOptionsFromFlags() {
  client::ClientOptions o;
  o.fabric = FLAGS_fabric;
  o.hosts_file = FLAGS_hosts_file;
  o.primary_discriminator = static_cast<uint16_t>(FLAGS_primary_discriminator);
  o.secondary_discriminator = static_cast<uint16_t>(FLAGS_secondary_discriminator);
  o.failover_suffix = FLAGS_failover_suffix;
  o.failover = FLAGS_enable_failover;
  o.failover_deadline = absl::Milliseconds(FLAGS_failover_deadline_ms);
  o.request_timeout = absl::Milliseconds(FLAGS_request_timeout_ms);
  o.keepalive_interval = absl::Milliseconds(FLAGS_keepalive_interval_ms);
  o.keepalive_timeout = absl::Milliseconds(FLAGS_keepalive_timeout_ms);
  o.slots = FLAGS_slots;
  o.client_id = FLAGS_client_id;
  o.on_event = [](const std::string& text) { fprintf(stderr, "%s\n", text.c_str()); };
  if (FLAGS_uid != -1 || FLAGS_gid != -1 || !FLAGS_groups.empty()) {
    client::ClientCredentials as = client::ProcessCredentials();
    if (FLAGS_uid != -1 || FLAGS_gid != -1) as.groups.clear();
    if (FLAGS_uid != -1) as.uid = static_cast<uint32_t>(FLAGS_uid);
    if (FLAGS_gid != -1) as.gid = static_cast<uint32_t>(FLAGS_gid);
    if (!FLAGS_groups.empty()) ParseGroups(FLAGS_groups, &as.groups);  // validated
    o.credentials = std::move(as);
  }
  return o;
}

}  // namespace tools
}  // namespace vifiler
