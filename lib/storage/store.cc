// Store: the LevelDB-backed durable state of one peer (key layout in
// store.h). Besides the database, <data_dir>/SYNOD marks the directory as
// ours so that Open never writes into a directory it does not own.
//
// Encodings: zxids and session ids in keys are 8-byte big-endian, so key
// order is numeric order for the (positive) zxids; int64 values under m/ are
// 8-byte little-endian fixed (util/coding.h).

#include "storage/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "leveldb/cache.h"
#include "leveldb/db.h"
#include "leveldb/filter_policy.h"
#include "leveldb/write_batch.h"
#include "util/coding.h"
#include "util/status_macros.h"

namespace synod {
namespace {

namespace fs = std::filesystem;

constexpr char kMarkerName[] = "SYNOD";
constexpr char kMarkerTemp[] = "SYNOD.tmp";
constexpr char kMarkerPrefix[] = "synod-data ";
constexpr char kMarkerLine[] = "synod-data 1";
constexpr char kDbName[] = "db";
constexpr char kFormat[] = "synod-store-1";

constexpr char kFormatKey[] = "m/format";
constexpr char kAcceptedEpochKey[] = "m/accepted_epoch";
constexpr char kCurrentEpochKey[] = "m/current_epoch";
constexpr char kAppliedZxidKey[] = "m/applied_zxid";
constexpr char kNodeCountKey[] = "m/node_count";
constexpr std::string_view kLogPrefix = "l/";
constexpr std::string_view kLogLimit = "l0";  // '0' is the byte after '/'
constexpr std::string_view kNodePrefix = "n/";
constexpr std::string_view kSessionPrefix = "s/";

constexpr size_t kWriteBufferBytes = 16 << 20;
constexpr size_t kBlockCacheBytes = 64 << 20;
constexpr int kBloomBitsPerKey = 10;
// Bounds the memory of one TrimLogThrough batch and how long it holds off
// a concurrent AppendLog.
constexpr size_t kTrimChunkKeys = 10000;

leveldb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view ToView(leveldb::Slice s) { return {s.data(), s.size()}; }

// Debian's Abseil has its own string_view, so keys are built by hand.
std::string Key(std::string_view prefix, std::string_view name) {
  std::string key(prefix);
  return key.append(name);
}
std::string MetaKey(std::string_view name) { return Key("m/", name); }

std::string KeyWithId(std::string_view prefix, int64_t id) {
  std::string key(prefix);
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>(static_cast<uint64_t>(id) >> shift));
  }
  return key;
}
std::string LogKey(Zxid zxid) { return KeyWithId(kLogPrefix, zxid); }

// Decodes the id of a key made by KeyWithId.
absl::StatusOr<int64_t> IdOfKey(leveldb::Slice key) {
  if (key.size() != 2 + 8) {
    return absl::DataLossError(
        absl::StrCat("malformed key of length ", key.size(), " in store"));
  }
  uint64_t v = 0;
  for (size_t i = 2; i < key.size(); ++i) {
    v = (v << 8) | static_cast<uint8_t>(key[i]);
  }
  return static_cast<int64_t>(v);
}

// True while `it` stands on a key of the range that starts with `prefix`.
bool InRange(const leveldb::Iterator& it, std::string_view prefix) {
  return it.Valid() && it.key().starts_with(ToSlice(prefix));
}

std::string EncodeInt(int64_t v) {
  std::string out;
  PutFixed64(&out, static_cast<uint64_t>(v));
  return out;
}

leveldb::ReadOptions Verified() {
  leveldb::ReadOptions options;
  options.verify_checksums = true;
  return options;
}

leveldb::WriteOptions Synced(bool sync) {
  leveldb::WriteOptions options;
  options.sync = sync;
  return options;
}

// A failed write: corruption (a paranoid background check tripped) is data
// loss; anything else is an I/O problem.
absl::Status WriteError(const leveldb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = "synod store write: " + s.ToString();
  return s.IsCorruption() ? absl::DataLossError(msg) : absl::InternalError(msg);
}

// A failed read is always data loss: the caller cannot get its records.
absl::Status ReadError(const leveldb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::DataLossError("synod store read: " + s.ToString());
}

