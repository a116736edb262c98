// Tests for lib/session/session_tracker: the leader's session deadlines in
// expiry buckets. Expiry timing at bucket boundaries (never early, at most
// one interval late), touches, removal, leadership changes, and a seeded
// property test against a naive map-based model with many sessions.

#include "session/session_tracker.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace synod {
namespace {

using Ids = std::vector<int64_t>;
using Sessions = std::map<int64_t, int32_t>;  // id -> timeout, like the tree

TEST_CASE("ExpiryTime is the first multiple of the interval after a deadline",
          "[session]") {
  SessionTracker t(100);
  CHECK(t.ExpiryTime(0) == 100);
  CHECK(t.ExpiryTime(1) == 100);
  CHECK(t.ExpiryTime(99) == 100);
  CHECK(t.ExpiryTime(100) == 200);  // strictly after: never on the deadline
  CHECK(t.ExpiryTime(101) == 200);
  CHECK(t.ExpiryTime(-1) == 0);
  CHECK(t.ExpiryTime(-100) == 0);
  CHECK(t.ExpiryTime(-101) == -100);
  CHECK(SessionTracker(0).interval_ms() == 1);  // clamped
  CHECK(SessionTracker(-5).ExpiryTime(7) == 8);
}

TEST_CASE("A session expires after its timeout, at most one interval late",
          "[session]") {
  SessionTracker t(100);
  t.StartLeading(Sessions{}, 0);
  // Deadline 1050 + 1000 = 2050: bucket 2100.
  t.Add(7, 1000, 1050);
  REQUIRE(t.ExpiresAt(7) == 2100);
  CHECK(t.TakeExpired(1050).empty());
  CHECK(t.TakeExpired(2050).empty());  // the deadline itself: not yet
  CHECK(t.TakeExpired(2099).empty());
  CHECK(t.TakeExpired(2100) == Ids{7});
  CHECK(!t.Tracks(7));
  CHECK(t.TakeExpired(5000).empty());  // reported once
}

TEST_CASE("A deadline on a bucket boundary goes to the next bucket",
          "[session]") {
  SessionTracker t(100);
  t.StartLeading(Sessions{}, 0);
  t.Add(1, 1000, 1000);  // deadline 2000, exactly a multiple
  REQUIRE(t.ExpiresAt(1) == 2100);
  CHECK(t.TakeExpired(2000).empty());  // never at the deadline
  CHECK(t.TakeExpired(2099).empty());
  CHECK(t.TakeExpired(2100) == Ids{1});  // one full interval late, no more
}

TEST_CASE("Touching moves the deadline, and unknown ids are ignored",
          "[session]") {
  SessionTracker t(100);
  t.StartLeading(Sessions{}, 0);
  t.Add(1, 1000, 0);  // bucket 1100
  t.Add(2, 1000, 0);
  t.Touch(1, 50);  // deadline 1050: same bucket
  CHECK(t.ExpiresAt(1) == 1100);
  t.Touch(1, 900);  // deadline 1900: bucket 2000
  CHECK(t.ExpiresAt(1) == 2000);
  t.Touch(99, 900);  // unknown: nothing tracked, nothing reported
  CHECK(!t.Tracks(99));
  CHECK(t.size() == 2);
  CHECK(t.TakeExpired(1100) == Ids{2});
  CHECK(t.TakeExpired(1999).empty());
  CHECK(t.TakeExpired(2000) == Ids{1});
  CHECK(t.TakeExpired(100000).empty());
  CHECK(t.size() == 0);
}

TEST_CASE("An expired session is not revived by a touch", "[session]") {
  SessionTracker t(10);
  t.StartLeading(Sessions{{5, 100}}, 0);  // bucket 110
  REQUIRE(t.TakeExpired(110) == Ids{5});
  t.Touch(5, 111);  // heard from while the leader closes it: too late
  CHECK(!t.Tracks(5));
  CHECK(t.TakeExpired(1000).empty());
  t.Add(5, 100, 1000);  // re-added: tracked again, reported again
  CHECK(t.ExpiresAt(5) == 1110);
  CHECK(t.TakeExpired(1110) == Ids{5});
}

TEST_CASE("A removed session never expires", "[session]") {
  SessionTracker t(100);
  t.StartLeading(Sessions{{1, 500}, {2, 500}, {3, 500}}, 0);
  t.Remove(2);
  t.Remove(2);   // twice: nothing
  t.Remove(42);  // unknown: nothing
  CHECK(t.size() == 2);
  CHECK(t.TakeExpired(10000) == Ids{1, 3});
  t.Remove(1);  // after being reported: nothing
  CHECK(t.size() == 0);
}

TEST_CASE("Re-adding a tracked session takes its new timeout", "[session]") {
  SessionTracker t(100);
  t.StartLeading(Sessions{}, 0);
  t.Add(1, 1000, 0);
  t.Add(1, 3000, 0);
  CHECK(t.size() == 1);
  CHECK(t.ExpiresAt(1) == 3100);
  CHECK(t.TakeExpired(3099).empty());
  CHECK(t.TakeExpired(3100) == Ids{1});
  t.Add(2, -5, 4000);  // a negative timeout counts as 0
  CHECK(t.ExpiresAt(2) == 4100);
  t.Touch(2, 4150);
  CHECK(t.ExpiresAt(2) == 4200);
}

TEST_CASE("Each leadership gives every session a full timeout", "[session]") {
  SessionTracker t(100);
  Sessions tree{{1, 1000}, {2, 2000}};
  t.StartLeading(tree, 0);
  CHECK(t.ExpiresAt(1) == 1100);
  CHECK(t.ExpiresAt(2) == 2100);
  // A new epoch at 900: deadlines start over from then, whatever they were.
  t.StartLeading(tree, 900);
  CHECK(t.ExpiresAt(1) == 2000);
  CHECK(t.ExpiresAt(2) == 3000);
  CHECK(t.TakeExpired(1100).empty());
  // A session reported expired but not yet closed comes back with the
  // next leadership (the new leader's tree still holds it).
  CHECK(t.TakeExpired(2000) == Ids{1});
  t.StartLeading(tree, 2000);
  CHECK(t.ExpiresAt(1) == 3100);
  // The tree's set is the truth: a session it lacks is forgotten.
  t.StartLeading(Sessions{{2, 2000}}, 2000);
  CHECK(!t.Tracks(1));
  CHECK(t.TakeExpired(4100) == Ids{2});
}

TEST_CASE("Nothing is tracked while not leading", "[session]") {
  SessionTracker t(100);
  CHECK(!t.leading());
  t.Add(1, 1000, 0);  // a follower applies create_session: not tracked
  CHECK(t.size() == 0);
  t.StartLeading(Sessions{{1, 1000}, {2, 1000}}, 0);
  CHECK(t.leading());
  t.StopLeading();
  CHECK(!t.leading());
  CHECK(t.size() == 0);
  t.Touch(1, 10);
  t.Add(3, 1000, 10);
  CHECK(t.size() == 0);
  CHECK(t.TakeExpired(100000).empty());  // a follower expires nothing
}

TEST_CASE("Many sessions in one bucket are reported together, sorted",
          "[session]") {
  SessionTracker t(1000);
  t.StartLeading(Sessions{}, 0);
  for (int64_t id = 300; id > 0; --id) t.Add(id * 7919 % 1000, 500, 100);
  Ids want;
  for (int64_t id = 300; id > 0; --id) want.push_back(id * 7919 % 1000);
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  CHECK(t.TakeExpired(999).empty());
  CHECK(t.TakeExpired(1000) == want);
}

TEST_CASE("Late, out-of-order and jumping clocks keep the guarantee",
          "[session]") {
  SessionTracker t(100);
  t.StartLeading(Sessions{}, 0);
  t.Add(1, 1000, 0);
  REQUIRE(t.TakeExpired(5000) == Ids{1});  // one call long after: a jump
  // A touch stamped before the last TakeExpired counts from it, so the
  // session lands in a bucket still ahead.
  t.Add(2, 0, 4000);
  CHECK(t.ExpiresAt(2) == 5100);
  CHECK(t.TakeExpired(4500).empty());  // time going back: nothing new
  CHECK(t.TakeExpired(5099).empty());
  CHECK(t.TakeExpired(5100) == Ids{2});
  // Far apart sessions, polled rarely and often.
  t.Add(3, 1'000'000, 6000);
  t.Add(4, 100, 6000);
  CHECK(t.TakeExpired(6200) == Ids{4});
  CHECK(t.TakeExpired(1'006'099).empty());
  CHECK(t.TakeExpired(1'006'100) == Ids{3});
}

// The naive model: each session's raw deadline in a map, scanned whole.
struct Model {
  struct S {
    int32_t timeout = 0;
    int64_t deadline = 0;
  };
  std::map<int64_t, S> sessions;
  bool leading = false;
};

// The open sessions, as the leader's tree holds them, with a random pick.
struct OpenSessions {
  Sessions timeouts;                   // id -> timeout, sorted like a tree
  std::vector<int64_t> ids;            // for picking at random
  std::map<int64_t, size_t> position;  // id -> index in ids

