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
  // The founding view, used until the first SetView: the voting peers
  // (self among them unless self is an observer) and the observers.
  std::vector<PeerId> voters;
  std::vector<PeerId> observers;
  // Ticks to wait, once a quorum agrees, for a better vote to arrive.
  int finalize_ticks = 2;
  // Ticks without a decision before notifications are sent again; doubles
  // on every resend up to max_resend_ticks.
  int resend_ticks = 4;
  int max_resend_ticks = 32;
};

// What this peer may do in an election.
enum class ElectionRole : uint8_t {
  // A voter of its own configuration: backs the best candidate it hears
  // of, itself included, and may lead.
  kCandidate,
  // Not a voter of its own configuration (an observer, or a peer whose
  // configuration is behind): backs the best candidate it hears of, never
  // itself. Its vote counts only at peers whose configuration makes it a
  // voter, as a newer configuration may.
  kBacker,
  // A peer recovering a damaged log: backs no one, only learns the outcome
  // (its word about its history is worth nothing).
  kListener,
};

// The election's view of the ensemble, taken from the peer's configuration
// before each round (docs/membership.md).
struct ElectionView {
  // Whose votes count, and how many are needed.
  QuorumRule rule{Quorum({})};
  // Every peer to notify: the rule's voters and the observers.
  std::vector<PeerId> contacts;
  // The version of the configuration (the zxid of the entry that set it).
  // Notifications carry it: a peer that hears of a newer configuration
  // knows its own voters may be gone.
  Zxid config_version = 0;
  ElectionRole role = ElectionRole::kCandidate;
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

  // Replaces the view (the configuration changed, or the peer's recovery
  // did); takes effect from the next Start. The round goes on counting.
  void SetView(ElectionView view);

  // Begins a new round: a candidate proposes itself with its last logged
  // zxid and current epoch, and a notification goes to every contact.
  void Start(Zxid last_zxid, int64_t current_epoch);

  // Handles a notification from another peer. Ignored once decided.
  //
  // A looking peer's vote counts when its sender is a voter of this peer's
  // rule. A decided peer's report makes this peer follow its leader once
  // that leader says it leads and either the decided backers hold a
  // majority of one of the rule's configurations, or the report comes with
  // a newer configuration than this peer's (whose voters may all be gone).
  // Neither is a safety decision: discovery is (zab/core).
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
  // election's round, with the version of its configuration.
  static Message Reply(PeerId self, PeerId to, PeerState state,
                       const ElectionResult& result, Zxid config_version);

 private:
  struct Seen {
    Vote vote;
    int64_t round = 0;
    PeerState state = PeerState::kLooking;
  };

  bool IsVoter(PeerId id) const { return view_.rule.Contains(id); }
  bool IsCandidate() const { return view_.role == ElectionRole::kCandidate; }
  // Returns true if this peer may back `vote`, heard from a peer whose
  // configuration has version `sender_version`.
  bool MayBack(const Vote& vote, Zxid sender_version) const;
  void Send(PeerId to);
  void SendAll();
  // Returns the peers in `seen` that back `vote` (in `round` when round >=
  // 0). Votes of peers that have decided are compared by leader and epoch
  // only, as ZooKeeper does since ZOOKEEPER-1732: their zxid is stale by
  // design.
  static std::vector<PeerId> Backers(const std::map<PeerId, Seen>& seen,
                                     const Vote& vote, int64_t round,
                                     bool leader_and_epoch_only);
  // Returns true if enough peers back `vote` in this round to settle on
  // it: a quorum of the rule to lead (the leader's discovery counts the
  // same), a majority of either configuration of a pending change to
  // follow (the leader's discovery decides whether that was right).
  bool QuorumFor(const Vote& vote) const {
    const std::vector<PeerId> backers =
        Backers(received_, vote, round_, false);
    return vote.leader == config_.self
               ? view_.rule.IsQuorum(backers)
               : view_.rule.IsMajorityOfEither(backers);
  }
  // ZooKeeper's checkLeader: a leader other than self must have said it
  // leads; self may lead only from the current round.
  bool LeaderConfirmed(const Vote& vote, int64_t round) const;
  void Decide(const Vote& vote);

  ElectionConfig config_;
  ElectionView view_;
  // Leaders named by peers of a newer configuration, notified too so that
  // they answer (this peer's configuration may not list them).
  std::vector<PeerId> extra_contacts_;
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
