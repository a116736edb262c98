// Configurations, their changes and encoding (zab/config.h), and the quorum
// rule a peer counts with while its configuration changes (zab/quorum.h).

#include "zab/config.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "zab/config_index.h"
#include "zab/quorum.h"

namespace synod::zab {
namespace {

using Kind = ConfigChange::Kind;

Config Make(std::vector<PeerId> voters, std::vector<PeerId> observers = {}) {
  Config c;
  for (PeerId id : voters) c.voters.push_back({id, "h" + std::to_string(id) + ":1"});
  for (PeerId id : observers) {
    c.observers.push_back({id, "h" + std::to_string(id) + ":1"});
  }
  return c;
}

ConfigChange Change(Kind kind, PeerId id, std::string address = "") {
  ConfigChange c;
  c.kind = kind;
  c.id = id;
  c.address = std::move(address);
  return c;
}

TEST_CASE("A configuration is valid only when well formed", "[zab][config]") {
  CHECK(ValidateConfig(Make({1, 2, 3}, {9})).ok());
  CHECK_FALSE(ValidateConfig(Make({})).ok());                // no voter
  CHECK_FALSE(ValidateConfig(Make({}, {1})).ok());           // observers only
  CHECK_FALSE(ValidateConfig(Make({0, 1})).ok());            // id 0
  CHECK_FALSE(ValidateConfig(Make({2, 1})).ok());            // unsorted
  CHECK_FALSE(ValidateConfig(Make({1, 1})).ok());            // repeated
  CHECK_FALSE(ValidateConfig(Make({1, 2}, {2})).ok());       // both lists
  Config empty_address = Make({1});
  empty_address.voters[0].address.clear();  // reached by other means
  CHECK(ValidateConfig(empty_address).ok());
  Config long_address = Make({1});
  long_address.voters[0].address.assign(kMaxAddressBytes + 1, 'a');
  CHECK_FALSE(ValidateConfig(long_address).ok());
  long_address.voters[0].address.resize(kMaxAddressBytes);
  CHECK(ValidateConfig(long_address).ok());
}

TEST_CASE("Each change kind does what it names, and nothing else",
          "[zab][config]") {
  const Config c = Make({1, 2, 3}, {7});

  auto added = ApplyChange(c, Change(Kind::kAddObserver, 5, "new:5"));
  REQUIRE(added.ok());
  CHECK(added->voters == c.voters);
  REQUIRE(added->observers.size() == 2);
  CHECK(added->observers[0] == Member{5, "new:5"});  // kept sorted
  CHECK(added->version == c.version);

  auto promoted = ApplyChange(c, Change(Kind::kPromote, 7));
  REQUIRE(promoted.ok());
  CHECK(promoted->VoterIds() == std::vector<PeerId>{1, 2, 3, 7});
  CHECK(promoted->observers.empty());

  auto demoted = ApplyChange(c, Change(Kind::kDemote, 2));
  REQUIRE(demoted.ok());
  CHECK(demoted->VoterIds() == std::vector<PeerId>{1, 3});
  CHECK(demoted->IsObserver(2));
  CHECK(demoted->IsObserver(7));

  auto removed = ApplyChange(c, Change(Kind::kRemoveVoter, 1));
  REQUIRE(removed.ok());
  CHECK(removed->VoterIds() == std::vector<PeerId>{2, 3});
  CHECK(removed->Find(1) == nullptr);

  auto gone = ApplyChange(c, Change(Kind::kRemoveObserver, 7));
  REQUIRE(gone.ok());
  CHECK(gone->observers.empty());
  CHECK(gone->voters == c.voters);

  auto moved = ApplyChange(c, Change(Kind::kSetAddress, 3, "elsewhere:3"));
  REQUIRE(moved.ok());
  CHECK(moved->Find(3)->address == "elsewhere:3");
  CHECK(moved->IsVoter(3));
}

TEST_CASE("A change that does not fit the configuration is refused",
          "[zab][config]") {
  const Config c = Make({1, 2}, {7});
  CHECK_FALSE(ApplyChange(c, Change(Kind::kAddObserver, 1, "x:1")).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kAddObserver, 7, "x:1")).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kAddObserver, 9, "")).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kAddObserver, 0, "x:1")).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kPromote, 1)).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kPromote, 9)).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kDemote, 7)).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kRemoveVoter, 7)).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kRemoveObserver, 1)).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kSetAddress, 9, "x:1")).ok());
  CHECK_FALSE(ApplyChange(c, Change(Kind::kSetAddress, 1, "")).ok());
  const Config one = Make({1}, {7});
  CHECK_FALSE(ApplyChange(one, Change(Kind::kRemoveVoter, 1)).ok());
  CHECK_FALSE(ApplyChange(one, Change(Kind::kDemote, 1)).ok());
}

