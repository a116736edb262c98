// Election: ZooKeeper's FastLeaderElection.lookForLeader, restated as a
// state machine driven by Receive and Tick.

#include "zab/election.h"

#include <algorithm>
#include <utility>

namespace synod::zab {

namespace {

// The view a peer takes from its founding voters and observers.
ElectionView FoundingView(const ElectionConfig& c) {
  ElectionView v;
  v.rule = QuorumRule(Quorum(c.voters));
  v.contacts = c.voters;
  v.contacts.insert(v.contacts.end(), c.observers.begin(), c.observers.end());
  v.role = v.rule.Contains(c.self) ? ElectionRole::kCandidate
                                   : ElectionRole::kBacker;
  return v;
}

}  // namespace

Election::Election(ElectionConfig config)
    : config_(std::move(config)), view_(FoundingView(config_)) {}

void Election::SetView(ElectionView view) {
  view_ = std::move(view);
  extra_contacts_.clear();
}

PeerState Election::state() const {
  if (!decided_) return PeerState::kLooking;
  if (result_.leader == config_.self) return PeerState::kLeading;
  return IsCandidate() ? PeerState::kFollowing : PeerState::kObserving;
}

void Election::Start(Zxid last_zxid, int64_t current_epoch) {
  ++round_;
  // Only a candidate backs itself; the others back whoever they hear of.
  own_ = IsCandidate() ? Vote{config_.self, last_zxid, current_epoch} : Vote{};
  proposal_ = own_;
  received_.clear();
  out_of_election_.clear();
  if (IsCandidate()) received_[config_.self] = Seen{proposal_, round_};
  finalize_left_ = 0;
  decided_ = false;
  result_ = ElectionResult{};
  resend_every_ = config_.resend_ticks;
  SendAll();
  // A one-voter ensemble is its own quorum.
  if (IsCandidate() && QuorumFor(proposal_)) Decide(proposal_);
}

void Election::Send(PeerId to) {
  if (to == config_.self) return;
  Message m;
  m.type = MessageType::kNotification;
  m.from = config_.self;
  m.to = to;
  m.vote = proposal_;
  m.round = round_;
  m.state = PeerState::kLooking;
  m.zxid = view_.config_version;
  outbox_.push_back(std::move(m));
}

void Election::SendAll() {
  since_send_ = 0;
  for (PeerId id : view_.contacts) Send(id);
  for (PeerId id : extra_contacts_) Send(id);
}

std::vector<PeerId> Election::Backers(const std::map<PeerId, Seen>& seen,
                                      const Vote& vote, int64_t round,
                                      bool leader_and_epoch_only) {
  std::vector<PeerId> backers;
  for (const auto& [id, s] : seen) {
    const bool same = leader_and_epoch_only
                          ? s.vote.leader == vote.leader && s.vote.epoch == vote.epoch
                          : s.vote == vote;
    if (same && (round < 0 || s.round == round)) backers.push_back(id);
  }
  return backers;
}

bool Election::LeaderConfirmed(const Vote& vote, int64_t round) const {
  if (vote.leader == config_.self) return IsCandidate() && round == round_;
  auto it = out_of_election_.find(vote.leader);
  return it != out_of_election_.end() && it->second.state == PeerState::kLeading;
}

bool Election::MayBack(const Vote& vote, Zxid sender_version) const {
  if (vote.leader == 0) return false;
  if (vote.leader == config_.self) return IsCandidate();
  // A candidate this peer's configuration lists; or one named by a peer
  // whose configuration is newer (and may list peers this one does not);
  // or one whose history reaches this peer's configuration entry. The last
  // is a voter that entry removed but that does not know the removal
  // committed: it may stand (rule M6), and once elected it commits its
  // removal and steps down. Peers that know the removal committed must
  // back it too, or the two camps could each wait forever for the other.
  return IsVoter(vote.leader) || sender_version > view_.config_version ||
         vote.zxid >= view_.config_version;
}

void Election::Receive(const Message& n) {
  if (decided_ || n.type != MessageType::kNotification || n.from == config_.self) {
    return;
  }
  if (n.state == PeerState::kLooking) {
    if (view_.role == ElectionRole::kListener) return;
    // A peer with an older configuration, not a voter of ours, is not heard.
    if (!IsVoter(n.from) && n.zxid <= view_.config_version) return;
    // A later round is joined whatever its vote: a backer that has heard of
    // no candidate yet still carries the round forward.
    const bool backable = MayBack(n.vote, n.zxid);
    if (n.round > round_) {
      round_ = n.round;
      received_.clear();
      proposal_ = backable && Better(n.vote, own_) ? n.vote : own_;
      finalize_left_ = 0;
      SendAll();
    } else if (n.round < round_) {
      return;  // a stale round; our resends will bring that peer along
    } else if (backable && Better(n.vote, proposal_)) {
      proposal_ = n.vote;
      finalize_left_ = 0;
      SendAll();
    }
    if (IsCandidate()) received_[config_.self] = Seen{proposal_, round_};
    received_[n.from] = Seen{n.vote, n.round};
    if (proposal_.leader != 0 && QuorumFor(proposal_)) {
      // Wait a little for a better vote before settling (finalizeWait).
      if (finalize_left_ == 0) finalize_left_ = config_.finalize_ticks;
      if (finalize_left_ == 0) Decide(proposal_);
    } else {
      finalize_left_ = 0;
    }
    return;
  }
  // A decided peer: following, leading, or observing (an observer with a
  // newer configuration can still point a new member at its leader).
  if (n.state != PeerState::kFollowing && n.state != PeerState::kLeading &&
      n.state != PeerState::kObserving) {
    return;
  }
  if (n.vote.leader == 0) return;
  if (n.zxid > view_.config_version) {
    // The peer has a newer configuration than ours: our voters may be gone,
    // so no count of them can be trusted. Follow its leader once that
    // leader says it leads; discovery decides whether we may.
    out_of_election_[n.from] = Seen{n.vote, n.round, n.state};
    if (LeaderConfirmed(n.vote, n.round)) {
      round_ = n.round;
      Decide(n.vote);
      return;
    }
    const PeerId leader = n.vote.leader;
    if (std::find(extra_contacts_.begin(), extra_contacts_.end(), leader) ==
        extra_contacts_.end()) {
      extra_contacts_.push_back(leader);
      Send(leader);  // so that it answers
    }
    return;
  }
  if (!IsVoter(n.from)) return;
  // The peer has decided. Join it if enough agree and the leader is real.
  // Enough is a majority of either configuration of a pending change: a
  // peer whose change was dropped elsewhere must still find the leader.
  out_of_election_[n.from] = Seen{n.vote, n.round, n.state};
  if (n.round == round_) {
    received_[n.from] = Seen{n.vote, n.round, n.state};
    if (view_.rule.IsMajorityOfEither(Backers(received_, n.vote, round_,
                                              /*leader_and_epoch_only=*/true)) &&
        LeaderConfirmed(n.vote, n.round)) {
      Decide(n.vote);
      return;
    }
  }
  std::vector<PeerId> backers = Backers(out_of_election_, n.vote, -1,
                                        /*leader_and_epoch_only=*/true);
  // This peer backs that leader itself: it counts too (as a looking peer's
  // own vote counts within a round). Otherwise a quorum that needs it,
  // whose others decided in different rounds, would never form.
  if (IsCandidate() && proposal_.leader == n.vote.leader &&
      proposal_.epoch == n.vote.epoch) {
    backers.push_back(config_.self);
  }
  if (view_.rule.IsMajorityOfEither(backers) &&
      LeaderConfirmed(n.vote, n.round)) {
    round_ = n.round;
    Decide(n.vote);
  }
}

void Election::Tick() {
  if (decided_) return;
  if (finalize_left_ > 0 && --finalize_left_ == 0) {
    if (QuorumFor(proposal_)) {
      Decide(proposal_);
      return;
    }
  }
  if (++since_send_ >= resend_every_) {
    SendAll();
    resend_every_ = std::min(resend_every_ * 2, config_.max_resend_ticks);
  }
}

void Election::Decide(const Vote& vote) {
  decided_ = true;
  finalize_left_ = 0;
  result_ = ElectionResult{vote.leader, round_, vote};
}

void Election::TakeMessages(std::vector<Message>* out) {
  for (Message& m : outbox_) out->push_back(std::move(m));
  outbox_.clear();
}

Message Election::Reply(PeerId self, PeerId to, PeerState state,
                        const ElectionResult& result, Zxid config_version) {
  Message m;
  m.type = MessageType::kNotification;
  m.from = self;
  m.to = to;
  m.vote = result.vote;
  m.round = result.round;
  m.state = state;
  m.zxid = config_version;
  return m;
}

}  // namespace synod::zab
