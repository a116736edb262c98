// DataDirLock: flock on the data directory.

#include "storage/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "storage/log_file.h"

namespace synod {
namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(
    const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    // Create it with its missing ancestors, and make each new entry durable
    // in its parent.
    const fs::path path = fs::absolute(dir);
    fs::path first_missing = path;
    while (first_missing.has_parent_path() &&
           first_missing.parent_path() != first_missing &&
           !fs::exists(first_missing.parent_path(), ec)) {
      first_missing = first_missing.parent_path();
    }
    fs::create_directories(path, ec);
    if (ec) return absl::ErrnoToStatus(ec.value(), "create " + dir);
    for (fs::path p = path;; p = p.parent_path()) {
      absl::Status s = FsyncPath(p.parent_path().string());
      if (!s.ok()) return s;
      if (p == first_missing || !p.has_parent_path()) break;
    }
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", dir);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "synod data directory ", dir,
          " is in use (another Coordinator, in this process or another, "
          "holds it)"));
    }
    errno = err;
    return ErrnoError("lock", dir);
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() { ::close(fd_); }  // closing releases the lock

}  // namespace synod