TEST_CASE("Random changes keep a configuration valid and move one voter at "
          "most",
          "[zab][config]") {
  std::mt19937_64 rng(12345);
  Config c = Make({1});
  int applied = 0;
  for (int i = 0; i < 20000; ++i) {
    const Kind kind = static_cast<Kind>(rng() % 6);
    const PeerId id = 1 + rng() % 12;
    auto next = ApplyChange(c, Change(kind, id, "a:" + std::to_string(rng() % 5)));
    if (!next.ok()) continue;
    ++applied;
    REQUIRE(ValidateConfig(*next).ok());
    REQUIRE(VoterDistance(c, *next) <= 1);
    c = *next;
  }
  CHECK(applied > 5000);  // the walk went somewhere
}

TEST_CASE("A configuration survives encoding, and any damage is refused",
          "[zab][config]") {
  Config c = Make({1, 2, 3}, {0x8000000000000001ULL});
  c.version = 0x0000000500000007ULL;
  const std::string bytes = EncodeConfig(c);
  auto back = DecodeConfig(bytes);
  REQUIRE(back.ok());
  CHECK(*back == c);

  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK_FALSE(DecodeConfig(bytes.substr(0, n)).ok());
  }
  CHECK_FALSE(DecodeConfig(bytes + "x").ok());
  // A well-formed encoding of an invalid configuration.
  Config twice = Make({1, 2});
  twice.observers.push_back({2, "h:2"});
  CHECK_FALSE(DecodeConfig(EncodeConfig(twice)).ok());
  // Random damage: decoded or refused, never a crash, never invalid.
  std::mt19937_64 rng(7);
  int refused = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string damaged = bytes;
    damaged[rng() % damaged.size()] = static_cast<char>(rng());
    auto d = DecodeConfig(damaged);
    if (d.ok()) {
      CHECK(ValidateConfig(*d).ok());
    } else {
      ++refused;
    }
  }
  CHECK(refused > 0);
}

