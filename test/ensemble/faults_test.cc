// Faults injected in the transport of an in-process ensemble: a partitioned
// follower catches up by DIFF, and by SNAP once the others have compacted
// past it; a peer cut off from everyone loses its session after the
// timeout, with its ephemerals and the watchers of them; an observer
// replicates and serves reads but never counts for a quorum.

#include <algorithm>
#include <catch2/catch.hpp>
#include <future>

#include <thread>

#include "ensemble/ensemble_util.h"

namespace synod::testing {
namespace {


TEST_CASE("Faults: a partitioned follower catches up by DIFF, then by SNAP",
          "[ensemble][faults]") {
  LocalEnsemble e(3);
  for (int i = 0; i < 3; ++i) e.options(i).log_retention = 100;
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int lagger = (leader + 1) % 3;
  const int other = (leader + 2) % 3;

  SECTION("a short gap: DIFF") {
    e.Isolate(lagger, true);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(e.at(other).Create("/d" + std::to_string(i), "v").ok());
    }
    e.Isolate(lagger, false);
    REQUIRE(WaitFor([&] {
      return e.at(lagger).GetHealth().last_zxid >=
             e.at(leader).GetHealth().last_zxid;
    }));
    for (int i = 0; i < 20; ++i) {
      CHECK(e.at(lagger).Exists("/d" + std::to_string(i))->has_value());
    }
    CHECK(e.at(lagger).GetHealth().snapshots_installed == 0);
  }
  SECTION("a long gap: SNAP") {
    REQUIRE(e.at(other).Create("/watched", "0").ok());
    REQUIRE(e.at(lagger).Sync("/").ok());
    EventLog events;
    REQUIRE(e.at(lagger).Get("/watched", events.Recorder("data")).ok());
    e.Isolate(lagger, true);
    REQUIRE(e.at(other).Set("/watched", "1").ok());
    // Far more than log_retention: the leader no longer has the entries.
    for (int i = 0; i < 400; ++i) {
      REQUIRE(e.at(other).Create("/s" + std::to_string(i), "v").ok());
    }
    e.Isolate(lagger, false);
    REQUIRE(WaitFor([&] {
      return e.at(lagger).GetHealth().last_zxid >=
             e.at(leader).GetHealth().last_zxid;
    }));
    CHECK(e.at(lagger).GetHealth().snapshots_installed >= 1);
    // Its watchers heard of the change the snapshot carried.
    auto seen = events.WaitFor(1, absl::Seconds(10));
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].event.type == EventType::kDataChanged);
    CHECK(seen[0].event.path == "/watched");
    for (int i = 0; i < 400; i += 37) {
      CHECK(e.at(lagger).Exists("/s" + std::to_string(i))->has_value());
    }
    // It serves writes again afterwards.
    REQUIRE(e.at(lagger).WaitConnected(absl::Seconds(30)).ok());
    REQUIRE(e.at(lagger).Create("/after-snap", "v").ok());
    CHECK(e.at(lagger).Exists("/after-snap")->has_value());
  }
}

