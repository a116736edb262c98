// Tests for lib/session/own_lease: the window arithmetic, and which
// confirmations extend the lease of the Coordinator's own session.

#include "session/own_lease.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>

namespace synod {
namespace {

TEST_CASE("OwnLease: the window is the timeout less a leader change and 2%",
          "[own_lease]") {
  // 10 s sessions, 100 ms ticks, a leader gone after 10 ticks, pings
  // every 2: 10000 - 14 * 100 - 200.
  CHECK(OwnLease::Window(10000, 100, 10, 2) == 8400);
  // The shortest ensemble session (20 ticks) still has a lease.
  CHECK(OwnLease::Window(2000, 100, 10, 2) == 560);
  // Too short: no lease at all.
  CHECK(OwnLease::Window(1000, 100, 10, 2) <= 0);
  OwnLease none(OwnLease::Window(1000, 100, 10, 2));
  none.Started(7, 0, 0);
  none.Leading(10);
  CHECK(none.until() == 0);
  CHECK_FALSE(none.Valid(11));
}

TEST_CASE("OwnLease: held from the session's create, extended by the "
          "leader's acknowledgements of touches that named it",
          "[own_lease]") {
  OwnLease lease(500);
  CHECK(lease.until() == 0);
  lease.Acknowledged(100);  // no session yet: nothing
  CHECK(lease.until() == 0);
  // Created by a request sent at 1000, known at 1010.
  lease.Started(42, 1000, 1010);
  CHECK(lease.session() == 42);
  CHECK(lease.until() == 1500);
  CHECK(lease.Valid(1499));
  CHECK_FALSE(lease.Valid(1500));
  // A touch sent before the session was known did not name it.
  lease.Acknowledged(1005);
  CHECK(lease.until() == 1500);
  lease.Acknowledged(1200);
  CHECK(lease.until() == 1700);
  // Acknowledgements arriving out of order never shorten it.
  lease.Acknowledged(1100);
  CHECK(lease.until() == 1700);
  // A leader confirms at every round.
  lease.Leading(1600);
  CHECK(lease.until() == 2100);
  // Gone (expired, closing): nothing until the next session, which starts
  // from its own create.
  lease.Ended();
  CHECK(lease.until() == 0);
  lease.Acknowledged(3000);
  lease.Leading(3000);
  CHECK(lease.until() == 0);
  lease.Started(43, 4000, 4050);
  CHECK(lease.until() == 4500);
}

TEST_CASE("OwnLease: alone, the session lasts as long as the peer",
          "[own_lease]") {
  OwnLease lease(-5);  // alone, any timeout
  lease.SetUnbounded();
  CHECK(lease.until() == 0);  // no session yet
  lease.Started(1, 0, 0);
  CHECK(lease.until() == std::numeric_limits<int64_t>::max());
  lease.Ended();
  CHECK(lease.until() == 0);
}

}  // namespace
}  // namespace synod
