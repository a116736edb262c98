// Autopilot (autopilot.h): the leader's next configuration change.

#include "zab/autopilot.h"

#include <algorithm>
#include <set>
#include <string>

namespace synod::zab {
namespace {

ConfigChange Change(ConfigChange::Kind kind, PeerId id) {
  ConfigChange c;
  c.kind = kind;
  c.id = id;
  return c;
}

// The healthy observer to promote: one whose zone no voter has, then the
// lowest id; nullptr if none is healthy.
const MemberState* BestObserver(const std::vector<MemberState>& members) {
  std::set<std::string> voter_zones;
  for (const MemberState& m : members) {
    if (m.voter && !m.zone.empty()) voter_zones.insert(m.zone);
  }
  const MemberState* best = nullptr;
  bool best_new_zone = false;
  for (const MemberState& m : members) {
    if (m.voter || !m.healthy) continue;
    const bool new_zone = !m.zone.empty() && voter_zones.count(m.zone) == 0;
    if (best == nullptr || (new_zone && !best_new_zone) ||
        (new_zone == best_new_zone && m.id < best->id)) {
      best = &m;
      best_new_zone = new_zone;
    }
  }
  return best;
}

}  // namespace

std::optional<ConfigChange> NextAutopilotChange(
    const Config& config, PeerId leader,
    const std::vector<MemberState>& members, const AutopilotPolicy& policy) {
  const size_t voters = config.voters.size();
  const MemberState* observer = BestObserver(members);
  const MemberState* dead = nullptr;
  for (const MemberState& m : members) {
    if (!m.voter || m.id == leader || !config.IsVoter(m.id)) continue;
    if (m.unreachable_ticks < policy.dead_voter_ticks) continue;
    if (dead == nullptr || m.unreachable_ticks > dead->unreachable_ticks ||
        (m.unreachable_ticks == dead->unreachable_ticks && m.id < dead->id)) {
      dead = &m;
    }
  }
  if (dead != nullptr) {
    // Add first, remove after: the voters never drop while a healthy
    // observer can take the seat.
    if (voters <= policy.target_voters) {
      if (observer != nullptr) {
        return Change(ConfigChange::Kind::kPromote, observer->id);
      }
      // No one to take the seat: demoting the dead voter would tolerate no
      // more failures (the survivors are needed either way) and would cost
      // a promotion when it comes back. It keeps its seat.
      return std::nullopt;
    }
    // Beyond the target: the dead voter goes, never below a majority of the
    // current voters.
    if (voters - 1 >= voters / 2 + 1) {
      return Change(ConfigChange::Kind::kDemote, dead->id);
    }
    return std::nullopt;
  }
  if (voters < policy.target_voters && observer != nullptr) {
    return Change(ConfigChange::Kind::kPromote, observer->id);
  }
  bool all_healthy = true;
  for (const MemberState& m : members) {
    if (m.voter && m.id != leader && !m.healthy) all_healthy = false;
  }
  if (voters > policy.target_voters && voters >= 3 && all_healthy) {
    // More voters than wanted (a replaced voter came back before it was
    // demoted): a larger quorum for no more tolerance. Once every voter is
    // healthy (never while one is down or recovering: the smaller quorum
    // would need it), the highest id other than the leader steps back to
    // observer.
    PeerId extra = 0;
    for (const Member& m : config.voters) {
      if (m.id != leader) extra = std::max(extra, m.id);
    }
    if (extra != 0) return Change(ConfigChange::Kind::kDemote, extra);
  }
  // Last, tidying: an observer unreachable for long leaves the
  // configuration (the longest gone first). It counts toward no quorum, so
  // this never costs availability; should it come back, it asks to be
  // admitted again like any new peer.
  const int64_t observer_ticks = policy.dead_observer_ticks > 0
                                     ? policy.dead_observer_ticks
                                     : 10 * policy.dead_voter_ticks;
  const MemberState* gone = nullptr;
  for (const MemberState& m : members) {
    if (m.voter || !config.IsObserver(m.id) ||
        m.unreachable_ticks < observer_ticks) {
      continue;
    }
    if (gone == nullptr || m.unreachable_ticks > gone->unreachable_ticks) {
      gone = &m;
    }
  }
  if (gone != nullptr) return Change(ConfigChange::Kind::kRemoveObserver, gone->id);
  return std::nullopt;
}

}  // namespace synod::zab
