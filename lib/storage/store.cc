// Store: the durable state of one peer (layout in store.h): LevelDB for
// metadata and the applied state, segment files (log_file.h) for the txn
// log. Besides those, <data_dir>/SYNOD marks the directory as ours so that
// Open never writes into a directory it does not own.
//
// The log's logical start: entries <= m/log_trim are trimmed even if a
// segment still holds them (TrimLogThrough deletes whole segments only).
// Invariants kept under log_mu:
//   - a logically empty log (first_logged == 0) has no dead records either,
//     except right after Open, which writes nothing: the first AppendLog
//     then deletes them;
//   - disk_trim_max is at least any m/log_trim value a crash could leave on
//     disk, so an append at or below it first rewrites m/log_trim (synced),
//     or a crash could hide acknowledged entries.
//
// Encodings: zxids and session ids in keys are 8-byte big-endian, so key
// order is numeric order for the (positive) zxids; int64 values under m/ are
// 8-byte little-endian fixed (util/coding.h).

#include "storage/store.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "leveldb/cache.h"
#include "leveldb/db.h"
#include "leveldb/filter_policy.h"
#include "leveldb/write_batch.h"
#include "storage/env.h"
#include "storage/log_file.h"
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
constexpr char kLogDirName[] = "log";
constexpr char kFormat[] = "synod-store-1";

constexpr char kFormatKey[] = "m/format";
constexpr char kAcceptedEpochKey[] = "m/accepted_epoch";
constexpr char kCurrentEpochKey[] = "m/current_epoch";
constexpr char kAppliedZxidKey[] = "m/applied_zxid";
constexpr char kNodeCountKey[] = "m/node_count";
// "1" once the log is in segment files (new stores, and old ones after the
// migration of their l/ keys).
constexpr char kLogFilesKey[] = "m/log_files";
constexpr char kLogFilesValue[] = "1";
// int64: the first zxid of the newest log segment, once its header is
// durable (synced when set); absent: no segment, or one written before.
constexpr char kLogHeadKey[] = "m/log_head";
// int64: log entries at or below it are trimmed. Absent means 0.
constexpr char kLogTrimKey[] = "m/log_trim";
// The migration copies the l/ range in appends of about this size.
constexpr size_t kMigrateChunkBytes = 4 << 20;
// ReadLog reads this much under the log mutex between callbacks.
constexpr size_t kReadChunkBytes = 1 << 20;
// The txn log of stores written before the log moved to files.
constexpr std::string_view kLogPrefix = "l/";
constexpr std::string_view kNodePrefix = "n/";
constexpr std::string_view kSessionPrefix = "s/";

constexpr size_t kWriteBufferBytes = 16 << 20;
constexpr size_t kBlockCacheBytes = 64 << 20;
constexpr int kBloomBitsPerKey = 10;

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

// Writes the marker so that a crash leaves either no marker or all of it.
absl::Status WriteMarker(Env* env, const std::string& dir) {
  const std::string temp = (fs::path(dir) / kMarkerTemp).string();
  const std::string text = absl::StrCat(kMarkerLine, "\n");
  {
    SYNOD_ASSIGN_OR_RETURN(std::unique_ptr<EnvFile> f,
                           env->OpenFile(temp, OpenMode::kTruncate));
    SYNOD_RETURN_IF_ERROR(f->Write(0, text));
    SYNOD_RETURN_IF_ERROR(f->SyncAll());
  }
  SYNOD_RETURN_IF_ERROR(
      env->Rename(temp, (fs::path(dir) / kMarkerName).string()));
  return env->SyncDir(dir);
}

// Creates `dir` and its missing parents.
absl::Status CreateDirs(Env* env, const fs::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  SYNOD_ASSIGN_OR_RETURN(PathType type, env->Stat(dir.string()));
  if (type == PathType::kDirectory) return absl::OkStatus();
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    SYNOD_RETURN_IF_ERROR(CreateDirs(env, dir.parent_path()));
  }
  return env->CreateDir(dir.string());
}

