// FaultEnv: crash and I/O fault injection over a real directory (see
// fault_env.h for the model).

#include "storage/fault_env.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "leveldb/env.h"

namespace synod {
namespace {

absl::Status Injected(int err, const char* what, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path, " (injected)"));
}

leveldb::Status LevelDbInjected(int err, const std::string& path) {
  return leveldb::Status::IOError(path, std::strerror(err));
}

}  // namespace

// ---- Files

class FaultEnv::File : public EnvFile {
 public:
  File(FaultEnv* env, std::string path, std::unique_ptr<EnvFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  absl::Status Read(uint64_t offset, size_t n, char* out,
                    size_t* read) override {
    absl::Status s = base_->Read(offset, n, out, read);
    if (s.ok()) env_->FlipBits(path_, offset, out, *read);
    return s;
  }

  absl::Status Write(uint64_t offset, std::string_view data) override {
    env_->BeforeWrite(path_, base_.get(), offset, data.size());
    if (int err = env_->HitWrite(path_); err >= 0) {
      // Part of the data may have reached the file.
      size_t prefix = 0;
      {
        MutexLock lock(&env_->mu_);
        if (!data.empty()) prefix = env_->rng_() % data.size();
      }
      if (prefix > 0) {
        (void)base_->Write(offset, data.substr(0, prefix));
        env_->AfterWrite(path_, offset, data.substr(0, prefix));
      }
      return Injected(err, "write", path_);
    }
    absl::Status s = base_->Write(offset, data);
    if (s.ok()) env_->AfterWrite(path_, offset, data);
    return s;
  }

  absl::Status Sync() override { return DoSync(false); }
  absl::Status SyncAll() override { return DoSync(true); }

  absl::Status Truncate(uint64_t size) override {
    env_->BeforeTruncate(path_, base_.get(), size);
    return base_->Truncate(size);
  }

  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }

 private:
  absl::Status DoSync(bool all) {
    if (int err = env_->HitSync(path_); err >= 0) {
      env_->AfterSync(path_, false, base_.get());
      return Injected(err, all ? "fsync" : "fdatasync", path_);
    }
    absl::Status s = all ? base_->SyncAll() : base_->Sync();
    env_->AfterSync(path_, s.ok(), base_.get());
    return s;
  }

  FaultEnv* const env_;
  const std::string path_;
  const std::unique_ptr<EnvFile> base_;
};

// ---- LevelDB's files: I/O faults only.

class FaultEnv::LevelDbEnv : public leveldb::EnvWrapper {
 public:
  explicit LevelDbEnv(FaultEnv* env, leveldb::Env* target)
      : EnvWrapper(target), env_(env) {}

  leveldb::Status NewSequentialFile(const std::string& f,
                                    leveldb::SequentialFile** r) override {
    if (int err = env_->HitOpen(f); err >= 0) return LevelDbInjected(err, f);
    return target()->NewSequentialFile(f, r);
  }
  leveldb::Status NewRandomAccessFile(const std::string& f,
                                      leveldb::RandomAccessFile** r) override {
    if (int err = env_->HitOpen(f); err >= 0) return LevelDbInjected(err, f);
    return target()->NewRandomAccessFile(f, r);
  }
  leveldb::Status NewWritableFile(const std::string& f,
                                  leveldb::WritableFile** r) override {
    if (int err = env_->HitOpen(f); err >= 0) return LevelDbInjected(err, f);
    leveldb::Status s = target()->NewWritableFile(f, r);
    if (s.ok()) *r = new Writable(env_, f, *r);
    return s;
  }
  leveldb::Status NewAppendableFile(const std::string& f,
                                    leveldb::WritableFile** r) override {
    if (int err = env_->HitOpen(f); err >= 0) return LevelDbInjected(err, f);
    leveldb::Status s = target()->NewAppendableFile(f, r);
    if (s.ok()) *r = new Writable(env_, f, *r);
    return s;
  }

 private:
  class Writable : public leveldb::WritableFile {
   public:
    Writable(FaultEnv* env, std::string path, leveldb::WritableFile* base)
        : env_(env), path_(std::move(path)), base_(base) {}
    leveldb::Status Append(const leveldb::Slice& data) override {
      if (int err = env_->HitWrite(path_); err >= 0) {
        return LevelDbInjected(err, path_);
      }
      return base_->Append(data);
    }
    leveldb::Status Close() override { return base_->Close(); }
    leveldb::Status Flush() override { return base_->Flush(); }
    leveldb::Status Sync() override {
      if (int err = env_->HitSync(path_); err >= 0) {
        return LevelDbInjected(err, path_);
      }
      return base_->Sync();
    }

   private:
    FaultEnv* const env_;
    const std::string path_;
    const std::unique_ptr<leveldb::WritableFile> base_;
  };

  FaultEnv* const env_;
};

// ---- FaultEnv

FaultEnv::FaultEnv(uint64_t seed, Env* base)
    : base_(base != nullptr ? base : Env::Posix()),
      leveldb_env_(std::make_unique<LevelDbEnv>(this, base_->leveldb_env())),
      rng_(seed) {}

