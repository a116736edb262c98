// The zab core driven by its host (server::ReadyHost), over a reliable
// in-order network with an instant disk: each phase's outcome, forwarding,
// observers, TRUNC, SNAP. (test/sim runs it under faults.)

#include <algorithm>
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/ready_host.h"
#include "zab/core.h"

namespace synod::zab {
namespace {

// A test snapshot: "zxid data" lines (data without newlines).
std::string Encode(const std::vector<Entry>& applied) {
  std::string out;
  for (const Entry& e : applied) {
    out += std::to_string(e.zxid) + " " + e.data + "\n";
  }
  return out;
}

std::vector<Entry> Decode(const std::string& data) {
  std::vector<Entry> out;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t space = data.find(' ', pos);
    const size_t end = data.find('\n', space);
    out.push_back(Entry{std::stoll(data.substr(pos, space - pos)),
                        data.substr(space + 1, end - space - 1)});
    pos = end + 1;
  }
  return out;
}

// A host's snapshot source: its applied entries.
class AppliedSource : public SnapshotSource {
 public:
  explicit AppliedSource(const std::vector<Entry>* applied)
      : applied_(applied) {}
  std::pair<Zxid, std::string> Snapshot() const override {
    return {applied_->empty() ? 0 : applied_->back().zxid, Encode(*applied_)};
  }

 private:
  const std::vector<Entry>* applied_;
};

struct Peer {
  std::unique_ptr<Core> core;  // null while down
  std::unique_ptr<server::ReadyHost> host;  // the core's
  DurableState disk;
  std::string snapshot;  // applied state through disk.base_zxid
  std::vector<Entry> applied;
  std::unique_ptr<AppliedSource> source;
};

class Cluster {
 public:
  Cluster(std::vector<PeerId> voters, std::vector<PeerId> observers = {},
          std::map<PeerId, DurableState> disks = {}, bool snapshots = true,
          bool unlisted_observers = false)
      : voters_(voters), observers_(observers), snapshots_(snapshots),
        unlisted_observers_(unlisted_observers) {
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
    // Unlisted: the observers are new peers joining (zab LearnerInfo);
    // voters learn of them only when they register.
    Peer& p = peers_[id];
    if (!unlisted_observers_) {
      c.observers = observers_;
    } else if (std::count(observers_.begin(), observers_.end(), id) > 0) {
      c.address = "h" + std::to_string(id);
      c.zone = "z" + std::to_string(id);
      if (p.disk.log.empty() && p.disk.base_zxid == 0 && !p.disk.base_config) {
        p.disk.needs_snapshot = true;  // what a member reported
        p.disk.base_config = zab::FoundingConfig(voters_, {});
      }
    }
    c.snapshot_chunk_bytes = 8;
    p.applied = Decode(p.snapshot);
    p.source = std::make_unique<AppliedSource>(&p.applied);
    if (snapshots_) c.snapshot_source = p.source.get();
    p.core = std::make_unique<Core>(c, p.disk);
    p.host = std::make_unique<server::ReadyHost>(p.core.get());
  }

  // Takes `id` down; messages to it are lost until Restart.
  void Stop(PeerId id) {
    peers_.at(id).host.reset();
    peers_.at(id).core.reset();
  }

  // The host compacts through its last applied entry: disk, then core.
  void Compact(PeerId id) {
    Peer& p = peers_.at(id);
    if (p.applied.empty()) return;
    const Zxid z = p.applied.back().zxid;
    auto& log = p.disk.log;
    while (!log.empty() && log.front().zxid <= z) log.erase(log.begin());
    p.disk.base_zxid = z;
    p.snapshot = Encode(p.applied);
    p.core->Compact(z);
  }

  // Messages of `type` sent so far.
  int Sent(MessageType type) { return sent_[type]; }
  // The largest payload (data plus entries' data) of a message of `type`.
  size_t MaxPayload(MessageType type) { return max_payload_[type]; }

  Peer& peer(PeerId id) { return peers_.at(id); }
  Core& core(PeerId id) { return *peers_.at(id).core; }

  // Carries out every Ready and delivers every message, ticking all peers
  // each round, for `rounds` rounds.
  void Run(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      Drain();
      for (auto& [id, p] : peers_) {
        if (p.core) p.core->Tick();
      }
      Drain();
    }
  }

