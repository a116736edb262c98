// File: synod/recipes/counter.h
//
// A 64-bit counter shared by every process of an ensemble (Curator's
// DistributedAtomicLong), exact through lost connections: an add whose
// outcome was lost with a leader is counted once, never twice, never not
// at all. Built on the public Coordinator API only.
//
//   synod::recipes::Counter hits(*coordinator, "/counters/hits");
//   absl::StatusOr<int64_t> now = hits.Add(1);  // the value after this add
//
// How it works (docs/recipes.md): the counter's node holds its value as
// decimal text ("42", readable with any ZooKeeper client). An add reads
// the value and its version locally and writes the new value on that
// version, in one Multi with a write to a marker node of this Counter's
// own (under `path`/.ops) recording the op. On a version race it reads
// again and retries. When the outcome is unknown (ConnectionLoss: the
// write may or may not have applied), it waits for a leader, Syncs, and
// reads its marker, which says whether the add applied; only if it did not
// is it tried again. Markers are persistent TTL nodes: the Counter deletes
// them when destroyed, and the ensemble deletes those of a dead process
// 10 minutes after their last use.
//
// A Counter is safe for concurrent use by many threads. Never call it from
// a watcher or callback of the same Coordinator: its calls wait for writes
// the dispatcher thread completes.

#ifndef SYNOD_RECIPES_COUNTER_H_
#define SYNOD_RECIPES_COUNTER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class Counter {
 public:
  // The counter at the node `path`, created (persistent, holding "0") by
  // the first add or set, its parents as containers. `coordinator` must
  // outlive the Counter.
  Counter(Coordinator& coordinator, std::string path);
  // Deletes this Counter's markers (without waiting).
  // REQUIRES: no call of this Counter in progress.
  ~Counter();

  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `delta` (negative subtracts) and returns the value right after
  // this add, exactly once: values returned by adds of delta 1 are
  // distinct, whoever made them. OutOfRange if the sum would overflow
  // int64 (nothing changes); FailedPrecondition if the node holds
  // something other than a decimal int64; ConnectionLoss (kUnavailable) if
  // no leader settled the add within 30 s: then it may have applied, once
  // at most. Other errors (NoAuth, ...): nothing changed.
  absl::StatusOr<int64_t> Add(int64_t delta);

  // Returns the value as this peer's replica has it (0 if the node does
  // not exist yet): at least as new as every add and CompareAndSet this
  // Coordinator completed, possibly older than others' (Sync the path
  // first for the ensemble's latest). FailedPrecondition as Add.
  absl::StatusOr<int64_t> Get();

  // Sets the counter to `value` if it holds `expected`, exactly once:
  // true if it did, false if the value differed (checked after a Sync, so
  // never on a stale replica). A concurrent change that leaves the value
  // at `expected` (another set, add and subtract) does not make it fail:
  // it retries. Errors as Add's.
  absl::StatusOr<bool> CompareAndSet(int64_t expected, int64_t value);

 private:
  struct State;
  const std::unique_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_COUNTER_H_
