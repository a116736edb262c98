// The durable state of one peer: metadata and the applied state in LevelDB
// under <data_dir>/db,
//
//   m/format          "synod-store-1" (with <data_dir>/SYNOD, marks the dir)
//   m/accepted_epoch  int64: the epoch this peer has promised (zab)
//   m/current_epoch   int64: the epoch whose history this peer follows (zab)
//   m/applied_zxid    int64: the last txn reflected in the n/ and s/ records
//   m/node_count      int64: how many n/ records there are (a sizing hint)
//   m/log_files       "1": the log is in <data_dir>/log (absent in stores
//                     written before; Open then moves their l/ keys there)
//   m/log_trim        int64: log entries at or below it are trimmed
//   m/log_head        int64: the first zxid of the newest log segment, set
//                     (synced) once its header is durable; Open reports a
//                     missing newest segment as damage
//   m/config          the zab configuration as of m/applied_zxid, written
//                     with the state (StateBatch::PutMeta; the server's)
//   m/<name>          other small metadata (e.g. the previous session id)
//   n/<path>          one record per znode (the applied tree)
//   s/<id BE64>       one record per live session
//
// and the txn log, one encoded txn per zxid, in append-only segment files
// under <data_dir>/log (format in log_file.h and docs/storage.md).
//
// The log is the source of truth. The n/ and s/ records plus m/applied_zxid
// are written together in one atomic batch after txns are applied, without a
// sync: after a crash they are a consistent prefix and the log (synced before
// any txn is acknowledged) replays the rest. Restart therefore reads the
// records once and replays only the log's tail.

#ifndef SYNOD_STORAGE_STORE_H_
#define SYNOD_STORAGE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "storage/storage.h"
#include "synod/types.h"

namespace leveldb {
class DB;
class WriteBatch;
}  // namespace leveldb

namespace synod {

class Env;

// How Store::Open opens.
struct StoreOptions {
  // Where the files are (the log's, the store's own, and LevelDB's through
  // Env::leveldb_env()). Null: Env::Posix(). Must outlive the Store.
  Env* env = nullptr;
  // Instead of failing with DataLoss on a damaged txn log, cut the log at
  // the damage, warn, and report it in Store::log_damage(), so that a peer
  // in an ensemble can come back as one that lost part of its log (it must
  // not vote on what it lost until a leader has synced it). Default: false.
  bool allow_log_damage = false;
  // Receives a message for each repair Open makes (at warning level:
  // a torn tail cut, damage cut). Null: dropped.
  std::function<void(const std::string&)> warn;
};

// Thread-safe: the log may be appended from one thread while state is
// written from another.
class Store final : public Storage {
 public:
  // Opens the store in `data_dir`, creating the directory and an empty store
  // if the directory is missing or empty. Refuses, without writing anything:
  // a directory with other content (FailedPrecondition, "not a synod data
  // directory"), a store of another format version (FailedPrecondition), a
  // store open in another process (FailedPrecondition, "in use"), and a
  // corrupted store (DataLoss, also for a damaged log: see log_file.h and
  // docs/storage.md; or, with options.allow_log_damage, the log cut at the
  // damage and reported by log_damage()). Otherwise repairs nothing but the
  // torn tail of an unacknowledged log write (cut off, with a warning).
  // Moves the log of a store written before the log files (LevelDB l/
  // keys) into them, crash-safely.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& data_dir, const StoreOptions& options = {});

  // What Open cut from a damaged log (only with allow_log_damage).
  std::optional<LogDamage> log_damage() const override;

  ~Store() override;

  // ---- Epochs (zab). Each setter syncs before it returns.
  int64_t accepted_epoch() const override;
  int64_t current_epoch() const override;
  absl::Status SetAcceptedEpoch(int64_t epoch) override;
  absl::Status SetCurrentEpoch(int64_t epoch) override;

  // ---- Small metadata. Returns NotFound if `name` was never put.
  absl::StatusOr<std::string> GetMeta(std::string_view name) const override;
  absl::Status PutMeta(std::string_view name, std::string_view value,
                       bool sync) override;

  // ---- The txn log.
  // Appends `entries` (zxids strictly increasing and above last_logged_zxid)
  // in one atomic write; with `sync`, durable when it returns.
  // InvalidArgument if the zxids are out of order (nothing written).
  // Unavailable on a transient error (a failed open or write): nothing of
  // `entries` is in the log, and later appends (of the same entries) may
  // succeed. Any other error is fatal: a sync failed or what reached the
  // disk is unknown; whether `entries` are durable is unknown, and every
  // later log mutation fails (the peer must restart and recover).
  absl::Status AppendLog(absl::Span<const LogEntry> entries, bool sync) override;
  // Calls `fn` for each entry with zxid > `after`, in order, until `fn`
  // returns false. DataLoss if an entry cannot be read.
  absl::Status ReadLog(Zxid after,
                       const std::function<bool(Zxid, std::string_view)>& fn) const override;
  // Removes every entry with zxid > `zxid` (zab TRUNC), synced.
  absl::Status TruncateLogAfter(Zxid zxid) override;
  // Removes every entry with zxid <= `zxid` (compaction), once every
  // earlier state write (WriteState) is durable: a crash never leaves the
  // applied state behind the log's first entry. The trim itself may be
  // lost by a crash: some of the entries come back (the log stays
  // contiguous).
  absl::Status TrimLogThrough(Zxid zxid) override;
  // Returns the zxid of the last entry in the log, or 0 if it is empty.
  Zxid last_logged_zxid() const;
  // Returns the zxid of the first entry in the log, or 0 if it is empty.
  Zxid first_logged_zxid() const;

  // ---- Applied state.
  // Writes `batch` and m/applied_zxid = `applied` in one atomic write, not
  // synced; clears `batch`.
  absl::Status WriteState(StateBatch* batch, Zxid applied) override;
  // Replaces the whole applied state and log with `batch` as of `applied`
  // (a snapshot from the leader): every node and session record and every
  // log entry goes, `batch` and m/applied_zxid = `applied` come, in one
  // synced atomic write. Clears `batch`.
  absl::Status ReplaceState(StateBatch* batch, Zxid applied) override;

  // Returns the applied zxid recorded with the state (0 if none).
  Zxid applied_zxid() const override;
  // Returns the znode count last recorded with the state (SetNodeCount), 0
  // if none: a hint for sizing, never relied on.
  int64_t node_count_hint() const override;
  // Calls `on_node` for every znode record in path order (a parent always
  // before its children) and `on_session` for every session record, from one
  // consistent view. Stops with the first non-OK status a callback returns.
  // DataLoss if a record cannot be read.
  absl::Status LoadState(
      const std::function<absl::Status(std::string_view path,
                                       std::string_view record)>& on_node,
      const std::function<absl::Status(int64_t id, std::string_view record)>&
          on_session) const override;

 private:
  Store();
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace synod

#endif  // SYNOD_STORAGE_STORE_H_
