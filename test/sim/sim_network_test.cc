// Tests for test/sim/sim_network: the seeded PRNG, replayable runs, per-link
// FIFO, random drops and duplicates, partitions, cuts, isolation, connection
// resets, down peers, virtual time and the trace.

#include "sim/sim_network.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "synod/types.h"
#include "zab/message.h"

namespace synod::sim {
namespace {

using zab::Message;
using zab::MessageType;
using zab::PeerId;

// A proposal from -> to whose zxid counter `n` identifies it.
Message Msg(PeerId from, PeerId to, int64_t n) {
  Message m;
  m.type = MessageType::kProposal;
  m.from = from;
  m.to = to;
  m.zxid = MakeZxid(1, n);
  return m;
}

int64_t IdOf(const Message& m) { return CounterOf(m.zxid); }

// Delivers everything that will ever arrive; returns it in delivery order.
std::vector<Message> Drain(Network* net) {
  std::vector<Message> out;
  while (std::optional<Message> m = net->Next(INT64_MAX)) out.push_back(*m);
  return out;
}

// Checks the counters' conservation law.
void CheckConserved(const Network& net) {
  const NetworkStats& s = net.stats();
  CHECK(s.sent + s.duplicated == s.delivered + s.dropped + net.InFlight());
}

struct RunResult {
  std::vector<std::string> deliveries;
  std::string trace;
  NetworkStats stats;
};

// A run with random traffic among 5 peers and faults along the way. The
// traffic comes from a fixed driver seed, so only `seed` varies the network.
RunResult RandomRun(uint64_t seed) {
  NetworkOptions o;
  o.min_delay = 1;
  o.max_delay = 20;
  o.drop_probability = 0.05;
  o.duplicate_probability = 0.05;
  o.trace = true;
  Network net(seed, o);
  Rng driver(7);
  RunResult r;
  std::vector<Message> due;
  for (int64_t i = 1; i <= 3000; ++i) {
    PeerId from = 1 + driver.Uniform(5);
    PeerId to = 1 + driver.Uniform(5);
    net.Send(Msg(from, to, i));
    if (i == 500) net.Partition({{1, 2, 3}, {4, 5}});
    if (i == 800) net.Heal();
    if (i == 1000) net.SetDown(3, true);
    if (i == 1200) net.SetDown(3, false);
    if (i == 1500) net.Cut(1, 2);
    if (i == 1700) net.ResetLink(4, 5);
    if (i == 1800) net.Heal();
    if (driver.Chance(0.3)) {
      due.clear();
      net.PopDue(net.Now() + 1, &due);
      for (const Message& m : due) {
        r.deliveries.push_back("t=" + std::to_string(net.Now()) + " " +
                               zab::Describe(m));
      }
    }
  }
  for (const Message& m : Drain(&net)) r.deliveries.push_back(zab::Describe(m));
  CheckConserved(net);
  r.trace = net.Trace(Network::kAllTraceLines);
  r.stats = net.stats();
  return r;
}

TEST_CASE("Rng is a pure function of its seed", "[simnet]") {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    uint64_t x = a.Next();
    REQUIRE(x == b.Next());
    differs |= x != c.Next();
  }
  CHECK(differs);
  // Pinned: xoshiro256** seeded by splitmix64(0). A change here breaks the
  // replay of every recorded failing seed.
  CHECK(Rng(0).Next() == 0x99ec5f36cb75f2b4ULL);
}

TEST_CASE("Rng::Uniform, Range and Chance stay in bounds", "[simnet]") {
  Rng rng(1);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    uint64_t x = rng.Uniform(7);
    REQUIRE(x < 7);
    ++counts[x];
  }
  for (int c : counts) CHECK((c > 9000 && c < 11000));
  for (int i = 0; i < 1000; ++i) {
    int64_t x = rng.Range(-3, 3);
    REQUIRE((x >= -3 && x <= 3));
  }
  CHECK(rng.Range(5, 5) == 5);
  CHECK(rng.Uniform(0) == 0);
  // Certain outcomes consume no randomness.
  Rng a(9), b(9);
  CHECK_FALSE(a.Chance(0));
  CHECK(a.Chance(1));
  CHECK(a.Next() == b.Next());
}

