// Membership with real synod-peer processes on loopback (docs/membership.md):
// a one-peer ensemble grows to three as new peers join; a voter killed for
// good is replaced by a new peer on a new address, and the ensemble then
// survives the loss of a second original voter; a voter moves to a new
// address; a rolling restart changes no seat; deliberate leaves shrink the
// ensemble; peers join concurrently; a change survives its leader being
// stopped; a peer of another ensemble is refused. Every acknowledged write
// is checked on every live peer at the end.
//
// Timing is shortened (50 ms ticks, a 2 s dead-voter timeout) so each case
// takes seconds; every wait is bounded.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "integration/process_util.h"
#include "test_util.h"

namespace synod::testing {
namespace {

const std::vector<std::string> kFastFlags = {
    "--tick", "50ms", "--dead-voter-timeout", "2s"};
constexpr char kSessionTimeout[] = "2s";

// One line of `synod-cli members`.
struct MemberLine {
  uint64_t id = 0;
  std::string address;
  bool voter = false;
  std::string state;
};

// The members `peer` reports (asked of the leader), or none if the CLI
// fails.
std::vector<MemberLine> MembersOf(const std::string& peer) {
  const CliResult r = Cli(peer, "members");
  std::vector<MemberLine> out;
  if (r.exit_code != 0) return out;
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    MemberLine m;
    if (words.size() < 4 || !absl::SimpleAtoi(words[0], &m.id)) return {};
    m.address = words[1];
    m.voter = words[2] == "voter";
    m.state = absl::StrJoin(words.begin() + 3, words.end(), " ");
    out.push_back(std::move(m));
  }
  return out;
}

// True if the voters are exactly `addresses`, every one of them serving
// (or leading), and the observers are exactly `observers`.
bool Settled(const std::vector<MemberLine>& members,
             const std::set<std::string>& voters,
             const std::set<std::string>& observers = {}) {
  std::set<std::string> v, o;
  for (const MemberLine& m : members) {
    if (m.voter) {
      if (m.state != "serving" && m.state != "leading") return false;
      v.insert(m.address);
    } else {
      o.insert(m.address);
    }
  }
  return v == voters && o == observers;
}

// Peers started one by one, each with its own data directory and log.
class Fleet {
 public:
  // On a failed case the peers' logs go to stderr (their directory goes
  // with the fleet).
  ~Fleet() {
    for (auto& p : peers_) p->Kill();
    if (Catch::getResultCapture().lastAssertionPassed()) return;
    std::fprintf(stderr, "%s", Logs().c_str());
  }
  // A new peer at a fresh loopback port (or `listen`) with `seeds` (none:
  // itself, a one-peer ensemble).
  PeerProcess& Add(std::vector<std::string> seeds,
                   std::vector<std::string> extra = {},
                   std::string listen = "", std::string data_dir = "") {
    if (listen.empty()) listen = absl::StrCat("127.0.0.1:", FreePort());
    if (seeds.empty()) seeds = {listen};  // a one-peer ensemble
    const size_t n = peers_.size();
    if (data_dir.empty()) data_dir = dir_.Sub(absl::StrCat("peer", n));
    // `extra` overrides the fast flags it repeats (a flag may come once).
    std::vector<std::string> flags;
    for (size_t i = 0; i + 1 < kFastFlags.size(); i += 2) {
      if (std::find(extra.begin(), extra.end(), kFastFlags[i]) == extra.end()) {
        flags.push_back(kFastFlags[i]);
        flags.push_back(kFastFlags[i + 1]);
      }
    }
    flags.insert(flags.end(), extra.begin(), extra.end());
    peers_.push_back(std::make_unique<PeerProcess>(
        listen, std::move(seeds), data_dir,
        dir_.Sub(absl::StrCat("peer", n, ".log")), std::move(flags)));
    data_dirs_.push_back(data_dir);
    return *peers_.back();
  }
  PeerProcess& Start(std::vector<std::string> seeds,
                     std::vector<std::string> extra = {}) {
    PeerProcess& p = Add(std::move(seeds), std::move(extra));
    p.Start(kSessionTimeout);
    return p;
  }
  PeerProcess& at(size_t i) { return *peers_[i]; }
  const std::string& data_dir(size_t i) const { return data_dirs_[i]; }
  size_t size() const { return peers_.size(); }
  std::string Logs() {
    std::string out;
    for (size_t i = 0; i < peers_.size(); ++i) {
      absl::StrAppend(&out, "---- peer ", i, " (", peers_[i]->listen(), ")\n",
                      peers_[i]->Log());
    }
    return out;
  }
  std::string Sub(const std::string& name) { return dir_.Sub(name); }
  // Starts `n` founders on fresh ports, each with all of them as seeds;
  // returns their addresses.
  std::vector<std::string> StartFounders(int n,
                                         std::vector<std::string> extra = {}) {
    std::vector<std::string> seeds;
    for (int i = 0; i < n; ++i) {
      seeds.push_back(absl::StrCat("127.0.0.1:", FreePort()));
    }
    for (const std::string& s : seeds) Add(seeds, extra, s).Start(kSessionTimeout);
    return seeds;
  }

