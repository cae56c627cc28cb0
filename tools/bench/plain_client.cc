// Copyright 2026 The vifiler Authors.

#include "tools/bench/plain_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace vifiler {
namespace bench {

absl::StatusOr<std::unique_ptr<PlainClient>> PlainClient::Connect(const std::string& address,
                                                                  uint16_t port,
                                                                  absl::Time deadline) {
  sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &sin.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", address));
  }
  std::string last = "no attempt";
  while (absl::Now() < deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
    if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0) {
      absl::Status s = ConfigurePlainSocket(fd, kRawIoTimeout);
      if (!s.ok()) {
        close(fd);
        return s;
      }
      return std::unique_ptr<PlainClient>(new PlainClient(fd));
    }
    last = strerror(errno);
    close(fd);
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("plain server ", address, ":", port, ": ", last));
}

PlainClient::~PlainClient() { close(fd_); }

absl::StatusOr<RunResult> PlainClient::Run(PlainOp op, size_t size, int outstanding,
                                           OffsetOrder order, uint64_t file_size,
                                           absl::Duration warmup, absl::Duration duration) {
  if (size == 0 || size > kMaxPlainLength || file_size < size || outstanding < 1) {
    return absl::InvalidArgumentError("plain run: bad size, file size or outstanding count");
  }
  const uint64_t blocks = file_size / size;
  uint64_t next_block = 0;
  absl::BitGen random;
  // A write request is its header followed by the data, sent with one call.
  std::vector<char> request(kPlainRequestSize + (op == PlainOp::kWrite ? size : 0), 'w');
  std::vector<char> data(size);
  absl::flat_hash_map<uint64_t, absl::Time> in_flight;  // tag -> sent
  const absl::Time measure_from = absl::Now() + warmup;
  const absl::Time end = measure_from + duration;
  RunResult result;

  auto send = [&]() -> absl::Status {
    PlainRequest r;
    r.op = op;
    r.length = static_cast<uint32_t>(size);
    const uint64_t block = order == OffsetOrder::kRandom
                               ? absl::Uniform<uint64_t>(random, 0, blocks)
                               : next_block++ % blocks;
    r.offset = block * size;
    r.tag = next_tag_++;
    EncodePlainRequest(r, request.data());
    in_flight[r.tag] = absl::Now();
    return WriteAll(fd_, request.data(), request.size());
  };
  for (int i = 0; i < outstanding; ++i) {
    absl::Status s = send();
    if (!s.ok()) return s;
  }
  while (!in_flight.empty()) {
    char header[kPlainReplySize];
    absl::Status s = ReadAll(fd_, header, sizeof(header));
    if (!s.ok()) return s;
    const PlainReply reply = DecodePlainReply(header);
    if (reply.status != 0) {
      return absl::InternalError(
          absl::StrCat("plain server: ", strerror(static_cast<int>(reply.status))));
    }
    if (reply.length != size) {
      return absl::InternalError(absl::StrCat("plain server moved ", reply.length, " of ", size));
    }
    if (op == PlainOp::kRead) {
      s = ReadAll(fd_, data.data(), size);
      if (!s.ok()) return s;
    }
    const absl::Time now = absl::Now();
    auto it = in_flight.find(reply.tag);
    if (it == in_flight.end()) return absl::InternalError("plain reply with an unknown tag");
    const absl::Time sent = it->second;
    in_flight.erase(it);
    // Completions inside the measured window count; the window is the elapsed time.
    if (now >= measure_from && now <= end) {
      ++result.operations;
      result.bytes += size;
      result.latency.Add(now - sent);
    }
    if (now < end) {
      s = send();
      if (!s.ok()) return s;
    }
  }
  result.elapsed = duration;
  return result;
}

}  // namespace bench
}  // namespace vifiler