// What Open found in the data directory.
enum class DirState { kMissing, kEmpty, kMarked };

// Classifies `dir`, refusing anything that is not ours or empty. Reads only.
absl::StatusOr<DirState> InspectDir(Env* env, const std::string& dir) {
  SYNOD_ASSIGN_OR_RETURN(PathType type, env->Stat(dir));
  if (type == PathType::kMissing) return DirState::kMissing;
  if (type != PathType::kDirectory) {
    return NotSynodDir(dir, " (not a directory)");
  }
  SYNOD_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  const bool marked =
      std::find(names.begin(), names.end(), kMarkerName) != names.end();
  if (!marked) {
    if (!names.empty()) return NotSynodDir(dir);
    return DirState::kEmpty;
  }
  std::string text;
  if (!ReadWholeFile(env, (fs::path(dir) / kMarkerName).string(), &text)
           .ok() ||
      text.empty()) {
    return NotSynodDir(dir, " (unreadable SYNOD)");
  }
  const std::string line = text.substr(0, text.find('\n'));
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
  SYNOD_ASSIGN_OR_RETURN(
      PathType current,
      env->Stat((fs::path(dir) / kDbName / "CURRENT").string()));
  if (current == PathType::kMissing) {
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

// Checks the l/ range of a store written before the log moved to files:
// every key well formed (zxids increasing by key order). Reads only.
absl::Status CheckLegacyLog(leveldb::DB* db, bool* any) {
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(Verified()));
  *any = false;
  for (it->Seek(ToSlice(kLogPrefix)); InRange(*it, kLogPrefix); it->Next()) {
    SYNOD_ASSIGN_OR_RETURN(int64_t zxid, IdOfKey(it->key()));
    if (zxid <= 0) {
      return absl::DataLossError(
          absl::StrCat("log key with zxid ", zxid, " in store"));
    }
    *any = true;
  }
  return ReadError(it->status());
}

// Moves the l/ range into `log`: copies the entries above its last zxid
// (a crashed earlier migration may have copied some), syncs, then deletes
// the keys and records m/log_files in one synced batch.
absl::Status MigrateLegacyLog(leveldb::DB* db, LogFile* log) {
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(Verified()));
  leveldb::WriteBatch done;
  std::vector<LogEntry> chunk;
  size_t chunk_bytes = 0;
  bool copied = false;
  for (it->Seek(ToSlice(kLogPrefix)); InRange(*it, kLogPrefix); it->Next()) {
    SYNOD_ASSIGN_OR_RETURN(Zxid zxid, IdOfKey(it->key()));
    done.Delete(it->key());
    if (zxid <= log->last_zxid() ||
        (!chunk.empty() && zxid <= chunk.back().zxid)) {
      continue;
    }
    chunk.push_back(LogEntry{zxid, std::string(ToView(it->value()))});
    chunk_bytes += chunk.back().data.size();
    if (chunk_bytes >= kMigrateChunkBytes) {
      SYNOD_RETURN_IF_ERROR(log->Append(chunk, /*sync=*/false));
      chunk.clear();
      chunk_bytes = 0;
      copied = true;
    }
  }
  SYNOD_RETURN_IF_ERROR(ReadError(it->status()));
  if (!chunk.empty() || copied) {
    // An empty append syncs nothing: end with a synced one if needed.
    if (chunk.empty()) {
      SYNOD_RETURN_IF_ERROR(log->Sync());
    } else {
      SYNOD_RETURN_IF_ERROR(log->Append(chunk, /*sync=*/true));
    }
  }
  done.Put(kLogFilesKey, kLogFilesValue);
  return WriteError(db->Write(Synced(true), &done));
}


