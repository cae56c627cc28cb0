// Copyright 2026 The vifiler Authors.

#include "filer/intent_resolver.h"

#include "protocol/codec.h"

namespace vifiler {
namespace filer {

using protocol::ErrorCode;
using protocol::FileType;
using protocol::Opcode;

namespace {

// The file a name holds now: kOk with *reply filled, or the lookup's error.
ErrorCode Probe(Volume* volume, const protocol::FileHandle& dir, const std::string& name,
                protocol::HandleReply* reply) {
  return volume->Lookup(dir, name, reply);
}

}  // namespace

ErrorCode CaptureIntent(Volume* volume, Intent* intent) {
  protocol::HandleReply found;
  const ErrorCode code = Probe(volume, intent->dir, intent->name, &found);
  switch (intent->op) {
    case Opcode::kCreate:
    case Opcode::kMkdir:
      if (code == ErrorCode::kOk) return ErrorCode::kExists;
      if (code != ErrorCode::kNoEntry) return code;
      intent->file_id = 0;
      return ErrorCode::kOk;
    case Opcode::kRemove:
    case Opcode::kRmdir: {
      if (code != ErrorCode::kOk) return code;
      const bool is_dir = found.attr.type == FileType::kDirectory;
      if (intent->op == Opcode::kRemove && is_dir) return ErrorCode::kIsDirectory;
      if (intent->op == Opcode::kRmdir && !is_dir) return ErrorCode::kNotDirectory;
      intent->file_id = found.handle.file_id;
      return ErrorCode::kOk;
    }
    case Opcode::kRename: {
      if (code != ErrorCode::kOk) return code;
      intent->file_id = found.handle.file_id;
      protocol::HandleReply target;
      const ErrorCode to = Probe(volume, intent->to_dir, intent->to_name, &target);
      if (to != ErrorCode::kOk && to != ErrorCode::kNoEntry) return to;
      return ErrorCode::kOk;
    }
    default:
      return ErrorCode::kInvalid;
  }
}

Resolution ResolveIntent(Volume* volume, const Intent& intent) {
  Resolution r;
  protocol::HandleReply found;
  const ErrorCode code = Probe(volume, intent.dir, intent.name, &found);
  switch (intent.op) {
    case Opcode::kCreate:
    case Opcode::kMkdir: {
      const FileType want =
          intent.op == Opcode::kCreate ? FileType::kRegular : FileType::kDirectory;
      if (code != ErrorCode::kOk || found.attr.type != want) return r;
      r.executed = true;
      protocol::SetAttrRequest mode;
      mode.handle = found.handle;
      mode.mask = protocol::kSetMode;
      mode.mode = intent.mode;
      protocol::FileAttr attr;
      if (volume->SetAttr(mode, &attr) == ErrorCode::kOk) found.attr = attr;
      std::string body;
      protocol::Encoder e(&body);
      protocol::EncodeBody(found, &e);
      r.body = std::move(body);
      r.effects = {volume->SyncOf(found.handle), volume->SyncOf(intent.dir)};
      return r;
    }
    case Opcode::kRemove:
    case Opcode::kRmdir:
      // Gone, or the name holds another file now (impossible while the name was held, but a
      // stale directory handle means the directory was removed, which needs it emptied).
      r.executed = code != ErrorCode::kOk || found.handle.file_id != intent.file_id;
      r.effects = {volume->SyncOf(intent.dir)};
      return r;
    case Opcode::kRename: {
      if (code == ErrorCode::kOk && found.handle.file_id == intent.file_id) return r;
      protocol::HandleReply target;
      r.executed = Probe(volume, intent.to_dir, intent.to_name, &target) == ErrorCode::kOk &&
                   target.handle.file_id == intent.file_id;
      r.effects = {volume->SyncOf(intent.dir), volume->SyncOf(intent.to_dir)};
      return r;
    }
    default:
      return r;
  }
}

}  // namespace filer
}  // namespace vifiler
