// Election: ZooKeeper's FastLeaderElection.lookForLeader, restated as a
// state machine driven by Receive and Tick.

#include "zab/election.h"

#include <algorithm>
#include <utility>

namespace synod::zab {

Election::Election(ElectionConfig config)
    : config_(std::move(config)), quorum_(config_.voters) {}

bool Election::IsVoter(PeerId id) const { return quorum_.Contains(id); }

void Election::SetMembers(std::vector<PeerId> voters,
                          std::vector<PeerId> observers) {
  quorum_ = Quorum(voters);
  config_.voters = std::move(voters);
  config_.observers = std::move(observers);
}

PeerState Election::state() const {
  if (!decided_) return PeerState::kLooking;
  if (result_.leader == config_.self) return PeerState::kLeading;
  return IsObserver() ? PeerState::kObserving : PeerState::kFollowing;
}

void Election::Start(Zxid last_zxid, int64_t current_epoch) {
  ++round_;
  own_ = Vote{config_.self, last_zxid, current_epoch};
  // An observer backs no one; it only listens for the outcome.
  proposal_ = IsObserver() ? Vote{} : own_;
  received_.clear();
  out_of_election_.clear();
  if (!IsObserver()) received_[config_.self] = Seen{proposal_, round_};
  finalize_left_ = 0;
  decided_ = false;
  result_ = ElectionResult{};
  resend_every_ = config_.resend_ticks;
  SendAll();
  // A one-voter ensemble is its own quorum.
  if (!IsObserver() && QuorumFor(received_, proposal_, round_)) {
    Decide(proposal_);
  }
}

void Election::SendAll() {
  since_send_ = 0;
  auto send = [this](PeerId to) {
    if (to == config_.self) return;
    Message m;
    m.type = MessageType::kNotification;
    m.from = config_.self;
    m.to = to;
    m.vote = proposal_;
    m.round = round_;
    m.state = PeerState::kLooking;
    outbox_.push_back(std::move(m));
  };
  for (PeerId id : quorum_.voters()) send(id);
  for (PeerId id : config_.observers) send(id);
}

bool Election::QuorumFor(const std::map<PeerId, Seen>& seen, const Vote& vote,
                         int64_t round, bool leader_and_epoch_only) const {
  std::vector<PeerId> backers;
  for (const auto& [id, s] : seen) {
    const bool same = leader_and_epoch_only
                          ? s.vote.leader == vote.leader && s.vote.epoch == vote.epoch
                          : s.vote == vote;
    if (same && (round < 0 || s.round == round)) backers.push_back(id);
  }
  return quorum_.IsQuorum(backers);
}

bool Election::LeaderConfirmed(const Vote& vote, int64_t round) const {
  if (vote.leader == config_.self) return round == round_;
  auto it = out_of_election_.find(vote.leader);
  return it != out_of_election_.end() && it->second.state == PeerState::kLeading;
}

void Election::Receive(const Message& n) {
  if (decided_ || n.type != MessageType::kNotification || n.from == config_.self) {
    return;
  }
  if (n.state == PeerState::kLooking) {
    // Only voters' votes for voters count; observers just learn.
    if (IsObserver() || !IsVoter(n.from) || !IsVoter(n.vote.leader)) return;
    if (n.round > round_) {
      round_ = n.round;
      received_.clear();
      proposal_ = Better(n.vote, own_) ? n.vote : own_;
      finalize_left_ = 0;
      SendAll();
    } else if (n.round < round_) {
      return;  // a stale round; our resends will bring that peer along
    } else if (Better(n.vote, proposal_)) {
      proposal_ = n.vote;
      finalize_left_ = 0;
      SendAll();
    }
    received_[config_.self] = Seen{proposal_, round_};
    received_[n.from] = Seen{n.vote, n.round};
    if (QuorumFor(received_, proposal_, round_)) {
      // Wait a little for a better vote before settling (finalizeWait).
      if (finalize_left_ == 0) finalize_left_ = config_.finalize_ticks;
      if (finalize_left_ == 0) Decide(proposal_);
    } else {
      finalize_left_ = 0;
    }
    return;
  }
  if (n.state != PeerState::kFollowing && n.state != PeerState::kLeading) return;
  if (!IsVoter(n.from)) return;
  // The peer has decided. Join it if a quorum agrees and the leader is real.
  out_of_election_[n.from] = Seen{n.vote, n.round, n.state};
  if (n.round == round_) {
    received_[n.from] = Seen{n.vote, n.round, n.state};
    if (QuorumFor(received_, n.vote, round_, /*leader_and_epoch_only=*/true) &&
        LeaderConfirmed(n.vote, n.round)) {
      Decide(n.vote);
      return;
    }
  }
  if (QuorumFor(out_of_election_, n.vote, -1, /*leader_and_epoch_only=*/true) &&
      LeaderConfirmed(n.vote, n.round)) {
    round_ = n.round;
    Decide(n.vote);
  }
}

void Election::Tick() {
  if (decided_) return;
  if (finalize_left_ > 0 && --finalize_left_ == 0) {
    if (QuorumFor(received_, proposal_, round_)) {
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
                        const ElectionResult& result) {
  Message m;
  m.type = MessageType::kNotification;
  m.from = self;
  m.to = to;
  m.vote = result.vote;
  m.round = result.round;
  m.state = state;
  return m;
}

}  // namespace synod::zab