absl::Status NotSynodDir(const std::string& dir, const char* why = "") {
  return absl::FailedPreconditionError(
      absl::StrCat("not a synod data directory: ", dir, why));
}

absl::Status ErrnoError(const char* what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path));
}

absl::Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path);
  absl::Status status =
      ::fsync(fd) == 0 ? absl::OkStatus() : ErrnoError("fsync", path);
  ::close(fd);
  return status;
}

// Writes the marker so that a crash leaves either no marker or all of it.
absl::Status WriteMarker(const std::string& dir) {
  const std::string temp = (fs::path(dir) / kMarkerTemp).string();
  const std::string text = absl::StrCat(kMarkerLine, "\n");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", temp);
  absl::Status status;
  ssize_t n = ::write(fd, text.data(), text.size());  // a few bytes: one write
  if (n != static_cast<ssize_t>(text.size())) {
    status = n < 0 ? ErrnoError("write", temp)
                   : absl::InternalError("short write to " + temp);
  }
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError("fsync", temp);
  ::close(fd);
  const std::string path = (fs::path(dir) / kMarkerName).string();
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoError("rename to", path);
  }
  return status.ok() ? FsyncPath(dir) : status;
}

// What Open found in the data directory.
enum class DirState { kMissing, kEmpty, kMarked };

// Classifies `dir`, refusing anything that is not ours or empty. Reads only.
absl::StatusOr<DirState> InspectDir(const std::string& dir) {
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::not_found) return DirState::kMissing;
  if (ec) return absl::ErrnoToStatus(ec.value(), "stat " + dir);
  if (!fs::is_directory(st)) return NotSynodDir(dir, " (not a directory)");
  bool empty = true, marked = false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    empty = false;
    marked |= it->path().filename() == kMarkerName;
  }
  if (ec) return absl::ErrnoToStatus(ec.value(), "list " + dir);
  if (!marked) {
    if (!empty) return NotSynodDir(dir);
    return DirState::kEmpty;
  }
  std::ifstream in(fs::path(dir) / kMarkerName);
  std::string line;
  if (!std::getline(in, line)) return NotSynodDir(dir, " (unreadable SYNOD)");
  if (line != kMarkerLine) {
    if (!absl::StartsWith(line, kMarkerPrefix)) {
      return NotSynodDir(dir, " (unrecognized SYNOD marker)");
    }
    return absl::FailedPreconditionError(
        absl::StrCat("unsupported synod data format \"", line, "\" in ", dir,
                     " (this build reads \"", kMarkerLine, "\")"));
  }
  // Checked here because LevelDB would create the db directory and its LOCK
  // before noticing that the database is missing.
  if (!fs::exists(fs::path(dir) / kDbName / "CURRENT")) {
    return absl::DataLossError(
        absl::StrCat("synod data directory ", dir, " has no database"));
  }
  return DirState::kMarked;
}

absl::Status OpenError(const leveldb::Status& s, const std::string& dir,
                       const std::string& db_path) {
  const std::string msg = s.ToString();
  // LevelDB reports a held LOCK (by this or another process) as
  // "IO error: lock <db>/LOCK: ...".
  if (s.IsIOError() && absl::StrContains(msg, "lock " + db_path + "/LOCK")) {
    return absl::FailedPreconditionError(
        absl::StrCat("synod data directory in use: ", dir, " (", msg, ")"));
  }
  const std::string what = absl::StrCat("cannot open synod store in ", dir,
                                        ": ", msg);
  if (s.IsCorruption()) return absl::DataLossError(what);
  // E.g. error_if_exists: another opener initialized it since we looked.
  if (s.IsInvalidArgument()) return absl::FailedPreconditionError(what);
  return absl::InternalError(what);
}

// Reads an int64 from m/, 0 if absent.
absl::StatusOr<int64_t> ReadInt(leveldb::DB* db, const char* key) {
  std::string value;
  leveldb::Status s = db->Get(Verified(), key, &value);
  if (s.IsNotFound()) return 0;
  SYNOD_RETURN_IF_ERROR(ReadError(s));
  uint64_t v;
  if (value.size() != 8 || !Decoder(value).Fixed64(&v)) {
    return absl::DataLossError(absl::StrCat("malformed ", key));
  }
  return static_cast<int64_t>(v);
}

