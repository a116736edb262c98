// synod-peer's and synod-cli's parsing, and synod-cli's client driven
// against a real one-peer Coordinator serving the Client service.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "test_util.h"
#include "util/cli_commands.h"
#include "tools/cli_client.h"
#include "tools/flags.h"
#include "transport/client.grpc.pb.h"

namespace synod {
namespace {

using tools::CliClient;
using tools::CliCommand;
using tools::ParseCommand;

using synod::testing::FreePort;  // test_util.h

using synod::testing::ListeningPeer;

using synod::testing::Cmd;
using synod::testing::RunCmd;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- Durations, flags, addresses --------------------------------------------

TEST_CASE("durations: unit forms are accepted", "[tools]") {
  CHECK(*tools::ParseDurationFlag("500ms") == absl::Milliseconds(500));
  CHECK(*tools::ParseDurationFlag("4s") == absl::Seconds(4));
  CHECK(*tools::ParseDurationFlag("1m") == absl::Minutes(1));
  CHECK(*tools::ParseDurationFlag("1.5s") == absl::Milliseconds(1500));
  CHECK(*tools::ParseDurationFlag("1m30s") == absl::Seconds(90));
  CHECK(*tools::ParseDurationFlag(" 2h ") == absl::Hours(2));
}

TEST_CASE("durations: garbage, bare numbers and non-positive are refused",
          "[tools]") {
  for (const char* bad : {"", "abc", "5", "4x", "s", "-1s", "0s", "0", "inf",
                          "1.5", "4 s"}) {
    INFO(bad);
    absl::StatusOr<absl::Duration> d = tools::ParseDurationFlag(bad);
    REQUIRE(!d.ok());
    CHECK(d.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Contains(std::string(d.status().message()), "bad duration"));
  }
}

TEST_CASE("log levels and addresses", "[tools]") {
  CHECK(*tools::ParseLogLevel("debug") == LogLevel::kDebug);
  CHECK(*tools::ParseLogLevel("INFO") == LogLevel::kInfo);
  CHECK(*tools::ParseLogLevel("warning") == LogLevel::kWarning);
  CHECK(*tools::ParseLogLevel("error") == LogLevel::kError);
  CHECK(!tools::ParseLogLevel("loud").ok());

  CHECK(tools::ParseAddress("127.0.0.1:7001").ok());
  CHECK(tools::ParseAddress("localhost:1").ok());
  CHECK(tools::ParseAddress("[::1]:65535").ok());
  for (const char* bad : {"", "host", ":7001", "host:", "host:0",
                          "host:65536", "host:x1", "::1:7001", "[::1:7001"}) {
    INFO(bad);
    CHECK(!tools::ParseAddress(bad).ok());
  }
  auto list = tools::ParseAddressList("a:1, b:2,c:3");
  REQUIRE(list.ok());
  CHECK(*list == std::vector<std::string>{"a:1", "b:2", "c:3"});
  CHECK(!tools::ParseAddressList("a:1,,b:2").ok());
  CHECK(!tools::ParseAddressList("a:1,b").ok());
}

TEST_CASE("ParseFlags: both value forms, switches, positional", "[tools]") {
  tools::FlagSpec spec;
  spec.value_flags = {"peer", "timeout"};
  spec.bool_flags = {"help"};
  auto f = tools::ParseFlags({"--peer", "h:1", "x", "--timeout=3s", "--help"},
                             spec);
  REQUIRE(f.ok());
  CHECK(f->values.at("peer") == "h:1");
  CHECK(f->values.at("timeout") == "3s");
  CHECK(f->switches == std::vector<std::string>{"help"});
  CHECK(f->positional == std::vector<std::string>{"x"});

  spec.stop_at_positional = true;
  f = tools::ParseFlags({"--peer", "h:1", "create", "-e", "/a", "--peer"},
                        spec);
  REQUIRE(f.ok());
  CHECK(f->positional ==
        std::vector<std::string>{"create", "-e", "/a", "--peer"});

  CHECK(!tools::ParseFlags({"--bogus"}, spec).ok());
  CHECK(!tools::ParseFlags({"--peer"}, spec).ok());          // no value
  CHECK(!tools::ParseFlags({"--help=1"}, spec).ok());        // a switch
  CHECK(!tools::ParseFlags({"--peer=a:1", "--peer=b:2"}, spec).ok());
  f = tools::ParseFlags({"--", "--peer"}, spec);
  REQUIRE(f.ok());
  CHECK(f->positional == std::vector<std::string>{"--peer"});
}

TEST_CASE("synod-peer flags: a full command line", "[tools]") {
  auto f = tools::ParsePeerFlags(
      {"--listen", "127.0.0.1:7001", "--data-dir", "/tmp/d", "--seeds",
       "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003", "--session-timeout",
       "4s", "--log-level", "debug", "--tick=50ms", "--voters", "5",
       "--dead-voter-timeout", "2m"});
  REQUIRE(f.ok());
  CHECK(*f->voters == 5);
  CHECK(*f->dead_voter_timeout == absl::Minutes(2));
  CHECK(f->listen == "127.0.0.1:7001");
  CHECK(f->data_dir == "/tmp/d");
  CHECK(f->seeds.size() == 3);
  CHECK(*f->session_timeout == absl::Seconds(4));
  CHECK(*f->tick == absl::Milliseconds(50));
  CHECK(f->log_level == LogLevel::kDebug);
  Options o = tools::PeerOptions(*f);
  CHECK(o.listen == "127.0.0.1:7001");
  CHECK(o.seeds == f->seeds);
  CHECK(o.session_timeout == absl::Seconds(4));
  CHECK(o.tick == absl::Milliseconds(50));
  CHECK(o.voters == 5);
  CHECK(o.dead_voter_timeout == absl::Minutes(2));
}

TEST_CASE("synod-peer flags: defaults", "[tools]") {
  auto f = tools::ParsePeerFlags({"--listen=h:1", "--data-dir=/d"});
  REQUIRE(f.ok());
  CHECK(f->seeds == std::vector<std::string>{"h:1"});  // alone
  CHECK(f->log_level == LogLevel::kInfo);
  CHECK(!f->session_timeout.has_value());
  CHECK(!f->tick.has_value());
  CHECK(tools::PeerOptions(*f).session_timeout == Options().session_timeout);
  CHECK(tools::PeerOptions(*f).voters == 3);
  CHECK(tools::PeerOptions(*f).dead_voter_timeout == absl::Seconds(30));
  CHECK(tools::PeerOptions(*f).zk_listen.empty());
  CHECK(tools::PeerOptions(*f).zk_4lw_whitelist == "srvr");
}

TEST_CASE("synod-peer flags: the ZooKeeper port and its four-letter words",
          "[tools]") {
  auto f = tools::ParsePeerFlags({"--listen=h:1", "--data-dir=/d",
                                  "--zk-listen", "127.0.0.1:2181",
                                  "--zk-4lw-whitelist", "ruok, mntr"});
  REQUIRE(f.ok());
  Options o = tools::PeerOptions(*f);
  CHECK(o.zk_listen == "127.0.0.1:2181");
  CHECK(o.zk_4lw_whitelist == "ruok, mntr");
  f = tools::ParsePeerFlags(
      {"--listen=h:1", "--data-dir=/d", "--zk-4lw-whitelist=*"});
  REQUIRE(f.ok());
  CHECK(tools::PeerOptions(*f).zk_4lw_whitelist == "*");
}

TEST_CASE("synod-peer flags: errors", "[tools]") {
  const std::vector<std::vector<std::string>> bad = {
      {"--data-dir", "/d"},                                     // no listen
      {"--listen", "h:1"},                                      // no data dir
      {"--listen", "h:1", "--data-dir", "/d", "--bogus", "1"},  // unknown
      {"--listen", "h:1", "--data-dir", "/d", "extra"},         // positional
      {"--listen", "h", "--data-dir", "/d"},                    // no port
      {"--listen", "h:1", "--data-dir", "/d", "--seeds", "a:1,,b:2"},
      {"--listen", "h:1", "--data-dir", "/d", "--session-timeout", "4"},
      {"--listen", "h:1", "--data-dir", "/d", "--session-timeout", "soon"},
      {"--listen", "h:1", "--data-dir", "/d", "--tick", "-1s"},
      {"--listen", "h:1", "--data-dir", "/d", "--log-level", "loud"},
      {"--listen", "h:1", "--data-dir", "/d", "--voters", "4"},
      {"--listen", "h:1", "--data-dir", "/d", "--voters", "x"},
      {"--listen", "h:1", "--data-dir", "/d", "--dead-voter-timeout", "30"},
      {"--listen", "h:1", "--data-dir"},  // no value
      {"--listen", "h:1", "--data-dir", "/d", "--zk-listen", "nowhere"},
      {"--listen", "h:1", "--data-dir", "/d", "--zk-4lw-whitelist", "dump"},
      {"--listen", "h:1", "--data-dir", "/d", "--zk-4lw-whitelist",
       "ruok,bogus"},
  };
  for (const auto& args : bad) {
    INFO(args.back());
    auto f = tools::ParsePeerFlags(args);
    REQUIRE(!f.ok());
    CHECK(f.status().code() == absl::StatusCode::kInvalidArgument);
  }
  auto missing = tools::ParsePeerFlags({"--data-dir", "/d"});
  CHECK(Contains(std::string(missing.status().message()), "--listen"));
  auto dur = tools::ParsePeerFlags(
      {"--listen", "h:1", "--data-dir", "/d", "--session-timeout", "soon"});
  CHECK(Contains(std::string(dur.status().message()), "--session-timeout"));
  auto word = tools::ParsePeerFlags(
      {"--listen", "h:1", "--data-dir", "/d", "--zk-4lw-whitelist", "dump"});
  CHECK(Contains(std::string(word.status().message()), "--zk-4lw-whitelist"));
  CHECK(Contains(std::string(word.status().message()), "'dump'"));
  // --help needs nothing else.
  auto help = tools::ParsePeerFlags({"--help"});
  REQUIRE(help.ok());
  CHECK(help->help);
}

// ---- synod-cli command parsing ----------------------------------------------

TEST_CASE("cli commands: good", "[tools]") {
  CliCommand c = Cmd({"create", "-e", "-s", "/a/b", "data"});
  CHECK(c.kind == CliCommand::Kind::kCreate);
  CHECK(c.ephemeral);
  CHECK(c.sequential);
  CHECK(c.path == "/a/b");
  CHECK(c.data == "data");

  c = Cmd({"create", "/a"});
  CHECK(c.kind == CliCommand::Kind::kCreate);
  CHECK(!c.ephemeral);
  CHECK(!c.sequential);
  CHECK(c.data.empty());

  c = Cmd({"create", "/a", "x", "-e"});  // options anywhere
  CHECK(c.ephemeral);
  CHECK(c.data == "x");

  c = Cmd({"set", "/a", "v", "-v", "3"});
  CHECK(c.kind == CliCommand::Kind::kSet);
  CHECK(c.version == 3);
  CHECK(c.data == "v");
  CHECK(Cmd({"set", "/a", "v"}).version == -1);

  c = Cmd({"delete", "-v", "2", "/a"});
  CHECK(c.kind == CliCommand::Kind::kDelete);
  CHECK(c.version == 2);
  CHECK(c.path == "/a");

  CHECK(Cmd({"set", "/a", "--", "-x"}).data == "-x");
  CHECK(Cmd({"set", "/a", "-5"}).data == "-5");  // a number is no option
  CHECK(Cmd({"get", "/a"}).kind == CliCommand::Kind::kGet);
  CHECK(Cmd({"ls", "/"}).kind == CliCommand::Kind::kLs);
  CHECK(Cmd({"stat", "/a"}).kind == CliCommand::Kind::kStat);
  CHECK(Cmd({"watch", "/a"}).kind == CliCommand::Kind::kWatch);
  CHECK(Cmd({"sync", "/"}).kind == CliCommand::Kind::kSync);
  CHECK(Cmd({"status"}).kind == CliCommand::Kind::kStatus);
  CHECK(Cmd({"quit"}).kind == CliCommand::Kind::kQuit);
  CHECK(Cmd({"exit"}).kind == CliCommand::Kind::kQuit);
  c = Cmd({"addauth", "digest", "u:p"});
  CHECK(c.kind == CliCommand::Kind::kAddAuth);
  CHECK(c.scheme == "digest");
  CHECK(c.credentials == "u:p");
  CHECK(!tools::NeedsSession(Cmd({"status"})));
  CHECK(tools::NeedsSession(Cmd({"get", "/"})));
}

TEST_CASE("cli commands: bad options and missing arguments", "[tools]") {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate", "/a"},
      {"create"},                       // no path
      {"create", "-x", "/a"},           // unknown option
      {"create", "-v", "1", "/a"},      // not create's option
      {"create", "/a", "d", "extra"},   // too many
      {"get"},
      {"get", "/a", "/b"},
      {"get", "-e", "/a"},
      {"set", "/a"},                    // no data
      {"set", "/a", "d", "-v"},         // -v without version
      {"set", "/a", "d", "-v", "abc"},  // bad version
      {"set", "/a", "d", "-v", "-2"},
      {"delete"},
      {"ls"},
      {"stat"},
      {"watch"},
      {"sync"},
      {"status", "extra"},
      {"addauth", "digest"},
      {"members", "extra"},
      {"reconfig"},
      {"reconfig", "--add"},
      {"reconfig", "--add", ""},
      {"reconfig", "--remove", "1", "--remove", "2"},
      {"reconfig", "--bogus", "x"},
      {"reconfig", "a:1"},
  };
  for (const auto& words : bad) {
    INFO((words.empty() ? std::string("(none)") : words[0]));
    auto c = ParseCommand(words);
    REQUIRE(!c.ok());
    CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
  }
  auto c = ParseCommand({"create", "-x", "/a"});
  CHECK(Contains(std::string(c.status().message()), "unknown option -x"));
  c = ParseCommand({"set", "/a"});
  CHECK(Contains(std::string(c.status().message()), "usage: set"));
}

TEST_CASE("cli reconfig takes --add and --remove, each once", "[tools]") {
  CliCommand c = Cmd({"reconfig", "--remove", "7", "--add", "h:1"});
  CHECK(c.kind == CliCommand::Kind::kReconfig);
  CHECK(c.add == "h:1");
  CHECK(c.remove == "7");
  c = Cmd({"reconfig", "--remove", "h:2"});
  CHECK(c.add.empty());
  CHECK(c.remove == "h:2");
  CHECK(Cmd({"members"}).kind == CliCommand::Kind::kMembers);
}

TEST_CASE("cli quota commands take zkCli's flags", "[tools][quota]") {
  CliCommand c = Cmd({"setquota", "-n", "5", "-B", "100", "/a"});
  CHECK(c.kind == CliCommand::Kind::kSetQuota);
  CHECK(c.path == "/a");
  CHECK(c.quota.count == 5);
  CHECK(c.quota.bytes == -1);
  CHECK(c.quota.count_hard == -1);
  CHECK(c.quota.bytes_hard == 100);
  c = Cmd({"setquota", "-N", "2", "-b", "0", "/a"});
  CHECK(c.quota.count_hard == 2);
  CHECK(c.quota.bytes == 0);
  c = Cmd({"delquota", "-n", "-B", "/a"});
  CHECK(c.kind == CliCommand::Kind::kDelQuota);
  CHECK(c.quota_fields == (quota_fields::kCount | quota_fields::kBytesHard));
  CHECK(Cmd({"delquota", "/a"}).quota_fields == 0);
  CHECK(Cmd({"listquota", "/a"}).kind == CliCommand::Kind::kListQuota);
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"setquota", "/a"},
                                             {"setquota", "-n", "/a"},
                                             {"setquota", "-n", "x", "/a"},
                                             {"setquota", "-x", "1", "/a"},
                                             {"setquota", "-n", "1"},
                                             {"listquota"},
                                             {"listquota", "-n", "/a"},
                                             {"delquota", "-v", "/a"}}) {
    std::string line;
    for (const std::string& w : bad) line += w + " ";
    INFO(line);
    CHECK(!ParseCommand(bad).ok());
  }
}

