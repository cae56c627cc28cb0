// Copyright 2026 The vifiler Authors.

#include "storage/memory_disk.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace storage {

class MemoryBlockFile : public BlockFile {
 public:
  MemoryBlockFile(std::shared_ptr<MemoryDisk> disk, uint64_t offset, uint64_t size, bool direct)
      : disk_(std::move(disk)), offset_(offset), size_(size), direct_(direct) {}

  absl::Status Read(uint64_t offset, absl::Span<char> out) override {
    if (absl::Status s = Check(offset, out.size()); !s.ok()) return s;
    return disk_->Read(offset_ + offset, out.data(), out.size());
  }
  absl::Status Write(uint64_t offset, absl::string_view data) override {
    if (absl::Status s = Check(offset, data.size()); !s.ok()) return s;
    return disk_->Write(offset_ + offset, data);
  }
  absl::Status Sync() override { return disk_->Sync(); }
  uint64_t size() const override { return size_; }
  bool direct() const override { return direct_; }
  std::string name() const override { return absl::StrCat("memory[", offset_, "+", size_, "]"); }

 private:
  absl::Status Check(uint64_t offset, size_t length) const {
    if (offset % kBlockSize != 0 || length % kBlockSize != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unaligned block I/O at ", offset));
    }
    if (offset > size_ || length > size_ - offset) {
      return absl::InvalidArgumentError(absl::StrCat("block I/O at ", offset, " out of range"));
    }
    return absl::OkStatus();
  }

  const std::shared_ptr<MemoryDisk> disk_;
  const uint64_t offset_;
  const uint64_t size_;
  const bool direct_;
};

std::shared_ptr<MemoryDisk> MemoryDisk::Create(uint64_t size) {
  return std::shared_ptr<MemoryDisk>(new MemoryDisk(size / kBlockSize * kBlockSize));
}

std::unique_ptr<BlockFile> MemoryDisk::Open(uint64_t offset, uint64_t size, bool direct) {
  if (offset > size_) offset = size_;
  if (size == 0 || size > size_ - offset) size = (size_ - offset) / kBlockSize * kBlockSize;
  return std::make_unique<MemoryBlockFile>(shared_from_this(), offset, size, direct);
}

absl::Status MemoryDisk::Read(uint64_t offset, char* out, size_t length) {
  absl::MutexLock lock(&mu_);
  if (!read_error_.ok()) return read_error_;
  memcpy(out, visible_.data() + offset, length);
  return absl::OkStatus();
}

absl::Status MemoryDisk::Write(uint64_t offset, absl::string_view data) {
  absl::MutexLock lock(&mu_);
  if (!write_error_.ok()) return write_error_;
  if (writes_left_ == 0) return absl::UnavailableError("injected write failure");
  if (writes_left_ > 0) --writes_left_;
  ++writes_;
  memcpy(&visible_[offset], data.data(), data.size());
  pending_.push_back(Pending{offset, std::string(data)});
  return absl::OkStatus();
}

absl::Status MemoryDisk::Sync() {
  absl::MutexLock lock(&mu_);
  if (!sync_error_.ok()) return sync_error_;
  ++syncs_;
  durable_ = visible_;
  pending_.clear();
  return absl::OkStatus();
}

void MemoryDisk::PowerCutKeeping(const std::function<bool(size_t index)>& keep) {
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (keep(i)) {
      memcpy(&durable_[pending_[i].offset], pending_[i].data.data(), pending_[i].data.size());
    }
  }
  pending_.clear();
  visible_ = durable_;
}

void MemoryDisk::PowerCut(PowerCutMode mode) {
  std::vector<Pending> last;
  {
    absl::MutexLock lock(&mu_);
    if (mode == PowerCutMode::kTearLast && !pending_.empty()) last.push_back(pending_.back());
  }
  PowerCutKeeping([mode](size_t) { return mode == PowerCutMode::kKeepUnsynced; });
  if (!last.empty()) {
    absl::MutexLock lock(&mu_);
    memcpy(&durable_[last[0].offset], last[0].data.data(), kBlockSize / 2);
    visible_ = durable_;
  }
}

void MemoryDisk::SetReadError(absl::Status status) {
  absl::MutexLock lock(&mu_);
  read_error_ = std::move(status);
}
void MemoryDisk::SetWriteError(absl::Status status) {
  absl::MutexLock lock(&mu_);
  write_error_ = std::move(status);
}
void MemoryDisk::SetSyncError(absl::Status status) {
  absl::MutexLock lock(&mu_);
  sync_error_ = std::move(status);
}
void MemoryDisk::FailWritesAfter(int64_t n) {
  absl::MutexLock lock(&mu_);
  writes_left_ = n;
}
uint64_t MemoryDisk::writes() const {
  absl::MutexLock lock(&mu_);
  return writes_;
}
uint64_t MemoryDisk::syncs() const {
  absl::MutexLock lock(&mu_);
  return syncs_;
}
size_t MemoryDisk::unsynced_writes() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}
std::string MemoryDisk::Contents(uint64_t offset, size_t length) const {
  absl::MutexLock lock(&mu_);
  return visible_.substr(offset, length);
}

}  // namespace storage
}  // namespace vifiler
