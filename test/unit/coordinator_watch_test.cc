// Watches through the Coordinator: ZooKeeper's firing rules, one-shot-ness,
// persistent and recursive watches, removal, ordering with completions.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "test_util.h"

namespace synod {
namespace {

using testing::EventLog;
using testing::TempDir;
using testing::TestOptions;

std::unique_ptr<Coordinator> StartIn(const TempDir& dir) {
  auto c = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(c.ok());
  return std::move(*c);
}

// Sorts out who got what: "tag:Type:path" per event.
std::vector<std::string> Describe(const std::vector<EventLog::Entry>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    out.push_back(e.tag + ":" + EventTypeName(e.event.type) + ":" + e.event.path);
  }
  return out;
}

TEST_CASE("data watch fires once on change, then is gone", "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  EventLog log;
  REQUIRE(c->Create("/w", "1").ok());
  REQUIRE(c->Get("/w", log.Recorder("get")).ok());
  REQUIRE(c->Set("/w", "2").ok());
  REQUIRE(c->Set("/w", "3").ok());
  testing::DrainDispatcher(*c);
  CHECK(Describe(log.Snapshot()) ==
        std::vector<std::string>{"get:NodeDataChanged:/w"});
  CHECK(c->GetHealth().watch_count == 0);
}

TEST_CASE("exists watch on a missing node fires on creation", "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  EventLog log;
  auto e = c->Exists("/later", log.Recorder("exists"));
  REQUIRE(e.ok());
  CHECK(!e->has_value());
  REQUIRE(c->Create("/later", "").ok());
  testing::DrainDispatcher(*c);
  CHECK(Describe(log.Snapshot()) ==
        std::vector<std::string>{"exists:NodeCreated:/later"});
}

TEST_CASE("failed reads set no watch, Get on a missing node sets none",
          "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  EventLog log;
  CHECK(ErrorOf(c->Get("/nope", log.Recorder()).status()) == Error::kNoNode);
  CHECK(ErrorOf(c->GetChildren("/nope", log.Recorder()).status()) ==
        Error::kNoNode);
  CHECK(c->GetHealth().watch_count == 0);
  REQUIRE(c->Create("/nope", "").ok());
  testing::DrainDispatcher(*c);
  CHECK(log.Snapshot().empty());
}

TEST_CASE("child watch: creation and deletion of children, and own deletion",
          "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  EventLog log;
  REQUIRE(c->Create("/p", "").ok());
  REQUIRE(c->GetChildren("/p", log.Recorder("kids1")).ok());
  REQUIRE(c->Set("/p", "data changes do not fire child watches").ok());
  REQUIRE(c->Create("/p/a", "").ok());
  REQUIRE(c->GetChildren("/p", log.Recorder("kids2")).ok());
  REQUIRE(c->Delete("/p/a").ok());
  REQUIRE(c->GetChildren("/p", log.Recorder("kids3")).ok());
  REQUIRE(c->Get("/p", log.Recorder("data")).ok());
  REQUIRE(c->Delete("/p").ok());
  testing::DrainDispatcher(*c);
  CHECK(Describe(log.Snapshot()) ==
        std::vector<std::string>{"kids1:NodeChildrenChanged:/p",
                                 "kids2:NodeChildrenChanged:/p",
                                 "data:NodeDeleted:/p", "kids3:NodeDeleted:/p"});
}

TEST_CASE("persistent watch sees every event of its node and stays",
          "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  EventLog log;
  REQUIRE(c->AddWatch("/pw", WatchMode::kPersistent, log.Recorder("p")).ok());
  REQUIRE(c->Create("/pw", "").ok());
  REQUIRE(c->Set("/pw", "x").ok());
  REQUIRE(c->Create("/pw/kid", "").ok());
  REQUIRE(c->Set("/pw/kid", "not mine").ok());
  REQUIRE(c->Delete("/pw/kid").ok());
  REQUIRE(c->Delete("/pw").ok());
  testing::DrainDispatcher(*c);
  CHECK(Describe(log.Snapshot()) ==
        std::vector<std::string>{"p:NodeCreated:/pw", "p:NodeDataChanged:/pw",
                                 "p:NodeChildrenChanged:/pw",
                                 "p:NodeChildrenChanged:/pw",
                                 "p:NodeDeleted:/pw"});
  CHECK(c->GetHealth().watch_count == 1);
}

TEST_CASE("recursive watch sees the subtree but no ChildrenChanged",
          "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  EventLog log;
  REQUIRE(c->AddWatch("/r", WatchMode::kPersistentRecursive, log.Recorder("r"))
              .ok());
  REQUIRE(c->Create("/r", "").ok());
  REQUIRE(c->Create("/r/a", "").ok());
  REQUIRE(c->Create("/r/a/b", "").ok());
  REQUIRE(c->Set("/r/a/b", "x").ok());
  REQUIRE(c->Create("/rx", "").ok());  // a sibling, not below /r
  REQUIRE(c->Delete("/r/a/b").ok());
  testing::DrainDispatcher(*c);
  CHECK(Describe(log.Snapshot()) ==
        std::vector<std::string>{"r:NodeCreated:/r", "r:NodeCreated:/r/a",
                                 "r:NodeCreated:/r/a/b",
                                 "r:NodeDataChanged:/r/a/b",
                                 "r:NodeDeleted:/r/a/b"});
}

TEST_CASE("RemoveWatches removes by type and tells the watcher", "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  EventLog log;
  REQUIRE(c->Create("/rm", "").ok());
  REQUIRE(c->Get("/rm", log.Recorder("data")).ok());
  REQUIRE(c->GetChildren("/rm", log.Recorder("child")).ok());
  REQUIRE(c->AddWatch("/rm", WatchMode::kPersistent, log.Recorder("p")).ok());
  CHECK(ErrorOf(c->RemoveWatches("/rm", WatcherType::kPersistentRecursive)) ==
        Error::kNoWatcher);
  REQUIRE(c->RemoveWatches("/rm", WatcherType::kData).ok());
  REQUIRE(c->Set("/rm", "x").ok());  // the data watch is gone
  REQUIRE(c->RemoveWatches("/rm", WatcherType::kAny).ok());
  REQUIRE(c->Create("/rm/k", "").ok());
  testing::DrainDispatcher(*c);
  CHECK(Describe(log.Snapshot()) ==
        std::vector<std::string>{"data:DataWatchRemoved:/rm",
                                 "p:NodeDataChanged:/rm",
                                 "child:ChildWatchRemoved:/rm",
                                 "p:PersistentWatchRemoved:/rm"});
  CHECK(c->GetHealth().watch_count == 0);
  CHECK(ErrorOf(c->RemoveWatches("/rm", WatcherType::kAny)) == Error::kNoWatcher);
}

TEST_CASE("RemoveWatch takes away one watcher's registrations and leaves "
          "the others'",
          "[watch]") {
  // The log outlives the Coordinator: its last removal event may still
  // be running when the test body ends.
  EventLog log;
  TempDir dir;
  auto c = StartIn(dir);
  const WatchHandle mine(log.Recorder("mine"));
  REQUIRE(c->Create("/h", "").ok());
  REQUIRE(c->AddWatch("/h", WatchMode::kPersistent, mine).ok());
  REQUIRE(c->AddWatch("/h", WatchMode::kPersistent, log.Recorder("theirs"))
              .ok());
  REQUIRE(c->Get("/h", mine).ok());
  REQUIRE(c->Exists("/h", mine).ok());  // the same data watch: not added
  CHECK(c->GetHealth().watch_count == 3);
  REQUIRE(c->Set("/h", "1").ok());  // "mine" is called once
  REQUIRE(c->Get("/h", mine).ok());
  REQUIRE(c->RemoveWatch("/h", mine, WatcherType::kData).ok());
  REQUIRE(c->RemoveWatch("/h", mine, WatcherType::kPersistent).ok());
  CHECK(ErrorOf(c->RemoveWatch("/h", mine, WatcherType::kAny)) ==
        Error::kNoWatcher);
  CHECK(ErrorOf(c->RemoveWatch("/h/", mine, WatcherType::kAny)) ==
        Error::kBadArguments);
  REQUIRE(c->Set("/h", "2").ok());  // only "theirs" is left
  testing::DrainDispatcher(*c);
  CHECK(Describe(log.Snapshot()) ==
        std::vector<std::string>{"mine:NodeDataChanged:/h",
                                 "theirs:NodeDataChanged:/h",
                                 "mine:DataWatchRemoved:/h",
                                 "mine:PersistentWatchRemoved:/h",
                                 "theirs:NodeDataChanged:/h"});
  CHECK(c->GetHealth().watch_count == 1);
  // Alone, the Coordinator is always connected: local or not, the same.
  REQUIRE(c->RemoveWatches("/h", WatcherType::kAny, /*local=*/true).ok());
  CHECK(c->GetHealth().watch_count == 0);
}

TEST_CASE("watch events precede the completion of the write that caused them",
          "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  EventLog log;
  REQUIRE(c->Create("/o", "").ok());
  REQUIRE(c->Get("/o", log.Recorder("watch")).ok());
  Watcher done_marker = log.Recorder("done");
  c->SetAsync("/o", "x", -1, [done_marker](absl::StatusOr<Stat> s) {
    done_marker(WatchEvent{EventType::kSession, SessionState::kConnected,
                           s.ok() ? "ok" : "failed"});
  });
  auto events = log.WaitFor(2);
  CHECK(Describe(events) ==
        std::vector<std::string>{"watch:NodeDataChanged:/o", "done:None:ok"});
}

TEST_CASE("session watcher hears connected and closed", "[watch]") {
  TempDir dir;
  EventLog log;
  Options o = TestOptions(dir.path());
  o.session_watcher = log.Recorder("s");
  {
    auto c = Coordinator::Start(o);
    REQUIRE(c.ok());
  }
  auto events = log.Snapshot();
  REQUIRE(events.size() == 2);
  CHECK(events[0].event.state == SessionState::kConnected);
  CHECK(events[1].event.state == SessionState::kClosed);
}

TEST_CASE("closing the session deletes its ephemerals and fires their watches",
          "[watch]") {
  TempDir dir;
  EventLog log;
  {
    auto owner = StartIn(dir);
    REQUIRE(owner->Create("/e", "", CreateMode::kEphemeral).ok());
    REQUIRE(owner->Exists("/e", log.Recorder("w")).ok());
  }
  CHECK(Describe(log.Snapshot()) == std::vector<std::string>{"w:NodeDeleted:/e"});
  auto again = StartIn(dir);
  CHECK(!again->Exists("/e")->has_value());
}

}  // namespace
}  // namespace synod

