// Membership in an in-process ensemble, with the transport's fault
// injection: a leader partitioned away (both ways, still running) while it
// changes the configuration. The majority side finishes the change, the old
// leader rejoins and takes the same configuration, and no acknowledged write
// is lost. (Processes: test/integration/membership_process_test.cc.)

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "ensemble/ensemble_util.h"

namespace synod::testing {
namespace {

std::set<uint64_t> VoterIds(const Health& h) {
  std::set<uint64_t> ids;
  for (const EnsembleMember& m : h.voters) ids.insert(m.id);
  return ids;
}

TEST_CASE("Membership: a leader partitioned away mid-change, the majority "
          "finishes it and one configuration is left everywhere",
          "[ensemble][membership]") {
  // Three founders and two new peers; a target of five voters, so the
  // leader admits both and promotes them, one change at a time.
  LocalEnsemble e(3, 2);
  for (int i = 0; i < e.size(); ++i) e.options(i).voters = 5;
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const uint64_t leader_id = e.at(leader).GetHealth().peer_id;
  // Cut the leader off as soon as its history holds the first promotion
  // (logged, perhaps not yet committed).
  REQUIRE(WaitFor([&] { return e.at(leader).GetHealth().voters.size() >= 4; },
                  absl::Seconds(30)));
  e.Isolate(leader, true);
  const uint64_t cut_at = e.at(leader).GetHealth().config_version;

  // The others elect a leader among themselves and take writes.
  const int writer = (leader + 1) % 3;
  REQUIRE(WaitFor([&] {
    const Health h = e.at(writer).GetHealth();
    return h.connected && h.leader_id != 0 && h.leader_id != leader_id;
  }, absl::Seconds(30)));
  std::vector<std::string> acked;
  for (int i = 0; i < 30; ++i) {
    const std::string path = "/after-cut-" + std::to_string(i);
    if (e.at(writer).Create(path, "v").ok()) acked.push_back(path);
  }
  REQUIRE(acked.size() >= 20);

  // Healed, every peer ends with the same configuration: five voters.
  e.Isolate(leader, false);
  REQUIRE(WaitFor([&] {
    const Health first = e.at(0).GetHealth();
    if (first.voters.size() != 5) return false;
    for (int i = 0; i < e.size(); ++i) {
      const Health h = e.at(i).GetHealth();
      if (h.config_version != first.config_version ||
          VoterIds(h) != VoterIds(first)) {
        return false;
      }
    }
    return true;
  }, absl::Seconds(60)));
  CHECK(e.at(0).GetHealth().config_version >= cut_at);
  for (int i = 0; i < e.size(); ++i) {
    INFO("peer " << i);
    REQUIRE(e.at(i).Sync("/").ok());
    for (const std::string& path : acked) {
      CHECK(e.at(i).Exists(path)->has_value());
    }
  }
}

}  // namespace
}  // namespace synod::testing