 private:
  TempDir dir_;
  std::vector<std::unique_ptr<PeerProcess>> peers_;
  std::vector<std::string> data_dirs_;
};

// Every write `load` acknowledged is on every running peer of `fleet`.
void CheckAcknowledgedEverywhere(Fleet& fleet, WriteLoad& load) {
  load.Stop();
  const std::set<std::string> acked = load.acked();
  INFO("acknowledged: " << acked.size());
  REQUIRE(!acked.empty());
  for (size_t i = 0; i < fleet.size(); ++i) {
    if (!fleet.at(i).running()) continue;
    INFO("peer " << fleet.at(i).listen());
    CHECK(Contains(ChildrenAt(fleet.at(i).listen(), "/load"), acked));
  }
}

// Starts three founders, waits until all three serve as voters, and makes
// /load for the write loads; returns their addresses.
std::vector<std::string> FoundThree(Fleet& fleet) {
  const std::vector<std::string> seeds = fleet.StartFounders(3);
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), {seeds[0], seeds[1], seeds[2]});
  }));
  REQUIRE(Cli(seeds[0], "create /load x").exit_code == 0);
  return seeds;
}

TEST_CASE("Processes: a one-peer ensemble grows to three as peers join",
          "[process][membership]") {
  Fleet fleet;
  PeerProcess& a = fleet.Add({});
  a.Start(kSessionTimeout);  // seeds = {listen}: a one-peer ensemble
  REQUIRE(WaitForCli([&] { return Settled(MembersOf(a.listen()), {a.listen()}); }));
  REQUIRE(Cli(a.listen(), "create /load x").exit_code == 0);
  WriteLoad load(a.listen());
  PeerProcess& b = fleet.Start({a.listen()});
  PeerProcess& c = fleet.Start({a.listen()});
  // The autopilot takes both to the target of three voters.
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(c.listen()), {a.listen(), b.listen(), c.listen()});
  }));
  // The one peer's data (its writes before and during the growth) is on the
  // new ones; writes through a new peer reach the first.
  REQUIRE(Cli(c.listen(), "create /load/through-c v").exit_code == 0);
  CHECK(ChildrenAt(a.listen(), "/load").count("through-c") == 1);
  CheckAcknowledgedEverywhere(fleet, load);
}

