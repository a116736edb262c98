// File: an Env for tests that injects the faults a disk and a kernel
// produce, over a real directory (it wraps another Env, by default POSIX).
//
//   FaultEnv env(/*seed=*/7);
//   StoreOptions options;
//   options.env = &env;
//   auto store = Store::Open(dir, options);
//   ... appends, some synced ...
//   store->reset();
//   env.Crash();             // unsynced data of the log's files is gone
//   env.FailWrites(1, ENOSPC);
//
// What a crash loses (Crash): files written through this Env go back to
// their content at their last Sync/SyncAll (what LazyFS models); files
// created since their directory's last SyncDir vanish, and files removed
// since then come back with their synced content; renames are taken as
// durable at once. Optionally the last unsynced write is torn: its first
// bytes survive. Data covered by a failed sync is never made durable by a
// later sync (the kernel dropped those dirty pages), so a crash loses it.
//
// LevelDB's files get the I/O faults (failed opens, writes, syncs) through
// leveldb_env(), not the crash model: at a Crash they keep what reached
// the kernel, as after a process kill.
//
// Deterministic: where a fault needs a choice (how much of a failed write
// reached the file), it comes from the seed.

#ifndef SYNOD_STORAGE_FAULT_ENV_H_
#define SYNOD_STORAGE_FAULT_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "storage/env.h"
#include "util/mutex.h"

namespace synod {

class FaultEnv : public Env {
 public:
  // `base` must outlive this Env; null means Env::Posix().
  explicit FaultEnv(uint64_t seed, Env* base = nullptr);
  ~FaultEnv() override;

  // Simulates a power loss (see the file comment). With `tear_at` >= 0 the
  // last unsynced write keeps its first min(tear_at, size) bytes.
  // REQUIRES: nothing is open through this Env (close the Store first).
  void Crash(int64_t tear_at = -1);

  // The next `count` writes (syncs, opens) of files whose path contains
  // `path_part` fail with errno `err`; count -1: every one until
  // ClearFaults. A failed write leaves a seeded random prefix of its data in
  // the file. Opens include SyncDir's open of the directory.
  void FailWrites(int count, int err, std::string path_part = "");
  void FailSyncs(int count, int err, std::string path_part = "");
  void FailOpens(int count, int err, std::string path_part = "");
  // Reads of `path` return byte `offset` with bit `bit` flipped (the file
  // is unchanged), until ClearFaults.
  void FlipBitOnRead(const std::string& path, uint64_t offset, int bit);
  // Stops every injected failure and bit flip.
  void ClearFaults();
  // Returns how many operations failed by injection so far.
  int injected() const;

  // Env.
  absl::StatusOr<std::unique_ptr<EnvFile>> OpenFile(const std::string& path,
                                                    OpenMode mode) override;
  absl::StatusOr<PathType> Stat(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  leveldb::Env* leveldb_env() override;

 private:
  class File;
  class LevelDbEnv;
  struct Fault {
    int count = 0;
    int err = 0;
    std::string part;
  };
  // The old bytes of a range, to put back at a crash.
  struct Undo {
    uint64_t offset;
    std::string bytes;
  };
  // What a crash must undo in one file.
  struct FileState {
    uint64_t synced_size = 0;
    std::vector<Undo> lost;  // covered by a failed sync: never durable
    std::vector<Undo> undo;  // written since the last sync
  };
  // A directory change not yet made durable by SyncDir.
  struct DirOp {
    bool created;         // else removed
    std::string path;
    std::string content;  // for a removal: the synced content
  };
  struct LastWrite {
    std::string path;
    uint64_t offset = 0;
    std::string data;
  };

  // Returns -1, or the errno to fail an operation of `fault` on `path`.
  int Hit(Fault* fault, const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int HitWrite(const std::string& path);
  int HitSync(const std::string& path);
  int HitOpen(const std::string& path);
  // Called by File before it changes [offset, offset + n) of `path`.
  void BeforeWrite(const std::string& path, EnvFile* base, uint64_t offset,
                   size_t n);
  void AfterWrite(const std::string& path, uint64_t offset,
                  std::string_view data);
  void BeforeTruncate(const std::string& path, EnvFile* base, uint64_t size);
  void AfterSync(const std::string& path, bool ok, EnvFile* base);
  void FlipBits(const std::string& path, uint64_t offset, char* out,
                size_t n);
  FileState* State(const std::string& path, EnvFile* base)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string SyncedContent(const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Env* const base_;
  std::unique_ptr<LevelDbEnv> leveldb_env_;
  mutable Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  Fault writes_ ABSL_GUARDED_BY(mu_);
  Fault syncs_ ABSL_GUARDED_BY(mu_);
  Fault opens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<uint64_t, int>> flips_ ABSL_GUARDED_BY(mu_);
  int injected_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);
  std::vector<DirOp> dir_ops_ ABSL_GUARDED_BY(mu_);
  LastWrite last_write_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synod

#endif  // SYNOD_STORAGE_FAULT_ENV_H_
