// Copyright 2026 The vifiler Authors.
//
// An application of the C++ API, built by install_test.sh against an installed tree only
// (pkg-config --cflags --libs vifiler-client): it includes "clientlib/client.h" as installed
// under <includedir>/vifiler, with the protocol headers it needs.
//
//   embed_cpp HOSTS_FILE PORT
// Connects to a filer that is down with a short deadline and a per-client log callback: the
// connect must fail as unavailable, the callback must have received the client's messages and
// the process-wide handler none of them. Exits 0 when all of that holds.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "clientlib/client.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOSTS_FILE PORT\n", argv[0]);
    return 2;
  }
  using vifiler::client::LogLevel;
  std::atomic<int> global{0};
  std::atomic<int> own{0};
  vifiler::client::SetLogHandler(LogLevel::kDebug,
                                 [&global](LogLevel, const std::string&) { ++global; });
  vifiler::client::ClientOptions options;
  options.fabric = "tcp";
  options.hosts_file = argv[1];
  options.primary_discriminator = static_cast<uint16_t>(atoi(argv[2]));
  options.secondary_discriminator = static_cast<uint16_t>(atoi(argv[2]) + 1);
  options.failover_deadline = absl::Milliseconds(700);
  options.log_level = LogLevel::kDebug;
  options.log = [&own](LogLevel level, const std::string& message) {
    ++own;
    printf("log level=%d: %s\n", static_cast<int>(level), message.c_str());
  };
  auto client = vifiler::client::Client::Connect("downfiler", options);
  const vifiler::protocol::FileHandle handle;
  printf("version=%s connect=%s own=%d global=%d handle=%s code=%s\n", vifiler::Version(),
         client.status().ToString().c_str(), own.load(), global.load(), handle.ToString().c_str(),
         vifiler::protocol::ErrorCodeName(vifiler::client::ErrorCodeOf(client.status())));
  vifiler::client::SetLogHandler(LogLevel::kOff, nullptr);
  return !client.ok() && absl::IsUnavailable(client.status()) && own > 0 && global == 0 ? 0 : 1;
}