TEST_CASE("Processes: a voter killed for good is replaced by a new peer on a "
          "new address, then a second original voter can go",
          "[process][membership]") {
  Fleet fleet;
  const std::vector<std::string> seeds = FoundThree(fleet);
  // The load goes through the third founder, which stays.
  WriteLoad load(seeds[2]);
  absl::SleepFor(absl::Milliseconds(300));
  // Voter 1 (seeds[1]) dies for good; a new peer joins elsewhere.
  const absl::Time killed = absl::Now();
  fleet.at(1).Kill();
  PeerProcess& d = fleet.Start({seeds[0], seeds[2]});
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[2]), {seeds[0], seeds[2], d.listen()},
                   {seeds[1]});
  }));
  WARN("a dead voter was replaced " << absl::FormatDuration(absl::Now() - killed)
                                    << " after its death (dead-voter timeout "
                                       "2s, tick 50ms)");
  // A second original voter goes: the two left (one original, one new)
  // are a majority of three, and writes go on.
  const int64_t before = static_cast<int64_t>(load.acked().size());
  fleet.at(0).Kill();
  REQUIRE(WaitForCli([&] {
    return static_cast<int64_t>(load.acked().size()) > before + 20;
  }));
  // With a fourth peer, the autopilot restores three voters.
  PeerProcess& e = fleet.Start({seeds[2], d.listen()});
  REQUIRE(WaitForCli([&] {
    std::vector<MemberLine> m = MembersOf(seeds[2]);
    std::set<std::string> voters;
    for (const MemberLine& x : m) {
      if (x.voter && (x.state == "serving" || x.state == "leading")) {
        voters.insert(x.address);
      }
    }
    return voters == std::set<std::string>{seeds[2], d.listen(), e.listen()};
  }));
  CheckAcknowledgedEverywhere(fleet, load);
}

TEST_CASE("Processes: every founder killed in turn, new peers joining, and "
          "the ensemble serves throughout",
          "[process][membership]") {
  Fleet fleet;
  const std::vector<std::string> seeds = FoundThree(fleet);
  std::set<std::string> voters(seeds.begin(), seeds.end());
  std::vector<std::string> alive = seeds;
  std::vector<std::unique_ptr<WriteLoad>> loads;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    // A new peer joins (through any live member) and observes.
    PeerProcess& fresh = fleet.Start(alive);
    REQUIRE(WaitForCli([&] {
      return Settled(MembersOf(fresh.listen()), voters, {fresh.listen()});
    }));
    loads.push_back(std::make_unique<WriteLoad>(fresh.listen(),
                                                absl::StrCat("r", round, "-")));
    // A founder dies for good: after the dead-voter timeout the new peer
    // has its seat, with no operator action.
    fleet.at(round).Kill();
    alive.erase(std::find(alive.begin(), alive.end(), seeds[round]));
    alive.push_back(fresh.listen());
    voters.erase(seeds[round]);
    voters.insert(fresh.listen());
    REQUIRE(WaitForCli([&] {
      std::set<std::string> serving;
      for (const MemberLine& m : MembersOf(fresh.listen())) {
        if (m.voter && (m.state == "serving" || m.state == "leading")) {
          serving.insert(m.address);
        }
      }
      return serving == voters;
    }));
  }
  // None of the founders is left; every write any load saw acknowledged is
  // on every live peer.
  for (auto& load : loads) {
    load->Stop();
    const std::set<std::string> acked = load->acked();
    REQUIRE(!acked.empty());
    for (size_t i = 0; i < fleet.size(); ++i) {
      if (!fleet.at(i).running()) continue;
      INFO("peer " << fleet.at(i).listen());
      CHECK(Contains(ChildrenAt(fleet.at(i).listen(), "/load"), acked));
    }
  }
}