// All subsets of `ids` (as id lists).
std::vector<std::vector<PeerId>> Subsets(const std::vector<PeerId>& ids) {
  std::vector<std::vector<PeerId>> out;
  for (uint32_t mask = 0; mask < (1u << ids.size()); ++mask) {
    std::vector<PeerId> s;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (mask & (1u << i)) s.push_back(ids[i]);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// True if some quorum of `a` and some quorum of `b` share no peer.
bool DisjointQuorumsExist(const QuorumRule& a, const QuorumRule& b,
                          const std::vector<PeerId>& universe) {
  for (const auto& s : Subsets(universe)) {
    if (!a.IsQuorum(s)) continue;
    std::vector<PeerId> rest;
    for (PeerId id : universe) {
      if (std::find(s.begin(), s.end(), id) == s.end()) rest.push_back(id);
    }
    if (b.IsQuorum(rest)) return true;
  }
  return false;
}

TEST_CASE("Quorums intersect across every single-voter change, and not "
          "across a two-voter one",
          "[zab][config]") {
  const std::vector<PeerId> universe = {1, 2, 3, 4, 5, 6};
  int pairs = 0;
  for (const auto& a : Subsets({1, 2, 3, 4, 5})) {
    if (a.empty()) continue;
    std::vector<PeerId> others;  // observers: every id not voting
    for (PeerId id : universe) {
      if (std::find(a.begin(), a.end(), id) == a.end()) others.push_back(id);
    }
    Config from = Make(a, others);
    for (PeerId id = 1; id <= 6; ++id) {
      for (Kind kind : {Kind::kPromote, Kind::kDemote, Kind::kRemoveVoter}) {
        auto to = ApplyChange(from, Change(kind, id));
        if (!to.ok()) continue;
        ++pairs;
        const Quorum old_q(from.VoterIds());
        const Quorum new_q(to->VoterIds());
        INFO(DescribeConfig(from) << " -> " << DescribeConfig(*to));
        // Peers that count the old configuration, the new one alone, or
        // both (pending): every pair of their quorums meets.
        const QuorumRule old_rule(old_q), new_rule(new_q),
            pending(new_q, old_q);
        CHECK_FALSE(DisjointQuorumsExist(old_rule, new_rule, universe));
        CHECK_FALSE(DisjointQuorumsExist(old_rule, pending, universe));
        CHECK_FALSE(DisjointQuorumsExist(pending, new_rule, universe));
      }
    }
  }
  CHECK(pairs > 100);
  // Two voters added at once: {1,2} of {1,2,3} and {3,4,5} of {1..5}.
  CHECK(DisjointQuorumsExist(QuorumRule(Quorum({1, 2, 3})),
                             QuorumRule(Quorum({1, 2, 3, 4, 5})), universe));
}

TEST_CASE("A pending rule counts a majority of both configurations",
          "[zab][config]") {
  const QuorumRule rule(Quorum({1, 2, 3, 4}), Quorum({1, 2, 3}));
  CHECK(rule.dual());
  CHECK(rule.Contains(4));
  CHECK(rule.Contains(1));
  CHECK_FALSE(rule.Contains(5));
  CHECK(rule.IsQuorum(std::vector<PeerId>{1, 2, 3}));
  // A majority of {1,2,3,4} that is not one of {1,2,3}.
  CHECK_FALSE(rule.IsQuorum(std::vector<PeerId>{1, 4, 5}));
  CHECK_FALSE(rule.IsQuorum(std::vector<PeerId>{3, 4, 4}));
  CHECK(QuorumRule(Quorum({1, 2, 3, 4})).IsQuorum(std::vector<PeerId>{2, 3, 4}));

  // Commit points: the lower of the two majorities' acks.
  std::map<PeerId, Zxid> acks = {{1, 10}, {2, 3}, {3, 1}, {4, 9}};
  auto ack = [&acks](PeerId id) {
    auto it = acks.find(id);
    return it == acks.end() ? Zxid{0} : it->second;
  };
  CHECK(Quorum({1, 2, 3, 4}).CommitPoint(ack) == 3);  // 3rd of 10, 9, 3, 1
  CHECK(Quorum({1, 2, 3}).CommitPoint(ack) == 3);     // 2nd of 10, 3, 1
  CHECK(Quorum({1, 3, 4}).CommitPoint(ack) == 9);
  CHECK(QuorumRule(Quorum({1, 3, 4}), Quorum({1, 2, 3})).CommitPoint(ack) == 3);
  CHECK(QuorumRule(Quorum({1, 3, 4})).CommitPoint(ack) == 9);
  CHECK(Quorum({7}).CommitPoint(ack) == 0);  // nobody acked
}

Entry ConfigEntry(Zxid zxid, Config c) {
  c.version = zxid;
  return Entry{zxid, ConfigEntryData(c)};
}

TEST_CASE("A config entry is its zero byte and its configuration",
          "[zab][config]") {
  const Entry e = ConfigEntry(7, Make({1, 2}));
  CHECK(IsConfigData(e.data));
  auto c = ConfigOfEntry(e);
  REQUIRE(c.ok());
  CHECK(c->version == 7);
  CHECK(c->VoterIds() == std::vector<PeerId>{1, 2});
  // Host data is never one; a config entry at the wrong zxid is refused.
  CHECK_FALSE(IsConfigData("txn"));
  CHECK_FALSE(IsConfigData(""));
  CHECK_FALSE(ConfigOfEntry(Entry{7, "txn"}).ok());
  CHECK_FALSE(ConfigOfEntry(Entry{8, e.data}).ok());
  CHECK_FALSE(ConfigOfEntry(Entry{7, e.data.substr(0, e.data.size() - 1)}).ok());
}

TEST_CASE("The configuration follows the history as it grows, is truncated, "
          "compacted and replaced",
          "[zab][config]") {
  ConfigIndex index(Make({1, 2, 3}, {4, 5}));
  CHECK(index.current().VoterIds() == std::vector<PeerId>{1, 2, 3});
  CHECK(index.previous() == nullptr);
  CHECK_FALSE(index.Rule(0).dual());

  REQUIRE(index.Append(Entry{1, "data"}).ok());  // not a config entry
  CHECK(index.logged().empty());
  REQUIRE(index.Append(ConfigEntry(2, Make({1, 2, 3, 4}, {5}))).ok());
  REQUIRE(index.Append(Entry{3, "data"}).ok());
  CHECK(index.current().version == 2);
  REQUIRE(index.previous() != nullptr);
  CHECK(index.previous()->VoterIds() == std::vector<PeerId>{1, 2, 3});

  // Pending above the commit point: both majorities count.
  CHECK(index.pending(1));
  const QuorumRule pending = index.Rule(1);
  CHECK(pending.dual());
  CHECK(pending.Contains(4));
  CHECK_FALSE(pending.IsQuorum(std::vector<PeerId>{1, 4, 5}));
  CHECK_FALSE(pending.IsQuorum(std::vector<PeerId>{3, 4}));
  CHECK(pending.IsQuorum(std::vector<PeerId>{1, 2, 4}));
  // Committed: the new configuration alone.
  CHECK_FALSE(index.Rule(2).dual());
  CHECK(index.Rule(2).IsQuorum(std::vector<PeerId>{2, 3, 4}));

  // Two voters at once is refused and not noted.
  CHECK_FALSE(index.Append(ConfigEntry(4, Make({1, 2, 3, 4, 5, 6}))).ok());
  CHECK(index.current().version == 2);
  // A damaged config entry is refused.
  CHECK_FALSE(index.Append(Entry{5, std::string(1, '\0') + "junk"}).ok());

  REQUIRE(index.Append(ConfigEntry(6, Make({1, 2, 4}, {3, 5}))).ok());
  CHECK(index.previous()->version == 2);
  // TRUNC below it: the configuration reverts.
  index.TruncateAfter(5);
  CHECK(index.current().version == 2);
  index.TruncateAfter(1);
  CHECK(index.current().version == 0);
  CHECK(index.current().VoterIds() == std::vector<PeerId>{1, 2, 3});

  // Compaction folds what it covers into the base.
  REQUIRE(index.Append(ConfigEntry(8, Make({1, 2, 3, 4}, {5}))).ok());
  REQUIRE(index.Append(ConfigEntry(9, Make({1, 2, 3, 4, 5}))).ok());
  index.Compact(7);
  CHECK(index.base().version == 0);
  CHECK(index.logged().size() == 2);
  index.Compact(8);
  CHECK(index.base().version == 8);
  REQUIRE(index.logged().size() == 1);
  CHECK(index.previous() == &index.base());
  CHECK(index.current().version == 9);

  // SNAP: a new base, nothing logged.
  index.Reset(ConfigOfEntry(ConfigEntry(20, Make({7}))).value());
  CHECK(index.current().version == 20);
  CHECK(index.logged().empty());
  CHECK(index.previous() == nullptr);
  CHECK(index.Rule(0).IsQuorum(std::vector<PeerId>{7}));
}

TEST_CASE("FindMember and ChangeInEffect", "[config][membership]") {
  Config before;
  before.voters = {{1, "a:1"}, {2, "b:1"}, {3, "c:1"}};
  before.observers = {{9, "d:1"}};
  CHECK(FindMember(before, "2")->address == "b:1");
  CHECK(FindMember(before, "d:1")->id == 9);
  CHECK(FindMember(before, "7") == nullptr);
  CHECK(FindMember(before, "x:1") == nullptr);
  // The leader (3) removed, its seat gone; 9 promoted.
  Config after = before;
  after.voters = {{1, "a:1"}, {2, "b:1"}, {9, "d:1"}};
  after.observers = {};
  CHECK(ChangeInEffect(before, after, "", "c:1"));
  CHECK(ChangeInEffect(before, after, "", "3"));
  CHECK(ChangeInEffect(before, after, "d:1", ""));
  // Back as an observer after its removal: still in effect (not a voter).
  after.observers = {{3, "c:1"}};
  CHECK(ChangeInEffect(before, after, "", "3"));
  // Not done, or not something that can be told.
  CHECK_FALSE(ChangeInEffect(before, before, "", "3"));
  CHECK_FALSE(ChangeInEffect(before, before, "d:1", ""));
  CHECK_FALSE(ChangeInEffect(before, after, "", "9"));   // an observer
  CHECK_FALSE(ChangeInEffect(before, after, "", "x:1"));  // no such member
}

}  // namespace
}  // namespace synod::zab
