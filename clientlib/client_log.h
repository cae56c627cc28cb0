// Copyright 2026 The vifiler Authors.
//
// Logging inside the client library (internal; not installed). A client's own messages go to
// its ClientOptions::log when set, otherwise through the process-wide shim (transport/log.h),
// which drops them unless the application (SetLogHandler, vifiler_set_log) or a tool
// (tools/log_to_glog.h) installed a sink.
//
//   VIFILER_CLIENT_LOG(options_, Warning) << "vifiler: nothing from " << filer << ...;

#ifndef VIFILER_CLIENTLIB_CLIENT_LOG_H_
#define VIFILER_CLIENTLIB_CLIENT_LOG_H_

#include <sstream>

#include "clientlib/client.h"
#include "transport/log.h"

namespace vifiler {
namespace client {

// Whether a message of this client at `level` would reach anyone.
bool ClientLogEnabled(const ClientOptions& options, log::Level level);

// One message of a client under construction; delivered when destroyed.
class ClientLogMessage {
 public:
  ClientLogMessage(const ClientOptions& options, log::Level level, const char* file, int line);
  ~ClientLogMessage();
  ClientLogMessage(const ClientLogMessage&) = delete;
  ClientLogMessage& operator=(const ClientLogMessage&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  const ClientOptions& options_;
  const log::Level level_;
  const char* const file_;
  const int line_;
  std::ostringstream stream_;
};

}  // namespace client
}  // namespace vifiler

#define VIFILER_CLIENT_LOG(options, severity)                                                \
  !::vifiler::client::ClientLogEnabled(options, ::vifiler::log::Level::k##severity)          \
      ? (void)0                                                                              \
      : ::vifiler::log::Voidify() &                                                          \
            ::vifiler::client::ClientLogMessage(options, ::vifiler::log::Level::k##severity, \
                                                __FILE__, __LINE__)                          \
                .stream()

#endif  // VIFILER_CLIENTLIB_CLIENT_LOG_H_
