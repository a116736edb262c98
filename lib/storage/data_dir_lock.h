// One owner per data directory: an exclusive flock(2) on the directory
// itself, held for as long as the DataDirLock lives.
//
// flock locks belong to an open file description, so a second lock of the
// same directory is refused whether it comes from another process or from
// this one, and whatever spelling names it (`dir/.`, `dir//`, `dir/../dir`,
// a symlink): they all open the same inode. (LevelDB's own LOCK file uses
// fcntl locks, which a process never conflicts with itself on.) The lock
// goes with the descriptor, so a crashed owner never leaves a stale lock.

#ifndef SYNOD_STORAGE_DATA_DIR_LOCK_H_
#define SYNOD_STORAGE_DATA_DIR_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace synod {

class DataDirLock {
 public:
  // Locks `dir`, creating it (and its missing parents, durably) first if it
  // does not exist. FailedPrecondition "... is in use" if anyone holds it;
  // the errno's error if it cannot be created or opened.
  static absl::StatusOr<std::unique_ptr<DataDirLock>> Acquire(
      const std::string& dir);

  // Releases the lock.
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  const int fd_;
};

}  // namespace synod

#endif  // SYNOD_STORAGE_DATA_DIR_LOCK_H_
