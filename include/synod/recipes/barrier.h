// File: synod/recipes/barrier.h
//
// A barrier that holds processes back until it is removed (Curator's
// DistributedBarrier), built on the public Coordinator API only. (For a
// fixed number of processes that start and finish together, see
// synod/recipes/double_barrier.h.)
//
//   synod::recipes::Barrier barrier(*coordinator, "/barriers/deploy");
//   barrier.Set();                        // one process closes it
//   ...
//   barrier.Wait(absl::Minutes(5));       // others wait for it to open
//   ...
//   barrier.Remove();                     // the first one opens it
//
// How it works (docs/recipes.md): the barrier is closed while its node
// exists. Wait watches the node (an exists watch, no polling) and returns
// once it is gone. The node is persistent: a barrier outlives the session
// of the process that set it, so a crash of that process does not open it.
//
// Never call Set, Remove or Wait from a watcher or callback of the same
// Coordinator: they wait for events that the dispatcher thread delivers.
// A Barrier object may be used from several threads at once.

#ifndef SYNOD_RECIPES_BARRIER_H_
#define SYNOD_RECIPES_BARRIER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class Barrier {
 public:
  // A barrier at the node `path` (its parents are created, as containers,
  // when Set needs them). `coordinator` must outlive the Barrier.
  Barrier(Coordinator& coordinator, std::string path);
  ~Barrier();

  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // Closes the barrier: creates its node. OK if it was already set (by
  // anyone). A lost connection is retried for up to 30 s (creating again
  // is safe: the node has a fixed name), then DeadlineExceeded; otherwise
  // the Coordinator's error (NoAuth, ...).
  absl::Status Set();

  // Opens the barrier: deletes its node. OK if it was not set. A lost
  // connection is retried for up to 30 s, then DeadlineExceeded.
  absl::Status Remove();

  // Waits until the barrier is open (its node absent), at most `timeout`:
  // OK, or DeadlineExceeded. It first syncs this peer with the leader
  // (retrying a lost connection within `timeout`), so it sees every Set
  // and Remove that completed anywhere before the call; then it watches
  // the node. An open barrier returns OK at once.
  absl::Status Wait(absl::Duration timeout = absl::InfiniteDuration());

  // True if the barrier's node exists in the local replica.
  bool IsSet() const;

 private:
  struct State;
  const std::unique_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_BARRIER_H_
