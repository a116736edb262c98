// ZooKeeper's own clients against synod-peer processes serving ZooKeeper's
// protocol (--zk-listen): zkCli's commands on one peer, and the C client's
// session surviving the kill of the peer it was connected to, its
// ephemeral kept, resumed at another peer.

#include <catch2/catch.hpp>
#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "integration/process_util.h"
#include "test_util.h"

namespace synod {
namespace {

using testing::FreePort;
using testing::PeerProcess;
using testing::Shell;
using testing::ShellResult;
using testing::TempDir;

// Runs one zkCli command (ZooKeeperMain) against `server`.
ShellResult ZkCli(const std::string& server, const std::string& command) {
  return Shell(absl::StrCat(
      "/usr/bin/java -Xmx128m -cp /usr/share/java/zookeeper.jar"
      ":/usr/share/java/slf4j-nop.jar org.apache.zookeeper.ZooKeeperMain "
      "-server ", server, " ", command));
}

// Peers serving ZooKeeper's protocol too, each on a port of its own.
struct ZkPeers {
  explicit ZkPeers(int n) {
    std::vector<std::string> seeds;
    for (int i = 0; i < n; ++i) {
      seeds.push_back(absl::StrCat("127.0.0.1:", FreePort()));
      zk.push_back(absl::StrCat("127.0.0.1:", FreePort()));
    }
    for (int i = 0; i < n; ++i) {
      peers.push_back(std::make_unique<PeerProcess>(
          seeds[i], seeds, dir.Sub(absl::StrCat("peer", i)),
          dir.Sub(absl::StrCat("peer", i, ".log")),
          std::vector<std::string>{"--zk-listen", zk[i]}));
      peers.back()->Start();
    }
  }
  ~ZkPeers() {
    for (auto& p : peers) p->Kill();
  }
  // Waits until every running peer's ZooKeeper port answers a read.
  bool WaitServing(const std::vector<int>& which) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    for (int i : which) {
      while (!absl::StrContains(ZkCli(zk[i], "ls /").out, "[")) {
        if (absl::Now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    return true;
  }
  std::string Logs() {
    std::string out;
    for (size_t i = 0; i < peers.size(); ++i) {
      absl::StrAppend(&out, "---- peer ", i, "\n", peers[i]->Log());
    }
    return out;
  }

  TempDir dir;
  std::vector<std::string> zk;
  std::vector<std::unique_ptr<PeerProcess>> peers;
};

TEST_CASE("ZooKeeper protocol: zkCli's commands against synod-peer",
          "[zkserver][process]") {
  ZkPeers one(1);
  if (!one.WaitServing({0})) FAIL(one.Logs());
  const std::string& server = one.zk[0];
  CHECK(absl::StrContains(ZkCli(server, "create /zk hello").out,
                          "Created /zk"));
  CHECK(absl::StrContains(ZkCli(server, "get /zk").out, "hello"));
  CHECK(ZkCli(server, "set /zk world").exit_code == 0);
  const std::string stat = ZkCli(server, "get -s /zk").out;
  CHECK(absl::StrContains(stat, "world"));
  CHECK(absl::StrContains(stat, "dataVersion = 1"));
  CHECK(absl::StrContains(ZkCli(server, "create -s /zk/seq- x").out,
                          "Created /zk/seq-0000000000"));
  CHECK(absl::StrContains(ZkCli(server, "ls /zk").out, "[seq-0000000000]"));
  CHECK(absl::StrContains(ZkCli(server, "delete /zk").out, "Node not empty"));
  CHECK(ZkCli(server, "deleteall /zk").exit_code == 0);
  CHECK(absl::StrContains(ZkCli(server, "get /zk").out, "Node does not exist"));
}

// The C client's session state, from its watcher.
std::atomic<int> g_state{0};
void StateWatcher(zhandle_t*, int type, int state, const char*, void*) {
  if (type == ZOO_SESSION_EVENT) g_state.store(state);
}

TEST_CASE("ZooKeeper protocol: the C client's session survives the kill of "
          "its peer with its ephemeral",
          "[zkserver][process]") {
  ZkPeers three(3);
  if (!three.WaitServing({0, 1, 2})) FAIL(three.Logs());
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  g_state.store(0);
  zhandle_t* zh = zookeeper_init(absl::StrJoin(three.zk, ",").c_str(),
                                 StateWatcher, 10000, nullptr, nullptr, 0);
  REQUIRE(zh != nullptr);
  auto wait_connected = [](absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (g_state.load() != ZOO_CONNECTED_STATE && absl::Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return g_state.load() == ZOO_CONNECTED_STATE;
  };
  REQUIRE(wait_connected(absl::Seconds(30)));
  const int64_t session = zoo_client_id(zh)->client_id;
  CHECK(session != 0);
  REQUIRE(zoo_create(zh, "/eph", "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
                     nullptr, 0) == ZOK);

  // Kill the peer the client is connected to.
  const std::string current = zoo_get_current_server(zh);
  int victim = -1;
  for (int i = 0; i < 3; ++i) {
    if (three.zk[i] == current) victim = i;
  }
  REQUIRE(victim >= 0);
  const absl::Time killed = absl::Now();
  three.peers[victim]->Kill();
  // The client notices, reconnects elsewhere and resumes the session.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (g_state.load() == ZOO_CONNECTED_STATE && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!wait_connected(absl::Seconds(30))) FAIL(three.Logs());
  ::Stat stat;
  REQUIRE(zoo_exists(zh, "/eph", 0, &stat) == ZOK);
  const absl::Duration resumed = absl::Now() - killed;
  std::printf("zk protocol: session resumed %s after its peer's kill\n",
              absl::FormatDuration(resumed).c_str());
  CHECK(zoo_client_id(zh)->client_id == session);
  CHECK(stat.ephemeralOwner == session);
  CHECK(std::string(zoo_get_current_server(zh)) != current);
  // The resumed session writes.
  CHECK(zoo_create(zh, "/after", "a", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
                   nullptr, 0) == ZOK);

  // Closing it removes its ephemerals at once.
  REQUIRE(zookeeper_close(zh) == ZOK);
  const int other = (victim + 1) % 3;
  CHECK(absl::StrContains(ZkCli(three.zk[other], "ls /").out, "[synod]"));
}

}  // namespace
}  // namespace synod