  // Returns the serving leader, or 0.
  PeerId Leader() {
    for (auto& [id, p] : peers_) {
      if (!p.core) continue;
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
        while (p.core) {
          server::HostWork work;
          if (!p.host->TakeNext(&work)) break;
          progress = true;
          Carry(p, &work);
        }
      }
      while (!queue_.empty()) {
        progress = true;
        Message m = std::move(queue_.front());
        queue_.pop_front();
        auto it = peers_.find(m.to);
        if (it != peers_.end() && it->second.core) it->second.core->Step(m);
      }
    }
  }

  // Carries out the host's work with an instant disk.
  void Carry(Peer& p, server::HostWork* work) {
    for (Message& m : work->send) {
      ++sent_[m.type];
      size_t payload = m.data.size();
      for (const Entry& e : m.entries) payload += e.data.size();
      max_payload_[m.type] = std::max(max_payload_[m.type], payload);
      queue_.push_back(std::move(m));
    }
    Zxid written = 0;
    for (const Entry& e : work->append) {
      p.disk.log.push_back(e);
      written = e.zxid;
    }
    if (work->persist_barrier) {
      const Ready& rd = *p.host->barrier();
      if (rd.snapshot) {
        p.disk.log.clear();
        p.disk.base_zxid = rd.snapshot->zxid;
        p.disk.base_config = rd.snapshot->config;
        p.disk.needs_snapshot = false;
        p.snapshot = rd.snapshot->data;
      }
      if (rd.truncate_after) {
        auto& log = p.disk.log;
        while (!log.empty() && log.back().zxid > *rd.truncate_after) log.pop_back();
      }
      for (const Entry& e : rd.entries) p.disk.log.push_back(e);
      if (rd.accepted_epoch) p.disk.accepted_epoch = *rd.accepted_epoch;
      if (rd.current_epoch) p.disk.current_epoch = *rd.current_epoch;
      if (rd.recovered) p.disk.recovering = false;
    }
    if (work->install) p.applied = Decode(work->install->data);
    for (const Entry& e : work->commit) p.applied.push_back(e);
    for (std::string& r : work->requests) {
      REQUIRE(p.core->Propose(std::move(r)).ok());
    }
    if (written != 0) {
      server::HostWork done;
      p.host->OnDurable(written, &done);
      Carry(p, &done);
    }
    if (work->persist_barrier) {
      server::HostWork done;
      p.host->OnBarrierDone(&done);
      Carry(p, &done);
    }
  }

  std::vector<PeerId> voters_, observers_;
  bool unlisted_observers_ = false;
  bool snapshots_ = true;
  std::map<PeerId, Peer> peers_;
  std::map<MessageType, int> sent_;
  std::map<MessageType, size_t> max_payload_;
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

