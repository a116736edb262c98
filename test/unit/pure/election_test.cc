// Fast leader election: vote order, convergence under random delivery and
// loss, observers, late joiners, rounds.

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "zab/election.h"

namespace synod::zab {
namespace {

// A deterministic little PRNG for delivery orders (splitmix64).
struct Rng {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Uniform(size_t n) { return static_cast<size_t>(Next() % n); }
};

struct Candidate {
  PeerId id;
  Zxid last_zxid;
  int64_t epoch;
};

// Peers running elections over a queue delivered in seeded random order.
// A decided peer answers a looking peer's notification with Reply(), as the
// zab core does.
class Ensemble {
 public:
  // `finalize_ticks`: how long a peer waits for a better vote once a quorum
  // agrees. The best candidate is certain to win only when that exceeds the
  // time messages spend in flight.
  Ensemble(const std::vector<PeerId>& voters, const std::vector<PeerId>& observers,
           uint64_t seed, int finalize_ticks = 2)
      : rng_{seed}, finalize_ticks_(finalize_ticks) {
    for (PeerId id : voters) Add(id, voters, observers);
    for (PeerId id : observers) Add(id, voters, observers);
  }

  Election& peer(PeerId id) { return *peers_.at(id); }

  void Start(const Candidate& c) {
    peers_.at(c.id)->Start(c.last_zxid, c.epoch);
    Collect(c.id);
  }

  // Delivers messages in random order, dropping each with `drop` chance
  // (in percent), ticking everyone every few deliveries, until `done`
  // holds or `max_steps` pass. Returns true if `done` held.
  template <typename Done>
  bool Run(Done done, int drop_percent = 0, int max_steps = 20000) {
    for (int step = 0; step < max_steps; ++step) {
      if (done()) return true;
      if (step % 7 == 0 || queue_.empty()) {
        for (auto& [id, e] : peers_) {
          if (started(id)) {
            e->Tick();
            Collect(id);
          }
        }
      }
      if (queue_.empty()) continue;
      size_t i = rng_.Uniform(queue_.size());
      Message m = std::move(queue_[i]);
      queue_.erase(queue_.begin() + static_cast<long>(i));
      if (static_cast<int>(rng_.Uniform(100)) < drop_percent) continue;
      if (!started(m.to)) continue;  // not running yet: lost
      Election& to = peer(m.to);
      if (to.decided()) {
        if (m.state == PeerState::kLooking) {
          queue_.push_back(
              Election::Reply(m.to, m.from, to.state(), to.result(), 0));
        }
        continue;
      }
      to.Receive(m);
      Collect(m.to);
    }
    return done();
  }

  bool started(PeerId id) const { return started_.count(id) > 0; }
  void MarkStarted(PeerId id) { started_[id] = true; }

 private:
  void Add(PeerId id, const std::vector<PeerId>& voters,
           const std::vector<PeerId>& observers) {
    ElectionConfig config;
    config.self = id;
    config.voters = voters;
    config.observers = observers;
    config.finalize_ticks = finalize_ticks_;
    peers_[id] = std::make_unique<Election>(config);
  }
  void Collect(PeerId id) {
    started_[id] = true;
    std::vector<Message> out;
    peers_.at(id)->TakeMessages(&out);
    for (Message& m : out) queue_.push_back(std::move(m));
  }

