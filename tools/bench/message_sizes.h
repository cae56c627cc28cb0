// Copyright 2026 The vifiler Authors.
//
// The sizes, on the wire, of the file-protocol messages of an inline vifiler read or write of
// a given length, so the raw round trip moves exactly as many bytes as the vifiler operation it
// is the baseline for. Computed by encoding real messages.

#ifndef VIFILER_TOOLS_BENCH_MESSAGE_SIZES_H_
#define VIFILER_TOOLS_BENCH_MESSAGE_SIZES_H_

#include <cstddef>

namespace vifiler {
namespace bench {

struct RoundTripSize {
  size_t request = 0;
  size_t reply = 0;
};

RoundTripSize InlineReadSize(size_t length);
RoundTripSize InlineWriteSize(size_t length);

}  // namespace bench
}  // namespace vifiler

#endif  // VIFILER_TOOLS_BENCH_MESSAGE_SIZES_H_