TEST_CASE("cli: setquota, listquota, delquota", "[tools][quota]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  REQUIRE(RunCmd(&client, &out, {"create", "/q", "abc"}).ok());
  REQUIRE(RunCmd(&client, &out, {"setquota", "-N", "2", "/q"}).ok());
  REQUIRE(RunCmd(&client, &out, {"setquota", "-b", "10", "/q"}).ok());
  auto listed = RunCmd(&client, &out, {"listquota", "/q"});
  REQUIRE(listed.ok());
  CHECK(*listed ==
        "Output quota for /q count=-1,bytes=10=;byteHardLimit=-1;"
        "countHardLimit=2\n"
        "Output stat for /q count=1,bytes=3\n");
  REQUIRE(RunCmd(&client, &out, {"create", "/q/a"}).ok());
  auto over = RunCmd(&client, &out, {"create", "/q/b"});
  REQUIRE(!over.ok());
  CHECK(ErrorOf(over.status()) == Error::kQuotaExceeded);
  CHECK(Contains(std::string(over.status().message()), "hard limit 2"));
  auto bad = RunCmd(&client, &out, {"setquota", "-n", "0", "/q"});
  CHECK(ErrorOf(bad.status()) == Error::kBadArguments);
  REQUIRE(RunCmd(&client, &out, {"delquota", "-N", "/q"}).ok());
  REQUIRE(RunCmd(&client, &out, {"create", "/q/b"}).ok());
  REQUIRE(RunCmd(&client, &out, {"delquota", "/q"}).ok());
  auto gone = RunCmd(&client, &out, {"listquota", "/q"});
  CHECK(ErrorOf(gone.status()) == Error::kNoNode);
}

