// Session listeners (Coordinator::AddSessionListener): a follower cut off
// from the others tells its listeners Disconnected, then Connected once
// healed; a removed listener hears nothing more; shutdown reports Closed
// after the session watcher.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ensemble/ensemble_util.h"

namespace synod::testing {
namespace {

std::vector<SessionState> States(const std::vector<EventLog::Entry>& events) {
  std::vector<SessionState> out;
  for (const EventLog::Entry& e : events) {
    if (e.event.type == EventType::kSession) out.push_back(e.event.state);
  }
  return out;
}

TEST_CASE("Session listeners hear a cut-off follower's session events",
          "[ensemble][session]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int follower = (leader + 1) % 3;
  EventLog kept, removed;
  const int64_t a = e.at(follower).AddSessionListener(kept.Recorder("kept"));
  const int64_t b =
      e.at(follower).AddSessionListener(removed.Recorder("removed"));
  CHECK(a != b);
  e.Isolate(follower, true);
  auto cut = kept.WaitFor(1, absl::Seconds(30));
  REQUIRE(States(cut) ==
          std::vector<SessionState>{SessionState::kDisconnected});
  REQUIRE(States(removed.WaitFor(1)) ==
          std::vector<SessionState>{SessionState::kDisconnected});
  e.at(follower).RemoveSessionListener(b);
  e.at(follower).RemoveSessionListener(12345);  // unknown: ignored
  e.Isolate(follower, false);
  auto healed = kept.WaitFor(2, absl::Seconds(30));
  CHECK(States(healed) == std::vector<SessionState>{
                              SessionState::kDisconnected,
                              SessionState::kConnected});
  // Shutting down reports Closed last.
  e.Stop(follower);
  CHECK(States(kept.WaitFor(3)).back() == SessionState::kClosed);
  CHECK(States(removed.Snapshot()).size() == 1);
}

}  // namespace
}  // namespace synod::testing
