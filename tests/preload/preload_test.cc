// Copyright 2026 The vifiler Authors.
//
// libvifiler_preload.so end to end: a real vifilerd on loopback (one filer, a directory
// volume) and unmodified tools run with the library preloaded on paths under a prefix that does
// not exist on this host (/vifiler-preload-test), so nothing can pass by writing to the local
// disk: dd, cat, cmp, cp in and out, mkdir, ls, mv, rm, rmdir, posix_check (error codes and
// semantics; posix_check.c) and fio with verification. Every file written through the library
// is compared with the filer's volume directory. And a dd through the library while the filer
// it writes to is killed and its partner takes over.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/test_env.h"
#include "tools/run_command.h"

namespace vifiler {
namespace testing {
namespace {

constexpr char kPrefix[] = "/vifiler-preload-test";

struct Result {
  int rc = -1;  // exit status; -1: timed out or could not run
  std::string out, err;
};

Result Sh(const std::string& script, absl::Duration timeout = absl::Seconds(60)) {
  Result r;
  absl::StatusOr<int> rc =
      tools::RunCommand({"/bin/sh", "-c", script}, &r.out, &r.err, Scaled(timeout));
  if (rc.ok()) r.rc = *rc;
  if (r.rc != 0) {
    fprintf(stderr, "script failed (%d): %s\nstdout: %s\nstderr: %s\n", r.rc, script.c_str(),
            r.out.c_str(), r.err.c_str());
  }
  return r;
}

class PreloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(access(kPrefix, F_OK), 0) << kPrefix << " exists on this host";
    fabric_ = GetTestFabric();
    dir_ = std::filesystem::canonical(MakeScratchDir("vifiler-preload-test")).string();
    volume_ = dir_ + "/volume-a";
    local_ = dir_ + "/local";
    ASSERT_EQ(mkdir(volume_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(local_.c_str(), 0755), 0);
    hosts_ = WritePairHostsFile(dir_, fabric_);
    filer_ = std::make_unique<FilerProcess>("filer-a", volume_, fabric_.address_a, hosts_,
                                            dir_ + "/filer-a.log");
    ASSERT_TRUE(filer_->Start().ok()) << filer_->Log();
    // Each command of a script that should go through the library starts with this; the shell
    // itself runs without it.
    p_ = absl::StrCat("env LD_PRELOAD=", BinaryPath("VIFILER_PRELOAD_LIB"),
                      " VIFILER_MOUNT=", kPrefix,
                      " VIFILER_FILER=filer-a VIFILER_HOSTS_FILE=", hosts_,
                      " VIFILER_FABRIC=", fabric_.fabric, " ");
  }

  void TearDown() override {
    if (filer_ != nullptr) {
      filer_->Stop();
      if (HasFailure()) fprintf(stderr, "filer log:\n%s\n", filer_->Log().c_str());
    }
    if (!dir_.empty()) RemoveTree(dir_);
  }

  std::string Sha256(const std::string& path, bool through_library) {
    Result r = Sh(absl::StrCat(through_library ? p_ : "", "cat ", path, " | sha256sum"));
    return r.rc == 0 ? r.out.substr(0, 64) : "error: " + r.err;
  }