TEST_CASE("Core: data that would read as a config entry is refused",
          "[core]") {
  Cluster c({1});
  c.Run(1);
  REQUIRE(c.Leader() == 1);
  const absl::Status s = c.core(1).Propose(std::string("\0forged", 7));
  CHECK(absl::IsInvalidArgument(s));
  REQUIRE(c.core(1).Propose("a").ok());
  c.Run(1);
  // Only the real proposal reached the log.
  CHECK(Payloads(c.peer(1).applied) == std::vector<std::string>{"a"});
  CHECK(c.peer(1).disk.log.size() == 1);
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

TEST_CASE("Core: what one Ready proposes travels batched, and so do its acks "
          "and commits", "[core]") {
  Cluster c({1, 2, 3});
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE(leader == 3);
  const int proposals = c.Sent(MessageType::kProposal);
  const int acks = c.Sent(MessageType::kAck);
  const int commits = c.Sent(MessageType::kCommit);
  for (int i = 0; i < 50; ++i) {
    REQUIRE(c.core(leader).Propose("p" + std::to_string(i)).ok());
  }
  c.Run(3);
  for (PeerId id : {1, 2, 3}) {
    INFO("peer " << id);
    REQUIRE(c.peer(id).applied.size() == 50);
    CHECK(c.peer(id).applied.back().data == "p49");
  }
  // One PROPOSAL per follower, one ACK from each, one COMMIT to each.
  CHECK(c.Sent(MessageType::kProposal) - proposals == 2);
  CHECK(c.Sent(MessageType::kAck) - acks == 2);
  CHECK(c.Sent(MessageType::kCommit) - commits == 2);

  // A batch stops at max_diff_entries (256): 300 entries take two.
  for (int i = 0; i < 300; ++i) {
    REQUIRE(c.core(leader).Propose("q" + std::to_string(i)).ok());
  }
  c.Run(3);
  CHECK(c.Sent(MessageType::kProposal) - proposals == 2 + 4);
  for (PeerId id : {1, 2, 3}) {
    INFO("peer " << id);
    REQUIRE(c.peer(id).applied.size() == 350);
    CHECK(c.peer(id).applied.back().data == "q299");
  }
}

TEST_CASE("Core: a learner's forwarded requests travel in one REQUEST",
          "[core]") {
  Cluster c({1, 2, 3});
  c.Run(10);
  REQUIRE(c.Leader() == 3);
  const int requests = c.Sent(MessageType::kRequest);
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) {
    want.push_back("f" + std::to_string(i));
    REQUIRE(c.core(1).Propose(want.back()).ok());
  }
  c.Run(3);
  CHECK(c.Sent(MessageType::kRequest) - requests == 1);
  for (PeerId id : {1, 2, 3}) {
    INFO("peer " << id);
    CHECK(Payloads(c.peer(id).applied) == want);  // each once, in order
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

TEST_CASE("Core: an observer no voter lists joins once voters have a leader",
          "[core]") {
  Cluster c({1, 2, 3}, {9}, {}, true, /*unlisted_observers=*/true);
  c.Run(80);  // the observer's resends back off; the leader answers one
  const PeerId leader = c.Leader();
  REQUIRE(leader == 3);
  CHECK(c.core(9).status().state == PeerState::kObserving);
  CHECK(c.core(9).status().leader == leader);
  for (int i = 0; i < 3; ++i) REQUIRE(c.core(leader).Propose("o" + std::to_string(i)).ok());
  REQUIRE(c.core(9).Propose("via-observer").ok());
  c.Run(3);
  CHECK(c.peer(9).applied.size() == 4);
  CHECK(Payloads(c.peer(9).applied) == Payloads(c.peer(1).applied));
}

TEST_CASE("Core: a learner repeats FOLLOWERINFO until its leader answers",
          "[core]") {
  // Peer 1 decided for peer 3 and registered while peer 3 was still
  // looking, so peer 3 dropped that FOLLOWERINFO.
  CoreConfig c;
  c.self = 1;
  c.voters = {1, 2, 3};
  Core learner(c, DurableState{});
  learner.TakeReady();
  Message n;
  n.type = MessageType::kNotification;
  n.from = 3;
  n.to = 1;
  n.state = PeerState::kLeading;
  n.vote = Vote{3, 0, 0};
  n.round = 1;
  learner.Step(n);
  n.from = 2;
  n.state = PeerState::kFollowing;
  learner.Step(n);
  REQUIRE(learner.status().state == PeerState::kFollowing);
  REQUIRE(learner.status().leader == 3);
  learner.TakeReady();
  int infos = 0;
  for (int t = 0; t < c.leader_timeout; ++t) {
    learner.Tick();
    for (const Message& m : learner.TakeReady().messages) {
      if (m.type == MessageType::kFollowerInfo && m.to == 3) ++infos;
    }
  }
  CHECK(infos >= c.leader_timeout / c.ping_ticks - 1);
  CHECK(learner.status().state == PeerState::kFollowing);
}

TEST_CASE("Core: a stranger that does not ask to join is ignored",
          "[core]") {
  Cluster c({1, 2, 3}, {}, {}, true);
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE(leader == 3);
  Message info;
  info.type = MessageType::kFollowerInfo;
  info.from = 9;
  info.to = leader;
  info.state = PeerState::kFollowing;
  // Nothing said, an undecodable info, and a join without an address.
  zab::LearnerInfo no_address;
  no_address.joining = true;
  for (const std::string& data :
       {std::string(), std::string("ZL1\x07"), EncodeLearnerInfo(no_address)}) {
    info.data = data;
    c.core(leader).Step(info);
    // No LEADERINFO for the stranger.
    Ready rd = c.core(leader).TakeReady();
    for (const Message& m : rd.messages) CHECK(m.to != 9);
  }
  CHECK(c.core(leader).Admissions().empty());
}

TEST_CASE("Core: a joining peer is synchronized by SNAP and admitted",
          "[core][membership]") {
  Cluster c({1, 2, 3}, {9}, {}, true, /*unlisted_observers=*/true);
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE(leader == 3);
  for (int i = 0; i < 3; ++i) REQUIRE(c.core(leader).Propose("x").ok());
  c.Run(80);
  // A learner, not yet a member: it holds the state (by SNAP: it had no
  // history of this ensemble to continue) and the leader proposes it.
  CHECK(c.core(9).status().state == PeerState::kObserving);
  CHECK(c.Sent(MessageType::kSnap) >= 1);
  CHECK(c.peer(9).applied.size() == 3);
  CHECK(!c.peer(9).disk.needs_snapshot);
  const std::vector<ConfigChange> asks = c.core(leader).Admissions();
  REQUIRE(asks.size() == 1);
  CHECK(asks[0].kind == ConfigChange::Kind::kAddObserver);
  CHECK(asks[0].id == 9);
  CHECK(asks[0].address == "h9");
  REQUIRE(c.core(leader).ProposeConfig(asks[0]).ok());
  c.Run(5);
  for (PeerId id : {1, 2, 3, 9}) {
    INFO("peer " << id);
    const Member* m = c.core(id).configuration().Find(9);
    REQUIRE(m != nullptr);
    CHECK(m->address == "h9");
    CHECK(c.core(id).configuration().IsObserver(9));
  }
  CHECK(c.core(leader).Admissions().empty());
  // The leader knows its zone (for the autopilot's preference).
  bool seen = false;
  for (const MemberState& s : c.core(leader).MemberStates()) {
    if (s.id != 9) continue;
    seen = true;
    CHECK(s.zone == "z9");
    CHECK(s.registered);
    CHECK(!s.voter);
  }
  CHECK(seen);
  // Removed while it was away (the autopilot's tidying), it asks again
  // when it registers anew.
  c.Stop(9);
  REQUIRE(c.core(leader)
              .ProposeConfig({ConfigChange::Kind::kRemoveObserver, 9, ""})
              .ok());
  c.Run(5);
  CHECK(!c.core(leader).configuration().Find(9));
  c.Restart(9);
  c.Run(40);
  REQUIRE(c.core(leader).Admissions().size() == 1);
  CHECK(c.core(leader).Admissions()[0].kind == ConfigChange::Kind::kAddObserver);
  // A peer that left on purpose never asks again, not even after a restart.
  c.core(9).SetJoining(false);
  c.peer(9).disk.left = true;
  c.Restart(9);
  c.Run(40);
  CHECK(c.core(leader).Admissions().empty());
  CHECK(!c.core(leader).configuration().Find(9));
}

TEST_CASE("Core: a member that stops joining before its removal stays out",
          "[core][membership]") {
  Cluster c({1, 2, 3}, {9}, {}, true, /*unlisted_observers=*/true);
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  c.Run(40);
  const std::vector<ConfigChange> asks = c.core(leader).Admissions();
  REQUIRE(asks.size() == 1);
  REQUIRE(c.core(leader).ProposeConfig(asks[0]).ok());
  c.Run(20);
  REQUIRE(c.core(leader).configuration().IsObserver(9));
  // It registers again while a member (a gap in what it was sent, say),
  // asking to join as every member's registration does.
  Message again;
  again.type = MessageType::kFollowerInfo;
  again.from = 9;
  again.to = leader;
  again.state = PeerState::kFollowing;
  again.epoch = c.core(9).status().accepted_epoch;
  zab::LearnerInfo member_asks;
  member_asks.address = "h9";
  member_asks.joining = true;
  again.data = EncodeLearnerInfo(member_asks);
  c.core(leader).Step(again);
  c.Run(20);
  CHECK(c.core(leader).Admissions().empty());
  // Leaving while running: the peer stops asking first, then its removal
  // commits. Nothing it sent before or sends afterwards brings it back.
  c.core(9).SetJoining(false);
  REQUIRE(c.core(leader)
              .ProposeConfig({ConfigChange::Kind::kRemoveObserver, 9, ""})
              .ok());
  // The autopilot asks for admissions on every tick: at no tick may it find
  // one for 9.
  bool readmitted = false;
  for (int round = 0; round < 80; ++round) {
    c.Run(1);
    for (const ConfigChange& a : c.core(leader).Admissions()) {
      readmitted = readmitted || a.id == 9;
    }
  }
  CHECK(!readmitted);
  CHECK(!c.core(leader).configuration().Find(9));
  CHECK(c.core(leader).Admissions().empty());
  // Had it kept asking (a removal by someone else), the running peer would
  // be admitted again once it finds itself without a leader: the order
  // above is what makes a leave final.
  c.core(9).SetJoining(true);
  c.Run(200);
  REQUIRE(c.core(leader).Admissions().size() == 1);
  CHECK(c.core(leader).Admissions()[0].id == 9);
}

TEST_CASE("Core: a restarted leader does not take its old followers' word "
          "that it leads",
          "[core][election]") {
  Cluster c({1, 2, 3});
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  for (int i = 0; i < 3; ++i) REQUIRE(c.core(leader).Propose("x").ok());
  c.Run(5);
  const int64_t epoch = c.core(leader).status().current_epoch;
  // Restarted at once: the others still follow it in `epoch` and answer its
  // election notifications with that decision.
  c.Stop(leader);
  c.Restart(leader);
  bool stale = false;
  bool settled = false;
  for (int round = 0; round < 300 && !settled; ++round) {
    c.Run(1);
    bool others_follow_old = true;
    for (PeerId id : {1, 2, 3}) {
      if (id == leader) continue;
      const CoreStatus s = c.core(id).status();
      others_follow_old = others_follow_old &&
                          s.state == PeerState::kFollowing &&
                          s.leader == leader && s.current_epoch == epoch;
    }
    // Leading again, while both others still follow the leadership it
    // held before the restart: it took their stale word.
    if (c.core(leader).status().state == PeerState::kLeading &&
        others_follow_old) {
      stale = true;
    }
    settled = c.Leader() != 0 &&
              c.core(c.Leader()).status().current_epoch > epoch &&
              c.core(c.Leader()).status().serving;
  }
  CHECK(!stale);
  CHECK(settled);
}

// Durable states of voters 1..3 whose founding configuration names each at
// "<prefix><id>:<port>".
std::map<PeerId, DurableState> NamedFounders(const std::string& prefix,
                                             int port) {
  Config named;
  for (PeerId id : {1, 2, 3}) {
    named.voters.push_back(
        Member{id, prefix + std::to_string(id) + ":" + std::to_string(port)});
  }
  std::map<PeerId, DurableState> disks;
  for (PeerId id : {1, 2, 3}) disks[id].base_config = named;
  return disks;
}

TEST_CASE("Core: a decided peer's election reply names its leader's address",
          "[core][membership]") {
  Cluster c({1, 2, 3}, {}, NamedFounders("a", 1));
  c.Run(10);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  const PeerId follower = leader == 1 ? 2 : 1;
  c.core(follower).TakeReady();
  // A new peer, looking, asks the follower.
  Message n;
  n.type = MessageType::kNotification;
  n.from = 9;
  n.to = follower;
  n.state = PeerState::kLooking;
  n.round = 1;
  c.core(follower).Step(n);
  bool replied = false;
  for (const Message& m : c.core(follower).TakeReady().messages) {
    if (m.to != 9 || m.type != MessageType::kNotification) continue;
    replied = true;
    CHECK(m.vote.leader == leader);
    CHECK(m.data == "a" + std::to_string(leader) + ":1");
  }
  CHECK(replied);
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

TEST_CASE("Core: a DIFF is cut by bytes too, so every frame fits a peer's limit",
          "[core]") {
  // Peers 2 and 3 hold six entries of 400 KiB; peer 1 has none and is
  // brought up to date by DIFF. One message of all six (2.4 MiB) would be
  // beyond what a batch may carry (max_batch_bytes, 1 MiB).
  std::map<PeerId, DurableState> disks;
  std::vector<Entry> log;
  for (int i = 1; i <= 6; ++i) {
    log.push_back({MakeZxid(1, i), std::string(400 << 10, static_cast<char>('a' + i))});
  }
  disks[2] = DurableState{1, 1, log};
  disks[3] = DurableState{1, 1, log};
  Cluster c({1, 2, 3}, {}, disks);
  c.Run(10);
  REQUIRE(c.Leader() != 0);
  CHECK(c.Sent(MessageType::kDiff) >= 3);
  CHECK(c.MaxPayload(MessageType::kDiff) <= (size_t{1} << 20));
  CHECK(c.peer(1).disk.log.size() == 6);
  CHECK(c.peer(1).applied.size() == 6);
}

TEST_CASE("Core: a peer that lost part of its log neither votes nor acks "
          "until a leader elected without it has synced it",
          "[core]") {
  // Entry b was committed by peers 1 and 3; peer 1's disk then lost it
  // (recovering), peer 2 never had it, and peer 3 is down. Peers 1 and 2
  // would be a quorum, and would lose b: they must not elect.
  const Entry a{MakeZxid(1, 1), "a"}, b{MakeZxid(1, 2), "b"};
  std::map<PeerId, DurableState> disks;
  disks[1] = DurableState{1, 1, {a}};
  disks[1].recovering = true;
  disks[2] = DurableState{1, 1, {a}};
  disks[3] = DurableState{1, 1, {a, b}};
  Cluster c({1, 2, 3}, {}, disks);
  c.Stop(3);
  c.Run(60);
  CHECK(c.Leader() == 0);
  CHECK(c.core(1).status().state != PeerState::kLeading);
  CHECK(c.core(1).status().recovering);
  CHECK(c.core(2).status().state != PeerState::kLeading);

  c.Restart(3);
  c.Run(40);
  const PeerId leader = c.Leader();
  REQUIRE((leader == 2 || leader == 3));
  for (PeerId id : {1, 2, 3}) {
    INFO("peer " << id);
    CHECK(Payloads(c.peer(id).disk.log) == std::vector<std::string>{"a", "b"});
  }
  // Synced by that leader: peer 1 is a voter again, durably.
  CHECK_FALSE(c.peer(1).disk.recovering);
  CHECK_FALSE(c.core(1).status().recovering);
  CHECK(c.core(1).status().state == PeerState::kFollowing);
  // Its acks count again: with peer 2 down, the leader commits with it.
  const PeerId other = leader == 2 ? 3 : 2;
  REQUIRE(c.core(leader).Propose("c").ok());
  c.Stop(other);
  c.Run(3);
  CHECK(Payloads(c.peer(1).applied).back() == "c");
  CHECK(Payloads(c.peer(leader).applied).back() == "c");
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

namespace synod::zab {
namespace {

// Brings up three voters, takes follower `down` away while the leader
// commits five entries, and compacts the two live peers' whole logs.
struct CompactedCluster {
  explicit CompactedCluster(bool snapshots) : c({1, 2, 3}, {}, {}, snapshots) {
    c.Run(20);
    leader = c.Leader();
    REQUIRE(leader != 0);
    down = leader == 1 ? 2 : 1;
    other = 6 - leader - down;
    c.Stop(down);
    for (const char* d : {"a", "b", "c", "d", "e"}) {
      REQUIRE(c.core(leader).Propose(d).ok());
    }
    c.Run(2);
    REQUIRE(c.peer(other).applied.size() == 5);
    c.Compact(leader);
    c.Compact(other);
    REQUIRE(c.core(leader).log().empty());
    REQUIRE(c.core(leader).base_zxid() == c.peer(leader).applied.back().zxid);
  }
  Cluster c;
  PeerId leader = 0, down = 0, other = 0;
};

TEST_CASE("Core: a learner behind the leader's compaction gets SNAP",
          "[core]") {
  CompactedCluster cc(/*snapshots=*/true);
  Cluster& c = cc.c;
  c.Restart(cc.down);
  c.Run(30);
  CHECK(c.Sent(MessageType::kSnap) >= 1);
  CHECK(c.Sent(MessageType::kSnapChunk) > 1);  // 8-byte chunks
  CHECK(Payloads(c.peer(cc.down).applied) ==
        std::vector<std::string>{"a", "b", "c", "d", "e"});
  CHECK(c.peer(cc.down).applied == c.peer(cc.leader).applied);
  CHECK(c.peer(cc.down).disk.log.empty());
  CHECK(c.peer(cc.down).disk.base_zxid ==
        c.peer(cc.leader).applied.back().zxid);
  CoreStatus s = c.core(cc.down).status();
  CHECK(s.serving);
  CHECK(s.committed_zxid == c.peer(cc.leader).applied.back().zxid);
  // Broadcast continues on top of the snapshot.
  REQUIRE(c.core(cc.leader).Propose("f").ok());
  c.Run(2);
  CHECK(Payloads(c.peer(cc.down).applied) ==
        std::vector<std::string>{"a", "b", "c", "d", "e", "f"});
  CHECK(c.peer(cc.down).disk.log.size() == 1);
}

TEST_CASE("Core: SNAP carries the configuration as of the snapshot",
          "[core]") {
  const std::map<PeerId, DurableState> disks = NamedFounders("host", 7);
  const Config named = *disks.at(1).base_config;
  Cluster c({1, 2, 3}, {}, disks);
  c.Run(20);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  const PeerId down = leader == 1 ? 2 : 1;
  const PeerId other = 6 - leader - down;
  c.Stop(down);
  for (const char* d : {"a", "b", "c"}) REQUIRE(c.core(leader).Propose(d).ok());
  c.Run(2);
  c.Compact(leader);
  c.Compact(other);
  // The follower comes back wiped: the founding configuration, which
  // names no address.
  c.peer(down).disk = DurableState{};
  c.peer(down).snapshot.clear();
  c.Restart(down);
  REQUIRE(c.core(down).configuration().voters.size() == 3);
  CHECK(c.core(down).configuration().voters[0].address.empty());
  c.Run(30);
  CHECK(c.Sent(MessageType::kSnap) >= 1);
  CHECK(c.core(down).status().serving);
  CHECK(c.core(down).configuration() == named);
  // Its host persisted it with the snapshot.
  REQUIRE(c.peer(down).disk.base_config.has_value());
  CHECK(*c.peer(down).disk.base_config == named);
}

TEST_CASE("Core: without a snapshot source the leader never DIFFs a hole",
          "[core]") {
  CompactedCluster cc(/*snapshots=*/false);
  Cluster& c = cc.c;
  c.Restart(cc.down);
  c.Run(30);
  CHECK(c.Sent(MessageType::kSnap) == 0);
  CHECK(c.peer(cc.down).applied.empty());
  CHECK(c.core(cc.down).log().empty());
}

TEST_CASE("Core: a learner ignores SNAP outside sync and partial streams",
          "[core]") {
  Cluster c({1, 2, 3});
  c.Run(20);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  const PeerId f = leader == 1 ? 2 : 1;
  REQUIRE(c.core(leader).Propose("a").ok());
  c.Run(2);
  const CoreStatus before = c.core(f).status();
  REQUIRE(before.serving);
  // A serving follower gets a stray SNAP stream: nothing changes.
  Message snap;
  snap.type = MessageType::kSnap;
  snap.from = leader;
  snap.to = f;
  snap.zxid = MakeZxid(9, 9);
  c.core(f).Step(snap);
  Message chunk = snap;
  chunk.type = MessageType::kSnapChunk;
  chunk.data = "x";
  chunk.last = true;
  c.core(f).Step(chunk);
  Ready rd = c.core(f).TakeReady();
  CHECK_FALSE(rd.snapshot.has_value());
  CHECK(c.core(f).status().last_zxid == before.last_zxid);
  CHECK(c.core(f).log().size() == 1);
}

// ---- Configuration changes (docs/membership.md) ---------------------------

ConfigChange ChangeOf(ConfigChange::Kind kind, PeerId id) {
  ConfigChange c;
  c.kind = kind;
  c.id = id;
  return c;
}

// The data entries `entries` hold (config entries left out).
std::vector<std::string> DataOf(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) {
    if (!IsConfigData(e.data)) out.push_back(e.data);
  }
  return out;
}

TEST_CASE("Core: an observer promoted to voter acks, and counts",
          "[core][membership]") {
  Cluster c({1, 2, 3}, {4});
  c.Run(20);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  CHECK(c.core(4).status().state == PeerState::kObserving);
  REQUIRE(c.core(leader).ProposeConfig(
                ChangeOf(ConfigChange::Kind::kPromote, 4))
              .ok());
  // One change at a time.
  CHECK(absl::IsFailedPrecondition(c.core(leader).ProposeConfig(
      ChangeOf(ConfigChange::Kind::kRemoveVoter, 1))));
  c.Run(10);
  for (PeerId id : {1, 2, 3, 4}) {
    INFO("peer " << id);
    CHECK(c.core(id).configuration().VoterIds() ==
          std::vector<PeerId>{1, 2, 3, 4});
  }
  CHECK(c.core(4).status().state == PeerState::kFollowing);
  CHECK(c.core(4).status().serving);
  // With two of the old voters gone, the leader and the new voter are not
  // a majority of four, but the leader, one old voter and 4 are.
  std::vector<PeerId> others;
  for (PeerId id : {1, 2, 3}) {
    if (id != leader) others.push_back(id);
  }
  c.Stop(others[0]);
  REQUIRE(c.core(leader).Propose("with-4").ok());
  c.Run(2);
  CHECK(DataOf(c.peer(4).applied).back() == "with-4");
  CHECK(DataOf(c.peer(leader).applied).back() == "with-4");
  c.Stop(others[1]);
  REQUIRE(c.core(leader).Propose("without-quorum").ok());
  c.Run(2);
  CHECK(DataOf(c.peer(leader).applied).back() == "with-4");
}

TEST_CASE("Core: a removed follower leaves the quorum", "[core][membership]") {
  Cluster c({1, 2, 3});
  c.Run(20);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  const PeerId gone = leader == 1 ? 2 : 1;
  const PeerId stays = 6 - leader - gone;
  REQUIRE(c.core(leader).ProposeConfig(
                ChangeOf(ConfigChange::Kind::kRemoveVoter, gone))
              .ok());
  c.Run(10);
  CHECK(c.core(leader).configuration().VoterIds().size() == 2);
  CHECK_FALSE(c.core(leader).configuration().IsVoter(gone));
  CHECK(c.core(stays).configuration() == c.core(leader).configuration());
  CHECK(c.core(gone).status().state != PeerState::kFollowing);
  // Two voters now: the leader and `stays` commit without `gone`.
  c.Stop(gone);
  REQUIRE(c.core(leader).Propose("after").ok());
  c.Run(2);
  CHECK(DataOf(c.peer(stays).applied).back() == "after");
}

TEST_CASE("Core: a leader that removes itself announces the change, then "
          "steps down",
          "[core][membership]") {
  Cluster c({1, 2, 3});
  c.Run(20);
  const PeerId old = c.Leader();
  REQUIRE(old != 0);
  REQUIRE(c.core(old).ProposeConfig(
                ChangeOf(ConfigChange::Kind::kRemoveVoter, old))
              .ok());
  // Its removal is logged: it takes nothing new.
  CHECK(absl::IsUnavailable(c.core(old).Propose("late")));
  c.Run(40);
  const PeerId next = c.Leader();
  REQUIRE(next != 0);
  CHECK(next != old);
  CHECK(c.core(old).status().state != PeerState::kLeading);
  // The followers learned of the change (the old leader's COMMIT went out
  // before it stepped down, or the new leader committed it).
  for (PeerId id : {1, 2, 3}) {
    if (id == old) continue;
    INFO("peer " << id);
    CHECK_FALSE(c.core(id).configuration().IsVoter(old));
  }
  REQUIRE(c.core(next).Propose("next").ok());
  c.Run(2);
  CHECK(DataOf(c.peer(next).applied).back() == "next");
}

TEST_CASE("Core: an observer promoted while a voter is down commits the "
          "change without an election",
          "[core][membership]") {
  Cluster c({1, 2, 3}, {4});
  c.Run(20);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  const int64_t epoch = c.core(leader).status().current_epoch;
  const PeerId down = leader == 1 ? 2 : 1;
  c.Stop(down);
  // The change needs 4's ack (three of {1, 2, 3, 4}, with one down): the
  // leader stages 4 as a follower at once.
  REQUIRE(c.core(leader).ProposeConfig(
                ChangeOf(ConfigChange::Kind::kPromote, 4))
              .ok());
  c.Run(3);
  CHECK(c.Leader() == leader);
  CHECK(c.core(leader).status().current_epoch == epoch);
  CHECK(c.core(leader).status().committed_zxid >=
        c.core(leader).configuration().version);
  CHECK(c.core(4).status().state == PeerState::kFollowing);
  CHECK(c.core(4).status().serving);
  REQUIRE(c.core(leader).Propose("after").ok());
  c.Run(2);
  CHECK(DataOf(c.peer(4).applied).back() == "after");
}

TEST_CASE("Core: the autopilot replaces a dead voter with an observer, "
          "without an election",
          "[core][membership]") {
  Cluster c({1, 2, 3}, {4, 5});
  c.Run(20);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  const int64_t epoch = c.core(leader).status().current_epoch;
  const PeerId dead = leader == 1 ? 2 : 1;
  c.Stop(dead);
  AutopilotPolicy policy;
  policy.dead_voter_ticks = 30;
  // The host's part: on each tick, ask the autopilot and propose.
  auto tick = [&] {
    c.Run(1);
    std::optional<ConfigChange> change = NextAutopilotChange(
        c.core(leader).configuration(), leader, c.core(leader).MemberStates(),
        policy);
    if (change) (void)c.core(leader).ProposeConfig(*change);
  };
  for (int t = 0; t < 25; ++t) tick();
  // Not dead for long enough yet: the configuration is the founding one.
  CHECK(c.core(leader).configuration().version == 0);
  for (int t = 0; t < 20; ++t) tick();
  CHECK(c.Leader() == leader);
  CHECK(c.core(leader).status().current_epoch == epoch);
  const Config& now = c.core(leader).configuration();
  CHECK(now.VoterIds().size() == 3);
  CHECK_FALSE(now.IsVoter(dead));
  CHECK(now.IsVoter(4));  // the lowest healthy observer
  CHECK(c.core(leader).status().committed_zxid >= now.version);
  // Writes commit, and the survivors hold them.
  REQUIRE(c.core(leader).Propose("after").ok());
  c.Run(2);
  CHECK(DataOf(c.peer(4).applied).back() == "after");
  // Still gone, the demoted voter is tidied away too, after ten times the
  // dead-voter time (it would ask to be admitted again if it came back);
  // then nothing more changes: no churn.
  CHECK(c.core(leader).configuration().IsObserver(dead));
  for (int t = 0; t < 300; ++t) tick();
  CHECK(c.core(leader).configuration().Find(dead) == nullptr);
  const Zxid settled = c.core(leader).configuration().version;
  for (int t = 0; t < 40; ++t) tick();
  CHECK(c.core(leader).configuration().version == settled);
}

TEST_CASE("Core: configuration changes that cannot be made are refused",
          "[core][membership]") {
  Cluster c({1, 2, 3}, {4});
  c.Run(20);
  const PeerId leader = c.Leader();
  REQUIRE(leader != 0);
  const PeerId follower = leader == 1 ? 2 : 1;
  using Kind = ConfigChange::Kind;
  CHECK(absl::IsUnavailable(
      c.core(follower).ProposeConfig(ChangeOf(Kind::kPromote, 4))));
  CHECK(absl::IsInvalidArgument(
      c.core(leader).ProposeConfig(ChangeOf(Kind::kPromote, follower))));
  CHECK(absl::IsInvalidArgument(
      c.core(leader).ProposeConfig(ChangeOf(Kind::kRemoveVoter, 9))));
  // A dead observer cannot be promoted; with one voter down, the others
  // are no quorum of four.
  c.Stop(4);
  c.Run(10);
  CHECK(absl::IsFailedPrecondition(
      c.core(leader).ProposeConfig(ChangeOf(Kind::kPromote, 4))));
  // Data that would read as a config entry never becomes one.
  CHECK(absl::IsInvalidArgument(
      c.core(leader).Propose(ConfigEntryData(c.core(leader).configuration()))));
  CHECK(c.core(leader).configuration().VoterIds() ==
        std::vector<PeerId>{1, 2, 3});
}

}  // namespace
}  // namespace synod::zab
