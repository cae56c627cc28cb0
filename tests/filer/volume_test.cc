// Copyright 2026 The vifiler Authors.
//
// Tests of the volume store (filer/posix_volume.h) on real directories.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "filer/fd_cache.h"
#include "filer/generation.h"
#include "filer/names.h"
#include "filer/posix_volume.h"
#include "gtest/gtest.h"

namespace vifiler {
namespace filer {
namespace {

namespace fs = std::filesystem;
using protocol::ErrorCode;
using protocol::FileAttr;
using protocol::FileHandle;
using protocol::FileType;
using protocol::HandleReply;

// A fresh temporary directory, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "volume_test.XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFileOutside(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFileOutside(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::set<std::string> ListOutside(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// Parameter: whether generations may come from birth times. Without them (as on tmpfs before
// 6.6 or 9p) they come from xattrs, so both ways get the whole suite.
class VolumeTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { OpenVolume(); }

  PosixVolume::Options DefaultOptions() {
    PosixVolume::Options options;
    options.use_birth_time = GetParam();
    return options;
  }

  void OpenVolume() { OpenVolume(DefaultOptions()); }
  void OpenVolume(PosixVolume::Options options) {
    volume_.reset();
    auto opened = PosixVolume::Open(dir_.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    volume_ = std::move(*opened);
  }

  FileHandle Root() { return volume_->root(); }

  FileHandle MakeFile(const FileHandle& dir, const std::string& name, uint32_t mode = 0644) {
    protocol::CreateRequest request;
    request.dir = dir;
    request.name = name;
    request.mode = mode;
    request.exclusive = true;
    HandleReply reply;
    EXPECT_EQ(volume_->Create(request, &reply), ErrorCode::kOk) << name;
    return reply.handle;
  }

  FileHandle MakeDir(const FileHandle& dir, const std::string& name, uint32_t mode = 0755) {
    protocol::MkdirRequest request;
    request.dir = dir;
    request.name = name;
    request.mode = mode;
    HandleReply reply;
    EXPECT_EQ(volume_->Mkdir(request, &reply), ErrorCode::kOk) << name;
    return reply.handle;
  }

  ErrorCode CreateCode(const FileHandle& dir, const std::string& name, bool exclusive = false,
                       bool truncate = false, HandleReply* out = nullptr) {
    protocol::CreateRequest request;
    request.dir = dir;
    request.name = name;
    request.exclusive = exclusive;
    request.truncate = truncate;
    HandleReply reply;
    const ErrorCode code = volume_->Create(request, &reply);
    if (out != nullptr) *out = reply;
    return code;
  }

  ErrorCode MkdirCode(const FileHandle& dir, const std::string& name) {
    protocol::MkdirRequest request;
    request.dir = dir;
    request.name = name;
    HandleReply reply;
    return volume_->Mkdir(request, &reply);
  }

  ErrorCode RemoveCode(const FileHandle& dir, const std::string& name) {
    protocol::RemoveRequest request;
    request.dir = dir;
    request.name = name;
    return volume_->Remove(request);
  }

  ErrorCode RmdirCode(const FileHandle& dir, const std::string& name) {
    protocol::RemoveRequest request;
    request.dir = dir;
    request.name = name;
    return volume_->Rmdir(request);
  }

  ErrorCode RenameCode(const FileHandle& from_dir, const std::string& from,
                       const FileHandle& to_dir, const std::string& to) {
    protocol::RenameRequest request;
    request.from_dir = from_dir;
    request.from_name = from;
    request.to_dir = to_dir;
    request.to_name = to;
    return volume_->Rename(request);
  }

  ErrorCode LookupCode(const FileHandle& dir, absl::string_view name, HandleReply* out = nullptr) {
    HandleReply reply;
    const ErrorCode code = volume_->Lookup(dir, name, &reply);
    if (out != nullptr) *out = reply;
    return code;
  }

  ErrorCode GetAttrCode(const FileHandle& handle, FileAttr* out = nullptr) {
    FileAttr attr;
    const ErrorCode code = volume_->GetAttr(handle, &attr);
    if (out != nullptr) *out = attr;
    return code;
  }

  ErrorCode WriteCode(const FileHandle& handle, uint64_t offset, absl::string_view data) {
    protocol::WriteReply reply;
    return volume_->Write(handle, offset, data, &reply);
  }

  ErrorCode ReadCode(const FileHandle& handle, uint64_t offset, size_t length,
                     std::string* out = nullptr, bool* eof_out = nullptr) {
    std::string buffer(length, '\0');
    uint32_t count = 0;
    bool eof = false;
    const ErrorCode code =
        volume_->Read(handle, offset, absl::MakeSpan(buffer.data(), buffer.size()), &count, &eof);
    buffer.resize(count);
    if (out != nullptr) *out = buffer;
    if (eof_out != nullptr) *eof_out = eof;
    return code;
  }

  std::vector<std::string> ReadDirNames(const FileHandle& dir, uint32_t page = 100) {
    std::vector<std::string> names;
    protocol::ReadDirRequest request;
    request.dir = dir;
    request.max_entries = page;
    for (int pages = 0; pages < 100000; ++pages) {
      protocol::ReadDirReply reply;
      EXPECT_EQ(volume_->ReadDir(request, &reply), ErrorCode::kOk);
      for (const auto& entry : reply.entries) names.push_back(entry.name);
      if (reply.eof) break;
      EXPECT_FALSE(reply.entries.empty());
      request.cookie = reply.cookie;
    }
    return names;
  }

  std::string Path(const std::string& relative) { return dir_.path() + "/" + relative; }

  TempDir dir_;
  std::unique_ptr<PosixVolume> volume_;
};

// ---- Opening ----

TEST_P(VolumeTest, OpenFormatsOnceAndReadsTheIdBack) {
  const uint64_t id = volume_->id();
  EXPECT_NE(id, 0u);
  EXPECT_TRUE(fs::is_directory(Path(kMetaDirName)));
  EXPECT_EQ(volume_->meta_path(), Path(kMetaDirName));
  const std::string text = ReadFileOutside(Path(".vifiler/volume-id"));
  EXPECT_EQ(text.size(), 17u);
  EXPECT_EQ(std::stoull(text, nullptr, 16), id);
  const FileHandle root = Root();
  EXPECT_EQ(root.volume_id, id);

  OpenVolume();
  EXPECT_EQ(volume_->id(), id);
  EXPECT_EQ(Root(), root);
  // No temporary files are left behind.
  EXPECT_EQ(ListOutside(Path(kMetaDirName)), std::set<std::string>({"volume-id"}));

  TempDir other;
  auto second = Volume::Open(other.path());
  ASSERT_TRUE(second.ok());
  EXPECT_NE((*second)->id(), id);
}

TEST_P(VolumeTest, OpenLeavesOtherMetadataAlone) {
  WriteFileOutside(Path(".vifiler/ownership"), "epoch 7\n");
  OpenVolume();
  EXPECT_EQ(ReadFileOutside(Path(".vifiler/ownership")), "epoch 7\n");
}

TEST(VolumeOpenTest, MissingRootFails) {
  TempDir dir;
  EXPECT_FALSE(Volume::Open(dir.path() + "/does-not-exist").ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/does-not-exist"));
}

TEST(VolumeOpenTest, ConcurrentFirstOpensAgreeOnTheId) {
  TempDir dir;
  constexpr int kThreads = 8;
  std::vector<uint64_t> ids(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto volume = Volume::Open(dir.path());
      if (volume.ok()) ids[i] = (*volume)->id();
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_NE(ids[i], 0u);
    EXPECT_EQ(ids[i], ids[0]);
  }
  EXPECT_EQ(ListOutside(dir.path() + "/.vifiler"), std::set<std::string>({"volume-id"}));
}

TEST(VolumeOpenTest, MalformedVolumeIdFails) {
  TempDir dir;
  fs::create_directory(dir.path() + "/.vifiler");
  WriteFileOutside(dir.path() + "/.vifiler/volume-id", "not a number\n");
  EXPECT_FALSE(Volume::Open(dir.path()).ok());
  EXPECT_EQ(ReadFileOutside(dir.path() + "/.vifiler/volume-id"), "not a number\n");
}

// ---- Names ----

TEST(NamesTest, Validation) {
  EXPECT_EQ(ValidateName("a"), ErrorCode::kOk);
  EXPECT_EQ(ValidateName("..."), ErrorCode::kOk);
  EXPECT_EQ(ValidateName(".hidden"), ErrorCode::kOk);
  EXPECT_EQ(ValidateName(""), ErrorCode::kInvalid);
  EXPECT_EQ(ValidateName("."), ErrorCode::kInvalid);
  EXPECT_EQ(ValidateName(".."), ErrorCode::kInvalid);
  EXPECT_EQ(ValidateName("a/b"), ErrorCode::kInvalid);
  EXPECT_EQ(ValidateName("/etc"), ErrorCode::kInvalid);
  EXPECT_EQ(ValidateName(absl::string_view("a\0b", 3)), ErrorCode::kInvalid);
  EXPECT_EQ(ValidateName(std::string(255, 'x')), ErrorCode::kOk);
  EXPECT_EQ(ValidateName(std::string(256, 'x')), ErrorCode::kNameTooLong);
}

TEST_P(VolumeTest, EveryOperationRejectsEscapingNames) {
  const FileHandle file = MakeFile(Root(), "victim");
  const FileHandle sub = MakeDir(Root(), "sub");
  const std::vector<std::pair<std::string, ErrorCode>> bad = {
      {"", ErrorCode::kInvalid},
      {".", ErrorCode::kInvalid},
      {"..", ErrorCode::kInvalid},
      {"/etc", ErrorCode::kInvalid},
      {"a/b", ErrorCode::kInvalid},
      {"../victim", ErrorCode::kInvalid},
      {"sub/../victim", ErrorCode::kInvalid},
      {std::string("victim\0x", 8), ErrorCode::kInvalid},
      {std::string(256, 'n'), ErrorCode::kNameTooLong},
  };
  for (const auto& [name, expected] : bad) {
    SCOPED_TRACE(name);
    EXPECT_EQ(LookupCode(sub, name), expected);
    EXPECT_EQ(CreateCode(sub, name), expected);
    EXPECT_EQ(CreateCode(sub, name, /*exclusive=*/true), expected);
    EXPECT_EQ(MkdirCode(sub, name), expected);
    EXPECT_EQ(RemoveCode(sub, name), expected);
    EXPECT_EQ(RmdirCode(sub, name), expected);
    EXPECT_EQ(RenameCode(Root(), "victim", sub, name), expected);
    EXPECT_EQ(RenameCode(sub, name, Root(), "x"), expected);
  }
  // Nothing moved, nothing appeared.
  EXPECT_EQ(GetAttrCode(file), ErrorCode::kOk);
  EXPECT_TRUE(fs::exists(Path("victim")));
  EXPECT_TRUE(fs::is_empty(Path("sub")));
  EXPECT_FALSE(fs::exists(Path("a")));
  // The longest legal name works.
  const std::string longest(protocol::kMaxNameLength, 'l');
  const FileHandle handle = MakeFile(sub, longest);
  HandleReply reply;
  EXPECT_EQ(LookupCode(sub, longest, &reply), ErrorCode::kOk);
  EXPECT_EQ(reply.handle, handle);
}

// ---- Metadata directory ----

TEST_P(VolumeTest, MetaDirIsInvisibleAndProtected) {
  MakeFile(Root(), "visible");
  EXPECT_EQ(ReadDirNames(Root()), std::vector<std::string>({"visible"}));
  EXPECT_EQ(LookupCode(Root(), kMetaDirName), ErrorCode::kNoEntry);
  EXPECT_EQ(CreateCode(Root(), kMetaDirName), ErrorCode::kAccess);
  EXPECT_EQ(CreateCode(Root(), kMetaDirName, true, true), ErrorCode::kAccess);
  EXPECT_EQ(MkdirCode(Root(), kMetaDirName), ErrorCode::kAccess);
  EXPECT_EQ(RemoveCode(Root(), kMetaDirName), ErrorCode::kAccess);
  EXPECT_EQ(RmdirCode(Root(), kMetaDirName), ErrorCode::kAccess);
  EXPECT_EQ(RenameCode(Root(), kMetaDirName, Root(), "stolen"), ErrorCode::kAccess);
  EXPECT_EQ(RenameCode(Root(), "visible", Root(), kMetaDirName), ErrorCode::kAccess);
  EXPECT_TRUE(fs::is_directory(Path(kMetaDirName)));
  EXPECT_TRUE(fs::exists(Path(".vifiler/volume-id")));
  EXPECT_TRUE(fs::exists(Path("visible")));

  // A handle for the metadata directory or a file in it cannot be forged.
  struct stat st;
  ASSERT_EQ(stat(Path(kMetaDirName).c_str(), &st), 0);
  FileHandle forged{volume_->id(), st.st_ino, 0};
  EXPECT_EQ(GetAttrCode(forged), ErrorCode::kStaleHandle);
  ASSERT_EQ(stat(Path(".vifiler/volume-id").c_str(), &st), 0);
  forged.file_id = st.st_ino;
  EXPECT_EQ(ReadCode(forged, 0, 100), ErrorCode::kStaleHandle);

  // Below the root, ".vifiler" is an ordinary name.
  const FileHandle sub = MakeDir(Root(), "sub");
  MakeFile(sub, kMetaDirName);
  EXPECT_EQ(LookupCode(sub, kMetaDirName), ErrorCode::kOk);
  EXPECT_EQ(ReadDirNames(sub), std::vector<std::string>({kMetaDirName}));
}

// ---- Create, Lookup, GetAttr ----

TEST_P(VolumeTest, CreateAppliesModeAndLookupFindsTheSameHandle) {
  const mode_t old_umask = umask(077);
  HandleReply created;
  protocol::CreateRequest request;
  request.dir = Root();
  request.name = "f";
  request.mode = 0664;
  request.exclusive = true;
  ASSERT_EQ(volume_->Create(request, &created), ErrorCode::kOk);
  umask(old_umask);
  EXPECT_EQ(created.handle.volume_id, volume_->id());
  EXPECT_EQ(created.attr.type, FileType::kRegular);
  EXPECT_EQ(created.attr.mode, 0664u);
  EXPECT_EQ(created.attr.size, 0u);
  EXPECT_EQ(created.attr.nlink, 1u);
  EXPECT_EQ(created.attr.file_id, created.handle.file_id);
  struct stat st;
  ASSERT_EQ(stat(Path("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0664u);
  EXPECT_EQ(st.st_ino, created.handle.file_id);

  HandleReply looked;
  ASSERT_EQ(LookupCode(Root(), "f", &looked), ErrorCode::kOk);
  EXPECT_EQ(looked.handle, created.handle);
  EXPECT_EQ(looked.attr.type, FileType::kRegular);
  FileAttr attr;
  ASSERT_EQ(GetAttrCode(created.handle, &attr), ErrorCode::kOk);
  EXPECT_EQ(attr.file_id, st.st_ino);
  EXPECT_EQ(attr.mode, 0664u);

  EXPECT_EQ(LookupCode(Root(), "missing"), ErrorCode::kNoEntry);
  EXPECT_EQ(LookupCode(created.handle, "x"), ErrorCode::kNotDirectory);
  EXPECT_EQ(CreateCode(created.handle, "x"), ErrorCode::kNotDirectory);
}

TEST_P(VolumeTest, CreateExclusiveAndTruncate) {
  const FileHandle f = MakeFile(Root(), "f");
  ASSERT_EQ(WriteCode(f, 0, "hello"), ErrorCode::kOk);
  EXPECT_EQ(CreateCode(Root(), "f", /*exclusive=*/true), ErrorCode::kExists);

  HandleReply reply;
  ASSERT_EQ(CreateCode(Root(), "f", false, false, &reply), ErrorCode::kOk);
  EXPECT_EQ(reply.handle, f);
  EXPECT_EQ(reply.attr.size, 5u);

  ASSERT_EQ(CreateCode(Root(), "f", false, /*truncate=*/true, &reply), ErrorCode::kOk);
  EXPECT_EQ(reply.handle, f);
  EXPECT_EQ(reply.attr.size, 0u);
  EXPECT_EQ(fs::file_size(Path("f")), 0u);

  MakeDir(Root(), "d");
  EXPECT_EQ(CreateCode(Root(), "d"), ErrorCode::kIsDirectory);
  EXPECT_EQ(CreateCode(Root(), "d", true), ErrorCode::kExists);
}

TEST_P(VolumeTest, MkdirAndNestedFiles) {
  const mode_t old_umask = umask(077);
  HandleReply reply;
  protocol::MkdirRequest request;
  request.dir = Root();
  request.name = "d";
  request.mode = 0751;
  ASSERT_EQ(volume_->Mkdir(request, &reply), ErrorCode::kOk);
  umask(old_umask);
  EXPECT_EQ(reply.attr.type, FileType::kDirectory);
  EXPECT_EQ(reply.attr.mode, 0751u);
  EXPECT_TRUE(fs::is_directory(Path("d")));
  EXPECT_EQ(MkdirCode(Root(), "d"), ErrorCode::kExists);
  const FileHandle e = MakeDir(reply.handle, "e");
  const FileHandle f = MakeFile(e, "f");
  EXPECT_TRUE(fs::exists(Path("d/e/f")));
  HandleReply looked;
  ASSERT_EQ(LookupCode(e, "f", &looked), ErrorCode::kOk);
  EXPECT_EQ(looked.handle, f);
  ASSERT_EQ(LookupCode(Root(), "d", &looked), ErrorCode::kOk);
  EXPECT_EQ(looked.handle, reply.handle);
  EXPECT_EQ(looked.attr.type, FileType::kDirectory);
}

// ---- Remove, Rmdir ----

TEST_P(VolumeTest, RemoveMakesHandlesStale) {
  const FileHandle f = MakeFile(Root(), "f");
  ASSERT_EQ(WriteCode(f, 0, "data"), ErrorCode::kOk);
  ASSERT_EQ(RemoveCode(Root(), "f"), ErrorCode::kOk);
  EXPECT_FALSE(fs::exists(Path("f")));
  EXPECT_EQ(GetAttrCode(f), ErrorCode::kStaleHandle);
  EXPECT_EQ(ReadCode(f, 0, 10), ErrorCode::kStaleHandle);
  EXPECT_EQ(WriteCode(f, 0, "x"), ErrorCode::kStaleHandle);
  EXPECT_EQ(volume_->Fsync(f), ErrorCode::kStaleHandle);
  EXPECT_EQ(RemoveCode(Root(), "f"), ErrorCode::kNoEntry);
  EXPECT_EQ(LookupCode(Root(), "f"), ErrorCode::kNoEntry);

  MakeDir(Root(), "d");
  EXPECT_EQ(RemoveCode(Root(), "d"), ErrorCode::kIsDirectory);
  EXPECT_TRUE(fs::is_directory(Path("d")));
}

TEST_P(VolumeTest, RemoveOfAFileRemovedBehindTheCacheIsStale) {
  const FileHandle f = MakeFile(Root(), "f");
  ASSERT_EQ(WriteCode(f, 0, "data"), ErrorCode::kOk);  // now cached
  ASSERT_EQ(unlink(Path("f").c_str()), 0);             // e.g. by the partner filer
  EXPECT_EQ(ReadCode(f, 0, 10), ErrorCode::kStaleHandle);
  EXPECT_EQ(WriteCode(f, 0, "x"), ErrorCode::kStaleHandle);
  EXPECT_EQ(GetAttrCode(f), ErrorCode::kStaleHandle);
}

TEST_P(VolumeTest, Rmdir) {
  const FileHandle d = MakeDir(Root(), "d");
  MakeFile(d, "f");
  EXPECT_EQ(RmdirCode(Root(), "d"), ErrorCode::kNotEmpty);
  EXPECT_TRUE(fs::exists(Path("d/f")));
  EXPECT_EQ(RmdirCode(d, "f"), ErrorCode::kNotDirectory);
  EXPECT_EQ(RmdirCode(Root(), "missing"), ErrorCode::kNoEntry);
  ASSERT_EQ(RemoveCode(d, "f"), ErrorCode::kOk);
  ASSERT_EQ(RmdirCode(Root(), "d"), ErrorCode::kOk);
  EXPECT_FALSE(fs::exists(Path("d")));
  EXPECT_EQ(GetAttrCode(d), ErrorCode::kStaleHandle);
  EXPECT_EQ(CreateCode(d, "g"), ErrorCode::kStaleHandle);
  EXPECT_EQ(ReadDirNames(Root()), std::vector<std::string>());
}

// ---- Rename ----

TEST_P(VolumeTest, RenameAcrossDirectoriesKeepsHandles) {
  const FileHandle a = MakeDir(Root(), "a");
  const FileHandle b = MakeDir(Root(), "b");
  const FileHandle f = MakeFile(a, "f");
  ASSERT_EQ(WriteCode(f, 0, "content"), ErrorCode::kOk);
  ASSERT_EQ(RenameCode(a, "f", b, "g"), ErrorCode::kOk);
  EXPECT_FALSE(fs::exists(Path("a/f")));
  EXPECT_EQ(ReadFileOutside(Path("b/g")), "content");
  EXPECT_EQ(LookupCode(a, "f"), ErrorCode::kNoEntry);
  HandleReply looked;
  ASSERT_EQ(LookupCode(b, "g", &looked), ErrorCode::kOk);
  EXPECT_EQ(looked.handle, f);
  std::string data;
  ASSERT_EQ(ReadCode(f, 0, 100, &data), ErrorCode::kOk);
  EXPECT_EQ(data, "content");
  EXPECT_EQ(RenameCode(a, "f", b, "h"), ErrorCode::kNoEntry);
}

TEST_P(VolumeTest, RenamedDirectoryKeepsItsSubtreeResolvable) {
  // A cache of one descriptor makes nearly every resolution walk the index.
  PosixVolume::Options options = DefaultOptions();
  options.fd_cache_capacity = 1;
  OpenVolume(options);
  const FileHandle a = MakeDir(Root(), "a");
  const FileHandle inner = MakeDir(a, "inner");
  const FileHandle f = MakeFile(inner, "f");
  const FileHandle other = MakeDir(Root(), "other");
  ASSERT_EQ(WriteCode(f, 0, "deep"), ErrorCode::kOk);
  ASSERT_EQ(RenameCode(Root(), "a", other, "moved"), ErrorCode::kOk);
  const uint64_t scans = volume_->scan_count();
  MakeFile(other, "evict");  // push the others out of the cache
  std::string data;
  ASSERT_EQ(ReadCode(f, 0, 100, &data), ErrorCode::kOk);
  EXPECT_EQ(data, "deep");
  EXPECT_EQ(GetAttrCode(inner), ErrorCode::kOk);
  EXPECT_EQ(GetAttrCode(a), ErrorCode::kOk);
  EXPECT_EQ(volume_->scan_count(), scans) << "the index should have known the new place";
  EXPECT_EQ(ReadDirNames(other), std::vector<std::string>({"evict", "moved"}));
}

TEST_P(VolumeTest, RenameOverAnExistingFileMakesTheOldTargetStale) {
  const FileHandle src = MakeFile(Root(), "src");
  const FileHandle dst = MakeFile(Root(), "dst");
  ASSERT_EQ(WriteCode(src, 0, "new"), ErrorCode::kOk);
  ASSERT_EQ(WriteCode(dst, 0, "old"), ErrorCode::kOk);
  ASSERT_EQ(RenameCode(Root(), "src", Root(), "dst"), ErrorCode::kOk);
  EXPECT_EQ(ReadFileOutside(Path("dst")), "new");
  EXPECT_FALSE(fs::exists(Path("src")));
  EXPECT_EQ(GetAttrCode(dst), ErrorCode::kStaleHandle);
  EXPECT_EQ(ReadCode(dst, 0, 10), ErrorCode::kStaleHandle);
  HandleReply looked;
  ASSERT_EQ(LookupCode(Root(), "dst", &looked), ErrorCode::kOk);
  EXPECT_EQ(looked.handle, src);
}

TEST_P(VolumeTest, RenameErrors) {
  const FileHandle d = MakeDir(Root(), "d");
  const FileHandle sub = MakeDir(d, "sub");
  MakeFile(Root(), "f");
  MakeDir(Root(), "empty");
  const FileHandle full = MakeDir(Root(), "full");
  MakeFile(full, "x");
  EXPECT_EQ(RenameCode(Root(), "d", sub, "d"), ErrorCode::kInvalid);
  EXPECT_EQ(RenameCode(Root(), "d", d, "self"), ErrorCode::kInvalid);
  EXPECT_EQ(RenameCode(Root(), "f", Root(), "d"), ErrorCode::kIsDirectory);
  EXPECT_EQ(RenameCode(Root(), "d", Root(), "f"), ErrorCode::kNotDirectory);
  EXPECT_EQ(RenameCode(Root(), "d", Root(), "full"), ErrorCode::kNotEmpty);
  EXPECT_EQ(RenameCode(Root(), "nothing", Root(), "g"), ErrorCode::kNoEntry);
  EXPECT_EQ(RenameCode(Root(), "f", MakeFile(Root(), "plain"), "g"), ErrorCode::kNotDirectory);
  EXPECT_TRUE(fs::is_directory(Path("d/sub")));
  EXPECT_TRUE(fs::exists(Path("f")));
  // Renaming a directory over an empty one is fine.
  ASSERT_EQ(RenameCode(Root(), "d", Root(), "empty"), ErrorCode::kOk);
  EXPECT_TRUE(fs::is_directory(Path("empty/sub")));
  EXPECT_EQ(GetAttrCode(sub), ErrorCode::kOk);
}

// ---- SetAttr ----

TEST_P(VolumeTest, SetAttrSizeModeAndTimes) {
  const FileHandle f = MakeFile(Root(), "f");
  ASSERT_EQ(WriteCode(f, 0, "0123456789"), ErrorCode::kOk);
  protocol::SetAttrRequest request;
  request.handle = f;
  request.mask = protocol::kSetSize;
  request.size = 4;
  FileAttr attr;
  ASSERT_EQ(volume_->SetAttr(request, &attr), ErrorCode::kOk);
  EXPECT_EQ(attr.size, 4u);
  EXPECT_EQ(ReadFileOutside(Path("f")), "0123");
  request.size = 1 << 20;
  ASSERT_EQ(volume_->SetAttr(request, &attr), ErrorCode::kOk);
  EXPECT_EQ(fs::file_size(Path("f")), 1u << 20);

  request.mask = protocol::kSetMode;
  request.mode = 0600;
  ASSERT_EQ(volume_->SetAttr(request, &attr), ErrorCode::kOk);
  EXPECT_EQ(attr.mode, 0600u);
  EXPECT_EQ(attr.size, 1u << 20);  // untouched
  struct stat st;
  ASSERT_EQ(stat(Path("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  request.mask = protocol::kSetAtime | protocol::kSetMtime;
  request.atime_ns = 1000000000LL * 1500000000 + 123456789;
  request.mtime_ns = 1000000000LL * 1600000000 + 987654321;
  ASSERT_EQ(volume_->SetAttr(request, &attr), ErrorCode::kOk);
  EXPECT_EQ(attr.atime_ns, request.atime_ns);
  EXPECT_EQ(attr.mtime_ns, request.mtime_ns);
  ASSERT_EQ(stat(Path("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);

  // Only mtime: atime stays.
  request.mask = protocol::kSetMtime;
  request.atime_ns = 0;
  request.mtime_ns = 1000000000LL * 1700000000 + 5;
  ASSERT_EQ(volume_->SetAttr(request, &attr), ErrorCode::kOk);
  EXPECT_EQ(attr.atime_ns, 1000000000LL * 1500000000 + 123456789);
  EXPECT_EQ(attr.mtime_ns, request.mtime_ns);

  // Empty mask: plain attributes.
  request.mask = 0;
  FileAttr same;
  ASSERT_EQ(volume_->SetAttr(request, &same), ErrorCode::kOk);
  EXPECT_EQ(same.mtime_ns, attr.mtime_ns);

  const FileHandle d = MakeDir(Root(), "d");
  request.handle = d;
  request.mask = protocol::kSetSize;
  EXPECT_EQ(volume_->SetAttr(request, &attr), ErrorCode::kIsDirectory);
  request.mask = protocol::kSetMode;
  request.mode = 0700;
  ASSERT_EQ(volume_->SetAttr(request, &attr), ErrorCode::kOk);
  EXPECT_EQ(attr.mode, 0700u);
}

// ---- Read, Write ----

TEST_P(VolumeTest, ReadingAThreeMegabyteFileInChunks) {
  const FileHandle f = MakeFile(Root(), "big");
  std::string content(3 << 20, '\0');
  std::mt19937 random(42);
  for (char& c : content) c = static_cast<char>(random());
  constexpr size_t kWriteChunk = 256 * 1024 + 3;  // not aligned on purpose
  for (size_t at = 0; at < content.size(); at += kWriteChunk) {
    const size_t n = std::min(kWriteChunk, content.size() - at);
    protocol::WriteReply reply;
    ASSERT_EQ(volume_->Write(f, at, absl::string_view(content).substr(at, n), &reply),
              ErrorCode::kOk);
    EXPECT_EQ(reply.count, n);
    EXPECT_EQ(reply.size, at + n);
  }
  std::string back;
  constexpr size_t kReadChunk = 64 * 1024 + 7;
  bool eof = false;
  while (!eof) {
    std::string chunk;
    ASSERT_EQ(ReadCode(f, back.size(), kReadChunk, &chunk, &eof), ErrorCode::kOk);
    if (!eof) {
      EXPECT_EQ(chunk.size(), kReadChunk);
    }
    back += chunk;
    ASSERT_LE(back.size(), content.size());
  }
  EXPECT_EQ(back.size(), content.size());
  EXPECT_TRUE(back == content);
  EXPECT_TRUE(ReadFileOutside(Path("big")) == content);
}

TEST_P(VolumeTest, ReadEofAndWriteReply) {
  const FileHandle f = MakeFile(Root(), "f");
  protocol::WriteReply reply;
  ASSERT_EQ(volume_->Write(f, 0, "abcdef", &reply), ErrorCode::kOk);
  EXPECT_EQ(reply.count, 6u);
  EXPECT_EQ(reply.size, 6u);
  ASSERT_EQ(volume_->Write(f, 10, "xy", &reply), ErrorCode::kOk);  // leaves a hole
  EXPECT_EQ(reply.count, 2u);
  EXPECT_EQ(reply.size, 12u);
  ASSERT_EQ(volume_->Write(f, 2, "CD", &reply), ErrorCode::kOk);
  EXPECT_EQ(reply.size, 12u);

  std::string data;
  bool eof = true;
  ASSERT_EQ(ReadCode(f, 0, 4, &data, &eof), ErrorCode::kOk);
  EXPECT_EQ(data, "abCD");
  EXPECT_FALSE(eof);
  ASSERT_EQ(ReadCode(f, 4, 8, &data, &eof), ErrorCode::kOk);
  EXPECT_EQ(data, std::string("ef\0\0\0\0xy", 8));
  EXPECT_TRUE(eof);  // exactly to the end
  ASSERT_EQ(ReadCode(f, 8, 100, &data, &eof), ErrorCode::kOk);
  EXPECT_EQ(data, std::string("\0\0xy", 4));
  EXPECT_TRUE(eof);
  ASSERT_EQ(ReadCode(f, 1000, 10, &data, &eof), ErrorCode::kOk);
  EXPECT_EQ(data, "");
  EXPECT_TRUE(eof);

  const FileHandle d = MakeDir(Root(), "d");
  EXPECT_EQ(ReadCode(d, 0, 10), ErrorCode::kIsDirectory);
  EXPECT_EQ(WriteCode(d, 0, "x"), ErrorCode::kIsDirectory);
  EXPECT_EQ(WriteCode(f, ~0ull - 1, "xx"), ErrorCode::kInvalid);
  EXPECT_EQ(ReadCode(f, ~0ull, 1), ErrorCode::kInvalid);
  EXPECT_EQ(volume_->Fsync(f), ErrorCode::kOk);
  EXPECT_EQ(volume_->Fsync(d), ErrorCode::kOk);
}

// ---- ReadDir ----

TEST_P(VolumeTest, ReadDirPagesThroughManyEntriesExactlyOnce) {
  const FileHandle d = MakeDir(Root(), "many");
  std::set<std::string> expected;
  for (int i = 0; i < 2500; ++i) {
    const std::string name = absl::StrCat("entry-", i);
    const int fd = open(Path("many/" + name).c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
    expected.insert(name);
  }
  MakeDir(d, "zdir");
  expected.insert("zdir");
  for (uint32_t page : {1000u, 77u, 5000u}) {
    SCOPED_TRACE(page);
    const std::vector<std::string> names = ReadDirNames(d, page);
    EXPECT_EQ(names.size(), expected.size());
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), expected);
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  }

  protocol::ReadDirRequest request;
  request.dir = d;
  request.max_entries = 5000;  // capped
  protocol::ReadDirReply reply;
  ASSERT_EQ(volume_->ReadDir(request, &reply), ErrorCode::kOk);
  EXPECT_EQ(reply.entries.size(), protocol::kMaxReadDirEntries);
  EXPECT_FALSE(reply.eof);
  EXPECT_EQ(reply.cookie, protocol::kMaxReadDirEntries);
  request.cookie = 2500;
  ASSERT_EQ(volume_->ReadDir(request, &reply), ErrorCode::kOk);
  ASSERT_EQ(reply.entries.size(), 1u);
  EXPECT_EQ(reply.entries[0].name, "zdir");
  EXPECT_EQ(reply.entries[0].type, FileType::kDirectory);
  HandleReply zdir;
  ASSERT_EQ(LookupCode(d, "zdir", &zdir), ErrorCode::kOk);
  EXPECT_EQ(reply.entries[0].file_id, zdir.handle.file_id);
  EXPECT_TRUE(reply.eof);
  request.cookie = 99999;
  ASSERT_EQ(volume_->ReadDir(request, &reply), ErrorCode::kOk);
  EXPECT_TRUE(reply.entries.empty());
  EXPECT_TRUE(reply.eof);

  request.max_entries = 0;
  EXPECT_EQ(volume_->ReadDir(request, &reply), ErrorCode::kInvalid);
  request.max_entries = 10;
  request.dir = MakeFile(Root(), "file");
  EXPECT_EQ(volume_->ReadDir(request, &reply), ErrorCode::kNotDirectory);
}

// ---- Symlinks ----

TEST_P(VolumeTest, SymlinksAreNeverFollowed) {
  TempDir outside;
  const std::string secret = outside.path() + "/secret";
  WriteFileOutside(secret, "top secret");
  const auto outside_before = ListOutside(outside.path());
  ASSERT_EQ(symlink(outside.path().c_str(), Path("dirlink").c_str()), 0);
  ASSERT_EQ(symlink(secret.c_str(), Path("filelink").c_str()), 0);
  ASSERT_EQ(symlink("/etc", Path("etc").c_str()), 0);
  ASSERT_EQ(symlink((outside.path() + "/new").c_str(), Path("dangling").c_str()), 0);

  HandleReply dirlink;
  ASSERT_EQ(LookupCode(Root(), "dirlink", &dirlink), ErrorCode::kOk);
  EXPECT_EQ(dirlink.attr.type, FileType::kSymlink);
  HandleReply filelink;
  ASSERT_EQ(LookupCode(Root(), "filelink", &filelink), ErrorCode::kOk);
  EXPECT_EQ(filelink.attr.type, FileType::kSymlink);
  FileAttr attr;
  ASSERT_EQ(GetAttrCode(filelink.handle, &attr), ErrorCode::kOk);
  EXPECT_EQ(attr.type, FileType::kSymlink);
  EXPECT_EQ(attr.size, secret.size());  // the link's own size, not the target's

  // Reading or writing through a link fails and reveals nothing.
  std::string data;
  EXPECT_EQ(ReadCode(filelink.handle, 0, 100, &data), ErrorCode::kAccess);
  EXPECT_EQ(data, "");
  EXPECT_EQ(WriteCode(filelink.handle, 0, "pwned"), ErrorCode::kAccess);
  protocol::SetAttrRequest set;
  set.handle = filelink.handle;
  set.mask = protocol::kSetSize;
  EXPECT_EQ(volume_->SetAttr(set, &attr), ErrorCode::kAccess);
  set.mask = protocol::kSetMode;
  set.mode = 0777;
  EXPECT_EQ(volume_->SetAttr(set, &attr), ErrorCode::kAccess);

  // Creating through a link by name fails.
  EXPECT_EQ(CreateCode(Root(), "filelink"), ErrorCode::kAccess);
  EXPECT_EQ(CreateCode(Root(), "filelink", false, /*truncate=*/true), ErrorCode::kAccess);
  EXPECT_EQ(CreateCode(Root(), "filelink", /*exclusive=*/true), ErrorCode::kExists);
  EXPECT_EQ(CreateCode(Root(), "dangling"), ErrorCode::kAccess);
  EXPECT_EQ(MkdirCode(Root(), "dangling"), ErrorCode::kExists);
  EXPECT_EQ(RmdirCode(Root(), "dirlink"), ErrorCode::kNotDirectory);

  // A link as the parent directory fails for every operation.
  for (const FileHandle& link : {dirlink.handle, filelink.handle}) {
    EXPECT_EQ(LookupCode(link, "secret"), ErrorCode::kNotDirectory);
    EXPECT_EQ(CreateCode(link, "new"), ErrorCode::kNotDirectory);
    EXPECT_EQ(CreateCode(link, "secret", false, true), ErrorCode::kNotDirectory);
    EXPECT_EQ(MkdirCode(link, "newdir"), ErrorCode::kNotDirectory);
    EXPECT_EQ(RemoveCode(link, "secret"), ErrorCode::kNotDirectory);
    EXPECT_EQ(RenameCode(link, "secret", Root(), "stolen"), ErrorCode::kNotDirectory);
    EXPECT_EQ(RenameCode(Root(), "filelink", link, "planted"), ErrorCode::kNotDirectory);
    protocol::ReadDirRequest list;
    list.dir = link;
    list.max_entries = 10;
    protocol::ReadDirReply listed;
    EXPECT_EQ(volume_->ReadDir(list, &listed), ErrorCode::kNotDirectory);
    EXPECT_TRUE(listed.entries.empty());
  }

  // Nothing outside was created or changed.
  EXPECT_EQ(ListOutside(outside.path()), outside_before);
  EXPECT_EQ(ReadFileOutside(secret), "top secret");
  EXPECT_FALSE(fs::exists(outside.path() + "/new"));

  // Links can be renamed and removed as themselves.
  ASSERT_EQ(RenameCode(Root(), "filelink", Root(), "renamed"), ErrorCode::kOk);
  HandleReply renamed;
  ASSERT_EQ(LookupCode(Root(), "renamed", &renamed), ErrorCode::kOk);
  EXPECT_EQ(renamed.handle, filelink.handle);
  ASSERT_EQ(RemoveCode(Root(), "renamed"), ErrorCode::kOk);
  ASSERT_EQ(RemoveCode(Root(), "dirlink"), ErrorCode::kOk);
  EXPECT_EQ(ReadFileOutside(secret), "top secret");
  EXPECT_TRUE(fs::is_directory(outside.path()));
  EXPECT_EQ(GetAttrCode(filelink.handle), ErrorCode::kStaleHandle);
}

TEST_P(VolumeTest, SymlinkedIntermediateDirectoryBreaksResolution) {
  // A directory replaced by a symlink behind the volume's back must not be followed when a
  // handle below it is resolved.
  TempDir outside;
  fs::create_directory(outside.path() + "/d");
  WriteFileOutside(outside.path() + "/d/f", "outside");
  PosixVolume::Options options = DefaultOptions();
  options.fd_cache_capacity = 1;
  OpenVolume(options);
  const FileHandle d = MakeDir(Root(), "d");
  const FileHandle f = MakeFile(d, "f");
  ASSERT_EQ(WriteCode(f, 0, "inside"), ErrorCode::kOk);
  MakeFile(Root(), "evict");
  fs::rename(Path("d"), Path("d.moved"));
  ASSERT_EQ(symlink((outside.path() + "/d").c_str(), Path("d").c_str()), 0);
  // The indexed path now crosses a symlink; the walk refuses it, the rescan finds the file at
  // its new place (the scan at Open does not count against the rescan rate limit).
  std::string data;
  ASSERT_EQ(ReadCode(f, 0, 100, &data), ErrorCode::kOk);
  EXPECT_EQ(data, "inside");
  EXPECT_EQ(GetAttrCode(d), ErrorCode::kOk);
  ASSERT_EQ(WriteCode(f, 0, "INSIDE"), ErrorCode::kOk);
  EXPECT_EQ(ReadFileOutside(Path("d.moved/f")), "INSIDE");
  EXPECT_EQ(ReadFileOutside(outside.path() + "/d/f"), "outside");
}

// Issue 11: a descriptor cached while a file was inside the volume must not keep serving it
// once a local user moved it, or a directory above it, out of the volume.
TEST_P(VolumeTest, HandlesOfObjectsMovedOutOfTheVolumeTurnStale) {
  TempDir outside;  // same file system as the volume: rename() works
  PosixVolume::Options options = DefaultOptions();
  options.min_rescan_interval = absl::ZeroDuration();
  OpenVolume(options);
  const FileHandle d = MakeDir(Root(), "d");
  const FileHandle f = MakeFile(d, "f");
  const FileHandle g = MakeFile(Root(), "g");
  ASSERT_EQ(WriteCode(f, 0, "inside"), ErrorCode::kOk);  // both descriptors now cached
  ASSERT_EQ(WriteCode(g, 0, "gee"), ErrorCode::kOk);
  ASSERT_EQ(GetAttrCode(d), ErrorCode::kOk);
  fs::rename(Path("d"), outside.path() + "/d");
  fs::rename(Path("g"), outside.path() + "/g");

  std::string data;
  EXPECT_EQ(ReadCode(f, 0, 100, &data), ErrorCode::kStaleHandle);
  EXPECT_EQ(WriteCode(f, 0, "OUT"), ErrorCode::kStaleHandle);
  EXPECT_EQ(ReadCode(g, 0, 100, &data), ErrorCode::kStaleHandle);
  EXPECT_EQ(WriteCode(g, 0, "OUT"), ErrorCode::kStaleHandle);
  EXPECT_EQ(GetAttrCode(d), ErrorCode::kStaleHandle);
  protocol::CreateRequest create;
  create.dir = d;
  create.name = "planted";
  create.mode = 0644;
  HandleReply reply;
  EXPECT_EQ(volume_->Create(create, &reply), ErrorCode::kStaleHandle);
  protocol::MkdirRequest mkdir;
  mkdir.dir = d;
  mkdir.name = "planted-dir";
  mkdir.mode = 0755;
  EXPECT_EQ(volume_->Mkdir(mkdir, &reply), ErrorCode::kStaleHandle);
  // Nothing was read or written outside the volume.
  EXPECT_EQ(ReadFileOutside(outside.path() + "/d/f"), "inside");
  EXPECT_EQ(ReadFileOutside(outside.path() + "/g"), "gee");
  EXPECT_EQ(ListOutside(outside.path() + "/d"), std::set<std::string>{"f"});

  // Moved back in, the same handles work again.
  fs::rename(outside.path() + "/d", Path("d"));
  ASSERT_EQ(ReadCode(f, 0, 100, &data), ErrorCode::kOk);
  EXPECT_EQ(data, "inside");
}

// ---- Handles ----

TEST_P(VolumeTest, HandlesSurviveReopening) {
  const FileHandle d = MakeDir(Root(), "d");
  const FileHandle e = MakeDir(d, "e");
  const FileHandle f = MakeFile(e, "f");
  ASSERT_EQ(WriteCode(f, 0, "persistent"), ErrorCode::kOk);
  volume_.reset();
  OpenVolume();
  std::string data;
  ASSERT_EQ(ReadCode(f, 0, 100, &data), ErrorCode::kOk);
  EXPECT_EQ(data, "persistent");
  FileAttr attr;
  ASSERT_EQ(GetAttrCode(e, &attr), ErrorCode::kOk);
  EXPECT_EQ(attr.type, FileType::kDirectory);
  HandleReply looked;
  ASSERT_EQ(LookupCode(d, "e", &looked), ErrorCode::kOk);
  EXPECT_EQ(looked.handle, e);
  EXPECT_EQ(volume_->scan_count(), 1u) << "the scan at Open should have sufficed";
}

TEST_P(VolumeTest, FilesCreatedByAnotherInstanceBecomeResolvable) {
  auto partner = PosixVolume::Open(dir_.path(), DefaultOptions());
  ASSERT_TRUE(partner.ok());
  EXPECT_EQ((*partner)->id(), volume_->id());
  EXPECT_EQ((*partner)->root(), Root());

  protocol::MkdirRequest mkdir;
  mkdir.dir = (*partner)->root();
  mkdir.name = "pd";
  HandleReply pd;
  ASSERT_EQ((*partner)->Mkdir(mkdir, &pd), ErrorCode::kOk);
  protocol::CreateRequest create;
  create.dir = pd.handle;
  create.name = "pf";
  HandleReply pf;
  ASSERT_EQ((*partner)->Create(create, &pf), ErrorCode::kOk);
  protocol::WriteReply written;
  ASSERT_EQ((*partner)->Write(pf.handle, 0, "from partner", &written), ErrorCode::kOk);

  const uint64_t scans = volume_->scan_count();
  std::string data;
  ASSERT_EQ(ReadCode(pf.handle, 0, 100, &data), ErrorCode::kOk);
  EXPECT_EQ(data, "from partner");
  EXPECT_EQ(volume_->scan_count(), scans + 1);
  EXPECT_EQ(GetAttrCode(pd.handle), ErrorCode::kOk);
  EXPECT_EQ(volume_->scan_count(), scans + 1);

  // The partner removes it: this instance's cached descriptor must not keep it alive.
  protocol::RemoveRequest remove;
  remove.dir = pd.handle;
  remove.name = "pf";
  ASSERT_EQ((*partner)->Remove(remove), ErrorCode::kOk);
  EXPECT_EQ(ReadCode(pf.handle, 0, 100), ErrorCode::kStaleHandle);
  EXPECT_EQ(GetAttrCode(pf.handle), ErrorCode::kStaleHandle);
}

TEST_P(VolumeTest, RescansAreRateLimited) {
  const uint64_t scans = volume_->scan_count();
  FileHandle forged{volume_->id(), 0x7fffffff12345ull, 1};
  EXPECT_EQ(GetAttrCode(forged), ErrorCode::kStaleHandle);
  EXPECT_EQ(volume_->scan_count(), scans + 1);
  for (int i = 0; i < 20; ++i) {
    forged.file_id += 1;
    EXPECT_EQ(GetAttrCode(forged), ErrorCode::kStaleHandle);
  }
  EXPECT_EQ(volume_->scan_count(), scans + 1) << "at most one rescan per interval";
}

TEST_P(VolumeTest, ForgedHandlesNeverNameAnotherFile) {
  const FileHandle f = MakeFile(Root(), "f");
  ASSERT_EQ(WriteCode(f, 0, "private"), ErrorCode::kOk);
  const FileHandle d = MakeDir(Root(), "d");

  FileHandle wrong_volume = f;
  wrong_volume.volume_id ^= 1;
  EXPECT_EQ(GetAttrCode(wrong_volume), ErrorCode::kBadHandle);
  EXPECT_EQ(ReadCode(wrong_volume, 0, 10), ErrorCode::kBadHandle);
  EXPECT_EQ(WriteCode(wrong_volume, 0, "x"), ErrorCode::kBadHandle);
  EXPECT_EQ(LookupCode(wrong_volume, "f"), ErrorCode::kBadHandle);
  FileHandle wrong_root = Root();
  wrong_root.volume_id += 1;
  EXPECT_EQ(CreateCode(wrong_root, "g"), ErrorCode::kBadHandle);

  FileHandle wrong_generation = f;
  wrong_generation.generation += 1;
  EXPECT_EQ(GetAttrCode(wrong_generation), ErrorCode::kStaleHandle);
  std::string data;
  EXPECT_EQ(ReadCode(wrong_generation, 0, 10, &data), ErrorCode::kStaleHandle);
  EXPECT_EQ(data, "");
  EXPECT_EQ(WriteCode(wrong_generation, 0, "overwrite"), ErrorCode::kStaleHandle);
  FileHandle wrong_dir_generation = d;
  wrong_dir_generation.generation ^= 0xff;
  EXPECT_EQ(CreateCode(wrong_dir_generation, "g"), ErrorCode::kStaleHandle);
  EXPECT_FALSE(fs::exists(Path("d/g")));

  std::mt19937_64 random(7);
  for (int i = 0; i < 200; ++i) {
    FileHandle forged{volume_->id(), random(), random()};
    FileAttr attr;
    const ErrorCode code = GetAttrCode(forged, &attr);
    EXPECT_TRUE(code == ErrorCode::kStaleHandle || code == ErrorCode::kBadHandle);
  }
  FileHandle zero{volume_->id(), 0, 0};
  EXPECT_NE(GetAttrCode(zero), ErrorCode::kOk);
  EXPECT_EQ(ReadFileOutside(Path("f")), "private");
}

TEST_P(VolumeTest, ARecreatedNameGetsANewHandle) {
  const FileHandle first = MakeFile(Root(), "f");
  ASSERT_EQ(RemoveCode(Root(), "f"), ErrorCode::kOk);
  const FileHandle second = MakeFile(Root(), "f");
  EXPECT_NE(first, second);
  EXPECT_EQ(GetAttrCode(first), ErrorCode::kStaleHandle);
  EXPECT_EQ(GetAttrCode(second), ErrorCode::kOk);
}

// ---- StatFs ----

TEST_P(VolumeTest, StatFsIsSane) {
  protocol::StatFsReply reply;
  ASSERT_EQ(volume_->StatFs(&reply), ErrorCode::kOk);
  EXPECT_GT(reply.total_bytes, 0u);
  EXPECT_LE(reply.free_bytes, reply.total_bytes);
  EXPECT_LE(reply.available_bytes, reply.free_bytes);
  EXPECT_LE(reply.free_files, reply.total_files);
}

// ---- Concurrency ----

TEST_P(VolumeTest, ManyThreadsDoMixedOperations) {
  PosixVolume::Options options = DefaultOptions();
  options.fd_cache_capacity = 8;  // small, so that eviction races with use
  OpenVolume(options);
  const FileHandle shared = MakeFile(Root(), "shared");
  const std::string shared_content(64 * 1024, 's');
  ASSERT_EQ(WriteCode(shared, 0, shared_content), ErrorCode::kOk);

  constexpr int kThreads = 8;
  constexpr int kRounds = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto check = [&](bool ok, const char* what) {
        if (!ok) {
          ++failures;
          ADD_FAILURE() << "thread " << t << ": " << what;
        }
      };
      const std::string dir_name = absl::StrCat("t", t);
      protocol::MkdirRequest mkdir;
      mkdir.dir = volume_->root();
      mkdir.name = dir_name;
      HandleReply dir;
      check(volume_->Mkdir(mkdir, &dir) == ErrorCode::kOk, "mkdir");
      for (int r = 0; r < kRounds; ++r) {
        const std::string name = absl::StrCat("f", r);
        const std::string content = absl::StrCat("thread ", t, " round ", r);
        protocol::CreateRequest create;
        create.dir = dir.handle;
        create.name = name;
        create.exclusive = true;
        HandleReply file;
        check(volume_->Create(create, &file) == ErrorCode::kOk, "create");
        protocol::WriteReply written;
        check(volume_->Write(file.handle, 0, content, &written) == ErrorCode::kOk, "write");
        char buffer[128];
        uint32_t count = 0;
        bool eof = false;
        check(
            volume_->Read(file.handle, 0, absl::MakeSpan(buffer), &count, &eof) == ErrorCode::kOk &&
                std::string(buffer, count) == content && eof,
            "read back");
        std::string shared_buffer(4096, '\0');
        check(volume_->Read(shared, (r * 4096) % shared_content.size(),
                            absl::MakeSpan(shared_buffer.data(), shared_buffer.size()), &count,
                            &eof) == ErrorCode::kOk &&
                  count == 4096 && shared_buffer == std::string(4096, 's'),
              "read shared");
        protocol::RenameRequest rename;
        rename.from_dir = dir.handle;
        rename.from_name = name;
        rename.to_dir = volume_->root();
        rename.to_name = absl::StrCat("moved-", t, "-", r);
        check(volume_->Rename(rename) == ErrorCode::kOk, "rename");
        FileAttr attr;
        check(volume_->GetAttr(file.handle, &attr) == ErrorCode::kOk && attr.size == content.size(),
              "getattr after rename");
        protocol::ReadDirRequest list;
        list.dir = volume_->root();
        list.max_entries = 50;
        protocol::ReadDirReply listed;
        check(volume_->ReadDir(list, &listed) == ErrorCode::kOk, "readdir");
        if (r % 2 == 0) {
          protocol::RemoveRequest remove;
          remove.dir = volume_->root();
          remove.name = rename.to_name;
          check(volume_->Remove(remove) == ErrorCode::kOk, "remove");
          check(volume_->GetAttr(file.handle, &attr) == ErrorCode::kStaleHandle,
                "stale after remove");
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  // Each thread left its odd-numbered files.
  std::vector<std::string> names = ReadDirNames(Root(), 1000);
  EXPECT_EQ(names.size(), 1u + kThreads + kThreads * kRounds / 2);
  EXPECT_LE(volume_->cached_files(), 8u);
}

INSTANTIATE_TEST_SUITE_P(Generations, VolumeTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "BirthTime" : "Xattr";
                         });

// ---- Building blocks ----

TEST(FdCacheTest, EvictionNeverClosesADescriptorInUse) {
  TempDir dir;
  FdCache cache(1);
  const int fd_a = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  const int fd_b = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd_a, 0);
  ASSERT_GE(fd_b, 0);
  cache.Put(std::make_shared<const OpenFile>(fd_a, 1, 10, FileType::kDirectory));
  std::shared_ptr<const OpenFile> held = cache.Get(1);
  ASSERT_NE(held, nullptr);
  cache.Put(std::make_shared<const OpenFile>(fd_b, 2, 20, FileType::kDirectory));
  EXPECT_EQ(cache.Get(1), nullptr);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(fcntl(fd_a, F_GETFD), -1) << "evicted while in use, yet closed";
  held.reset();
  EXPECT_EQ(fcntl(fd_a, F_GETFD), -1) << "the last reference should close it";
  cache.Erase(2);
  EXPECT_EQ(fcntl(fd_b, F_GETFD), -1);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(GenerationTest, XattrGenerationIsAssignedOnceAndKept) {
  TempDir dir;
  const int root = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(root, 0);
  ASSERT_EQ(mkdir((dir.path() + "/meta").c_str(), 0755), 0);
  const int meta = open((dir.path() + "/meta").c_str(), O_RDONLY | O_DIRECTORY);
  const GenerationSource source = GenerationSource::Probe(root, meta);
  if (source.xattr_name().empty()) {
    close(meta);
    close(root);
    GTEST_SKIP() << "no xattr support here";
  }
  const int a = open((dir.path() + "/a").c_str(), O_CREAT | O_RDWR, 0644);
  const int b = open((dir.path() + "/b").c_str(), O_CREAT | O_RDWR, 0644);
  struct statx stx;
  ASSERT_EQ(statx(a, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx), 0);
  stx.stx_mask &= ~STATX_BTIME;  // as on a file system without birth times
  const uint64_t gen_a = source.Of(a, stx);
  EXPECT_NE(gen_a, 0u);
  EXPECT_EQ(source.Of(a, stx), gen_a);
  uint64_t stored = 0;
  ASSERT_EQ(fgetxattr(a, source.xattr_name().c_str(), &stored, sizeof(stored)),
            static_cast<ssize_t>(sizeof(stored)));
  EXPECT_EQ(stored, gen_a);
  EXPECT_NE(source.Of(b, stx), gen_a);
  EXPECT_EQ(source.Of(-1, stx), 0u);
  // With a birth time, the birth time wins.
  stx.stx_mask |= STATX_BTIME;
  stx.stx_btime.tv_sec = 2;
  stx.stx_btime.tv_nsec = 5;
  EXPECT_EQ(source.Of(a, stx), 2000000005u);
  close(a);
  close(b);
  close(meta);
  close(root);
}

}  // namespace
}  // namespace filer
}  // namespace vifiler
