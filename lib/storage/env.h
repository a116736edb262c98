// File: the storage seam. Every file and directory operation of the txn log
// (LogFile) and of the Store's own files (the SYNOD marker, the data and log
// directories) goes through an Env, and LevelDB's through the leveldb::Env
// it returns, so tests can swap in a FaultEnv (fault_env.h) that loses
// unsynced data at a crash, tears writes, fails writes, syncs and opens,
// and flips bits on read.
//
//   Env* env = Env::Posix();
//   SYNOD_ASSIGN_OR_RETURN(std::unique_ptr<EnvFile> f,
//                          env->OpenFile(path, OpenMode::kExisting));
//   SYNOD_RETURN_IF_ERROR(f->Write(0, "bytes"));
//   SYNOD_RETURN_IF_ERROR(f->Sync());
//
// Errors carry the errno's status code (absl::ErrnoToStatus) and a message
// naming the call and the path.

#ifndef SYNOD_STORAGE_ENV_H_
#define SYNOD_STORAGE_ENV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace leveldb {
class Env;
}  // namespace leveldb

namespace synod {

// One open file. Positional reads and writes; not thread-safe (callers
// serialize, as LogFile does under the store's log mutex).
class EnvFile {
 public:
  virtual ~EnvFile() = default;

  // Reads up to `n` bytes at `offset` into `out`; `*read` is how many were
  // read (fewer only at the end of the file).
  virtual absl::Status Read(uint64_t offset, size_t n, char* out,
                            size_t* read) = 0;
  // Writes all of `data` at `offset` (pwrite, retried on short writes).
  // After an error an unknown prefix of `data` may be in the file.
  virtual absl::Status Write(uint64_t offset, std::string_view data) = 0;
  // Makes the file's data durable (fdatasync). After an error, what it
  // covered is lost or unknown: never retry a sync over the same data.
  virtual absl::Status Sync() = 0;
  // Makes the file's data and metadata durable (fsync).
  virtual absl::Status SyncAll() = 0;
  // Sets the file's size (ftruncate).
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Returns the file's size.
  virtual absl::StatusOr<uint64_t> Size() = 0;
};

// How OpenFile opens.
enum class OpenMode {
  kReadOnly,     // read an existing file
  kExisting,     // read and write an existing file
  kCreateNew,    // create it, failing (AlreadyExists) if it exists
  kTruncate,     // create or truncate it
};

// What is at a path.
enum class PathType { kMissing, kFile, kDirectory, kOther };

// The file-system operations storage uses. Implementations are thread-safe.
class Env {
 public:
  virtual ~Env() = default;

  // Returns the POSIX Env (process-wide, never deleted; stateless).
  static Env* Posix();

  // Opens `path` for reading and writing.
  virtual absl::StatusOr<std::unique_ptr<EnvFile>> OpenFile(
      const std::string& path, OpenMode mode) = 0;
  // Returns what `path` is (following symlinks).
  virtual absl::StatusOr<PathType> Stat(const std::string& path) = 0;
  // Returns the names in directory `dir` (without "." and ".."), sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) = 0;
  // Creates directory `dir`; OK if it exists already.
  virtual absl::Status CreateDir(const std::string& dir) = 0;
  // Makes the entries of directory `dir` durable (open + fsync). If the
  // directory cannot be opened (e.g. EMFILE) the error is Unavailable:
  // nothing was synced and retrying later is safe; any other error is a
  // failed fsync.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  // Removes file `path`; NotFound if it does not exist.
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  // Renames `from` to `to`, replacing `to` (not durable until SyncDir).
  virtual absl::Status Rename(const std::string& from,
                              const std::string& to) = 0;
  // Returns the leveldb::Env LevelDB must use for the store's database, so
  // that faults reach LevelDB's files too. Owned by this Env.
  virtual leveldb::Env* leveldb_env() = 0;
};

// Returns an error for the failed system call `what` on `path`, from errno.
absl::Status ErrnoError(const char* what, const std::string& path);

// Opens `path` (a file or a directory) and fsyncs it, without an Env (for
// code outside the store: the data directory's lock).
absl::Status FsyncPath(const std::string& path);

// Reads the whole file `path` into `out`.
absl::Status ReadWholeFile(Env* env, const std::string& path,
                           std::string* out);

}  // namespace synod

#endif  // SYNOD_STORAGE_ENV_H_
