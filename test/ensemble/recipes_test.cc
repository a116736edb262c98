// Recipes across an in-process ensemble: a lock contended from two peers
// while the third, the leader, is stopped; no two holders ever overlap and
// the lock keeps passing once another leader serves.

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "ensemble/ensemble_util.h"
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

}  // namespace
}  // namespace synod::testing
