// Copyright 2026 The vifiler Authors.

#include "clientlib/client_log.h"

#include <cstdio>
#include <utility>

namespace vifiler {
namespace client {

void SetLogHandler(LogLevel min_level, LogHandler handler) {
  if (handler) {
    log::SetSink(static_cast<log::Level>(min_level),
                 [handler = std::move(handler)](log::Level level, const char*, int,
                                                const std::string& text) {
                   handler(static_cast<LogLevel>(level), text);
                 });
  } else {
    log::SetSink(static_cast<log::Level>(min_level),
                 [](log::Level level, const char*, int, const std::string& text) {
                   // One fprintf per message: lines from concurrent threads do not interleave.
                   fprintf(stderr, "vifiler %s: %s\n", log::LevelName(level), text.c_str());
                 });
  }
}

bool ClientLogEnabled(const ClientOptions& options, log::Level level) {
  if (options.log) return static_cast<int>(level) >= static_cast<int>(options.log_level);
  return log::Enabled(level);
}

ClientLogMessage::ClientLogMessage(const ClientOptions& options, log::Level level, const char* file,
                                   int line)
    : options_(options), level_(level), file_(file), line_(line) {}

ClientLogMessage::~ClientLogMessage() {
  if (options_.log) {
    options_.log(static_cast<LogLevel>(level_), stream_.str());
  } else {
    log::Deliver(level_, file_, line_, stream_.str());
  }
}

}  // namespace client
}  // namespace vifiler