TEST_CASE("Processes: a voter moves to a new address and keeps its seat",
          "[process][membership]") {
  Fleet fleet;
  const std::vector<std::string> seeds = fleet.StartFounders(3);
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), {seeds[0], seeds[1], seeds[2]});
  }));
  std::vector<MemberLine> before = MembersOf(seeds[0]);
  uint64_t moving_id = 0;
  for (const MemberLine& m : before) {
    if (m.address == seeds[1]) moving_id = m.id;
  }
  REQUIRE(moving_id != 0);
  REQUIRE(Cli(seeds[0], "create /load x").exit_code == 0);
  WriteLoad load(seeds[0]);
  // Same data directory, new address (a host moved).
  fleet.at(1).Stop();
  const std::string moved = absl::StrCat("127.0.0.1:", FreePort());
  PeerProcess& again = fleet.Add(seeds, {}, moved, fleet.data_dir(1));
  again.Start(kSessionTimeout);
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), {seeds[0], moved, seeds[2]});
  }));
  for (const MemberLine& m : MembersOf(seeds[0])) {
    if (m.address == moved) CHECK(m.id == moving_id);
  }
  CheckAcknowledgedEverywhere(fleet, load);
}

TEST_CASE("Processes: a rolling restart of every peer changes no seat",
          "[process][membership]") {
  Fleet fleet;
  // A dead-voter timeout well above a restart's length, even on a loaded
  // machine under a sanitizer: a restart must change nothing.
  const std::vector<std::string> patient = {"--dead-voter-timeout", "20s"};
  const std::vector<std::string> seeds = fleet.StartFounders(3, patient);
  PeerProcess& observer = fleet.Start({seeds[0]}, patient);
  const std::set<std::string> voters(seeds.begin(), seeds.end());
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), voters, {observer.listen()});
  }));
  const std::vector<MemberLine> members_before = MembersOf(seeds[0]);
  REQUIRE(members_before.size() == 4);
  REQUIRE(Cli(observer.listen(), "create /load x").exit_code == 0);
  WriteLoad load(observer.listen());
  // Each peer in turn: a clean stop, a restart, back to serving. Shorter
  // than the dead-voter timeout, so nobody is replaced.
  for (size_t i = 0; i < 3; ++i) {
    INFO("restarting " << seeds[i]);
    REQUIRE(fleet.at(i).Stop() == 0);
    fleet.at(i).Start(kSessionTimeout);
    REQUIRE(WaitForCli([&] {
      return Settled(MembersOf(observer.listen()), voters, {observer.listen()});
    }));
  }
  CHECK(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), voters, {observer.listen()});
  }));
  CheckAcknowledgedEverywhere(fleet, load);
  // The same members, with the same ids, as before.
  std::set<uint64_t> ids_before, ids_after;
  for (const MemberLine& m : members_before) ids_before.insert(m.id);
  for (const MemberLine& m : MembersOf(seeds[0])) ids_after.insert(m.id);
  CHECK(ids_before == ids_after);
}

TEST_CASE("Processes: deliberate leaves shrink the ensemble at once, and a "
          "left data directory cannot come back",
          "[process][membership]") {
  Fleet fleet;
  // Long dead-voter timeouts: whatever changes here is the leaves' doing.
  const std::vector<std::string> leave = {"--leave-on-shutdown",
                                          "--dead-voter-timeout", "10m"};
  const std::vector<std::string> seeds = fleet.StartFounders(3, leave);
  PeerProcess& d = fleet.Start({seeds[0]}, leave);
  PeerProcess& e = fleet.Start({seeds[0]}, leave);
  const std::set<std::string> voters(seeds.begin(), seeds.end());
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), voters, {d.listen(), e.listen()});
  }));
  REQUIRE(Cli(seeds[0], "create /load x").exit_code == 0);
  WriteLoad load(seeds[0]);
  // An observer leaves: gone from the configuration as it exits.
  REQUIRE(e.Stop() == 0);
  CHECK(e.Log().find("left the ensemble") != std::string::npos);
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), voters, {d.listen()});
  }, absl::Seconds(30)));
  // A voter that follows leaves (its removal's answer comes from a leader
  // it can no longer reach: it learns the outcome from what it applied):
  // the autopilot promotes the observer to keep three at once, since a
  // leave, unlike an operator's change, does not pause it.
  size_t gone = 2;
  REQUIRE(WaitForCli([&] {
    for (size_t i : {size_t{2}, size_t{1}}) {
      if (RoleOf(seeds[i]) == "follower") {
        gone = i;
        return true;
      }
    }
    return false;
  }));
  const size_t stays = gone == 2 ? 1 : 2;
  REQUIRE(fleet.at(gone).Stop() == 0);
  CHECK(fleet.at(gone).Log().find("left the ensemble") != std::string::npos);
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), {seeds[0], seeds[stays], d.listen()});
  }, absl::Seconds(30)));
  CheckAcknowledgedEverywhere(fleet, load);
  // The voter's data directory left with it.
  PeerProcess& back = fleet.Add(seeds, {}, seeds[gone], fleet.data_dir(gone));
  back.Start(kSessionTimeout);
  const std::optional<int> exit = back.WaitExit(absl::Seconds(20));
  REQUIRE(exit.has_value());
  CHECK(*exit != 0);
  CHECK(back.Log().find("which left it") != std::string::npos);
}

