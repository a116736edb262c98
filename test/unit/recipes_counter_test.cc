// recipes::Counter against a one-peer Coordinator: exact under contention
// (threads with a Counter each and threads sharing one), exact when the
// outcome of its writes is lost (applied, dropped, or applied late after
// the settle), compare-and-set (no false negative on a version race that
// leaves the value), overflow, what the node holds, markers.

#include "synod/recipes/counter.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"
#include "util/forwarding_coordinator.h"
#include "util/lossy_coordinator.h"
#include "util/mutex.h"

namespace synod {
namespace {

using testing::OnePeer;

using recipes::Counter;
using testing::LossyCoordinator;
using testing::TempDir;
using testing::TestOptions;

// What the worker threads saw: the values their adds returned, and how
// many adds failed (with the last error).
struct Results {
  synod::Mutex mu;
  std::vector<int64_t> values ABSL_GUARDED_BY(mu);
  int failures ABSL_GUARDED_BY(mu) = 0;
  std::string last_error ABSL_GUARDED_BY(mu);

  void Record(const absl::StatusOr<int64_t>& r) {
    synod::MutexLock lock(&mu);
    if (r.ok()) {
      values.push_back(*r);
    } else {
      ++failures;
      last_error = r.status().ToString();
    }
  }
};

// True if `values` are exactly 1..n (each add of 1 counted once: no value
// returned twice, none skipped).
bool Contiguous(std::vector<int64_t> values, int64_t n) {
  std::sort(values.begin(), values.end());
  if (static_cast<int64_t>(values.size()) != n) return false;
  for (int64_t i = 0; i < n; ++i) {
    if (values[i] != i + 1) return false;
  }
  return true;
}

// Runs `threads` threads that each add 1 `adds` times: odd threads with a
// Counter of their own, even ones sharing one. Returns what they saw.
void AddConcurrently(Coordinator& c, const std::string& path, int threads,
                     int adds, Results* out) {
  Counter shared(c, path);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::unique_ptr<Counter> own;
      if (t % 2 == 1) own = std::make_unique<Counter>(c, path);
      Counter& counter = own ? *own : shared;
      for (int i = 0; i < adds; ++i) out->Record(counter.Add(1));
    });
  }
  for (auto& w : workers) w.join();
}

TEST_CASE("Counter: threads adding at once count every add exactly once",
          "[recipes][counter]") {
  OnePeer peer;
  constexpr int kThreads = 8, kAdds = 40;
  Results r;
  AddConcurrently(*peer.c, "/counters/hits", kThreads, kAdds, &r);
  synod::MutexLock lock(&r.mu);
  INFO(r.last_error);
  CHECK(r.failures == 0);
  CHECK(Contiguous(r.values, kThreads * kAdds));
  Counter reader(*peer.c, "/counters/hits");
  CHECK(*reader.Get() == kThreads * kAdds);
  // The node holds decimal text, for any ZooKeeper client to read.
  CHECK(peer.c->Get("/counters/hits")->data ==
        std::to_string(kThreads * kAdds));
}

TEST_CASE("Counter: adds whose outcome is lost apply exactly once",
          "[recipes][counter]") {
  OnePeer peer;
  const auto fault = GENERATE(LossyCoordinator::Fault::kApplyThenLose,
                              LossyCoordinator::Fault::kDropAndLose,
                              LossyCoordinator::Fault::kApplyLate);
  INFO("fault " << static_cast<int>(fault));
  LossyCoordinator lossy(*peer.c, fault, 3);
  constexpr int kThreads = 4, kAdds = 30;
  Results r;
  AddConcurrently(lossy, "/c", kThreads, kAdds, &r);
  // Not one add of the many that were lost counted twice or not at all.
  CHECK(lossy.faults() >= 10);
  synod::MutexLock lock(&r.mu);
  INFO(r.last_error);
  CHECK(r.failures == 0);
  CHECK(Contiguous(r.values, kThreads * kAdds));
  Counter reader(*peer.c, "/c");
  CHECK(*reader.Get() == kThreads * kAdds);
}

TEST_CASE("Counter: a lost add applied after its settle is not made again",
          "[recipes][counter]") {
  // One thread, so the late write always lands between the settle (which
  // found it not applied) and the next attempt of the same add.
  OnePeer peer;
  LossyCoordinator lossy(*peer.c, LossyCoordinator::Fault::kApplyLate, 2);
  Counter counter(lossy, "/late");
  std::vector<int64_t> values;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<int64_t> v = counter.Add(1);
    REQUIRE(v.ok());
    values.push_back(*v);
  }
  CHECK(lossy.faults() >= 10);
  CHECK(Contiguous(values, 20));
  CHECK(*counter.Get() == 20);
}

TEST_CASE("Counter: a lost compare-and-set that applies after its settle "
          "answers true",
          "[recipes][counter]") {
  // The first attempt is held and applied just before the second, which
  // then fails on the version and finds the value changed: only the
  // marker tells that the change was this very compare-and-set.
  OnePeer peer;
  REQUIRE(Counter(*peer.c, "/ghost").Add(5).ok());
  LossyCoordinator lossy(*peer.c, LossyCoordinator::Fault::kApplyLate, 1);
  lossy.OnFault([&] { lossy.Heal(); });
  Counter counter(lossy, "/ghost");
  absl::StatusOr<bool> set = counter.CompareAndSet(5, 9);
  CHECK(lossy.faults() == 1);
  REQUIRE(set.ok());
  CHECK(*set);
  CHECK(*counter.Get() == 9);
}

