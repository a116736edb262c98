// The zab core driven directly, over a reliable in-order network with an
// instant disk: each phase's outcome, forwarding, observers, TRUNC.
// (test/sim runs it under faults.)

#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "zab/core.h"

namespace synod::zab {
namespace {

struct Peer {
  std::unique_ptr<Core> core;
  DurableState disk;
  std::vector<Entry> applied;
};

class Cluster {
 public:
  Cluster(std::vector<PeerId> voters, std::vector<PeerId> observers = {},
          std::map<PeerId, DurableState> disks = {})
      : voters_(voters), observers_(observers) {
    std::vector<PeerId> all = voters;
    all.insert(all.end(), observers.begin(), observers.end());
    for (PeerId id : all) {
      peers_[id].disk = disks.count(id) ? disks[id] : DurableState{};
      Restart(id);
    }
  }

  void Restart(PeerId id) {
    CoreConfig c;
    c.self = id;
    c.voters = voters_;
    c.observers = observers_;
    peers_[id].applied.clear();
    peers_[id].core = std::make_unique<Core>(c, peers_[id].disk);
  }

  Peer& peer(PeerId id) { return peers_.at(id); }
  Core& core(PeerId id) { return *peers_.at(id).core; }

  // Carries out every Ready and delivers every message, ticking all peers
  // each round, for `rounds` rounds.
  void Run(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      Drain();
      for (auto& [id, p] : peers_) p.core->Tick();
      Drain();
    }
  }

  // Returns the serving leader, or 0.
  PeerId Leader() {
    for (auto& [id, p] : peers_) {
      CoreStatus s = p.core->status();
      if (s.state == PeerState::kLeading && s.serving) return id;
    }
    return 0;
  }

 private:
  void Drain() {
    bool progress = true;
    while (progress) {
      progress = false;
      for (auto& [id, p] : peers_) {
        while (p.core->HasReady()) {
          progress = true;
          Ready rd = p.core->TakeReady();
          if (rd.truncate_after) {
            auto& log = p.disk.log;
            while (!log.empty() && log.back().zxid > *rd.truncate_after) log.pop_back();
          }
          for (const Entry& e : rd.entries) p.disk.log.push_back(e);
          if (rd.accepted_epoch) p.disk.accepted_epoch = *rd.accepted_epoch;
          if (rd.current_epoch) p.disk.current_epoch = *rd.current_epoch;
          for (Message& m : rd.messages) queue_.push_back(std::move(m));
          for (const Entry& e : rd.committed) p.applied.push_back(e);
          p.core->Advance(rd);
        }
      }
      while (!queue_.empty()) {
        progress = true;
        Message m = std::move(queue_.front());
        queue_.pop_front();
        auto it = peers_.find(m.to);
        if (it != peers_.end()) it->second.core->Step(m);
      }
    }
  }

