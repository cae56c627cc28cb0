// Copyright 2026 The vifiler Authors.

#include "transport/rdma/ipoib_address.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vifiler {
namespace transport {
namespace rdma {
namespace {

constexpr int kArphrdInfiniband = 32;

// The first line of a sysfs attribute, trimmed; empty when it cannot be read.
std::string ReadAttribute(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return std::string(absl::StripAsciiWhitespace(line));
}

// The 0-based port an interface says it serves, or -1 when it says nothing.
int InterfacePort(const std::string& net) {
  int port = 0;
  const std::string dev_port = ReadAttribute(net + "/dev_port");
  if (!dev_port.empty() && absl::SimpleAtoi(dev_port, &port)) return port;
  const std::string dev_id = ReadAttribute(net + "/dev_id");  // "0x0", "0x1"
  if (!dev_id.empty() && absl::SimpleHexAtoi(dev_id, &port)) return port;
  return -1;
}

}  // namespace

std::vector<std::string> IpoibInterfaces(absl::string_view sysfs, absl::string_view device,
                                         uint8_t port) {
  std::vector<std::string> found;
  const std::string listing = absl::StrCat(sysfs, "/class/infiniband/", device, "/device/net");
  DIR* dir = opendir(listing.c_str());
  if (dir == nullptr) return found;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string net = absl::StrCat(sysfs, "/class/net/", name);
    int type = 0;
    if (!absl::SimpleAtoi(ReadAttribute(net + "/type"), &type) || type != kArphrdInfiniband) {
      continue;
    }
    const int serves = InterfacePort(net);
    if (serves >= 0 && serves != port - 1) continue;
    found.push_back(name);
  }
  closedir(dir);
  std::sort(found.begin(), found.end());
  return found;
}

bool HasRoutableAddress(const std::vector<std::string>& interfaces, const ifaddrs* addresses) {
  for (const ifaddrs* a = addresses; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_name == nullptr) continue;
    if (std::find(interfaces.begin(), interfaces.end(), a->ifa_name) == interfaces.end()) continue;
    if (a->ifa_addr->sa_family == AF_INET) return true;
    if (a->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      if (!IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) return true;
    }
  }
  return false;
}

bool IpoibPortHasAddress(absl::string_view device, uint8_t port) {
  const std::vector<std::string> interfaces = IpoibInterfaces("/sys", device, port);
  if (interfaces.empty()) return false;
  ifaddrs* addresses = nullptr;
  if (getifaddrs(&addresses) != 0) return false;
  const bool has = HasRoutableAddress(interfaces, addresses);
  freeifaddrs(addresses);
  return has;
}

}  // namespace rdma
}  // namespace transport
}  // namespace vifiler
