// Autopilot: the configuration change a serving leader makes next to keep
// the ensemble healthy by itself (docs/membership.md). It promotes caught-up
// observers while the voters are fewer than the target, replaces a voter
// unreachable for too long (it adds a healthy observer first and removes
// the dead voter after, never going below a majority of the current
// voters), and trims voters beyond the target.
//
// Pure: the leader's core reports what it knows of each member
// (Core::MemberStates), the host asks NextAutopilotChange on its ticks and
// proposes the answer (Core::ProposeConfig), which still checks every rule.
// The leader times unreachability itself, from when it began leading, so a
// new leader starts every clock again and a plain restart never costs a
// seat.

#ifndef SYNOD_ZAB_AUTOPILOT_H_
#define SYNOD_ZAB_AUTOPILOT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zab/config.h"
#include "zab/message.h"

namespace synod::zab {

// What the leader knows of one member of its configuration (itself aside).
struct MemberState {
  PeerId id = 0;
  bool voter = false;
  // Registered, synchronized, heard from lately and not recovering a
  // damaged log: it acks, and could be promoted now.
  bool healthy = false;
  // Registered with the leader and heard from lately, healthy or not (not
  // healthy yet: it is being synchronized).
  bool registered = false;
  // Leader ticks since it was last healthy (since this leader began
  // leading, if never); 0 while it is.
  int64_t unreachable_ticks = 0;
  // Its failure domain, if the host gave one ("" otherwise).
  std::string zone;
  // Log entries it has not acknowledged (a follower) or been sent (an
  // observer) yet, while registered; -1 otherwise.
  int64_t lag_txns = -1;
};

struct AutopilotPolicy {
  // The number of voters to keep (odd; Options::voters).
  size_t target_voters = 3;
  // A voter unreachable this many ticks is replaced
  // (Options::dead_voter_timeout).
  int64_t dead_voter_ticks = 300;
  // An observer unreachable this many ticks is removed (tidying: it counts
  // toward no quorum, so there is no hurry, and a flapping link must not
  // churn the configuration). 0: ten times dead_voter_ticks.
  int64_t dead_observer_ticks = 0;
};

// Returns the change to make now, or nullopt. In order:
//   1. a voter unreachable for dead_voter_ticks (the longest first) is
//      replaced: a healthy observer is promoted while the voters are at
//      most the target (none healthy: the dead voter keeps its seat, as
//      demoting it would tolerate no more failures), then, the voters being
//      beyond the target, the dead voter is demoted to observer, as long as
//      the voters stay at least a majority of their current number;
//   2. while the voters are fewer than the target, a healthy observer is
//      promoted;
//   3. while they are more (a replaced voter came back before it was
//      demoted) and every voter is healthy, the voter with the highest id
//      but the leader's is demoted;
//   4. an observer unreachable for dead_observer_ticks (the longest first)
//      is removed; should it come back, it asks to be admitted again.
// Among observers it prefers one whose zone no voter has, then the lowest
// id. The leader itself is never replaced.
std::optional<ConfigChange> NextAutopilotChange(
    const Config& config, PeerId leader,
    const std::vector<MemberState>& members, const AutopilotPolicy& policy);

}  // namespace synod::zab

#endif  // SYNOD_ZAB_AUTOPILOT_H_
