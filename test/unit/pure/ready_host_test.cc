// server::ReadyHost: the early-send rule, durability before acks and
// Advance, and barriers written only after everything before them, over
// real zab cores whose disks the test completes by hand.

#include "server/ready_host.h"

#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <memory>
#include <vector>

namespace synod::server {
namespace {

using zab::Message;
using zab::MessageType;
using zab::PeerId;

struct Host {
  std::unique_ptr<zab::Core> core;
  std::unique_ptr<ReadyHost> host;
  std::vector<zab::Entry> unsynced;  // appended, not yet reported durable
  Zxid synced = 0;
};

class Trio {
 public:
  Trio() {
    for (PeerId id : {1, 2, 3}) {
      zab::CoreConfig c;
      c.self = id;
      c.voters = {1, 2, 3};
      Host& h = hosts_[id];
      h.core = std::make_unique<zab::Core>(c, zab::DurableState{});
      h.host = std::make_unique<ReadyHost>(h.core.get());
    }
  }

  Host& at(PeerId id) { return hosts_.at(id); }

  // Takes and carries out `id`'s work; entries stay unsynced unless
  // `instant`, barriers are written at once. Returns the messages sent.
  std::vector<Message> Pump(PeerId id, bool instant) {
    std::vector<Message> sent;
    Host& h = hosts_.at(id);
    WorkLoop(h, instant, &sent);
    return sent;
  }

  // Reports `id`'s unsynced entries durable; returns the messages sent.
  std::vector<Message> Sync(PeerId id) {
    std::vector<Message> sent;
    Host& h = hosts_.at(id);
    if (h.unsynced.empty()) return sent;
    h.synced = h.unsynced.back().zxid;
    h.unsynced.clear();
    HostWork work;
    h.host->OnDurable(h.synced, &work);
    Carry(h, &work, /*instant=*/false, &sent);
    WorkLoop(h, false, &sent);
    return sent;
  }

  void Deliver(const std::vector<Message>& messages) {
    for (const Message& m : messages) {
      if (hosts_.count(m.to) && hosts_[m.to].core && !down_.count(m.to) &&
          !down_.count(m.from)) {
        hosts_[m.to].core->Step(m);
      }
    }
  }

  // Runs every peer with instant disks until one serves as leader; returns
  // it (0: none within the bound).
  PeerId ElectLeader() {
    for (int round = 0; round < 400; ++round) {
      std::vector<Message> all;
      for (auto& [peer, h] : hosts_) {
        if (down_.count(peer)) continue;
        h.core->Tick();
        for (Message& m : Pump(peer, true)) all.push_back(std::move(m));
      }
      for (int i = 0; i < 20 && !all.empty(); ++i) {
        Deliver(all);
        all.clear();
        for (auto& [peer, h] : hosts_) {
          if (down_.count(peer)) continue;
          for (Message& m : Pump(peer, true)) all.push_back(std::move(m));
        }
      }
      for (auto& [peer, h] : hosts_) {
        const zab::CoreStatus st = h.core->status();
        if (!down_.count(peer) && st.state == zab::PeerState::kLeading &&
            st.serving) {
          return peer;
        }
      }
    }
    return 0;
  }

  void Down(PeerId id) { down_[id] = true; }
  void Up(PeerId id) { down_.erase(id); }

 private:
  void WorkLoop(Host& h, bool instant, std::vector<Message>* sent) {
    while (true) {
      HostWork work;
      if (!h.host->TakeNext(&work)) return;
      Carry(h, &work, instant, sent);
    }
  }

  void Carry(Host& h, HostWork* work, bool instant, std::vector<Message>* sent) {
    for (Message& m : work->send) sent->push_back(std::move(m));
    for (zab::Entry& e : work->append) h.unsynced.push_back(std::move(e));
    for (std::string& r : work->requests) (void)h.core->Propose(std::move(r));
    if (instant && !h.unsynced.empty()) {
      h.synced = h.unsynced.back().zxid;
      h.unsynced.clear();
      HostWork done;
      h.host->OnDurable(h.synced, &done);
      Carry(h, &done, instant, sent);
    }
    if (work->persist_barrier) {
      HostWork done;
      h.host->OnBarrierDone(&done);
      Carry(h, &done, instant, sent);
    }
  }

