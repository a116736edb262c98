// The node and tree caches across an ensemble: a follower's caches stay
// equal to the tree through writes made while it was cut off, once it is
// back, whether its session survived the cut or expired with it (then the
// Coordinator's new session makes the caches read everything again).

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ensemble/ensemble_util.h"
#include "synod/recipes/node_cache.h"
#include "synod/recipes/tree_cache.h"
#include "util/recipe_test_util.h"

namespace synod::testing {
namespace {

TEST_CASE("Recipes: a cut-off follower's caches equal the tree once it is "
          "back, with or without a new session",
          "[ensemble][recipes]") {
  const bool expire = GENERATE(false, true);
  LocalEnsemble e(3);
  for (int i = 0; i < 3; ++i) {
    e.options(i).session_timeout = absl::Seconds(expire ? 2 : 20);
  }
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int cut = (leader + 1) % 3;
  REQUIRE(e.at(leader).Create("/cached", "").ok());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(e.at(leader).Create(absl::StrCat("/cached/n", i), "v0").ok());
  }
  REQUIRE(e.at(cut).Sync("/").ok());
  recipes::TreeCache tree(e.at(cut), "/cached");
  recipes::NodeCache node(e.at(cut), "/cached/n1");
  REQUIRE(tree.Start().ok());
  REQUIRE(node.Start().ok());
  REQUIRE(tree.size() == 6);
  const int64_t session = e.at(cut).session_id();

  e.Isolate(cut, true);
  // Writes the cut-off peer misses: changed, deleted, created, deeper.
  REQUIRE(e.at(leader).Set("/cached/n1", "v1").ok());
  REQUIRE(e.at(leader).Delete("/cached/n2").ok());
  REQUIRE(e.at(leader).Create("/cached/n9", "new").ok());
  REQUIRE(e.at(leader).Create("/cached/n9/deep", "deeper").ok());
  REQUIRE(e.at(leader).Multi({Op::Delete("/cached/n3"),
                              Op::Create("/cached/n3", "again")})
              .ok());
  if (expire) absl::SleepFor(absl::Seconds(4));  // past its session timeout
  e.Isolate(cut, false);

  REQUIRE(e.at(cut).WaitConnected(absl::Seconds(30)).ok());
  CHECK((e.at(cut).session_id() != session) == expire);
  REQUIRE(e.at(leader).Sync("/").ok());
  const std::map<std::string, Node> truth = Walk(e.at(leader), "/cached");
  REQUIRE(truth.size() == 7);
  CHECK(WaitFor([&] { return SameView(tree.Snapshot(), truth); }));
  CHECK(WaitFor([&] {
    std::optional<Node> n = node.Current();
    return n && n->data == "v1";
  }));
}

}  // namespace
}  // namespace synod::testing
