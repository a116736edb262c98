// Removing watches while the session is disconnected, as ZooKeeper's
// removeWatches: without `local` the removal needs the session connected
// (ConnectionLoss, the watch stays and still fires once healed); with
// `local` it is removed at once and told.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ensemble/ensemble_util.h"

namespace synod::testing {
namespace {

std::vector<EventType> NodeEvents(const std::vector<EventLog::Entry>& events) {
  std::vector<EventType> out;
  for (const EventLog::Entry& e : events) {
    if (e.event.type != EventType::kSession) out.push_back(e.event.type);
  }
  return out;
}

TEST_CASE("RemoveWatches of a cut-off follower: ConnectionLoss unless local",
          "[ensemble][watch]") {
  // The logs outlive the ensemble: its shutdown still tells them.
  EventLog kept, dropped, session;
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int follower = (leader + 1) % 3;
  Coordinator& f = e.at(follower);
  REQUIRE(e.at(leader).Create("/w", "").ok());
  REQUIRE(f.Sync("/w").ok());
  const WatchHandle keep(kept.Recorder("kept"));
  const WatchHandle drop(dropped.Recorder("dropped"));
  REQUIRE(f.AddWatch("/w", WatchMode::kPersistent, keep).ok());
  REQUIRE(f.AddWatch("/w", WatchMode::kPersistent, drop).ok());
  f.AddSessionListener(session.Recorder("session"));

  e.Isolate(follower, true);
  REQUIRE(!session.WaitFor(1, absl::Seconds(30)).empty());
  REQUIRE(WaitFor([&] { return !f.GetHealth().connected; }));
  CHECK(ErrorOf(f.RemoveWatch("/w", keep, WatcherType::kPersistent)) ==
        Error::kConnectionLoss);
  CHECK(ErrorOf(f.RemoveWatches("/w", WatcherType::kAny)) ==
        Error::kConnectionLoss);
  // Local: removed now, and told.
  REQUIRE(f.RemoveWatch("/w", drop, WatcherType::kPersistent, /*local=*/true)
              .ok());
  CHECK(NodeEvents(dropped.WaitFor(1)) ==
        std::vector<EventType>{EventType::kPersistentWatchRemoved});
  CHECK(ErrorOf(f.RemoveWatch("/w", drop, WatcherType::kAny, true)) ==
        Error::kNoWatcher);

  // Healed: the kept watch is still there and fires; the dropped one not.
  e.Isolate(follower, false);
  REQUIRE(f.WaitConnected(absl::Seconds(30)).ok());
  REQUIRE(e.at(leader).Set("/w", "x").ok());
  CHECK(NodeEvents(kept.WaitFor(1, absl::Seconds(30))) ==
        std::vector<EventType>{EventType::kDataChanged});
  REQUIRE(f.Sync("/w").ok());
  CHECK(dropped.Snapshot().size() == 1);
  // Connected again: the plain removal works.
  REQUIRE(f.RemoveWatch("/w", keep, WatcherType::kPersistent).ok());
  CHECK(NodeEvents(kept.WaitFor(2)).back() ==
        EventType::kPersistentWatchRemoved);
}

}  // namespace
}  // namespace synod::testing