  void Add(int64_t id, int32_t timeout) {
    timeouts[id] = timeout;
    position[id] = ids.size();
    ids.push_back(id);
  }
  void Erase(int64_t id) {
    auto it = position.find(id);
    if (it == position.end()) return;
    const size_t i = it->second;
    position.erase(it);
    timeouts.erase(id);
    if (i + 1 != ids.size()) {
      ids[i] = ids.back();
      position[ids[i]] = i;
    }
    ids.pop_back();
  }
};

// The shape of one random history.
struct Params {
  int64_t interval;      // the tick
  int64_t max_timeout;   // in intervals
  int64_t max_advance;   // most time passes per step, in intervals / 4
  int steps;
};

// Runs random operations on a tracker and on the model, checking after
// each TakeExpired that both report the same set, that nothing is reported
// before its raw deadline, and that nothing stays tracked more than one
// interval past it. Returns the most sessions open at once.
size_t RunAgainstModel(uint64_t seed, const Params& p) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const int64_t interval = p.interval;
  SessionTracker t(interval);
  Model m;
  int64_t now = pick(0, 1'000'000);
  int64_t next_id = 1;
  OpenSessions open;
  auto random_open = [&]() -> int64_t {
    if (open.ids.empty()) return 0;
    return open.ids[pick(0, static_cast<int64_t>(open.ids.size()) - 1)];
  };
  auto lead = [&]() {
    t.StartLeading(open.timeouts, now);
    m.leading = true;
    m.sessions.clear();
    for (const auto& [id, timeout] : open.timeouts) {
      m.sessions[id] = Model::S{timeout, now + timeout};
    }
  };
  lead();
  int64_t reported = 0;
  size_t most_open = 0;
  for (int step = 0; step < p.steps; ++step) {
    const int64_t op = pick(0, 99);
    if (op < 25) {  // a create_session commits
      const int64_t id = next_id++;
      const int32_t timeout = static_cast<int32_t>(
          pick(0, p.max_timeout * 4) * interval / 4 + pick(0, interval));
      open.Add(id, timeout);
      t.Add(id, timeout, now);
      if (m.leading) m.sessions[id] = Model::S{timeout, now + timeout};
    } else if (op < 60) {  // a touch, of an open or an unknown session
      const int64_t id = pick(0, 9) == 0 ? next_id + 1000 : random_open();
      t.Touch(id, now);
      auto it = m.sessions.find(id);
      if (it != m.sessions.end()) it->second.deadline = now + it->second.timeout;
    } else if (op < 70) {  // a close_session commits
      const int64_t id = random_open();
      open.Erase(id);
      t.Remove(id);
      m.sessions.erase(id);
    } else if (op < 71) {  // a new leadership, or none for a while
      if (pick(0, 2) == 0) {
        t.StopLeading();
        m.leading = false;
        m.sessions.clear();
      } else {
        lead();
      }
    } else {  // time passes; the leader takes the expired sessions
      now += pick(0, 19) == 0 ? pick(0, 20 * interval)
                              : pick(0, p.max_advance * interval / 4);
      const Ids got = t.TakeExpired(now);
      Ids want;
      for (auto it = m.sessions.begin(); it != m.sessions.end();) {
        const int64_t d = it->second.deadline;
        // Same bucket rule as the tracker's, computed independently.
        const int64_t bucket = (d / interval + 1) * interval;
        if (now >= bucket) {
          if (now <= d) FAIL("seed " << seed << ": early at " << now);
          want.push_back(it->first);
          it = m.sessions.erase(it);
        } else {
          if (now >= d + interval) {  // more than an interval late
            FAIL("seed " << seed << ": late at " << now);
          }
          ++it;
        }
      }
      INFO("seed " << seed << " step " << step << " now " << now);
      REQUIRE(got == want);
      reported += static_cast<int64_t>(got.size());
      // What the leader does next: propose close_session for each; some
      // commit at once, the others stay open (a leader change may come
      // first).
      for (int64_t id : got) {
        if (pick(0, 1) == 0) {
          open.Erase(id);
          t.Remove(id);
        }
      }
    }
    REQUIRE(t.size() == m.sessions.size());
    most_open = std::max(most_open, open.ids.size());
  }
  CHECK(reported > 0);  // the run exercised expiry
  return most_open;
}

TEST_CASE("The tracker matches a naive model over random histories",
          "[session]") {
  const uint64_t seed = GENERATE(range(uint64_t{1}, uint64_t{21}));
  const int64_t interval = seed % 3 == 0 ? 1 : seed % 3 == 1 ? 100 : 2000;
  // Short timeouts, time moving fast: sessions come and go.
  RunAgainstModel(seed, Params{interval, 10, 4, 20000});
}

TEST_CASE("The tracker matches a naive model with thousands of sessions",
          "[session]") {
  const uint64_t seed = GENERATE(range(uint64_t{100}, uint64_t{106}));
  // Long timeouts, time moving slowly: most sessions stay open.
  const size_t most_open =
      RunAgainstModel(seed, Params{100, 2000, 1, 30000});
  CHECK(most_open >= 2000);
}

}  // namespace
}  // namespace synod
