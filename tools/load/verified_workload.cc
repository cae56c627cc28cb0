// Copyright 2026 The vifiler Authors.

#include "tools/load/verified_workload.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/load/load_record.h"
#include "tools/load/load_summary.h"

namespace vifiler {
namespace load {
namespace {

using protocol::ErrorCode;
using protocol::FileType;

constexpr size_t kReadChunk = 1 << 20;  // a multiple of kRecordBytes
constexpr uint32_t kReadDirPage = 256;

std::string Name(char letter, uint64_t i) { return absl::StrCat(std::string(1, letter), "-", i); }

// The chain's names after `done` steps: c = c-i, r = r-i, d = d-i.
std::string ChainState(int done) {
  static const char* const kStates[] = {"", "c", "r", "rd", "d", ""};
  return kStates[std::min(std::max(done, 0), 5)];
}

std::string ShowState(const std::string& state) { return state.empty() ? "none" : state; }

absl::Status WithContext(const std::string& context, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(context, ": ", s.message()));
}

}  // namespace

VerifiedWorkload::VerifiedWorkload(client::Client* client, int thread, WorkloadOptions options)
    : client_(client),
      thread_(thread),
      options_(std::move(options)),
      tag_(ClientTag(client->client_id())) {
  std::fill(std::begin(slot_acked_), std::end(slot_acked_), -1);
  std::fill(std::begin(slot_issued_), std::end(slot_issued_), -1);
}

std::vector<std::string> VerifiedWorkload::problems() const {
  absl::MutexLock lock(&mu_);
  return problems_;
}

void VerifiedWorkload::Problem(const std::string& kind, const std::string& text) {
  const std::string line = absl::StrCat("t", thread_, " ", kind, ": ", text);
  absl::MutexLock lock(&mu_);
  if (problems_seen_[kind]++ >= options_.max_problems) return;
  problems_.push_back(line);
  fprintf(stderr, "%s%s\n", kProblemPrefix, line.c_str());
}

void VerifiedWorkload::Lost(uint64_t* lost, const std::string& text) {
  ++*lost;
  Problem("lost", text);
}

absl::Status VerifiedWorkload::Setup() {
  absl::Status status = MakeFiles();
  if (!status.ok()) {
    ++errors_;
    Problem("error", absl::StrCat("setup: ", status.ToString()));
    return status;
  }
  ready_ = true;
  return absl::OkStatus();
}

absl::Status VerifiedWorkload::MakeFiles() {
  protocol::FileHandle parent = client_->root();
  std::vector<std::string> parts = absl::StrSplit(options_.prefix, '/', absl::SkipEmpty());
  parts.push_back(absl::StrCat(client_->client_id(), "-t", thread_));
  dir_path_.clear();
  for (size_t p = 0; p < parts.size(); ++p) {
    absl::StrAppend(&dir_path_, "/", parts[p]);
    protocol::MkdirRequest mkdir;
    mkdir.dir = parent;
    mkdir.name = parts[p];
    absl::StatusOr<protocol::HandleReply> made = client_->MkdirAt(mkdir);
    if (made.ok()) {
      parent = made->handle;
      continue;
    }
    if (client::ErrorCodeOf(made.status()) != ErrorCode::kExists) {
      return WithContext(absl::StrCat("mkdir ", dir_path_), made.status());
    }
    absl::StatusOr<protocol::HandleReply> found = client_->Lookup(parent, parts[p]);
    if (!found.ok()) return WithContext(absl::StrCat("lookup ", dir_path_), found.status());
    if (found->attr.type != FileType::kDirectory) {
      return absl::FailedPreconditionError(absl::StrCat(dir_path_, " is not a directory"));
    }
    parent = found->handle;
    if (p + 1 == parts.size()) {
      absl::StatusOr<protocol::ReadDirReply> page = client_->ReadDir(parent, 0, 1);
      if (!page.ok()) return WithContext(absl::StrCat("readdir ", dir_path_), page.status());
      if (!page->entries.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat(dir_path_,
                         " exists and is not empty (an earlier run with this client "
                         "id?): use another --client_id or --prefix"));
      }
    }
  }
  dir_ = parent;
  for (const char* name : {"log", "slots"}) {
    protocol::CreateRequest create;
    create.dir = dir_;
    create.name = name;
    create.exclusive = false;
    create.truncate = false;
    absl::StatusOr<protocol::HandleReply> file = client_->CreateAt(create);
    if (!file.ok()) {
      return WithContext(absl::StrCat("create ", dir_path_, "/", name), file.status());
    }
    (name[0] == 'l' ? log_ : slots_) = file->handle;
  }
  return absl::OkStatus();
}

