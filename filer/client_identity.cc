// Copyright 2026 The vifiler Authors.

#include "filer/client_identity.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "glog/logging.h"

namespace vifiler {
namespace filer {
namespace {

// nullptr: this thread acts as the filer.
thread_local const Credentials* current_credentials = nullptr;

// The filer's own identity, read once, before any thread has changed its own.
struct FilerIdentity {
  bool supported = false;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<gid_t> groups;
};

const FilerIdentity& Filer() {
  static const FilerIdentity* const filer = [] {
    auto* f = new FilerIdentity;
    f->supported = geteuid() == 0;
    f->uid = geteuid();
    f->gid = getegid();
    const int n = getgroups(0, nullptr);
    if (n > 0) {
      f->groups.resize(static_cast<size_t>(n));
      const int got = getgroups(n, f->groups.data());
      f->groups.resize(got > 0 ? static_cast<size_t>(got) : 0);
    }
    return f;
  }();
  return *filer;
}

// Per-thread system calls (the raw ones; see the header).
bool SetGroups(const gid_t* groups, size_t count) {
  return syscall(SYS_setgroups, count, groups) == 0;
}

// setfsuid/setfsgid return the previous id and never an error: read back to check.
bool SetFsIds(uint32_t uid, uint32_t gid) {
  syscall(SYS_setfsgid, gid);
  syscall(SYS_setfsuid, uid);
  return CurrentFsuid() == uid && CurrentFsgid() == gid;
}

bool Apply(const Credentials* credentials) {
  const FilerIdentity& filer = Filer();
  if (credentials == nullptr) {
    // Back to root first: fsuid 0 brings the file-system capabilities back.
    const bool ids = SetFsIds(filer.uid, filer.gid);
    return SetGroups(filer.groups.data(), filer.groups.size()) && ids;
  }
  std::vector<gid_t> groups(credentials->groups.begin(), credentials->groups.end());
  if (!SetGroups(groups.data(), groups.size())) return false;
  return SetFsIds(credentials->uid, credentials->gid);
}

}  // namespace

uint32_t CurrentFsuid() { return static_cast<uint32_t>(syscall(SYS_setfsuid, -1)); }
uint32_t CurrentFsgid() { return static_cast<uint32_t>(syscall(SYS_setfsgid, -1)); }

bool ClientIdentity::Supported() { return Filer().supported; }

const Credentials* ClientIdentity::Current() { return Supported() ? current_credentials : nullptr; }

ClientIdentity::ClientIdentity(const Credentials* credentials) : previous_(current_credentials) {
  if (!Supported()) return;
  if (credentials == previous_) return;  // already in effect
  switched_ = true;
  current_credentials = credentials;
  if (!Apply(credentials)) {
    const int error = errno;
    ok_ = false;
    LOG_EVERY_N(ERROR, 100) << "cannot act as "
                            << (credentials ? CredentialsToString(*credentials) : "the filer")
                            << ": " << strerror(error);
  }
}

ClientIdentity::~ClientIdentity() {
  if (!switched_) return;
  current_credentials = previous_;
  if (!Apply(previous_)) {
    LOG(FATAL) << "cannot return to "
               << (previous_ ? CredentialsToString(*previous_) : "the filer's identity") << ": "
               << strerror(errno);
  }
}

}  // namespace filer
}  // namespace vifiler
