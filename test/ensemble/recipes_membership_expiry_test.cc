// Recipes across a session expiry: a follower cut off past its session
// timeout loses its session (the ensemble deletes its ephemerals: its
// group member and service instance disappear from the other peers, and a
// double barrier participant waiting there is told SessionExpired); once
// healed, its Coordinator opens a new session and the recipes register
// both again, with their latest data, owned by the new session.

#include <catch2/catch.hpp>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "ensemble/ensemble_util.h"
#include "synod/recipes/double_barrier.h"
#include "synod/recipes/group_member.h"
#include "synod/recipes/service_registry.h"

namespace synod::testing {
namespace {

using recipes::GroupMember;
using recipes::ServiceRegistry;

TEST_CASE("Recipes: a member and an instance register again after their "
          "session expires",
          "[ensemble][recipes][expiry]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int x = (leader + 1) % 3;
  Coordinator& cx = e.at(x);
  Coordinator& cl = e.at(leader);

  std::mutex mu;
  std::vector<GroupMember::Membership> heard;
  GroupMember watcher(cl, "/groups/g", "w", "w",
                      [&](const GroupMember::Membership& m) {
                        std::lock_guard<std::mutex> lock(mu);
                        heard.push_back(m);
                      });
  auto last_heard = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return heard.empty() ? GroupMember::Membership() : heard.back();
  };
  GroupMember member(cx, "/groups/g", "x", "x-1");
  ServiceRegistry registry(cx, "/services");
  ServiceRegistry client(cl, "/services");
  REQUIRE(watcher.Start().ok());
  REQUIRE(member.Start().ok());
  REQUIRE(member.SetData("x-2").ok());
  REQUIRE(registry.Register("api", "x1", "addr-1").ok());
  REQUIRE(registry.Update("api", "x1", "addr-2").ok());
  const GroupMember::Membership both = {{"w", "w"}, {"x", "x-2"}};
  REQUIRE(WaitFor([&] { return last_heard() == both; }, absl::Seconds(30)));
  const int64_t old_session = cx.session_id();
  REQUIRE(old_session != 0);
  // A participant of a double barrier for two waits on x.
  recipes::DoubleBarrier waiting(cx, "/barriers/two", 2, "x");
  absl::Status entered;
  // Longer than all the waits below together: it returns as soon as the
  // node is gone, and a slow machine must not make it time out first.
  std::thread enter([&] { entered = waiting.Enter(absl::Seconds(330)); });
  REQUIRE(WaitFor([&] { return cl.Exists("/barriers/two/x")->has_value(); },
                  absl::Seconds(30)));

  // Cut off past the session timeout (8 s): the ensemble expires it.
  e.Isolate(x, true);
  const GroupMember::Membership alone = {{"w", "w"}};
  CHECK(WaitFor([&] { return last_heard() == alone; }, absl::Seconds(60)));
  CHECK(client.Instances("api")->empty());
  e.Isolate(x, false);

  // A new session, and both are back under it, with their latest data.
  REQUIRE(WaitFor(
      [&] {
        return cx.session_id() != old_session && cx.session_id() != 0;
      },
      absl::Seconds(60)));
  CHECK(WaitFor([&] { return last_heard() == both; }, absl::Seconds(60)));
  CHECK(WaitFor([&] { return member.IsRegistered(); }, absl::Seconds(30)));
  auto node = cl.Get("/groups/g/x");
  REQUIRE(node.ok());
  CHECK(node->stat.ephemeral_owner == cx.session_id());
  CHECK(WaitFor(
      [&] {
        auto now = client.Instances("api");
        return now.ok() && *now == std::vector<ServiceRegistry::Instance>{
                                       {"x1", "addr-2"}};
      },
      absl::Seconds(30)));
  // The barrier's participant lost its node with the session.
  enter.join();
  CHECK(ErrorOf(entered) == Error::kSessionExpired);
  CHECK(!waiting.entered());
  CHECK(!cl.Exists("/barriers/two/x")->has_value());
  // SetData works on the new session.
  REQUIRE(member.SetData("x-3").ok());
  CHECK(WaitFor(
      [&] {
        return last_heard() ==
               GroupMember::Membership{{"w", "w"}, {"x", "x-3"}};
      },
      absl::Seconds(30)));
}

}  // namespace
}  // namespace synod::testing
