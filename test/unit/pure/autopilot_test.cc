// The autopilot's decisions (zab/autopilot.h): promotions up to the target,
// dead voters replaced (add first, remove after), never below a majority,
// never the leader, zones preferred.

#include "zab/autopilot.h"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace synod::zab {
namespace {

Config MakeConfig(std::vector<PeerId> voters, std::vector<PeerId> observers) {
  return FoundingConfig(std::move(voters), std::move(observers));
}

MemberState Voter(PeerId id, int64_t unreachable = 0) {
  MemberState m;
  m.id = id;
  m.voter = true;
  m.healthy = unreachable == 0;
  m.unreachable_ticks = unreachable;
  return m;
}

MemberState Observer(PeerId id, bool healthy = true, std::string zone = "") {
  MemberState m;
  m.id = id;
  m.healthy = healthy;
  m.unreachable_ticks = healthy ? 0 : 1;
  m.zone = std::move(zone);
  return m;
}

AutopilotPolicy Policy(size_t target = 3, int64_t dead = 100) {
  AutopilotPolicy p;
  p.target_voters = target;
  p.dead_voter_ticks = dead;
  return p;
}

std::string Describe(const std::optional<ConfigChange>& c) {
  if (!c) return "none";
  return std::string(ChangeKindName(c->kind)) + " " + std::to_string(c->id);
}

TEST_CASE("Autopilot: healthy observers are promoted up to the target",
          "[autopilot]") {
  // One voter, two healthy observers: promote the lowest id.
  CHECK(Describe(NextAutopilotChange(MakeConfig({1}, {2, 3}), 1,
                                     {Observer(3), Observer(2)}, Policy())) ==
        "promote 2");
  // An unhealthy observer is never promoted.
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2}, {3, 4}), 1,
                                     {Voter(2), Observer(3, false),
                                      Observer(4)},
                                     Policy())) == "promote 4");
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2}, {3}), 1,
                                     {Voter(2), Observer(3, false)},
                                     Policy())) == "none");
  // At the target, nothing to do.
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2, 3}, {4}), 1,
                                     {Voter(2), Voter(3), Observer(4)},
                                     Policy())) == "none");
  // Beyond the target (a replaced voter came back), the highest id but the
  // leader's steps back.
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2, 3, 4}, {}), 4,
                                     {Voter(1), Voter(2), Voter(3)},
                                     Policy())) == "demote 3");
  // Not while a voter is unhealthy (the smaller quorum would need it).
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2, 3, 4}, {}), 4,
                                     {Voter(1), Voter(2, 5), Voter(3)},
                                     Policy())) == "none");
  // A larger target grows further.
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2, 3}, {4}), 1,
                                     {Voter(2), Voter(3), Observer(4)},
                                     Policy(5))) == "promote 4");
}

TEST_CASE("Autopilot: an observer in a zone no voter has comes first",
          "[autopilot]") {
  MemberState v2 = Voter(2);
  v2.zone = "a";
  CHECK(Describe(NextAutopilotChange(
            MakeConfig({1, 2}, {3, 4, 5}), 1,
            {v2, Observer(3, true, "a"), Observer(4, true, "b"),
             Observer(5, true, "")},
            Policy())) == "promote 4");
  // Without a new zone, the lowest id.
  CHECK(Describe(NextAutopilotChange(
            MakeConfig({1, 2}, {3, 4}), 1,
            {v2, Observer(4, true, "a"), Observer(3, true, "a")},
            Policy())) == "promote 3");
}

TEST_CASE("Autopilot: a dead voter is replaced, adding first",
          "[autopilot]") {
  const AutopilotPolicy p = Policy(3, 100);
  // Unreachable, but not for long enough: nothing.
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2, 3}, {4}), 1,
                                     {Voter(2), Voter(3, 99), Observer(4)},
                                     p)) == "none");
  // Dead: the observer comes in first...
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2, 3}, {4}), 1,
                                     {Voter(2), Voter(3, 100), Observer(4)},
                                     p)) == "promote 4");
  // ...then the dead voter goes.
  CHECK(Describe(NextAutopilotChange(
            MakeConfig({1, 2, 3, 4}, {}), 1,
            {Voter(2), Voter(3, 150), Voter(4)}, p)) == "demote 3");
  // The longest dead goes first.
  CHECK(Describe(NextAutopilotChange(
            MakeConfig({1, 2, 3, 4, 5}, {}), 1,
            {Voter(2, 120), Voter(3, 300), Voter(4), Voter(5)}, p)) ==
        "demote 3");
}

TEST_CASE("Autopilot: without a replacement a dead voter keeps its seat, "
          "beyond the target it goes while a majority stays",
          "[autopilot]") {
  const AutopilotPolicy p = Policy(3, 100);
  // Three voters, one dead, no healthy observer: nothing (two voters would
  // tolerate no more than three with one dead).
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2, 3}, {4}), 1,
                                     {Voter(2), Voter(3, 500),
                                      Observer(4, false)},
                                     p)) == "none");
  // Five voters for a target of three, one dead: it goes.
  CHECK(Describe(NextAutopilotChange(
            MakeConfig({1, 2, 3, 4, 5}, {}), 1,
            {Voter(2), Voter(3), Voter(4, 500), Voter(5)}, p)) == "demote 4");
  // Target one, two voters, one dead: one is not a majority of two.
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2}, {}), 1,
                                     {Voter(2, 500)}, Policy(1, 100))) ==
        "none");
}

TEST_CASE("Autopilot: the leader is never replaced", "[autopilot]") {
  // A stale report naming the leader itself changes nothing.
  CHECK(Describe(NextAutopilotChange(MakeConfig({1, 2, 3}, {4}), 1,
                                     {Voter(1, 1000), Voter(2), Voter(3),
                                      Observer(4)},
                                     Policy())) == "none");
}

}  // namespace
}  // namespace synod::zab

namespace synod::zab {
namespace {

TEST_CASE("Autopilot: a long-gone observer is removed, last of all",
          "[autopilot]") {
  const Config config = MakeConfig({1, 2, 3}, {4, 5});
  MemberState gone = Observer(5, /*healthy=*/false);
  gone.unreachable_ticks = 1000;  // ten times the dead-voter threshold
  MemberState briefly = Observer(4, /*healthy=*/false);
  briefly.unreachable_ticks = 999;  // not yet: it keeps its place
  std::optional<ConfigChange> c = NextAutopilotChange(
      config, 1, {Voter(2), Voter(3), briefly, gone}, Policy(3, 100));
  REQUIRE(c.has_value());
  CHECK(c->kind == ConfigChange::Kind::kRemoveObserver);
  CHECK(c->id == 5);
  // A dead voter's replacement comes first.
  c = NextAutopilotChange(config, 1, {Voter(2, 100), Voter(3), Observer(4), gone},
                          Policy(3, 100));
  CHECK(Describe(c) == "promote 4");
  // Nothing gone long enough: nothing to do.
  c = NextAutopilotChange(config, 1, {Voter(2), Voter(3), briefly},
                          Policy(3, 100));
  CHECK(!c.has_value());
}

}  // namespace
}  // namespace synod::zab
