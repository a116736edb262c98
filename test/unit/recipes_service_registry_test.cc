// recipes::ServiceRegistry against a one-peer Coordinator: register, list,
// update, unregister; a watch hears every change in order; round robin
// cycles through every instance and random picks only registered ones;
// Pick on an empty service is NotFound; the destructor unregisters; a
// registration whose create was reported lost (but applied) is adopted.

#include "synod/recipes/service_registry.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"
#include "util/forwarding_coordinator.h"

namespace synod {
namespace {

using recipes::ServiceRegistry;
using Instance = ServiceRegistry::Instance;
using Strategy = ServiceRegistry::Strategy;

using testing::OnePeer;

// Records a watch's calls (on the dispatcher thread).
struct Heard {
  std::mutex mu;
  std::vector<std::vector<Instance>> calls;
  ServiceRegistry::Listener Listener() {
    return [this](const std::vector<Instance>& now) {
      std::lock_guard<std::mutex> lock(mu);
      calls.push_back(now);
    };
  }
  std::vector<std::vector<Instance>> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  bool Last(const std::vector<Instance>& want) {
    std::lock_guard<std::mutex> lock(mu);
    return !calls.empty() && calls.back() == want;
  }
};

TEST_CASE("ServiceRegistry: register, list, watch, update, unregister",
          "[recipes][registry]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  ServiceRegistry registry(c, "/services");
  CHECK(registry.Instances("search")->empty());
  CHECK(registry.Services()->empty());
  CHECK(ErrorOf(registry.Pick("search", Strategy::kRandom).status()) ==
        Error::kNoNode);
  CHECK(registry.Register("a/b", "x", "").code() ==
        absl::StatusCode::kInvalidArgument);

  Heard heard;
  auto handle = registry.Watch("search", heard.Listener());
  REQUIRE(handle.ok());
  REQUIRE(testing::WaitFor([&] { return heard.Last({}); }, absl::Seconds(10)));

  REQUIRE(registry.Register("search", "s1", "10.0.0.1:80").ok());
  CHECK(registry.Register("search", "s1", "again").code() ==
        absl::StatusCode::kAlreadyExists);
  REQUIRE(registry.Register("search", "s2", "10.0.0.2:80").ok());
  REQUIRE(registry.Register("index", "i1", "10.0.0.3:80").ok());
  CHECK(*registry.Services() == std::vector<std::string>{"index", "search"});
  const std::vector<Instance> both = {{"s1", "10.0.0.1:80"},
                                      {"s2", "10.0.0.2:80"}};
  CHECK(*registry.Instances("search") == both);
  REQUIRE(testing::WaitFor([&] { return heard.Last(both); },
                           absl::Seconds(10)));
  REQUIRE(registry.Update("search", "s2", "10.0.0.2:81").ok());
  CHECK(registry.Update("search", "s9", "x").code() ==
        absl::StatusCode::kNotFound);
  const std::vector<Instance> updated = {{"s1", "10.0.0.1:80"},
                                         {"s2", "10.0.0.2:81"}};
  REQUIRE(testing::WaitFor([&] { return heard.Last(updated); },
                           absl::Seconds(10)));
  REQUIRE(registry.Unregister("search", "s1").ok());
  REQUIRE(registry.Unregister("search", "s1").ok());  // not registered: OK
  const std::vector<Instance> one = {{"s2", "10.0.0.2:81"}};
  CHECK(*registry.Instances("search") == one);
  REQUIRE(testing::WaitFor([&] { return heard.Last(one); },
                           absl::Seconds(10)));
  registry.Unwatch(*handle);
  REQUIRE(registry.Unregister("search", "s2").ok());
  absl::SleepFor(absl::Milliseconds(100));
  // The watch heard the states in order (s1 alone may or may not have
  // been seen before s2 came), never the same twice in a row, and nothing
  // after Unwatch.
  const auto calls = heard.Get();
  REQUIRE(calls.size() >= 4);
  CHECK(calls.front().empty());
  CHECK(calls.back() == one);
  for (size_t i = 1; i < calls.size(); ++i) CHECK(calls[i] != calls[i - 1]);
  const std::vector<std::vector<Instance>> tail(calls.end() - 3, calls.end());
  CHECK(tail == std::vector<std::vector<Instance>>{both, updated, one});
  CHECK(registry.Instances("search")->empty());
}

TEST_CASE("ServiceRegistry: round robin cycles through all, random picks "
          "only registered ones",
          "[recipes][registry]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  ServiceRegistry registry(c, "/svc");
  const std::set<std::string> ids = {"a", "b", "c", "d"};
  for (const std::string& id : ids) {
    REQUIRE(registry.Register("api", id, "data-" + id).ok());
  }
  // Round robin: every window of 4 consecutive picks covers all 4.
  std::vector<std::string> picked;
  for (int i = 0; i < 12; ++i) {
    auto one = registry.Pick("api", Strategy::kRoundRobin);
    REQUIRE(one.ok());
    CHECK(one->data == "data-" + one->id);
    picked.push_back(one->id);
  }
  for (size_t i = 0; i + 4 <= picked.size(); ++i) {
    CHECK(std::set<std::string>(picked.begin() + i, picked.begin() + i + 4) ==
          ids);
  }
  // Random: only registered ids, and (over 200 picks) each of them.
  REQUIRE(registry.Unregister("api", "d").ok());
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; ++i) {
    auto one = registry.Pick("api", Strategy::kRandom);
    REQUIRE(one.ok());
    seen[one->id]++;
  }
  CHECK(seen.size() == 3);
  CHECK(seen.count("d") == 0);
}

TEST_CASE("ServiceRegistry: the destructor unregisters",
          "[recipes][registry]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  ServiceRegistry watcher(c, "/svc");
  {
    ServiceRegistry registry(c, "/svc");
    REQUIRE(registry.Register("api", "x", "1").ok());
    REQUIRE(registry.Register("api", "y", "2").ok());
    CHECK(watcher.Instances("api")->size() == 2);
  }
  CHECK(watcher.Instances("api")->empty());
}

// Applies every ephemeral create and reports the first two lost with the
// connection; counts them.
class LosesCreates : public testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  using ForwardingCoordinator::Create;
  absl::StatusOr<std::string> Create(std::string_view path,
                                     std::string_view data, CreateMode mode,
                                     const CreateOptions& o) override {
    absl::StatusOr<std::string> r = to_.Create(path, data, mode, o);
    if (mode == CreateMode::kEphemeral && r.ok() && ephemeral_creates++ < 2) {
      return MakeError(Error::kConnectionLoss, "lost with the leader");
    }
    return r;
  }
  std::atomic<int> ephemeral_creates{0};
};

TEST_CASE("ServiceRegistry: a registration lost with the connection is "
          "adopted, not doubled",
          "[recipes][registry]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  LosesCreates faulty(c);
  ServiceRegistry registry(faulty, "/svc");
  REQUIRE(registry.Register("api", "a", "1").ok());
  REQUIRE(registry.Register("api", "b", "2").ok());
  CHECK(faulty.ephemeral_creates == 2);  // one each: both settled
  CHECK(*registry.Instances("api") ==
        std::vector<Instance>{{"a", "1"}, {"b", "2"}});
  for (const char* id : {"a", "b"}) {
    auto node = c.Get(std::string("/svc/api/") + id);
    REQUIRE(node.ok());
    CHECK(node->stat.ephemeral_owner == c.session_id());
  }
  REQUIRE(registry.Unregister("api", "a").ok());
  CHECK(*registry.Instances("api") == std::vector<Instance>{{"b", "2"}});
}

}  // namespace
}  // namespace synod