  Rng rng_;
  int finalize_ticks_;
  std::map<PeerId, std::unique_ptr<Election>> peers_;
  std::map<PeerId, bool> started_;
  std::vector<Message> queue_;
};

bool AllDecided(Ensemble& e, const std::vector<PeerId>& ids) {
  for (PeerId id : ids) {
    if (!e.peer(id).decided()) return false;
  }
  return true;
}

TEST_CASE("Vote order: epoch, then zxid, then id", "[election]") {
  CHECK(Better(Vote{1, MakeZxid(1, 9), 2}, Vote{3, MakeZxid(1, 100), 1}));
  CHECK(Better(Vote{1, MakeZxid(1, 9), 1}, Vote{3, MakeZxid(1, 8), 1}));
  CHECK(Better(Vote{3, MakeZxid(1, 9), 1}, Vote{2, MakeZxid(1, 9), 1}));
  CHECK(!Better(Vote{2, MakeZxid(1, 9), 1}, Vote{2, MakeZxid(1, 9), 1}));
}

TEST_CASE("A single voter elects itself at once", "[election]") {
  ElectionConfig config;
  config.self = 7;
  config.voters = {7};
  Election e(config);
  e.Start(MakeZxid(3, 4), 3);
  REQUIRE(e.decided());
  CHECK(e.result().leader == 7);
  CHECK(e.state() == PeerState::kLeading);
  std::vector<Message> out;
  e.TakeMessages(&out);
  CHECK(out.empty());
}

TEST_CASE("Three voters elect the best candidate under any delivery order",
          "[election]") {
  struct Case {
    std::vector<Candidate> candidates;
    PeerId want;
  };
  const std::vector<Case> cases = {
      {{{1, MakeZxid(1, 5), 1}, {2, MakeZxid(1, 5), 1}, {3, MakeZxid(1, 5), 1}}, 3},
      {{{1, MakeZxid(1, 9), 1}, {2, MakeZxid(1, 5), 1}, {3, MakeZxid(1, 5), 1}}, 1},
      {{{1, MakeZxid(1, 9), 1}, {2, MakeZxid(2, 1), 2}, {3, MakeZxid(1, 9), 1}}, 2},
      // A higher current epoch wins over a longer log of an older epoch.
      {{{1, MakeZxid(1, 90), 1}, {2, MakeZxid(1, 5), 2}, {3, MakeZxid(1, 5), 1}}, 2},
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    for (uint64_t seed = 1; seed <= 50; ++seed) {
      INFO("case " << c << " seed " << seed);
      Ensemble e({1, 2, 3}, {}, seed, /*finalize_ticks=*/1000);
      for (const Candidate& cand : cases[c].candidates) e.Start(cand);
      REQUIRE(e.Run([&] { return AllDecided(e, {1, 2, 3}); }));
      for (PeerId id : {1, 2, 3}) {
        CHECK(e.peer(id).result().leader == cases[c].want);
        CHECK(e.peer(id).state() ==
              (id == cases[c].want ? PeerState::kLeading : PeerState::kFollowing));
      }
    }
  }
}

TEST_CASE("Five voters and two observers decide despite lost messages",
          "[election]") {
  const std::vector<PeerId> voters = {1, 2, 3, 4, 5};
  const std::vector<PeerId> observers = {10, 11};
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    INFO("seed " << seed);
    Ensemble e(voters, observers, seed);
    for (PeerId id : voters) e.Start({id, MakeZxid(4, 10 + id % 3), 4});
    // Observers have the longest log, but never stand.
    for (PeerId id : observers) e.Start({id, MakeZxid(4, 999), 4});
    std::vector<PeerId> all = voters;
    all.insert(all.end(), observers.begin(), observers.end());
    REQUIRE(e.Run([&] { return AllDecided(e, all); }, /*drop_percent=*/20));
    // Under loss, election alone promises neither the best candidate nor
    // agreement (a decider may count a vote that has since been upgraded);
    // discovery settles that, as in ZooKeeper. What each decision must be:
    // a candidate at least as up to date as a quorum of the voters.
    for (PeerId id : all) {
      const Vote& v = e.peer(id).result().vote;
      int covered = 0;
      for (PeerId voter : voters) {
        if (MakeZxid(4, 10 + voter % 3) <= v.zxid) ++covered;
      }
      CHECK(covered >= 3);
      CHECK(v.zxid == MakeZxid(4, 10 + v.leader % 3));  // its own, real log
    }
    for (PeerId id : observers) {
      CHECK(e.peer(id).state() == PeerState::kObserving);
    }
    // Without loss, and waiting longer than any message is in flight, the
    // best candidate wins: 2 and 5 share the longest log, 5 has the higher id.
    Ensemble clean(voters, observers, seed, /*finalize_ticks=*/1000);
    for (PeerId id : voters) clean.Start({id, MakeZxid(4, 10 + id % 3), 4});
    for (PeerId id : observers) clean.Start({id, MakeZxid(4, 999), 4});
    REQUIRE(clean.Run([&] { return AllDecided(clean, all); }));
    for (PeerId id : all) CHECK(clean.peer(id).result().leader == 5);
  }
}

TEST_CASE("A late voter joins the leader already chosen", "[election]") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    INFO("seed " << seed);
    Ensemble e({1, 2, 3}, {}, seed);
    e.Start({1, MakeZxid(1, 5), 1});
    e.Start({2, MakeZxid(1, 5), 1});
    REQUIRE(e.Run([&] { return AllDecided(e, {1, 2}); }));
    CHECK(e.peer(1).result().leader == 2);
    // Peer 3 would win on its own log, but the ensemble has moved on.
    e.Start({3, MakeZxid(1, 50), 1});
    REQUIRE(e.Run([&] { return AllDecided(e, {3}); }));
    CHECK(e.peer(3).result().leader == 2);
    CHECK(e.peer(3).state() == PeerState::kFollowing);
  }
}

