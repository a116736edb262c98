// File: synod/recipes/double_barrier.h
//
// A double barrier (ZooKeeper's recipe, Curator's DistributedDoubleBarrier):
// `count` participants start a computation together and finish it
// together. Built on the public Coordinator API only.
//
//   synod::recipes::DoubleBarrier barrier(*coordinator, "/barriers/step",
//                                         /*count=*/3, "worker-2");
//   if (barrier.Enter(absl::Minutes(1)).ok()) {   // all 3 are in
//     ... the computation ...
//     barrier.Leave(absl::Minutes(1));            // all 3 are out
//   }
//
// How it works (docs/recipes.md): each participant creates the ephemeral
// node `path`/`id`, empty while it waits. The participant that finds
// `count` or more waiting nodes opens the barrier for them in one atomic
// Multi: it marks every waiting node with the same round token (each Set
// checks the node's version, so a participant that gave up in between
// makes the Multi fail and the count is taken again). A participant has
// entered once its own node carries a token; it waits for that with a data
// watch on its own node (no polling). The marks play the part of Curator's
// "ready" node: a participant whose node was counted enters even if it
// looks only after the others have started leaving, and since the marks
// are on ephemeral nodes, nothing stale is left when a round's processes
// die. To leave, a participant deletes its node and waits until no node
// marked with its round's token remains.
//
// Participants whose node is created after a round opened wait for the
// next round (Curator lets them through at once): a round is exactly the
// participants counted when it opened, so leaving never waits for a
// newcomer and a newcomer never sees a round that is half gone.
//
// A DoubleBarrier object is one participant: give each its own (and its
// own id). Its calls must not run concurrently with each other. Never call
// Enter or Leave from a watcher or callback of the same Coordinator: the
// waits need the dispatcher thread that runs them.

#ifndef SYNOD_RECIPES_DOUBLE_BARRIER_H_
#define SYNOD_RECIPES_DOUBLE_BARRIER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class DoubleBarrier {
 public:
  // Participant `id` (a node name: non-empty, no '/') of the double barrier
  // at `path` (created with its parents, as containers, when needed) for
  // `count` (>= 1) participants. `coordinator` must outlive it.
  DoubleBarrier(Coordinator& coordinator, std::string path, int count,
                std::string id);
  // Leaves the barrier if it is inside (deleting its node; it does not wait
  // for the others).
  ~DoubleBarrier();

  DoubleBarrier(const DoubleBarrier&) = delete;
  DoubleBarrier& operator=(const DoubleBarrier&) = delete;

  // Enters: returns OK once at least `count` participants, this one among
  // them, have entered together; none returns OK before. Errors:
  //  - DeadlineExceeded when `timeout` passes first. The node is deleted
  //    before it returns, atomically with respect to the opening: either
  //    the barrier did not open with this participant (nothing is left of
  //    it, and the others still wait for `count`) or it did, and Enter
  //    returns OK instead, even at the very end of the timeout.
  //  - AlreadyExists if another live participant uses `id` (a node of
  //    another session holds the name).
  //  - SessionExpired if the session ended while waiting, or while a
  //    create whose outcome was lost was being settled (its node, if made,
  //    went with it; Enter may be called again).
  //  - FailedPrecondition if already entered; InvalidArgument for a bad
  //    id or count; the Coordinator's error otherwise.
  // A lost connection is retried within `timeout`: a create whose outcome
  // is unknown is settled (Sync, then the node's owner tells), never left
  // behind as an unknown participant.
  absl::Status Enter(absl::Duration timeout = absl::InfiniteDuration());

  // Leaves: deletes this participant's node (retrying a lost connection
  // for up to 30 s) and returns OK once every participant of its round has
  // left (deleted its node, or its session ended); none returns OK before.
  // DeadlineExceeded when `timeout` passes first: this participant has left
  // all the same (its node is gone), the others have not all left yet.
  // FailedPrecondition if it has not entered.
  absl::Status Leave(absl::Duration timeout = absl::InfiniteDuration());

  // True between a successful Enter and the next Leave.
  bool entered() const;

 private:
  struct State;
  const std::unique_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_DOUBLE_BARRIER_H_
