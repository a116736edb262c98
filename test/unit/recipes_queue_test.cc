// recipes::Queue and PriorityQueue against a one-peer Coordinator: every
// item taken exactly once by many takers, FIFO per putter, priority order,
// puts and takes whose outcome is lost (applied, dropped, applied late),
// a take lost while another taker took the item, a take whose settle
// could not finish delivered by the next Take, timeouts that leave nothing
// behind, and takers that wait on a watch instead of polling.

#include "synod/recipes/queue.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"
#include "util/forwarding_coordinator.h"
#include "util/lossy_coordinator.h"
#include "util/mutex.h"

namespace synod {
namespace {

using testing::OnePeer;

using recipes::PriorityQueue;
using recipes::Queue;
using testing::LossyCoordinator;
using testing::TempDir;
using testing::TestOptions;

// The item children of `path` (not its marker area).
std::vector<std::string> Items(Coordinator& c, const std::string& path) {
  std::vector<std::string> out;
  auto children = c.GetChildren(path);
  if (!children.ok()) return out;
  for (std::string& name : *children) {
    if (name[0] != '.') out.push_back(std::move(name));
  }
  return out;
}

// Takes until the queue is empty (Take(0) says DeadlineExceeded).
std::vector<std::string> Drain(Coordinator& c, const std::string& path) {
  Queue q(c, path);
  std::vector<std::string> out;
  for (int i = 0; i < 100000; ++i) {
    absl::StatusOr<std::string> item = q.Take(absl::ZeroDuration());
    if (!item.ok()) break;
    out.push_back(*std::move(item));
  }
  return out;
}

// The item name "<putter>-<k>" put by putter `p` as its `k`-th.
std::string ItemOf(int p, int k) { return absl::StrCat(p, "-", k); }

// What the taker threads got, in order per taker, and their errors.
struct Taken {
  synod::Mutex mu;
  std::vector<std::vector<std::string>> by_taker ABSL_GUARDED_BY(mu);
  int failures ABSL_GUARDED_BY(mu) = 0;
  std::string last_error ABSL_GUARDED_BY(mu);
};

// True if every taker got each putter's items in the order they were put.
bool FifoPerPutter(const std::vector<std::vector<std::string>>& by_taker) {
  for (const auto& got : by_taker) {
    std::map<int, int> last;  // putter -> last k seen
    for (const std::string& item : got) {
      std::vector<std::string> parts = absl::StrSplit(item, '-');
      int p = 0, k = 0;
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &p) ||
          !absl::SimpleAtoi(parts[1], &k)) {
        return false;
      }
      auto it = last.find(p);
      if (it != last.end() && it->second >= k) return false;
      last[p] = k;
    }
  }
  return true;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST_CASE("Queue: items put by many threads are each taken exactly once, "
          "in order per putter",
          "[recipes][queue]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  constexpr int kPutters = 3, kTakers = 3, kItems = 60;
  std::vector<std::string> expected;
  for (int p = 0; p < kPutters; ++p) {
    for (int k = 0; k < kItems; ++k) expected.push_back(ItemOf(p, k));
  }
  std::atomic<int> put_failures{0};
  std::atomic<int> taken{0};
  Taken got;
  {
    synod::MutexLock lock(&got.mu);
    got.by_taker.resize(kTakers);
  }
  Queue shared_taker(c, "/queues/jobs");
  std::vector<std::thread> threads;
  for (int t = 0; t < kTakers; ++t) {
    threads.emplace_back([&, t] {
      // Taker 0 shares a Queue object with taker 1; taker 2 has its own.
      std::unique_ptr<Queue> own;
      if (t == 2) own = std::make_unique<Queue>(c, "/queues/jobs");
      Queue& q = own ? *own : shared_taker;
      const absl::Time deadline = absl::Now() + absl::Seconds(60);
      while (taken < kPutters * kItems && absl::Now() < deadline) {
        absl::StatusOr<std::string> item = q.Take(absl::Milliseconds(200));
        synod::MutexLock lock(&got.mu);
        if (item.ok()) {
          got.by_taker[t].push_back(*item);
          taken++;
        } else if (item.status().code() != absl::StatusCode::kDeadlineExceeded) {
          got.failures++;
          got.last_error = item.status().ToString();
        }
      }
    });
  }
  for (int p = 0; p < kPutters; ++p) {
    threads.emplace_back([&, p] {
      Queue q(c, "/queues/jobs");
      for (int k = 0; k < kItems; ++k) {
        if (!q.Put(ItemOf(p, k)).ok()) put_failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(put_failures == 0);
  synod::MutexLock lock(&got.mu);
  INFO(got.last_error);
  CHECK(got.failures == 0);
  std::vector<std::string> all;
  for (const auto& v : got.by_taker) all.insert(all.end(), v.begin(), v.end());
  CHECK(Sorted(all) == Sorted(expected));  // none lost, none twice
  CHECK(FifoPerPutter(got.by_taker));
  CHECK(Items(c, "/queues/jobs").empty());
}

TEST_CASE("Queue: one putter's items come out in the order put, and items "
          "survive the Queue objects",
          "[recipes][queue]") {
  OnePeer peer;
  {
    Queue q(*peer.c, "/fifo");
    for (int k = 0; k < 20; ++k) REQUIRE(q.Put(ItemOf(0, k)).ok());
  }
  CHECK(Items(*peer.c, "/fifo").size() == 20);
  Queue q(*peer.c, "/fifo");
  for (int k = 0; k < 20; ++k) {
    absl::StatusOr<std::string> item = q.Take(absl::ZeroDuration());
    REQUIRE(item.ok());
    CHECK(*item == ItemOf(0, k));
  }
  CHECK(q.Take(absl::ZeroDuration()).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  // Bytes of any kind.
  const std::string binary("a\0b\n", 4);
  REQUIRE(q.Put(binary).ok());
  REQUIRE(q.Put("").ok());
  CHECK(*q.Take(absl::ZeroDuration()) == binary);
  CHECK(*q.Take(absl::ZeroDuration()) == "");
}

TEST_CASE("PriorityQueue: lower priority values first, then the order put",
          "[recipes][queue]") {
  OnePeer peer;
  PriorityQueue q(*peer.c, "/prio");
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  const std::vector<std::pair<std::string, int32_t>> puts = {
      {"five-a", 5},  {"minus-three", -3}, {"zero-a", 0}, {"five-b", 5},
      {"min", kMin},  {"max", kMax},       {"zero-b", 0}, {"minus-one", -1},
      {"one", 1},     {"five-c", 5}};
  for (const auto& [data, priority] : puts) {
    REQUIRE(q.Put(data, priority).ok());
  }
  std::vector<std::string> order;
  for (size_t i = 0; i < puts.size(); ++i) {
    absl::StatusOr<std::string> item = q.Take(absl::ZeroDuration());
    REQUIRE(item.ok());
    order.push_back(*item);
  }
  CHECK(order == std::vector<std::string>{"min", "minus-three", "minus-one",
                                          "zero-a", "zero-b", "one", "five-a",
                                          "five-b", "five-c", "max"});
  // An urgent item put while others wait goes first.
  REQUIRE(q.Put("late-low", 9).ok());
  REQUIRE(q.Put("urgent", -100).ok());
  CHECK(*q.Take(absl::ZeroDuration()) == "urgent");
  CHECK(*q.Take(absl::ZeroDuration()) == "late-low");
}

bool IsTake(const std::vector<Op>& ops) {
  return ops.front().type == Op::Type::kDelete;
}
bool IsPut(const std::vector<Op>& ops) {
  return ops.front().type == Op::Type::kCreate;
}

TEST_CASE("Queue: puts whose outcome is lost put each item exactly once",
          "[recipes][queue]") {
  OnePeer peer;
  const auto fault = GENERATE(LossyCoordinator::Fault::kApplyThenLose,
                              LossyCoordinator::Fault::kDropAndLose,
                              LossyCoordinator::Fault::kApplyLate);
  INFO("fault " << static_cast<int>(fault));
  LossyCoordinator lossy(*peer.c, fault, 2, IsPut);
  constexpr int kPutters = 3, kItems = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<std::string> expected;
  for (int p = 0; p < kPutters; ++p) {
    for (int k = 0; k < kItems; ++k) expected.push_back(ItemOf(p, k));
    threads.emplace_back([&, p] {
      Queue q(lossy, "/lost-puts");
      for (int k = 0; k < kItems; ++k) {
        if (!q.Put(ItemOf(p, k)).ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(lossy.faults() >= 10);
  lossy.Heal();
  Queue(lossy, "/lost-puts").Put("flush").IgnoreError();  // a late one lands
  std::vector<std::string> got = Drain(*peer.c, "/lost-puts");
  expected.push_back("flush");
  CHECK(Sorted(got) == Sorted(expected));
}

TEST_CASE("Queue: takes whose outcome is lost take each item exactly once",
          "[recipes][queue]") {
  OnePeer peer;
  const auto fault = GENERATE(LossyCoordinator::Fault::kApplyThenLose,
                              LossyCoordinator::Fault::kDropAndLose,
                              LossyCoordinator::Fault::kApplyLate);
  INFO("fault " << static_cast<int>(fault));
  constexpr int kItems = 60, kTakers = 3;
  std::vector<std::string> expected;
  {
    Queue q(*peer.c, "/lost-takes");
    for (int k = 0; k < kItems; ++k) {
      expected.push_back(ItemOf(0, k));
      REQUIRE(q.Put(expected.back()).ok());
    }
  }
  LossyCoordinator lossy(*peer.c, fault, 2, IsTake);
  Taken got;
  {
    synod::MutexLock lock(&got.mu);
    got.by_taker.resize(kTakers);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kTakers; ++t) {
    threads.emplace_back([&, t] {
      Queue q(lossy, "/lost-takes");
      for (int i = 0; i < 2 * kItems; ++i) {
        absl::StatusOr<std::string> item = q.Take(absl::ZeroDuration());
        synod::MutexLock lock(&got.mu);
        if (item.ok()) {
          got.by_taker[t].push_back(*item);
        } else {
          if (item.status().code() == absl::StatusCode::kDeadlineExceeded) {
            break;  // all taken
          }
          got.failures++;
          got.last_error = item.status().ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(lossy.faults() >= 10);
  synod::MutexLock lock(&got.mu);
  INFO(got.last_error);
  CHECK(got.failures == 0);
  std::vector<std::string> all;
  for (const auto& v : got.by_taker) all.insert(all.end(), v.begin(), v.end());
  CHECK(Sorted(all) == Sorted(expected));
  CHECK(FifoPerPutter(got.by_taker));
  CHECK(Items(*peer.c, "/lost-takes").empty());
}

TEST_CASE("Queue: a take lost while another taker took the item moves on "
          "to the next item",
          "[recipes][queue]") {
  OnePeer peer;
  Queue filler(*peer.c, "/race");
  REQUIRE(filler.Put("a").ok());
  REQUIRE(filler.Put("b").ok());
  // The first take's delete is dropped; meanwhile another process takes
  // that same item.
  LossyCoordinator lossy(*peer.c, LossyCoordinator::Fault::kDropAndLose, 1,
                         IsTake);
  Queue other(*peer.c, "/race");
  absl::StatusOr<std::string> other_got = absl::UnknownError("not run");
  lossy.OnFault([&] {
    lossy.Heal();
    other_got = other.Take(absl::ZeroDuration());
  });
  Queue q(lossy, "/race");
  absl::StatusOr<std::string> got = q.Take(absl::Seconds(10));
  REQUIRE(other_got.ok());
  REQUIRE(got.ok());
  CHECK(*other_got == "a");
  CHECK(*got == "b");
  CHECK(Items(*peer.c, "/race").empty());
}

TEST_CASE("Queue: a lost take that applies after its settle still "
          "delivers its item",
          "[recipes][queue]") {
  // The first delete is held and applied just before the retry, which
  // then finds the item gone (NoNode) and, with nothing else queued, would
  // report that nothing came: the item would be lost.
  OnePeer peer;
  REQUIRE(Queue(*peer.c, "/ghost").Put("only").ok());
  LossyCoordinator lossy(*peer.c, LossyCoordinator::Fault::kApplyLate, 1,
                         IsTake);
  lossy.OnFault([&] { lossy.Heal(); });
  Queue q(lossy, "/ghost");
  absl::StatusOr<std::string> got = q.Take(absl::ZeroDuration());
  CHECK(lossy.faults() == 1);
  REQUIRE(got.ok());
  CHECK(*got == "only");
  CHECK(Items(*peer.c, "/ghost").empty());
}

TEST_CASE("Queue: a take whose settle could not finish is delivered by "
          "the next Take",
          "[recipes][queue]") {
  OnePeer peer;
  Queue filler(*peer.c, "/doubt");
  REQUIRE(filler.Put("a").ok());
  REQUIRE(filler.Put("b").ok());
  LossyCoordinator lossy(*peer.c, LossyCoordinator::Fault::kApplyThenLose, 1,
                         IsTake);
  lossy.FailSyncs(1);
  Queue q(lossy, "/doubt");
  absl::StatusOr<std::string> first = q.Take(absl::Seconds(10));
  // It deleted "a", and could not tell.
  CHECK(!first.ok());
  CHECK(first.status().code() != absl::StatusCode::kDeadlineExceeded);
  CHECK(Items(*peer.c, "/doubt").size() == 1);
  lossy.Heal();
  absl::StatusOr<std::string> again = q.Take(absl::Seconds(10));
  REQUIRE(again.ok());
  CHECK(*again == "a");  // not lost
  CHECK(*q.Take(absl::Seconds(10)) == "b");
  CHECK(Items(*peer.c, "/doubt").empty());
}

TEST_CASE("Queue: a Take that times out leaves nothing behind",
          "[recipes][queue]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  Queue q(c, "/empty/q");
  REQUIRE(q.Put("x").ok());
  REQUIRE(*q.Take(absl::ZeroDuration()) == "x");
  const std::vector<std::string> before = *c.GetChildren("/empty/q");
  const std::vector<std::string> markers = *c.GetChildren("/empty/q/.ops");
  const int64_t watches = c.GetHealth().watch_count;
  Queue waiting(c, "/empty/q");
  CHECK(waiting.Take(absl::Milliseconds(200)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(waiting.Take(absl::ZeroDuration()).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(*c.GetChildren("/empty/q") == before);
  CHECK(*c.GetChildren("/empty/q/.ops") == markers);
  // One watch armed for the object, however many Takes waited.
  CHECK(c.GetHealth().watch_count <= watches + 1);
  for (int i = 0; i < 5; ++i) {
    CHECK(waiting.Take(absl::Milliseconds(20)).status().code() ==
          absl::StatusCode::kDeadlineExceeded);
  }
  CHECK(c.GetHealth().watch_count <= watches + 1);
}

// Counts the reads of children.
class CountsChildReads : public testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  using ForwardingCoordinator::GetChildren;
  absl::StatusOr<std::vector<std::string>> GetChildren(std::string_view path,
                                                       Watcher watcher,
                                                       Stat* stat) override {
    ++reads;
    return to_.GetChildren(path, std::move(watcher), stat);
  }
  std::atomic<int> reads{0};
};

TEST_CASE("Queue: a waiting Take is woken by its watch, without polling",
          "[recipes][queue]") {
  OnePeer peer;
  REQUIRE(peer.c->Create("/w", "").ok());
  CountsChildReads counting(*peer.c);
  Queue taker(counting, "/w");
  absl::StatusOr<std::string> got = absl::UnknownError("not run");
  std::thread t([&] { got = taker.Take(absl::Seconds(30)); });
  REQUIRE(testing::WaitFor([&] { return counting.reads >= 1; }));
  absl::SleepFor(absl::Milliseconds(300));
  const int reads = counting.reads;
  absl::SleepFor(absl::Seconds(1));
  // Waiting costs nothing: no read while nothing changes.
  CHECK(counting.reads - reads <= 1);
  Queue putter(*peer.c, "/w");
  REQUIRE(putter.Put("wake").ok());
  t.join();
  REQUIRE(got.ok());
  CHECK(*got == "wake");
}

}  // namespace
}  // namespace synod