TEST_CASE("A higher round resets the vote, a stale round is ignored",
          "[election]") {
  ElectionConfig config;
  config.self = 1;
  config.voters = {1, 2, 3};
  Election e(config);
  e.Start(MakeZxid(1, 1), 1);  // round 1
  Message stale;
  stale.type = MessageType::kNotification;
  stale.from = 2;
  stale.to = 1;
  stale.vote = Vote{2, MakeZxid(1, 99), 1};
  stale.round = 0;
  e.Receive(stale);
  CHECK(e.round() == 1);
  CHECK(!e.decided());

  Message newer = stale;
  newer.round = 5;
  newer.vote = Vote{3, MakeZxid(1, 7), 1};
  e.Receive(newer);
  CHECK(e.round() == 5);
  std::vector<Message> out;
  e.TakeMessages(&out);
  REQUIRE(!out.empty());
  // It now backs the better vote, in the new round.
  CHECK(out.back().round == 5);
  CHECK(out.back().vote == (Vote{3, MakeZxid(1, 7), 1}));
  // Two of three back it: decided after the finalize wait, not before.
  CHECK(!e.decided());
  for (int i = 0; i < config.finalize_ticks; ++i) e.Tick();
  REQUIRE(e.decided());
  CHECK(e.result().leader == 3);
  CHECK(e.result().round == 5);
}

TEST_CASE("A follower's word alone is not enough to join", "[election]") {
  ElectionConfig config;
  config.self = 1;
  config.voters = {1, 2, 3};
  Election e(config);
  e.Start(MakeZxid(1, 1), 1);
  Message following;
  following.type = MessageType::kNotification;
  following.from = 2;
  following.to = 1;
  following.vote = Vote{3, MakeZxid(1, 4), 1};
  following.round = 3;
  following.state = PeerState::kFollowing;
  e.Receive(following);
  CHECK(!e.decided());  // 3 has not said it leads
  Message leading = following;
  leading.from = 3;
  leading.state = PeerState::kLeading;
  e.Receive(leading);
  REQUIRE(e.decided());
  CHECK(e.result().leader == 3);
  CHECK(e.round() == 3);
}

TEST_CASE("Without answers, notifications are resent with backoff",
          "[election]") {
  ElectionConfig config;
  config.self = 1;
  config.voters = {1, 2, 3};
  config.resend_ticks = 2;
  config.max_resend_ticks = 8;
  Election e(config);
  e.Start(MakeZxid(1, 1), 1);
  std::vector<Message> out;
  e.TakeMessages(&out);
  CHECK(out.size() == 2);
  std::vector<int> resend_at;
  for (int t = 1; t <= 40; ++t) {
    e.Tick();
    out.clear();
    e.TakeMessages(&out);
    if (!out.empty()) resend_at.push_back(t);
  }
  CHECK(resend_at == std::vector<int>{2, 6, 14, 22, 30, 38});
}

}  // namespace
}  // namespace synod::zab