TEST_CASE("Processes: synod-cli reconfig swaps a voter by hand, and refuses "
          "a change that would break a quorum",
          "[process][membership]") {
  Fleet fleet;
  // A long dead-voter timeout: the changes here are the operator's.
  const std::vector<std::string> slow = {"--dead-voter-timeout", "10m"};
  const std::vector<std::string> seeds = fleet.StartFounders(3, slow);
  PeerProcess& d = fleet.Start({seeds[0]}, slow);
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), {seeds[0], seeds[1], seeds[2]},
                   {d.listen()});
  }));
  // Add the observer, then remove a founder: each committed in turn. A
  // change whose leader is lost on the way is reported as of unknown
  // outcome (as zkCli's reconfig is); the operator looks at the members
  // and asks again for what did not take effect.
  bool done = false;
  for (int attempt = 0; attempt < 3 && !done; ++attempt) {
    // The members as a serving leader has them.
    std::vector<MemberLine> members;
    REQUIRE(WaitForCli([&] {
      members = MembersOf(seeds[0]);
      return std::any_of(members.begin(), members.end(),
                         [](const MemberLine& m) { return m.state == "leading"; });
    }));
    bool added = false, removed = true;
    for (const MemberLine& m : members) {
      if (m.voter && m.address == d.listen()) added = true;
      if (m.voter && m.address == seeds[2]) removed = false;
    }
    done = added && removed;
    if (done) break;
    std::string args = "reconfig";
    if (!added) absl::StrAppend(&args, " --add ", d.listen());
    if (!removed) absl::StrAppend(&args, " --remove ", seeds[2]);
    const CliResult r = Cli(seeds[0], args);
    INFO(r.out);
    done = r.exit_code == 0;
    if (done) break;
    REQUIRE(r.out.find("lost the leader") != std::string::npos);
  }
  REQUIRE(done);
  // The removed founder still runs: removal by hand does not retire it, so
  // it asks to be admitted again and comes back as an observer.
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), {seeds[0], seeds[1], d.listen()},
                   {seeds[2]});
  }));
  // With one voter down, removing another would leave a configuration
  // whose majority is not live: refused, nothing changes.
  fleet.at(1).Kill();
  absl::SleepFor(absl::Seconds(1));
  CliResult r = Cli(seeds[0], absl::StrCat("reconfig --remove ", d.listen()));
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("No quorum of new config") != std::string::npos);
  r = Cli(seeds[0], "reconfig --add 127.0.0.1:1");
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("no member listens on 127.0.0.1:1") != std::string::npos);
  std::set<std::string> voters;
  for (const MemberLine& m : MembersOf(seeds[0])) {
    if (m.voter) voters.insert(m.address);
  }
  CHECK(voters == std::set<std::string>{seeds[0], seeds[1], d.listen()});
}

