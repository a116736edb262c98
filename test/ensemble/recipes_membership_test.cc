// Group membership, service discovery and the double barrier across an
// in-process ensemble of three peers: members and instances registered on
// two peers are seen (listed, watched, picked) on the third, and go when
// their peer stops (its session closes); a double barrier's participants
// spread over the peers enter and leave together.

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "ensemble/ensemble_util.h"
#include "synod/recipes/double_barrier.h"
#include "synod/recipes/group_member.h"
#include "synod/recipes/service_registry.h"
#include "util/severable_coordinator.h"

namespace synod::testing {
namespace {

using recipes::GroupMember;
using recipes::ServiceRegistry;

TEST_CASE("Recipes: group members are seen on another peer and leave with "
          "their peer's session",
          "[ensemble][recipes][group]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  // Members on the two followers, the watcher on the leader.
  const int x = (leader + 1) % 3;
  const int y = (leader + 2) % 3;
  SeverableCoordinator on_y(e.at(y));
  std::mutex mu;
  std::vector<GroupMember::Membership> heard;
  GroupMember watcher(e.at(leader), "/groups/g", "w", "w-data",
                      [&](const GroupMember::Membership& m) {
                        std::lock_guard<std::mutex> lock(mu);
                        heard.push_back(m);
                      });
  auto last_heard = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return heard.empty() ? GroupMember::Membership() : heard.back();
  };
  GroupMember mx(e.at(x), "/groups/g", "x", "x-data");
  GroupMember my(on_y, "/groups/g", "y", "y-data");
  REQUIRE(watcher.Start().ok());
  REQUIRE(mx.Start().ok());
  REQUIRE(my.Start().ok());
  const GroupMember::Membership all = {
      {"w", "w-data"}, {"x", "x-data"}, {"y", "y-data"}};
  REQUIRE(WaitFor([&] { return last_heard() == all; }, absl::Seconds(30)));
  CHECK(*watcher.Members() == all);
  // An id held by a member on another peer (another live session).
  GroupMember clash(e.at(leader), "/groups/g", "x", "mine");
  CHECK(clash.Start().code() == absl::StatusCode::kAlreadyExists);

  // y's peer stops: its session closes and its member goes with it.
  on_y.Sever();
  e.Stop(y);
  const GroupMember::Membership without_y = {{"w", "w-data"},
                                             {"x", "x-data"}};
  CHECK(WaitFor([&] { return last_heard() == without_y; },
                absl::Seconds(30)));
  CHECK(*watcher.Members() == without_y);
  CHECK(*mx.Members() == without_y);
}

TEST_CASE("Recipes: instances registered on two peers are listed, watched "
          "and picked on a third, and go with their peer",
          "[ensemble][recipes][registry]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int x = (leader + 1) % 3;
  const int y = (leader + 2) % 3;
  SeverableCoordinator on_y(e.at(y));
  ServiceRegistry at_x(e.at(x), "/services");
  ServiceRegistry at_y(on_y, "/services");
  ServiceRegistry client(e.at(leader), "/services");
  using Instances = std::vector<ServiceRegistry::Instance>;
  std::mutex mu;
  std::vector<Instances> heard;
  auto handle = client.Watch("api", [&](const Instances& now) {
    std::lock_guard<std::mutex> lock(mu);
    heard.push_back(now);
  });
  REQUIRE(handle.ok());
  auto last_heard = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return heard.empty() ? Instances{{"none", ""}} : heard.back();
  };
  REQUIRE(at_x.Register("api", "x1", "x:1").ok());
  REQUIRE(at_x.Register("api", "x2", "x:2").ok());
  REQUIRE(at_y.Register("api", "y1", "y:1").ok());
  const Instances three = {{"x1", "x:1"}, {"x2", "x:2"}, {"y1", "y:1"}};
  REQUIRE(WaitFor([&] { return last_heard() == three; }, absl::Seconds(30)));
  CHECK(*client.Instances("api") == three);

  // Round robin visits every instance once per turn.
  std::set<std::string> turn;
  for (int i = 0; i < 3; ++i) {
    auto one = client.Pick("api", ServiceRegistry::Strategy::kRoundRobin);
    REQUIRE(one.ok());
    turn.insert(one->id);
  }
  CHECK(turn == std::set<std::string>{"x1", "x2", "y1"});
  for (int i = 0; i < 50; ++i) {
    auto one = client.Pick("api", ServiceRegistry::Strategy::kRandom);
    REQUIRE(one.ok());
    CHECK((one->id == "x1" || one->id == "x2" || one->id == "y1"));
  }

  // y's peer stops: its instance goes, the watch hears it, picks skip it.
  on_y.Sever();
  e.Stop(y);
  const Instances two = {{"x1", "x:1"}, {"x2", "x:2"}};
  CHECK(WaitFor([&] { return last_heard() == two; }, absl::Seconds(30)));
  for (int i = 0; i < 20; ++i) {
    auto one = client.Pick("api", ServiceRegistry::Strategy::kRandom);
    REQUIRE(one.ok());
    CHECK(one->id != "y1");
  }
  client.Unwatch(*handle);
}

TEST_CASE("Recipes: a double barrier's participants on three peers enter "
          "and leave together",
          "[ensemble][recipes][double_barrier]") {
  LocalEnsemble e(3);
  REQUIRE(e.StartAndWaitLeader() >= 0);
  constexpr int kThreads = 6;  // two per peer
  constexpr int kRounds = 3;
  std::atomic<int> arrived[kRounds] = {};
  std::atomic<int> leaving[kRounds] = {};
  std::atomic<int> early_entries{0}, early_exits{0}, failures{0};
  std::mutex mu;
  std::vector<std::string> errors;
  auto failed = [&](int t, int r, const absl::Status& s) {
    failures++;
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(absl::StrCat("p", t, " round ", r, ": ", s.ToString()));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      recipes::DoubleBarrier barrier(e.at(t % 3), "/barriers/spread",
                                     kThreads, absl::StrCat("p", t));
      for (int r = 0; r < kRounds; ++r) {
        absl::SleepFor(absl::Milliseconds(30 * t));
        arrived[r]++;
        absl::Status s = barrier.Enter(absl::Seconds(60));
        if (!s.ok()) {
          failed(t, r, s);
          return;
        }
        if (arrived[r] != kThreads) early_entries++;
        absl::SleepFor(absl::Milliseconds(30 * (kThreads - t)));
        leaving[r]++;
        s = barrier.Leave(absl::Seconds(60));
        if (!s.ok()) {
          failed(t, r, s);
          return;
        }
        if (leaving[r] != kThreads) early_exits++;
      }
    });
  }
  for (auto& t : threads) t.join();
  INFO(absl::StrJoin(errors, "; "));
  CHECK(failures == 0);
  CHECK(early_entries == 0);
  CHECK(early_exits == 0);
}

}  // namespace
}  // namespace synod::testing