const char* VerifiedWorkload::StepName(Step step) {
  switch (step) {
    case kAppend:
      return "append";
    case kSlot:
      return "slot write";
    case kCreate:
      return "create";
    case kRename:
      return "rename";
    case kMkdir:
      return "mkdir";
    case kRemove:
      return "remove";
    case kRmdir:
      return "rmdir";
    default:
      return "?";
  }
}

VerifiedWorkload::Outcome VerifiedWorkload::Classify(Step step, const absl::Status& status) {
  if (status.ok()) return Outcome::kAcked;
  const ErrorCode code = client::ErrorCodeOf(status);
  switch (step) {
    case kCreate:
    case kMkdir:
      if (code == ErrorCode::kExists) return Outcome::kTwice;
      break;
    case kRename:
    case kRemove:
    case kRmdir:
      if (code == ErrorCode::kNoEntry) return Outcome::kTwice;
      break;
    default:
      break;
  }
  return Outcome::kError;
}

absl::Status VerifiedWorkload::Call(Step step, uint64_t i) {
  switch (step) {
    case kAppend: {
      Record r{RecordKind::kAppend, static_cast<uint32_t>(thread_), i, 0, tag_};
      return client_->Write(log_, i * kRecordBytes, EncodeRecord(r)).status();
    }
    case kSlot: {
      const uint64_t k = i % kSlots;
      Record r{RecordKind::kSlot, static_cast<uint32_t>(thread_), i, k, tag_};
      return client_->Write(slots_, k * kRecordBytes, EncodeRecord(r)).status();
    }
    case kCreate: {
      protocol::CreateRequest r;
      r.dir = dir_;
      r.name = Name('c', i);
      r.exclusive = true;
      return client_->CreateAt(r).status();
    }
    case kRename: {
      protocol::RenameRequest r;
      r.from_dir = dir_;
      r.from_name = Name('c', i);
      r.to_dir = dir_;
      r.to_name = Name('r', i);
      return client_->RenameAt(r);
    }
    case kMkdir: {
      protocol::MkdirRequest r;
      r.dir = dir_;
      r.name = Name('d', i);
      return client_->MkdirAt(r).status();
    }
    case kRemove:
      return client_->RemoveAt(dir_, Name('r', i));
    case kRmdir:
      return client_->RmdirAt(dir_, Name('d', i));
    default:
      return absl::InternalError("no such step");
  }
}

VerifiedWorkload::Outcome VerifiedWorkload::Perform(Step step, uint64_t i) {
  const absl::Time start = absl::Now();
  const absl::Status status = Call(step, i);
  const int64_t took_us = absl::ToInt64Microseconds(absl::Now() - start);
  int64_t longest = max_stall_us_.load();
  while (took_us > longest && !max_stall_us_.compare_exchange_weak(longest, took_us)) {
  }
  const Outcome outcome = Classify(step, status);
  switch (outcome) {
    case Outcome::kAcked:
      ++acked_;
      break;
    case Outcome::kTwice:
      ++twice_;
      Problem("twice", absl::StrCat(dir_path_, " cycle ", i, " ", StepName(step), ": ",
                                    status.message(), " (executed twice)"));
      break;
    case Outcome::kError:
      ++errors_;
      Problem("error",
              absl::StrCat(dir_path_, " cycle ", i, " ", StepName(step), ": ", status.ToString()));
      break;
  }
  if (options_.op_interval > absl::ZeroDuration()) absl::SleepFor(options_.op_interval);
  return outcome;
}

