// A deterministic, in-memory network for zab::Message, for simulating whole
// ensembles in one process. Everything random comes from one seeded PRNG
// implemented here (not <random>'s distributions, whose output differs
// across standard libraries), time is virtual integer ticks, ties are broken
// by a global sequence number and no ordered output depends on hash-map
// order: a seed replays the same run on any machine.
//
// Model. Each ordered pair (from, to) is a link. By default a link is FIFO,
// like the TCP stream ZAB runs over: a message is never delivered before one
// sent earlier on the same link; messages on different links reorder freely
// through their random delays. Faults: random drop and duplication, full
// partitions, isolation of a peer, one-way cuts, connection resets and
// crashed peers. A partition, cut, isolation, reset or crash discards what
// is in flight on the affected links (a broken connection loses its
// buffers); later sends on a healed link flow again.

#ifndef SYNOD_TEST_SIM_SIM_NETWORK_H_
#define SYNOD_TEST_SIM_SIM_NETWORK_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zab/message.h"

namespace synod::sim {

// Virtual time: ticks since the start of the simulation.
using Tick = int64_t;

// A small seeded PRNG: xoshiro256** seeded by splitmix64. Its output is a
// function of the seed alone (fixed-width integer arithmetic, no
// platform-dependent distributions).
class Rng {
 public:
  // Guarantees: two Rngs built with the same seed yield the same sequence.
  explicit Rng(uint64_t seed);

  // Returns the next 64 uniformly distributed bits.
  uint64_t Next();

  // Returns an integer uniform in [0, n), without modulo bias; 0 if n == 0.
  uint64_t Uniform(uint64_t n);

  // Returns an integer uniform in [lo, hi]; lo if hi <= lo.
  int64_t Range(int64_t lo, int64_t hi);

  // Returns true with probability p. p <= 0 is always false and p >= 1
  // always true, and neither consumes randomness.
  bool Chance(double p);

 private:
  uint64_t s_[4];
};

// How a Network behaves; every field can be changed mid-run by its setter.
struct NetworkOptions {
  // Each message's latency is uniform in [min_delay, max_delay] ticks.
  Tick min_delay = 1;
  Tick max_delay = 10;
  // Probability that a send is lost. With fifo_per_link a random loss makes
  // a gap TCP never would; to model TCP faithfully keep it 0 and use
  // ResetLink for broken connections.
  double drop_probability = 0;
  // Probability that a send is delivered twice (the copy has its own delay).
  double duplicate_probability = 0;
  // Per-link FIFO delivery (the default, as over TCP).
  bool fifo_per_link = true;
  // Record a trace of sends, deliveries, drops and fault changes.
  bool trace = false;
  // Keep at most this many trace lines (the oldest go first); 0 keeps all.
  size_t trace_capacity = 0;
};

// Counters since construction. Always sent + duplicated == delivered +
// dropped + InFlight().
struct NetworkStats {
  uint64_t sent = 0;        // Send calls
  uint64_t delivered = 0;   // messages returned by Next/PopDue
  uint64_t dropped = 0;     // lost for any reason, at send or in flight
  uint64_t duplicated = 0;  // extra copies enqueued
};

// The network. Not thread-safe (a simulation is single-threaded).
class Network {
 public:
  // Trace lines Trace() returns by default: the recent history.
  static constexpr size_t kTraceTailLines = 200;
  // Pass to Trace() for the whole retained trace.
  static constexpr size_t kAllTraceLines = std::numeric_limits<size_t>::max();

  // Guarantees: the same seed, options and call sequence give the same
  // deliveries, counters and trace.
  explicit Network(uint64_t seed, NetworkOptions options = {});

  // The current virtual time; starts at 0, never decreases.
  Tick Now() const { return now_; }

  // Moves time forward to `t`; never backward (an earlier `t` is ignored).
  // Delivers nothing: messages that came due are returned by Next/PopDue.
  void AdvanceTo(Tick t);

  // Returns the earliest delivery time in flight (possibly <= Now() if not
  // yet collected), or nullopt if nothing is in flight.
  std::optional<Tick> NextEventTime() const;

  // Sends `m` from m.from to m.to. It is dropped now if either end is down,
  // the link is blocked (partition, cut, isolation), or by the random drop;
  // otherwise it is delivered at Now() + a delay in [min_delay, max_delay],
  // later if FIFO requires, and possibly twice.
  void Send(zab::Message m);