FaultEnv::~FaultEnv() = default;

leveldb::Env* FaultEnv::leveldb_env() { return leveldb_env_.get(); }

void FaultEnv::FailWrites(int count, int err, std::string path_part) {
  MutexLock lock(&mu_);
  writes_ = Fault{count, err, std::move(path_part)};
}

void FaultEnv::FailSyncs(int count, int err, std::string path_part) {
  MutexLock lock(&mu_);
  syncs_ = Fault{count, err, std::move(path_part)};
}

void FaultEnv::FailOpens(int count, int err, std::string path_part) {
  MutexLock lock(&mu_);
  opens_ = Fault{count, err, std::move(path_part)};
}

void FaultEnv::FlipBitOnRead(const std::string& path, uint64_t offset,
                             int bit) {
  MutexLock lock(&mu_);
  flips_[path][offset] = bit;
}

void FaultEnv::ClearFaults() {
  MutexLock lock(&mu_);
  writes_ = syncs_ = opens_ = Fault{};
  flips_.clear();
}

int FaultEnv::injected() const {
  MutexLock lock(&mu_);
  return injected_;
}

int FaultEnv::Hit(Fault* fault, const std::string& path) {
  if (fault->count == 0 || !absl::StrContains(path, fault->part)) return -1;
  if (fault->count > 0) --fault->count;
  ++injected_;
  return fault->err;
}

int FaultEnv::HitWrite(const std::string& path) {
  MutexLock lock(&mu_);
  return Hit(&writes_, path);
}

int FaultEnv::HitSync(const std::string& path) {
  MutexLock lock(&mu_);
  return Hit(&syncs_, path);
}

int FaultEnv::HitOpen(const std::string& path) {
  MutexLock lock(&mu_);
  return Hit(&opens_, path);
}

void FaultEnv::FlipBits(const std::string& path, uint64_t offset, char* out,
                        size_t n) {
  MutexLock lock(&mu_);
  auto it = flips_.find(path);
  if (it == flips_.end()) return;
  for (auto f = it->second.lower_bound(offset);
       f != it->second.end() && f->first < offset + n; ++f) {
    out[f->first - offset] ^= static_cast<char>(1 << f->second);
  }
}

FaultEnv::FileState* FaultEnv::State(const std::string& path, EnvFile* base) {
  auto it = files_.find(path);
  if (it != files_.end()) return &it->second;
  // First change through this Env: what is there now counts as durable.
  FileState& st = files_[path];
  absl::StatusOr<uint64_t> size = base->Size();
  st.synced_size = size.ok() ? *size : 0;
  return &st;
}

void FaultEnv::BeforeWrite(const std::string& path, EnvFile* base,
                           uint64_t offset, size_t n) {
  MutexLock lock(&mu_);
  FileState* st = State(path, base);
  if (offset >= st->synced_size) return;  // beyond it, the crash cuts
  const size_t keep =
      static_cast<size_t>(std::min<uint64_t>(n, st->synced_size - offset));
  Undo u{offset, std::string(keep, '\0')};
  size_t read = 0;
  (void)base->Read(offset, keep, u.bytes.data(), &read);
  u.bytes.resize(read);
  st->undo.push_back(std::move(u));
}

void FaultEnv::AfterWrite(const std::string& path, uint64_t offset,
                          std::string_view data) {
  MutexLock lock(&mu_);
  last_write_ = LastWrite{path, offset, std::string(data)};
}

void FaultEnv::BeforeTruncate(const std::string& path, EnvFile* base,
                              uint64_t size) {
  MutexLock lock(&mu_);
  FileState* st = State(path, base);
  if (size >= st->synced_size) return;
  Undo u{size, std::string(st->synced_size - size, '\0')};
  size_t read = 0;
  (void)base->Read(size, u.bytes.size(), u.bytes.data(), &read);
  u.bytes.resize(read);
  st->undo.push_back(std::move(u));
}

void FaultEnv::AfterSync(const std::string& path, bool ok, EnvFile* base) {
  MutexLock lock(&mu_);
  FileState* st = State(path, base);
  if (!ok) {
    // The kernel dropped these dirty pages: no later sync brings them back.
    for (Undo& u : st->undo) st->lost.push_back(std::move(u));
    st->undo.clear();
    return;
  }
  st->undo.clear();
  absl::StatusOr<uint64_t> size = base->Size();
  if (size.ok() && st->lost.empty()) st->synced_size = *size;
  if (last_write_.path == path) last_write_ = LastWrite{};
}

std::string FaultEnv::SyncedContent(const std::string& path) {
  std::string content;
  if (!ReadWholeFile(base_, path, &content).ok()) return "";
  auto it = files_.find(path);
  if (it == files_.end()) return content;
  FileState& st = it->second;
  auto apply = [&content](const std::vector<Undo>& undo) {
    for (auto u = undo.rbegin(); u != undo.rend(); ++u) {
      if (content.size() < u->offset + u->bytes.size()) {
        content.resize(u->offset + u->bytes.size(), '\0');
      }
      content.replace(u->offset, u->bytes.size(), u->bytes);
    }
  };
  apply(st.undo);
  apply(st.lost);
  content.resize(st.synced_size, '\0');
  return content;
}

