// Copyright 2026 The vifiler Authors.

#include "tools/bench/pair_driver.h"

#include "absl/strings/str_cat.h"

namespace vifiler {
namespace bench {
namespace {

constexpr absl::Duration kStatusTimeout = absl::Seconds(2);
// A filer whose admin port has been silent this long since it last answered or started is
// restarted by RecoverBothUp.
constexpr absl::Duration kSilentRestart = absl::Seconds(15);
// RecoverBothUp sends giveback at most this often.
constexpr absl::Duration kGivebackRetry = absl::Seconds(3);

std::string Field(const std::map<std::string, std::string>& status, const std::string& key) {
  auto it = status.find(key);
  return it == status.end() ? "?" : it->second;
}

}  // namespace

PairDriver::PairDriver(FilerPair* pair, AdminClient* admin)
    : pair_(pair), admin_(admin), last_heard_{absl::Now(), absl::Now()} {}

void PairDriver::Kill(Which which) {
  pair_->Kill(which);
  down_[which] = true;
}

absl::Status PairDriver::Restart(Which which) {
  absl::Status s = pair_->StartFiler(which);
  if (!s.ok()) return s;
  down_[which] = false;
  last_heard_[which] = absl::Now();
  return absl::OkStatus();
}

absl::Status PairDriver::WaitState(Which which, const std::string& state, absl::Duration timeout) {
  absl::Status s = admin_->WaitFor(pair_->address(which), "state", state, timeout);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(Name(which), ": ", s.message()));
  last_heard_[which] = absl::Now();
  return s;
}

absl::Status PairDriver::Giveback(Which from, absl::Duration timeout) {
  absl::StatusOr<std::string> reply = admin_->Command(pair_->address(from), "giveback", timeout);
  if (!reply.ok()) {
    return absl::Status(reply.status().code(),
                        absl::StrCat("giveback by ", Name(from), ": ", reply.status().message()));
  }
  return absl::OkStatus();
}

bool PairDriver::ReadBoth(StatusMap out[2], std::string* states) {
  bool up = true;
  std::string text;
  for (Which w : {FilerPair::kA, FilerPair::kB}) {
    absl::StatusOr<StatusMap> status = admin_->Status(pair_->address(w), kStatusTimeout);
    out[w].clear();
    if (status.ok()) {
      out[w] = *status;
      last_heard_[w] = absl::Now();
      absl::StrAppend(&text, text.empty() ? "" : ", ", Name(w), " ", Field(out[w], "state"),
                      " (primary ", Field(out[w], "primary_port"), ", secondary ",
                      Field(out[w], "secondary_port"), ", partner ", Field(out[w], "partner_state"),
                      ")");
    } else {
      absl::StrAppend(
          &text, text.empty() ? "" : ", ", Name(w),
          down_[w] ? " down (killed): " : " not answering: ", status.status().message());
    }
    up = up && Field(out[w], "state") == "up" && Field(out[w], "partner_state") == "up" &&
         Field(out[w], "primary_port") == "open";
  }
  if (states != nullptr) *states = text;
  return up;
}

bool PairDriver::BothUp(std::string* states) {
  StatusMap status[2];
  return ReadBoth(status, states);
}

absl::Status PairDriver::RecoverBothUp(absl::Duration timeout, std::string* actions) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Time last_giveback = absl::InfinitePast();
  std::string states;
  auto note = [actions](const std::string& text) {
    absl::StrAppend(actions, actions->empty() ? "" : "; ", text);
  };
  while (true) {
    StatusMap status[2];
    if (ReadBoth(status, &states)) return absl::OkStatus();
    const absl::Time now = absl::Now();
    if (now >= deadline) break;
    for (Which w : {FilerPair::kA, FilerPair::kB}) {
      const bool silent = status[w].empty() && now - last_heard_[w] > kSilentRestart;
      if (!down_[w] && !silent) continue;
      absl::Status s = Restart(w);
      if (!s.ok())
        return absl::Status(s.code(), absl::StrCat("restart ", Name(w), ": ", s.message()));
      note(absl::StrCat(silent ? "restarted silent " : "restarted ", Name(w)));
    }
    for (Which w : {FilerPair::kA, FilerPair::kB}) {
      const Which other = w == FilerPair::kA ? FilerPair::kB : FilerPair::kA;
      if (Field(status[w], "state") == "takeover" &&
          Field(status[other], "state") == "waiting-for-giveback" &&
          now - last_giveback >= kGivebackRetry) {
        last_giveback = now;
        absl::Status s = Giveback(w, std::min(absl::Seconds(30), deadline - now));
        note(absl::StrCat("giveback by ", Name(w),
                          s.ok() ? "" : absl::StrCat(" failed: ", s.message())));
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("the pair is not both up after ", absl::FormatDuration(timeout), ": ", states));
}

}  // namespace bench
}  // namespace vifiler
