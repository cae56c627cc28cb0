// Copyright 2026 The vifiler Authors.
//
// The logging shim of the layers an application embeds (transport, clientlib). Those layers
// never write to the process's stderr themselves: every message goes to one process-wide sink,
// and with no sink installed (the default) every message is dropped before it is formatted.
// The tools install a sink that forwards to glog (tools/tool_main.h); the client library's
// public API installs one for the application (vifiler::client::SetLogHandler,
// vifiler_set_log).
//
//   VIFILER_LOG(Warning) << "closing connection to " << peer << ": " << status;
//   VIFILER_PLOG(Error) << "eventfd";  // appends ": <strerror(errno)> [<errno>]"
//
// Contract:
//  - A message is one line of text (no trailing newline), with the level, source file and
//    line of the statement that produced it.
//  - The stream operands are evaluated only when the level is enabled.
//  - SetSink and logging are thread-safe; the sink may be called from any thread, concurrently,
//    and must not log through this shim itself. A message racing SetSink goes to the old sink or
//    to the new one.

#ifndef VIFILER_TRANSPORT_LOG_H_
#define VIFILER_TRANSPORT_LOG_H_

#include <atomic>
#include <functional>
#include <sstream>
#include <string>

namespace vifiler {
namespace log {

// Ordered by severity. kOff is only a threshold: no message has it.
enum class Level : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

// Upper-case name: "DEBUG", "INFO", "WARNING", "ERROR" ("OFF").
const char* LevelName(Level level);

using Sink = std::function<void(Level level, const char* file, int line, const std::string& text)>;

// Installs the process-wide sink: messages at min_level and above go to `sink`, others are
// dropped. An empty sink or min_level kOff drops every message (the state at startup).
void SetSink(Level min_level, Sink sink);

// Whether a message at `level` would reach a sink. Cheap (one relaxed atomic load).
inline bool Enabled(Level level);

// Hands one message to the sink, if its level is enabled.
void Deliver(Level level, const char* file, int line, const std::string& text);

// One message under construction; delivered when destroyed.
class Message {
 public:
  // With append_errno, the text gets ": <strerror(errno)> [<errno>]" with errno as it was at
  // construction.
  Message(Level level, const char* file, int line, bool append_errno = false);
  ~Message();
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  const Level level_;
  const char* const file_;
  const int line_;
  const int saved_errno_;
  const bool append_errno_;
  std::ostringstream stream_;
};

// Turns `Voidify() & stream << ...` into void, so the macros are one expression.
struct Voidify {
  void operator&(std::ostream&) {}
};

namespace internal {
extern std::atomic<int> min_level;
}  // namespace internal

inline bool Enabled(Level level) {
  return static_cast<int>(level) >= internal::min_level.load(std::memory_order_relaxed);
}

}  // namespace log
}  // namespace vifiler

#define VIFILER_LOG_AT(level, append_errno) \
  !::vifiler::log::Enabled(level)           \
      ? (void)0                             \
      : ::vifiler::log::Voidify() &         \
            ::vifiler::log::Message(level, __FILE__, __LINE__, append_errno).stream()

// VIFILER_LOG(Debug|Info|Warning|Error) << ...;
#define VIFILER_LOG(severity) VIFILER_LOG_AT(::vifiler::log::Level::k##severity, false)
// As VIFILER_LOG, with errno's description appended.
#define VIFILER_PLOG(severity) VIFILER_LOG_AT(::vifiler::log::Level::k##severity, true)

#endif  // VIFILER_TRANSPORT_LOG_H_
