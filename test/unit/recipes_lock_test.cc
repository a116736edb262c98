// recipes::Lock against a one-peer Coordinator: mutual exclusion among
// threads of many Locks, FIFO order, one waiter woken per release (no
// herd), timeouts that leave nothing queued, re-entrancy, threads sharing
// one Lock, a create lost with the connection found again, and waits that
// end when the session does.

#include "synod/recipes/lock.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"
#include "util/forwarding_coordinator.h"

namespace synod {
namespace {

using testing::AwaitQueued;
using testing::OnePeer;
using testing::Queued;
using testing::Threads;

using recipes::Lock;
using testing::TempDir;
using testing::TestOptions;

TEST_CASE("Lock: no two holders ever overlap", "[recipes][lock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  constexpr int kThreads = 8;
  constexpr int kRounds = 25;
  // Catch's assertions are for the test's thread: the others count.
  std::atomic<int> inside{0}, overlaps{0}, entries{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Lock lock(*c, "/locks/x");
      for (int i = 0; i < kRounds; ++i) {
        if (!lock.Acquire().ok()) {
          failures++;
          return;
        }
        if (inside.fetch_add(1) != 0) overlaps++;
        entries++;
        std::this_thread::yield();
        inside.fetch_sub(1);
        if (!lock.Release().ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(overlaps == 0);
  CHECK(entries == kThreads * kRounds);
  // Nothing left queued; the lock's container goes once empty.
  CHECK(Queued(*c, "/locks/x") == 0);
}

TEST_CASE("Lock: waiters get it in the order they asked, one woken per "
          "release",
          "[recipes][lock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  Lock holder(*c, "/fifo");
  REQUIRE(holder.Acquire().ok());
  CHECK(holder.IsHeld());
  constexpr int kWaiters = 6;
  const int64_t watches_before = c->GetHealth().watch_count;
  std::mutex order_mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i] {
      Lock lock(*c, "/fifo");
      if (!lock.Acquire().ok()) {
        failures++;
        return;
      }
      {
        std::lock_guard<std::mutex> g(order_mu);
        order.push_back(i);
      }
      while (!go) absl::SleepFor(absl::Milliseconds(1));  // hold until told
      if (!lock.Release().ok()) failures++;
    });
    // The next waiter queues only once this one has.
    REQUIRE(AwaitQueued(*c, "/fifo", static_cast<size_t>(i) + 2));
  }
  // Every waiter has registered its watch (one each).
  REQUIRE(testing::WaitFor(
      [&] { return c->GetHealth().watch_count - watches_before == kWaiters; },
      absl::Seconds(10)));
  const int64_t events_before = c->GetHealth().events_delivered;
  REQUIRE(holder.Release().ok());
  CHECK(!holder.IsHeld());
  REQUIRE(testing::WaitFor(
      [&] {
        std::lock_guard<std::mutex> g(order_mu);
        return order.size() == 1;
      },
      absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(100));
  // One release woke one waiter: its own watch fired, nobody else's.
  CHECK(c->GetHealth().events_delivered - events_before == 1);
  go = true;
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("Lock: a timeout leaves nothing queued, it is re-entrant, and "
          "threads sharing one Lock exclude each other",
          "[recipes][lock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  Lock a(*c, "/l");
  Lock b(*c, "/l");
  REQUIRE(a.Acquire().ok());
  const std::string held = a.node();
  CHECK(held.rfind("/l/_c_", 0) == 0);

  absl::Status late = b.Acquire(absl::Milliseconds(200));
  CHECK(late.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(!b.IsHeld());
  CHECK(Queued(*c, "/l") == 1);  // b's node went with its timeout

  // Re-entrant for the holding thread.
  REQUIRE(a.Acquire().ok());
  REQUIRE(a.Release().ok());
  CHECK(a.IsHeld());
  CHECK(a.node() == held);
  CHECK(b.Acquire(absl::Milliseconds(100)).code() ==
        absl::StatusCode::kDeadlineExceeded);
  REQUIRE(a.Release().ok());
  CHECK(!a.IsHeld());
  CHECK(a.Release().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(b.Acquire(absl::Seconds(10)).ok());

  // Another thread using b waits for b's holder like any contender.
  std::atomic<bool> got{false};
  absl::Status not_holder, acquired, released;
  std::thread other([&] {
    not_holder = b.Release();
    acquired = b.Acquire(absl::Seconds(10));
    got = true;
    released = b.Release();
  });
  absl::SleepFor(absl::Milliseconds(200));
  CHECK(!got);
  REQUIRE(b.Release().ok());
  other.join();
  CHECK(got);
  CHECK(not_holder.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(acquired.ok());
  CHECK(released.ok());
}

// Applies the first ephemeral sequential create, then reports it lost with
// the connection, as a leader change can.
class LosesFirstCreate : public testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  using ForwardingCoordinator::Create;
  absl::StatusOr<std::string> Create(std::string_view path,
                                     std::string_view data, CreateMode mode,
                                     const CreateOptions& o) override {
    absl::StatusOr<std::string> r = to_.Create(path, data, mode, o);
    if (mode == CreateMode::kEphemeralSequential && !lost_.exchange(true)) {
      return MakeError(Error::kConnectionLoss, "lost with the leader");
    }
    return r;
  }

 private:
  std::atomic<bool> lost_{false};
};

TEST_CASE("Lock: a create lost with the connection is found, not orphaned",
          "[recipes][lock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  LosesFirstCreate faulty(*c);
  Lock lock(faulty, "/lost");
  REQUIRE(lock.Acquire(absl::Seconds(10)).ok());
  // The one node is ours: a second create would have queued us behind our
  // own orphan for good.
  auto children = c->GetChildren("/lost");
  REQUIRE(children.ok());
  REQUIRE(children->size() == 1);
  CHECK("/lost/" + (*children)[0] == lock.node());
  Lock other(*c, "/lost");
  REQUIRE(lock.Release().ok());
  REQUIRE(other.Acquire(absl::Seconds(10)).ok());
}

// Keeps the session listeners it is given, so that a test can tell them of
// a session end that did not happen (the real one: the ensemble tests).
class ToldSessionEvents : public testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  int64_t AddSessionListener(Watcher listener) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      listeners_.push_back(listener);
    }
    return to_.AddSessionListener(std::move(listener));
  }
  void Tell(SessionState state) {
    std::vector<Watcher> listeners;
    {
      std::lock_guard<std::mutex> lock(mu_);
      listeners = listeners_;
    }
    WatchEvent event;
    event.state = state;
    for (const Watcher& listener : listeners) listener(event);
  }

 private:
  std::mutex mu_;
  std::vector<Watcher> listeners_;
};

TEST_CASE("Lock: a wait ends when the session does, and leaves nothing "
          "queued",
          "[recipes][lock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  Lock holder(*c, "/ends");
  REQUIRE(holder.Acquire().ok());
  for (SessionState end : {SessionState::kExpired, SessionState::kClosed}) {
    ToldSessionEvents told(*c);
    Lock waiter(told, "/ends");
    absl::Status waited;
    std::thread t([&] { waited = waiter.Acquire(absl::Seconds(20)); });
    CHECK(AwaitQueued(*c, "/ends", 2));
    told.Tell(SessionState::kDisconnected);  // not an end: it keeps waiting
    absl::SleepFor(absl::Milliseconds(100));
    told.Tell(end);
    t.join();
    INFO(waited.ToString());
    // Told at once, not after its 20 s (the watched holder never left).
    CHECK(ErrorOf(waited) == (end == SessionState::kExpired
                                  ? Error::kSessionExpired
                                  : Error::kClosing));
    CHECK(Queued(*c, "/ends") == 1);
    CHECK(holder.IsHeld());
  }
}

}  // namespace
}  // namespace synod