// Durably writes an int64 to m/ and then its cached copy, under `mu`.
absl::Status PutIntSynced(leveldb::DB* db, std::mutex* mu, const char* key,
                          int64_t v, std::atomic<int64_t>* cache) {
  std::lock_guard<std::mutex> lock(*mu);
  SYNOD_RETURN_IF_ERROR(WriteError(db->Put(Synced(true), key, EncodeInt(v))));
  *cache = v;
  return absl::OkStatus();
}

// Returns the zxid of the last log entry with a key before `limit`, or 0.
absl::StatusOr<Zxid> LastLogZxidBefore(leveldb::Iterator* it,
                                       std::string_view limit) {
  it->Seek(ToSlice(limit));
  if (it->Valid()) {
    it->Prev();
  } else {
    it->SeekToLast();
  }
  SYNOD_RETURN_IF_ERROR(ReadError(it->status()));
  if (!InRange(*it, kLogPrefix)) return 0;
  return IdOfKey(it->key());
}

// Mutators re-create the batch so that a moved-from StateBatch stays usable.
leveldb::WriteBatch* Mutable(std::unique_ptr<leveldb::WriteBatch>* batch) {
  if (!*batch) *batch = std::make_unique<leveldb::WriteBatch>();
  return batch->get();
}

}  // namespace

// ---- StateBatch

StateBatch::StateBatch() : batch_(std::make_unique<leveldb::WriteBatch>()) {}
StateBatch::~StateBatch() = default;

StateBatch::StateBatch(StateBatch&& other) noexcept
    : batch_(std::move(other.batch_)),
      empty_(std::exchange(other.empty_, true)) {}

StateBatch& StateBatch::operator=(StateBatch&& other) noexcept {
  batch_ = std::move(other.batch_);
  empty_ = std::exchange(other.empty_, true);
  return *this;
}

void StateBatch::PutNode(std::string_view path, std::string_view record) {
  Mutable(&batch_)->Put(Key(kNodePrefix, path), ToSlice(record));
  empty_ = false;
}

void StateBatch::DeleteNode(std::string_view path) {
  Mutable(&batch_)->Delete(Key(kNodePrefix, path));
  empty_ = false;
}

void StateBatch::PutSession(int64_t id, std::string_view record) {
  Mutable(&batch_)->Put(KeyWithId(kSessionPrefix, id), ToSlice(record));
  empty_ = false;
}

void StateBatch::DeleteSession(int64_t id) {
  Mutable(&batch_)->Delete(KeyWithId(kSessionPrefix, id));
  empty_ = false;
}

void StateBatch::SetNodeCount(int64_t count) {
  Mutable(&batch_)->Put(kNodeCountKey, EncodeInt(count));
  empty_ = false;
}

bool StateBatch::empty() const { return empty_; }

void StateBatch::Clear() {
  if (batch_) batch_->Clear();
  empty_ = true;
}

// ---- Store

struct Store::Rep {
  // Declared before db so that they outlive it.
  std::unique_ptr<leveldb::Cache> cache;
  std::unique_ptr<const leveldb::FilterPolicy> filter;
  std::unique_ptr<leveldb::DB> db;

  // log_mu serializes log mutations so that first/last match the log;
  // meta_mu orders epoch and applied-zxid writes with their cached copies.
  std::mutex log_mu;
  std::mutex meta_mu;
  std::atomic<Zxid> first_logged{0};
  std::atomic<Zxid> last_logged{0};
  std::atomic<int64_t> accepted_epoch{0};
  std::atomic<int64_t> current_epoch{0};
  std::atomic<Zxid> applied_zxid{0};
  int64_t node_count_hint = 0;  // read at Open
};

