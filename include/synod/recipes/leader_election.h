// File: synod/recipes/leader_election.h
//
// Leader election among the processes of an ensemble (Curator's
// LeaderLatch, with a fencing token), built on the public Coordinator API
// only.
//
//   synod::recipes::LeaderElection election(*coordinator, "/election/jobs",
//                                            "worker-7", [](bool leading) {
//     // gained (true) or lost (false) leadership; on the dispatcher thread
//   });
//   election.Start();
//   if (election.AwaitLeadership(absl::Seconds(30)).ok()) {
//     int64_t token = *election.FencingToken();  // pass to what it guards
//   }
//
// How it works (docs/recipes.md): each participant queues an ephemeral
// sequential node holding its id; the first in sequence order leads. Each
// participant watches only the node before its own. A leader stops leading
// (IsLeader false, the listener told) as soon as its Coordinator reports
// Disconnected: another can be elected only after the leader's session
// expires on the ensemble, which takes the session timeout, while the
// Disconnected event comes when the peer stops hearing a leader, well
// before. When the session is back (Connected) and its node is still first,
// it leads again, with the same token. If instead the session expired
// (its node is gone), the participant joins again by itself once the
// Coordinator's new session is connected, at the back of the queue, as
// Curator's LeaderLatch does. The fencing token is the creation
// zxid of the leader's node: every later leadership has a greater one, so
// a resource that remembers the greatest token it has seen can refuse a
// deposed leader that does not yet know it.
//
// Listeners run on the Coordinator's dispatcher thread, one at a time and in
// order; they must not block. Never call Start, Resign or AwaitLeadership
// from a watcher or callback of the same Coordinator.

#ifndef SYNOD_RECIPES_LEADER_ELECTION_H_
#define SYNOD_RECIPES_LEADER_ELECTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class LeaderElection {
 public:
  // Called with true on every gain of leadership and false on every loss.
  using Listener = std::function<void(bool leading)>;

  // A participant `id` (any bytes; CurrentLeader reports it) in the
  // election at `path` (created with its parents, as containers, when
  // needed). `coordinator` must outlive it.
  LeaderElection(Coordinator& coordinator, std::string path, std::string id,
                 Listener listener = nullptr);
  // Resigns; a leader's listener hears the loss before it returns (on the
  // destroying thread if no Check is under way). Waits for a listener
  // call in progress on the dispatcher, unless called from it.
  ~LeaderElection();

  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  // Joins the election: returns once this participant is queued (up to
  // 30 s through a lost connection). Leadership comes later, through the
  // listener and AwaitLeadership. FailedPrecondition if already started.
  absl::Status Start();

  // True while this participant leads: its node is first, its session
  // connected, and its session lease valid (Coordinator::
  // SessionLeaseValid), so false before another participant can be
  // elected, even in a process that was paused: check it right before
  // each act as leader (and pass FencingToken for a pause between the
  // check and the act).
  bool IsLeader() const;

  // Waits until this participant leads, at most `timeout`: OK, or
  // DeadlineExceeded; FailedPrecondition if it is not in the election (not
  // started, resigned, or it could not join again for minutes after its
  // session expired).
  absl::Status AwaitLeadership(absl::Duration timeout);

  // Returns the id of the participant whose node is first (from the local
  // replica), or NoNode if nobody takes part.
  absl::StatusOr<std::string> CurrentLeader();

  // The fencing token of this participant's leadership: the creation zxid
  // of its node. FailedPrecondition when it does not lead.
  absl::StatusOr<int64_t> FencingToken() const;

  // Leaves the election (deleting its node; retried for up to 30 s through
  // a lost connection); the listener hears the loss if it led. Start may
  // be called again after. OK if it was not in the election.
  absl::Status Resign();

 private:
  struct State;
  const std::shared_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_LEADER_ELECTION_H_
