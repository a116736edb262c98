// Fast leader election (ZooKeeper's FLE) as a pure state machine: no clock,
// no sockets. The caller feeds it notifications and ticks and sends what it
// queues.
//
// Election alone does not make a leader safe: two peers may decide
// differently under message loss. Safety comes from discovery, where a leader
// needs a quorum of followers to accept its new epoch (zab/core). Election
// only has to converge quickly once messages flow.

#ifndef SYNOD_ZAB_ELECTION_H_
#define SYNOD_ZAB_ELECTION_H_

#include <cstdint>
#include <map>
#include <vector>

#include "zab/message.h"
#include "zab/quorum.h"

namespace synod::zab {

struct ElectionConfig {
  PeerId self = 0;
  // The voting peers (self among them unless self is an observer) and the
  // observers. Observers hear the outcome but never vote or count.
  std::vector<PeerId> voters;
  std::vector<PeerId> observers;
  // Ticks to wait, once a quorum agrees, for a better vote to arrive.
  int finalize_ticks = 2;
  // Ticks without a decision before notifications are sent again; doubles
  // on every resend up to max_resend_ticks.
  int resend_ticks = 4;
  int max_resend_ticks = 32;
};

// The outcome of an election.
struct ElectionResult {
  PeerId leader = 0;
  int64_t round = 0;
  Vote vote;
};

class Election {
 public:
  explicit Election(ElectionConfig config);

  // Replaces the voters and observers (the configuration changed); takes
  // effect from the next Start. The round goes on counting.
  void SetMembers(std::vector<PeerId> voters, std::vector<PeerId> observers);

  // Begins a new round: this peer proposes itself (a voter) with its last
  // logged zxid and current epoch, and queues a notification to every
  // other peer.
  void Start(Zxid last_zxid, int64_t current_epoch);

  // Handles a notification from another peer. Ignored once decided.
  void Receive(const Message& notification);

  // Advances time by one tick: finalizes a decision whose wait is over,
  // resends when nothing was decided for a while.
  void Tick();

  // Returns true once this peer knows the leader.
  bool decided() const { return decided_; }
  // REQUIRES: decided().
  const ElectionResult& result() const { return result_; }
  // Returns what this peer is after deciding: leading, following or
  // observing; looking before.
  PeerState state() const;
  // Returns the current round.
  int64_t round() const { return round_; }

  // Moves the queued messages to the end of `out`.
  void TakeMessages(std::vector<Message>* out);

  // Returns the answer a peer that is no longer looking gives a looking
  // peer: its state and the vote of the leader it follows, in that
  // election's round.
  static Message Reply(PeerId self, PeerId to, PeerState state,
                       const ElectionResult& result);

 private:
  struct Seen {
    Vote vote;
    int64_t round = 0;
    PeerState state = PeerState::kLooking;
  };

  bool IsVoter(PeerId id) const;
  bool IsObserver() const { return !IsVoter(config_.self); }
  void SendAll();
  // Returns true if a quorum of voters in `seen` back `vote` (in `round`
  // when round >= 0). Votes of peers that have decided are compared by
  // leader and epoch only, as ZooKeeper does since ZOOKEEPER-1732: their
  // zxid is stale by design.
  bool QuorumFor(const std::map<PeerId, Seen>& seen, const Vote& vote,
                 int64_t round, bool leader_and_epoch_only = false) const;
  // ZooKeeper's checkLeader: a leader other than self must have said it
  // leads; self may lead only from the current round.
  bool LeaderConfirmed(const Vote& vote, int64_t round) const;
  void Decide(const Vote& vote);

  ElectionConfig config_;
  Quorum quorum_;
  int64_t round_ = 0;
  Vote own_;       // this peer's own candidacy
  Vote proposal_;  // the vote this peer currently backs
  std::map<PeerId, Seen> received_;         // looking peers, this round
  std::map<PeerId, Seen> out_of_election_;  // peers that have decided
  int finalize_left_ = 0;  // > 0: counting down to a decision
  int since_send_ = 0;
  int resend_every_ = 0;
  bool decided_ = false;
  ElectionResult result_;
  std::vector<Message> outbox_;
};

}  // namespace synod::zab

#endif  // SYNOD_ZAB_ELECTION_H_
