// Copyright 2026 The vifiler Authors.

#include "tools/bench/raw_client.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace vifiler {
namespace bench {

double RunResult::OpsPerSecond() const {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? static_cast<double>(operations) / seconds : 0;
}

double RunResult::MiBPerSecond() const {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? static_cast<double>(bytes) / seconds / (1024.0 * 1024.0) : 0;
}

absl::StatusOr<std::unique_ptr<RawClient>> RawClient::Connect(transport::Fabric* fabric,
                                                              const transport::Endpoint& endpoint,
                                                              absl::Time deadline) {
  transport::PeerIdentity identity;
  identity.identity = "vifiler-bench";
  identity.purpose = transport::kPurposeBenchmark;
  absl::Status last = absl::DeadlineExceededError("no attempt");
  while (absl::Now() < deadline) {
    absl::StatusOr<std::unique_ptr<transport::Connection>> c =
        fabric->Connect(endpoint, identity, std::min(deadline, absl::Now() + absl::Seconds(2)));
    if (c.ok()) return std::unique_ptr<RawClient>(new RawClient(std::move(*c)));
    last = c.status();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::Status(last.code(),
                      absl::StrCat("raw server ", endpoint.ToString(), ": ", last.message()));
}

template <typename MakeRequest>
absl::StatusOr<RunResult> RawClient::Pipeline(const MakeRequest& make, int outstanding,
                                              uint64_t bytes_per_op, absl::Duration warmup,
                                              absl::Duration duration) {
  const absl::Time measure_from = absl::Now() + warmup;
  const absl::Time end = measure_from + duration;
  absl::flat_hash_map<uint64_t, std::pair<int, absl::Time>> in_flight;  // tag -> (slot, sent)
  RunResult result;
  auto send = [&](int slot) -> absl::Status {
    const uint64_t tag = next_tag_++;
    const absl::Time now = absl::Now();
    in_flight[tag] = {slot, now};
    return connection_->Send(make(tag, slot), now + kRawIoTimeout);
  };
  for (int slot = 0; slot < outstanding; ++slot) {
    absl::Status s = send(slot);
    if (!s.ok()) return s;
  }
  while (!in_flight.empty()) {
    absl::StatusOr<std::string> message = connection_->Receive(absl::Now() + kRawIoTimeout);
    if (!message.ok()) return message.status();
    const absl::Time now = absl::Now();
    absl::StatusOr<RawReply> reply = DecodeRawReply(*message);
    if (!reply.ok()) return reply.status();
    auto it = in_flight.find(reply->tag);
    if (it == in_flight.end()) return absl::InternalError("raw reply with an unknown tag");
    if (reply->status != 0) return absl::InternalError("raw server could not do the transfer");
    const auto [slot, sent] = it->second;
    in_flight.erase(it);
    // Completions inside the measured window count; the window is the elapsed time.
    if (now >= measure_from && now <= end) {
      ++result.operations;
      result.bytes += bytes_per_op;
      result.latency.Add(now - sent);
    }
    if (now < end) {
      absl::Status s = send(slot);
      if (!s.ok()) return s;
    }
  }
  result.elapsed = duration;
  return result;
}

absl::StatusOr<RunResult> RawClient::RoundTrips(size_t request_size, size_t reply_size,
                                                int outstanding, absl::Duration warmup,
                                                absl::Duration duration) {
  if (reply_size > connection_->max_message_size() ||
      request_size > connection_->max_message_size()) {
    return absl::InvalidArgumentError("round trip larger than the fabric's message size");
  }
  auto make = [&](uint64_t tag, int) {
    RawRequest r;
    r.op = RawOp::kPing;
    r.reply_size = static_cast<uint32_t>(reply_size);
    r.tag = tag;
    return EncodeRawRequest(r, request_size);
  };
  return Pipeline(make, outstanding, 0, warmup, duration);
}

absl::StatusOr<RunResult> RawClient::Bulk(RawOp op, size_t size, int outstanding,
                                          absl::Duration warmup, absl::Duration duration) {
  std::vector<std::unique_ptr<char[]>> buffers;
  std::vector<std::unique_ptr<transport::MemoryRegion>> regions;
  for (int i = 0; i < outstanding; ++i) {
    buffers.emplace_back(new char[size]);
    memset(buffers.back().get(), 'w', size);
    absl::StatusOr<std::unique_ptr<transport::MemoryRegion>> region =
        connection_->RegisterMemory(buffers.back().get(), size, transport::Access::kRemoteAny);
    if (!region.ok()) return region.status();
    regions.push_back(std::move(*region));
  }
  // The same request size a vifiler direct transfer sends: small, with the descriptor.
  auto make = [&](uint64_t tag, int slot) {
    RawRequest r;
    r.op = op;
    r.tag = tag;
    r.buffer = regions[static_cast<size_t>(slot)]->Describe();
    return EncodeRawRequest(r, kRawRequestHeaderSize);
  };
  absl::StatusOr<RunResult> result = Pipeline(make, outstanding, size, warmup, duration);
  regions.clear();
  return result;
}

}  // namespace bench
}  // namespace vifiler
