// The exactly-once recipes through a real session expiry: a follower cut
// off past its session timeout, with a counter add and a queue take in
// flight, gets a new session when healed; the writes in flight (failed
// with SessionExpired or ConnectionLoss: their outcome unknown) are
// settled by their markers, which are persistent and outlive the session.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ensemble/ensemble_util.h"
#include "synod/recipes/counter.h"
#include "synod/recipes/queue.h"
#include "util/lossy_coordinator.h"
#include "util/mutex.h"

namespace synod::testing {
namespace {

// Worker threads, joined when the test ends, also when a REQUIRE fails
// (`stop` tells them to finish).
struct Workers {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  void Join() {
    stop = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
  ~Workers() { Join(); }
};

// Cuts peer `x` off until the ensemble has expired its session (an
// ephemeral node of x's, watched from `y`, is gone), then heals it and
// waits until x has a new session. Returns "" or what went wrong.
std::string ExpireSession(LocalEnsemble& e, int x, int y) {
  const int64_t old_session = e.at(x).session_id();
  auto mark = e.at(x).Create("/expiry-mark-", "",
                             CreateMode::kEphemeralSequential);
  if (!mark.ok()) return "no mark: " + mark.status().ToString();
  // y must have the mark before its absence can mean anything.
  if (!e.at(y).Sync(*mark).ok()) return "y cannot sync";
  auto seen = e.at(y).Exists(*mark);
  if (!seen.ok() || !seen->has_value()) return "y does not see the mark";
  e.Isolate(x, true);
  const bool expired = WaitFor(
      [&] {
        auto there = e.at(y).Exists(*mark);
        return there.ok() && !there->has_value();
      },
      absl::Seconds(60));
  e.Isolate(x, false);
  if (!expired) return "the session did not expire";
  const bool renewed = WaitFor(
      [&] {
        return e.at(x).WaitConnected(absl::ZeroDuration()).ok() &&
               e.at(x).session_id() != old_session &&
               e.at(x).session_id() != 0;
      },
      absl::Seconds(60));
  if (!renewed) {
    return absl::StrCat("no new session: id ", e.at(x).session_id(),
                        " (was ", old_session, "), connected ",
                        e.at(x).WaitConnected(absl::ZeroDuration()).ok());
  }
  return "";
}

TEST_CASE("Recipes: a counter stays exact through a session expiry of a "
          "writer's peer",
          "[ensemble][recipes][counter][expiry]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int x = (leader + 1) % 3, y = (leader + 2) % 3;
  CountsLosses via_x(e.at(x));
  synod::Mutex mu;
  std::vector<int64_t> values;
  int errors = 0;
  std::string last_error;
  std::atomic<int> ok{0};
  Workers w;  // last: joined before the state its threads use goes
  for (int p : {x, y}) {
    w.threads.emplace_back([&, p] {
      Coordinator& c = p == x ? via_x : e.at(p);
      recipes::Counter counter(c, "/counters/expiry");
      while (!w.stop) {
        absl::StatusOr<int64_t> v = counter.Add(1);
        synod::MutexLock lock(&mu);
        if (v.ok()) {
          values.push_back(*v);
          ok++;
        } else {
          errors++;
          last_error = v.status().ToString();
        }
      }
    });
  }
  REQUIRE(WaitFor([&] { return ok >= 20; }, absl::Seconds(30)));
  REQUIRE(ExpireSession(e, x, y) == "");
  const int before = ok;
  CHECK(WaitFor([&] { return ok >= before + 40; }, absl::Seconds(60)));
  w.Join();
  synod::MutexLock lock(&mu);
  INFO("adds " << ok << ", errors " << errors << " (" << last_error
               << "); on the cut-off peer, lost replies " << via_x.lost
               << ", expired requests " << via_x.expired);
  CHECK(errors == 0);
  std::sort(values.begin(), values.end());
  bool contiguous = true;
  for (size_t i = 0; i < values.size(); ++i) {
    contiguous = contiguous && values[i] == static_cast<int64_t>(i) + 1;
  }
  CHECK(contiguous);
  REQUIRE(e.at(y).Sync("/counters/expiry").ok());
  CHECK(*recipes::Counter(e.at(y), "/counters/expiry").Get() ==
        static_cast<int64_t>(values.size()));
}

TEST_CASE("Recipes: a queue delivers every item exactly once through a "
          "session expiry of a taker's peer",
          "[ensemble][recipes][queue][expiry]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int x = (leader + 1) % 3, y = (leader + 2) % 3;
  CountsLosses via_x(e.at(x));
  constexpr int kItems = 300;
  std::vector<std::string> expected;
  {
    recipes::Queue q(e.at(y), "/queues/expiry");
    for (int k = 0; k < kItems; ++k) {
      expected.push_back(absl::StrCat(k));
      REQUIRE(q.Put(expected.back()).ok());
    }
  }
  synod::Mutex mu;
  std::vector<std::string> taken;
  int errors = 0;
  std::string last_error;
  std::atomic<int> n_taken{0};
  Workers w;  // last: joined before the state its threads use goes
  for (int p : {x, x, y}) {
    w.threads.emplace_back([&, p] {
      Coordinator& c = p == x ? via_x : e.at(p);
      recipes::Queue q(c, "/queues/expiry");
      const absl::Time deadline = absl::Now() + absl::Seconds(150);
      while (!w.stop && n_taken < kItems && absl::Now() < deadline) {
        absl::StatusOr<std::string> item = q.Take(absl::Milliseconds(500));
        {
          synod::MutexLock lock(&mu);
          if (item.ok()) {
            taken.push_back(*std::move(item));
            n_taken++;
          } else if (item.status().code() !=
                     absl::StatusCode::kDeadlineExceeded) {
            errors++;
            last_error = item.status().ToString();
          }
        }
        // Slowly, so that takes are still going on once x is healed.
        absl::SleepFor(absl::Milliseconds(100));
      }
    });
  }
  REQUIRE(WaitFor([&] { return n_taken >= 10; }, absl::Seconds(30)));
  REQUIRE(ExpireSession(e, x, y) == "");
  CHECK(WaitFor([&] { return n_taken >= kItems; }, absl::Seconds(120)));
  w.Join();
  synod::MutexLock lock(&mu);
  INFO("taken " << n_taken << ", errors " << errors << " (" << last_error
                << "); on the cut-off peer, lost replies " << via_x.lost
                << ", expired requests " << via_x.expired);
  CHECK(errors == 0);
  std::sort(taken.begin(), taken.end());
  std::sort(expected.begin(), expected.end());
  CHECK(taken == expected);
}

}  // namespace
}  // namespace synod::testing
