// Checkpointer: when the applied state is written to the store, which of
// its records, and how far the txn log may be trimmed.
//
// The store holds the applied state (znode and session records and the
// zxid they are at: the checkpoint) and the txn log after it. Applying txns
// changes records in memory only; the Checkpointer remembers which, and
// now and then (Due) they are written, each once however often it changed,
// with the next log write. Between checkpoints the log, synced before any
// write is acknowledged, replays what a crash lost. The log keeps at least
// the last `log_retention` entries (DIFFs to lagging learners) and every
// entry above the checkpoint; older ones are trimmed with the next write.
//
// Pure and deterministic: no clock (times are the caller's monotonic
// milliseconds), no I/O, not thread-safe (the host's loop owns it).

#ifndef SYNOD_SERVER_CHECKPOINTER_H_
#define SYNOD_SERVER_CHECKPOINTER_H_

#include <cstddef>
#include <cstdint>
#include <deque>

#include "absl/container/flat_hash_set.h"
#include "synod/types.h"
#include "util/strings.h"

namespace synod::server {

struct CheckpointPolicy {
  // Entries the log keeps below the checkpoint (Options::log_retention).
  int64_t log_retention = 100000;
  // A checkpoint is due once this many records changed...
  size_t max_records = 4096;
  // ...or this many txns were applied (at most log_retention, so the log
  // keeps about that many)...
  int64_t max_txns = 20000;
  // ...or the host is idle and the last checkpoint is this old.
  int64_t idle_gap_ms = 1000;
};

class Checkpointer {
 public:
  // Starts with the store's state at `checkpoint_zxid`, nothing changed
  // since, and the last checkpoint taken at `now_ms`.
  Checkpointer(CheckpointPolicy policy, Zxid checkpoint_zxid, int64_t now_ms);

  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Notes an entry written to the log (or found there at start), in zxid
  // order.
  void Logged(Zxid zxid);
  // Notes that the log's entries after `zxid` were dropped.
  void Truncated(Zxid zxid);
  // Notes that the store's state was replaced whole by a snapshot at
  // `zxid` (and its log emptied): nothing is unsaved or logged.
  void SnapshotStored(Zxid zxid);
  // Notes `txns` applied txns that changed `nodes` and `sessions` (moved
  // from; duplicates of records already unsaved are dropped).
  void Changed(StrSet* nodes, absl::flat_hash_set<int64_t>* sessions,
               int64_t txns);

  // Returns true if the applied state (at `applied`) should be written
  // now: it is ahead of the checkpoint, and the host is `idle` (nothing to
  // log or in flight) with the last checkpoint idle_gap_ms old, or enough
  // records or txns piled up.
  bool Due(Zxid applied, bool idle, int64_t now_ms) const;
  // Returns true if the applied state at `applied` is ahead of the store's.
  bool Behind(Zxid applied) const { return applied > checkpoint_zxid_; }

  // Takes a checkpoint at `applied`: moves the unsaved records to `nodes`
  // and `sessions` (the caller writes each as the tree has it now, or its
  // deletion) and records `applied` as the checkpoint.
  void Take(Zxid applied, int64_t now_ms, StrSet* nodes,
            absl::flat_hash_set<int64_t>* sessions);

  // Returns the zxid through which the log may be trimmed now (0: none):
  // the entries beyond the newest log_retention, at or below the
  // checkpoint. They are forgotten here.
  Zxid TakeTrim();

  Zxid checkpoint_zxid() const { return checkpoint_zxid_; }
  size_t unsaved_records() const {
    return unsaved_nodes_.size() + unsaved_sessions_.size();
  }
  int64_t unsaved_txns() const { return unsaved_txns_; }
  size_t logged() const { return logged_.size(); }

 private:
  const CheckpointPolicy policy_;
  StrSet unsaved_nodes_;
  absl::flat_hash_set<int64_t> unsaved_sessions_;
  int64_t unsaved_txns_ = 0;
  Zxid checkpoint_zxid_;
  int64_t last_checkpoint_ms_;
  std::deque<Zxid> logged_;  // the log's zxids, oldest first
};

}  // namespace synod::server

#endif  // SYNOD_SERVER_CHECKPOINTER_H_
