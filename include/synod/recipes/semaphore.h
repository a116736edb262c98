// File: synod/recipes/semaphore.h
//
// A counting semaphore shared by every process of an ensemble (Curator's
// InterProcessSemaphoreV2), built on the public Coordinator API only: at
// most `permits` leases are held at once.
//
//   synod::recipes::Semaphore slots(*coordinator, "/semaphores/db", 4);
//   absl::StatusOr<synod::recipes::Semaphore::Lease> lease =
//       slots.Acquire(absl::Seconds(10));
//   if (lease.ok()) {
//     ... use one of the 4 slots; the lease is released when destroyed ...
//   }
//
// How it works (docs/recipes.md): a lease is an ephemeral sequential child
// of `path`/leases, and it is held while it is among the first `permits`
// leases in sequence order (a lease only ever moves forward, so a held one
// stays held). Acquirers take turns through a Lock over `path`/locks
// (FIFO, one waiter woken per release): the turn's owner queues its lease
// and, while the lease is not among the first `permits`, waits on one child
// watch of the leases; then it passes the turn on. So the leases go in the
// order acquirers asked, and a released lease wakes one acquirer, not all.
// Leases are ephemeral: one whose session ends (the process dies, or is cut
// off past its session timeout) frees its permit.
//
// The number of permits is each participant's own argument, as in
// Curator, where all must agree: a participant holds while its lease is
// among the first `permits` of ITS OWN value, so the holders at once never
// exceed the largest `permits` any participant passes, and one with a
// smaller value waits for a place within it.
//
// Never call Acquire, or release a lease (Release, destruction, move
// assignment), from a watcher or callback of the same Coordinator: they
// wait for writes and events that the dispatcher thread running them
// delivers.

#ifndef SYNOD_RECIPES_SEMAPHORE_H_
#define SYNOD_RECIPES_SEMAPHORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class Semaphore {
 public:
  // One permit, held from Acquire until Release or destruction. Movable,
  // not copyable. The Coordinator must outlive it; the Semaphore need not.
  class Lease {
   public:
    // An empty lease (holds nothing).
    Lease() = default;
    // Releases the lease if it still holds one.
    ~Lease();
    Lease(Lease&& other) noexcept;
    // Releases this lease's permit (if any), then takes `other`'s.
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    // Deletes the lease's node (retrying a lost connection for up to 30 s;
    // after that the node goes with the session) and empties the lease.
    // FailedPrecondition if it is empty (released, or moved from).
    absl::Status Release();

    // True if the lease's node still exists in the local replica, owned by
    // this Coordinator's session, and the session lease is valid
    // (Coordinator::SessionLeaseValid): false once released, once a
    // session expiry took it, and already before the ensemble may expire
    // the session (this peer cut off, or the process paused, for most of
    // the session timeout).
    bool IsHeld() const;

    // The path of the lease's node; "" when empty.
    const std::string& node() const { return node_; }

   private:
    friend class Semaphore;
    Lease(Coordinator* coordinator, std::string node);

    Coordinator* coordinator_ = nullptr;
    std::string node_;
  };

  // A semaphore of `permits` over the node `path` (its children "locks"
  // and "leases" created, with their parents, as containers when first
  // needed). `coordinator` must outlive it.
  Semaphore(Coordinator& coordinator, std::string path, int permits);
  ~Semaphore();

  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Waits until this process holds a lease, at most `timeout`; acquirers
  // get leases in the order they asked (FIFO, across processes and across
  // threads of one Semaphore). DeadlineExceeded when `timeout` passes first
  // (nothing is left behind); InvalidArgument if `permits` < 1;
  // SessionExpired if the session ended while waiting; the Coordinator's
  // error otherwise.
  absl::StatusOr<Lease> Acquire(
      absl::Duration timeout = absl::InfiniteDuration());

  // As Acquire, for `n` leases at once: all of them or none (those taken
  // are released on failure). The acquirer keeps its turn until it has all
  // `n`, so two acquirers never each hold part of what they need.
  // InvalidArgument unless 1 <= n <= permits.
  absl::StatusOr<std::vector<Lease>> Acquire(int n, absl::Duration timeout);

 private:
  struct State;
  const std::unique_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_SEMAPHORE_H_
