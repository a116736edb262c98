// ZooKeeper's four-letter words (zkserver/four_letter_words.h): the
// whitelist, each answer's format from a report, and a Coordinator's
// ZooKeeper port answering them over a socket (with its connection limit
// and its refusal of bad options). The formats are checked against a real
// ZooKeeper's answers in zk_protocol_process_test.cc.

#include "zkserver/four_letter_words.h"

#include <catch2/catch.hpp>

#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "synod/synod.h"
#include "test_util.h"
#include "util/errors.h"
#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"
#include "zkwire/zk_records.h"
#include "zkwire/zk_requests.h"
#include "zkwire/zk_responses.h"

namespace synod::zkserver {
namespace {

using testing::Converse;
using testing::TempDir;
using testing::TestOptions;
using testing::WaitFor;

ServerReport StandaloneReport() {
  ServerReport r;
  r.health.role = "leader";
  r.health.peer_id = 1;
  r.health.last_zxid = 0x100000007;
  r.health.znode_count = 9;
  r.health.ephemeral_count = 2;
  r.health.watch_count = 5;
  r.health.watched_paths = 3;
  r.health.watching_sessions = 2;
  r.health.session_count = 4;
  r.health.data_bytes = 120;
  r.client_address = "127.0.0.1:2181";
  r.data_dir = "/var/lib/synod";
  r.tick_ms = 100;
  r.max_connections = 2048;
  r.min_session_timeout_ms = 2000;
  r.max_session_timeout_ms = 600000;
  r.uptime_ms = 5000;
  r.packets_received = 11;
  r.packets_sent = 10;
  ConnectionReport c;
  c.remote = "127.0.0.1:40000";
  c.session = 0x10000000a;
  c.timeout_ms = 30000;
  c.queued = 1;
  c.received = 7;
  c.sent = 6;
  c.established_ms = 1700000000000;
  c.last_op = "GETD";
  c.last_cxid = 5;
  c.last_zxid = 0x100000007;
  c.last_response_ms = 1700000000500;
  r.connections.push_back(c);
  return r;
}

WordWhitelist All() { return *WordWhitelist::Parse("*"); }

TEST_CASE("Four-letter words: the whitelist", "[zkserver][4lw]") {
  WordWhitelist def;
  CHECK(def.Allows(Word::kSrvr));
  CHECK_FALSE(def.Allows(Word::kRuok));
  CHECK_FALSE(def.Allows(Word::kMntr));

  auto some = WordWhitelist::Parse(" ruok , mntr,,");
  REQUIRE(some.ok());
  CHECK(some->Allows(Word::kRuok));
  CHECK(some->Allows(Word::kMntr));
  CHECK(some->Allows(Word::kSrvr));  // always
  CHECK_FALSE(some->Allows(Word::kCons));

  auto all = WordWhitelist::Parse("*");
  REQUIRE(all.ok());
  for (int i = 0; i < kWordCount; ++i) CHECK(all->Allows(static_cast<Word>(i)));

  // Words ZooKeeper knows but this server does not serve, and nonsense.
  for (const char* bad : {"dump", "envi", "ruok,stmk", "RUOK", "ruokk"}) {
    INFO(bad);
    auto parsed = WordWhitelist::Parse(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("Four-letter words: which first bytes are words",
          "[zkserver][4lw]") {
  for (const char* w : {"ruok", "srvr", "stat", "mntr", "conf", "cons", "wchs",
                        "isro", "dump", "envi", "stmk", "hash"}) {
    INFO(w);
    REQUIRE(KnownWord(w).has_value());
    CHECK(*KnownWord(w) == w);
  }
  CHECK_FALSE(KnownWord("RUOK").has_value());
  CHECK_FALSE(KnownWord(std::string("\0\0\0\x2c", 4)).has_value());
  CHECK(ServedWord("wchs") == Word::kWchs);
  CHECK_FALSE(ServedWord("dump").has_value());
}

TEST_CASE("Four-letter words: the answers' formats", "[zkserver][4lw]") {
  const ServerReport r = StandaloneReport();
  CHECK(AnswerWord("ruok", All(), r) == "imok");
  CHECK(AnswerWord("isro", All(), r) == "rw");
  CHECK(AnswerWord("wchs", All(), r) ==
        "2 connections watching 3 paths\nTotal watches:5\n");
  CHECK(AnswerWord("srvr", All(), r) ==
        absl::StrCat("Zookeeper version: 3.8.0-synod-", SYNOD_TEST_VERSION,
                     "\nLatency min/avg/max: 0/0.0/0\nReceived: 11\nSent: 10\n"
                     "Connections: 1\nOutstanding: 1\nZxid: 0x100000007\n"
                     "Mode: standalone\nNode count: 9\n"));
  const std::string stat = AnswerWord("stat", All(), r);
  CHECK(absl::StrContains(
      stat, "Clients:\n /127.0.0.1:40000[1](queued=1,recved=7,sent=6)\n\n"
            "Latency"));
  CHECK(absl::StrContains(stat, "Mode: standalone\n"));
  CHECK(AnswerWord("cons", All(), r) ==
        " /127.0.0.1:40000[1](queued=1,recved=7,sent=6,sid=0x10000000a,"
        "lop=GETD,est=1700000000000,to=30000,lcxid=0x5,lzxid=0x100000007,"
        "lresp=1700000000500)\n\n");
  const std::string conf = AnswerWord("conf", All(), r);
  CHECK(absl::StrContains(conf, "clientPort=2181\n"));
  CHECK(absl::StrContains(conf, "dataDir=/var/lib/synod\n"));
  CHECK(absl::StrContains(conf, "tickTime=100\n"));
  CHECK(absl::StrContains(conf, "maxSessionTimeout=600000\n"));
  CHECK(absl::StrContains(conf, "serverId=1\n"));
  const std::string mntr = AnswerWord("mntr", All(), r);
  for (const char* line :
       {"zk_server_state\tstandalone\n", "zk_znode_count\t9\n",
        "zk_ephemerals_count\t2\n", "zk_watch_count\t5\n",
        "zk_approximate_data_size\t120\n", "zk_num_alive_connections\t1\n",
        "zk_global_sessions\t4\n", "zk_packets_received\t11\n",
        "zk_outstanding_requests\t1\n", "zk_uptime\t5000\n"}) {
    INFO(line);
    CHECK(absl::StrContains(mntr, line));
  }
  CHECK_FALSE(absl::StrContains(mntr, "zk_synced_followers"));
  // Every line is a key, a tab and a value.
  for (absl::string_view line : absl::StrSplit(mntr, '\n', absl::SkipEmpty())) {
    INFO(std::string(line));
    CHECK(std::regex_match(std::string(line), std::regex("zk_[a-z_]+\t\\S.*")));
  }
}

TEST_CASE("Four-letter words: a leader's mntr and conf tell its ensemble, "
          "and a peer without a leader says it does not serve",
          "[zkserver][4lw]") {
  ServerReport r = StandaloneReport();
  EnsembleMember self{1, "10.0.0.1:7000", "leading", true, 0};
  EnsembleMember serving{2, "10.0.0.2:7000", "serving", true, 0};
  EnsembleMember behind{3, "10.0.0.3:7000", "catching-up", true, 40};
  EnsembleMember observer{4, "10.0.0.4:7000", "serving", false, 0};
  r.health.voters = {self, serving, behind};
  r.health.observers = {observer};
  r.health.config_version = 0x200000003;
  const std::string mntr = AnswerWord("mntr", All(), r);
  CHECK(absl::StrContains(mntr, "zk_server_state\tleader\n"));
  CHECK(absl::StrContains(mntr, "zk_peer_state\tleading - broadcast\n"));
  CHECK(absl::StrContains(mntr, "zk_learners\t3\n"));
  CHECK(absl::StrContains(mntr, "zk_synced_followers\t1\n"));
  CHECK(absl::StrContains(mntr, "zk_synced_observers\t1\n"));
  CHECK(absl::StrContains(AnswerWord("srvr", All(), r), "Mode: leader\n"));
  const std::string conf = AnswerWord("conf", All(), r);
  CHECK(absl::StrContains(conf, "server.2=10.0.0.2:7000:participant\n"));
  CHECK(absl::StrContains(conf, "server.4=10.0.0.4:7000:observer\n"));
  CHECK(absl::StrContains(conf, "version=200000003\n"));

  r.health.role = "follower";
  CHECK(absl::StrContains(AnswerWord("mntr", All(), r),
                          "zk_peer_state\tfollowing - broadcast\n"));
  CHECK_FALSE(absl::StrContains(AnswerWord("mntr", All(), r), "zk_learners"));

  r.health.role = "looking";
  const std::string not_serving =
      "This ZooKeeper instance is not currently serving requests\n";
  for (const char* w : {"srvr", "stat", "mntr", "conf", "cons", "wchs"}) {
    INFO(w);
    CHECK(AnswerWord(w, All(), r) == not_serving);
  }
  CHECK(AnswerWord("ruok", All(), r) == "imok");
  CHECK(AnswerWord("isro", All(), r) == "null");
}

TEST_CASE("Four-letter words: one not allowed or not served gets "
          "ZooKeeper's whitelist answer",
          "[zkserver][4lw]") {
  const ServerReport r = StandaloneReport();
  const WordWhitelist def;
  CHECK(AnswerWord("ruok", def, r) ==
        "ruok is not executed because it is not in the whitelist.\n");
  CHECK(AnswerWord("dump", All(), r) ==
        "dump is not executed because it is not in the whitelist.\n");
  CHECK(absl::StartsWith(AnswerWord("srvr", def, r), "Zookeeper version: "));
}

TEST_CASE("Four-letter words: the Latency line comes from the write "
          "latency histogram",
          "[zkserver][4lw]") {
  ServerReport r = StandaloneReport();
  LatencyHistogram& h = r.health.write_latency;
  h.upper_bounds_seconds = {0.001, 0.004, 0.016, std::numeric_limits<double>::infinity()};
  h.cumulative_counts = {0, 2, 3, 3};
  h.count = 3;
  h.sum_seconds = 0.0125;  // 2.5 + 2.5 + 7.5 ms
  // min: the lower bound of the first bucket used; max: the upper bound of
  // the last; avg exact.
  CHECK(absl::StrContains(AnswerWord("srvr", All(), r),
                          "Latency min/avg/max: 1/4.1667/16\n"));
}

// ---- a Coordinator's ZooKeeper port ------------------------------------------

Options ZkOptions(const std::string& dir, const std::string& words) {
  Options o = TestOptions(dir);
  o.zk_listen = "127.0.0.1:0";
  o.zk_4lw_whitelist = words;
  return o;
}

// A ConnectRequest frame for a new session.
std::string ConnectFrame() {
  std::string out;
  const size_t start = zkwire::BeginFrame(&out);
  zkwire::ConnectRequest req;
  req.timeout_ms = 30000;
  req.password.assign(16, '\0');
  zkwire::EncodeConnectRequest(req, &out);
  zkwire::EndFrame(start, &out);
  return out;
}

TEST_CASE("Four-letter words: a Coordinator's ZooKeeper port answers them",
          "[zkserver][4lw]") {
  TempDir dir;
  auto c = testing::MustStart(ZkOptions(dir.path(), "*"));
  const std::string zk = c->GetHealth().zk_listen;
  REQUIRE(!zk.empty());
  CHECK(Converse(zk, "ruok") == "imok");
  CHECK(Converse(zk, "isro") == "rw");
  REQUIRE(c->Create("/a", "x").ok());
  const std::string srvr = Converse(zk, "srvr");
  CHECK(absl::StrContains(srvr, "Mode: standalone\n"));
  CHECK(absl::StrContains(
      srvr, absl::StrCat("Node count: ", c->GetHealth().znode_count, "\n")));
  CHECK(absl::StrContains(
      srvr, absl::StrCat("Zxid: 0x",
                         absl::Hex(c->GetHealth().last_zxid), "\n")));
  const std::string conf = Converse(zk, "conf");
  CHECK(absl::StrContains(conf, absl::StrCat("dataDir=", dir.path(), "\n")));
  // A client with a session shows in cons with its session id.
  {
    const int fd = testing::ConnectTcp(zk);
    REQUIRE(fd >= 0);
    const std::string hello = ConnectFrame();
    REQUIRE(write(fd, hello.data(), hello.size()) ==
            static_cast<ssize_t>(hello.size()));
    // The ConnectResponse: length, protocol version, timeout, session id.
    char buf[64];
    std::string got;
    while (got.size() < 4 + 4 + 4 + 8) {
      const ssize_t n = read(fd, buf, sizeof(buf));
      REQUIRE(n > 0);
      got.append(buf, static_cast<size_t>(n));
    }
    int64_t session = 0;
    for (int i = 0; i < 8; ++i) {
      session = (session << 8) | static_cast<uint8_t>(got[12 + i]);
    }
    REQUIRE(session != 0);
    const std::string cons = Converse(zk, "cons");
    INFO(cons);
    CHECK(absl::StrContains(cons,
                            absl::StrCat(",sid=0x", absl::Hex(session), ",lop=SESS")));
    CHECK(absl::StrContains(Converse(zk, "mntr"), "zk_num_alive_connections\t2\n"));
    // Its watch (getData /a with a watch) shows in wchs and Health.
    CHECK(Converse(zk, "wchs") ==
          "0 connections watching 0 paths\nTotal watches:0\n");
    zkwire::Request get;
    get.header.xid = 1;
    get.header.type = static_cast<int32_t>(zkwire::OpCode::kGetData);
    get.kind = zkwire::RequestKind::kRead;
    get.read = {zkwire::OpCode::kGetData, "/a", true};
    std::string body;
    zkwire::EncodeRequest(get, &body);
    std::string frame;
    zkwire::AppendFrame(body, &frame);
    REQUIRE(write(fd, frame.data(), frame.size()) ==
            static_cast<ssize_t>(frame.size()));
    REQUIRE(WaitFor([&] { return c->GetHealth().watching_sessions == 1; },
                    absl::Seconds(10), absl::Milliseconds(5)));
    CHECK(c->GetHealth().watched_paths == 1);
    CHECK(Converse(zk, "wchs") ==
          "1 connections watching 1 paths\nTotal watches:1\n");
    close(fd);
  }
}

TEST_CASE("Four-letter words: by default only srvr runs, as in ZooKeeper",
          "[zkserver][4lw]") {
  TempDir dir;
  auto c = testing::MustStart(ZkOptions(dir.path(), "srvr"));
  const std::string zk = c->GetHealth().zk_listen;
  CHECK(Converse(zk, "ruok") ==
        "ruok is not executed because it is not in the whitelist.\n");
  CHECK(Converse(zk, "mntr") ==
        "mntr is not executed because it is not in the whitelist.\n");
  CHECK(absl::StartsWith(Converse(zk, "srvr"), "Zookeeper version: "));
}

TEST_CASE("The ZooKeeper port refuses bad options, and a port in use",
          "[zkserver][4lw]") {
  TempDir dir;
  for (const char* bad : {"nowhere", "127.0.0.1:99999", "127.0.0.1:-1"}) {
    INFO(bad);
    Options o = TestOptions(dir.path());
    o.zk_listen = bad;
    auto started = Coordinator::Start(o);
    CHECK(ErrorOf(started.status()) == Error::kBadArguments);
    CHECK(absl::StrContains(started.status().message(), "zk_listen"));
  }
  {
    Options o = ZkOptions(dir.path(), "ruok,dump");
    auto started = Coordinator::Start(o);
    CHECK(ErrorOf(started.status()) == Error::kBadArguments);
    CHECK(absl::StrContains(started.status().message(), "zk_4lw_whitelist"));
  }
  auto a = testing::MustStart(ZkOptions(dir.Sub("a"), "srvr"));
  Options second = ZkOptions(dir.Sub("b"), "srvr");
  second.zk_listen = a->GetHealth().zk_listen;
  auto b = Coordinator::Start(second);
  CHECK_FALSE(b.ok());
  CHECK(absl::StrContains(b.status().message(), second.zk_listen));
}

TEST_CASE("The ZooKeeper port closes connections past max_connections at "
          "once, and takes new ones when others went",
          "[zkserver]") {
  TempDir dir;
  Options o = ZkOptions(dir.path(), "*");
  o.max_connections = 16;
  auto c = testing::MustStart(o);
  const std::string zk = c->GetHealth().zk_listen;
  auto open_one = [&] {
    const int fd = testing::ConnectTcp(zk);
    REQUIRE(fd >= 0);
    return fd;
  };
  std::vector<int> held;
  for (int i = 0; i < 16; ++i) held.push_back(open_one());
  // Every one of the 16 is taken (mntr itself is a 17th, refused: so ask
  // once they are all in, by waiting for the 17th to be closed).
  const int extra = open_one();
  timeval tv{5, 0};
  setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char byte;
  CHECK(read(extra, &byte, 1) == 0);  // closed by the server, not timed out
  close(extra);
  CHECK(Converse(zk, "ruok") == "");
  close(held.back());
  held.pop_back();
  CHECK(WaitFor([&] { return Converse(zk, "ruok") == "imok"; },
                absl::Seconds(10), absl::Milliseconds(20)));
  for (int fd : held) close(fd);
}

}  // namespace
}  // namespace synod::zkserver