void FaultEnv::Crash(int64_t tear_at) {
  MutexLock lock(&mu_);
  LastWrite torn = std::move(last_write_);
  last_write_ = LastWrite{};
  for (auto& [path, st] : files_) {
    absl::StatusOr<PathType> type = base_->Stat(path);
    if (!type.ok() || *type != PathType::kFile) continue;
    std::string content = SyncedContent(path);
    if (tear_at >= 0 && torn.path == path) {
      const size_t keep =
          std::min<size_t>(static_cast<size_t>(tear_at), torn.data.size());
      if (content.size() < torn.offset + keep) {
        content.resize(torn.offset + keep, '\0');
      }
      content.replace(torn.offset, keep, torn.data.substr(0, keep));
    }
    absl::StatusOr<std::unique_ptr<EnvFile>> f =
        base_->OpenFile(path, OpenMode::kTruncate);
    if (f.ok()) (void)(*f)->Write(0, content);
  }
  files_.clear();
  for (auto op = dir_ops_.rbegin(); op != dir_ops_.rend(); ++op) {
    if (op->created) {
      (void)base_->RemoveFile(op->path);
    } else {
      absl::StatusOr<std::unique_ptr<EnvFile>> f =
          base_->OpenFile(op->path, OpenMode::kTruncate);
      if (f.ok()) (void)(*f)->Write(0, op->content);
    }
  }
  dir_ops_.clear();
}

// ---- Env

absl::StatusOr<std::unique_ptr<EnvFile>> FaultEnv::OpenFile(
    const std::string& path, OpenMode mode) {
  if (int err = HitOpen(path); err >= 0) {
    const bool create =
        mode == OpenMode::kCreateNew || mode == OpenMode::kTruncate;
    return Injected(err, create ? "create" : "open", path);
  }
  absl::StatusOr<PathType> before = base_->Stat(path);
  const bool existed = before.ok() && *before != PathType::kMissing;
  // A truncation on open is a change a crash can undo, like any other.
  const OpenMode base_mode =
      mode == OpenMode::kTruncate && existed ? OpenMode::kExisting : mode;
  absl::StatusOr<std::unique_ptr<EnvFile>> f = base_->OpenFile(path, base_mode);
  if (!f.ok()) return f.status();
  if (!existed) {
    MutexLock lock(&mu_);
    dir_ops_.push_back(DirOp{true, path, ""});
    files_[path] = FileState{};  // nothing of it is durable yet
  } else if (mode == OpenMode::kTruncate) {
    BeforeTruncate(path, f->get(), 0);
    absl::Status s = (*f)->Truncate(0);
    if (!s.ok()) return s;
  }
  return std::unique_ptr<EnvFile>(new File(this, path, std::move(*f)));
}

absl::StatusOr<PathType> FaultEnv::Stat(const std::string& path) {
  return base_->Stat(path);
}

absl::StatusOr<std::vector<std::string>> FaultEnv::ListDir(
    const std::string& dir) {
  if (int err = HitOpen(dir); err >= 0) return Injected(err, "list", dir);
  return base_->ListDir(dir);
}

absl::Status FaultEnv::CreateDir(const std::string& dir) {
  return base_->CreateDir(dir);
}

absl::Status FaultEnv::SyncDir(const std::string& dir) {
  if (int err = HitOpen(dir); err >= 0) {
    return absl::UnavailableError(Injected(err, "open", dir).message());
  }
  if (int err = HitSync(dir); err >= 0) return Injected(err, "fsync", dir);
  absl::Status s = base_->SyncDir(dir);
  if (!s.ok()) return s;
  MutexLock lock(&mu_);
  const std::string prefix = dir + "/";
  std::vector<DirOp> keep;
  for (DirOp& op : dir_ops_) {
    const bool in_dir = absl::StartsWith(op.path, prefix) &&
                        op.path.find('/', prefix.size()) == std::string::npos;
    if (!in_dir) keep.push_back(std::move(op));
  }
  dir_ops_ = std::move(keep);
  return absl::OkStatus();
}

absl::Status FaultEnv::RemoveFile(const std::string& path) {
  {
    MutexLock lock(&mu_);
    std::string content = SyncedContent(path);
    files_.erase(path);
    dir_ops_.push_back(DirOp{false, path, std::move(content)});
  }
  return base_->RemoveFile(path);
}

absl::Status FaultEnv::Rename(const std::string& from, const std::string& to) {
  absl::Status s = base_->Rename(from, to);
  if (!s.ok()) return s;
  MutexLock lock(&mu_);
  // Renames count as durable at once; the file's pending data moves along.
  auto it = files_.find(from);
  if (it != files_.end()) {
    files_[to] = std::move(it->second);
    files_.erase(from);
  }
  for (DirOp& op : dir_ops_) {
    if (op.path == from) op.path = to;
  }
  return absl::OkStatus();
}

}  // namespace synod