Store::Store() : rep_(std::make_unique<Rep>()) {}
Store::~Store() = default;  // deleting the DB waits for its compactions

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const std::string& data_dir) {
  if (data_dir.empty()) {
    return absl::InvalidArgumentError("empty synod data directory path");
  }
  // Everything that can refuse the directory is checked before any write.
  SYNOD_ASSIGN_OR_RETURN(DirState state, InspectDir(data_dir));
  const bool initializing = state != DirState::kMarked;
  if (state == DirState::kMissing) {
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) return absl::ErrnoToStatus(ec.value(), "create " + data_dir);
  }

  std::unique_ptr<Store> store(new Store());
  Rep& rep = *store->rep_;
  rep.cache.reset(leveldb::NewLRUCache(kBlockCacheBytes));
  rep.filter.reset(leveldb::NewBloomFilterPolicy(kBloomBitsPerKey));
  leveldb::Options options;
  options.create_if_missing = initializing;
  options.error_if_exists = initializing;
  options.paranoid_checks = true;
  options.write_buffer_size = kWriteBufferBytes;
  options.block_cache = rep.cache.get();
  options.filter_policy = rep.filter.get();
  const std::string db_path = (fs::path(data_dir) / kDbName).string();
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, db_path, &db);
  if (!s.ok()) return OpenError(s, data_dir, db_path);
  rep.db.reset(db);

  if (initializing) {
    // The marker goes last, so a marker always means a complete database. A
    // crash before it leaves a directory Open refuses rather than guesses at.
    SYNOD_RETURN_IF_ERROR(
        WriteError(db->Put(Synced(true), kFormatKey, kFormat)));
    SYNOD_RETURN_IF_ERROR(WriteMarker(data_dir));
    if (state == DirState::kMissing) {  // make the new entry durable too
      SYNOD_RETURN_IF_ERROR(
          FsyncPath(fs::absolute(data_dir).parent_path().string()));
    }
    return store;
  }

  std::string format;
  s = db->Get(Verified(), kFormatKey, &format);
  if (s.IsNotFound()) {
    return absl::DataLossError(
        absl::StrCat("synod store in ", data_dir, " has no format record"));
  }
  SYNOD_RETURN_IF_ERROR(ReadError(s));
  if (format != kFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat("unsupported synod store format \"", format, "\" in ",
                     data_dir, " (this build reads \"", kFormat, "\")"));
  }
  SYNOD_ASSIGN_OR_RETURN(rep.accepted_epoch, ReadInt(db, kAcceptedEpochKey));
  SYNOD_ASSIGN_OR_RETURN(rep.current_epoch, ReadInt(db, kCurrentEpochKey));
  SYNOD_ASSIGN_OR_RETURN(rep.applied_zxid, ReadInt(db, kAppliedZxidKey));
  SYNOD_ASSIGN_OR_RETURN(rep.node_count_hint, ReadInt(db, kNodeCountKey));

  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(Verified()));
  it->Seek(ToSlice(kLogPrefix));
  SYNOD_RETURN_IF_ERROR(ReadError(it->status()));
  if (InRange(*it, kLogPrefix)) {
    SYNOD_ASSIGN_OR_RETURN(rep.first_logged, IdOfKey(it->key()));
    SYNOD_ASSIGN_OR_RETURN(rep.last_logged,
                           LastLogZxidBefore(it.get(), kLogLimit));
  }
  return store;
}

// ---- Epochs and metadata

int64_t Store::accepted_epoch() const { return rep_->accepted_epoch; }
int64_t Store::current_epoch() const { return rep_->current_epoch; }

absl::Status Store::SetAcceptedEpoch(int64_t epoch) {
  return PutIntSynced(rep_->db.get(), &rep_->meta_mu, kAcceptedEpochKey, epoch,
                      &rep_->accepted_epoch);
}

absl::Status Store::SetCurrentEpoch(int64_t epoch) {
  return PutIntSynced(rep_->db.get(), &rep_->meta_mu, kCurrentEpochKey, epoch,
                      &rep_->current_epoch);
}

absl::StatusOr<std::string> Store::GetMeta(std::string_view name) const {
  const std::string key = MetaKey(name);
  std::string value;
  leveldb::Status s = rep_->db->Get(Verified(), key, &value);
  if (s.IsNotFound()) return absl::NotFoundError("no metadata " + key);
  SYNOD_RETURN_IF_ERROR(ReadError(s));
  return value;
}

