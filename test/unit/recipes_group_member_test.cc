// recipes::GroupMember against a one-peer Coordinator: members and their
// data, the listener's sequence of memberships, a member deleted by hand
// registers again, an id held by another session is refused, a create lost
// with the connection is adopted (one node), Close and Start again.

#include "synod/recipes/group_member.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"
#include "util/forwarding_coordinator.h"

namespace synod {
namespace {

using recipes::GroupMember;
using Membership = GroupMember::Membership;

using testing::OnePeer;

// Records a listener's calls (on the dispatcher thread).
struct Heard {
  std::mutex mu;
  std::vector<Membership> calls;
  GroupMember::Listener Listener() {
    return [this](const Membership& m) {
      std::lock_guard<std::mutex> lock(mu);
      calls.push_back(m);
    };
  }
  std::vector<Membership> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  bool Last(const Membership& m) {
    std::lock_guard<std::mutex> lock(mu);
    return !calls.empty() && calls.back() == m;
  }
};

TEST_CASE("GroupMember: members see each other, their data and every "
          "change",
          "[recipes][group]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  Heard heard;
  GroupMember a(c, "/groups/g", "a", "data-a", heard.Listener());
  CHECK(a.SetData("x").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(!a.IsRegistered());
  REQUIRE(a.Start().ok());
  CHECK(a.Start().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(a.IsRegistered());
  REQUIRE(testing::WaitFor([&] { return heard.Last({{"a", "data-a"}}); },
                           absl::Seconds(10)));

  GroupMember b(c, "/groups/g", "b", "data-b");
  REQUIRE(b.Start().ok());
  CHECK(*a.Members() == Membership{{"a", "data-a"}, {"b", "data-b"}});
  REQUIRE(testing::WaitFor(
      [&] { return heard.Last({{"a", "data-a"}, {"b", "data-b"}}); },
      absl::Seconds(10)));
  REQUIRE(b.SetData("data-b2").ok());
  CHECK(*a.Members() == Membership{{"a", "data-a"}, {"b", "data-b2"}});
  REQUIRE(testing::WaitFor(
      [&] { return heard.Last({{"a", "data-a"}, {"b", "data-b2"}}); },
      absl::Seconds(10)));
  REQUIRE(b.Close().ok());
  CHECK(!b.IsRegistered());
  CHECK(*a.Members() == Membership{{"a", "data-a"}});
  REQUIRE(testing::WaitFor([&] { return heard.Last({{"a", "data-a"}}); },
                           absl::Seconds(10)));
  // Every change was told, in order, and never the same set twice in a row.
  const std::vector<Membership> calls = heard.Get();
  REQUIRE(calls.size() == 4);
  CHECK(calls[0] == Membership{{"a", "data-a"}});
  CHECK(calls[1] == Membership{{"a", "data-a"}, {"b", "data-b"}});
  CHECK(calls[2] == Membership{{"a", "data-a"}, {"b", "data-b2"}});
  CHECK(calls[3] == Membership{{"a", "data-a"}});

  // Closed: it can start again, with its latest data.
  REQUIRE(b.Start().ok());
  CHECK(*a.Members() == Membership{{"a", "data-a"}, {"b", "data-b2"}});
  REQUIRE(testing::WaitFor(
      [&] { return heard.Last({{"a", "data-a"}, {"b", "data-b2"}}); },
      absl::Seconds(10)));
  REQUIRE(a.Close().ok());
  REQUIRE(b.Close().ok());
  CHECK(a.Members()->empty());
  CHECK(heard.Get().size() == 5);  // the listener stopped with Close
}

TEST_CASE("GroupMember: a member whose node is deleted registers again",
          "[recipes][group]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  GroupMember a(c, "/g", "a", "one");
  REQUIRE(a.Start().ok());
  REQUIRE(a.SetData("two").ok());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.Delete("/g/a").ok());
    REQUIRE(testing::WaitFor(
        [&] {
          auto n = c.Get("/g/a");
          return n.ok() && n->data == "two" &&
                 n->stat.ephemeral_owner == c.session_id();
        },
        absl::Seconds(10)));
  }
  CHECK(a.IsRegistered());
}

TEST_CASE("GroupMember: an id held by another session is refused",
          "[recipes][group]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  // A persistent node: owned by no session of ours.
  REQUIRE(c.Create("/g", "", CreateMode::kPersistent).ok());
  REQUIRE(c.Create("/g/a", "theirs", CreateMode::kPersistent).ok());
  GroupMember a(c, "/g", "a", "mine");
  CHECK(a.Start().code() == absl::StatusCode::kAlreadyExists);
  CHECK(!a.IsRegistered());
  CHECK(c.Get("/g/a")->data == "theirs");  // untouched
  GroupMember bad(c, "/g", "", "x");
  CHECK(bad.Start().code() == absl::StatusCode::kInvalidArgument);
  // Nothing was kept: once the id is free, Start works.
  REQUIRE(c.Delete("/g/a").ok());
  absl::SleepFor(absl::Milliseconds(200));
  CHECK(!c.Exists("/g/a")->has_value());
  REQUIRE(a.Start().ok());
  CHECK(c.Get("/g/a")->data == "mine");
}

// Applies the first ephemeral create and reports it lost with the
// connection; counts the ephemeral creates.
class LosesFirstCreate : public testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  using ForwardingCoordinator::Create;
  absl::StatusOr<std::string> Create(std::string_view path,
                                     std::string_view data, CreateMode mode,
                                     const CreateOptions& o) override {
    if (mode == CreateMode::kEphemeral) ephemeral_creates++;
    absl::StatusOr<std::string> r = to_.Create(path, data, mode, o);
    if (mode == CreateMode::kEphemeral && r.ok() && !lost_.exchange(true)) {
      return MakeError(Error::kConnectionLoss, "lost with the leader");
    }
    return r;
  }
  std::atomic<int> ephemeral_creates{0};

 private:
  std::atomic<bool> lost_{false};
};

TEST_CASE("GroupMember: a create lost with the connection is adopted",
          "[recipes][group]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  REQUIRE(c.Create("/g", "", CreateMode::kPersistent).ok());
  LosesFirstCreate faulty(c);
  GroupMember a(faulty, "/g", "a", "data");
  REQUIRE(a.Start(absl::Seconds(30)).ok());
  CHECK(a.IsRegistered());
  CHECK(faulty.ephemeral_creates == 1);  // settled, not created again
  auto kids = c.GetChildren("/g");
  REQUIRE(kids.ok());
  CHECK(*kids == std::vector<std::string>{"a"});
  CHECK(c.Get("/g/a")->data == "data");
  REQUIRE(a.Close().ok());
  CHECK(!c.Exists("/g/a")->has_value());
}

}  // namespace
}  // namespace synod