TEST_CASE("Counter: compare-and-set", "[recipes][counter]") {
  OnePeer peer;
  Counter counter(*peer.c, "/cas");
  // A missing counter holds 0.
  CHECK(*counter.Get() == 0);
  CHECK(!peer.c->Exists("/cas")->has_value());  // reading made nothing
  CHECK(*counter.CompareAndSet(1, 5) == false);
  CHECK(*counter.CompareAndSet(0, 5) == true);
  CHECK(*counter.Get() == 5);
  CHECK(*counter.CompareAndSet(0, 7) == false);
  CHECK(*counter.Get() == 5);
  CHECK(*counter.Add(-8) == -3);
  CHECK(*counter.CompareAndSet(-3, 10) == true);
  CHECK(*counter.Get() == 10);

  // Threads incrementing by compare-and-set: every success is one step.
  constexpr int kThreads = 4, kSteps = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Counter mine(*peer.c, "/cas");
      for (int done = 0, tries = 0; done < kSteps && tries < 10000; ++tries) {
        absl::StatusOr<int64_t> v = mine.Get();
        if (!v.ok()) {
          failures++;
          return;
        }
        absl::StatusOr<bool> set = mine.CompareAndSet(*v, *v + 1);
        if (!set.ok()) {
          failures++;
          return;
        }
        if (*set) ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(*counter.Get() == 10 + kThreads * kSteps);
}

// Before the first Multi, sets the counter to the value it holds (as an
// add and a subtract by others would): its version moves, its value not.
class SameValueRace : public testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  absl::StatusOr<std::vector<OpResult>> Multi(std::vector<Op> ops) override {
    if (!raced_.exchange(true)) {
      absl::StatusOr<Node> now = to_.Get("/aba", nullptr);
      if (now.ok()) to_.Set("/aba", now->data, -1).IgnoreError();
    }
    return to_.Multi(std::move(ops));
  }

 private:
  std::atomic<bool> raced_{false};
};

TEST_CASE("Counter: compare-and-set retries a version race that left the "
          "value as expected",
          "[recipes][counter]") {
  OnePeer peer;
  REQUIRE(Counter(*peer.c, "/aba").Add(4).ok());
  SameValueRace racy(*peer.c);
  Counter counter(racy, "/aba");
  absl::StatusOr<bool> set = counter.CompareAndSet(4, 9);
  REQUIRE(set.ok());
  CHECK(*set);
  CHECK(*counter.Get() == 9);
  CHECK(peer.c->Get("/aba")->stat.version == 3);  // add, race, set
}

TEST_CASE("Counter: overflow changes nothing, and a node that holds no "
          "number is refused",
          "[recipes][counter]") {
  OnePeer peer;
  Counter counter(*peer.c, "/big");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  REQUIRE(*counter.Add(kMax - 1) == kMax - 1);
  CHECK(*counter.Add(1) == kMax);
  const int32_t version = peer.c->Get("/big")->stat.version;
  CHECK(counter.Add(1).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(counter.Add(kMax).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(*counter.Get() == kMax);
  CHECK(peer.c->Get("/big")->stat.version == version);
  CHECK(*counter.CompareAndSet(kMax, kMin) == true);
  CHECK(counter.Add(-1).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(*counter.Get() == kMin);

  REQUIRE(peer.c->Create("/text", "twelve").ok());
  Counter text(*peer.c, "/text");
  CHECK(text.Get().status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(text.Add(1).status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(peer.c->Get("/text")->data == "twelve");
  // An empty node (zkCli's create without data) counts from 0.
  REQUIRE(peer.c->Create("/empty", "").ok());
  CHECK(*Counter(*peer.c, "/empty").Add(2) == 2);
}

TEST_CASE("Counter: its markers are one node per writer, made again when "
          "their TTL took them, and deleted with the Counter",
          "[recipes][counter]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  {
    Counter counter(c, "/m/count");
    REQUIRE(*counter.Add(1) == 1);
    REQUIRE(*counter.Add(1) == 2);
    auto markers = c.GetChildren("/m/count/.ops");
    REQUIRE(markers.ok());
    REQUIRE(markers->size() == 1);
    const std::string marker = "/m/count/.ops/" + (*markers)[0];
    absl::StatusOr<Node> node = c.Get(marker);
    REQUIRE(node.ok());
    CHECK(node->data == "2 2");  // the op's number, the value it made
    CHECK(node->stat.version == 1);
    // The ensemble deletes a marker unused for its TTL: the next add
    // makes it again.
    REQUIRE(c.Delete(marker).ok());
    REQUIRE(*counter.Add(5) == 7);
    CHECK(c.Get(marker)->data == "3 7");
  }
  CHECK(testing::WaitFor(
      [&] {
        auto left = c.GetChildren("/m/count/.ops");
        return left.ok() && left->empty();
      },
      absl::Seconds(10)));
  CHECK(*Counter(c, "/m/count").Get() == 7);
}

}  // namespace
}  // namespace synod
