// synod-cli against ZooKeeper 3.8's own zkCli: the same commands, run one
// at a time (each on a new session, as `zkCli.sh -server X cmd` does)
// against a real ZooKeeper server and against a synod peer, must print the
// same lines and exit with the same status. zkCli's side runs in one JVM
// (java/ZkCliBatch.java: ZooKeeperMain itself, command by command). Values that differ by nature
// are masked: zxids, times and session ids. docs/cli.md lists the
// deliberate differences; the commands that show them are compared by
// exit status only.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "integration/zk_server.h"
#include "synod/synod.h"
#include "test_util.h"

namespace synod {
namespace {

using synod::testing::ListeningPeer;
using synod::testing::Shell;
using synod::testing::ShellResult;
using synod::testing::TempDir;
using synod::testing::ZkServer;

// The lines a command printed, without zkCli's session chatter, with the
// values that differ by nature masked.
std::string Normalize(const std::string& out) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (line.empty() || absl::StartsWith(line, "Connecting to ") ||
        line == "WATCHER::" ||
        line == "WatchedEvent state:SyncConnected type:None path:null" ||
        line == "WatchedEvent state:Closed type:None path:null" ||
        absl::StartsWith(line, "Exiting JVM with code")) {
      continue;
    }
    for (const char* masked : {"cZxid = ", "mZxid = ", "pZxid = ", "ctime = ",
                               "mtime = ", "ephemeralOwner = 0x"}) {
      if (absl::StartsWith(line, masked)) {
        line = masked;
        break;
      }
    }
    lines.emplace_back(line);
  }
  return absl::StrJoin(lines, "\n");
}

// How a step is compared.
enum class Compare {
  kAll,     // the lines printed and the exit status
  kStatus,  // the exit status (synod-cli prints more: docs/cli.md)
  kNone,    // a deliberate difference (docs/cli.md): run, not compared
};

struct Step {
  std::string command;
  Compare compare = Compare::kAll;
};

// No ephemerals here: zkCli leaves its session open when it exits (the
// node lingers for the session timeout), synod-cli closes it.
std::vector<Step> Steps() {
  const std::string digest = DigestId("u", "p");
  return {
      {"create /d hello"},
      {"create /d again"},
      {"get /d"},
      {"get -s /d"},
      {"stat /d"},
      {"ls /d"},
      {"ls -s /d"},
      {"create /d/a one"},
      {"create /d/b two"},
      {"create -s /d/s- q"},
      {"create -s /d/s- r"},
      {"create -c /d/c z"},
      {"create -t 600000 /d/t y"},
      {"create -s -t 600000 /d/ts- y"},
      {"create /d/a/x deep"},
      {"ls /d"},
      {"ls -R /d"},
      {"ls -s /d/a"},
      {"stat /d/c"},
      {"stat /d/t"},
      {"set /d v1", Compare::kStatus},  // synod-cli adds dataVersion = 1
      {"set -s /d v2"},
      {"set -s -v 2 /d v3"},
      {"set -v 7 /d v4"},
      {"set /nope v"},
      {"delete /d"},
      {"delete -v 3 /d/b"},
      {"delete -v 0 /d/b"},
      {"delete /nope"},
      {"create /d/b/c/e x"},
      {"create /nope/x x"},
      {"getAcl /d"},
      {"getAcl -s /d"},
      {"setAcl -R /d/a world:anyone:cdra"},
      {"getAcl /d/a/x"},
      {"set /d/a/x nope"},
      {"setAcl /d/a world:anyone:cdr"},
      {"getAcl /d/a"},
      {"setAcl -s /d/a world:anyone:cdrwa"},
      {"setAcl -v 5 /d/c world:anyone:cdrwa"},
      {"setAcl -s -v 0 /d/c world:anyone:cdrwa"},
      {"create /d/x sec digest:" + digest + ":cdrwa,world:anyone:c"},
      {"getAcl /d/x"},
      {"get /d/x"},
      {"set /d/x nope"},
      {"getAcl /nope"},
      {"getAllChildrenNumber /d"},
      {"getAllChildrenNumber /d/a"},
      {"getAllChildrenNumber /nope"},
      {"getEphemerals /d"},
      {"sync /d"},
      {"stat /nope"},
      {"ls /nope"},
      {"get /nope"},
      {"removewatches /d"},
      {"removewatches /d -d"},
      {"whoami"},
      {"create /f x world:anyone:cra"},
      {"create /f/g y"},
      {"deleteall /f", Compare::kNone},  // /f denies DELETE: zkCli exits 0
      {"setAcl /f world:anyone:cdrwa"},
      {"deleteall /f"},
      {"ls /f"},
      {"deleteall /d"},
      {"ls /d"},
  };
}

// What zkCli printed and its exit status for each command, in order, run
// by ZkCliBatch against `zk`.
std::vector<ShellResult> RunZkCli(const ZkServer& zk,
                                  const std::vector<Step>& steps) {
  TempDir dir;
  const std::string commands = dir.Sub("commands");
  const std::string results = dir.Sub("results");
  {
    std::ofstream out(commands);
    for (const Step& step : steps) out << step.command << "\n";
  }
  const ShellResult ran = zk.JavaClient(
      SYNOD_JAVA_DRIVER_DIR,
      absl::StrCat("ZkCliBatch ", zk.address(), " ", commands, " ", results));
  INFO(ran.out);
  REQUIRE(ran.exit_code == 0);
  std::ifstream in(results, std::ios::binary);
  std::vector<ShellResult> out;
  int exit_code = 0;
  size_t length = 0;
  while (in >> exit_code >> length) {
    in.get();  // the newline
    ShellResult r;
    r.exit_code = exit_code;
    r.out.resize(length);
    in.read(r.out.data(), static_cast<std::streamsize>(length));
    out.push_back(std::move(r));
  }
  return out;
}

TEST_CASE("synod-cli prints what zkCli prints, command by command",
          "[integration][zk][cli]") {
  ZkServer zk;
  REQUIRE(zk.Start());
  ListeningPeer peer;
  const std::vector<Step> steps = Steps();
  const std::vector<ShellResult> zkcli = RunZkCli(zk, steps);
  REQUIRE(zkcli.size() == steps.size());
  int compared = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    INFO("command: " << step.command);
    const ShellResult& theirs = zkcli[i];
    const ShellResult ours =
        Shell(absl::StrCat(SYNOD_CLI_BINARY, " --peer ", peer.address, " ",
                           step.command, " </dev/null"));
    INFO("zkCli printed:\n" << theirs.out);
    INFO("synod-cli printed:\n" << ours.out);
    if (step.compare == Compare::kNone) continue;
    CHECK(ours.exit_code == theirs.exit_code);
    if (step.compare == Compare::kAll) {
      CHECK(Normalize(ours.out) == Normalize(theirs.out));
    }
    ++compared;
  }
  CHECK(compared >= 60);
}

}  // namespace
}  // namespace synod
