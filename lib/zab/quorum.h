// Majority quorums: over one voting set (Quorum), and the rule a peer
// counts with while its configuration changes (QuorumRule,
// docs/membership.md).

#ifndef SYNOD_ZAB_QUORUM_H_
#define SYNOD_ZAB_QUORUM_H_

#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "zab/message.h"

namespace synod::zab {

class Quorum {
 public:
  // `voters` need not be sorted; duplicates are ignored.
  explicit Quorum(std::vector<PeerId> voters) : voters_(std::move(voters)) {
    std::sort(voters_.begin(), voters_.end());
    voters_.erase(std::unique(voters_.begin(), voters_.end()), voters_.end());
  }

  // Returns true if `id` votes.
  bool Contains(PeerId id) const {
    return std::binary_search(voters_.begin(), voters_.end(), id);
  }

  // Returns the smallest number of voters that is a majority.
  size_t size() const { return voters_.size() / 2 + 1; }

  // Returns true if the voters among `ids` (duplicates counted once) are a
  // majority.
  template <typename Range>
  bool IsQuorum(const Range& ids) const {
    std::vector<PeerId> seen;
    for (PeerId id : ids) {
      if (Contains(id)) seen.push_back(id);
    }
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    return seen.size() >= size();
  }

  const std::vector<PeerId>& voters() const { return voters_; }

  // Returns the highest zxid that a majority acked: the size()-th largest
  // of the voters' acks (`ack` gives a voter's highest acked zxid, 0 for
  // none; acks are cumulative).
  template <typename AckOf>
  Zxid CommitPoint(const AckOf& ack) const {
    std::vector<Zxid> acks;
    acks.reserve(voters_.size());
    for (PeerId id : voters_) acks.push_back(ack(id));
    std::sort(acks.begin(), acks.end(), std::greater<Zxid>());
    return acks.empty() ? 0 : acks[size() - 1];
  }

 private:
  std::vector<PeerId> voters_;
};

// The quorums a peer counts (docs/membership.md, rule M2): a majority of
// its configuration's voters and, while that configuration is not known to
// be committed, of the previous configuration's voters too. With one voter
// changed per configuration any two such quorums intersect, whichever of
// the two configurations each peer counts with.
class QuorumRule {
 public:
  explicit QuorumRule(Quorum current) : current_(std::move(current)) {}
  // The rule while `current` is pending: a majority of both.
  QuorumRule(Quorum current, Quorum previous)
      : current_(std::move(current)), previous_(std::move(previous)) {}

  // Returns true if `id` is a voter of either configuration (its vote and
  // its acks count).
  bool Contains(PeerId id) const {
    return current_.Contains(id) || (previous_ && previous_->Contains(id));
  }

  // Returns true if `ids` hold a majority of every configuration the rule
  // counts.
  template <typename Range>
  bool IsQuorum(const Range& ids) const {
    return current_.IsQuorum(ids) && (!previous_ || previous_->IsQuorum(ids));
  }

  // Returns the highest zxid a quorum of the rule acked (the lower of the
  // two configurations' commit points while both count).
  template <typename AckOf>
  Zxid CommitPoint(const AckOf& ack) const {
    const Zxid c = current_.CommitPoint(ack);
    return previous_ ? std::min(c, previous_->CommitPoint(ack)) : c;
  }

  // Returns true if `ids` hold a majority of at least one configuration
  // the rule counts: a weaker test, for deciding whom to follow (the
  // election), never for what commits.
  template <typename Range>
  bool IsMajorityOfEither(const Range& ids) const {
    return current_.IsQuorum(ids) || (previous_ && previous_->IsQuorum(ids));
  }

  // Returns the voters of both configurations, sorted, each once.
  std::vector<PeerId> Members() const {
    std::vector<PeerId> ids = current_.voters();
    if (previous_) {
      ids.insert(ids.end(), previous_->voters().begin(),
                 previous_->voters().end());
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    }
    return ids;
  }

  // True while both configurations count.
  bool dual() const { return previous_.has_value(); }

 private:
  Quorum current_;
  std::optional<Quorum> previous_;
};

}  // namespace synod::zab

#endif  // SYNOD_ZAB_QUORUM_H_