  std::vector<PeerId> voters_, observers_;
  std::map<PeerId, Peer> peers_;
  std::deque<Message> queue_;
};

std::vector<std::string> Payloads(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(e.data);
  return out;
}

TEST_CASE("Core: one voter leads itself and commits on its own sync",
          "[core]") {
  Cluster c({1});
  c.Run(1);
  REQUIRE(c.Leader() == 1);
  CoreStatus s = c.core(1).status();
  CHECK(s.current_epoch == 1);
  CHECK(s.accepted_epoch == 1);
  REQUIRE(c.core(1).Propose("a").ok());
  REQUIRE(c.core(1).Propose("b").ok());
  c.Run(1);
  CHECK(Payloads(c.peer(1).applied) == std::vector<std::string>{"a", "b"});
  CHECK(c.peer(1).applied[0].zxid == MakeZxid(1, 1));
  CHECK(c.peer(1).disk.log.size() == 2);
}

TEST_CASE("Core: a peer restarts from applied state plus its log's tail",
          "[core]") {
  // Everything through 1:5 is in the host's applied state; 1:6 and 1:7 were
  // logged but not applied before the restart.
  std::map<PeerId, DurableState> disks;
  DurableState d{1, 1, {{MakeZxid(1, 6), "six"}, {MakeZxid(1, 7), "seven"}}};
  d.base_zxid = MakeZxid(1, 5);
  disks[1] = d;
  Cluster c({1}, {}, disks);
  c.Run(1);
  REQUIRE(c.Leader() == 1);
  // Establishing commits exactly the unapplied tail.
  CHECK(Payloads(c.peer(1).applied) == std::vector<std::string>{"six", "seven"});
  CHECK(c.core(1).status().current_epoch == 2);
  CHECK(c.core(1).next_zxid() == MakeZxid(2, 1));
  REQUIRE(c.core(1).Propose("eight").ok());
  c.Run(1);
  CHECK(c.peer(1).applied.back().zxid == MakeZxid(2, 1));

  // With an empty tail the vote still carries the applied history.
  DurableState empty{2, 2, {}};
  empty.base_zxid = MakeZxid(2, 1);
  Core core(CoreConfig{1, {1}}, empty);
  CHECK(core.status().last_zxid == MakeZxid(2, 1));
  CHECK(core.status().committed_zxid == MakeZxid(2, 1));
}

TEST_CASE("Core: three voters elect, sync and replicate in order", "[core]") {
  Cluster c({1, 2, 3});
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE(leader == 3);  // equal logs: the highest id
  for (int i = 0; i < 50; ++i) REQUIRE(c.core(leader).Propose("p" + std::to_string(i)).ok());
  c.Run(3);
  for (PeerId id : {1, 2, 3}) {
    INFO("peer " << id);
    REQUIRE(c.peer(id).applied.size() == 50);
    CHECK(c.peer(id).applied.front().data == "p0");
    CHECK(c.peer(id).applied.back().zxid == MakeZxid(1, 50));
    CHECK(c.core(id).status().current_epoch == 1);
    CHECK(c.core(id).status().serving);
  }
}

TEST_CASE("Core: a follower forwards proposals to the leader", "[core]") {
  Cluster c({1, 2, 3});
  c.Run(10);
  REQUIRE(c.Leader() == 3);
  REQUIRE(c.core(1).Propose("from-1").ok());
  c.Run(2);
  for (PeerId id : {1, 2, 3}) {
    CHECK(Payloads(c.peer(id).applied) == std::vector<std::string>{"from-1"});
  }
}

TEST_CASE("Core: proposals fail fast without a serving leader", "[core]") {
  Cluster c({1, 2, 3});
  // Nothing delivered yet: everyone is looking.
  CHECK(c.core(1).Propose("x").code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("Core: an observer replicates through INFORM and never votes",
          "[core]") {
  Cluster c({1, 2, 3}, {9});
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE(leader == 3);
  CHECK(c.core(9).status().state == PeerState::kObserving);
  for (int i = 0; i < 5; ++i) REQUIRE(c.core(leader).Propose("o" + std::to_string(i)).ok());
  REQUIRE(c.core(9).Propose("via-observer").ok());
  c.Run(3);
  CHECK(Payloads(c.peer(9).applied) == Payloads(c.peer(1).applied));
  CHECK(c.peer(9).applied.size() == 6);
}

TEST_CASE("Core: a restarted peer's uncommitted tail is truncated, not kept",
          "[core]") {
  // Peer 1 once led epoch 1 and logged two entries nobody else has; peers
  // 2 and 3 moved on to epoch 2 without them.
  std::map<PeerId, DurableState> disks;
  disks[1] = DurableState{1, 1, {{MakeZxid(1, 1), "a"}, {MakeZxid(1, 2), "lost"},
                                 {MakeZxid(1, 3), "lost2"}}};
  disks[2] = DurableState{2, 2, {{MakeZxid(1, 1), "a"}, {MakeZxid(2, 1), "b"}}};
  disks[3] = DurableState{2, 2, {{MakeZxid(1, 1), "a"}, {MakeZxid(2, 1), "b"}}};
  Cluster c({1, 2, 3}, {}, disks);
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE((leader == 2 || leader == 3));
  REQUIRE(c.core(leader).status().current_epoch == 3);
  for (PeerId id : {1, 2, 3}) {
    INFO("peer " << id);
    CHECK(Payloads(c.peer(id).disk.log) == std::vector<std::string>{"a", "b"});
    CHECK(Payloads(c.peer(id).applied) == std::vector<std::string>{"a", "b"});
    CHECK(c.peer(id).disk.current_epoch == 3);
  }
  REQUIRE(c.core(leader).Propose("c").ok());
  c.Run(2);
  CHECK(Payloads(c.peer(1).applied) == std::vector<std::string>{"a", "b", "c"});
  CHECK(c.peer(1).applied.back().zxid == MakeZxid(3, 1));
}

TEST_CASE("Core: a leader behind a learner steps back into election",
          "[core]") {
  // Peer 3 has the highest id but the shortest log; whoever is elected
  // must end up with the longest history of the quorum.
  std::map<PeerId, DurableState> disks;
  disks[1] = DurableState{1, 1, {{MakeZxid(1, 1), "a"}, {MakeZxid(1, 2), "b"}}};
  disks[2] = DurableState{1, 1, {{MakeZxid(1, 1), "a"}, {MakeZxid(1, 2), "b"}}};
  disks[3] = DurableState{1, 1, {{MakeZxid(1, 1), "a"}}};
  Cluster c({1, 2, 3}, {}, disks);
  c.Run(20);
  const PeerId leader = c.Leader();
  REQUIRE(leader == 2);
  for (PeerId id : {1, 2, 3}) {
    CHECK(Payloads(c.peer(id).applied) == std::vector<std::string>{"a", "b"});
  }
}

TEST_CASE("Core: the leader steps down when its followers fall silent",
          "[core]") {
  Cluster c({1, 2, 3});
  c.Run(10);
  REQUIRE(c.Leader() == 3);
  // Restart both followers with nothing in between: the old leader hears
  // nothing from its learners until they re-elect.
  c.Restart(1);
  c.Restart(2);
  c.Run(40);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  CHECK(c.core(leader).status().current_epoch >= 2);
  REQUIRE(c.core(leader).Propose("after").ok());
  c.Run(2);
  for (PeerId id : {1, 2, 3}) {
    CHECK(Payloads(c.peer(id).applied).back() == "after");
  }
}

}  // namespace
}  // namespace synod::zab
