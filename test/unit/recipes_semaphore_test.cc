// recipes::Semaphore against a one-peer Coordinator: never more holders
// than permits, leases in the order asked with one acquirer woken per
// release (no herd), a lease create lost with the connection found again,
// timeouts that leave nothing behind, all-or-none batches, movable leases,
// and participants that disagree on the permits.

#include "synod/recipes/semaphore.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
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

using recipes::Semaphore;
using testing::TempDir;
using testing::TestOptions;

TEST_CASE("Semaphore: never more holders than permits",
          "[recipes][semaphore]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  constexpr int kPermits = 3;
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  Semaphore shared(*c, "/sem/x", kPermits);  // half the threads share one
  std::atomic<int> inside{0}, most{0}, over{0}, entries{0}, failures{0};
  Threads threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.Run([&, t] {
      std::unique_ptr<Semaphore> own;
      if (t % 2 == 1) own = std::make_unique<Semaphore>(*c, "/sem/x", kPermits);
      Semaphore& sem = own ? *own : shared;
      for (int i = 0; i < kRounds; ++i) {
        absl::StatusOr<Semaphore::Lease> lease = sem.Acquire(absl::Seconds(30));
        if (!lease.ok()) {
          failures++;
          return;
        }
        const int now = inside.fetch_add(1) + 1;
        if (now > kPermits) over++;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        entries++;
        // Held long enough for the others to pile up at the permits.
        absl::SleepFor(absl::Milliseconds(10));
        inside.fetch_sub(1);
        if (!lease->Release().ok()) failures++;
      }
    });
  }
  threads.JoinAll();
  CHECK(failures == 0);
  CHECK(over == 0);
  CHECK(most <= kPermits);
  INFO("most holders at once: " << most);
  CHECK(entries == kThreads * kRounds);
  CHECK(Queued(*c, "/sem/x/leases") == 0);
  CHECK(Queued(*c, "/sem/x/locks") == 0);
}

TEST_CASE("Semaphore: leases go in the order asked, one acquirer woken "
          "per release",
          "[recipes][semaphore]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  Semaphore holder(*c, "/sem/fifo", 2);
  absl::StatusOr<std::vector<Semaphore::Lease>> held =
      holder.Acquire(2, absl::Seconds(10));
  REQUIRE(held.ok());
  REQUIRE(held->size() == 2);
  constexpr int kWaiters = 6;
  const int64_t watches_before = c->GetHealth().watch_count;
  std::mutex order_mu;
  std::vector<int> order;
  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  Threads threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.Run([&, i] {
      Semaphore sem(*c, "/sem/fifo", 2);
      absl::StatusOr<Semaphore::Lease> lease = sem.Acquire(absl::Seconds(60));
      if (!lease.ok()) {
        failures++;
        return;
      }
      {
        std::lock_guard<std::mutex> g(order_mu);
        order.push_back(i);
      }
      testing::WaitFor([&] { return go.load(); }, absl::Seconds(60));
      if (!lease->Release().ok()) failures++;
    });
    // Each waiter waits on one watch: the first on the leases, the others
    // each on the turn node before its own. The next asks only then.
    REQUIRE(testing::WaitFor(
        [&] { return c->GetHealth().watch_count - watches_before == i + 1; },
        absl::Seconds(10)));
  }
  const int64_t events_before = c->GetHealth().events_delivered;
  REQUIRE(held->front().Release().ok());
  // The first waiter takes the permit and passes the turn; the second
  // queues its lease and waits on the leases.
  REQUIRE(testing::WaitFor(
      [&] {
        std::lock_guard<std::mutex> g(order_mu);
        return order.size() == 1;
      },
      absl::Seconds(10)));
  REQUIRE(testing::WaitFor(
      [&] {
        return c->GetHealth().watch_count - watches_before == kWaiters - 1;
      },
      absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(100));
  CHECK(Queued(*c, "/sem/fifo/leases") == 3);
  // Two events for one release: the leases watch of the waiter whose turn
  // it was, and the turn watch of the next. Nobody else woke.
  CHECK(c->GetHealth().events_delivered - events_before == 2);
  go = true;
  held->clear();  // releases the other lease
  threads.JoinAll();
  CHECK(failures == 0);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(Queued(*c, "/sem/fifo/leases") == 0);
}

