// Copyright 2026 The vifiler Authors.
//
// StreamReader: buffered exact-length reads from a non-blocking stream socket, for the single
// thread that reads a connection. Small reads are served from a 64 KiB buffer (few system
// calls for many small frames); large ones go straight into the caller's memory. A read blocks
// until the bytes arrive, the stream ends or fails, or `stop` is set (looked at least every
// 200 ms, besides the wake-up a shutdown() of the socket causes).

#ifndef VIFILER_TRANSPORT_TCP_STREAM_READER_H_
#define VIFILER_TRANSPORT_TCP_STREAM_READER_H_

#include <atomic>
#include <cstddef>
#include <memory>

#include "absl/status/status.h"

namespace vifiler {
namespace transport {
namespace tcp {

class StreamReader {
 public:
  StreamReader(int fd, const std::atomic<bool>* stop);
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // UnavailableError("end of stream") when the peer closed, UnavailableError on a
  // socket error, CancelledError once stop is set.
  absl::Status ReadExact(char* data, size_t n);

  // Moves up to n bytes that are here now (buffered, or in the socket) into data without
  // waiting; *got receives the count, 0 when nothing has arrived. Errors as ReadExact.
  absl::Status ReadAvailable(char* data, size_t n, size_t* got);
  // Waits until the socket has something to read, the stream fails, or 200 ms pass (OK in
  // each of those cases: the next read tells which); CancelledError once stop is set.
  absl::Status WaitReadable();

 private:
  static constexpr size_t kBufferSize = 64 * 1024;

  // Reads up to `capacity` bytes (at least one) into `data`; *got receives the count.
  absl::Status ReadSome(char* data, size_t capacity, size_t* got);

  const int fd_;
  const std::atomic<bool>* const stop_;
  std::unique_ptr<char[]> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_TCP_STREAM_READER_H_
