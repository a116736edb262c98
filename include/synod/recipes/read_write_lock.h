// File: synod/recipes/read_write_lock.h
//
// A read-write lock shared by every process of an ensemble (Curator's
// InterProcessReadWriteLock), built on the public Coordinator API only:
// any number of readers at once, or one writer.
//
//   synod::recipes::ReadWriteLock rw(*coordinator, "/locks/catalog");
//   if (rw.ReadLock().Acquire(absl::Seconds(10)).ok()) {
//     ... read ...
//     rw.ReadLock().Release();
//   }
//
// How it works (docs/recipes.md): readers and writers queue in one queue of
// ephemeral sequential children of `path`. A writer holds when it is first;
// a reader holds when no writer is before it. So the lock is fair (FIFO): a
// waiting writer keeps out the readers that queue after it, and no writer
// starves. No herd: a writer watches only the node before its own, a
// reader only the last writer before it, so a release wakes just the
// contenders it lets in.
//
// Re-entrancy, as Curator's: each side is re-entrant for the thread that
// holds it. The thread that holds the write side may take the read side
// too (at once), and so downgrade: acquire read, then release write; the
// read hold then keeps every writer out, even one queued before it. A
// thread that holds the read side may NOT take the write side: it would
// wait for itself, so Acquire refuses it at once with FailedPrecondition.
// (Only holds through this object are known: a thread holding another
// ReadWriteLock's read side over the same path would wait for itself.)
//
// Several threads may use one ReadWriteLock: each queues a node of its own,
// so readers in different threads of one process overlap.
//
// Never call Acquire or Release from a watcher or callback of the same
// Coordinator: the wait needs the dispatcher thread that runs them.

#ifndef SYNOD_RECIPES_READ_WRITE_LOCK_H_
#define SYNOD_RECIPES_READ_WRITE_LOCK_H_

#include <string>

#include "synod/coordinator.h"
#include "synod/recipes/lock.h"

namespace synod::recipes {

class ReadWriteLock {
 public:
  // A read-write lock over the node `path` (created, with its parents, as
  // containers when first needed). `coordinator` must outlive it. A plain
  // Lock over the same path counts as a writer.
  ReadWriteLock(Coordinator& coordinator, std::string path);
  // Releases every hold of both sides.
  // REQUIRES: no thread is in Acquire or Release of either side.
  ~ReadWriteLock();

  ReadWriteLock(const ReadWriteLock&) = delete;
  ReadWriteLock& operator=(const ReadWriteLock&) = delete;

  // The read side: shared with other readers, excluded by a writer. Its
  // Acquire, Release, IsHeld and node are Lock's (lock.h); Acquire by the
  // thread that holds the write side succeeds at once.
  Lock& ReadLock() { return read_; }

  // The write side: excludes readers and writers. Its calls are Lock's
  // (lock.h); Acquire by a thread that holds the read side (and not the
  // write side) fails at once with FailedPrecondition.
  Lock& WriteLock() { return write_; }

 private:
  Lock read_;
  Lock write_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_READ_WRITE_LOCK_H_
