// Copyright 2026 The vifiler Authors.
//
// ClientIdentity: runs the calling thread's file-system calls as a client's user for the
// lifetime of the object (RAII), so that the kernel checks permission bits for that user and
// what it creates belongs to it.
//
// Contract:
//  - The constructor sets the *calling thread's* fsuid, fsgid and supplementary groups with the
//    raw system calls (SYS_setfsuid, SYS_setfsgid, SYS_setgroups). glibc's setgroups() and
//    setuid() wrappers are never used: they change every thread of the process. ok() says
//    whether the identity took effect; when it did not, the thread is back at the identity it
//    had, and the caller must not run the client's operation.
//  - A non-zero fsuid drops the file-system capabilities (CAP_DAC_OVERRIDE, CAP_FOWNER,
//    CAP_CHOWN, ...) from the thread's effective set, so mode bits apply; fsuid 0 brings them
//    back. Other capabilities (CAP_SETUID, CAP_SETGID, CAP_IPC_LOCK) are untouched.
//  - The destructor puts back the identity that was in effect when it was constructed, on
//    every path (the filer's own: fsuid 0, fsgid 0 and the process's groups; or an enclosing
//    scope's). Scopes nest: a ClientIdentity(nullptr) inside a client's scope runs the filer's
//    own work (resolving handles, caching descriptors, scanning the tree) as the filer, and
//    the client's identity is back when it ends. If the previous identity cannot be put back
//    (setgroups out of memory) the process aborts: a thread must never carry one request's
//    user into the next one, or into the filer's own work.
//  - Only a filer running as root changes identity (Supported()); otherwise every scope is a
//    no-op that reports ok(): the process cannot act as anyone but itself.
//  - Current(): the client credentials in effect on this thread, nullptr when it acts as the
//    filer (no scope, a ClientIdentity(nullptr) scope, or not Supported()).
//  - A thread created inside a scope inherits its identity (clone(2) copies credentials):
//    start no thread inside one.
// Not copyable or movable: it belongs to the thread and the block that made it.

#ifndef VIFILER_FILER_CLIENT_IDENTITY_H_
#define VIFILER_FILER_CLIENT_IDENTITY_H_

#include "filer/credentials.h"

namespace vifiler {
namespace filer {

class ClientIdentity {
 public:
  // nullptr: the filer's own identity.
  explicit ClientIdentity(const Credentials* credentials);
  ~ClientIdentity();
  ClientIdentity(const ClientIdentity&) = delete;
  ClientIdentity& operator=(const ClientIdentity&) = delete;

  bool ok() const { return ok_; }

  static bool Supported();
  static const Credentials* Current();

 private:
  const Credentials* const previous_;
  bool switched_ = false;
  bool ok_ = true;
};

// The calling thread's fsuid and fsgid as the kernel has them (for tests and checks).
uint32_t CurrentFsuid();
uint32_t CurrentFsgid();

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_CLIENT_IDENTITY_H_
