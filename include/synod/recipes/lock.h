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
// starts with a prefix unique to its acquisition, so a create whose outcome
// was lost with the connection is found again instead of being left in the
// queue. The holder's child is ephemeral: if its session ends (the process
// dies, or is cut off past its session timeout) the lock passes to the
// next waiter.
//
// A Lock is also each side of a ReadWriteLock (read_write_lock.h); a plain
// Lock over the same path as a ReadWriteLock acts as its writer.
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

class ReadWriteLock;

class Lock {
 public:
  // A lock over the node `path` (created, with its parents, as containers
  // when first needed). `coordinator` must outlive the Lock.
  Lock(Coordinator& coordinator, std::string path);
  // Releases every hold of this object (of any thread).
  // REQUIRES: no thread is in Acquire or Release of this object.
  ~Lock();

  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // Waits until the calling thread holds the lock, at most `timeout`. OK
  // once held; re-entrant: a thread that holds it gets it again at once,
  // and must Release as many times. Another thread using the same Lock
  // queues a node of its own and waits like any contender. DeadlineExceeded
  // when `timeout` passes first (nothing is left in the queue);
  // SessionExpired if the session ended while waiting (Closing if the
  // Coordinator shut down); FailedPrecondition at once for the write side
  // of a ReadWriteLock whose read side this thread holds (it would wait for
  // itself); the Coordinator's error otherwise.
  absl::Status Acquire(absl::Duration timeout = absl::InfiniteDuration());

  // Releases one hold of the calling thread; the last one deletes its node
  // (retrying a lost connection for up to 30 s; after that the node goes
  // with the session). FailedPrecondition if the calling thread does not
  // hold the lock.
  absl::Status Release();

  // True if a thread holds the lock through this object, the node of that
  // hold still exists in the local replica, owned by this Coordinator's
  // session, and the session lease is valid (Coordinator::
  // SessionLeaseValid): false once a session expiry took the node, and
  // already false before the ensemble may expire the session, when this
  // peer has been cut off or the process paused for most of the session
  // timeout. Check it right before each act on the guarded resource: it
  // turns false before another process can acquire the lock. (A pause
  // between the check and the act is still possible: a resource that must
  // refuse a stale holder needs a fencing token, LeaderElection's.)
  bool IsHeld() const;

  // True if the calling thread holds the lock through this object (what
  // Acquire and Release count; the replica is not asked).
  bool IsHeldByThisThread() const;

  // The path of the calling thread's node while it holds the lock; else of
  // another thread's hold through this object; else "".
  std::string node() const;

 private:
  friend class ReadWriteLock;
  // What a ReadWriteLock's sides are: a plain Lock is kExclusive, which
  // behaves as kWrite.
  enum class Mode { kExclusive, kRead, kWrite };
  // The side `mode` of a ReadWriteLock whose other side is `sibling`
  // (which may not be constructed yet; it must live as long as this).
  Lock(Coordinator& coordinator, std::string path, Mode mode,
       const Lock* sibling);

  struct State;
  const std::unique_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_LOCK_H_