TEST_CASE("Faults: a peer cut off loses its session after the timeout, its "
          "ephemerals go and watchers elsewhere fire, and it opens a new one",
          "[ensemble][faults]") {
  EventLog session_events[3];  // outlives the ensemble's watchers
  LocalEnsemble e(3);
  for (int i = 0; i < 3; ++i) {
    e.options(i).session_timeout = absl::Seconds(2);
    e.options(i).session_watcher = session_events[i].Recorder();
  }
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int cut = (leader + 1) % 3;
  const int watcher = (leader + 2) % 3;
  REQUIRE(e.at(cut).Create("/member", "x", CreateMode::kEphemeral).ok());
  REQUIRE(e.at(cut).Create("/config", "1").ok());
  const int64_t old_session = e.at(cut).session_id();
  REQUIRE(old_session != 0);
  REQUIRE(e.at(watcher).Sync("/").ok());
  EventLog events;
  REQUIRE(e.at(watcher).Exists("/member", events.Recorder())->has_value());
  // A watch the cut-off peer registered before its session expired.
  EventLog kept;
  REQUIRE(e.at(cut).Get("/config", kept.Recorder()).ok());

  // The session lease: held while connected; once cut off, it lapses
  // before the ensemble expires the session (the member is still there
  // when it does).
  CHECK(e.at(cut).SessionLeaseValid());
  CHECK(e.at(leader).SessionLeaseValid());
  const absl::Time start = absl::Now();
  e.Isolate(cut, true);
  REQUIRE(WaitFor([&] { return !e.at(cut).SessionLeaseValid(); },
                  absl::Seconds(20), absl::Milliseconds(1)));
  const absl::Duration lapsed = absl::Now() - start;
  INFO("the lease lapsed " << lapsed << " after the cut");
  CHECK(e.at(leader).Exists("/member")->has_value());
  CHECK(lapsed < absl::Milliseconds(1900));
  auto seen = events.WaitFor(1, absl::Seconds(20));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].event.type == EventType::kDeleted);
  // Not before the session timeout (2 s).
  CHECK(absl::Now() - start >= absl::Milliseconds(1900));
  CHECK(!e.at(leader).Exists("/member")->has_value());
  // A write made while cut off, on the session that is gone: it fails
  // SessionExpired once the peer learns of the expiry (or ConnectionLoss if
  // it gives up first), and never applies.
  auto stale = std::async(std::launch::async, [&] {
    return e.at(cut).Create("/stale", "y").status();
  });

  // Healed, the cut-off peer learns its session expired and opens a new
  // one by itself.
  e.Isolate(cut, false);
  REQUIRE(e.at(cut).WaitConnected(absl::Seconds(30)).ok());
  const absl::Status stale_status = stale.get();
  CHECK((ErrorOf(stale_status) == Error::kSessionExpired ||
         ErrorOf(stale_status) == Error::kConnectionLoss));
  const int64_t new_session = e.at(cut).session_id();
  CHECK(new_session != 0);
  CHECK(e.at(cut).SessionLeaseValid());
  CHECK(new_session != old_session);
  REQUIRE(e.at(cut).Create("/member", "again", CreateMode::kEphemeral).ok());
  // The create is acknowledged once the cut peer applied it; the leader's
  // replica may apply it a moment later (a read at another peer is not
  // linearizable without a sync).
  REQUIRE(e.at(leader).Sync("/").ok());
  auto member = e.at(leader).Get("/member");
  REQUIRE(member.ok());
  CHECK(member->stat.ephemeral_owner == new_session);
  CHECK(member->data == "again");
  // The watch registered before the expiry still fires.
  REQUIRE(e.at(leader).Set("/config", "2").ok());
  auto fired = kept.WaitFor(1, absl::Seconds(20));
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].event.type == EventType::kDataChanged);
  REQUIRE(e.at(leader).Sync("/").ok());
  CHECK(!e.at(leader).Exists("/stale")->has_value());

  // Its session watcher heard Connected, lost the leader (Disconnected),
  // then Expired once, then Connected (the new session), then Closed.
  e.Stop(cut);
  std::vector<SessionState> states;
  for (const auto& entry : session_events[cut].Snapshot()) {
    states.push_back(entry.event.state);
  }
  REQUIRE(states.size() >= 5);
  CHECK(states.front() == SessionState::kConnected);
  CHECK(states.back() == SessionState::kClosed);
  CHECK(std::count(states.begin(), states.end(), SessionState::kExpired) == 1);
  const auto expired =
      std::find(states.begin(), states.end(), SessionState::kExpired);
  REQUIRE(expired + 2 < states.end());
  CHECK(expired[1] == SessionState::kConnected);
  CHECK(std::find(states.begin(), expired, SessionState::kDisconnected) !=
        expired);
}

TEST_CASE("Faults: an observer replicates and serves reads but never counts "
          "for a quorum",
          "[ensemble][faults]") {
  LocalEnsemble e(3, /*observers=*/1);
  e.StartAll();
  REQUIRE(e.WaitAllConnected());
  const int observer = 3;
  CHECK(e.at(observer).GetHealth().role == "observer");
  REQUIRE(e.at(observer).Create("/from-observer", "o").ok());
  CHECK(e.at(observer).Get("/from-observer")->data == "o");
  const int leader = e.WaitLeader();
  REQUIRE(leader >= 0);
  REQUIRE(e.at(leader).Create("/from-leader", "l").ok());
  REQUIRE(e.at(observer).Sync("/").ok());
  CHECK(e.at(observer).Get("/from-leader")->data == "l");

  // Two voters down: the leader and the observer are no quorum.
  const int f1 = (leader + 1) % 3;
  const int f2 = (leader + 2) % 3;
  e.Stop(f1);
  e.Stop(f2);
  REQUIRE(WaitFor([&] { return e.at(leader).GetHealth().role != "leader"; }));
  CHECK(WaitFor([&] { return e.at(observer).GetHealth().leader_id == 0; }));
  // Reads still come from the observer's replica.
  CHECK(e.at(observer).Get("/from-leader")->data == "l");
}

}  // namespace
}  // namespace synod::testing
