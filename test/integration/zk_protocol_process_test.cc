// ZooKeeper's own clients against synod-peer processes serving ZooKeeper's
// protocol (--zk-listen): zkCli's commands on one peer; the C client's
// session surviving the kill of the peer it was connected to, its
// ephemeral kept, resumed at another peer; a peer without a leader
// closing its clients' connections until one serves again.

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/strings/str_split.h"
#include "integration/process_util.h"
#include "integration/zk_server.h"
#include "test_util.h"
#include "util/test_ca.h"
#include "zkserver/zk_connection.h"
#include "zkwire/zk_records.h"

namespace synod {
namespace {

using testing::Converse;
using testing::FreePort;
using testing::PeerProcess;
using testing::Shell;
using testing::ShellResult;
using testing::TempDir;

// Runs one zkCli command (ZooKeeperMain) against `server`; `java_flags`
// go before the class (TLS's, from ZkCliTlsFlags).
ShellResult ZkCli(const std::string& server, const std::string& command,
                  const std::string& java_flags = "") {
  return Shell(absl::StrCat(
      "/usr/bin/java -Xmx128m ", java_flags,
      " -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar"
      ":/usr/share/java/netty-common.jar:/usr/share/java/netty-buffer.jar"
      ":/usr/share/java/netty-resolver.jar:/usr/share/java/netty-transport.jar"
      ":/usr/share/java/netty-handler.jar:/usr/share/java/netty-codec.jar"
      " org.apache.zookeeper.ZooKeeperMain -server ", server, " ", command));
}

// The flags that make zkCli speak TLS (ZooKeeper's Netty socket) and
// present `id`, trusting `ca`: as a ZooKeeper user sets them, PEM files
// with the certificate and key in one.
std::string ZkCliTlsFlags(const testing::Issued& id,
                          const std::string& ca) {
  const std::string keystore = id.cert + ".keystore";
  std::ofstream(keystore) << testing::ReadAll(id.cert)
                          << testing::ReadAll(id.key);
  return absl::StrCat(
      "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty"
      " -Dzookeeper.client.secure=true"
      " -Dzookeeper.ssl.keyStore.location=", keystore,
      " -Dzookeeper.ssl.keyStore.type=PEM"
      " -Dzookeeper.ssl.trustStore.location=", ca,
      " -Dzookeeper.ssl.trustStore.type=PEM");
}

// Peers serving ZooKeeper's protocol too, each on a port of its own.
struct ZkPeers {
  explicit ZkPeers(int n, std::vector<std::string> flags = {}) {
    std::vector<std::string> seeds;
    for (int i = 0; i < n; ++i) {
      seeds.push_back(absl::StrCat("127.0.0.1:", FreePort()));
      zk.push_back(absl::StrCat("127.0.0.1:", FreePort()));
    }
    for (int i = 0; i < n; ++i) {
      peers.push_back(std::make_unique<PeerProcess>(
          seeds[i], seeds, dir.Sub(absl::StrCat("peer", i)),
          dir.Sub(absl::StrCat("peer", i, ".log")),
          Flags(zk[i], flags)));
      peers.back()->Start();
    }
  }
  ~ZkPeers() {
    for (auto& p : peers) p->Kill();
  }
  static std::vector<std::string> Flags(const std::string& zk,
                                        std::vector<std::string> more) {
    more.insert(more.begin(), {"--zk-listen", zk});
    return more;
  }
  // Waits until every running peer's ZooKeeper port answers a read (by
  // zkCli with `java_flags`).
  bool WaitServing(const std::vector<int>& which,
                   const std::string& java_flags = "") {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    for (int i : which) {
      while (!absl::StrContains(ZkCli(zk[i], "ls /", java_flags).out, "[")) {
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

// The C client's session state, from its watcher, and how many times it
// was told it is not connected (a reconnection can take a few ms: too
// short for a poll of the state to see).
std::atomic<int> g_state{0};
std::atomic<int> g_disconnects{0};
void StateWatcher(zhandle_t*, int type, int state, const char*, void*) {
  if (type != ZOO_SESSION_EVENT) return;
  g_state.store(state);
  if (state != ZOO_CONNECTED_STATE) g_disconnects.fetch_add(1);
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
  const int disconnects = g_disconnects.load();
  const absl::Time killed = absl::Now();
  three.peers[victim]->Kill();
  // The client notices, reconnects elsewhere and resumes the session.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (g_disconnects.load() == disconnects && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(g_disconnects.load() > disconnects);
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

// Sends a session's handshake to `address` and waits up to `timeout` for
// what follows: "closed" if the server closed the connection without a
// byte, "answered" if it sent something, "silent" if neither happened.
std::string Handshake(const std::string& address, absl::Duration timeout) {
  zkwire::ConnectRequest request;
  request.timeout_ms = 10000;
  request.password = std::string(16, '\0');
  std::string body, frame;
  zkwire::EncodeConnectRequest(request, &body);
  zkwire::AppendFrame(body, &frame);
  const int fd = testing::ConnectTcp(address);
  if (fd < 0) return "closed";  // nobody listens: refused as well
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(absl::ToInt64Seconds(timeout));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string outcome = "silent";
  if (send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(frame.size())) {
    char buf[256];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0) outcome = "closed";
    if (n > 0) outcome = "answered";
    if (n < 0 && errno == ECONNRESET) outcome = "closed";
  }
  close(fd);
  return outcome;
}

TEST_CASE("ZooKeeper protocol: a peer that loses its leader closes its "
          "clients' connections and opens no session until one serves "
          "again, and the client's session resumes",
          "[zkserver][process]") {
  ZkPeers three(3, {"--zk-4lw-whitelist", "*"});
  if (!three.WaitServing({0, 1, 2})) FAIL(three.Logs());
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  g_state.store(0);
  // The client knows peer 0 alone: it cannot move elsewhere.
  zhandle_t* zh = zookeeper_init(three.zk[0].c_str(), StateWatcher, 30000,
                                 nullptr, nullptr, 0);
  REQUIRE(zh != nullptr);
  auto wait_state = [](bool connected, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while ((g_state.load() == ZOO_CONNECTED_STATE) != connected &&
           absl::Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return (g_state.load() == ZOO_CONNECTED_STATE) == connected;
  };
  REQUIRE(wait_state(true, absl::Seconds(30)));
  const int64_t session = zoo_client_id(zh)->client_id;
  REQUIRE(zoo_create(zh, "/eph", "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
                     nullptr, 0) == ZOK);
  CHECK(Handshake(three.zk[0], absl::Seconds(10)) == "answered");

  // The other two stop: peer 0 has no leader. It closes the client's
  // connection (before, it went on answering its pings: the client
  // stayed "connected" to a replica falling behind).
  three.peers[1]->Pause();
  three.peers[2]->Pause();
  const bool dropped = wait_state(false, absl::Seconds(30));
  CHECK(dropped);
  // While it has none, a handshake is closed unanswered at once (not
  // parked until a create times out), and the four-letter words say it
  // does not serve.
  CHECK(Handshake(three.zk[0], absl::Seconds(3)) == "closed");
  CHECK(absl::StrContains(Converse(three.zk[0], "srvr"),
                          "not currently serving requests"));
  CHECK(g_state.load() != ZOO_CONNECTED_STATE);

  // A leader again: the client resumes its session, its ephemeral kept.
  three.peers[1]->Resume();
  three.peers[2]->Resume();
  if (!wait_state(true, absl::Seconds(30))) FAIL(three.Logs());
  CHECK(zoo_client_id(zh)->client_id == session);
  ::Stat stat;
  REQUIRE(zoo_exists(zh, "/eph", 0, &stat) == ZOK);
  CHECK(stat.ephemeralOwner == session);
  CHECK(zookeeper_close(zh) == ZOK);
}

// The keys of an answer's lines: what comes before `separator` on each
// (connections' lines, " /ip:port...", left out).
std::vector<std::string> Keys(const std::string& answer,
                              const std::string& separator) {
  std::vector<std::string> keys;
  for (absl::string_view line : absl::StrSplit(answer, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, " /")) continue;
    const size_t at = line.find(separator);
    keys.emplace_back(line.substr(0, at));
  }
  return keys;
}

bool Subset(const std::vector<std::string>& ours,
            const std::vector<std::string>& theirs) {
  const std::set<std::string> all(theirs.begin(), theirs.end());
  for (const std::string& k : ours) {
    if (all.count(k) == 0) {
      UNSCOPED_INFO("not in ZooKeeper's answer: " << k);
      return false;
    }
  }
  return true;
}

TEST_CASE("ZooKeeper protocol: the four-letter words answer as ZooKeeper "
          "3.8's do",
          "[zkserver][process][4lw]") {
  testing::ZkServer zk("*");
  REQUIRE(zk.Start());
  ZkPeers one(1, {"--zk-4lw-whitelist", "*"});
  if (!one.WaitServing({0})) FAIL(one.Logs());
  const std::string theirs_at = zk.address();
  const std::string ours_at = one.zk[0];
  // A session on each, so that stat and cons list a client.
  testing::ZkSession their_session(theirs_at);
  testing::ZkSession our_session(ours_at);
  REQUIRE(their_session.WaitConnected());
  REQUIRE(our_session.WaitConnected());

  auto both = [&](const char* word) {
    return std::make_pair(Converse(theirs_at, word), Converse(ours_at, word));
  };
  for (const char* word : {"ruok", "isro"}) {
    INFO(word);
    auto [theirs, ours] = both(word);
    CHECK(ours == theirs);
  }
  {
    auto [theirs, ours] = both("srvr");
    INFO("ZooKeeper:\n" << theirs << "synod:\n" << ours);
    CHECK(Keys(ours, ": ") == Keys(theirs, ": "));
    CHECK(absl::StrContains(ours, "Mode: standalone\n"));
    CHECK(absl::StrContains(theirs, "Mode: standalone\n"));
  }
  {
    auto [theirs, ours] = both("stat");
    INFO("ZooKeeper:\n" << theirs << "synod:\n" << ours);
    CHECK(Keys(ours, ": ") == Keys(theirs, ": "));
  }
  {
    auto [theirs, ours] = both("mntr");
    INFO("ZooKeeper:\n" << theirs << "synod:\n" << ours);
    CHECK(Keys(ours, "\t").size() >= 18);
    CHECK(Subset(Keys(ours, "\t"), Keys(theirs, "\t")));
  }
  {
    auto [theirs, ours] = both("conf");
    INFO("ZooKeeper:\n" << theirs << "synod:\n" << ours);
    CHECK(Keys(ours, "=").size() >= 9);
    CHECK(Subset(Keys(ours, "="), Keys(theirs, "=")));
  }
  {
    // Each connection on a line of its own, in ZooKeeper's format; ours
    // names its session.
    auto [theirs, ours] = both("cons");
    INFO("ZooKeeper:\n" << theirs << "synod:\n" << ours);
    const std::regex line(
        " /127\\.0\\.0\\.1:\\d+\\[[0-9a-f]+\\]\\(queued=\\d+,recved=\\d+,"
        "sent=\\d+(,sid=0x[0-9a-f]+,lop=[A-Z0-9]+,est=\\d+,to=\\d+"
        "(,lcxid=0x[0-9a-f]+)?,lzxid=0x[0-9a-f]+,lresp=\\d+.*)?\\)");
    for (const std::string* answer : {&theirs, &ours}) {
      int sessions = 0;
      for (absl::string_view l : absl::StrSplit(*answer, '\n', absl::SkipEmpty())) {
        CHECK(std::regex_match(std::string(l), line));
        if (absl::StrContains(l, ",sid=0x")) ++sessions;
      }
      CHECK(sessions == 1);
    }
    CHECK(absl::StrContains(
        ours, absl::StrCat(",sid=0x", absl::Hex(our_session.session_id()), ",")));
  }
  {
    auto [theirs, ours] = both("wchs");
    const std::regex format(
        "\\d+ connections watching \\d+ paths\nTotal watches:\\d+\n");
    CHECK(std::regex_match(theirs, format));
    CHECK(std::regex_match(ours, format));
  }
}

// kazoo (Debian's python3-kazoo) runs its own recipes on two sessions, one
// on the peer the script kills: test/integration/kazoo/kazoo_recipes.py
// says what it checks.
TEST_CASE("ZooKeeper protocol: kazoo's Lock, Election, Barrier and "
          "TreeCache through the kill of a client's peer",
          "[zkserver][process][kazoo]") {
  ZkPeers three(3);
  if (!three.WaitServing({0, 1, 2})) FAIL(three.Logs());
  const ShellResult r = Shell(absl::StrCat(
      "/usr/bin/python3 -B ", SYNOD_KAZOO_SCRIPT, " ", absl::StrJoin(three.zk, ","),
      " ", three.peers[0]->pid(), " 2>&1 </dev/null"));
  INFO("kazoo_recipes.py printed:\n" << r.out);
  if (r.exit_code != 0) INFO(three.Logs());
  CHECK(r.exit_code == 0);
  CHECK(absl::EndsWith(r.out, "OK\n"));
}

// Over TLS (the peers' --tls-* flags), the ZooKeeper port takes clients
// of the CA alone, each with its certificate's subject as its x509
// identity: zkCli over ZooKeeper's Netty TLS socket, openssl's client for
// a four-letter word, and kazoo (test/integration/kazoo/kazoo_tls.py: an
// x509 ACL, a client without TLS refused, a session that moves when its
// peer is killed); a connection that never starts its handshake is closed
// after the handshake timeout, and a CA added to the peers' bundle is
// taken without a restart. The C client of Debian is built without TLS.
TEST_CASE("ZooKeeper protocol: over TLS, clients of the CA get through "
          "with their x509 identity and sessions still move",
          "[zkserver][process][tls][kazoo]") {
  TempDir certs;
  testing::TestCa ca(certs.Sub("ca"), "zk-tls-ca");
  const testing::Issued server = ca.Issue("peer", "IP:127.0.0.1");
  const testing::Issued alice = ca.Issue("alice", "");
  const testing::Issued bob = ca.Issue("bob", "");
  ZkPeers three(3, {"--tls-cert", server.cert, "--tls-key", server.key,
                    "--tls-ca", ca.cert(), "--tls-reload", "1s",
                    "--zk-4lw-whitelist", "ruok"});
  const std::string as_alice = ZkCliTlsFlags(alice, ca.cert());
  if (!three.WaitServing({0, 1, 2}, as_alice)) FAIL(three.Logs());
  // A connection that never begins its TLS handshake is closed after the
  // handshake timeout (checked at the end: the rest runs meanwhile).
  const int idle = testing::ConnectTcp(three.zk[2]);
  REQUIRE(idle >= 0);
  const absl::Time idle_since = absl::Now();

  const ShellResult who = ZkCli(three.zk[1], "whoami", as_alice);
  INFO(who.out);
  CHECK(absl::StrContains(who.out, "x509: CN=alice"));
  CHECK(absl::StrContains(who.out, "ip: 127.0.0.1"));
  // zkCli without TLS gets nothing.
  const ShellResult plain = ZkCli(three.zk[1], "ls /");
  INFO(plain.out);
  CHECK(absl::StrContains(plain.out, "ConnectionLoss"));
  CHECK(!absl::StrContains(plain.out, "[synod]"));
  // A four-letter word over TLS, and the same without a certificate.
  const std::string s_client = absl::StrCat(
      "printf ruok | timeout 20 openssl s_client -quiet -connect ",
      three.zk[2], " -CAfile ", ca.cert());
  const ShellResult ruok = Shell(absl::StrCat(
      s_client, " -cert ", alice.cert, " -key ", alice.key, " 2>/dev/null"));
  CHECK(absl::EndsWith(ruok.out, "\nimok"));
  CHECK(!absl::StrContains(Shell(s_client + " 2>&1").out, "imok"));

  const auto base = [](const testing::Issued& id) {
    return id.cert.substr(0, id.cert.size() - 4);  // without ".pem"
  };
  const ShellResult r = Shell(absl::StrCat(
      "/usr/bin/python3 -B ", SYNOD_KAZOO_TLS_SCRIPT, " ",
      absl::StrJoin(three.zk, ","), " ", three.peers[0]->pid(), " ",
      ca.cert(), " ", base(alice), " ", base(bob), " 2>&1 </dev/null"));
  INFO("kazoo_tls.py printed:\n" << r.out);
  if (r.exit_code != 0) INFO(three.Logs());
  CHECK(r.exit_code == 0);
  CHECK(absl::EndsWith(r.out, "OK\n"));

  // Rotation: the peers read their files again each second; a CA bundle
  // that gains another CA admits that CA's clients, without a restart.
  testing::TestCa other(certs.Sub("other"), "zk-other-ca");
  const testing::Issued carol = other.Issue("carol", "");
  const std::string as_carol = ZkCliTlsFlags(carol, ca.cert());
  CHECK(!absl::StrContains(ZkCli(three.zk[1], "whoami", as_carol).out,
                           "x509: CN=carol"));
  const std::string bundle = certs.Sub("bundle.pem");
  std::ofstream(bundle) << testing::ReadAll(ca.cert())
                        << testing::ReadAll(other.cert());
  REQUIRE(std::rename(bundle.c_str(), ca.cert().c_str()) == 0);
  bool admitted = false;
  for (int i = 0; i < 10 && !admitted; ++i) {
    admitted = absl::StrContains(ZkCli(three.zk[1], "whoami", as_carol).out,
                                 "x509: CN=carol");
  }
  CHECK(admitted);

  timeval tv{};
  tv.tv_sec = 30;
  setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char byte;
  const ssize_t n = read(idle, &byte, 1);
  const absl::Duration idle_for = absl::Now() - idle_since;
  close(idle);
  INFO("the idle connection ended after " << absl::FormatDuration(idle_for));
  CHECK((n == 0 || (n < 0 && errno == ECONNRESET)));  // closed, not timed out
  CHECK(idle_for >=
        absl::Milliseconds(zkserver::ZkConnection::kHandshakeTimeoutMs));
}

// What the C client's asynchronous completions and watchers told, in the
// order it told them (on its completion thread).
struct AsyncLog {
  std::mutex mu;
  std::vector<std::string> entries;
  void Add(std::string e) {
    std::lock_guard<std::mutex> lock(mu);
    entries.push_back(std::move(e));
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return entries.size();
  }
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mu);
    return std::move(entries);
  }
};

AsyncLog* LogOf(const void* data) {
  return static_cast<AsyncLog*>(const_cast<void*>(data));
}

TEST_CASE("ZooKeeper protocol: the C client's asynchronous calls, their "
          "completions and watches in order",
          "[zkserver][process]") {
  TempDir dir;
  Options options = testing::TestOptions(dir.path());
  options.zk_listen = "127.0.0.1:0";
  std::unique_ptr<Coordinator> c = testing::MustStart(options);
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t* zh = zookeeper_init(c->GetHealth().zk_listen.c_str(), nullptr,
                                 30000, nullptr, nullptr, 0);
  REQUIRE(zh != nullptr);
  REQUIRE(testing::WaitFor([&] { return zoo_state(zh) == ZOO_CONNECTED_STATE; },
                           absl::Seconds(30), absl::Milliseconds(10)));
  AsyncLog log;
  auto wait = [&](size_t n) {
    return testing::WaitFor([&] { return log.size() >= n; }, absl::Seconds(30),
                            absl::Milliseconds(1));
  };

  REQUIRE(zoo_acreate(
              zh, "/async", "v", 1, &ZOO_OPEN_ACL_UNSAFE, 0,
              [](int rc, const char* path, const void* data) {
                LogOf(data)->Add(absl::StrCat("create ", rc, " ", path ? path : ""));
              },
              &log) == ZOK);
  REQUIRE(zoo_awget(
              zh, "/async",
              [](zhandle_t*, int type, int, const char* path, void* ctx) {
                LogOf(ctx)->Add(absl::StrCat("watch ", type == ZOO_CHANGED_EVENT
                                                           ? "changed "
                                                           : "other ",
                                             path));
              },
              &log,
              [](int rc, const char* value, int len, const ::Stat* stat,
                 const void* data) {
                LogOf(data)->Add(absl::StrCat("get ", rc, " ",
                                              std::string(value, len), " v",
                                              stat ? stat->version : -1));
              },
              &log) == ZOK);
  REQUIRE(wait(2));
  // The change's watch event is told before the change's completion.
  REQUIRE(zoo_aset(
              zh, "/async", "w", 1, 0,
              [](int rc, const ::Stat* stat, const void* data) {
                LogOf(data)->Add(absl::StrCat("set ", rc, " v",
                                              stat ? stat->version : -1));
              },
              &log) == ZOK);
  REQUIRE(wait(4));
  // A multi, a sync, a listing, a delete and an exists, in order.
  zoo_op_t ops[2];
  zoo_op_result_t results[2];
  char created[64];
  zoo_create_op_init(&ops[0], "/async/kid", "k", 1, &ZOO_OPEN_ACL_UNSAFE,
                     ZOO_SEQUENCE, created, sizeof(created));
  zoo_set_op_init(&ops[1], "/async", "x", 1, 1, nullptr);
  REQUIRE(zoo_amulti(
              zh, 2, ops, results,
              [](int rc, const void* data) {
                LogOf(data)->Add(absl::StrCat("multi ", rc));
              },
              &log) == ZOK);
  REQUIRE(zoo_async(
              zh, "/async",
              [](int rc, const char* path, const void* data) {
                LogOf(data)->Add(absl::StrCat("sync ", rc, " ", path ? path : ""));
              },
              &log) == ZOK);
  REQUIRE(zoo_aget_children2(
              zh, "/async", 0,
              [](int rc, const String_vector* kids, const ::Stat* stat,
                 const void* data) {
                std::string names;
                for (int i = 0; kids != nullptr && i < kids->count; ++i) {
                  absl::StrAppend(&names, kids->data[i]);
                }
                LogOf(data)->Add(absl::StrCat("children ", rc, " ", names,
                                              " cv", stat ? stat->cversion : -1));
              },
              &log) == ZOK);
  REQUIRE(zoo_adelete(
              zh, "/async", -1,
              [](int rc, const void* data) {
                LogOf(data)->Add(absl::StrCat("delete ", rc));
              },
              &log) == ZOK);
  REQUIRE(zoo_aexists(
              zh, "/nope", 0,
              [](int rc, const ::Stat*, const void* data) {
                LogOf(data)->Add(absl::StrCat("exists ", rc));
              },
              &log) == ZOK);
  REQUIRE(wait(9));
  const std::vector<std::string> told = log.Take();
  CHECK(told == std::vector<std::string>{
                    "create 0 /async",
                    "get 0 v v0",
                    "watch changed /async",
                    "set 0 v1",
                    "multi 0",
                    "sync 0 /async",
                    "children 0 kid0000000000 cv1",
                    absl::StrCat("delete ", ZNOTEMPTY),
                    absl::StrCat("exists ", ZNONODE),
                });
  CHECK(std::string(created) == "/async/kid0000000000");
  CHECK(results[0].err == ZOK);
  CHECK(results[1].err == ZOK);
  zookeeper_close(zh);
}

}  // namespace
}  // namespace synod
