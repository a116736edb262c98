// The read-write lock and the semaphore across an in-process ensemble,
// contended from two peers while the third, the leader, is stopped: a
// writer never overlaps anyone, the semaphore never has more holders than
// permits, and both keep passing once another leader serves.

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "ensemble/ensemble_util.h"
#include "synod/recipes/read_write_lock.h"
#include "synod/recipes/semaphore.h"

namespace synod::testing {
namespace {

TEST_CASE("Recipes: a read-write lock shared from two peers excludes "
          "through a leader change",
          "[ensemble][recipes]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int peers[] = {(leader + 1) % 3, (leader + 2) % 3};
  std::atomic<int> readers_in{0}, writers_in{0}, violations{0};
  std::atomic<int> reads{0}, writes{0}, errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int p : peers) {
    for (int t = 0; t < 4; ++t) {
      const bool writer = t % 2 == 0;
      threads.emplace_back([&, p, writer] {
        recipes::ReadWriteLock rw(e.at(p), "/rw/shared");
        recipes::Lock& lock = writer ? rw.WriteLock() : rw.ReadLock();
        while (!stop) {
          if (!lock.Acquire(absl::Seconds(30)).ok()) {
            errors++;
            continue;
          }
          if (writer) {
            if (writers_in.fetch_add(1) != 0) violations++;
            if (readers_in.load() != 0) violations++;
          } else {
            readers_in.fetch_add(1);
            if (writers_in.load() != 0) violations++;
          }
          absl::SleepFor(absl::Milliseconds(1));
          if (writer) {
            if (readers_in.load() != 0) violations++;
            writers_in.fetch_sub(1);
            writes++;
          } else {
            if (writers_in.load() != 0) violations++;
            readers_in.fetch_sub(1);
            reads++;
          }
          if (!lock.Release().ok()) errors++;
        }
      });
    }
  }
  REQUIRE(WaitFor([&] { return writes >= 15 && reads >= 15; },
                  absl::Seconds(60)));
  e.Stop(leader);
  const int writes_before = writes;
  const int reads_before = reads;
  REQUIRE(e.WaitLeader() >= 0);
  CHECK(WaitFor(
      [&] {
        return writes >= writes_before + 15 && reads >= reads_before + 15;
      },
      absl::Seconds(60)));
  stop = true;
  for (auto& t : threads) t.join();
  INFO("writes " << writes << ", reads " << reads << ", errors " << errors);
  CHECK(violations == 0);
}

TEST_CASE("Recipes: a semaphore shared from two peers keeps its permits "
          "through a leader change",
          "[ensemble][recipes]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int peers[] = {(leader + 1) % 3, (leader + 2) % 3};
  constexpr int kPermits = 2;
  std::atomic<int> inside{0}, over{0}, entries{0}, errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int p : peers) {
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, p] {
        recipes::Semaphore sem(e.at(p), "/sem/shared", kPermits);
        while (!stop) {
          absl::StatusOr<recipes::Semaphore::Lease> lease =
              sem.Acquire(absl::Seconds(30));
          if (!lease.ok()) {
            errors++;
            continue;
          }
          if (inside.fetch_add(1) >= kPermits) over++;
          entries++;
          absl::SleepFor(absl::Milliseconds(2));
          inside.fetch_sub(1);
          if (!lease->Release().ok()) errors++;
        }
      });
    }
  }
  REQUIRE(WaitFor([&] { return entries >= 30; }, absl::Seconds(60)));
  e.Stop(leader);
  const int before = entries;
  REQUIRE(e.WaitLeader() >= 0);
  CHECK(WaitFor([&] { return entries >= before + 30; }, absl::Seconds(60)));
  stop = true;
  for (auto& t : threads) t.join();
  INFO("acquisitions " << entries << ", errors " << errors);
  CHECK(over == 0);
}

}  // namespace
}  // namespace synod::testing
