// File: synod/recipes/lock.h
//
// An exclusive lock shared by every process of an ensemble (Curator's
// InterProcessMutex), built on the public Coordinator API only.
//
//   synod::recipes::Lock lock(*coordinator, "/locks/report");
//   if (lock.Acquire(absl::Seconds(10)).ok()) {
//     ... the critical section ...
//     lock.Release();
//   }
//
// How it works (docs/recipes.md): each contender creates an ephemeral
// sequential child of `path` and holds the lock while its child comes first
// in sequence order. A waiter watches only the child just before its own,
// so a release wakes one waiter, not all of them (no herd effect), and the
// lock goes to waiters in the order they asked (FIFO). A child's name
// starts with a prefix unique to its Lock, so a create whose outcome was
// lost with the connection is found again instead of being left in the
// queue. The holder's child is ephemeral: if its session ends (the process
// dies, or is cut off past its session timeout) the lock passes to the
// next waiter.
//
// Never call Acquire or Release from a watcher or callback of the same
// Coordinator: the wait needs the dispatcher thread that runs them.

#ifndef SYNOD_RECIPES_LOCK_H_
#define SYNOD_RECIPES_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class Lock {
 public:
  // A lock over the node `path` (created, with its parents, as containers
  // when first needed). `coordinator` must outlive the Lock.
  Lock(Coordinator& coordinator, std::string path);
  // Releases the lock if this object holds it.
  ~Lock();

  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // Waits until this process holds the lock, at most `timeout`. OK once
  // held; re-entrant: a thread that holds it gets it again at once, and
  // must Release as many times. Another thread using the same Lock waits
  // for it like any contender. DeadlineExceeded when `timeout` passes first
  // (nothing is left in the queue); SessionExpired if the session ended
  // while waiting; the Coordinator's error otherwise.
  absl::Status Acquire(absl::Duration timeout = absl::InfiniteDuration());

  // Releases one hold of the calling thread; the last one deletes this
  // process's node (retrying a lost connection for up to 30 s; after that
  // the node goes with the session). FailedPrecondition if the calling
  // thread does not hold the lock.
  absl::Status Release();

  // True if this object holds the lock and its node still exists in the
  // local replica, owned by this Coordinator's session: false once a
  // session expiry took it. (While the peer is cut off from the ensemble
  // the replica cannot know; treat a Disconnected session event as a
  // possible loss, as with any ZooKeeper lock.)
  bool IsHeld() const;

  // The path of this holder's node while the lock is held, else "".
  std::string node() const;

 private:
  struct State;
  const std::unique_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_LOCK_H_
