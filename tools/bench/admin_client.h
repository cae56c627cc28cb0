// Copyright 2026 The vifiler Authors.
//
// AdminClient: sends admin commands ("status", "giveback", ...) to a filer's admin port, as
// vifilerctl does: a tcp-fabric connection to (address, admin discriminator) with purpose
// kPurposeAdmin, one request, one reply (cluster/admin_server.h). Every call is bounded by
// its timeout. Thread-safe.

#ifndef VIFILER_TOOLS_BENCH_ADMIN_CLIENT_H_
#define VIFILER_TOOLS_BENCH_ADMIN_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "transport/fabric.h"

namespace vifiler {
namespace bench {

class AdminClient {
 public:
  static absl::StatusOr<std::unique_ptr<AdminClient>> Create(uint16_t discriminator);

  // The body of the "OK" reply; the filer's reason as UnknownError for "ERROR ...".
  absl::StatusOr<std::string> Command(const std::string& address, const std::string& command,
                                      absl::Duration timeout);
  // The key=value lines of "status".
  absl::StatusOr<std::map<std::string, std::string>> Status(const std::string& address,
                                                            absl::Duration timeout);
  // Polls "status" until key has value, or DeadlineExceededError naming the last value seen.
  absl::Status WaitFor(const std::string& address, const std::string& key, const std::string& value,
                       absl::Duration timeout);

 private:
  AdminClient(std::unique_ptr<transport::Fabric> fabric, uint16_t discriminator)
      : fabric_(std::move(fabric)), discriminator_(discriminator) {}
  std::unique_ptr<transport::Fabric> fabric_;
  const uint16_t discriminator_;
};

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_ADMIN_CLIENT_H_
