// A three-peer ensemble in one process over loopback gRPC: replication,
// forwarded writes, read-your-writes, ephemerals, watches across peers, and
// a leader change.

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "ensemble/ensemble_util.h"

namespace synod::testing {
namespace {

TEST_CASE("Ensemble: three peers elect a leader and replicate writes",
          "[ensemble]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  int followers = 0;
  for (int i = 0; i < 3; ++i) {
    if (e.at(i).GetHealth().role == "follower") ++followers;
  }
  CHECK(followers == 2);
  // Every peer reports the founding configuration: three voters.
  for (int i = 0; i < 3; ++i) {
    const Health h = e.at(i).GetHealth();
    std::vector<uint64_t> voters;
    for (const EnsembleMember& m : h.voters) voters.push_back(m.id);
    CHECK(voters == std::vector<uint64_t>{1, 2, 3});
    CHECK(h.observers.empty());
    CHECK(h.config_version == 0);
  }

  // A write at each peer (two of them forwarded), read back at once there:
  // completion means the writer's replica has applied it.
  for (int i = 0; i < 3; ++i) {
    const std::string path = "/w" + std::to_string(i);
    REQUIRE(e.at(i).Create(path, "v" + std::to_string(i)).ok());
    auto node = e.at(i).Get(path);
    REQUIRE(node.ok());
    CHECK(node->data == "v" + std::to_string(i));
  }
  // After a Sync every peer has every write.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(e.at(i).Sync("/").ok());
    for (int j = 0; j < 3; ++j) {
      auto node = e.at(i).Get("/w" + std::to_string(j));
      REQUIRE(node.ok());
      CHECK(node->data == "v" + std::to_string(j));
    }
  }
  // Errors of forwarded requests come back with ZooKeeper's names.
  const int follower = (leader + 1) % 3;
  CHECK(ErrorOf(e.at(follower).Create("/w0", "again").status()) ==
        Error::kNodeExists);
  CHECK(ErrorOf(e.at(follower).Set("/w0", "x", 7).status()) == Error::kBadVersion);
  CHECK(ErrorOf(e.at(follower).Delete("/nope")) == Error::kNoNode);
  auto multi = e.at(follower).Multi(
      {Op::Create("/m1", "a"), Op::Delete("/missing", -1)});
  CHECK(ErrorOf(multi.status()) == Error::kNoNode);
  CHECK(FailedOpIndex(multi.status()) == 1);
  CHECK(ErrorOf(e.at(follower).Get("/m1").status()) == Error::kNoNode);
}

TEST_CASE("Ensemble: an ephemeral lives with its peer's session, watchers "
          "elsewhere see it go",
          "[ensemble]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int owner = (leader + 1) % 3;
  const int watcher = (leader + 2) % 3;
  REQUIRE(e.at(owner).Create("/eph", "x", CreateMode::kEphemeral).ok());
  REQUIRE(e.at(watcher).Sync("/").ok());
  EventLog events;
  auto stat = e.at(watcher).Exists("/eph", events.Recorder("w"));
  REQUIRE(stat.ok());
  REQUIRE(stat->has_value());
  CHECK((*stat)->ephemeral_owner == e.at(owner).session_id());
  e.Stop(owner);  // closes its session: the ephemeral goes in one txn
  auto seen = events.WaitFor(1, absl::Seconds(20));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].event.type == EventType::kDeleted);
  CHECK(seen[0].event.path == "/eph");
  REQUIRE(e.at(leader).Sync("/").ok());
  CHECK(!e.at(leader).Exists("/eph")->has_value());
}

TEST_CASE("Ensemble: writes resume after the leader leaves, with nothing "
          "acknowledged lost",
          "[ensemble]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int a = (leader + 1) % 3;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(e.at(a).Create("/k" + std::to_string(i), "v").ok());
  }
  e.Stop(leader);
  const int next = e.WaitLeader();
  REQUIRE(next >= 0);
  CHECK(next != leader);
  // Writes park while no leader serves and go through once one does.
  REQUIRE(e.at(a).Create("/after", "v").ok());
  const int b = 3 - leader - a;
  REQUIRE(e.at(b).Sync("/").ok());
  for (int i = 0; i < 20; ++i) {
    CHECK(e.at(b).Exists("/k" + std::to_string(i))->has_value());
  }
  CHECK(e.at(b).Exists("/after")->has_value());
  // The old leader comes back as a follower and catches up.
  REQUIRE(e.Start(leader).ok());
  REQUIRE(e.at(leader).WaitConnected(absl::Seconds(30)).ok());
  REQUIRE(e.at(leader).Sync("/").ok());
  CHECK(e.at(leader).Exists("/after")->has_value());
  CHECK(e.at(leader).GetHealth().role != "leader");
}

}  // namespace
}  // namespace synod::testing
