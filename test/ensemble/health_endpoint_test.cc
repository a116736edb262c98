// /health and /metrics of an ensemble's peers (Options::metrics_listen): a
// follower cut off from the others answers 503 with its role while it has
// no leader, and 200 again once healed; /metrics says the same role.

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ensemble/ensemble_util.h"
#include "util/http_get.h"

namespace synod::testing {
namespace {

TEST_CASE("Health endpoint: a cut-off follower is 503 until healed",
          "[ensemble][metrics]") {
  LocalEnsemble e(3);
  for (int i = 0; i < e.size(); ++i) e.options(i).metrics_listen = "127.0.0.1:0";
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int follower = (leader + 1) % 3;
  const std::string at = e.at(follower).GetHealth().metrics_listen;
  const std::string leads = e.at(leader).GetHealth().metrics_listen;
  REQUIRE(WaitFor([&] { return Get(at, "/health").code == 200; }));
  CHECK(Get(at, "/health").body == "serving follower\n");
  CHECK(Get(leads, "/health").body == "serving leader\n");
  const std::string led = Get(leads, "/metrics").body;
  CHECK(Sample(led, "synod_members{kind=\"voter\"}") == 3);
  // The leader reports each follower's lag (a number of txns, 0 or more).
  for (const EnsembleMember& m : e.at(leader).GetHealth().voters) {
    if (m.id == e.at(leader).GetHealth().peer_id) continue;
    INFO("peer " << m.id);
    CHECK(Sample(led, absl::StrCat("synod_learner_lag_txns{peer=\"", m.id,
                                   "\"}")) >= 0);
  }
  CHECK(Sample(led, "synod_elections_total") >= 1);

  e.Isolate(follower, true);
  REQUIRE(WaitFor([&] { return Get(at, "/health").code == 503; },
                  absl::Seconds(30)));
  CHECK(absl::StartsWith(Get(at, "/health").body, "not serving"));
  const std::string cut = Get(at, "/metrics").body;
  CHECK(Sample(cut, "synod_serving") == 0);
  CHECK(Sample(cut, "synod_leader_id") == 0);
  // The others still serve.
  CHECK(Get(leads, "/health").code == 200);

  e.Isolate(follower, false);
  CHECK(WaitFor([&] { return Get(at, "/health").code == 200; },
                absl::Seconds(30)));
}

}  // namespace
}  // namespace synod::testing
