// The POSIX Env: plain system calls; LevelDB gets leveldb::Env::Default().

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "leveldb/env.h"
#include "storage/env.h"

namespace synod {
namespace {

class PosixFile : public EnvFile {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  absl::Status Read(uint64_t offset, size_t n, char* out,
                    size_t* read) override {
    *read = 0;
    while (n > 0) {
      ssize_t r = ::pread(fd_, out, n, static_cast<off_t>(offset));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("read", path_);
      }
      if (r == 0) break;
      out += r;
      n -= static_cast<size_t>(r);
      offset += static_cast<uint64_t>(r);
      *read += static_cast<size_t>(r);
    }
    return absl::OkStatus();
  }

  absl::Status Write(uint64_t offset, std::string_view data) override {
    const char* p = data.data();
    size_t n = data.size();
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("write", path_);
      }
      p += w;
      n -= static_cast<size_t>(w);
      offset += static_cast<uint64_t>(w);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoError("fdatasync", path_);
    return absl::OkStatus();
  }

  absl::Status SyncAll() override {
    if (::fsync(fd_) != 0) return ErrnoError("fsync", path_);
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return ErrnoError("truncate", path_);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoError("stat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixEnv : public Env {
 public:
  absl::StatusOr<std::unique_ptr<EnvFile>> OpenFile(const std::string& path,
                                                    OpenMode mode) override {
    int flags = (mode == OpenMode::kReadOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    if (mode == OpenMode::kCreateNew) flags |= O_CREAT | O_EXCL;
    if (mode == OpenMode::kTruncate) flags |= O_CREAT | O_TRUNC;
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) {
      const bool create =
          mode == OpenMode::kCreateNew || mode == OpenMode::kTruncate;
      return ErrnoError(create ? "create" : "open", path);
    }
    return std::unique_ptr<EnvFile>(new PosixFile(path, fd));
  }

  absl::StatusOr<PathType> Stat(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return PathType::kMissing;
      return ErrnoError("stat", path);
    }
    if (S_ISREG(st.st_mode)) return PathType::kFile;
    if (S_ISDIR(st.st_mode)) return PathType::kDirectory;
    return PathType::kOther;
  }

  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoError("list", dir);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
      errno = 0;
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) {
      errno = err;
      return ErrnoError("list", dir);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::Status CreateDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError("create", dir);
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      // Nothing was synced: retrying later is safe.
      return absl::UnavailableError(ErrnoError("open", dir).message());
    }
    absl::Status s =
        ::fsync(fd) == 0 ? absl::OkStatus() : ErrnoError("fsync", dir);
    ::close(fd);
    return s;
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoError("remove", path);
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoError("rename to", to);
    }
    return absl::OkStatus();
  }

  leveldb::Env* leveldb_env() override { return leveldb::Env::Default(); }
};

}  // namespace

absl::Status ErrnoError(const char* what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path));
}

Env* Env::Posix() {
  static Env* const env = new PosixEnv();
  return env;
}

absl::Status FsyncPath(const std::string& path) {
  return Env::Posix()->SyncDir(path);
}

absl::Status ReadWholeFile(Env* env, const std::string& path,
                           std::string* out) {
  absl::StatusOr<std::unique_ptr<EnvFile>> f =
      env->OpenFile(path, OpenMode::kReadOnly);
  if (!f.ok()) return f.status();
  absl::StatusOr<uint64_t> size = (*f)->Size();
  if (!size.ok()) return size.status();
  out->assign(static_cast<size_t>(*size), '\0');
  size_t read = 0;
  absl::Status s = (*f)->Read(0, out->size(), out->data(), &read);
  out->resize(read);
  return s;
}

}  // namespace synod
