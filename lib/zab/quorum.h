// Majority quorums over a fixed voting set.

#ifndef SYNOD_ZAB_QUORUM_H_
#define SYNOD_ZAB_QUORUM_H_

#include <algorithm>
#include <cstddef>
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

 private:
  std::vector<PeerId> voters_;
};

}  // namespace synod::zab

#endif  // SYNOD_ZAB_QUORUM_H_
