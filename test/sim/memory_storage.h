// File: MemoryStorage, a Storage (lib/storage/storage.h) kept in memory, so
// that a simulation can run several servers in one process, crash them and
// restart them from what they made durable.
//
//   MemoryStorage disk;
//   ... a server runs on &disk: appends, writes state, trims ...
//   (the server is destroyed)
//   Rng rng(seed);
//   disk.Crash(&rng);   // what a power loss could have left
//   ... a new server starts on &disk ...
//
// Every method keeps the Store's contract (lib/storage/store.h), including
// its refusals and the order LoadState reports records in (bytewise path
// order, as LevelDB's keys; sessions by id as an unsigned 64-bit number, as
// their big-endian keys).
//
// The crash model follows what the Store's files keep (docs/storage.md,
// lib/storage/fault_env.h):
//   - The txn log is one append-only file. A synced append makes it durable
//     through its last entry (earlier unsynced appends too); a crash keeps
//     those and a prefix, entry by entry, of the later unsynced ones (a torn
//     write keeps whole records before the tear). TruncateLogAfter, and the
//     emptying of the log by a truncation below its first entry, by an append
//     to a trimmed-empty log and by ReplaceState, are synced.
//   - Everything else (epochs, metadata, the applied-state records and
//     applied zxid, the log's trim point) is one ordered journal, as the
//     Store's LevelDB with its write-ahead log: a crash keeps a prefix of the
//     writes since the last synced one, and a synced write (the epoch
//     setters, PutMeta with sync, ReplaceState) makes every earlier write
//     durable too. So WriteStates survive as a prefix of their sequence, and
//     an unsynced PutMeta or trim may be lost unless a synced write followed.
//   - A trim whose point is lost brings back a suffix (possibly all, possibly
//     none) of the entries it hid, just below the first kept entry (the Store
//     deletes whole segments durably, so not all need come back): the log
//     stays contiguous. Every trim first makes the journal before it
//     durable (the state covering the trimmed entries), as the Store does;
//     the trim point itself is unsynced.
// Nothing ties the two: a state write may survive while log entries it
// applied are lost (the server's own order, log synced before state, is
// what prevents that; nothing here checks it).
//
// The journal holds at most `max_unsynced_writes` writes: older ones count
// as written back (by the kernel, or a LevelDB compaction), which bounds both
// what a crash can lose and the memory kept for it.
//
// node_count_hint() is the number of node records (the batches' node count
// hints are not visited by StateBatch::Visit, so they are not kept).
// log_damage() is always nullopt: no damage at rest is modelled.
//
// Thread-safe: one mutex guards everything. ReadLog and LoadState call their
// callbacks without holding it (LoadState from a copy taken under it;
// ReadLog reads the log up to where it ended when called, so appends and
// trims meanwhile never show it a gap).

#ifndef SYNOD_SIM_MEMORY_STORAGE_H_
#define SYNOD_SIM_MEMORY_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "sim/sim_network.h"
#include "storage/storage.h"
#include "synod/types.h"
#include "util/mutex.h"

namespace synod::sim {

class MemoryStorage final : public Storage {
 public:
  // How many unsynced journal writes a crash can lose by default.
  static constexpr size_t kDefaultMaxUnsyncedWrites = 256;

  // Creates an empty storage (as a Store opened in an empty directory).
  // REQUIRES: max_unsynced_writes >= 1.
  explicit MemoryStorage(
      size_t max_unsynced_writes = kDefaultMaxUnsyncedWrites);
  ~MemoryStorage() override;
  MemoryStorage(const MemoryStorage&) = delete;
  MemoryStorage& operator=(const MemoryStorage&) = delete;

  // ---- Storage (contracts in lib/storage/store.h).
  std::optional<LogDamage> log_damage() const override;
  int64_t accepted_epoch() const override;
  int64_t current_epoch() const override;
  absl::Status SetAcceptedEpoch(int64_t epoch) override;
  absl::Status SetCurrentEpoch(int64_t epoch) override;
  absl::StatusOr<std::string> GetMeta(std::string_view name) const override;
  absl::Status PutMeta(std::string_view name, std::string_view value,
                       bool sync) override;
  absl::Status AppendLog(absl::Span<const LogEntry> entries,
                         bool sync) override;
  absl::Status ReadLog(
      Zxid after,
      const std::function<bool(Zxid, std::string_view)>& fn) const override;
  absl::Status TruncateLogAfter(Zxid zxid) override;
  absl::Status TrimLogThrough(Zxid zxid) override;
  absl::Status WriteState(StateBatch* batch, Zxid applied) override;
  absl::Status ReplaceState(StateBatch* batch, Zxid applied) override;
  Zxid applied_zxid() const override;
  int64_t node_count_hint() const override;
  absl::Status LoadState(
      const std::function<absl::Status(std::string_view path,
                                       std::string_view record)>& on_node,
      const std::function<absl::Status(int64_t id, std::string_view record)>&
          on_session) const override;

