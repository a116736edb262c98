// recipes::Barrier against a one-peer Coordinator: set, wait, remove; a
// waiter waits on one watch instead of reading in a loop; Set and Remove
// are idempotent, also through a lost connection.

#include "synod/recipes/barrier.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"
#include "util/forwarding_coordinator.h"

namespace synod {
namespace {

using recipes::Barrier;

using testing::OnePeer;

TEST_CASE("Barrier: waiters pass once it is removed, not before",
          "[recipes][barrier]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  Barrier barrier(c, "/barriers/b");
  // Open: Wait returns at once.
  CHECK(!barrier.IsSet());
  CHECK(barrier.Wait(absl::Seconds(10)).ok());
  REQUIRE(barrier.Set().ok());
  REQUIRE(barrier.Set().ok());  // already set: fine
  CHECK(barrier.IsSet());
  CHECK(barrier.Wait(absl::Milliseconds(100)).code() ==
        absl::StatusCode::kDeadlineExceeded);

  constexpr int kWaiters = 4;
  const int64_t watches_before = c.GetHealth().watch_count;
  std::atomic<int> passed{0};
  absl::Status results[kWaiters];
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i] {
      Barrier mine(c, "/barriers/b");  // each its own object
      results[i] = mine.Wait(absl::Seconds(30));
      passed++;
    });
  }
  // Every waiter is waiting on its watch.
  REQUIRE(testing::WaitFor(
      [&] { return c.GetHealth().watch_count - watches_before >= kWaiters; },
      absl::Seconds(10)));
  // Waiting is not reading in a loop: the replica serves (almost) no reads
  // while the waiters wait.
  const int64_t reads_before = c.GetHealth().reads;
  absl::SleepFor(absl::Milliseconds(300));
  const int64_t reads_while_waiting = c.GetHealth().reads - reads_before;
  CHECK(passed == 0);
  Barrier opener(c, "/barriers/b");
  REQUIRE(opener.Remove().ok());
  REQUIRE(opener.Remove().ok());  // not set: fine
  for (auto& t : threads) t.join();
  CHECK(passed == kWaiters);
  for (const absl::Status& r : results) CHECK(r.ok());
  INFO("reads while waiting: " << reads_while_waiting);
  CHECK(reads_while_waiting <= 2);
  CHECK(!barrier.IsSet());
}

// Applies the first create of a persistent node and reports it lost with
// the connection.
class LosesFirstCreate : public testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  using ForwardingCoordinator::Create;
  absl::StatusOr<std::string> Create(std::string_view path,
                                     std::string_view data, CreateMode mode,
                                     const CreateOptions& o) override {
    absl::StatusOr<std::string> r = to_.Create(path, data, mode, o);
    if (mode == CreateMode::kPersistent && r.ok() && !lost_.exchange(true)) {
      return MakeError(Error::kConnectionLoss, "lost with the leader");
    }
    return r;
  }

 private:
  std::atomic<bool> lost_{false};
};

TEST_CASE("Barrier: a Set lost with the connection still sets it once",
          "[recipes][barrier]") {
  OnePeer peer;
  LosesFirstCreate faulty(*peer.c);
  Barrier barrier(faulty, "/deep/down/b");
  REQUIRE(barrier.Set().ok());
  CHECK(barrier.IsSet());
  auto kids = peer.c->GetChildren("/deep/down");
  REQUIRE(kids.ok());
  CHECK(*kids == std::vector<std::string>{"b"});
  REQUIRE(barrier.Remove().ok());
  CHECK(barrier.Wait(absl::Seconds(10)).ok());
}

}  // namespace
}  // namespace synod