TEST_CASE("same seed gives the same deliveries and trace", "[simnet]") {
  RunResult a = RandomRun(1234);
  RunResult b = RandomRun(1234);
  REQUIRE(a.deliveries.size() > 1000);
  CHECK(a.deliveries == b.deliveries);
  CHECK(a.trace == b.trace);
  CHECK(a.stats.delivered == b.stats.delivered);
  CHECK(a.stats.dropped == b.stats.dropped);
  CHECK(a.stats.duplicated == b.stats.duplicated);
  CHECK(a.stats.dropped > 0);
  CHECK(a.stats.duplicated > 0);
}

TEST_CASE("different seeds give different runs", "[simnet]") {
  RunResult a = RandomRun(1);
  RunResult b = RandomRun(2);
  CHECK(a.deliveries != b.deliveries);
  CHECK(a.trace != b.trace);
}

// Sends `n` messages over random links among 3 peers, collecting at random
// times; returns them in delivery order.
std::vector<Message> Traffic(Network* net, int n) {
  Rng driver(3);
  std::vector<Message> out;
  for (int64_t i = 1; i <= n; ++i) {
    PeerId from = 1 + driver.Uniform(3);
    PeerId to = 1 + (from + driver.Uniform(2)) % 3;  // never `from`
    net->Send(Msg(from, to, i));
    if (driver.Chance(0.5)) net->PopDue(net->Now() + 1, &out);
  }
  for (const Message& m : Drain(net)) out.push_back(m);
  return out;
}

TEST_CASE("links are FIFO by default, reordering is across links", "[simnet]") {
  NetworkOptions o;
  o.min_delay = 1;
  o.max_delay = 50;
  Network net(77, o);
  REQUIRE(net.options().fifo_per_link);
  std::vector<Message> got = Traffic(&net, 5000);
  REQUIRE(got.size() == 5000);
  std::map<std::pair<PeerId, PeerId>, int64_t> last;
  int64_t latest = 0;
  bool cross_link_reorder = false;
  for (const Message& m : got) {
    int64_t& prev = last[{m.from, m.to}];
    REQUIRE(IdOf(m) > prev);
    prev = IdOf(m);
    cross_link_reorder |= IdOf(m) < latest;
    latest = std::max(latest, IdOf(m));
  }
  CHECK(cross_link_reorder);
  CheckConserved(net);
}

TEST_CASE("without FIFO a link reorders", "[simnet]") {
  NetworkOptions o;
  o.min_delay = 1;
  o.max_delay = 50;
  o.fifo_per_link = false;
  Network net(77, o);
  std::map<std::pair<PeerId, PeerId>, int64_t> last;
  bool reordered = false;
  for (const Message& m : Traffic(&net, 5000)) {
    int64_t& prev = last[{m.from, m.to}];
    reordered |= IdOf(m) < prev;
    prev = std::max(prev, IdOf(m));
  }
  CHECK(reordered);
}

TEST_CASE("drop rate is roughly as configured", "[simnet]") {
  NetworkOptions o;
  o.drop_probability = 0.1;
  Network net(5, o);
  for (int64_t i = 1; i <= 10000; ++i) net.Send(Msg(1 + i % 3, 1 + (i + 1) % 3, i));
  std::vector<Message> got = Drain(&net);
  CHECK(net.stats().sent == 10000);
  CHECK(net.stats().dropped > 800);
  CHECK(net.stats().dropped < 1200);
  CHECK(got.size() == 10000 - net.stats().dropped);
  CHECK(net.stats().delivered == got.size());
  CheckConserved(net);
}

