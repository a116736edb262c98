// Quotas in a three-peer ensemble: set at a follower, enforced by whichever
// peer leads, the same on every replica, and still enforced after the
// leader goes and another takes over.

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ensemble/ensemble_util.h"

namespace synod::testing {
namespace {

// Creates `path` at peer `at`, retrying while no leader serves; returns the
// first other outcome.
absl::Status CreateOnce(Coordinator& at, const std::string& path,
                        CreateMode mode = CreateMode::kPersistent) {
  absl::Status s;
  for (int i = 0; i < 300; ++i) {
    s = at.Create(path, "d", mode).status();
    if (ErrorOf(s) != Error::kConnectionLoss) return s;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return s;
}

TEST_CASE("Ensemble: a quota holds on every peer and across a leader change",
          "[ensemble][quota]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int a = (leader + 1) % 3;
  const int b = (leader + 2) % 3;
  REQUIRE(e.at(a).Create("/q", "").ok());
  QuotaLimits limits;
  limits.count_hard = 5;
  REQUIRE(e.at(a).SetQuota("/q", limits).ok());  // forwarded to the leader
  REQUIRE(e.at(b).Create("/q/1", "x").ok());
  REQUIRE(e.at(leader).Create("/q/2", "x").ok());
  // The leader's own session holds an ephemeral in the subtree.
  REQUIRE(e.at(leader).Create("/q/leader", "x", CreateMode::kEphemeral).ok());
  REQUIRE(e.at(a).Create("/q/3", "x").ok());
  CHECK(ErrorOf(e.at(b).Create("/q/4", "x").status()) == Error::kQuotaExceeded);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(e.at(i).Sync("/").ok());
    auto q = e.at(i).GetQuota("/q");
    REQUIRE(q.ok());
    CHECK(q->count == 5);
    CHECK(q->bytes == 4);
    CHECK(q->limits.count_hard == 5);
  }

  // The leader goes (its session closes, taking its ephemeral); another
  // leads, from the replicated tree alone.
  e.Stop(leader);
  REQUIRE(e.WaitLeader() >= 0);
  REQUIRE(CreateOnce(e.at(a), "/q/4").ok());  // the ephemeral's room
  CHECK(ErrorOf(CreateOnce(e.at(b), "/q/5")) == Error::kQuotaExceeded);
  CHECK(ErrorOf(CreateOnce(e.at(a), "/q/5", CreateMode::kEphemeral)) ==
        Error::kQuotaExceeded);
  CHECK(e.at(b).Set("/q/1", "bigger").ok());  // no byte limit

  // The old leader comes back and agrees.
  REQUIRE(e.Start(leader).ok());
  REQUIRE(e.WaitAllConnected());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(e.at(i).Sync("/").ok());
    auto q = e.at(i).GetQuota("/q");
    REQUIRE(q.ok());
    CHECK(q->count == 5);
    CHECK(q->bytes == 9);
  }
  CHECK(ErrorOf(CreateOnce(e.at(leader), "/q/6")) == Error::kQuotaExceeded);
  REQUIRE(e.at(leader).DeleteQuota("/q").ok());
  REQUIRE(CreateOnce(e.at(b), "/q/6").ok());
}

}  // namespace
}  // namespace synod::testing
