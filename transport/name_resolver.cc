// Copyright 2026 The vifiler Authors.

#include "transport/name_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vifiler {
namespace transport {
namespace {

bool IsNumericAddress(const std::string& s) {
  in_addr a4;
  in6_addr a6;
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

}  // namespace

absl::Status NameResolver::LoadIfChanged() {
  struct stat st;
  if (stat(hosts_file_.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read hosts file ", hosts_file_));
  }
  int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  if (mtime == loaded_mtime_ns_) return absl::OkStatus();
  std::ifstream in(hosts_file_);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read hosts file ", hosts_file_));
  hosts_.clear();
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::vector<std::string> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.size() < 2 || !IsNumericAddress(fields[0])) continue;
    for (size_t i = 1; i < fields.size(); ++i) hosts_.emplace(fields[i], fields[0]);
  }
  loaded_mtime_ns_ = mtime;
  return absl::OkStatus();
}

absl::StatusOr<std::string> NameResolver::Resolve(absl::string_view name) {
  std::string key(name);
  if (IsNumericAddress(key)) return key;
  if (!hosts_file_.empty()) {
    absl::MutexLock lock(&mu_);
    absl::Status s = LoadIfChanged();
    if (!s.ok()) return s;
    auto it = hosts_.find(key);
    if (it == hosts_.end()) {
      return absl::NotFoundError(absl::StrCat("name '", key, "' not in hosts file ", hosts_file_));
    }
    return it->second;
  }
  addrinfo hints = {};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(key.c_str(), nullptr, &hints, &result);
  if (rc == EAI_AGAIN) {
    // The resolver could not answer now (no DNS server reachable): asking again may work.
    return absl::UnavailableError(
        absl::StrCat("cannot resolve '", key, "' with the system resolver: ", gai_strerror(rc)));
  }
  if (rc != 0 || result == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot resolve '", key, "' with the system resolver: ", gai_strerror(rc)));
  }
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr, buf, sizeof buf);
  freeaddrinfo(result);
  return std::string(buf);
}

}  // namespace transport
}  // namespace vifiler