// Adds `batch`'s changes to `out` as the store's keys.
class ToRecords : public StateBatchVisitor {
 public:
  explicit ToRecords(leveldb::WriteBatch* out) : out_(out) {}
  void PutNode(std::string_view path, std::string_view record) override {
    out_->Put(Key(kNodePrefix, path), ToSlice(record));
  }
  void DeleteNode(std::string_view path) override {
    out_->Delete(Key(kNodePrefix, path));
  }
  void PutSession(int64_t id, std::string_view record) override {
    out_->Put(KeyWithId(kSessionPrefix, id), ToSlice(record));
  }
  void DeleteSession(int64_t id) override {
    out_->Delete(KeyWithId(kSessionPrefix, id));
  }
  void PutMeta(std::string_view name, std::string_view value) override {
    out_->Put(MetaKey(name), ToSlice(value));
  }

 private:
  leveldb::WriteBatch* const out_;
};

absl::Status AddRecords(const StateBatch& batch, leveldb::WriteBatch* out) {
  ToRecords records(out);
  SYNOD_RETURN_IF_ERROR(batch.Visit(&records));
  if (batch.node_count() >= 0) {
    out->Put(kNodeCountKey, EncodeInt(batch.node_count()));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- Store

struct Store::Rep {
  // Declared before db so that they outlive it.
  std::unique_ptr<leveldb::Cache> cache;
  std::unique_ptr<const leveldb::FilterPolicy> filter;
  std::unique_ptr<leveldb::DB> db;

  // log_mu guards the log files and the trim point, and serializes log
  // mutations so that first/last match the log; meta_mu orders epoch and
  // applied-zxid writes with their cached copies. Order: log_mu, meta_mu.
  std::mutex log_mu;
  std::mutex meta_mu;
  std::unique_ptr<LogFile> log;  // guarded by log_mu
  Zxid trim = 0;                 // guarded by log_mu: entries <= it are gone
  Zxid disk_trim_max = 0;        // guarded by log_mu: see the file comment
  std::atomic<Zxid> first_logged{0};
  std::atomic<Zxid> last_logged{0};
  std::atomic<int64_t> accepted_epoch{0};
  std::atomic<int64_t> current_epoch{0};
  std::atomic<Zxid> applied_zxid{0};
  int64_t node_count_hint = 0;  // read at Open
  std::optional<LogDamage> log_damage;  // set at Open
};

Store::Store() : rep_(std::make_unique<Rep>()) {}
Store::~Store() = default;  // deleting the DB waits for its compactions

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const std::string& data_dir, const StoreOptions& store_options) {
  if (data_dir.empty()) {
    return absl::InvalidArgumentError("empty synod data directory path");
  }
  Env* env = store_options.env != nullptr ? store_options.env : Env::Posix();
  // Everything that can refuse the directory is checked before any write.
  SYNOD_ASSIGN_OR_RETURN(DirState state, InspectDir(env, data_dir));
  const bool initializing = state != DirState::kMarked;
  if (state == DirState::kMissing) {
    SYNOD_RETURN_IF_ERROR(CreateDirs(env, fs::path(data_dir)));
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
  options.env = env->leveldb_env();
  const std::string db_path = (fs::path(data_dir) / kDbName).string();
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, db_path, &db);
  if (!s.ok()) return OpenError(s, data_dir, db_path);
  rep.db.reset(db);

  // The log's options: the head is recorded in m/log_head, synced.
  LogFileOptions log_options = DefaultLogFileOptions();
  log_options.env = env;
  log_options.allow_damage = store_options.allow_log_damage;
  log_options.warn = store_options.warn;
  log_options.record_head = [db](Zxid head) {
    if (head == 0) return WriteError(db->Delete(Synced(true), kLogHeadKey));
    return WriteError(db->Put(Synced(true), kLogHeadKey, EncodeInt(head)));
  };

  const std::string log_path = (fs::path(data_dir) / kLogDirName).string();
  if (initializing) {
    // The marker goes last, so a marker always means a complete database. A
    // crash before it leaves a directory Open refuses rather than guesses at.
    SYNOD_RETURN_IF_ERROR(env->CreateDir(log_path));
    SYNOD_RETURN_IF_ERROR(env->SyncDir(data_dir));
    leveldb::WriteBatch init;
    init.Put(kFormatKey, kFormat);
    init.Put(kLogFilesKey, kLogFilesValue);
    SYNOD_RETURN_IF_ERROR(WriteError(db->Write(Synced(true), &init)));
    SYNOD_ASSIGN_OR_RETURN(rep.log, LogFile::Open(log_path, log_options));
    SYNOD_RETURN_IF_ERROR(WriteMarker(env, data_dir));
    if (state == DirState::kMissing) {  // make the new entry durable too
      SYNOD_RETURN_IF_ERROR(
          env->SyncDir(fs::absolute(data_dir).parent_path().string()));
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
  SYNOD_ASSIGN_OR_RETURN(rep.trim, ReadInt(db, kLogTrimKey));
  SYNOD_ASSIGN_OR_RETURN(log_options.head, ReadInt(db, kLogHeadKey));
  log_options.max_epoch = rep.accepted_epoch;
  rep.disk_trim_max = rep.trim;

  // A store written before the log moved to files has no m/log_files; its
  // l/ keys are checked before anything is written, then moved.
  std::string log_files;
  s = db->Get(Verified(), kLogFilesKey, &log_files);
  const bool migrate = s.IsNotFound();
  if (!migrate) SYNOD_RETURN_IF_ERROR(ReadError(s));
  if (!migrate && log_files != kLogFilesValue) {
    return absl::FailedPreconditionError(
        absl::StrCat("unsupported synod log layout \"", log_files, "\" in ",
                     data_dir));
  }
  if (migrate) {
    bool any = false;
    SYNOD_RETURN_IF_ERROR(CheckLegacyLog(db, &any));
  }
  SYNOD_ASSIGN_OR_RETURN(PathType log_type, env->Stat(log_path));
  if (log_type != PathType::kDirectory) {
    if (!migrate) {
      return absl::DataLossError(absl::StrCat(
          "synod data directory ", data_dir, " has no log directory"));
    }
    SYNOD_RETURN_IF_ERROR(env->CreateDir(log_path));
    SYNOD_RETURN_IF_ERROR(env->SyncDir(data_dir));
  }
  SYNOD_ASSIGN_OR_RETURN(rep.log, LogFile::Open(log_path, log_options));
  rep.log_damage = rep.log->damage();
  if (migrate) SYNOD_RETURN_IF_ERROR(MigrateLegacyLog(db, rep.log.get()));
  // The applied state comes from committed, so durable, log records: a
  // non-empty log that ends below it lost acknowledged records. (A log
  // emptied by a trim or a snapshot legitimately ends nowhere.)
  const Zxid last = rep.log->last_zxid();
  if (last > rep.trim && last < rep.applied_zxid) {
    const std::string message = absl::StrCat(
        "corrupted synod txn log: ", log_path, " ends at zxid ", last,
        " but the applied state in ", db_path, " is at zxid ",
        rep.applied_zxid.load(), ": the log's records up to it are missing");
    if (!store_options.allow_log_damage) return absl::DataLossError(message);
    if (store_options.warn) store_options.warn(message);
    if (!rep.log_damage) {
      rep.log_damage = LogDamage{last, rep.applied_zxid.load(), message};
    }
    // What the log kept is all in the applied state, and new records will
    // follow the state, not the log: drop the log whole (trimmed first, as
    // ReplaceState does), so the records that follow are contiguous.
    SYNOD_RETURN_IF_ERROR(
        WriteError(db->Put(Synced(true), kLogTrimKey, EncodeInt(last))));
    rep.disk_trim_max = std::max(rep.disk_trim_max, last);
    rep.trim = last;
    SYNOD_RETURN_IF_ERROR(rep.log->Clear());
    rep.trim = 0;
  }
  const Zxid kept = rep.log->last_zxid();
  if (kept > rep.trim) {
    rep.first_logged = rep.log->FirstAbove(rep.trim);
    rep.last_logged = kept;
  }
  return store;
}

std::optional<LogDamage> Store::log_damage() const { return rep_->log_damage; }

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
      key == kCurrentEpochKey || key == kAppliedZxidKey ||
      key == kLogFilesKey || key == kLogTrimKey) {
    return absl::InvalidArgumentError("reserved metadata " + key);
  }
  return WriteError(rep_->db->Put(Synced(sync), key, ToSlice(value)));
}

// ---- The txn log

absl::Status Store::AppendLog(absl::Span<const LogEntry> entries, bool sync) {
  if (entries.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(rep_->log_mu);
  Zxid prev = rep_->last_logged;
  for (const LogEntry& entry : entries) {
    if (entry.zxid <= prev) {
      return absl::InvalidArgumentError(absl::StrCat(
          "log zxid ", entry.zxid, " not above ", prev, "; nothing written"));
    }
    prev = entry.zxid;
  }
  if (rep_->first_logged == 0) {
    // An empty log starts afresh: records Open found trimmed go, and a trim
    // point that could hide the new entries after a crash is reset first.
    SYNOD_RETURN_IF_ERROR(rep_->log->Clear());
    rep_->trim = 0;
    if (entries.front().zxid <= rep_->disk_trim_max) {
      SYNOD_RETURN_IF_ERROR(
          WriteError(rep_->db->Delete(Synced(true), kLogTrimKey)));
      rep_->disk_trim_max = 0;
    }
  }
  SYNOD_RETURN_IF_ERROR(rep_->log->Append(entries, sync));
  if (rep_->first_logged == 0) rep_->first_logged = entries.front().zxid;
  rep_->last_logged = prev;
  return absl::OkStatus();
}

absl::Status Store::ReadLog(
    Zxid after, const std::function<bool(Zxid, std::string_view)>& fn) const {
  // Reads a chunk under the lock, then calls `fn` without it.
  std::vector<LogEntry> chunk;
  while (true) {
    chunk.clear();
    {
      std::lock_guard<std::mutex> lock(rep_->log_mu);
      SYNOD_RETURN_IF_ERROR(rep_->log->Read(std::max(after, rep_->trim),
                                            kReadChunkBytes, &chunk));
    }
    if (chunk.empty()) return absl::OkStatus();
    for (const LogEntry& e : chunk) {
      if (!fn(e.zxid, e.data)) return absl::OkStatus();
    }
    after = chunk.back().zxid;
  }
}

absl::Status Store::TruncateLogAfter(Zxid zxid) {
  std::lock_guard<std::mutex> lock(rep_->log_mu);
  zxid = std::max<Zxid>(zxid, 0);
  if (zxid >= rep_->last_logged) return absl::OkStatus();
  if (zxid < rep_->first_logged) {
    // Nothing stays: trimmed records go too, so an empty log is empty.
    SYNOD_RETURN_IF_ERROR(rep_->log->Clear());
    rep_->trim = 0;
    rep_->first_logged = 0;
    rep_->last_logged = 0;
    return absl::OkStatus();
  }
  SYNOD_RETURN_IF_ERROR(rep_->log->TruncateAfter(zxid));
  rep_->last_logged = rep_->log->last_zxid();
  return absl::OkStatus();
}

absl::Status Store::TrimLogThrough(Zxid zxid) {
  std::lock_guard<std::mutex> lock(rep_->log_mu);
  const Zxid first = rep_->first_logged;
  if (first == 0 || first > zxid) return absl::OkStatus();
  // The applied state that covers these entries must be durable before
  // they go (else a power loss can leave the state before them and the log
  // after them: a gap). A synced LevelDB write makes every earlier one
  // durable, its write-ahead log being sequential.
  if (zxid >= rep_->last_logged) {
    {
      std::lock_guard<std::mutex> meta_lock(rep_->meta_mu);
      SYNOD_RETURN_IF_ERROR(WriteError(rep_->db->Put(
          Synced(true), kAppliedZxidKey, EncodeInt(rep_->applied_zxid))));
    }
    SYNOD_RETURN_IF_ERROR(rep_->log->Clear());
    rep_->trim = 0;
    rep_->first_logged = 0;
    rep_->last_logged = 0;
    return absl::OkStatus();
  }
  // The trim point first (synced, for the state's sake), then whole
  // segments.
  SYNOD_RETURN_IF_ERROR(
      WriteError(rep_->db->Put(Synced(true), kLogTrimKey, EncodeInt(zxid))));
  rep_->trim = zxid;
  rep_->disk_trim_max = std::max(rep_->disk_trim_max, zxid);
  SYNOD_RETURN_IF_ERROR(rep_->log->DropSegmentsThrough(zxid));
  rep_->first_logged = rep_->log->FirstAbove(zxid);
  return absl::OkStatus();
}

Zxid Store::last_logged_zxid() const { return rep_->last_logged; }
Zxid Store::first_logged_zxid() const { return rep_->first_logged; }

// ---- Applied state

absl::Status Store::WriteState(StateBatch* batch, Zxid applied) {
  if (batch == nullptr) return absl::InvalidArgumentError("null StateBatch");
  // If the write fails the batch is kept: a retry writes it whole again.
  leveldb::WriteBatch records;
  SYNOD_RETURN_IF_ERROR(AddRecords(*batch, &records));
  records.Put(kAppliedZxidKey, EncodeInt(applied));
  std::lock_guard<std::mutex> lock(rep_->meta_mu);
  SYNOD_RETURN_IF_ERROR(WriteError(rep_->db->Write(Synced(false), &records)));
  rep_->applied_zxid = applied;
  batch->Clear();
  return absl::OkStatus();
}

absl::Status Store::ReplaceState(StateBatch* batch, Zxid applied) {
  if (batch == nullptr) return absl::InvalidArgumentError("null StateBatch");
  std::lock_guard<std::mutex> log_lock(rep_->log_mu);
  std::lock_guard<std::mutex> meta_lock(rep_->meta_mu);
  // Deletions first, then the new records: in one batch, later operations
  // win, so a new record under an old key survives. The batch also marks
  // every record in the log files as trimmed, so a crash before they are
  // deleted cannot pair the old log with the new state.
  leveldb::WriteBatch all;
  std::unique_ptr<leveldb::Iterator> it(rep_->db->NewIterator(Verified()));
  for (std::string_view prefix : {kNodePrefix, kSessionPrefix}) {
    for (it->Seek(leveldb::Slice(prefix.data(), prefix.size()));
         InRange(*it, prefix); it->Next()) {
      all.Delete(it->key());
    }
  }
  SYNOD_RETURN_IF_ERROR(ReadError(it->status()));
  SYNOD_RETURN_IF_ERROR(AddRecords(*batch, &all));
  all.Put(kAppliedZxidKey, EncodeInt(applied));
  const Zxid discard = rep_->log->last_zxid();
  if (discard > 0) all.Put(kLogTrimKey, EncodeInt(discard));
  SYNOD_RETURN_IF_ERROR(WriteError(rep_->db->Write(Synced(true), &all)));
  rep_->applied_zxid = applied;
  rep_->disk_trim_max = std::max(rep_->disk_trim_max, discard);
  rep_->first_logged = 0;
  rep_->last_logged = 0;
  batch->Clear();
  // A crash from here on leaves files whose records are all trimmed.
  rep_->trim = discard;
  SYNOD_RETURN_IF_ERROR(rep_->log->Clear());
  rep_->trim = 0;
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