TEST_CASE("Processes: peers joining at once all become members",
          "[process][membership]") {
  Fleet fleet;
  PeerProcess& a = fleet.Add({});
  a.Start(kSessionTimeout);
  REQUIRE(WaitForCli([&] { return Settled(MembersOf(a.listen()), {a.listen()}); }));
  std::vector<PeerProcess*> joiners;
  for (int i = 0; i < 4; ++i) joiners.push_back(&fleet.Start({a.listen()}));
  // Three voters (the target), the other two observers; all serving.
  REQUIRE(WaitForCli([&] {
    std::vector<MemberLine> m = MembersOf(a.listen());
    if (m.size() != 5) return false;
    int voters = 0;
    for (const MemberLine& x : m) {
      if (x.state != "serving" && x.state != "leading") return false;
      voters += x.voter ? 1 : 0;
    }
    return voters == 3;
  }));
  std::set<uint64_t> ids;
  for (const MemberLine& m : MembersOf(a.listen())) ids.insert(m.id);
  CHECK(ids.size() == 5);
}

TEST_CASE("Processes: a change survives its leader being stopped mid-way",
          "[process][membership]") {
  Fleet fleet;
  const std::vector<std::string> seeds = fleet.StartFounders(3, {"--voters", "5"});
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[0]), {seeds[0], seeds[1], seeds[2]});
  }));
  REQUIRE(Cli(seeds[0], "create /load x").exit_code == 0);
  int leader = -1;
  for (int i = 0; i < 3; ++i) {
    if (RoleOf(seeds[i]) == "leader") leader = i;
  }
  REQUIRE(leader >= 0);
  const int other = (leader + 1) % 3;
  WriteLoad load(seeds[other]);
  // New peers join while the target is five: the leader starts promoting
  // them and is frozen (SIGSTOP: no word, no closed connection) mid-way.
  PeerProcess& d = fleet.Start({seeds[other]}, {"--voters", "5"});
  PeerProcess& e = fleet.Start({seeds[other]}, {"--voters", "5"});
  REQUIRE(WaitForCli([&] {
    for (const MemberLine& m : MembersOf(seeds[other])) {
      if (m.address == d.listen() || m.address == e.listen()) return true;
    }
    return false;
  }));
  fleet.at(leader).Pause();
  // The others elect a leader and finish the job: five voters, the frozen
  // one among them once it is back.
  absl::SleepFor(absl::Seconds(1));
  fleet.at(leader).Resume();
  REQUIRE(WaitForCli([&] {
    return Settled(MembersOf(seeds[other]),
                   {seeds[0], seeds[1], seeds[2], d.listen(), e.listen()});
  }, absl::Seconds(90)));
  CheckAcknowledgedEverywhere(fleet, load);
}

TEST_CASE("Processes: a peer holding another ensemble's data is refused",
          "[process][membership]") {
  Fleet fleet;
  PeerProcess& a = fleet.Add({});
  a.Start(kSessionTimeout);
  REQUIRE(WaitForCli([&] { return Settled(MembersOf(a.listen()), {a.listen()}); }));
  // Another one-peer ensemble, then its data directory is started with our
  // ensemble as its seeds.
  PeerProcess& other = fleet.Add({});
  other.Start(kSessionTimeout);
  REQUIRE(WaitForCli(
      [&] { return Settled(MembersOf(other.listen()), {other.listen()}); }));
  REQUIRE(other.Stop() == 0);
  PeerProcess& stranger =
      fleet.Add({a.listen()}, {}, other.listen(), fleet.data_dir(1));
  stranger.Start(kSessionTimeout);
  // Its seed is in another ensemble: it says so and does not start.
  const std::optional<int> exit = stranger.WaitExit(absl::Seconds(20));
  REQUIRE(exit.has_value());
  CHECK(*exit != 0);
  CHECK(stranger.Log().find("belongs to ensemble") != std::string::npos);
  CHECK(stranger.Log().find(" is in ensemble ") != std::string::npos);
  // Nothing changed where it knocked.
  CHECK(Settled(MembersOf(a.listen()), {a.listen()}));
}

}  // namespace
}  // namespace synod::testing