TEST_CASE("cli shell lines split into words", "[tools]") {
  using Words = std::vector<std::string>;
  CHECK(*tools::SplitCommandLine("  create  /a   b ") ==
        Words{"create", "/a", "b"});
  CHECK(*tools::SplitCommandLine("set /a \"hello world\"") ==
        Words{"set", "/a", "hello world"});
  CHECK(*tools::SplitCommandLine("set /a 'it''s' x") ==
        Words{"set", "/a", "its", "x"});
  CHECK(*tools::SplitCommandLine(R"(set /a "say \"hi\"")") ==
        Words{"set", "/a", "say \"hi\""});
  CHECK(*tools::SplitCommandLine(R"(set /a a\ b)") ==
        Words{"set", "/a", "a b"});
  CHECK(*tools::SplitCommandLine("set /a ''") == Words{"set", "/a", ""});
  CHECK(tools::SplitCommandLine("").value().empty());
  CHECK(tools::SplitCommandLine("   # comment").value().empty());
  CHECK(!tools::SplitCommandLine("set /a \"open").ok());
  CHECK(!tools::SplitCommandLine("set /a 'open").ok());
}

// ---- End to end: CliClient against a listening one-peer Coordinator --------

TEST_CASE("cli: create, get, set, ls, stat, delete, sync", "[tools]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);

  auto r = RunCmd(&client, &out, {"create", "/a", "hello"});
  REQUIRE(r.ok());
  CHECK(*r == "Created /a\n");
  CHECK(client.session_id() != 0);

  r = RunCmd(&client, &out, {"get", "/a"});
  REQUIRE(r.ok());
  CHECK(*r == "hello\n");
  r = RunCmd(&client, &out, {"get", "-s", "/a"});
  REQUIRE(r.ok());
  CHECK(r->rfind("hello\ncZxid = 0x", 0) == 0);  // the data first
  CHECK(Contains(*r, "\nmZxid = 0x"));
  CHECK(Contains(*r, "\ndataVersion = 0\n"));
  CHECK(Contains(*r, "\ndataLength = 5\n"));

  r = RunCmd(&client, &out, {"set", "/a", "world", "-v", "0"});
  REQUIRE(r.ok());
  CHECK(*r == "dataVersion = 1\n");  // set always tells the new version
  r = RunCmd(&client, &out, {"get", "-s", "/a"});
  REQUIRE(r.ok());
  CHECK(r->rfind("world\n", 0) == 0);
  CHECK(Contains(*r, "\ndataVersion = 1\n"));
  // The write went through the peer's Coordinator.
  CHECK(peer.coordinator->Get("/a")->data == "world");

  r = RunCmd(&client, &out, {"set", "/a", "x", "-v", "0"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kBadVersion);

  REQUIRE(RunCmd(&client, &out, {"create", "/a/b"}).ok());
  r = RunCmd(&client, &out, {"create", "-s", "/a/s-", "q"});
  REQUIRE(r.ok());
  CHECK(r->rfind("Created /a/s-", 0) == 0);
  const std::string seq = r->substr(11, r->size() - 12);  // "s-000..."
  CHECK(seq.size() == 12);

  r = RunCmd(&client, &out, {"ls", "/a"});
  REQUIRE(r.ok());
  CHECK(*r == "[b, " + seq + "]\n");
  r = RunCmd(&client, &out, {"stat", "/a"});
  REQUIRE(r.ok());
  CHECK(Contains(*r, "\nnumChildren = 2\n"));
  CHECK(r->rfind("cZxid = 0x", 0) == 0);

  r = RunCmd(&client, &out, {"create", "/a/b"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kNodeExists);
  r = RunCmd(&client, &out, {"delete", "/a"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kNotEmpty);

  REQUIRE(RunCmd(&client, &out, {"delete", "/a/b"}).ok());
  REQUIRE(RunCmd(&client, &out, {"delete", "/a/" + seq, "-v", "0"}).ok());
  r = RunCmd(&client, &out, {"ls", "/a"});
  REQUIRE(r.ok());
  CHECK(*r == "[]\n");
  r = RunCmd(&client, &out, {"sync", "/a"});
  REQUIRE(r.ok());
  CHECK(*r == "Sync is OK\n");
  r = RunCmd(&client, &out, {"sync", "no-slash"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kBadArguments);
  CHECK(!peer.coordinator->Exists("/a/b")->has_value());
}

TEST_CASE("cli: errors carry the peer's synod::Error", "[tools]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  auto r = RunCmd(&client, &out, {"get", "/missing"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kNoNode);
  CHECK(ErrorName(ErrorOf(r.status())) == "NoNode");
  CHECK(r.status().message() == "Node does not exist: /missing");
  r = RunCmd(&client, &out, {"stat", "/missing"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kNoNode);
  r = RunCmd(&client, &out, {"create", "/x/y"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kNoNode);
  r = RunCmd(&client, &out, {"get", "bad"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kBadArguments);
  // The session survives errors.
  REQUIRE(RunCmd(&client, &out, {"create", "/ok"}).ok());
}

TEST_CASE("cli: auth identities apply to the session", "[tools]") {
  ListeningPeer peer;
  REQUIRE(peer.coordinator
              ->Create("/secret", "s", CreateMode::kPersistent,
                       CreateOptions{{Acl{perms::kAll, "digest",
                                          DigestId("alice", "pw")}}})
              .ok());
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  auto r = RunCmd(&client, &out, {"get", "/secret"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kNoAuth);
  r = RunCmd(&client, &out, {"addauth", "bogus", "x"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kAuthFailed);
  REQUIRE(RunCmd(&client, &out, {"addauth", "digest", "alice:pw"}).ok());
  r = RunCmd(&client, &out, {"get", "/secret"});
  REQUIRE(r.ok());
  CHECK(r->rfind("s\n", 0) == 0);
  REQUIRE(RunCmd(&client, &out, {"set", "/secret", "t"}).ok());
  CHECK(peer.coordinator->Get("/secret").status().ok() == false);  // NoAuth
}

TEST_CASE("cli: an ephemeral lives as long as the client's session",
          "[tools]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  REQUIRE(RunCmd(&client, &out, {"create", "-e", "/eph", "x"}).ok());
  const int64_t session = client.session_id();
  auto stat = peer.coordinator->Exists("/eph");
  REQUIRE(stat.ok());
  REQUIRE(stat->has_value());
  CHECK((*stat)->ephemeral_owner == session);
  CHECK(session != peer.coordinator->session_id());

  client.Close();  // returns once the peer closed the session
  CHECK(client.session_id() == 0);
  CHECK(!peer.coordinator->Exists("/eph")->has_value());
}

TEST_CASE("cli: watch events, in the shell and one-shot", "[tools]") {
  ListeningPeer peer;
  REQUIRE(peer.coordinator->Create("/w", "1").ok());

  SECTION("shell: printed as they arrive") {
    std::ostringstream out;
    CliClient::Options options;
    options.async_events = true;
    CliClient client(peer.address, options, &out);
    REQUIRE(client.Run(Cmd({"watch", "/w"})).ok());
    REQUIRE(peer.coordinator->Set("/w", "2").ok());
    REQUIRE(client.AwaitEvents(1, absl::Seconds(10)));
    CHECK(out.str() ==
          "WatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n");
    // One-shot: a second change brings nothing.
    REQUIRE(peer.coordinator->Set("/w", "3").ok());
    REQUIRE(client.Run(Cmd({"sync", "/"})).ok());
    CHECK(client.events_received() == 1);
  }

  SECTION("one-shot: waits for the event and prints it") {
    std::ostringstream out;
    CliClient client(peer.address, CliClient::Options(), &out);
    const int64_t watches = peer.coordinator->GetHealth().watch_count;
    absl::Status status;
    std::thread watcher([&] { status = client.Run(Cmd({"watch", "/later"})); });
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (peer.coordinator->GetHealth().watch_count == watches &&
           absl::Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(peer.coordinator->Create("/later", "").ok());
    watcher.join();
    REQUIRE(status.ok());
    CHECK(out.str() ==
          "WatchedEvent state:SyncConnected type:NodeCreated path:/later\n");
  }
}

TEST_CASE("cli: status needs no session", "[tools]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  auto r = RunCmd(&client, &out, {"status"});
  REQUIRE(r.ok());
  CHECK(r->rfind("role: leader\n", 0) == 0);
  CHECK(Contains(*r, "\nepoch: "));
  CHECK(Contains(*r, "\nlast_zxid: 0x"));
  CHECK(Contains(*r, "\npeer_id: "));
  CHECK(Contains(*r, "\nleader: " + peer.address + "\n"));
  CHECK(Contains(*r, "\npeers: " + peer.address + "\n"));
  CHECK(client.session_id() == 0);
}

TEST_CASE("cli: an unreachable peer fails fast with ConnectionLoss",
          "[tools]") {
  std::ostringstream out;
  CliClient::Options options;
  options.connect_timeout = absl::Milliseconds(500);
  CliClient client("127.0.0.1:" + std::to_string(FreePort()), options, &out);
  const absl::Time start = absl::Now();
  auto r = RunCmd(&client, &out, {"get", "/"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kConnectionLoss);
  CHECK(Contains(std::string(r.status().message()), "cannot reach peer"));
  r = RunCmd(&client, &out, {"status"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kConnectionLoss);
  CHECK(absl::Now() - start < absl::Seconds(5));
}

TEST_CASE("cli: the peer shutting down ends the stream, and the session "
          "waits to be resumed", "[tools]") {
  auto peer = std::make_unique<ListeningPeer>();
  std::ostringstream out;
  CliClient::Options options;
  options.connect_timeout = absl::Milliseconds(500);
  CliClient client(peer->address, options, &out);
  REQUIRE(RunCmd(&client, &out, {"create", "-e", "/e"}).ok());
  const int64_t session = client.session_id();
  const absl::Time start = absl::Now();
  peer->coordinator.reset();  // with the client's stream still open
  CHECK(absl::Now() - start < absl::Seconds(5));
  // The next command tries to resume the session; no peer takes it.
  auto r = RunCmd(&client, &out, {"get", "/"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kConnectionLoss);
  CHECK(Contains(std::string(r.status().message()), "cannot reach peer"));
  // The session is kept, to be resumed by a later command.
  CHECK(client.session_id() == session);
  client.Close();
  CHECK(client.session_id() == 0);
}

// ---- The Client service's protocol rules, with a raw stream ---------------

TEST_CASE("client service: the first request must open the session",
          "[tools]") {
  ListeningPeer peer;
  auto stub = transport::Client::NewStub(
      grpc::CreateChannel(peer.address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->Session(&context);
  transport::ClientRequest request;
  request.set_id(7);
  request.mutable_read()->set_kind(transport::ReadRequest::GET);
  request.mutable_read()->set_path("/");
  REQUIRE(stream->Write(request));
  transport::ClientReply reply;
  REQUIRE(stream->Read(&reply));
  CHECK(reply.id() == 7);
  CHECK(reply.error() == static_cast<int>(Error::kBadArguments));
  CHECK(!stream->Read(&reply));
  CHECK(!stream->Finish().ok());
}

TEST_CASE("client service: clients cannot make session requests", "[tools]") {
  ListeningPeer peer;
  auto stub = transport::Client::NewStub(
      grpc::CreateChannel(peer.address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->Session(&context);
  transport::ClientRequest request;
  request.set_id(1);
  request.mutable_open();
  REQUIRE(stream->Write(request));
  transport::ClientReply reply;
  REQUIRE(stream->Read(&reply));
  REQUIRE(reply.error() == 0);
  const int64_t session = reply.session_id();
  CHECK(session != 0);

  // Closing another session (here: the peer's own) is refused.
  request.Clear();
  request.set_id(2);
  request.mutable_write()->mutable_close_session();
  REQUIRE(stream->Write(request));
  REQUIRE(stream->Read(&reply));
  CHECK(reply.id() == 2);
  CHECK(reply.error() == static_cast<int>(Error::kBadArguments));
  // As is a second open, and one inside a multi.
  request.Clear();
  request.set_id(3);
  request.mutable_open();
  REQUIRE(stream->Write(request));
  REQUIRE(stream->Read(&reply));
  CHECK(reply.id() == 3);
  CHECK(reply.error() == static_cast<int>(Error::kBadArguments));
  request.Clear();
  request.set_id(4);
  request.mutable_write()->mutable_multi()->add_ops()->mutable_create_session();
  REQUIRE(stream->Write(request));
  REQUIRE(stream->Read(&reply));
  CHECK(reply.id() == 4);
  CHECK(reply.error() == static_cast<int>(Error::kBadArguments));

  // A multi that fails reports each op.
  request.Clear();
  request.set_id(5);
  txn::MultiRequest* multi = request.mutable_write()->mutable_multi();
  multi->add_ops()->mutable_create()->set_path("/m1");
  multi->add_ops()->mutable_create()->set_path("/missing/m2");
  multi->add_ops()->mutable_create()->set_path("/m3");
  REQUIRE(stream->Write(request));
  REQUIRE(stream->Read(&reply));
  CHECK(reply.id() == 5);
  CHECK(reply.error() == static_cast<int>(Error::kNoNode));
  CHECK(reply.failed_op() == 1);
  REQUIRE(reply.results_size() == 3);
  CHECK(reply.results(0).error() == 0);
  CHECK(reply.results(1).error() == static_cast<int>(Error::kNoNode));
  CHECK(reply.results(2).error() ==
        static_cast<int>(Error::kRuntimeInconsistency));

  // A write then a read of it, pipelined: the read sees the write.
  request.Clear();
  request.set_id(6);
  request.mutable_write()->mutable_create()->set_path("/p");
  request.mutable_write()->mutable_create()->set_data("v");
  REQUIRE(stream->Write(request));
  request.Clear();
  request.set_id(7);
  request.mutable_read()->set_kind(transport::ReadRequest::GET);
  request.mutable_read()->set_path("/p");
  REQUIRE(stream->Write(request));
  REQUIRE(stream->Read(&reply));
  CHECK(reply.id() == 6);
  CHECK(reply.error() == 0);
  REQUIRE(reply.results_size() == 1);
  CHECK(reply.results(0).path() == "/p");
  REQUIRE(stream->Read(&reply));
  CHECK(reply.id() == 7);
  CHECK(reply.error() == 0);
  CHECK(reply.data() == "v");

  REQUIRE(stream->WritesDone());
  CHECK(!stream->Read(&reply));
  CHECK(stream->Finish().ok());
  CHECK(peer.coordinator->session_id() != 0);
  CHECK(peer.coordinator->Create("/still-works", "").ok());
}

}  // namespace
}  // namespace synod