absl::Status Store::PutMeta(std::string_view name, std::string_view value,
                            bool sync) {
  const std::string key = MetaKey(name);
  // The reserved records have their own setters, which keep the caches.
  if (key == kFormatKey || key == kAcceptedEpochKey ||
      key == kCurrentEpochKey || key == kAppliedZxidKey) {
    return absl::InvalidArgumentError("reserved metadata " + key);
  }
  return WriteError(rep_->db->Put(Synced(sync), key, ToSlice(value)));
}

// ---- The txn log

absl::Status Store::AppendLog(absl::Span<const LogEntry> entries, bool sync) {
  if (entries.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(rep_->log_mu);
  Zxid prev = rep_->last_logged;
  leveldb::WriteBatch batch;
  for (const LogEntry& entry : entries) {
    if (entry.zxid <= prev) {
      return absl::InvalidArgumentError(absl::StrCat(
          "log zxid ", entry.zxid, " not above ", prev, "; nothing written"));
    }
    batch.Put(LogKey(entry.zxid), ToSlice(entry.data));
    prev = entry.zxid;
  }
  SYNOD_RETURN_IF_ERROR(WriteError(rep_->db->Write(Synced(sync), &batch)));
  if (rep_->first_logged == 0) rep_->first_logged = entries.front().zxid;
  rep_->last_logged = prev;
  return absl::OkStatus();
}

absl::Status Store::ReadLog(
    Zxid after, const std::function<bool(Zxid, std::string_view)>& fn) const {
  if (after == std::numeric_limits<Zxid>::max()) return absl::OkStatus();
  std::unique_ptr<leveldb::Iterator> it(rep_->db->NewIterator(Verified()));
  it->Seek(after < 0 ? std::string(kLogPrefix) : LogKey(after + 1));
  for (; InRange(*it, kLogPrefix); it->Next()) {
    SYNOD_ASSIGN_OR_RETURN(Zxid zxid, IdOfKey(it->key()));
    if (!fn(zxid, ToView(it->value()))) return absl::OkStatus();
  }
  return ReadError(it->status());
}

absl::Status Store::TruncateLogAfter(Zxid zxid) {
  std::lock_guard<std::mutex> lock(rep_->log_mu);
  zxid = std::max<Zxid>(zxid, 0);
  if (zxid >= rep_->last_logged) return absl::OkStatus();
  // One batch: a crash must not leave a hole in the middle of the log.
  leveldb::WriteBatch batch;
  std::unique_ptr<leveldb::Iterator> it(rep_->db->NewIterator(Verified()));
  const std::string start = LogKey(zxid + 1);
  for (it->Seek(start); InRange(*it, kLogPrefix); it->Next()) {
    batch.Delete(it->key());
  }
  SYNOD_RETURN_IF_ERROR(ReadError(it->status()));
  SYNOD_ASSIGN_OR_RETURN(Zxid new_last, LastLogZxidBefore(it.get(), start));
  SYNOD_RETURN_IF_ERROR(WriteError(rep_->db->Write(Synced(true), &batch)));
  rep_->last_logged = new_last;
  if (new_last == 0) rep_->first_logged = 0;
  return absl::OkStatus();
}

absl::Status Store::TrimLogThrough(Zxid zxid) {
  // Deletes from the front in chunks, so a crash in between still leaves a
  // contiguous log; the lock is released between chunks.
  while (true) {
    std::lock_guard<std::mutex> lock(rep_->log_mu);
    const Zxid first = rep_->first_logged;
    if (first == 0 || first > zxid) return absl::OkStatus();
    leveldb::WriteBatch batch;
    std::unique_ptr<leveldb::Iterator> it(rep_->db->NewIterator(Verified()));
    Zxid new_first = 0;  // stays 0 if the log runs out
    size_t n = 0;
    for (it->Seek(LogKey(first)); InRange(*it, kLogPrefix); it->Next()) {
      SYNOD_ASSIGN_OR_RETURN(Zxid key_zxid, IdOfKey(it->key()));
      if (key_zxid > zxid || n == kTrimChunkKeys) {
        new_first = key_zxid;
        break;
      }
      batch.Delete(it->key());
      ++n;
    }
    SYNOD_RETURN_IF_ERROR(ReadError(it->status()));
    SYNOD_RETURN_IF_ERROR(WriteError(rep_->db->Write(Synced(false), &batch)));
    rep_->first_logged = new_first;
    if (new_first == 0) rep_->last_logged = 0;
  }
}

Zxid Store::last_logged_zxid() const { return rep_->last_logged; }
Zxid Store::first_logged_zxid() const { return rep_->first_logged; }

// ---- Applied state

absl::Status Store::WriteState(StateBatch* batch, Zxid applied) {
  if (batch == nullptr) return absl::InvalidArgumentError("null StateBatch");
  // If the write fails the batch keeps this Put; a retry's later Put of the
  // same key wins, so retrying with the same batch stays correct.
  leveldb::WriteBatch* records = Mutable(&batch->batch_);
  records->Put(kAppliedZxidKey, EncodeInt(applied));
  std::lock_guard<std::mutex> lock(rep_->meta_mu);
  SYNOD_RETURN_IF_ERROR(WriteError(rep_->db->Write(Synced(false), records)));
  rep_->applied_zxid = applied;
  batch->Clear();
  return absl::OkStatus();
}

absl::Status Store::ReplaceState(StateBatch* batch, Zxid applied) {
  if (batch == nullptr) return absl::InvalidArgumentError("null StateBatch");
  std::lock_guard<std::mutex> log_lock(rep_->log_mu);
  std::lock_guard<std::mutex> meta_lock(rep_->meta_mu);
  // Deletions first, then the new records: in one batch, later operations
  // win, so a new record under an old key survives.
  leveldb::WriteBatch all;
  std::unique_ptr<leveldb::Iterator> it(rep_->db->NewIterator(Verified()));
  for (std::string_view prefix : {kLogPrefix, kNodePrefix, kSessionPrefix}) {
    for (it->Seek(leveldb::Slice(prefix.data(), prefix.size()));
         InRange(*it, prefix); it->Next()) {
      all.Delete(it->key());
    }
  }
  SYNOD_RETURN_IF_ERROR(ReadError(it->status()));
  all.Append(*Mutable(&batch->batch_));
  all.Put(kAppliedZxidKey, EncodeInt(applied));
  SYNOD_RETURN_IF_ERROR(WriteError(rep_->db->Write(Synced(true), &all)));
  rep_->applied_zxid = applied;
  rep_->first_logged = 0;
  rep_->last_logged = 0;
  batch->Clear();
  return absl::OkStatus();
}

Zxid Store::applied_zxid() const { return rep_->applied_zxid; }

int64_t Store::node_count_hint() const { return rep_->node_count_hint; }

absl::Status Store::LoadState(
    const std::function<absl::Status(std::string_view, std::string_view)>&
        on_node,
    const std::function<absl::Status(int64_t, std::string_view)>& on_session)
    const {
  leveldb::DB* db = rep_->db.get();
  auto release = [db](const leveldb::Snapshot* s) { db->ReleaseSnapshot(s); };
  std::unique_ptr<const leveldb::Snapshot, decltype(release)> snapshot(
      db->GetSnapshot(), release);
  leveldb::ReadOptions options = Verified();
  options.snapshot = snapshot.get();
  options.fill_cache = false;  // a one-time bulk read; keep the hot blocks
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(options));

  // Byte order puts every parent first: its path is a prefix of its
  // children's paths.
  for (it->Seek(ToSlice(kNodePrefix)); InRange(*it, kNodePrefix); it->Next()) {
    std::string_view path = ToView(it->key()).substr(kNodePrefix.size());
    if (on_node) SYNOD_RETURN_IF_ERROR(on_node(path, ToView(it->value())));
  }
  SYNOD_RETURN_IF_ERROR(ReadError(it->status()));
  for (it->Seek(ToSlice(kSessionPrefix)); InRange(*it, kSessionPrefix);
       it->Next()) {
    SYNOD_ASSIGN_OR_RETURN(int64_t id, IdOfKey(it->key()));
    if (on_session) SYNOD_RETURN_IF_ERROR(on_session(id, ToView(it->value())));
  }
  return ReadError(it->status());
}

}  // namespace synod