// Applies the first lease create, then reports it lost with the connection,
// as a leader change can.
class LosesFirstLease : public testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  using ForwardingCoordinator::Create;
  absl::StatusOr<std::string> Create(std::string_view path,
                                     std::string_view data, CreateMode mode,
                                     const CreateOptions& o) override {
    absl::StatusOr<std::string> r = to_.Create(path, data, mode, o);
    if (path.find("/leases/") != std::string_view::npos &&
        !lost_.exchange(true)) {
      return MakeError(Error::kConnectionLoss, "lost with the leader");
    }
    return r;
  }

 private:
  std::atomic<bool> lost_{false};
};

TEST_CASE("Semaphore: a lease create lost with the connection is found, "
          "not orphaned",
          "[recipes][semaphore]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  LosesFirstLease faulty(*c);
  Semaphore sem(faulty, "/sem/lost", 1);
  absl::StatusOr<Semaphore::Lease> lease = sem.Acquire(absl::Seconds(10));
  REQUIRE(lease.ok());
  // The one lease is ours: a second create would have waited behind our
  // own orphan, holding the only permit, for good.
  auto children = c->GetChildren("/sem/lost/leases");
  REQUIRE(children.ok());
  REQUIRE(children->size() == 1);
  CHECK("/sem/lost/leases/" + (*children)[0] == lease->node());
  CHECK(lease->IsHeld());
  Semaphore other(*c, "/sem/lost", 1);
  CHECK(other.Acquire(absl::Milliseconds(200)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  REQUIRE(lease->Release().ok());
  REQUIRE(other.Acquire(absl::Seconds(10)).ok());
}

TEST_CASE("Semaphore: timeouts leave nothing behind, batches are all or "
          "none, leases move",
          "[recipes][semaphore]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  Semaphore sem(*c, "/sem/t", 2);
  CHECK(sem.Acquire(0, absl::Seconds(1)).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(sem.Acquire(3, absl::Seconds(1)).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Semaphore(*c, "/sem/t", 0).Acquire().status().code() ==
        absl::StatusCode::kInvalidArgument);

  absl::StatusOr<Semaphore::Lease> a = sem.Acquire(absl::Seconds(10));
  absl::StatusOr<Semaphore::Lease> b = sem.Acquire(absl::Seconds(10));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->IsHeld());
  CHECK(a->node() != b->node());
  CHECK(sem.Acquire(absl::Milliseconds(200)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(Queued(*c, "/sem/t/leases") == 2);
  CHECK(Queued(*c, "/sem/t/locks") == 0);

  // One permit free, two asked: none kept.
  REQUIRE(b->Release().ok());
  CHECK(!b->IsHeld());
  CHECK(b->Release().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(sem.Acquire(2, absl::Milliseconds(200)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(Queued(*c, "/sem/t/leases") == 1);
  CHECK(Queued(*c, "/sem/t/locks") == 0);

  // A lease moves; the moved-from one holds nothing.
  {
    Semaphore::Lease moved = *std::move(a);
    CHECK(a->node().empty());
    CHECK(!a->IsHeld());
    CHECK(moved.IsHeld());
  }  // destroyed: released
  CHECK(Queued(*c, "/sem/t/leases") == 0);
  absl::StatusOr<std::vector<Semaphore::Lease>> both =
      sem.Acquire(2, absl::Seconds(10));
  REQUIRE(both.ok());
  CHECK(both->size() == 2);
  CHECK(Queued(*c, "/sem/t/leases") == 2);
  Semaphore::Lease assigned;
  assigned = std::move(both->front());
  assigned = std::move(both->back());  // releases the first
  CHECK(Queued(*c, "/sem/t/leases") == 1);
  CHECK(assigned.IsHeld());
}

TEST_CASE("Semaphore: participants that disagree on the permits never "
          "exceed the largest",
          "[recipes][semaphore]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  Semaphore three(*c, "/sem/d", 3);
  Semaphore one(*c, "/sem/d", 1);
  absl::StatusOr<Semaphore::Lease> first = three.Acquire(absl::Seconds(10));
  REQUIRE(first.ok());
  // One lease is held: the participant of one permit sees none free.
  CHECK(one.Acquire(absl::Milliseconds(200)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  absl::StatusOr<std::vector<Semaphore::Lease>> more =
      three.Acquire(2, absl::Seconds(10));
  REQUIRE(more.ok());
  CHECK(three.Acquire(absl::Milliseconds(200)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(Queued(*c, "/sem/d/leases") == 3);
  more->clear();
  REQUIRE(first->Release().ok());
  REQUIRE(one.Acquire(absl::Seconds(10)).ok());
}

}  // namespace
}  // namespace synod