TEST_CASE("duplicates appear and are counted", "[simnet]") {
  NetworkOptions o;
  o.duplicate_probability = 0.2;
  Network net(6, o);
  for (int64_t i = 1; i <= 10000; ++i) net.Send(Msg(1, 2, i));
  std::map<int64_t, int> seen;
  for (const Message& m : Drain(&net)) ++seen[IdOf(m)];
  uint64_t twice = 0;
  for (const auto& [id, n] : seen) {
    REQUIRE((n == 1 || n == 2));
    twice += n == 2;
  }
  CHECK(seen.size() == 10000);
  CHECK(twice == net.stats().duplicated);
  CHECK(twice > 1700);
  CHECK(twice < 2300);
  CHECK(net.stats().delivered == 10000 + twice);
  CheckConserved(net);
}

// Sends one message on every ordered pair of `peers` (self included) and
// returns "from->to" for each one delivered.
std::vector<std::string> AllPairs(Network* net, const std::vector<PeerId>& peers) {
  for (PeerId a : peers) {
    for (PeerId b : peers) net->Send(Msg(a, b, 1));
  }
  std::vector<std::string> links;
  for (const Message& m : Drain(net)) {
    links.push_back(std::to_string(m.from) + "->" + std::to_string(m.to));
  }
  std::sort(links.begin(), links.end());
  return links;
}

using Links = std::vector<std::string>;

TEST_CASE("partitions drop traffic between groups until healed", "[simnet]") {
  Network net(8);
  net.Send(Msg(1, 3, 1));  // in flight when the partition starts
  net.Send(Msg(1, 2, 2));
  net.Partition({{1, 2}, {3}});
  CHECK(net.InFlight() == 1);
  CHECK(net.stats().dropped == 1);
  CHECK(net.Blocked(1, 3));
  CHECK(net.Blocked(4, 1));  // unlisted peers are alone
  CHECK_FALSE(net.Blocked(1, 2));
  Drain(&net);
  CHECK(AllPairs(&net, {1, 2, 3, 4}) ==
        Links{"1->1", "1->2", "2->1", "2->2", "3->3", "4->4"});
  net.Heal();
  CHECK(AllPairs(&net, {1, 2, 3}).size() == 9);
  CheckConserved(net);
}

TEST_CASE("a cut is one-way", "[simnet]") {
  Network net(9);
  net.Send(Msg(1, 2, 1));
  net.Send(Msg(2, 1, 2));
  net.Cut(1, 2);
  REQUIRE(net.InFlight() == 1);  // 1->2 was in flight: lost
  CHECK(net.Blocked(1, 2));
  CHECK_FALSE(net.Blocked(2, 1));
  Drain(&net);
  CHECK(AllPairs(&net, {1, 2, 3}) ==
        Links{"1->1", "1->3", "2->1", "2->2", "2->3", "3->1", "3->2", "3->3"});
  net.Heal();
  CHECK_FALSE(net.Blocked(1, 2));
  CHECK(AllPairs(&net, {1, 2}).size() == 4);
}

TEST_CASE("an isolated peer neither sends nor receives", "[simnet]") {
  Network net(10);
  net.Isolate(3);
  CHECK(AllPairs(&net, {1, 2, 3}) ==
        Links{"1->1", "1->2", "2->1", "2->2", "3->3"});
  net.Heal();
  CHECK(AllPairs(&net, {1, 2, 3}).size() == 9);
}

TEST_CASE("ResetLink discards what is in flight on that link only", "[simnet]") {
  Network net(11);
  net.Send(Msg(1, 2, 1));
  net.Send(Msg(2, 1, 2));
  net.Send(Msg(1, 3, 3));
  net.ResetLink(1, 2);
  CHECK(net.stats().dropped == 2);
  std::vector<Message> got = Drain(&net);
  REQUIRE(got.size() == 1);
  CHECK(IdOf(got[0]) == 3);
  net.Send(Msg(1, 2, 4));  // a new connection works
  got = Drain(&net);
  REQUIRE(got.size() == 1);
  CHECK(IdOf(got[0]) == 4);
  CheckConserved(net);
}