void VerifiedWorkload::Run(const std::atomic<bool>* stop, absl::Time deadline) {
  if (!ready_) return;
  for (;; ++next_cycle_) {
    const uint64_t i = next_cycle_;
    int chain_done = 0;
    for (int s = kAppend; s < kSteps; ++s) {
      const Step step = static_cast<Step>(s);
      if (stop->load() || absl::Now() >= deadline) {
        if (chain_done > 0) open_chains_.push_back({i, chain_done, false});
        return;
      }
      if (step == kAppend) append_acked_.push_back(false);
      if (step == kSlot) slot_issued_[i % kSlots] = static_cast<int64_t>(i);
      const Outcome outcome = Perform(step, i);
      if (step == kAppend) {
        if (outcome == Outcome::kAcked) append_acked_[i] = true;
      } else if (step == kSlot) {
        if (outcome == Outcome::kAcked) slot_acked_[i % kSlots] = static_cast<int64_t>(i);
      } else if (outcome == Outcome::kError) {
        open_chains_.push_back({i, chain_done, true});
        break;
      } else {
        ++chain_done;
      }
    }
    ++cycles_;
  }
}

absl::StatusOr<uint64_t> VerifiedWorkload::Verify() {
  if (!ready_) return absl::FailedPreconditionError("setup failed");
  uint64_t lost = 0;
  absl::Status s = VerifyLog(&lost);
  if (s.ok()) s = VerifySlots(&lost);
  if (s.ok()) s = VerifyNames(&lost);
  if (!s.ok()) return WithContext(absl::StrCat("verify ", dir_path_), s);
  lost_ += lost;
  return lost;
}

namespace {

// What 64 bytes hold, for a problem report.
std::string Describe(absl::string_view bytes, uint64_t tag) {
  if (bytes.size() < kRecordBytes) return absl::StrCat("only ", bytes.size(), " bytes");
  if (IsZero(bytes)) return "zeros";
  absl::StatusOr<Record> r = DecodeRecord(bytes);
  if (!r.ok()) return absl::StrCat("garbage (", r.status().message(), ")");
  return absl::StrCat(DescribeRecord(*r), r->tag == tag ? "" : " of another client");
}

}  // namespace

absl::Status VerifiedWorkload::VerifyLog(uint64_t* lost) {
  absl::StatusOr<protocol::FileAttr> attr = client_->GetAttr(log_);
  if (!attr.ok()) return WithContext("getattr log", attr.status());
  const uint64_t issued = append_acked_.size();
  const uint64_t size = attr->size;
  // Appends go only to i*64 for the issued i, 64 bytes each: the log cannot be longer.
  if (size > issued * kRecordBytes) {
    Lost(lost, absl::StrCat(dir_path_, "/log is ", size, " bytes, longer than the ", issued,
                            " issued appends"));
  }
  std::string chunk(kReadChunk, '\0');
  uint64_t chunk_offset = 0;
  size_t chunk_bytes = 0;
  bool loaded = false;
  for (uint64_t j = 0; j < issued; ++j) {
    const uint64_t offset = j * kRecordBytes;
    if (!loaded || offset >= chunk_offset + kReadChunk) {
      chunk_offset = offset - offset % kReadChunk;
      chunk_bytes = 0;
      if (chunk_offset < size) {
        absl::StatusOr<size_t> n = client_->Read(log_, chunk_offset, absl::MakeSpan(chunk));
        if (!n.ok()) return WithContext(absl::StrCat("read log at ", chunk_offset), n.status());
        chunk_bytes = *n;
      }
      loaded = true;
    }
    const size_t at = static_cast<size_t>(offset - chunk_offset);
    const absl::string_view bytes =
        at >= chunk_bytes
            ? absl::string_view()
            : absl::string_view(chunk).substr(at, std::min(kRecordBytes, chunk_bytes - at));
    const std::string expected =
        EncodeRecord(Record{RecordKind::kAppend, static_cast<uint32_t>(thread_), j, 0, tag_});
    if (append_acked_[j]) {
      if (bytes != expected) {
        Lost(lost, absl::StrCat(dir_path_, "/log: acknowledged append ", j, " at offset ", offset,
                                " holds ", Describe(bytes, tag_)));
      }
    } else if (!bytes.empty() && !IsZero(bytes) && bytes != expected) {
      Lost(lost, absl::StrCat(dir_path_, "/log: unacknowledged append ", j, " at offset ", offset,
                              " holds ", Describe(bytes, tag_)));
    }
  }
  return absl::OkStatus();
}