  std::map<PeerId, Host> hosts_;
  std::map<PeerId, bool> down_;
};

int Count(const std::vector<Message>& ms, MessageType type) {
  int n = 0;
  for (const Message& m : ms) n += m.type == type;
  return n;
}

TEST_CASE("ReadyHost: a leader's PROPOSALs leave before its own write is durable",
          "[ready_host]") {
  Trio t;
  const PeerId l = t.ElectLeader();
  REQUIRE(l != 0);
  REQUIRE(t.at(l).core->Propose("a").ok());
  std::vector<Message> sent = t.Pump(l, /*instant=*/false);
  CHECK(Count(sent, MessageType::kProposal) == 2);
  REQUIRE(t.at(l).unsynced.size() == 1);
  const Zxid zxid = t.at(l).unsynced[0].zxid;
  CHECK(t.at(l).host->entries_pending());

  // The followers log it; their ACKs wait for their own writes.
  t.Deliver(sent);
  for (PeerId f : {1, 2, 3}) {
    if (f == l) continue;
    std::vector<Message> before = t.Pump(f, false);
    CHECK(Count(before, MessageType::kAck) == 0);
    std::vector<Message> after = t.Sync(f);
    CHECK(Count(after, MessageType::kAck) == 1);
    t.Deliver(after);
  }
  // Both followers acked, but the leader's own write is not durable: a
  // quorum of durable copies exists (2 of 3), so it commits; its own ack
  // only counts once synced.
  t.Pump(l, false);
  CHECK(t.at(l).core->status().committed_zxid == zxid);
  t.Sync(l);
  CHECK_FALSE(t.at(l).host->entries_pending());
}

TEST_CASE("ReadyHost: the leader commits on its own ack only once it is durable",
          "[ready_host]") {
  Trio t;
  t.Down(1);
  const PeerId l = t.ElectLeader();  // 2 and 3: 3 leads
  REQUIRE(l == 3);
  REQUIRE(t.at(3).core->Propose("a").ok());
  std::vector<Message> sent = t.Pump(3, false);
  const Zxid zxid = t.at(3).unsynced.at(0).zxid;
  t.Deliver(sent);
  t.Pump(2, false);
  t.Deliver(t.Sync(2));
  t.Pump(3, false);
  // One follower ack and an undurable own write: no quorum of two yet.
  CHECK(t.at(3).core->status().committed_zxid < zxid);
  t.Sync(3);
  CHECK(t.at(3).core->status().committed_zxid == zxid);
}

TEST_CASE("ReadyHost: a message waits behind an earlier held one to the same peer",
          "[ready_host]") {
  Trio t;
  const PeerId l = t.ElectLeader();
  REQUIRE(l == 3);
  // Follower 2 logs a proposal (ACK held), then receives another: its
  // second ACK must not overtake the first.
  REQUIRE(t.at(l).core->Propose("a").ok());
  std::vector<Message> first = t.Pump(l, true);
  t.Deliver(first);
  CHECK(Count(t.Pump(2, false), MessageType::kAck) == 0);
  REQUIRE(t.at(l).core->Propose("b").ok());
  t.Deliver(t.Pump(l, true));
  CHECK(Count(t.Pump(2, false), MessageType::kAck) == 0);
  std::vector<Message> acks = t.Sync(2);
  REQUIRE(Count(acks, MessageType::kAck) >= 1);
  // In log order.
  Zxid last = 0;
  for (const Message& m : acks) {
    if (m.type != MessageType::kAck) continue;
    CHECK(m.zxid > last);
    last = m.zxid;
  }
  CHECK(last == t.at(2).synced);
}

TEST_CASE("ReadyHost: a barrier is written only once the entries before it are durable",
          "[ready_host]") {
  Trio t;
  t.Down(3);
  REQUIRE(t.ElectLeader() == 2);
  REQUIRE(t.at(2).core->Propose("a").ok());
  t.Deliver(t.Pump(2, true));
  t.Deliver(t.Pump(1, true));
  t.Pump(2, true);

  // Peer 3 joins: the leader syncs it by DIFF, then NEWLEADER (a new
  // current epoch: a barrier). Its disk completes barriers at once but
  // leaves entries unsynced, and each message is taken on its own.
  t.Up(3);
  std::deque<Message> queue;
  bool waited = false;
  for (int i = 0; i < 400 && !waited; ++i) {
    if (queue.empty()) {
      for (PeerId id : {1, 2, 3}) t.at(id).core->Tick();
      for (PeerId id : {1, 2}) {
        for (Message& m : t.Pump(id, true)) queue.push_back(std::move(m));
      }
      for (Message& m : t.Pump(3, false)) queue.push_back(std::move(m));
      continue;
    }
    Message m = std::move(queue.front());
    queue.pop_front();
    t.Deliver({m});
    for (Message& out : t.Pump(m.to, m.to != 3)) queue.push_back(std::move(out));
    waited = t.at(3).host->waiting_for_durable();
  }
  REQUIRE(waited);
  Host& h = t.at(3);
  CHECK(h.host->blocked());
  CHECK_FALSE(h.host->barrier_written());
  HostWork none;
  CHECK_FALSE(h.host->TakeNext(&none));
  CHECK(none.empty());
  REQUIRE_FALSE(h.unsynced.empty());

  // Its entries become durable: now the barrier is handed out.
  h.synced = h.unsynced.back().zxid;
  h.unsynced.clear();
  HostWork work;
  h.host->OnDurable(h.synced, &work);
  CHECK(work.persist_barrier);
  REQUIRE(h.host->barrier_written());
  CHECK(IsBarrier(*h.host->barrier()));
  HostWork done;
  h.host->OnBarrierDone(&done);
  CHECK_FALSE(h.host->blocked());
}

}  // namespace
}  // namespace synod::server
