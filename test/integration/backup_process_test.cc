// Backup and restore with real processes: `synod-cli backup` from a
// follower of a running three-peer ensemble, then a new three-peer
// ensemble of synod-peer processes, each founder started with --restore of
// that file, serves the tree on every peer, takes new writes above it, and
// a founder restarted with the same flag comes back as it was.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "integration/process_util.h"
#include "test_util.h"

namespace synod::testing {
namespace {

TEST_CASE("Processes: a backup of a live ensemble seeds a new one",
          "[integration][backup]") {
  TempDir files;
  const std::string file = files.Sub("ensemble.bk");
  {
    ProcessEnsemble source(3);
    source.StartAll();
    const int leader = source.WaitLeader();
    REQUIRE(leader >= 0);
    const std::string at = source.at(leader).listen();
    REQUIRE(Cli(at, "create /svc config").exit_code == 0);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(Cli(at, absl::StrCat("create /svc/n", i, " v", i)).exit_code == 0);
    }
    REQUIRE(Cli(at, "setquota -n 100 /svc").exit_code == 0);
    const std::string follower = source.at((leader + 1) % 3).listen();
    REQUIRE(Cli(follower, "sync /").exit_code == 0);
    CliResult r = Cli(follower, "backup " + file);
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("Wrote " + file) == 0);
  }

  std::vector<std::string> seeds;
  for (int i = 0; i < 3; ++i) seeds.push_back(absl::StrCat("127.0.0.1:", FreePort()));
  std::vector<std::unique_ptr<PeerProcess>> peers;
  for (int i = 0; i < 3; ++i) {
    peers.push_back(std::make_unique<PeerProcess>(
        seeds[i], seeds, files.Sub(absl::StrCat("peer", i)),
        files.Sub(absl::StrCat("peer", i, ".log")),
        std::vector<std::string>{"--restore", file}));
    peers.back()->Start();
  }
  const auto all_serve = [&] {
    for (const std::string& s : seeds) {
      if (ServingRoleOf(s).empty()) return false;
    }
    return true;
  };
  REQUIRE(WaitForCli(all_serve));
  for (const std::string& s : seeds) {
    INFO(s);
    CHECK(ChildrenAt(s, "/svc").size() == 20);
    CliResult r = Cli(s, "get /svc/n7");
    CHECK(r.out == "v7\n");
    r = Cli(s, "listquota /svc");
    CHECK(r.out.find("count=100") != std::string::npos);
  }
  REQUIRE(Cli(seeds[2], "create /svc/after x").exit_code == 0);

  // A founder restarted with the same flag: seeded already, it rejoins.
  peers[1]->Kill();
  peers[1]->Start();
  REQUIRE(WaitForCli(all_serve));
  CHECK(ChildrenAt(seeds[1], "/svc").size() == 21);
}

}  // namespace
}  // namespace synod::testing
