// Copyright 2026 The vifiler Authors.

#include "transport/writable_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "gtest/gtest.h"

namespace vifiler {
namespace transport {
namespace {

const char kConstant[] = "a constant in .rodata";

TEST(WritableMemoryTest, TellsWritableFromReadOnlyPagesWithoutChangingThem) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t pages = 2100;  // more than one batch of probes
  char* map = static_cast<char*>(
      mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(map, MAP_FAILED);
  for (size_t i = 0; i < pages; ++i) map[i * page] = static_cast<char>(i * 7 + 1);
  EXPECT_TRUE(IsWritable(map, pages * page));
  EXPECT_TRUE(IsWritable(map + 10, 1));
  for (size_t i = 0; i < pages; ++i) {
    ASSERT_EQ(map[i * page], static_cast<char>(i * 7 + 1)) << "page " << i;
  }
  // One read-only page in the middle of the second batch: the whole range is refused, the
  // ranges beside it are not.
  const size_t ro = 1500;
  ASSERT_EQ(mprotect(map + ro * page, page, PROT_READ), 0);
  EXPECT_FALSE(IsWritable(map, pages * page));
  EXPECT_FALSE(IsWritable(map + ro * page + 100, 10));
  EXPECT_FALSE(IsWritable(map + (ro - 1) * page + page - 1, 2));  // straddles into it
  EXPECT_TRUE(IsWritable(map, ro * page));
  EXPECT_TRUE(IsWritable(map + (ro + 1) * page, (pages - ro - 1) * page));
  // Unmapped memory.
  ASSERT_EQ(munmap(map + ro * page, page), 0);
  EXPECT_FALSE(IsWritable(map + ro * page, page));
  munmap(map, ro * page);
  munmap(map + (ro + 1) * page, (pages - ro - 1) * page);
  EXPECT_FALSE(IsWritable(const_cast<char*>(kConstant), sizeof(kConstant)));
  EXPECT_TRUE(IsWritable(nullptr, 0));
}

}  // namespace
}  // namespace transport
}  // namespace vifiler
