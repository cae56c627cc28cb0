// Copyright 2026 The vifiler Authors.

#include "preload/preload_path.h"

#include "gtest/gtest.h"

namespace vifiler {
namespace preload {
namespace {

TEST(PreloadPathTest, Normalizes) {
  EXPECT_EQ(NormalizeAbsolute("/"), "/");
  EXPECT_EQ(NormalizeAbsolute("//a///b/"), "/a/b");
  EXPECT_EQ(NormalizeAbsolute("/a/./b/../c"), "/a/c");
  EXPECT_EQ(NormalizeAbsolute("/../.."), "/");
}

TEST(PreloadPathTest, MatchesOnlyUnderThePrefix) {
  std::string v;
  ASSERT_TRUE(VolumePathOf("/vifiler", "/vifiler", &v));
  EXPECT_EQ(v, "/");
  ASSERT_TRUE(VolumePathOf("/vifiler", "/vifiler/", &v));
  EXPECT_EQ(v, "/");
  ASSERT_TRUE(VolumePathOf("/vifiler", "/vifiler/x//y/", &v));
  EXPECT_EQ(v, "/x/y");
  ASSERT_TRUE(VolumePathOf("/vifiler/", "/vifiler/./x/../z", &v));
  EXPECT_EQ(v, "/z");
  ASSERT_TRUE(VolumePathOf("/vifiler", "//vifiler/x", &v));
  EXPECT_EQ(v, "/x");
  EXPECT_FALSE(VolumePathOf("/vifiler", "/vifilerx", &v));
  EXPECT_FALSE(VolumePathOf("/vifiler", "/vifiler/../etc/passwd", &v));
  EXPECT_FALSE(VolumePathOf("/vifiler", "vifiler/x", &v));
  EXPECT_FALSE(VolumePathOf("/vifiler", "/etc/hosts", &v));
  EXPECT_FALSE(VolumePathOf("", "/vifiler/x", &v));
  EXPECT_FALSE(VolumePathOf("/vifiler", "", &v));
}

TEST(PreloadPathTest, SplitsParent) {
  std::string parent, name;
  ASSERT_TRUE(SplitParent("/a", &parent, &name));
  EXPECT_EQ(parent, "/");
  EXPECT_EQ(name, "a");
  ASSERT_TRUE(SplitParent("/a/b/c", &parent, &name));
  EXPECT_EQ(parent, "/a/b");
  EXPECT_EQ(name, "c");
  EXPECT_FALSE(SplitParent("/", &parent, &name));
}

}  // namespace
}  // namespace preload
}  // namespace vifiler
