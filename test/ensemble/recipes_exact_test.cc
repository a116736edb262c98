// The exactly-once recipes across an in-process ensemble whose leader is
// stopped mid-burst: a counter added to from two peers counts every add
// that returned OK exactly once (the values returned are 1..n, each once,
// and the final value is n), and a queue fed and drained from two peers
// delivers every item exactly once (none lost, none twice).

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
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

TEST_CASE("Recipes: a counter added to from two peers stays exact through "
          "a leader change",
          "[ensemble][recipes][counter]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int peers[] = {(leader + 1) % 3, (leader + 2) % 3};
  CountsLosses via[] = {CountsLosses(e.at(peers[0])),
                        CountsLosses(e.at(peers[1]))};
  synod::Mutex mu;
  std::vector<int64_t> values;  // every value an add returned OK
  int errors = 0;
  std::string last_error;
  std::atomic<int> ok{0};
  Workers w;  // last: joined before the state its threads use goes
  for (int i = 0; i < 2; ++i) {
    for (int t = 0; t < 2; ++t) {
      w.threads.emplace_back([&, i] {
        recipes::Counter counter(via[i], "/counters/shared");
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
  }
  REQUIRE(WaitFor([&] { return ok >= 40; }, absl::Seconds(30)));
  e.Stop(leader);
  const int before = ok;
  REQUIRE(e.WaitLeader() >= 0);
  CHECK(WaitFor([&] { return ok >= before + 40; }, absl::Seconds(60)));
  w.Join();
  synod::MutexLock lock(&mu);
  INFO("adds " << ok << ", errors " << errors << " (" << last_error
               << "), lost replies settled "
               << via[0].lost + via[1].lost);
  CHECK(errors == 0);
  std::sort(values.begin(), values.end());
  // Each add counted once: the values returned are 1..n.
  bool contiguous = true;
  for (size_t i = 0; i < values.size(); ++i) {
    contiguous = contiguous && values[i] == static_cast<int64_t>(i) + 1;
  }
  CHECK(contiguous);
  REQUIRE(e.at(peers[0]).Sync("/counters/shared").ok());
  recipes::Counter reader(e.at(peers[0]), "/counters/shared");
  CHECK(*reader.Get() == static_cast<int64_t>(values.size()));
}

TEST_CASE("Recipes: a queue fed and drained from two peers delivers every "
          "item exactly once through a leader change",
          "[ensemble][recipes][queue]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int peers[] = {(leader + 1) % 3, (leader + 2) % 3};
  CountsLosses via[] = {CountsLosses(e.at(peers[0])),
                        CountsLosses(e.at(peers[1]))};
  constexpr int kPerPutter = 100;
  synod::Mutex mu;
  std::vector<std::string> taken;
  int put_errors = 0, take_errors = 0;
  std::string last_error;
  std::atomic<int> n_taken{0}, n_put{0};
  std::vector<std::string> expected;
  Workers w;  // last: joined before the state its threads use goes
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < kPerPutter; ++k) {
      expected.push_back(absl::StrCat(i, "-", k));
    }
    w.threads.emplace_back([&, i] {  // a putter on each peer
      recipes::Queue q(via[i], "/queues/work");
      for (int k = 0; k < kPerPutter; ++k) {
        const absl::Status s = q.Put(absl::StrCat(i, "-", k));
        n_put++;
        if (!s.ok()) {
          synod::MutexLock lock(&mu);
          put_errors++;
          last_error = s.ToString();
        }
      }
    });
    for (int t = 0; t < 2; ++t) {  // two takers on each peer
      w.threads.emplace_back([&, i] {
        recipes::Queue q(via[i], "/queues/work");
        const absl::Time deadline = absl::Now() + absl::Seconds(120);
        while (!w.stop && n_taken < 2 * kPerPutter && absl::Now() < deadline) {
          absl::StatusOr<std::string> item = q.Take(absl::Milliseconds(500));
          synod::MutexLock lock(&mu);
          if (item.ok()) {
            taken.push_back(*std::move(item));
            n_taken++;
          } else if (item.status().code() !=
                     absl::StatusCode::kDeadlineExceeded) {
            take_errors++;
            last_error = item.status().ToString();
          }
        }
      });
    }
  }
  // Mid-way through the puts, and with takes going on.
  REQUIRE(WaitFor([&] { return n_put >= 70 && n_taken >= 10; },
                  absl::Seconds(60)));
  e.Stop(leader);
  REQUIRE(e.WaitLeader() >= 0);
  CHECK(WaitFor([&] { return n_taken >= 2 * kPerPutter; },
                absl::Seconds(120)));
  w.Join();
  synod::MutexLock lock(&mu);
  INFO("taken " << n_taken << ", put errors " << put_errors
                << ", take errors " << take_errors << " (" << last_error
                << "), lost replies settled "
                << via[0].lost + via[1].lost);
  CHECK(put_errors == 0);
  CHECK(take_errors == 0);
  std::sort(taken.begin(), taken.end());
  std::sort(expected.begin(), expected.end());
  CHECK(taken == expected);  // none lost, none twice
  REQUIRE(e.at(peers[0]).Sync("/queues/work").ok());
  auto left = e.at(peers[0]).GetChildren("/queues/work");
  REQUIRE(left.ok());
  CHECK(left->size() == 1);  // the marker area only
}

}  // namespace
}  // namespace synod::testing
