// Removing watches while the session is disconnected, as ZooKeeper's
// removeWatches: without `local` the removal needs the session connected
// (ConnectionLoss, the watch stays and still fires once healed); with
// `local` it is removed at once and told. The same for a remote session
// (synod-cli's `removewatches [-l]`), whose watches live on its peer.

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ensemble/ensemble_util.h"
#include "tools/cli_client.h"
#include "util/cli_commands.h"

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

TEST_CASE("removewatches of a remote session on a cut-off follower: "
          "ConnectionLoss unless -l",
          "[ensemble][watch][cli]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int follower = (leader + 1) % 3;
  REQUIRE(e.at(leader).Create("/r", "").ok());
  REQUIRE(e.at(follower).Sync("/r").ok());
  std::ostringstream out;
  tools::CliClient::Options options;
  options.async_events = true;
  options.open_timeout = absl::Seconds(3);  // a resume there waits so long
  tools::CliClient client(e.address(follower), options, &out);
  REQUIRE(client.Run(Cmd({"addWatch", "-m", "PERSISTENT", "/r"})).ok());
  REQUIRE(client.Run(Cmd({"addWatch", "/r"})).ok());

  // Cut off, the follower ends the client's stream; removing watches
  // needs a peer with a leader: ConnectionLoss (from the peer while the
  // stream lasts, from the failed resume after).
  e.Isolate(follower, true);
  REQUIRE(WaitFor([&] { return !e.at(follower).GetHealth().connected; }));
  CHECK(ErrorOf(client.Run(Cmd({"removewatches", "/r"}))) ==
        Error::kConnectionLoss);
  // Local, once the peer ended the stream: the recursive one goes in the
  // client (as ZooKeeper's client removes them while disconnected); the
  // persistent one stays.
  REQUIRE(WaitFor([&] { return !client.connected(); }));
  CHECK(client.Run(Cmd({"removewatches", "-r", "-l", "/r"})).ok());
  CHECK(ErrorOf(client.Run(Cmd({"removewatches", "-r", "-l", "/r"}))) ==
        Error::kNoWatcher);

  // Healed: the session resumes there with the persistent watch, which
  // still fires; the recursive one is gone.
  e.Isolate(follower, false);
  REQUIRE(e.at(follower).WaitConnected(absl::Seconds(30)).ok());
  REQUIRE(client.Run(Cmd({"sync", "/r"})).ok());
  out.str("");
  const int64_t before = client.events_received();
  REQUIRE(e.at(leader).Set("/r", "x").ok());
  REQUIRE(client.AwaitEvents(before + 1, absl::Seconds(30)));
  REQUIRE(e.at(leader).Sync("/r").ok());
  REQUIRE(client.Run(Cmd({"sync", "/r"})).ok());
  const std::string told = out.str();
  CHECK(told.find("type:NodeDataChanged path:/r") != std::string::npos);
  // One event: the persistent watch's only.
  CHECK(told.find("NodeDataChanged") == told.rfind("NodeDataChanged"));
  CHECK(client.Run(Cmd({"removewatches", "/r"})).ok());
}

}  // namespace
}  // namespace synod::testing
