// recipes::LeaderElection against a one-peer Coordinator: the first to join
// leads, leadership passes in join order on resignation or destruction,
// fencing tokens grow, and the listener hears every gain and loss in order.

#include "synod/recipes/leader_election.h"

#include <catch2/catch.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"

namespace synod {
namespace {

using recipes::LeaderElection;

using Heard = testing::Heard<bool>;

TEST_CASE("Election: leadership passes in join order, tokens grow",
          "[recipes][election]") {
  testing::TempDir dir;
  std::unique_ptr<Coordinator> started =
      testing::MustStart(testing::TestOptions(dir.path()));
  Coordinator& c = *started;
  Heard heard_a, heard_b, heard_c;
  auto a = std::make_unique<LeaderElection>(c, "/elect/jobs", "a",
                                            heard_a.Listener());
  auto b = std::make_unique<LeaderElection>(c, "/elect/jobs", "b",
                                            heard_b.Listener());
  LeaderElection cc(c, "/elect/jobs", "c", heard_c.Listener());
  CHECK(b->AwaitLeadership(absl::Milliseconds(10)).code() ==
        absl::StatusCode::kFailedPrecondition);  // not started
  CHECK(ErrorOf(b->CurrentLeader().status()) == Error::kNoNode);
  REQUIRE(a->Start().ok());
  CHECK(a->Start().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(b->Start().ok());
  REQUIRE(cc.Start().ok());
  REQUIRE(a->AwaitLeadership(absl::Seconds(10)).ok());
  CHECK(a->IsLeader());
  CHECK(!b->IsLeader());
  CHECK(*b->CurrentLeader() == "a");
  CHECK(b->AwaitLeadership(absl::Milliseconds(50)).code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(b->FencingToken().status().code() ==
        absl::StatusCode::kFailedPrecondition);
  const int64_t token_a = *a->FencingToken();

  REQUIRE(a->Resign().ok());
  CHECK(!a->IsLeader());
  REQUIRE(b->AwaitLeadership(absl::Seconds(10)).ok());
  const int64_t token_b = *b->FencingToken();
  CHECK(token_b > token_a);
  CHECK(*cc.CurrentLeader() == "b");
  REQUIRE(testing::WaitFor(
      [&] { return heard_a.Get() == std::vector<bool>{true, false}; },
      absl::Seconds(10)));

  // A participant that rejoins goes to the back, with a new token.
  REQUIRE(a->Start().ok());
  b.reset();  // destroying the leader tells its listener
  CHECK(heard_b.Get() == std::vector<bool>{true, false});
  REQUIRE(cc.AwaitLeadership(absl::Seconds(10)).ok());
  CHECK(*cc.FencingToken() > token_b);
  REQUIRE(cc.Resign().ok());
  REQUIRE(a->AwaitLeadership(absl::Seconds(10)).ok());
  CHECK(*a->FencingToken() > token_b);
  CHECK(*a->CurrentLeader() == "a");
  a.reset();
  CHECK(heard_a.Get() == std::vector<bool>{true, false, true, false});
  REQUIRE(testing::WaitFor(
      [&] { return heard_c.Get() == std::vector<bool>{true, false}; },
      absl::Seconds(10)));
}

}  // namespace
}  // namespace synod