absl::Status VerifiedWorkload::VerifySlots(uint64_t* lost) {
  std::string data(kSlots * kRecordBytes, '\0');
  absl::StatusOr<size_t> n = client_->Read(slots_, 0, absl::MakeSpan(data));
  if (!n.ok()) return WithContext("read slots", n.status());
  data.resize(*n);
  for (uint64_t k = 0; k < kSlots; ++k) {
    const size_t at = static_cast<size_t>(k * kRecordBytes);
    const absl::string_view bytes =
        at >= data.size()
            ? absl::string_view()
            : absl::string_view(data).substr(at, std::min(kRecordBytes, data.size() - at));
    const int64_t acked = slot_acked_[k];
    const int64_t issued = slot_issued_[k];
    const std::string where =
        absl::StrCat(dir_path_, "/slots: slot ", k, " (last acknowledged version ", acked,
                     ", last issued ", issued, ") holds ");
    if (bytes.empty() || IsZero(bytes)) {
      if (acked >= 0) Lost(lost, absl::StrCat(where, bytes.empty() ? "nothing" : "zeros"));
      continue;
    }
    absl::StatusOr<Record> r = DecodeRecord(bytes);
    const bool mine = r.ok() && r->kind == RecordKind::kSlot && r->slot == k &&
                      r->thread == static_cast<uint32_t>(thread_) && r->tag == tag_ &&
                      r->index % kSlots == k;
    const int64_t version = r.ok() ? static_cast<int64_t>(r->index) : -1;
    if (!mine || version < acked || version > issued) {
      Lost(lost, absl::StrCat(where, Describe(bytes, tag_)));
    }
  }
  return absl::OkStatus();
}

absl::Status VerifiedWorkload::VerifyNames(uint64_t* lost) {
  std::map<uint64_t, std::map<char, FileType>> chains;
  bool have_log = false, have_slots = false;
  uint64_t cookie = 0;
  while (true) {
    absl::StatusOr<protocol::ReadDirReply> page = client_->ReadDir(dir_, cookie, kReadDirPage);
    if (!page.ok()) return WithContext("readdir", page.status());
    for (const protocol::DirEntry& e : page->entries) {
      if (e.name == "log" || e.name == "slots") {
        (e.name == "log" ? have_log : have_slots) = e.type == FileType::kRegular;
        continue;
      }
      uint64_t i = 0;
      const bool chain_name = e.name.size() > 2 && e.name[1] == '-' &&
                              (e.name[0] == 'c' || e.name[0] == 'r' || e.name[0] == 'd') &&
                              absl::SimpleAtoi(e.name.substr(2), &i) &&
                              Name(e.name[0], i) == e.name;
      if (!chain_name || i >= next_cycle_ + 1) {
        Lost(lost, absl::StrCat(dir_path_, ": unexpected name ", e.name));
        continue;
      }
      chains[i][e.name[0]] = e.type;
    }
    if (page->eof || page->entries.empty()) break;
    cookie = page->cookie;
  }
  if (!have_log) Lost(lost, absl::StrCat(dir_path_, "/log is missing or not a file"));
  if (!have_slots) Lost(lost, absl::StrCat(dir_path_, "/slots is missing or not a file"));
  std::map<uint64_t, OpenChain> open;
  for (const OpenChain& c : open_chains_) open[c.i] = c;
  for (const auto& [i, c] : open) chains[i];  // also look at chains whose names should exist
  for (const auto& [i, names] : chains) {
    std::string state;
    for (char letter : {'c', 'r', 'd'}) {
      auto it = names.find(letter);
      if (it == names.end()) continue;
      state += letter;
      const FileType want = letter == 'd' ? FileType::kDirectory : FileType::kRegular;
      if (it->second != want) {
        Lost(lost, absl::StrCat(dir_path_, "/", Name(letter, i), " has the wrong type"));
      }
    }
    auto it = open.find(i);
    std::string allowed = ShowState(ChainState(it == open.end() ? 5 : it->second.done));
    bool ok = state == ChainState(it == open.end() ? 5 : it->second.done);
    if (it != open.end() && it->second.uncertain) {
      ok = ok || state == ChainState(it->second.done + 1);
      absl::StrAppend(&allowed, " or ", ShowState(ChainState(it->second.done + 1)));
    }
    if (!ok) {
      Lost(lost,
           absl::StrCat(dir_path_, ": chain ", i, " left names ", ShowState(state), ", expected ",
                        allowed, it == open.end() ? " (chain completed)" : " (chain interrupted)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace load
}  // namespace vifiler
