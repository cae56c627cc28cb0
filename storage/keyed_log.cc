// Copyright 2026 The vifiler Authors.
//
// Copy-forward rule. The ring has C blocks; H = headroom_ = max(4, C / 8) (a multiple of 4)
// and every batch writes n <= H / 2 blocks, numbered [s, s + n): first copies of every live
// entry whose newest copy sits in a block numbered below s + H - C, then new entries. The
// blocks it overwrites held numbers [s - C, s + n - C). The previous batch, of n' <= H / 2
// blocks at s' = s - n', copied everything below s' + H - C = s - n' + H - C >= s + n - C, and
// it was durable before this one started. So no block is overwritten while it holds the only
// durable copy of a live entry. The copies come from the n' old blocks the horizon moved over
// and fill at most n' blocks, so a batch is never over H / 2 blocks. The same rule held for
// whoever wrote the log before (same C, same H), so it holds right after Open too.

#include "storage/keyed_log.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "storage/record_block.h"

namespace vifiler {
namespace storage {
namespace {

constexpr uint64_t kMinBlocks = 8;
constexpr absl::Duration kCloseFlushTimeout = absl::Seconds(5);
// Recovery reads this many blocks at a time.
constexpr uint64_t kReadChunkBlocks = 1024;

uint64_t Headroom(uint64_t blocks) {
  uint64_t h = std::max<uint64_t>(4, blocks / 8);
  return h / 4 * 4;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyedLog>> KeyedLog::Open(std::unique_ptr<BlockFile> file,
                                                         const Options& options,
                                                         LiveMap* recovered) {
  const uint64_t blocks = file->size() / kBlockSize;
  if (blocks < kMinBlocks) {
    return absl::InvalidArgumentError(absl::StrCat("log region ", file->name(), " holds ", blocks,
                                                   " blocks; at least ", kMinBlocks, " needed"));
  }
  std::unique_ptr<KeyedLog> log(new KeyedLog(std::move(file), options, blocks));
  if (absl::Status s = log->Recover(recovered); !s.ok()) return s;
  log->flusher_ = std::thread(&KeyedLog::FlushLoop, log.get());
  log->completer_ = std::thread(&KeyedLog::CompletionLoop, log.get());
  return log;
}

KeyedLog::KeyedLog(std::unique_ptr<BlockFile> file, const Options& options, uint64_t ring_blocks)
    : file_(std::move(file)),
      options_(options),
      ring_blocks_(ring_blocks),
      headroom_(Headroom(ring_blocks)),
      max_batch_(Headroom(ring_blocks) / 2) {
  stats_.blocks = ring_blocks;
}

KeyedLog::~KeyedLog() {
  {
    absl::MutexLock lock(&mu_);
    const uint64_t target = next_lsn_ - 1;
    auto flushed = [this, target]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return durable_lsn_ >= target || !status_.ok();
    };
    mu_.AwaitWithDeadline(absl::Condition(&flushed), absl::Now() + kCloseFlushTimeout);
    stopping_ = true;
    if (status_.ok() && durable_lsn_ < target) {
      Fail(absl::UnavailableError("log closed before its entries were durable"));
    }
    ReleaseWaiters();
  }
  flusher_.join();
  completer_.join();
}

absl::Status KeyedLog::Recover(LiveMap* recovered) {
  struct Found {
    uint64_t epoch;
    std::string payload;
  };
  std::map<uint64_t, Found> found;  // block number -> block
  // Block-aligned, so that a direct BlockFile reads straight into it.
  const size_t chunk_bytes = std::min(kReadChunkBlocks, ring_blocks_) * kBlockSize;
  std::unique_ptr<char, decltype(&free)> memory(
      static_cast<char*>(aligned_alloc(kBlockSize, chunk_bytes)), &free);
  if (memory == nullptr) return absl::ResourceExhaustedError("no memory to read the log");
  for (uint64_t at = 0; at < ring_blocks_; at += kReadChunkBlocks) {
    const uint64_t n = std::min(kReadChunkBlocks, ring_blocks_ - at);
    absl::Span<char> span(memory.get(), n * kBlockSize);
    const absl::string_view chunk(span.data(), span.size());
    absl::Status s = file_->Read(at * kBlockSize, span);
    if (!s.ok()) return s;
    for (uint64_t i = 0; i < n; ++i) {
      std::optional<RecordBlock> block =
          DecodeRecordBlock(chunk.substr(i * kBlockSize, kBlockSize));
      if (!block.has_value() || block->kind != RecordKind::kReplyLog) continue;
      if (block->sequence % ring_blocks_ != at + i) continue;  // not where its number puts it
      found[block->sequence] = Found{block->epoch, std::move(block->payload)};
    }
  }
  absl::MutexLock lock(&mu_);
  if (found.empty()) return absl::OkStatus();
  const uint64_t newest = found.rbegin()->first;
  uint64_t epoch = 0;
  for (auto& [number, block] : found) {
    if (number + ring_blocks_ <= newest) continue;  // a leftover of an earlier lap
    if (block.epoch < epoch) continue;              // written by a fenced-off former owner
    epoch = block.epoch;
    std::vector<LogEntry> entries;
    DecodeEntries(block.payload, &entries);  // a malformed tail is ignored: checksum passed
    for (const LogEntry& entry : entries) SetLive(entry, number);
  }
  next_block_ = newest + 1;
  for (const auto& [key, live] : live_) (*recovered)[key] = live.value;
  return absl::OkStatus();
}

void KeyedLog::SetLive(const LogEntry& entry, uint64_t block) {
  auto it = live_.find(entry.key);
  if (it != live_.end()) {
    auto where = by_block_.find(it->second.block);
    if (where != by_block_.end()) {
      where->second.erase(entry.key);
      if (where->second.empty()) by_block_.erase(where);
    }
    live_bytes_ -= EncodedEntrySize(LogEntry{entry.key, it->second.value});
    if (entry.value.empty()) {
      live_.erase(it);
      return;
    }
    it->second = Live{entry.value, block};
  } else {
    if (entry.value.empty()) return;
    live_.emplace(entry.key, Live{entry.value, block});
  }
  live_bytes_ += EncodedEntrySize(entry);
  by_block_[block].insert(entry.key);
}

uint64_t KeyedLog::CapacityBytes() const {
  return (ring_blocks_ - 2 * headroom_) * kMaxRecordPayload / 2;
}

absl::StatusOr<uint64_t> KeyedLog::Put(absl::string_view key, absl::string_view value,
                                       std::vector<std::shared_ptr<Effect>> effects) {
  if (key.empty() || key.size() > kMaxKeySize) {
    return absl::InvalidArgumentError(absl::StrCat("log key of ", key.size(), " bytes"));
  }
  LogEntry entry{std::string(key), std::string(value)};
  const size_t size = EncodedEntrySize(entry);
  if (size > kMaxRecordPayload) {
    return absl::InvalidArgumentError(absl::StrCat("log entry of ", size, " bytes"));
  }
  absl::MutexLock lock(&mu_);
  if (!status_.ok()) return status_;
  if (stopping_) return absl::UnavailableError("log closed");
  if (!value.empty() && live_bytes_ + pending_bytes_ + size > CapacityBytes()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("log ", file_->name(), " is full (", live_bytes_, " live bytes)"));
  }
  const uint64_t lsn = next_lsn_++;
  pending_bytes_ += size;
  pending_.push_back(Pending{std::move(entry), lsn, std::move(effects)});
  return lsn;
}

bool KeyedLog::HasRoom(size_t bytes) const {
  absl::MutexLock lock(&mu_);
  return status_.ok() && live_bytes_ + pending_bytes_ + bytes <= CapacityBytes() / 10 * 9;
}

void KeyedLog::WhenDurable(uint64_t lsn, std::function<void(absl::Status)> done) {
  absl::MutexLock lock(&mu_);
  waiters_.emplace(lsn, std::move(done));
  ReleaseWaiters();
}

absl::Status KeyedLog::WaitDurable(uint64_t lsn, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto done = [this, lsn]()
                  ABSL_SHARED_LOCKS_REQUIRED(mu_) { return durable_lsn_ >= lsn || !status_.ok(); };
  if (!mu_.AwaitWithDeadline(absl::Condition(&done), deadline)) {
    return absl::DeadlineExceededError(absl::StrCat("log entry ", lsn, " not durable in time"));
  }
  return durable_lsn_ >= lsn ? absl::OkStatus() : status_;
}

uint64_t KeyedLog::last_lsn() const {
  absl::MutexLock lock(&mu_);
  return next_lsn_ - 1;
}

absl::Status KeyedLog::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

KeyedLog::Stats KeyedLog::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s = stats_;
  s.live_entries = live_.size();
  s.live_bytes = live_bytes_;
  s.durable_lsn = durable_lsn_;
  return s;
}

bool KeyedLog::TakeBatch(Batch* batch) {
  batch->first_block = next_block_;
  std::string payload;
  // Blocks the batch has if `extra` more bytes of entries are added.
  auto blocks_with = [&](size_t extra) {
    const size_t full = batch->payloads.size();
    if (payload.empty()) return full + (extra > 0 ? 1 : 0);
    return full + (payload.size() + extra > kMaxRecordPayload ? 2 : 1);
  };
  auto add = [&](LogEntry entry) {
    if (payload.size() + EncodedEntrySize(entry) > kMaxRecordPayload) {
      batch->payloads.push_back(std::move(payload));
      payload.clear();
    }
    AppendEntry(entry, &payload);
    batch->blocks.push_back(batch->first_block + batch->payloads.size());
    batch->entries.push_back(std::move(entry));
  };
  // Copies first: everything live in a block numbered below s + H - C. They come from the
  // blocks the previous batch moved the horizon over, so they fill at most as many blocks.
  const uint64_t horizon = next_block_ + headroom_;
  while (!by_block_.empty() && by_block_.begin()->first + ring_blocks_ < horizon) {
    for (const std::string& key : by_block_.begin()->second) {
      add(LogEntry{key, live_[key].value});
      ++batch->copied;
    }
    by_block_.erase(by_block_.begin());  // re-filed by Commit
  }
  // Then new entries, while the batch stays within max_batch_ blocks.
  size_t taken = 0;
  for (; taken < pending_.size(); ++taken) {
    Pending& p = pending_[taken];
    if (blocks_with(EncodedEntrySize(p.entry)) > max_batch_) break;
    pending_bytes_ -= EncodedEntrySize(p.entry);
    batch->last_lsn = p.lsn;
    for (std::shared_ptr<Effect>& effect : p.effects) {
      const void* id = effect->identity();
      if (std::none_of(batch->effects.begin(), batch->effects.end(),
                       [id](const std::shared_ptr<Effect>& e) { return e->identity() == id; })) {
        batch->effects.push_back(std::move(effect));
      }
    }
    add(std::move(p.entry));
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(taken));
  if (!payload.empty()) batch->payloads.push_back(std::move(payload));
  return !batch->payloads.empty();
}

absl::Status KeyedLog::WriteBatch(const Batch& batch) {
  if (options_.write_guard) {
    if (absl::Status s = options_.write_guard(); !s.ok()) return s;
  }
  if (options_.sync) {
    for (const std::shared_ptr<Effect>& effect : batch.effects) {
      if (absl::Status s = effect->Sync(); !s.ok()) return s;
    }
  }
  std::string data;
  uint64_t run_start = batch.first_block;
  for (size_t i = 0; i < batch.payloads.size(); ++i) {
    const uint64_t number = batch.first_block + i;
    RecordBlock block;
    block.kind = RecordKind::kReplyLog;
    block.epoch = options_.epoch;
    block.sequence = number;
    block.payload = batch.payloads[i];
    data += EncodeRecordBlock(block);
    const bool last = i + 1 == batch.payloads.size();
    if (last || (number + 1) % ring_blocks_ == 0) {  // end of the batch or of the ring
      absl::Status s = file_->Write((run_start % ring_blocks_) * kBlockSize, data);
      if (!s.ok()) return s;
      data.clear();
      run_start = number + 1;
    }
  }
  if (options_.sync) return file_->Sync();
  return absl::OkStatus();
}

void KeyedLog::Commit(const Batch& batch) {
  for (size_t i = 0; i < batch.entries.size(); ++i) SetLive(batch.entries[i], batch.blocks[i]);
  next_block_ = batch.first_block + batch.payloads.size();
  if (batch.last_lsn > durable_lsn_) durable_lsn_ = batch.last_lsn;
  ++stats_.batches;
  stats_.blocks_written += batch.payloads.size();
  stats_.entries_written += batch.entries.size();
  stats_.entries_copied += batch.copied;
  stats_.effect_syncs += options_.sync ? batch.effects.size() : 0;
  ReleaseWaiters();
}

void KeyedLog::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
  pending_.clear();
  pending_bytes_ = 0;
  ReleaseWaiters();
}

