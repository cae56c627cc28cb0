// Copyright 2026 The vifiler Authors.
//
// PosixVolume: the Volume on a local (or shared) POSIX directory tree.

#ifndef VIFILER_FILER_POSIX_VOLUME_H_
#define VIFILER_FILER_POSIX_VOLUME_H_

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "filer/fd_cache.h"
#include "filer/generation.h"
#include "filer/handle_index.h"
#include "filer/volume.h"

namespace vifiler {
namespace filer {

// Implements the Volume contract (filer/volume.h) on a directory tree with *at() system calls.
//
// Handles: (volume id, inode number, generation); see GenerationSource for where generations
// come from and the weakness of volumes that support neither birth times nor xattrs.
//
// Resolving a handle: the HandleIndex (built by scanning the tree at Open, skipping the
// metadata directory, and kept up to date by every operation) gives the chain of names from the
// root. The volume opens them one at a time with openat(O_NOFOLLOW) from the root descriptor,
// then checks inode, generation and device of what it opened. A file id the index does not know
// (or whose indexed path no longer leads to it: another filer changed the tree) triggers a
// rescan of the tree, at most one per min_rescan_interval, before the answer is kStaleHandle.
//
// Open descriptors are kept in an FdCache (bounded LRU, reference counted); a cached file is
// used only while it still has links, so a file removed by anyone turns stale, and only while
// the kernel's path of its descriptor is still under the volume root (filer/fd_path.h): a file
// or directory a local user moved out of the volume is resolved again from the root, which
// no longer leads to it, so its handle turns stale and nothing is read or written outside.
//
// Locking: tree_mu_ is held exclusively by operations that change names (create, mkdir,
// remove, rmdir, rename) and shared by those that resolve names, so a resolution never sees a
// half-applied rename. Read and Write on a cached file take no volume-wide lock at all.
class PosixVolume : public Volume {
 public:
  // How SyncOf makes a mutation durable.
  enum class SyncMode {
    kPerFile,     // fdatasync the file, fsync the directory (a directory on a shared file system)
    kFileSystem,  // syncfs of the whole file system (a file system of its own: device volumes)
  };
  struct Options {
    size_t fd_cache_capacity = 256;
    SyncMode sync_mode = SyncMode::kPerFile;
    absl::Duration min_rescan_interval = absl::Seconds(1);
    // Whether generations may come from birth times (see GenerationSource).
    bool use_birth_time = true;
  };

  static absl::StatusOr<std::unique_ptr<PosixVolume>> Open(const std::string& root_dir,
                                                           const Options& options);
  ~PosixVolume() override;
  PosixVolume(const PosixVolume&) = delete;
  PosixVolume& operator=(const PosixVolume&) = delete;

  uint64_t id() const override { return id_; }
  const std::string& root_path() const override { return root_path_; }
  std::string meta_path() const override;
  protocol::FileHandle root() const override;

  protocol::ErrorCode Lookup(const protocol::FileHandle& dir, absl::string_view name,
                             protocol::HandleReply* reply) override;
  protocol::ErrorCode GetAttr(const protocol::FileHandle& handle,
                              protocol::FileAttr* attr) override;
  protocol::ErrorCode SetAttr(const protocol::SetAttrRequest& request,
                              protocol::FileAttr* attr) override;
  protocol::ErrorCode Create(const protocol::CreateRequest& request,
                             protocol::HandleReply* reply) override;
  protocol::ErrorCode Mkdir(const protocol::MkdirRequest& request,
                            protocol::HandleReply* reply) override;
  protocol::ErrorCode Remove(const protocol::RemoveRequest& request) override;
  protocol::ErrorCode Rmdir(const protocol::RemoveRequest& request) override;
  protocol::ErrorCode Rename(const protocol::RenameRequest& request) override;
  protocol::ErrorCode ReadDir(const protocol::ReadDirRequest& request,
                              protocol::ReadDirReply* reply) override;
  protocol::ErrorCode Read(const protocol::FileHandle& handle, uint64_t offset,
                           absl::Span<char> buffer, uint32_t* count, bool* eof) override;
  protocol::ErrorCode Map(const protocol::FileHandle& handle, uint64_t offset, uint32_t length,
                          std::unique_ptr<MappedRange>* range) override;
  protocol::ErrorCode Write(const protocol::FileHandle& handle, uint64_t offset,
                            absl::string_view data, protocol::WriteReply* reply) override;
  protocol::ErrorCode Fsync(const protocol::FileHandle& handle) override;
  protocol::ErrorCode StatFs(protocol::StatFsReply* reply) override;
  std::shared_ptr<storage::KeyedLog::Effect> SyncOf(const protocol::FileHandle& handle) override;

  // Tree scans done so far (the one at Open included); for tests and diagnostics.
  uint64_t scan_count() const;
  size_t indexed_files() const { return index_.size(); }
  size_t cached_files() const { return cache_.size(); }

