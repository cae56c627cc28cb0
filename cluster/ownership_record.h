// Copyright 2026 The vifiler Authors.
//
// The ownership record of a volume on shared storage: the single source of truth for which filer
// owns the volume, and at which epoch. It is one storage::RecordBlock of kind kOwnership, kept
// outside the file system (a directory volume keeps it in a file) and read and written through a
// storage::BlockFile, so that the partner host reads exactly what is on the device.
//
// This file holds the payload format (encode/decode, no I/O) and OwnershipStore (the I/O), as
// LevelDB separates log_format.h from its writer and reader. The protocol that uses the record
// (leases, claims, the fence guard) is described in cluster/lease.h and cluster/claim.h.
//
// Block (storage/record_block.h): kind kOwnership, epoch = the record's epoch, sequence 0.
// Payload (little-endian):
//    0  u8   payload version (1)
//    1  u8   state (OwnershipState)
//    2  u16  length n of the owner name (1..kMaxFilerName)
//    4  u32  zero
//    8  u64  epoch (the same as the block's epoch field; a block where they differ is damaged)
//   16  u64  incarnation of the process that wrote the record (random per process start)
//   24  i64  unix time of the write, ns (informational only: no decision uses it)
//   32  n bytes: owner name
//
// States. There is no separate "owned" state on purpose: a claim is never rewritten as "owned"
// after its wait, because that write would be made before the claimant holds a lease (no
// renewal, no guard slot), i.e. exactly the kind of unprotected stale write this design removes.
//  - kClaimed: `owner` claimed the volume at `epoch`. Once the claimant's wait is over and the
//    record still names it (cluster/claim.h) it owns the volume at that epoch; its lease renews
//    against this record unchanged.
//  - kReleased: `owner` handed the volume back cleanly at `epoch` (Lease::Release) and will not
//    write it again. The next claimant may skip the lease wait, under the condition spelled out
//    in cluster/claim.h.
//
// The names avoid cluster/ownership.h's OwnershipRecord, which this replaces.

#ifndef VIFILER_CLUSTER_OWNERSHIP_RECORD_H_
#define VIFILER_CLUSTER_OWNERSHIP_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/block_file.h"

namespace vifiler {
namespace cluster {

// Longest filer name in a record; names are printable ASCII without spaces.
inline constexpr size_t kMaxFilerName = 128;

// True for a name a record can hold (1..kMaxFilerName printable, non-space ASCII characters).
bool ValidFilerName(absl::string_view name);

// What a record block on storage holds.
enum class BlockState {
  kBlank,    // all zero bytes: never written
  kValid,    // a record of the expected kind that decodes
  kDamaged,  // anything else: torn, garbage, another kind, an unknown version
};
const char* BlockStateName(BlockState state);
// True when every byte of block is zero.
bool IsBlankBlock(absl::string_view block);

enum class OwnershipState : uint8_t {
  kClaimed = 1,
  kReleased = 2,
};
const char* OwnershipStateName(OwnershipState state);

struct OwnerRecord {
  std::string owner;
  uint64_t epoch = 0;
  OwnershipState state = OwnershipState::kClaimed;
  uint64_t incarnation = 0;
  int64_t unix_time_ns = 0;
};

// True when a and b name the same holder: owner, epoch and incarnation (not state or time).
bool SameHolder(const OwnerRecord& a, const OwnerRecord& b);
// "filer-a at epoch 7 (claimed, incarnation 1234)", for messages.
std::string DescribeOwner(const OwnerRecord& record);

// The payload alone. Encode needs a valid owner name (ValidFilerName); decode returns nullopt for
// anything that is not exactly a version-1 payload with a valid name and state.
std::string EncodeOwnerPayload(const OwnerRecord& record);
std::optional<OwnerRecord> DecodeOwnerPayload(absl::string_view payload);

// A whole block (kBlockSize bytes) and back.
std::string EncodeOwnerBlock(const OwnerRecord& record);

// The result of reading the record block. `record` is meaningful only when state is kValid.
struct OwnerRead {
  BlockState state = BlockState::kBlank;
  OwnerRecord record;
};
std::string DescribeOwnerRead(const OwnerRead& read);
OwnerRead DecodeOwnerBlock(absl::string_view block);

// Reads and writes the record in block 0 of a BlockFile (not owned; it must outlive the store).
// Thread-safe as far as the BlockFile is; the callers order their writes (cluster/claim.h).
class OwnershipStore {
 public:
  explicit OwnershipStore(storage::BlockFile* file) : file_(file) {}

  // One read of the block. An I/O error is an error; a blank or damaged block is a successful
  // read that says so.
  absl::StatusOr<OwnerRead> Read() const;
  // Writes the record and syncs: once this returns OK the record is durable and visible to a
  // direct reader on another host. InvalidArgumentError for a bad owner name.
  absl::Status Write(const OwnerRecord& record) const;

  std::string name() const { return file_->name(); }

 private:
  storage::BlockFile* const file_;
};

}  // namespace cluster
}  // namespace vifiler

#endif  // VIFILER_CLUSTER_OWNERSHIP_RECORD_H_