void KeyedLog::ReleaseWaiters() {
  while (!waiters_.empty()) {
    auto it = waiters_.begin();
    if (it->first <= durable_lsn_) {
      completions_.emplace_back(std::move(it->second), absl::OkStatus());
    } else if (!status_.ok()) {
      completions_.emplace_back(std::move(it->second), status_);
    } else {
      break;
    }
    waiters_.erase(it);
  }
}

void KeyedLog::FlushLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    auto work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stopping_ || (!pending_.empty() && status_.ok());
    };
    mu_.Await(absl::Condition(&work));
    if (stopping_) return;
    Batch batch;
    if (!TakeBatch(&batch)) continue;
    mu_.Unlock();
    absl::Status written = WriteBatch(batch);
    mu_.Lock();
    if (written.ok()) {
      Commit(batch);
    } else {
      // The copies taken out of by_block_ are gone with the log; nothing else may rely on it.
      Fail(absl::Status(written.code(), absl::StrCat("reply log: ", written.message())));
    }
  }
}

void KeyedLog::CompletionLoop() {
  while (true) {
    std::vector<std::pair<std::function<void(absl::Status)>, absl::Status>> ready;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return !completions_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&work));
      if (completions_.empty() && stopping_) return;
      ready.swap(completions_);
    }
    for (auto& [done, status] : ready) done(status);
  }
}

}  // namespace storage
}  // namespace vifiler
