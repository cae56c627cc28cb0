// Copyright 2026 The vifiler Authors.

#include "transport/tcp/stream_reader.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "transport/tcp/socket_io.h"

namespace vifiler {
namespace transport {
namespace tcp {

StreamReader::StreamReader(int fd, const std::atomic<bool>* stop)
    : fd_(fd), stop_(stop), buffer_(new char[kBufferSize]) {}

absl::Status StreamReader::ReadExact(char* data, size_t n) {
  while (n > 0) {
    if (begin_ < end_) {
      size_t take = std::min(n, end_ - begin_);
      std::memcpy(data, buffer_.get() + begin_, take);
      begin_ += take;
      data += take;
      n -= take;
      continue;
    }
    size_t got = 0;
    if (n >= kBufferSize / 2) {
      absl::Status status = ReadSome(data, n, &got);
      if (!status.ok()) return status;
      data += got;
      n -= got;
    } else {
      begin_ = 0;
      end_ = 0;
      absl::Status status = ReadSome(buffer_.get(), kBufferSize, &got);
      if (!status.ok()) return status;
      end_ = got;
    }
  }
  return absl::OkStatus();
}

absl::Status StreamReader::ReadAvailable(char* data, size_t n, size_t* got) {
  *got = 0;
  if (begin_ < end_) {
    const size_t take = std::min(n, end_ - begin_);
    std::memcpy(data, buffer_.get() + begin_, take);
    begin_ += take;
    *got = take;
    return absl::OkStatus();
  }
  if (stop_->load(std::memory_order_acquire)) return absl::CancelledError("reader stopped");
  for (;;) {
    const ssize_t r = ::recv(fd_, data, n, MSG_DONTWAIT);
    if (r > 0) {
      *got = static_cast<size_t>(r);
      return absl::OkStatus();
    }
    if (r == 0) return absl::UnavailableError("end of stream");
    const int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat("recv: ", strerror(error)));
  }
}

absl::Status StreamReader::WaitReadable() {
  if (stop_->load(std::memory_order_acquire)) return absl::CancelledError("reader stopped");
  if (begin_ < end_) return absl::OkStatus();
  absl::Status waited = WaitFor(fd_, POLLIN, absl::Now() + absl::Milliseconds(200));
  if (!waited.ok() && !absl::IsDeadlineExceeded(waited)) return waited;
  return absl::OkStatus();
}

absl::Status StreamReader::ReadSome(char* data, size_t capacity, size_t* got) {
  for (;;) {
    if (stop_->load(std::memory_order_acquire)) return absl::CancelledError("reader stopped");
    ssize_t n = ::recv(fd_, data, capacity, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return absl::OkStatus();
    }
    if (n == 0) return absl::UnavailableError("end of stream");
    int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN && error != EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(error)));
    }
    absl::Status waited = WaitFor(fd_, POLLIN, absl::Now() + absl::Milliseconds(200));
    if (!waited.ok() && !absl::IsDeadlineExceeded(waited)) return waited;
  }
}

}  // namespace tcp
}  // namespace transport
}  // namespace vifiler