  TestFabric fabric_;
  std::string dir_, volume_, local_, hosts_, p_;
  std::unique_ptr<FilerProcess> filer_;
};

TEST_F(PreloadTest, DdCatCmpCpThroughTheLibrary) {
  const std::string src = local_ + "/random";
  const std::string v = kPrefix;
  ASSERT_EQ(Sh(absl::StrCat("dd if=/dev/urandom of=", src, " bs=1M count=8 status=none")).rc, 0);
  const std::string want = Sha256(src, false);
  Result dd = Sh(absl::StrCat(p_, "dd if=", src, " of=", v, "/f bs=1M count=8 status=none"));
  ASSERT_EQ(dd.rc, 0);
  EXPECT_EQ(dd.err, "") << "the library wrote to stderr";
  EXPECT_EQ(Sha256(volume_ + "/f", false), want) << "the filer's volume holds other bytes";
  EXPECT_EQ(Sha256(v + "/f", true), want);
  EXPECT_EQ(Sh(absl::StrCat(p_, "cmp ", src, " ", v, "/f")).rc, 0);
  // dd reading back with odd block sizes, into a local file.
  ASSERT_EQ(Sh(absl::StrCat(p_, "dd if=", v, "/f of=", local_, "/back bs=12345 status=none")).rc,
            0);
  EXPECT_EQ(Sha256(local_ + "/back", false), want);
  // cp in and out.
  ASSERT_EQ(Sh(absl::StrCat(p_, "cp ", src, " ", v, "/copy")).rc, 0);
  EXPECT_EQ(Sha256(volume_ + "/copy", false), want);
  ASSERT_EQ(Sh(absl::StrCat(p_, "cp ", v, "/copy ", local_, "/copied_out")).rc, 0);
  EXPECT_EQ(Sha256(local_ + "/copied_out", false), want);
  // A small text file through cat both ways.
  ASSERT_EQ(Sh(absl::StrCat("echo hello vifiler > ", local_, "/hello")).rc, 0);
  ASSERT_EQ(Sh(absl::StrCat(p_, "cp ", local_, "/hello ", v, "/hello")).rc, 0);
  Result cat = Sh(absl::StrCat(p_, "cat ", v, "/hello"));
  EXPECT_EQ(cat.out, "hello vifiler\n");
  EXPECT_EQ(cat.err, "");
  // A missing file: the tool's own message with the errno's text.
  Result missing = Sh(absl::StrCat(p_, "cat ", v, "/missing"));
  EXPECT_NE(missing.rc, 0);
  EXPECT_TRUE(absl::StrContains(missing.err, "No such file or directory")) << missing.err;
  // Nothing of it reached the local disk under the prefix.
  EXPECT_NE(access(kPrefix, F_OK), 0);
}

// Loading the library connects nothing: a process that never touches the prefix runs with a
// filer name that does not even resolve, and says nothing. One that does gets an errno, and
// only VIFILER_DEBUG=1 makes the library itself say why.
TEST_F(PreloadTest, LazyAndQuiet) {
  const std::string bad =
      absl::StrCat("env LD_PRELOAD=", BinaryPath("VIFILER_PRELOAD_LIB"), " VIFILER_MOUNT=", kPrefix,
                   " VIFILER_FILER=no-such-filer", " VIFILER_HOSTS_FILE=", hosts_, " ");
  Result local = Sh(absl::StrCat(bad, "cat ", hosts_));
  EXPECT_EQ(local.rc, 0);
  EXPECT_EQ(local.err, "");
  EXPECT_TRUE(absl::StrContains(local.out, "filer-a")) << local.out;
  Result remote = Sh(absl::StrCat(bad, "cat ", kPrefix, "/f"));
  EXPECT_NE(remote.rc, 0);
  EXPECT_TRUE(absl::StrContains(remote.err, "No route to host")) << remote.err;
  EXPECT_FALSE(absl::StrContains(remote.err, "vifiler_preload")) << remote.err;
  Result debug = Sh(absl::StrCat(bad, "VIFILER_DEBUG=1 cat ", kPrefix, "/f"));
  EXPECT_NE(debug.rc, 0);
  EXPECT_TRUE(absl::StrContains(debug.err, "vifiler_preload: cannot connect to no-such-filer"))
      << debug.err;
}

TEST_F(PreloadTest, MkdirLsMvRm) {
  const std::string v = kPrefix;
  ASSERT_EQ(Sh(absl::StrCat(p_, "mkdir ", v, "/dir")).rc, 0);
  ASSERT_EQ(Sh(absl::StrCat("echo one > ", local_, "/one")).rc, 0);
  ASSERT_EQ(Sh(absl::StrCat(p_, "cp ", local_, "/one ", v, "/dir/alpha")).rc, 0);
  ASSERT_EQ(Sh(absl::StrCat(p_, "cp ", local_, "/one ", v, "/dir/beta")).rc, 0);
  ASSERT_EQ(Sh(absl::StrCat(p_, "mkdir ", v, "/dir/sub")).rc, 0);
  EXPECT_TRUE(std::filesystem::is_directory(volume_ + "/dir/sub"));
  Result ls = Sh(absl::StrCat(p_, "ls ", v, "/dir"));
  ASSERT_EQ(ls.rc, 0);
  EXPECT_EQ(ls.out, "alpha\nbeta\nsub\n");
  Result ls_l = Sh(absl::StrCat(p_, "ls -l ", v, "/dir/alpha"));
  ASSERT_EQ(ls_l.rc, 0);
  EXPECT_TRUE(absl::StrContains(ls_l.out, " 4 ")) << ls_l.out;  // the size
  // ls -la of the root (every entry it lists stats), touch and chmod.
  Result ls_la = Sh(absl::StrCat(p_, "ls -la ", v));
  EXPECT_EQ(ls_la.rc, 0) << ls_la.err;
  EXPECT_TRUE(absl::StrContains(ls_la.out, " dir\n")) << ls_la.out;
  ASSERT_EQ(Sh(absl::StrCat(p_, "touch ", v, "/dir/touched")).rc, 0);
  ASSERT_EQ(Sh(absl::StrCat(p_, "chmod 600 ", v, "/dir/touched")).rc, 0);
  struct stat st;
  ASSERT_EQ(stat((volume_ + "/dir/touched").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(Sh(absl::StrCat(p_, "rm ", v, "/dir/touched")).rc, 0);
  // mv within the prefix is a rename on the filer.
  ASSERT_EQ(Sh(absl::StrCat(p_, "mv ", v, "/dir/alpha ", v, "/dir/sub/gamma")).rc, 0);
  EXPECT_FALSE(std::filesystem::exists(volume_ + "/dir/alpha"));
  EXPECT_TRUE(std::filesystem::exists(volume_ + "/dir/sub/gamma"));
  EXPECT_EQ(Sh(absl::StrCat(p_, "ls ", v, "/dir/sub")).out, "gamma\n");
  // mv across the prefix: rename says EXDEV and mv copies.
  ASSERT_EQ(Sh(absl::StrCat(p_, "mv ", local_, "/one ", v, "/dir/moved_in")).rc, 0);
  EXPECT_FALSE(std::filesystem::exists(local_ + "/one"));
  EXPECT_EQ(Sh(absl::StrCat("cat ", volume_, "/dir/moved_in")).out, "one\n");
  // rm, rmdir, rm -r.
  ASSERT_EQ(Sh(absl::StrCat(p_, "rm ", v, "/dir/beta")).rc, 0);
  EXPECT_FALSE(std::filesystem::exists(volume_ + "/dir/beta"));
  EXPECT_NE(Sh(absl::StrCat(p_, "rmdir ", v, "/dir/sub")).rc, 0);  // not empty
  ASSERT_EQ(Sh(absl::StrCat(p_, "rm ", v, "/dir/sub/gamma")).rc, 0);
  ASSERT_EQ(Sh(absl::StrCat(p_, "rmdir ", v, "/dir/sub")).rc, 0);
  EXPECT_FALSE(std::filesystem::exists(volume_ + "/dir/sub"));
  ASSERT_EQ(Sh(absl::StrCat(p_, "rm -r ", v, "/dir")).rc, 0);
  EXPECT_FALSE(std::filesystem::exists(volume_ + "/dir"));
  EXPECT_NE(access(kPrefix, F_OK), 0);
}

TEST_F(PreloadTest, PosixBehaviour) {
  const std::string v = kPrefix;
  ASSERT_EQ(Sh(absl::StrCat(p_, "mkdir ", v, "/posix")).rc, 0);
  Result r = Sh(absl::StrCat(p_, BinaryPath("VIFILER_POSIX_CHECK"), " ", v, "/posix ", local_));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "posix_check: all passed\n");
  // What the forked child wrote is on the volume.
  EXPECT_EQ(Sh(absl::StrCat("cat ", volume_, "/posix/from_child")).out, "child");
  // The real file posix_check wrote beside ours is on the local disk, not on the volume.
  EXPECT_EQ(Sh(absl::StrCat("cat ", local_, "/real")).out, "local bytes");
  EXPECT_FALSE(std::filesystem::exists(volume_ + "/posix/real"));
}

TEST_F(PreloadTest, FioVerifies) {
  if (access("/usr/bin/fio", X_OK) != 0) {
    GTEST_SKIP() << "fio is not installed (Debian package fio; tools/install-deps installs it)";
  }
  const std::string v = kPrefix;
  Result r = Sh(absl::StrCat(p_, "/usr/bin/fio --name=preload --filename=", v,
                             "/fio.dat --ioengine=psync --rw=randrw --bs=64k --size=16m"
                             " --verify=crc32c --do_verify=1 --verify_fatal=1 --runtime=20"
                             " --output-format=terse --terse-version=3"),
                absl::Seconds(90));
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "verify")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.out, "verify")) << r.out;
  struct stat st;
  ASSERT_EQ(stat((volume_ + "/fio.dat").c_str(), &st), 0) << "fio's file is not on the volume";
  EXPECT_EQ(st.st_size, 16 << 20);

