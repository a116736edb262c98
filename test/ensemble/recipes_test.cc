// Recipes across an in-process ensemble: a lock contended from two peers
// while the third, the leader, is stopped (no two holders ever overlap and
// the lock keeps passing once another leader serves); an elected
// participant cut off from the ensemble hears that it lost leadership
// before another participant is told it won, and once its session expired
// and the Coordinator opened a new one it takes part again, behind the new
// leader.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "ensemble/ensemble_util.h"
#include "synod/recipes/leader_election.h"
#include "synod/recipes/lock.h"

namespace synod::testing {
namespace {

TEST_CASE("Recipes: a lock contended from two peers excludes through a "
          "leader change",
          "[ensemble][recipes]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int peers[] = {(leader + 1) % 3, (leader + 2) % 3};
  std::atomic<int> inside{0}, overlaps{0}, entries{0}, errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int p : peers) {
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, p] {
        recipes::Lock lock(e.at(p), "/locks/shared");
        while (!stop) {
          if (!lock.Acquire(absl::Seconds(30)).ok()) {
            errors++;
            continue;
          }
          if (inside.fetch_add(1) != 0) overlaps++;
          entries++;
          absl::SleepFor(absl::Milliseconds(1));
          inside.fetch_sub(1);
          if (!lock.Release().ok()) errors++;
        }
      });
    }
  }
  REQUIRE(WaitFor([&] { return entries >= 30; }, absl::Seconds(30)));
  e.Stop(leader);
  const int before = entries;
  REQUIRE(e.WaitLeader() >= 0);
  // It keeps passing under the next leader.
  CHECK(WaitFor([&] { return entries >= before + 30; }, absl::Seconds(60)));
  stop = true;
  for (auto& t : threads) t.join();
  CHECK(overlaps == 0);
  INFO("acquisitions " << entries << ", errors " << errors);
  CHECK(entries >= 60);
}

TEST_CASE("Recipes: a cut-off leader hears its loss before another is "
          "elected, tokens grow, and it rejoins on its new session",
          "[ensemble][recipes]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int x = (leader + 1) % 3;  // a follower hosts the first participant
  const int y = (leader + 2) % 3;
  std::mutex mu;  // (absl::Mutex is invisible to ThreadSanitizer here)
  absl::Time lost_x = absl::InfiniteFuture();
  absl::Time won_y = absl::InfiniteFuture();
  std::vector<bool> heard_x;
  recipes::LeaderElection ex(e.at(x), "/elect", "x", [&](bool leading) {
    std::lock_guard<std::mutex> lock(mu);
    heard_x.push_back(leading);
    if (!leading) lost_x = std::min(lost_x, absl::Now());
  });
  recipes::LeaderElection ey(e.at(y), "/elect", "y", [&](bool leading) {
    std::lock_guard<std::mutex> lock(mu);
    if (leading) won_y = std::min(won_y, absl::Now());
  });
  REQUIRE(ex.Start().ok());
  REQUIRE(ex.AwaitLeadership(absl::Seconds(10)).ok());
  const int64_t token_x = *ex.FencingToken();
  REQUIRE(ey.Start().ok());
  CHECK(*ey.CurrentLeader() == "x");
  e.Isolate(x, true);
  // y leads once x's session expires on the ensemble (8 s here).
  REQUIRE(ey.AwaitLeadership(absl::Seconds(60)).ok());
  CHECK(*ey.FencingToken() > token_x);
  CHECK(!ex.IsLeader());
  {
    std::lock_guard<std::mutex> lock(mu);
    INFO("x lost at " << lost_x << ", y won at " << won_y);
    CHECK(lost_x < won_y);
  }
  const int64_t session_x = e.at(x).session_id();
  e.Isolate(x, false);
  // x's session is gone; x's Coordinator opens a new one and x takes part
  // again, behind y.
  REQUIRE(WaitFor(
      [&] {
        const int64_t now = e.at(x).session_id();
        return now != 0 && now != session_x;
      },
      absl::Seconds(30)));
  REQUIRE(WaitFor(
      [&] {
        auto queue = e.at(x).GetChildren("/elect");
        return queue.ok() && queue->size() == 2;
      },
      absl::Seconds(30)));
  CHECK(*ey.CurrentLeader() == "y");
  CHECK(*ex.CurrentLeader() == "y");
  CHECK(ex.AwaitLeadership(absl::Milliseconds(200)).code() ==
        absl::StatusCode::kDeadlineExceeded);  // queued, not leading
  // y resigns: x leads again, with a token greater than y's.
  const int64_t token_y = *ey.FencingToken();
  REQUIRE(ey.Resign().ok());
  REQUIRE(ex.AwaitLeadership(absl::Seconds(30)).ok());
  CHECK(*ex.FencingToken() > token_y);
  // The listener runs just after leadership is recorded.
  CHECK(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return heard_x.size() >= 3;
  }));
  std::lock_guard<std::mutex> lock(mu);
  CHECK(heard_x == std::vector<bool>{true, false, true});
}

}  // namespace
}  // namespace synod::testing
