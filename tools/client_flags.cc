// Copyright 2026 The vifiler Authors.

#include "tools/client_flags.h"

#include <cstdio>

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
  return o;
}

}  // namespace tools
}  // namespace vifiler