  // The same verification catches bytes changed behind the library's back: written through it,
  // overwritten in the volume directory, read back through it.
  const std::string fio = absl::StrCat(p_, "/usr/bin/fio --name=check --filename=", v,
                                       "/check.dat --ioengine=psync --bs=64k --size=1m"
                                       " --verify=crc32c --output-format=terse");
  ASSERT_EQ(Sh(fio + " --rw=write --do_verify=0").rc, 0);
  ASSERT_EQ(Sh(absl::StrCat("printf XXXXXXXX | dd of=", volume_,
                            "/check.dat bs=1 seek=70000 conv=notrunc status=none"))
                .rc,
            0);
  Result bad = Sh(fio + " --rw=read --verify_only=1");
  EXPECT_NE(bad.rc, 0);
  EXPECT_TRUE(absl::StrContains(bad.err, "verify failed at file")) << bad.err;
}

// A failover is a pause inside an intercepted call: dd writes 128 MiB through the library to
// filer-a while filer-a is killed (SIGKILL) part way; filer-b takes the volume over, the client
// inside dd replays, and dd finishes without an error, saying nothing, with every byte right.
TEST(PreloadFailoverTest, DdThroughTheLibraryRidesThroughAKilledFiler) {
  FilerPair pair;
  ASSERT_TRUE(pair.Start().ok()) << pair.Logs();
  const std::string dir = std::filesystem::canonical(pair.dir()).string();
  const std::string src = dir + "/random";
  ASSERT_EQ(Sh(absl::StrCat("dd if=/dev/urandom of=", src, " bs=1M count=128 status=none")).rc, 0);
  const std::string p =
      absl::StrCat("env LD_PRELOAD=", BinaryPath("VIFILER_PRELOAD_LIB"), " VIFILER_MOUNT=", kPrefix,
                   " VIFILER_FILER=filer-a VIFILER_HOSTS_FILE=", pair.hosts(),
                   " VIFILER_FABRIC=", pair.fabric().fabric, " ");
  Result dd;
  std::thread writer([&] {
    dd = Sh(absl::StrCat(p, "dd if=", src, " of=", kPrefix, "/big bs=1M conv=fsync status=none"),
            absl::Seconds(120));
  });
  // Kill filer-a once a fifth is written.
  const std::string on_volume = pair.volume_a() + "/big";
  const absl::Time deadline = absl::Now() + Scaled(absl::Seconds(60));
  struct stat st;
  while (absl::Now() < deadline &&
         (stat(on_volume.c_str(), &st) != 0 || st.st_size < (24ll << 20))) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_EQ(stat(on_volume.c_str(), &st), 0);
  const bool mid_stream = st.st_size < (128ll << 20);
  pair.a().Kill();
  writer.join();
  EXPECT_TRUE(mid_stream) << "dd finished before the kill: nothing was tested";
  EXPECT_EQ(dd.rc, 0) << dd.err;
  EXPECT_EQ(dd.err, "") << "the library wrote to stderr";
  Result want = Sh(absl::StrCat("sha256sum < ", src));
  Result got = Sh(absl::StrCat("sha256sum < ", on_volume));
  EXPECT_EQ(got.out, want.out);
  if (HasFailure()) fprintf(stderr, "%s\n", pair.Logs().c_str());
}

}  // namespace
}  // namespace testing
}  // namespace vifiler