TEST_CASE("down peers neither send nor receive", "[simnet]") {
  Network net(12);
  net.Send(Msg(1, 3, 1));
  net.Send(Msg(3, 1, 2));  // sent before the crash: still arrives
  net.SetDown(3, true);
  CHECK(net.IsDown(3));
  CHECK(net.InFlight() == 1);
  net.Send(Msg(3, 2, 3));
  net.Send(Msg(2, 3, 4));
  net.Send(Msg(1, 2, 5));
  std::vector<int64_t> ids;
  for (const Message& m : Drain(&net)) ids.push_back(IdOf(m));
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<int64_t>{2, 5});
  CHECK(net.stats().dropped == 3);
  net.SetDown(3, false);
  CHECK_FALSE(net.IsDown(3));
  CHECK(AllPairs(&net, {2, 3}).size() == 4);
  CheckConserved(net);
}

TEST_CASE("NextEventTime and AdvanceTo jump to deliveries", "[simnet]") {
  NetworkOptions o;
  o.min_delay = o.max_delay = 5;
  Network net(13, o);
  CHECK(net.Now() == 0);
  CHECK_FALSE(net.NextEventTime().has_value());
  net.Send(Msg(1, 2, 1));
  REQUIRE(net.NextEventTime() == Tick{5});
  CHECK_FALSE(net.Next(4).has_value());
  CHECK(net.Now() == 0);
  net.AdvanceTo(*net.NextEventTime());
  CHECK(net.Now() == 5);
  std::optional<Message> m = net.Next(net.Now());
  REQUIRE(m.has_value());
  CHECK(IdOf(*m) == 1);
  net.AdvanceTo(2);  // never backward
  CHECK(net.Now() == 5);
  net.Send(Msg(1, 2, 2));  // due 10
  net.AdvanceTo(7);
  net.Send(Msg(3, 4, 3));  // due 12
  std::vector<Message> due;
  CHECK(net.PopDue(11, &due) == 1);
  CHECK(net.Now() == 11);
  CHECK(IdOf(due[0]) == 2);
  CHECK(net.NextEventTime() == Tick{12});
  REQUIRE(net.Next(100).has_value());
  CHECK(net.Now() == 12);  // time moves to the delivery, not to `until`
  CHECK_FALSE(net.NextEventTime().has_value());
}

TEST_CASE("ties in delivery time go in send order", "[simnet]") {
  NetworkOptions o;
  o.min_delay = o.max_delay = 3;
  Network net(14, o);
  net.Send(Msg(4, 3, 1));
  net.Send(Msg(1, 2, 2));
  net.Send(Msg(3, 4, 3));
  net.Send(Msg(2, 1, 4));
  std::vector<Message> got;
  net.PopDue(3, &got);
  REQUIRE(got.size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(IdOf(got[i]) == i + 1);
}

TEST_CASE("the trace is readable and keeps the last lines", "[simnet]") {
  NetworkOptions o;
  o.min_delay = o.max_delay = 12;
  o.trace = true;
  Network net(15, o);
  net.Send(Msg(2, 1, 5));
  net.Next(100);
  net.Note("crash 3");
  net.SetDown(3, true);
  net.Send(Msg(3, 1, 6));
  CHECK(net.Trace() ==
        "t=0 send 2->1 PROPOSAL zxid=0x1:5 due=12\n"
        "t=12 deliver 2->1 PROPOSAL zxid=0x1:5\n"
        "t=12 note crash 3\n"
        "t=12 down 3\n"
        "t=12 drop 3->1 PROPOSAL zxid=0x1:6 (down)\n");
  CHECK(net.Trace(1) == "t=12 drop 3->1 PROPOSAL zxid=0x1:6 (down)\n");
  CHECK(net.TraceSize() == 5);

  o.trace_capacity = 2;
  Network capped(15, o);
  for (int64_t i = 1; i <= 5; ++i) capped.Send(Msg(1, 2, i));
  CHECK(capped.TraceSize() == 2);
  CHECK(capped.Trace() ==
        "t=0 send 1->2 PROPOSAL zxid=0x1:4 due=12\n"
        "t=0 send 1->2 PROPOSAL zxid=0x1:5 due=12\n");

  o.trace = false;
  Network quiet(15, o);
  quiet.Send(Msg(1, 2, 1));
  Drain(&quiet);
  CHECK(quiet.Trace().empty());
}

}  // namespace
}  // namespace synod::sim
