// Copyright 2026 The vifiler Authors.

#include "tools/tool_main.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gflags/gflags.h"
#include "glog/logging.h"
#include "transport/log.h"
#include "vifiler_version.h"

namespace vifiler {
namespace tools {
namespace {

bool IsToolFlag(const gflags::CommandLineFlagInfo& flag) {
  return flag.filename.find("tools/") != std::string::npos;
}

void PrintHelp() {
  fprintf(stdout, "%s\n", gflags::ProgramUsage());
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  fprintf(stdout, "\nFlags:\n");
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    if (IsToolFlag(flag)) fputs(gflags::DescribeOneFlag(flag).c_str(), stdout);
  }
  fprintf(stdout, "\nLogging (glog) and flag parsing (gflags) flags:\n");
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    if (!IsToolFlag(flag)) fputs(gflags::DescribeOneFlag(flag).c_str(), stdout);
  }
}

}  // namespace

void ParseToolCommandLine(const char* usage, int* argc, char*** argv) {
  gflags::SetUsageMessage(usage);
  gflags::SetVersionString(VIFILER_VERSION_STRING);
  gflags::ParseCommandLineNonHelpFlags(argc, argv, /*remove_flags=*/true);
  std::string help;
  if (gflags::GetCommandLineOption("help", &help) && help == "true") {
    PrintHelp();
    fflush(stdout);
    exit(0);
  }
  gflags::HandleCommandLineHelpFlags();  // --version, --helpfull, ...: print and exit
}

void RouteLogToGlog() {
  log::SetSink(FLAGS_v >= 1 ? log::Level::kDebug : log::Level::kInfo,
               [](log::Level level, const char* file, int line, const std::string& text) {
                 const google::LogSeverity severity = level == log::Level::kError ? google::ERROR
                                                      : level == log::Level::kWarning
                                                          ? google::WARNING
                                                          : google::INFO;
                 google::LogMessage(file, line, severity).stream() << text;
               });
}

}  // namespace tools
}  // namespace vifiler
