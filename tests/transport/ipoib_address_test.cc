// Copyright 2026 The vifiler Authors.
//
// IpoibInterfaces over a fake sysfs tree and HasRoutableAddress over a hand-made getifaddrs
// list: an InfiniBand port counts as usable by `auto` only with an addressed IPoIB interface.

#include "transport/rdma/ipoib_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace vifiler {
namespace transport {
namespace rdma {
namespace {

class FakeSysfs {
 public:
  FakeSysfs() {
    char pattern[] = "/tmp/vifiler-ipoib-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~FakeSysfs() { std::system(absl::StrCat("rm -rf '", root_, "'").c_str()); }
  // An interface `name` of `device` with the given attributes ("" leaves one out).
  void AddInterface(const std::string& device, const std::string& name, const std::string& type,
                    const std::string& dev_port, const std::string& dev_id) {
    Mkdirs(absl::StrCat(root_, "/class/infiniband/", device, "/device/net/", name));
    const std::string net = absl::StrCat(root_, "/class/net/", name);
    Mkdirs(net);
    if (!type.empty()) Write(net + "/type", type);
    if (!dev_port.empty()) Write(net + "/dev_port", dev_port);
    if (!dev_id.empty()) Write(net + "/dev_id", dev_id);
  }
  const std::string& root() const { return root_; }

 private:
  static void Mkdirs(const std::string& path) {
    for (size_t at = 1; at != std::string::npos; at = path.find('/', at + 1)) {
      mkdir(path.substr(0, at).c_str(), 0755);
    }
    mkdir(path.c_str(), 0755);
  }
  static void Write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text << "\n";
  }
  std::string root_;
};

TEST(IpoibAddressTest, ListsTheIpoibInterfacesOfAPort) {
  FakeSysfs sysfs;
  sysfs.AddInterface("mlx5_0", "ib0", "32", "0", "0x0");
  sysfs.AddInterface("mlx5_0", "ib1", "32", "1", "0x1");
  sysfs.AddInterface("mlx5_0", "ib0.8001", "32", "", "0x0");  // a child: dev_id only
  sysfs.AddInterface("mlx5_0", "eth4", "1", "0", "");         // Ethernet on the same device
  sysfs.AddInterface("mlx5_1", "ib2", "32", "", "");          // says no port: any port
  EXPECT_EQ(IpoibInterfaces(sysfs.root(), "mlx5_0", 1),
            (std::vector<std::string>{"ib0", "ib0.8001"}));
  EXPECT_EQ(IpoibInterfaces(sysfs.root(), "mlx5_0", 2), (std::vector<std::string>{"ib1"}));
  EXPECT_EQ(IpoibInterfaces(sysfs.root(), "mlx5_1", 1), (std::vector<std::string>{"ib2"}));
  EXPECT_TRUE(IpoibInterfaces(sysfs.root(), "mlx5_9", 1).empty());
  EXPECT_TRUE(IpoibInterfaces("/nonexistent", "mlx5_0", 1).empty());
}

// A getifaddrs list made by hand.
class AddressList {
 public:
  void Add(const std::string& name, const char* ipv4, const char* ipv6) {
    entries_.push_back(std::make_unique<Entry>());
    Entry& e = *entries_.back();
    e.name = name;
    e.ifa.ifa_name = e.name.data();
    if (ipv4 != nullptr) {
      e.v4.sin_family = AF_INET;
      inet_pton(AF_INET, ipv4, &e.v4.sin_addr);
      e.ifa.ifa_addr = reinterpret_cast<sockaddr*>(&e.v4);
    } else if (ipv6 != nullptr) {
      e.v6.sin6_family = AF_INET6;
      inet_pton(AF_INET6, ipv6, &e.v6.sin6_addr);
      e.ifa.ifa_addr = reinterpret_cast<sockaddr*>(&e.v6);
    }
    for (size_t i = 0; i + 1 < entries_.size(); ++i) {
      entries_[i]->ifa.ifa_next = &entries_[i + 1]->ifa;
    }
  }
  const ifaddrs* head() const { return entries_.empty() ? nullptr : &entries_.front()->ifa; }

 private:
  struct Entry {
    std::string name;
    ifaddrs ifa{};
    sockaddr_in v4{};
    sockaddr_in6 v6{};
  };
  std::vector<std::unique_ptr<Entry>> entries_;
};

TEST(IpoibAddressTest, OnlyARoutableAddressOnTheInterfaceCounts) {
  AddressList list;
  list.Add("ib0", nullptr, nullptr);  // AF_PACKET-like entry: no address
  list.Add("ib0", nullptr, "fe80::1");
  list.Add("eth0", "192.0.2.7", nullptr);
  EXPECT_FALSE(HasRoutableAddress({"ib0"}, list.head())) << "link-local only";
  EXPECT_TRUE(HasRoutableAddress({"eth0"}, list.head()));
  EXPECT_FALSE(HasRoutableAddress({}, list.head()));
  EXPECT_FALSE(HasRoutableAddress({"ib0"}, nullptr));
  list.Add("ib0", nullptr, "2001:db8::5");
  EXPECT_TRUE(HasRoutableAddress({"ib0"}, list.head()));
  AddressList v4;
  v4.Add("ib1", "10.1.0.3", nullptr);
  EXPECT_TRUE(HasRoutableAddress({"ib0", "ib1"}, v4.head()));
}

}  // namespace
}  // namespace rdma
}  // namespace transport
}  // namespace vifiler