namespace synod {
namespace {

TEST_CASE("a watcher that calls back into the Coordinator during shutdown "
          "is run safely",
          "[watch]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/eph", "x", CreateMode::kEphemeral).ok());
  std::atomic<int> fired{0};
  std::atomic<int> answered{0};
  Coordinator* raw = c.get();
  // Closing the session deletes /eph while shutting down; the watcher then
  // re-arms with an async call, which must complete (with kClosing or a
  // result), not crash.
  REQUIRE(c->Exists("/eph", [&, raw](const WatchEvent&) {
             fired++;
             // Slow: the destructor reaches the dispatcher's drain meanwhile.
             std::this_thread::sleep_for(std::chrono::milliseconds(300));
             raw->ExistsAsync("/eph", nullptr,
                              [&](absl::StatusOr<std::optional<Stat>>) {
                                answered++;
                              });
           })->has_value());
  c.reset();
  CHECK(fired.load() == 1);
  CHECK(answered.load() == 1);
}

}  // namespace
}  // namespace synod

namespace synod {
namespace {

TEST_CASE("Session listeners run after the session watcher, in the order "
          "added, until removed",
          "[session]") {
  testing::TempDir dir;
  testing::EventLog log;
  Options o = testing::TestOptions(dir.path());
  o.session_watcher = log.Recorder("watcher");
  auto c = Coordinator::Start(o);
  REQUIRE(c.ok());
  REQUIRE((*c)->WaitConnected(absl::Seconds(10)).ok());
  (*c)->AddSessionListener(log.Recorder("first"));
  const int64_t gone = (*c)->AddSessionListener(log.Recorder("removed"));
  (*c)->AddSessionListener(log.Recorder("second"));
  (*c)->RemoveSessionListener(gone);
  c->reset();  // reports Closed
  std::vector<std::string> closed;
  for (const auto& e : log.Snapshot()) {
    if (e.event.state == SessionState::kClosed) closed.push_back(e.tag);
  }
  CHECK(closed == std::vector<std::string>{"watcher", "first", "second"});
}

}  // namespace
}  // namespace synod
