// A peer whose txn log was damaged comes back without costing the ensemble
// a committed write: it takes no part in quorums until a leader elected
// without it has synced it (protocol-aware recovery, docs/zab.md).

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ensemble/ensemble_util.h"

namespace synod::testing {
namespace {


// Cuts the newest segment of the txn log in `data_dir` to its first 4 KiB
// (in the middle of a record, most likely; segments are preallocated with
// zeros, so their size says nothing of where the records end): records
// acknowledged long ago are gone.
void CutNewestSegment(const std::string& data_dir) {
  const std::vector<std::string> segments = LogSegments(data_dir);
  REQUIRE(!segments.empty());
  REQUIRE(std::filesystem::file_size(segments.back()) > 4096);
  std::filesystem::resize_file(segments.back(), 4096);
}

TEST_CASE("Damaged log: the peer neither votes nor acks until synced, and no "
          "committed write is lost",
          "[ensemble][faults]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int damaged = (leader + 1) % 3;
  const int other = (leader + 2) % 3;

  // Committed by the leader and `damaged` alone.
  e.Stop(other);
  for (int i = 0; i < 200; ++i) {
    REQUIRE(e.at(leader).Create("/w" + std::to_string(i), "v").ok());
  }
  e.Stop(damaged);
  CutNewestSegment(e.options(damaged).data_dir);
  e.Stop(leader);

  // `damaged` and `other` would be a quorum; with `damaged` recovering
  // they must not elect (the other lacks every write above).
  REQUIRE(e.Start(other).ok());
  REQUIRE(e.Start(damaged).ok());
  CHECK(e.at(damaged).GetHealth().recovering);
  CHECK(e.WaitLeader(absl::Seconds(3)) == -1);
  CHECK(e.at(damaged).GetHealth().recovering);

  // The leader that holds the writes returns and syncs it.
  REQUIRE(e.Start(leader).ok());
  REQUIRE(e.WaitLeader() >= 0);
  REQUIRE(WaitFor([&] { return !e.at(damaged).GetHealth().recovering; }));
  REQUIRE(e.WaitAllConnected());
  for (int p = 0; p < 3; ++p) {
    INFO("peer " << p);
    REQUIRE(e.at(p).Sync("/").ok());
    for (int i = 0; i < 200; ++i) {
      CHECK(e.at(p).Exists("/w" + std::to_string(i))->has_value());
    }
  }
  // A voter again: it leads, or with the third peer gone its acks commit.
  const int now_leader = e.Leader();
  REQUIRE(now_leader >= 0);
  if (now_leader != damaged) {
    e.Stop(3 - now_leader - damaged);
    CHECK(e.at(now_leader).Create("/after", "v").ok());
    CHECK(e.at(damaged).Sync("/").ok());
    CHECK(e.at(damaged).Exists("/after")->has_value());
  }
  // And it stays a voter after a restart (the mark was cleared durably).
  e.Stop(damaged);
  REQUIRE(e.Start(damaged).ok());
  CHECK_FALSE(e.at(damaged).GetHealth().recovering);
}

}  // namespace
}  // namespace synod::testing
