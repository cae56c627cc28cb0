// Copyright 2026 The vifiler Authors.
//
// PairKey: the secret the two filers of a pair share, which authenticates their interconnect
// (cluster/interconnect_auth.h). Nobody else holds it: not clients, not other hosts of the
// fabric.
//
// The key file (vifilerd --pair_key_file=PATH) is the same file on both filers:
//  - a regular file (a symbolic link to one is followed) of at most kMaxPairKeyFileBytes, with
//    no permission bit for group or others (chmod 600; owned by the user vifilerd runs as);
//  - hex: if its content, less one trailing newline ("\n" or "\r\n"), is an even number of
//    hex digits and nothing else, the key is the bytes they encode
//    (`openssl rand -hex 32 > PATH` makes one);
//  - raw: any other content is the key as it is, every byte (`head -c 32 /dev/urandom`);
//  - either way at least kMinPairKeyBytes bytes of key (hex: 64 digits).
// LoadPairKeyFile refuses anything else with InvalidArgumentError (FailedPreconditionError for
// too-open permissions), its message one line that names the path and what to do.
//
// The secret is wiped from memory when the PairKey is destroyed. Copyable (both copies wipe);
// immutable, so thread-safe.

#ifndef VIFILER_CLUSTER_PAIR_KEY_H_
#define VIFILER_CLUSTER_PAIR_KEY_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vifiler {
namespace cluster {

inline constexpr size_t kMinPairKeyBytes = 32;
inline constexpr size_t kMaxPairKeyFileBytes = 4096;

class PairKey {
 public:
  // InvalidArgumentError when secret is shorter than kMinPairKeyBytes.
  static absl::StatusOr<PairKey> FromSecret(absl::string_view secret);

  PairKey(const PairKey& other) = default;
  PairKey& operator=(const PairKey& other);
  ~PairKey();

  absl::string_view secret() const { return secret_; }

 private:
  explicit PairKey(std::string secret) : secret_(std::move(secret)) {}
  std::string secret_;
};

// Reads and checks the key file described above.
absl::StatusOr<PairKey> LoadPairKeyFile(const std::string& path);

// The key as LoadPairKeyFile reads it from content (the format rules only, no file checks).
absl::StatusOr<PairKey> ParsePairKey(absl::string_view content);

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_PAIR_KEY_H_