  // Returns the zxid of the last entry in the log, or 0 if it is empty.
  Zxid last_logged_zxid() const;
  // Returns the zxid of the first entry in the log, or 0 if it is empty.
  Zxid first_logged_zxid() const;

  // ---- Faults.

  // Simulates a power loss: rolls everything back to a state the crash
  // model (file comment) allows, each choice drawn from `rng`, so the same
  // Rng state and history give the same result. What is left is durable
  // (a second crash keeps it all). Ends the failures FailNextWrites set.
  // REQUIRES: no server is using this storage (destroy it first).
  void Crash(Rng* rng);
  // Like Crash, choosing the most loss: no unsynced write survives, and
  // every entry an unsynced trim hid comes back.
  void CrashLosingAllUnsynced();

  // Makes the next `n` writes fail without changing anything: AppendLog
  // (of at least one entry, in order) with Unavailable, as the Store's
  // transient errors; every other mutation with Internal, as its I/O
  // errors (a failed WriteState or ReplaceState keeps its batch). Calls
  // refused for bad arguments and no-ops do not count. n <= 0: none.
  void FailNextWrites(int n);

 private:
  // The journal's contents: what the Store keeps in LevelDB.
  struct Records {
    int64_t accepted_epoch = 0;
    int64_t current_epoch = 0;
    std::map<std::string, std::string, std::less<>> meta;
    // std::string orders bytewise (unsigned), as LevelDB's keys.
    std::map<std::string, std::string, std::less<>> nodes;
    // Keyed by the id as unsigned: the order of the Store's big-endian keys.
    std::map<uint64_t, std::string> sessions;
    Zxid applied = 0;
    // Log entries at or below it are trimmed (m/log_trim).
    Zxid trim = 0;
  };
  // One change of a StateBatch.
  struct Change {
    enum class Kind {
      kPutNode,
      kDeleteNode,
      kPutSession,
      kDeleteSession,
      kPutMeta,  // `path` names it, `record` is its value
    };
    Kind kind;
    std::string path;
    int64_t id = 0;
    std::string record;
  };
  // One unsynced journal write.
  struct Write {
    enum class Kind { kState, kMeta, kTrim };
    Kind kind;
    std::vector<Change> changes;  // kState
    Zxid zxid = 0;                // kState: applied; kTrim: the trim point
    std::string name, value;      // kMeta
  };

  static absl::Status Decode(const StateBatch& batch,
                             std::vector<Change>* changes);
  static void ApplyChanges(std::vector<Change> changes, Records* to);
  static void ApplyWrite(Write write, Records* to);

  // Consumes an injected failure: true if this write must fail.
  bool Fail() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Journals `write` (applied to current_ by the caller), writing the oldest
  // back past the bound.
  void Journal(Write write) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes the oldest `n` journal writes durable.
  void WriteBack(size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes every log entry (durably, as LogFile::Clear).
  void ClearLog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // First and last entries above the trim point (end() if none).
  std::map<Zxid, std::string>::const_iterator FirstVisible() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Zxid LastVisible() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The crash: each choice from `rng`, or the most loss if it is null.
  void CrashWith(Rng* rng) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_unsynced_writes_;
  mutable Mutex mu_;
  // What a reader sees: durable_ with every journal write applied.
  Records current_ ABSL_GUARDED_BY(mu_);
  // What survives any crash.
  Records durable_ ABSL_GUARDED_BY(mu_);
  // The unsynced writes after durable_, oldest first.
  std::deque<Write> journal_ ABSL_GUARDED_BY(mu_);
  // Every log entry, including those at or below current_.trim that a crash
  // can bring back. Entries at or below durable_.trim are deleted.
  std::map<Zxid, std::string> log_ ABSL_GUARDED_BY(mu_);
  // Entries at or below it are durable (synced).
  Zxid log_synced_ ABSL_GUARDED_BY(mu_) = 0;
  // At least any trim point a crash could leave (durable_'s or a journaled
  // one), as Store's disk_trim_max: an append to an empty log at or below it
  // first resets the trim point, synced.
  Zxid disk_trim_max_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace synod::sim

#endif  // SYNOD_SIM_MEMORY_STORAGE_H_