 private:
  using FilePtr = std::shared_ptr<const OpenFile>;

  PosixVolume(std::string root_path, int root_fd, int meta_fd, uint64_t id,
              GenerationSource generations, const Options& options);

  // The cached open file for handle when its generation matches and it is still inside the
  // volume (else it is dropped from the cache), or nullptr. Does not check that the file still
  // has links.
  FilePtr CachedFile(const protocol::FileHandle& handle);
  // True when the kernel's path of file's descriptor is under the volume root (looked up again
  // when the root itself moved).
  bool InsideVolume(const OpenFile& file) ABSL_LOCKS_EXCLUDED(root_path_mu_);
  // The open regular file a handle names (kIsDirectory / kAccess for other types).
  protocol::ErrorCode RegularFile(const protocol::FileHandle& handle, FilePtr* file);
  // fstat of an open file; kStaleHandle (and dropped from the cache) once it was removed.
  protocol::ErrorCode StatLive(const protocol::FileHandle& handle, const OpenFile& file,
                               struct stat* st);
  // Resolves handle to an open, linked file and fills *stx. Takes tree_mu_ shared on a cache
  // miss; the *Locked variants require the caller to hold it (either way).
  protocol::ErrorCode FileFor(const protocol::FileHandle& handle, FilePtr* file, struct statx* stx)
      ABSL_LOCKS_EXCLUDED(tree_mu_);
  protocol::ErrorCode FileForLocked(const protocol::FileHandle& handle, FilePtr* file,
                                    struct statx* stx) ABSL_SHARED_LOCKS_REQUIRED(tree_mu_);
  // As FileForLocked, but the file must be a directory (else kNotDirectory).
  protocol::ErrorCode DirForLocked(const protocol::FileHandle& handle, FilePtr* dir)
      ABSL_SHARED_LOCKS_REQUIRED(tree_mu_);
  // Slow path: through the index, with at most one rescan.
  protocol::ErrorCode ResolveLocked(const protocol::FileHandle& handle, FilePtr* file,
                                    struct statx* stx) ABSL_SHARED_LOCKS_REQUIRED(tree_mu_);
  // Opens the components of path one by one from the root.
  protocol::ErrorCode WalkLocked(const std::vector<std::string>& path, FilePtr* file,
                                 struct statx* stx) ABSL_SHARED_LOCKS_REQUIRED(tree_mu_);
  // Opens name in directory dirfd without following a symlink, the way its type asks for
  // (see OpenFile), computes its generation and fills *stx.
  protocol::ErrorCode OpenAt(int dirfd, const char* name, FilePtr* file, struct statx* stx);
  // Rescans unless someone rescanned since seen_scans was read (then true at once) or the last
  // on-demand rescan is too recent (false).
  // kOk: look again (rescanned, or someone else did); kStaleHandle: too soon to rescan;
  // kBusy: the scan ran out of descriptors (the index was kept as it was).
  protocol::ErrorCode MaybeRescanLocked(uint64_t seen_scans) ABSL_SHARED_LOCKS_REQUIRED(tree_mu_);
  // False, keeping the old index, when the scan ran out of descriptors or memory (a partial
  // index would make handles of unscanned files stale).
  bool ScanLocked() ABSL_SHARED_LOCKS_REQUIRED(tree_mu_) ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_);
  // False when it met EMFILE, ENFILE, ENOMEM or ENOBUFS.
  bool ScanDir(int dirfd, uint64_t dir_id, int depth, HandleIndex::Map* map);
  bool SameDevice(const struct statx& stx) const;
  bool IsMetaName(const FilePtr& dir, absl::string_view name) const;
  protocol::FileHandle HandleOf(const OpenFile& file) const;

  const std::string root_path_;
  const int root_fd_;  // O_RDONLY | O_DIRECTORY
  const int meta_fd_;  // O_RDONLY | O_DIRECTORY
  const uint64_t id_;
  const GenerationSource generations_;
  const Options options_;
  uint64_t root_id_ = 0;
  uint64_t root_generation_ = 0;
  uint32_t dev_major_ = 0;
  uint32_t dev_minor_ = 0;
  std::shared_ptr<storage::KeyedLog::Effect> file_system_sync_;

  // The kernel's path of root_fd_, as last seen (the volume's directory may be moved as a whole).
  absl::Mutex root_path_mu_;
  std::string current_root_path_ ABSL_GUARDED_BY(root_path_mu_);

  absl::Mutex tree_mu_;
  HandleIndex index_;
  FdCache cache_;

  mutable absl::Mutex scan_mu_ ABSL_ACQUIRED_AFTER(tree_mu_);
  uint64_t scans_ ABSL_GUARDED_BY(scan_mu_) = 0;
  absl::Time last_rescan_ ABSL_GUARDED_BY(scan_mu_) = absl::InfinitePast();
};

}  // namespace filer
}  // namespace vifiler

#endif  // VIFILER_FILER_POSIX_VOLUME_H_
