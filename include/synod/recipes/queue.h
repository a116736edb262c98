// File: synod/recipes/queue.h
//
// Distributed queues (Curator's DistributedQueue and
// DistributedPriorityQueue) that deliver each item exactly once, through
// lost connections and leader changes. Built on the public Coordinator API
// only.
//
//   synod::recipes::Queue jobs(*coordinator, "/queues/jobs");
//   jobs.Put("resize 17");
//   absl::StatusOr<std::string> job = jobs.Take(absl::Seconds(10));
//
//   synod::recipes::PriorityQueue urgent(*coordinator, "/queues/urgent");
//   urgent.Put("page the operator", /*priority=*/-10);  // before priority 0
//
// How it works (docs/recipes.md): each item is a persistent sequential
// child of `path` holding the item's bytes, so items survive restarts and
// the death of the process that put them; the sequence numbers order them.
// A put creates the item in one Multi with a write to a marker node of
// this queue object's own (under `path`/.ops); a take reads the first
// item, then deletes it (on its version) in one Multi with its marker
// write. The delete decides between takers: exactly one succeeds; the
// others move to the next item. When a put's or take's outcome is lost
// with the connection, the queue waits for a leader, Syncs, and reads its
// marker, which says whether the write applied: a put is never made twice,
// and a take that deleted an item but lost the reply still returns it.
// Takers wait for items on a watch of the children of `path` (one watch at
// a time per queue object), not by polling.
//
// A queue object is safe for concurrent use by many threads. Never call
// Put or Take from a watcher or callback of the same Coordinator: they
// wait for writes and watch events the dispatcher thread delivers. Do not
// mix a Queue and a PriorityQueue on the same path.

#ifndef SYNOD_RECIPES_QUEUE_H_
#define SYNOD_RECIPES_QUEUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {
namespace internal {
struct QueueState;  // the implementation, shared by both queues
}  // namespace internal

// A FIFO queue: items are taken in the order their puts applied.
class Queue {
 public:
  // The queue at the node `path`, created (persistent) by the first put or
  // take, its parents as containers. `coordinator` must outlive the Queue.
  Queue(Coordinator& coordinator, std::string path);
  // Deletes this queue object's markers (without waiting); the items
  // stay. REQUIRES: no call of this Queue in progress.
  ~Queue();

  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // Appends an item holding `data`, exactly once. OK once it is in the
  // queue; ConnectionLoss (kUnavailable) if no leader settled the put
  // within 30 s (then it may be in the queue, once at most); the
  // Coordinator's error otherwise (BadArguments for data over the size
  // limit, NoAuth, ...: nothing was put).
  absl::Status Put(std::string_view data);

  // Removes the first item and returns its data, waiting up to `timeout`
  // for one (zero: only what this peer's replica holds now). Each item is
  // returned by exactly one Take, among all processes. DeadlineExceeded if
  // none came (nothing was taken). Another error after the Take sent its
  // delete (ConnectionLoss when no leader settled it within 30 s) leaves
  // the item it may have taken with this queue object: its next Take
  // settles that first and returns the item if it was taken.
  absl::StatusOr<std::string> Take(absl::Duration timeout);

 private:
  const std::unique_ptr<internal::QueueState> state_;
};

// A priority queue: items with the lowest priority value first, and in
// the order their puts applied among equal priorities (Curator's order).
class PriorityQueue {
 public:
  // As Queue's.
  PriorityQueue(Coordinator& coordinator, std::string path);
  ~PriorityQueue();

  PriorityQueue(const PriorityQueue&) = delete;
  PriorityQueue& operator=(const PriorityQueue&) = delete;

  // Appends an item holding `data` at `priority` (any int32; lower is
  // taken first), exactly once. Errors as Queue::Put's.
  absl::Status Put(std::string_view data, int32_t priority);

  // Removes the item first in (priority, put order) and returns its data,
  // waiting up to `timeout`; as Queue::Take otherwise. An item put with a
  // lower priority while a Take waits is taken first if it is there when
  // the Take looks (a Take looks again on every change).
  absl::StatusOr<std::string> Take(absl::Duration timeout);

 private:
  const std::unique_ptr<internal::QueueState> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_QUEUE_H_
