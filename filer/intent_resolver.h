// Copyright 2026 The vifiler Authors.
//
// Intents of namespace operations: what create (exclusive), mkdir, remove, rmdir and rename
// are about to change, recorded durably before they execute (filer/reply_cache.h), and how the
// next owner of a volume decides, after a crash between such an operation and its durable
// reply, whether it ran.
//
// Why that decision is sound: the operation's names were held (filer/name_locks.h) from
// before its intent was captured until its reply was durable, so no other operation touched
// them in between; the next owner resolves every pending intent before it serves anyone. So
// the names are either as the intent found them (it did not run) or as the operation leaves
// them (it ran):
//   create/mkdir  the name did not exist  -> it exists (with the right type): ran
//   remove/rmdir  the name held file F    -> the name is gone or holds another file: ran
//   rename        source held file F      -> source gone and target holds F: ran
// A directory that no longer exists could only have been removed empty: a remove or rmdir in
// it ran, a create or mkdir in it did not.

#ifndef VIFILER_FILER_INTENT_RESOLVER_H_
#define VIFILER_FILER_INTENT_RESOLVER_H_

#include <memory>
#include <string>
#include <vector>

#include "filer/reply_record.h"
#include "filer/volume.h"
#include "protocol/types.h"
#include "storage/keyed_log.h"

namespace vifiler {
namespace filer {

// Completes *intent (op, directories, names and mode already set from the request) with the
// state it is about to change. kOk: record the intent, then execute. Otherwise the error that
// answers the request without executing it (nothing changed).
protocol::ErrorCode CaptureIntent(Volume* volume, Intent* intent);

struct Resolution {
  bool executed = false;
  // When executed: the reply status and body (for create/mkdir, the handle and attributes as
  // they are now), and what to sync before recording it.
  protocol::ErrorCode code = protocol::ErrorCode::kOk;
  std::string body;
  std::vector<std::shared_ptr<storage::KeyedLog::Effect>> effects;
};

// Decides whether the operation of a pending intent ran (see above). A create or mkdir that
// ran is completed: its mode is applied again (the crash may have come before that step).
Resolution ResolveIntent(Volume* volume, const Intent& intent);

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_INTENT_RESOLVER_H_
