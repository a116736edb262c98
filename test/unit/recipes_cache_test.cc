// recipes::NodeCache and recipes::TreeCache against a one-peer Coordinator:
// the node cache follows creation, changes and deletion and tells each
// once; the tree cache loads a subtree parents first, follows a burst of
// concurrent writes to a view equal to the tree (Stats included), and its
// events, replayed, rebuild exactly its view.

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "synod/recipes/node_cache.h"
#include "synod/recipes/tree_cache.h"
#include "test_util.h"
#include "util/recipe_test_util.h"

namespace synod {
namespace {

using testing::AwaitQueued;
using testing::OnePeer;
using testing::Queued;
using testing::Threads;

using recipes::NodeCache;
using recipes::TreeCache;
using recipes::TreeCacheEvent;
using testing::TempDir;
using testing::TestOptions;
using testing::WaitFor;
using Type = TreeCacheEvent::Type;

using testing::SameView;
using testing::Walk;

using EventRecord = testing::Heard<TreeCacheEvent>;

TEST_CASE("NodeCache: creation, changes and deletion, each told once",
          "[recipes][cache]") {
  OnePeer p;
  testing::Heard<std::optional<Node>> told;
  NodeCache cache(*p.c, "/config", told.Listener());
  auto heard_count = [&] { return told.size(); };
  REQUIRE(cache.Start().ok());
  CHECK(!cache.Current().has_value());
  CHECK(cache.Start().code() == absl::StatusCode::kFailedPrecondition);

  REQUIRE(p.c->Create("/config", "v1").ok());
  REQUIRE(WaitFor([&] { return heard_count() == 1; }));
  REQUIRE(p.c->Set("/config", "v2").ok());
  REQUIRE(WaitFor([&] { return heard_count() == 2; }));
  // A child changes the node's Stat, not its data: nobody is told, but
  // the view's Stat follows.
  REQUIRE(p.c->Create("/config/child", "").ok());
  REQUIRE(WaitFor([&] {
    auto now = cache.Current();
    return now && now->stat.num_children == 1;
  }));
  REQUIRE(p.c->Delete("/config/child").ok());
  REQUIRE(p.c->Delete("/config").ok());
  REQUIRE(WaitFor([&] { return heard_count() == 3; }));
  CHECK(!cache.Current().has_value());
  // Nothing else arrives.
  REQUIRE(p.c->Sync("/").ok());
  REQUIRE(p.c->Create("/other", "").ok());
  const std::vector<std::optional<Node>> heard = told.Get();
  REQUIRE(heard.size() == 3);
  REQUIRE(heard[0].has_value());
  CHECK(heard[0]->data == "v1");
  REQUIRE(heard[1].has_value());
  CHECK(heard[1]->data == "v2");
  CHECK(heard[1]->stat.version == 1);
  CHECK(!heard[2].has_value());
}

TEST_CASE("NodeCache: a node that exists at Start is loaded, not told",
          "[recipes][cache]") {
  OnePeer p;
  REQUIRE(p.c->Create("/ready", "yes").ok());
  int calls = 0;
  {
    NodeCache cache(*p.c, "/ready", [&](const std::optional<Node>&) {
      ++calls;  // (dispatcher thread; read after the cache is gone)
    });
    REQUIRE(cache.Start().ok());
    auto now = cache.Current();
    REQUIRE(now.has_value());
    CHECK(now->data == "yes");
  }
  // Destroyed: later changes reach nobody.
  REQUIRE(p.c->Set("/ready", "no").ok());
  REQUIRE(p.c->Sync("/").ok());
  REQUIRE(p.c->Create("/after", "").ok());
  CHECK(calls == 0);
}

TEST_CASE("Caches: closing removes the cache's own watch, and only it",
          "[recipes][cache]") {
  testing::EventLog theirs;  // outlives the Coordinator that tells it
  OnePeer p;
  REQUIRE(p.c->Create("/config", "v1").ok());
  REQUIRE(p.c->AddWatch("/config", WatchMode::kPersistent,
                        theirs.Recorder("theirs"))
              .ok());
  const int64_t before = p.c->GetHealth().watch_count;
  {
    NodeCache node(*p.c, "/config");
    TreeCache tree(*p.c, "/config");
    REQUIRE(node.Start().ok());
    REQUIRE(tree.Start().ok());
    CHECK(p.c->GetHealth().watch_count == before + 2);
  }
  CHECK(p.c->GetHealth().watch_count == before);
  // The other watch on the path still fires.
  REQUIRE(p.c->Set("/config", "v2").ok());
  const auto heard = theirs.WaitFor(1);
  REQUIRE(heard.size() == 1);
  CHECK(heard[0].event.type == EventType::kDataChanged);
}

TEST_CASE("TreeCache: the first load is parents first, then Initialized",
          "[recipes][cache]") {
  OnePeer p;
  for (const char* path : {"/app", "/app/a", "/app/a/x", "/app/b", "/apple"}) {
    REQUIRE(p.c->Create(path, path).ok());
  }
  EventRecord record;
  TreeCache cache(*p.c, "/app", record.Listener());
  REQUIRE(cache.Start().ok());
  const auto events = record.Get();
  REQUIRE(events.size() == 5);
  std::vector<std::string> added;
  for (size_t i = 0; i < 4; ++i) {
    CHECK(events[i].type == Type::kAdded);
    added.push_back(events[i].path);
  }
  CHECK(added == std::vector<std::string>{"/app", "/app/a", "/app/a/x",
                                          "/app/b"});
  CHECK(events[4].type == Type::kInitialized);
  CHECK(cache.size() == 4);  // "/apple" is not below "/app"
  CHECK(cache.Children("/app") == std::vector<std::string>{"a", "b"});
  CHECK(cache.Children("/app/a") == std::vector<std::string>{"x"});
  CHECK(cache.Children("/app/b").empty());
  CHECK(SameView(cache.Snapshot(), Walk(*p.c, "/app")));
  // A subtree deleted: each child is removed before its parent.
  REQUIRE(p.c->Delete("/app/a/x").ok());
  REQUIRE(p.c->Delete("/app/a").ok());
  REQUIRE(WaitFor([&] { return record.Get().size() == 7; }));
  const auto later = record.Get();
  CHECK(later[5].type == Type::kRemoved);
  CHECK(later[5].path == "/app/a/x");
  CHECK(later[6].type == Type::kRemoved);
  CHECK(later[6].path == "/app/a");
  CHECK(SameView(cache.Snapshot(), Walk(*p.c, "/app")));
}

TEST_CASE("TreeCache: after a burst of concurrent writes the view equals "
          "the tree, and its events rebuild it",
          "[recipes][cache]") {
  OnePeer p;
  REQUIRE(p.c->Create("/burst", "").ok());
  EventRecord record;
  TreeCache cache(*p.c, "/burst", record.Listener());
  REQUIRE(cache.Start().ok());
  // Four writers: creates, sets, deletes and recreations over a small
  // two-level name space, so that changes of one node come close together.
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&p, w] {
      std::mt19937 rng(static_cast<uint32_t>(w) + 1);
      for (int i = 0; i < 150; ++i) {
        const std::string top = absl::StrCat("/burst/n", rng() % 4);
        const std::string leaf = absl::StrCat(top, "/m", rng() % 3);
        const std::string& path = rng() % 2 ? top : leaf;
        switch (rng() % 4) {
          case 0: p.c->Create(path, absl::StrCat("c", i)).IgnoreError(); break;
          case 1: p.c->Set(path, absl::StrCat("s", i)).IgnoreError(); break;
          case 2: p.c->Delete(path).IgnoreError(); break;
          default:
            p.c->Multi({Op::Delete(leaf), Op::Create(leaf, "again")})
                .IgnoreError();
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  REQUIRE(p.c->Sync("/").ok());
  const auto tree = Walk(*p.c, "/burst");
  CHECK(tree.size() > 1);
  REQUIRE(WaitFor([&] { return SameView(cache.Snapshot(), tree); }));
  // Replaying the events gives the same view: every difference was told,
  // none twice (an add of a node held, a removal or update of one not
  // held, would break the replay).
  std::map<std::string, Node> replay;
  bool consistent = true;
  for (const TreeCacheEvent& e : record.Get()) {
    switch (e.type) {
      case Type::kAdded:
        consistent = consistent && replay.emplace(e.path, e.node).second;
        break;
      case Type::kUpdated:
        consistent = consistent && replay.count(e.path) == 1;
        replay[e.path] = e.node;
        break;
      case Type::kRemoved:
        consistent = consistent && replay.erase(e.path) == 1;
        break;
      case Type::kInitialized: break;
    }
  }
  CHECK(consistent);
  // The replay holds each node's data as last told; Stats of parents
  // follow their children silently, so compare data and identity.
  REQUIRE(replay.size() == tree.size());
  for (const auto& [path, node] : tree) {
    auto it = replay.find(path);
    REQUIRE(it != replay.end());
    CHECK(it->second.data == node.data);
    CHECK(it->second.stat.czxid == node.stat.czxid);
    CHECK(it->second.stat.mzxid == node.stat.mzxid);
  }
}

}  // namespace
}  // namespace synod
