// Storage: a peer's durable state as the server (lib/server) and the log
// writer use it: zab's epochs, small metadata, the txn log and the applied
// state's records. The Store (store.h) keeps it in files; a simulation
// keeps it in memory (test/sim/memory_storage.h) so that one process can run
// a whole ensemble of servers, crash them and restart them from what they
// made durable.
//
// Every method's contract is the Store's; implementations are thread-safe
// (the log writer appends while the server reads metadata).

#ifndef SYNOD_STORAGE_STORAGE_H_
#define SYNOD_STORAGE_STORAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "synod/types.h"

namespace synod {

// What recovery cut from a damaged txn log (Store::Open with
// StoreOptions::allow_log_damage).
struct LogDamage {
  // The last record kept: every record above it is gone (0: none kept).
  Zxid kept_through = 0;
  // Records up to at least this zxid had been made durable (acknowledged
  // writes may be among them); 0 if the damage does not say.
  Zxid durable_at_least = 0;
  // The file, offset and what was found and cut.
  std::string what;
};

// One log entry: a txn's zxid and its encoding.
struct LogEntry {
  Zxid zxid = 0;
  std::string data;
};

// Receives a StateBatch's changes, in the order they were added.
class StateBatchVisitor {
 public:
  virtual ~StateBatchVisitor() = default;
  virtual void PutNode(std::string_view path, std::string_view record) = 0;
  virtual void DeleteNode(std::string_view path) = 0;
  virtual void PutSession(int64_t id, std::string_view record) = 0;
  virtual void DeleteSession(int64_t id) = 0;
  virtual void PutMeta(std::string_view name, std::string_view value) = 0;
};

// Changes to the applied-state records, written atomically by WriteState.
// Plain data (no storage engine's types), so the server builds it without
// depending on one.
class StateBatch {
 public:
  StateBatch();
  ~StateBatch();
  StateBatch(StateBatch&&) noexcept;
  StateBatch& operator=(StateBatch&&) noexcept;

  // Records znode `path` as `record` (replacing any earlier record).
  void PutNode(std::string_view path, std::string_view record);
  // Removes the record of znode `path`.
  void DeleteNode(std::string_view path);
  // Records session `id` as `record`.
  void PutSession(int64_t id, std::string_view record);
  // Removes the record of session `id`.
  void DeleteSession(int64_t id);
  // Records metadata m/`name` = `value` with the state, so that it always
  // describes the state the store holds (e.g. the configuration as of the
  // applied zxid). REQUIRES: `name` is not one the store reserves.
  void PutMeta(std::string_view name, std::string_view value);
  // Records how many znodes the state has once this batch is written (a
  // hint: restart sizes its tables for it).
  void SetNodeCount(int64_t count);
  // Returns true if nothing was added since construction or Clear().
  bool empty() const;
  // Forgets everything added.
  void Clear();
  // Tells `visitor` every node and session change, in the order added (the
  // node count hint is not told). DataLoss if the batch is malformed.
  absl::Status Visit(StateBatchVisitor* visitor) const;
  // The last SetNodeCount since construction or Clear(), or -1 if none.
  int64_t node_count() const { return node_count_; }

 private:
  // The changes, encoded one after another: a tag ('N' put node, 'n'
  // delete node, 'S' put session, 's' delete session, 'M' put metadata),
  // then the path or metadata name (length-prefixed) or the session id
  // (fixed64), then for puts the record or value (length-prefixed). One
  // buffer: no allocation per change.
  std::string rep_;
  int64_t node_count_ = -1;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // What recovery cut from a damaged log (nullopt: nothing).
  virtual std::optional<LogDamage> log_damage() const = 0;

  // ---- Epochs (zab). Each setter syncs before it returns.
  virtual int64_t accepted_epoch() const = 0;
  virtual int64_t current_epoch() const = 0;
  virtual absl::Status SetAcceptedEpoch(int64_t epoch) = 0;
  virtual absl::Status SetCurrentEpoch(int64_t epoch) = 0;

  // ---- Small metadata. GetMeta returns NotFound if `name` was never put.
  virtual absl::StatusOr<std::string> GetMeta(std::string_view name) const = 0;
  virtual absl::Status PutMeta(std::string_view name, std::string_view value,
                               bool sync) = 0;

  // ---- The txn log (see Store for the error contract).
  // Appends `entries` (zxids strictly increasing, above the last logged) in
  // one atomic write; with `sync`, durable when it returns.
  virtual absl::Status AppendLog(absl::Span<const LogEntry> entries,
                                 bool sync) = 0;
  // Calls `fn` for each entry with zxid > `after`, in order, until `fn`
  // returns false.
  virtual absl::Status ReadLog(
      Zxid after,
      const std::function<bool(Zxid, std::string_view)>& fn) const = 0;
  // Removes every entry with zxid > `zxid` (zab TRUNC), synced.
  virtual absl::Status TruncateLogAfter(Zxid zxid) = 0;
  // Removes every entry with zxid <= `zxid` (compaction), once every
  // earlier state write (WriteState) is durable: a crash never leaves the
  // applied state behind the log's first entry. The trim itself may be
  // lost by a crash: some of the entries come back (the log stays
  // contiguous).
  virtual absl::Status TrimLogThrough(Zxid zxid) = 0;

  // ---- Applied state.
  // Writes `batch` and the applied zxid `applied` in one atomic write, not
  // synced; clears `batch`.
  virtual absl::Status WriteState(StateBatch* batch, Zxid applied) = 0;
  // Replaces the whole applied state and the log with `batch` as of
  // `applied` in one synced atomic write; clears `batch`.
  virtual absl::Status ReplaceState(StateBatch* batch, Zxid applied) = 0;
  // The applied zxid recorded with the state (0 if none).
  virtual Zxid applied_zxid() const = 0;
  // The znode count last recorded with the state (a sizing hint).
  virtual int64_t node_count_hint() const = 0;
  // Calls `on_node` for every znode record in path order (a parent before
  // its children) and `on_session` for every session record, from one
  // consistent view; stops with the first non-OK status a callback returns.
  virtual absl::Status LoadState(
      const std::function<absl::Status(std::string_view path,
                                       std::string_view record)>& on_node,
      const std::function<absl::Status(int64_t id, std::string_view record)>&
          on_session) const = 0;
};

}  // namespace synod

#endif  // SYNOD_STORAGE_STORAGE_H_
