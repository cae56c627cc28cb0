// Copyright 2026 The vifiler Authors.

#include "transport/log.h"

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/base/const_init.h"
#include "absl/synchronization/mutex.h"

namespace vifiler {
namespace log {
namespace internal {

std::atomic<int> min_level{static_cast<int>(Level::kOff)};

}  // namespace internal

namespace {

absl::Mutex sink_mu(absl::kConstInit);
// Replaced, never modified: a deliverer holds its own reference while it calls the sink.
std::shared_ptr<const Sink>* sink_slot ABSL_GUARDED_BY(sink_mu) = nullptr;

std::shared_ptr<const Sink> CurrentSink() {
  absl::MutexLock lock(&sink_mu);
  return sink_slot == nullptr ? nullptr : *sink_slot;
}

}  // namespace

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarning:
      return "WARNING";
    case Level::kError:
      return "ERROR";
    case Level::kOff:
      break;
  }
  return "OFF";
}

void SetSink(Level min_level, Sink sink) {
  const bool off = !sink || min_level >= Level::kOff;
  auto replacement = off ? nullptr : std::make_shared<const Sink>(std::move(sink));
  absl::MutexLock lock(&sink_mu);
  // Leaked on purpose (one pointer): messages may be logged from threads that outlive main.
  if (sink_slot == nullptr) sink_slot = new std::shared_ptr<const Sink>;
  *sink_slot = std::move(replacement);
  internal::min_level.store(static_cast<int>(off ? Level::kOff : min_level),
                            std::memory_order_relaxed);
}

void Deliver(Level level, const char* file, int line, const std::string& text) {
  if (!Enabled(level)) return;
  std::shared_ptr<const Sink> sink = CurrentSink();
  if (sink != nullptr) (*sink)(level, file, line, text);
}

Message::Message(Level level, const char* file, int line, bool append_errno)
    : level_(level), file_(file), line_(line), saved_errno_(errno), append_errno_(append_errno) {}

Message::~Message() {
  if (append_errno_) {
    char buffer[256];
    // GNU strerror_r: returns the description (in buffer or a static string).
    const char* description = strerror_r(saved_errno_, buffer, sizeof buffer);
    stream_ << ": " << description << " [" << saved_errno_ << "]";
  }
  Deliver(level_, file_, line_, stream_.str());
}

}  // namespace log
}  // namespace vifiler
