// Copyright 2026 The vifiler Authors.
//
// NameResolver: turns a filer name ("filer-a", "filer-a-failover") into a numeric host address.
// With a hosts file (the /etc/hosts format: "ADDRESS NAME [ALIAS...]", '#' comments) the file
// is authoritative; otherwise the system resolver (getaddrinfo, IPv4) answers. The file is
// re-read when it changes, so a test or an operator can edit it while clients run.
// Thread-safe.

#ifndef VIFILER_TRANSPORT_NAME_RESOLVER_H_
#define VIFILER_TRANSPORT_NAME_RESOLVER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace vifiler {
namespace transport {

class NameResolver {
 public:
  // hosts_file empty: use the system resolver.
  explicit NameResolver(std::string hosts_file = "") : hosts_file_(std::move(hosts_file)) {}

  // NotFoundError naming the source consulted when the name does not resolve: the hosts file
  // is missing or unreadable, or lacks the name, or the system resolver says there is no such
  // name. UnavailableError when the system resolver cannot answer now (EAI_AGAIN), which a
  // later call may not repeat. A name that already is a numeric address resolves to itself.
  absl::StatusOr<std::string> Resolve(absl::string_view name);

  const std::string& hosts_file() const { return hosts_file_; }

 private:
  absl::Status LoadIfChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string hosts_file_;
  absl::Mutex mu_;
  int64_t loaded_mtime_ns_ ABSL_GUARDED_BY(mu_) = -1;
  absl::flat_hash_map<std::string, std::string> hosts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_NAME_RESOLVER_H_
