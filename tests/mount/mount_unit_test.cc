// Copyright 2026 The vifiler Authors.
//
// The mount's inode table (node ids, lookup counts, the root) and its errno map.

#include <cerrno>

#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "mount/errno_map.h"
#include "mount/inode_table.h"

namespace vifiler {
namespace mount {
namespace {

protocol::FileHandle H(uint64_t file, uint64_t generation = 1) {
  protocol::FileHandle h;
  h.volume_id = 7;
  h.file_id = file;
  h.generation = generation;
  return h;
}

TEST(InodeTable, RootIsOneAndNeverCountedOrForgotten) {
  InodeTable table(H(2));
  EXPECT_EQ(table.Ref(H(2)), InodeTable::kRootId);
  table.Forget(InodeTable::kRootId, 100);
  protocol::FileHandle h;
  ASSERT_TRUE(table.Get(InodeTable::kRootId, &h));
  EXPECT_EQ(h, H(2));
  EXPECT_EQ(table.size(), 1u);
}

TEST(InodeTable, SameHandleSameIdUntilForgotten) {
  InodeTable table(H(2));
  const uint64_t a = table.Ref(H(10));
  EXPECT_NE(a, InodeTable::kRootId);
  EXPECT_EQ(table.Ref(H(10)), a);
  const uint64_t b = table.Ref(H(10, 2));  // another generation is another file
  EXPECT_NE(b, a);
  protocol::FileHandle h;
  ASSERT_TRUE(table.Get(a, &h));
  EXPECT_EQ(h, H(10));
  table.Forget(a, 1);
  EXPECT_TRUE(table.Get(a, &h)) << "one reference left";
  table.Forget(a, 1);
  EXPECT_FALSE(table.Get(a, &h));
  EXPECT_NE(table.Ref(H(10)), a) << "an id is never reused";
  table.Forget(12345, 1);  // unknown: ignored
  EXPECT_EQ(table.size(), 3u);
}

TEST(InodeTable, AnOpenFileHiddenWhileOpenIsHandedBackAtItsLastClose) {
  InodeTable table(H(2));
  const uint64_t a = table.Ref(H(10));
  EXPECT_FALSE(table.AnyOpen());
  EXPECT_FALSE(table.Hide(H(10), {H(2), ".hidden"})) << "not open: nothing to hide";
  table.Opened(a);
  table.Opened(a);
  EXPECT_TRUE(table.AnyOpen());
  EXPECT_TRUE(table.IsOpen(H(10)));
  EXPECT_FALSE(table.IsOpen(H(11)));
  ASSERT_TRUE(table.Hide(H(10), {H(2), ".hidden"}));
  InodeTable::HiddenName hidden;
  EXPECT_FALSE(table.Closed(a, &hidden)) << "still open once";
  table.Forget(a, 1);  // the kernel may forget the name before the last close
  protocol::FileHandle h;
  EXPECT_TRUE(table.Get(a, &h)) << "an open file keeps its id";
  ASSERT_TRUE(table.Closed(a, &hidden));
  EXPECT_EQ(hidden.name, ".hidden");
  EXPECT_EQ(hidden.dir, H(2));
  EXPECT_FALSE(table.AnyOpen());
  EXPECT_FALSE(table.Get(a, &h)) << "forgotten and closed: gone";
  EXPECT_FALSE(table.Closed(a, &hidden));
}

TEST(ErrnoMap, ProtocolErrorsBecomeTheirPosixErrno) {
  using protocol::ErrorCode;
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kOk), 0);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kNoEntry), ENOENT);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kExists), EEXIST);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kNotEmpty), ENOTEMPTY);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kIsDirectory), EISDIR);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kNotDirectory), ENOTDIR);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kInvalid), EINVAL);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kAccess), EACCES);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kStaleHandle), ESTALE);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kNameTooLong), ENAMETOOLONG);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kNoSpace), ENOSPC);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kIo), EIO);
  EXPECT_EQ(ErrnoOfCode(ErrorCode::kNotOwner), EIO);
  EXPECT_EQ(ErrnoOf(absl::OkStatus()), 0);
  // Not from a filer: the client gave up (past its failover deadline), or refused an argument.
  EXPECT_EQ(ErrnoOf(absl::UnavailableError("cannot reach filer")), EIO);
  EXPECT_EQ(ErrnoOf(absl::DeadlineExceededError("gave up")), EIO);
  EXPECT_EQ(ErrnoOf(absl::InvalidArgumentError("bad name")), EINVAL);
}

}  // namespace
}  // namespace mount
}  // namespace vifiler
