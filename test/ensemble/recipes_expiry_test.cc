// The lock and the semaphore through a real session expiry: a follower
// cut off past its session timeout loses its lease (the permit passes to
// another peer, never one too many), its waiting Acquire ends with
// SessionExpired once it hears of the expiry instead of waiting out its
// timeout, and on the session the Coordinator opens next both recipes work
// again.

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "ensemble/ensemble_util.h"
#include "synod/recipes/lock.h"
#include "synod/recipes/semaphore.h"

namespace synod::testing {
namespace {

size_t Queued(Coordinator& c, const std::string& path) {
  auto children = c.GetChildren(path);
  return children.ok() ? children->size() : 0;
}

TEST_CASE("Recipes: a session expiry ends a lock wait, frees a permit, and "
          "the recipes work on the next session",
          "[ensemble][recipes]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int x = (leader + 1) % 3;  // a follower, to be cut off
  const int y = (leader + 2) % 3;
  recipes::Lock held_y(e.at(y), "/ex/lock");
  REQUIRE(held_y.Acquire(absl::Seconds(10)).ok());
  recipes::Semaphore sem_x(e.at(x), "/ex/sem", 1);
  absl::StatusOr<recipes::Semaphore::Lease> lease_x =
      sem_x.Acquire(absl::Seconds(10));
  REQUIRE(lease_x.ok());

  recipes::Lock waiting_x(e.at(x), "/ex/lock");
  absl::Status waited;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    waited = waiting_x.Acquire(absl::Seconds(120));
    returned = true;
  });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{waiter};
  REQUIRE(WaitFor([&] { return Queued(e.at(y), "/ex/lock") == 2; },
                  absl::Seconds(10)));

  e.Isolate(x, true);
  // The permit passes once x's session expires on the ensemble (8 s here),
  // and x's queued lock node goes with it.
  recipes::Semaphore sem_y(e.at(y), "/ex/sem", 1);
  absl::StatusOr<recipes::Semaphore::Lease> lease_y =
      sem_y.Acquire(absl::Seconds(60));
  REQUIRE(lease_y.ok());
  CHECK(Queued(e.at(y), "/ex/sem/leases") == 1);
  CHECK(WaitFor([&] { return Queued(e.at(y), "/ex/lock") == 1; },
                absl::Seconds(30)));
  e.Isolate(x, false);

  // x hears of the expiry: the wait ends, long before its 120 s.
  REQUIRE(WaitFor([&] { return returned.load(); }, absl::Seconds(60)));
  waiter.join();
  INFO(waited.ToString());
  CHECK(ErrorOf(waited) == Error::kSessionExpired);
  CHECK(WaitFor([&] { return !lease_x->IsHeld(); }, absl::Seconds(30)));
  CHECK(held_y.IsHeld());

  // The next session: the lock and the semaphore work for x again.
  REQUIRE(e.at(x).WaitConnected(absl::Seconds(30)).ok());
  REQUIRE(held_y.Release().ok());
  CHECK(waiting_x.Acquire(absl::Seconds(30)).ok());
  CHECK(waiting_x.IsHeld());
  REQUIRE(lease_y->Release().ok());
  absl::StatusOr<recipes::Semaphore::Lease> again =
      sem_x.Acquire(absl::Seconds(30));
  REQUIRE(again.ok());
  CHECK(again->IsHeld());
  CHECK(waiting_x.Release().ok());
}

}  // namespace
}  // namespace synod::testing