  // Returns the in-flight message with the earliest (delivery time, send
  // sequence) if that time is <= `until`, and advances Now() to its delivery
  // time (never backward). Returns nullopt and leaves time alone otherwise.
  std::optional<zab::Message> Next(Tick until);

  // Advances to `now`, then appends every message due by then to `*out` in
  // (delivery time, send sequence) order. Returns how many it appended.
  size_t PopDue(Tick now, std::vector<zab::Message>* out);

  // Messages sent and not yet delivered or dropped.
  size_t InFlight() const { return queue_.size(); }

  // Fault settings, effective for later sends (delays, drop, duplicate) or
  // later deliveries (FIFO only orders messages sent from now on).
  void SetDelay(Tick min_delay, Tick max_delay);  // clamps to 0 <= min <= max
  void SetDropProbability(double p);
  void SetDuplicateProbability(double p);
  void SetFifo(bool fifo_per_link);
  const NetworkOptions& options() const { return options_; }

  // Splits peers into `groups`: messages between different groups are
  // dropped, in flight ones at once. A peer in no group is alone; a peer
  // listed twice belongs to its last group. Replaces an earlier partition;
  // cuts and isolation stay. A peer's messages to itself are never blocked.
  void Partition(const std::vector<std::vector<zab::PeerId>>& groups);

  // Blocks every message to and from `peer` (in flight ones are dropped).
  void Isolate(zab::PeerId peer);

  // Blocks messages from `from` to `to` only; `to` -> `from` still flows.
  void Cut(zab::PeerId from, zab::PeerId to);

  // Removes every partition, isolation and cut. Down peers stay down.
  void Heal();

  // Returns true if a message from `from` to `to` would be blocked by a
  // partition, isolation or cut (not counting down peers).
  bool Blocked(zab::PeerId from, zab::PeerId to) const;

  // Breaks the connection between `a` and `b`: drops everything in flight
  // on both a->b and b->a. Later sends flow normally.
  void ResetLink(zab::PeerId a, zab::PeerId b);

  // Crashes (`down` true) or restarts a peer. While down, its sends and
  // messages to it are dropped; going down discards what is in flight to
  // it (messages it sent before crashing stay in flight).
  void SetDown(zab::PeerId peer, bool down);
  bool IsDown(zab::PeerId peer) const { return down_.count(peer) > 0; }

  // The counters.
  const NetworkStats& stats() const { return stats_; }

  // Starts or stops recording the trace.
  void EnableTrace(bool on) { options_.trace = on; }

  // Appends "t=<now> note <text>" to the trace (if enabled): lets a
  // scheduler interleave its own events (crashes, timers) with the network's.
  void Note(std::string_view text);

  // Returns the last `max_lines` trace lines, each ending in '\n', e.g.
  // "t=12 deliver 2->1 PROPOSAL zxid=0x1:5".
  std::string Trace(size_t max_lines = kTraceTailLines) const;

  // Number of trace lines retained.
  size_t TraceSize() const { return trace_.size(); }

 private:
  using Link = std::pair<zab::PeerId, zab::PeerId>;
  // (delivery time, global send sequence): a total, deterministic order.
  using Key = std::pair<Tick, uint64_t>;

  // Enqueues one copy of `m` with a fresh delay; `verb` names it in the trace.
  void Enqueue(zab::Message m, const char* verb);
  // Returns why from->to is blocked ("isolated", "cut", "partition"), or
  // nullptr.
  const char* BlockReason(zab::PeerId from, zab::PeerId to) const;
  // Drops every in-flight message for which `reason_of` returns non-null.
  template <typename F>
  void DropInFlight(F reason_of);
  void Drop(const zab::Message& m, const char* reason);
  void Log(const std::string& line);
  void Log(const char* verb, const zab::Message& m, const std::string& suffix);

  NetworkOptions options_;
  Rng rng_;
  Tick now_ = 0;
  uint64_t seq_ = 0;
  std::map<Key, zab::Message> queue_;
  std::map<Link, Tick> link_tail_;  // latest delivery time queued per link
  bool partitioned_ = false;
  std::map<zab::PeerId, size_t> group_of_;
  std::set<zab::PeerId> isolated_;
  std::set<Link> cuts_;
  std::set<zab::PeerId> down_;
  NetworkStats stats_;
  std::deque<std::string> trace_;
};

}  // namespace synod::sim

#endif  // SYNOD_TEST_SIM_SIM_NETWORK_H_
