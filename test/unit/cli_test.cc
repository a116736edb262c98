// synod-cli's zkCli commands: their parsing (every flag, and what zkCli
// refuses), the output shapes (tools/cli_format.h), each command end to end
// against a listening one-peer Coordinator, the shell's history, redo,
// printwatches and multi blocks, and failing over between peers.

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "test_util.h"
#include "util/cli_commands.h"
#include "tools/cli_client.h"
#include "tools/cli_command.h"
#include "tools/cli_format.h"
#include "tools/cli_shell.h"

namespace synod {
namespace {

using tools::CliClient;
using tools::CliCommand;
using tools::CliShell;
using tools::ParseCommand;
using Kind = CliCommand::Kind;
using synod::testing::FreePort;
using synod::testing::ListeningPeer;

using synod::testing::Cmd;
constexpr auto Run = synod::testing::RunCmd;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// ---- Parsing ----------------------------------------------------------------

TEST_CASE("cli parse: zkCli's flags for each command", "[tools][cli]") {
  CliCommand c = Cmd({"ls", "-s", "-w", "-R", "/a"});
  CHECK((c.kind == Kind::kLs && c.print_stat && c.watch && c.recursive));
  c = Cmd({"get", "-s", "-w", "/a"});
  CHECK((c.kind == Kind::kGet && c.print_stat && c.watch));
  c = Cmd({"stat", "-w", "/a"});
  CHECK((c.kind == Kind::kStat && c.watch && !c.print_stat));
  c = Cmd({"create", "-c", "/c"});
  CHECK((c.container && !c.sequential && !c.ephemeral));
  c = Cmd({"create", "-s", "-t", "5000", "/t-", "d",
           "digest:u:hash=:cdrwa,world:anyone:r"});
  CHECK((c.sequential && c.ttl_ms == 5000 && c.data == "d" && c.has_acl));
  REQUIRE(c.acl.size() == 2);
  CHECK(c.acl[0] == Acl{perms::kAll, "digest", "u:hash="});
  CHECK(c.acl[1] == Acl{perms::kRead, "world", "anyone"});
  c = Cmd({"set", "-s", "-v", "3", "/a", "x"});
  CHECK((c.kind == Kind::kSet && c.print_stat && c.version == 3));
  c = Cmd({"deleteall", "/a", "-b", "7"});
  CHECK((c.kind == Kind::kDeleteAll && c.batch == 7));
  CHECK(Cmd({"deleteall", "/a"}).batch == 1000);
  c = Cmd({"getAcl", "-s", "/a"});
  CHECK((c.kind == Kind::kGetAcl && c.print_stat));
  c = Cmd({"setAcl", "-R", "-v", "2", "-s", "/a", "ip:10.0.0.0/8:rw"});
  CHECK((c.kind == Kind::kSetAcl && c.recursive && c.print_stat &&
         c.version == 2));
  CHECK(c.acl == AclList{Acl{perms::kRead | perms::kWrite, "ip", "10.0.0.0/8"}});
  CHECK(Cmd({"addWatch", "/a"}).watch_mode == WatchMode::kPersistentRecursive);
  CHECK(Cmd({"addWatch", "-m", "PERSISTENT", "/a"}).watch_mode ==
        WatchMode::kPersistent);
  c = Cmd({"removewatches", "/a", "-d", "-l"});
  CHECK((c.watcher_type == WatcherType::kData && c.local));
  CHECK(Cmd({"removewatches", "/a"}).watcher_type == WatcherType::kAny);
  CHECK(Cmd({"removewatches", "/a", "-c"}).watcher_type ==
        WatcherType::kChildren);
  CHECK(Cmd({"removewatches", "/a", "-r"}).watcher_type ==
        WatcherType::kPersistentRecursive);
  CHECK(Cmd({"getEphemerals"}).path == "/");
  CHECK(Cmd({"getEphemerals", "/app"}).path == "/app");
  CHECK(Cmd({"getAllChildrenNumber", "/"}).kind == Kind::kGetAllChildrenNumber);
  CHECK(Cmd({"whoami"}).kind == Kind::kWhoAmI);
  c = Cmd({"multi", "create /m x", "set -v 0 /m y", "check -v 1 /m",
           "delete /m"});
  REQUIRE(c.ops.size() == 4);
  CHECK((c.ops[0].kind == Kind::kCreate && c.ops[0].data == "x"));
  CHECK((c.ops[1].kind == Kind::kSet && c.ops[1].version == 0));
  CHECK((c.ops[2].kind == Kind::kCheck && c.ops[2].version == 1 &&
         c.ops[2].path == "/m"));
  CHECK(c.ops[3].kind == Kind::kDelete);
  CHECK(Cmd({"multi"}).ops.empty());  // the shell's block
  c = Cmd({"connect", "h1:1,h2:2"});
  CHECK(c.peers == std::vector<std::string>{"h1:1", "h2:2"});
  CHECK(Cmd({"redo", "4"}).index == 4);
  CHECK(!Cmd({"printwatches"}).has_on);
  CHECK(!Cmd({"printwatches", "off"}).on);
  CHECK(Cmd({"help", "create"}).topic == "create");
  CHECK(tools::SetsWatch(Cmd({"get", "-w", "/a"})));
  CHECK(tools::SetsWatch(Cmd({"addWatch", "/a"})));
  CHECK(!tools::SetsWatch(Cmd({"get", "/a"})));
}

TEST_CASE("cli parse: what zkCli refuses, and bad values", "[tools][cli]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"create", "-c", "-e", "/x"}, "-c cannot be combined"},
      {{"create", "-c", "-s", "/x"}, "-c cannot be combined"},
      {{"create", "-t", "10", "-e", "/x"}, "TTLs cannot be used with Ephemeral"},
      {{"create", "-t", "10", "-c", "/x"}, "TTLs cannot be used with Container"},
      {{"create", "-t", "0", "/x"}, "ttl must be positive"},
      {{"create", "-t", "1099511627776", "/x"}, "ttl must be positive"},
      {{"create", "-t", "soon", "/x"}, "must be a long value"},
      {{"create", "/x", "d", "world:anyone"}, "does not have the form"},
      {{"create", "/x", "d", "world:anyone:rq"}, "Unknown perm type: q"},
      {{"setAcl", "/x"}, "missing arguments"},
      {{"setAcl", "/x", "bad"}, "does not have the form"},
      {{"addWatch", "-m", "ONCE", "/x"}, "PERSISTENT or PERSISTENT_RECURSIVE"},
      {{"deleteall", "/x", "-b", "0"}, "bad batch size"},
      {{"ls", "-x", "/"}, "unknown option -x"},
      {{"get", "-R", "/"}, "unknown option -R"},
      {{"multi", "get /a"}, "multi takes create, set, delete and check"},
      {{"multi", "create"}, "missing arguments"},
      {{"multi", "check /a /b"}, "bad check"},
      {{"check", "/a"}, "unknown command"},
      {{"redo", "x"}, "bad command number"},
      {{"printwatches", "maybe"}, "on or off"},
      {{"connect", "a:1,,b:2"}, "an empty peer address"},
      {{"getEphemerals", "/a", "/b"}, "unexpected argument"},
  };
  for (const auto& [words, why] : bad) {
    INFO(words[0] << " ... expecting: " << why);
    absl::StatusOr<CliCommand> c = ParseCommand(words);
    REQUIRE(!c.ok());
    CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Contains(Message(c.status()), why));
  }
  CHECK(tools::IsCommandName("getAllChildrenNumber"));
  CHECK(!tools::IsCommandName("check"));
  CHECK(!tools::IsCommandName("frobnicate"));
}

TEST_CASE("cli help: every command has its usage and description",
          "[tools][cli]") {
  const std::string all = tools::CommandsHelp();
  for (const char* name :
       {"ls", "get", "stat", "create", "set", "delete", "deleteall", "getAcl",
        "setAcl", "addWatch", "removewatches", "getEphemerals",
        "getAllChildrenNumber", "sync", "addauth", "whoami", "multi",
        "history", "redo", "printwatches", "connect", "close", "watch",
        "status", "members", "reconfig", "backup", "setquota", "listquota",
        "delquota", "help", "quit"}) {
    INFO(name);
    CHECK(Contains(all, std::string("\n  ") + name));
    absl::StatusOr<std::string> one = tools::CommandHelp(name);
    REQUIRE(one.ok());
    CHECK(one->rfind(std::string("usage: ") + name, 0) == 0);
    CHECK(std::count(one->begin(), one->end(), '\n') >= 2);
  }
  CHECK(!tools::CommandHelp("bogus").ok());
}

// ---- Output shapes -------------------------------------------------------

TEST_CASE("cli format: zkCli's Stat, list, ACL, event and error shapes",
          "[tools][cli]") {
  transport::ClientStat s;
  s.set_czxid(0x2);
  s.set_mzxid(0xd);
  s.set_pzxid(0x2);
  s.set_ctime(1796594641000);  // 2026-12-06 22:04:01 UTC
  s.set_mtime(0);
  s.set_version(2);
  s.set_cversion(1);
  s.set_aversion(3);
  s.set_ephemeral_owner(0x100000abc);
  s.set_data_length(5);
  s.set_num_children(4);
  CHECK(tools::FormatStat(s) ==
        "cZxid = 0x2\n"
        "ctime = Sun Dec 06 22:04:01 UTC 2026\n"
        "mZxid = 0xd\n"
        "mtime = Thu Jan 01 00:00:00 UTC 1970\n"
        "pZxid = 0x2\n"
        "cversion = 1\n"
        "dataVersion = 2\n"
        "aclVersion = 3\n"
        "ephemeralOwner = 0x100000abc\n"
        "dataLength = 5\n"
        "numChildren = 4\n");

  google::protobuf::RepeatedPtrField<std::string> list;
  CHECK(tools::FormatList(list) == "[]");
  *list.Add() = "a";
  *list.Add() = "zookeeper";
  CHECK(tools::FormatList(list) == "[a, zookeeper]");

  CHECK(tools::PermsText(perms::kAll) == "cdrwa");
  CHECK(tools::PermsText(perms::kRead | perms::kCreate | perms::kDelete) ==
        "cdr");
  google::protobuf::RepeatedPtrField<txn::AclEntry> acl;
  txn::AclEntry* a = acl.Add();
  a->set_scheme("world");
  a->set_id("anyone");
  a->set_perms(perms::kRead);
  a = acl.Add();
  a->set_scheme("digest");
  a->set_id("u:x=");
  a->set_perms(perms::kAll);
  CHECK(tools::FormatAcl(acl) == "'world,'anyone\n: r\n'digest,'u:x=\n: cdrwa\n");

  transport::ClientWatchEvent e;
  e.set_type(static_cast<int32_t>(EventType::kChildrenChanged));
  e.set_state(static_cast<int32_t>(SessionState::kConnected));
  e.set_path("/a");
  CHECK(tools::FormatEvent(e) ==
        "WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/a");

  const auto zk = [](Error error) {
    return Message(tools::ZkError(MakeError(error, "peer text"), "/p"));
  };
  CHECK(zk(Error::kNoNode) == "Node does not exist: /p");
  CHECK(zk(Error::kNodeExists) == "Node already exists: /p");
  CHECK(zk(Error::kNotEmpty) == "Node not empty: /p");
  CHECK(zk(Error::kBadVersion) == "version No is not valid : /p");
  CHECK(zk(Error::kNoAuth) == "Insufficient permission : /p");
  CHECK(zk(Error::kInvalidAcl) == "Acl is not valid : /p");
  CHECK(zk(Error::kNoChildrenForEphemerals) ==
        "Ephemerals cannot have children: /p");
  CHECK(zk(Error::kQuotaExceeded) == "Quota has exceeded : /p (peer text)");
  CHECK(zk(Error::kNoWatcher) == "KeeperErrorCode = No such watcher for /p");
  CHECK(zk(Error::kBadArguments) == "Arguments are not valid : /p (peer text)");
  CHECK(zk(Error::kConnectionLoss) == "peer text");
  CHECK(zk(Error::kSessionExpired) ==
        "KeeperErrorCode = SessionExpired for /p: peer text");
  CHECK(ErrorOf(tools::ZkError(MakeError(Error::kNotEmpty, ""), "/p")) ==
        Error::kNotEmpty);
  CHECK(tools::ZkError(absl::OkStatus(), "/p").ok());
}

// ---- End to end ------------------------------------------------------------

TEST_CASE("cli: ls -s -R, get -s, create -c and -t, getAllChildrenNumber",
          "[tools][cli]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  for (const char* p : {"/t", "/t/a", "/t/b", "/t/a/x", "/t/a/y", "/t/b/z"}) {
    REQUIRE(Run(&client, &out, {"create", p}).ok());
  }
  auto r = Run(&client, &out, {"ls", "-R", "/t"});
  REQUIRE(r.ok());
  // Breadth first, as zkCli's.
  CHECK(*r == "/t\n/t/a\n/t/b\n/t/a/x\n/t/a/y\n/t/b/z\n");
  r = Run(&client, &out, {"ls", "-s", "/t"});
  REQUIRE(r.ok());
  CHECK(r->rfind("[a, b]\ncZxid = 0x", 0) == 0);
  CHECK(Contains(*r, "\nnumChildren = 2\n"));
  r = Run(&client, &out, {"getAllChildrenNumber", "/t"});
  REQUIRE(r.ok());
  CHECK(*r == "5\n");
  r = Run(&client, &out, {"getAllChildrenNumber", "/nope"});
  REQUIRE(!r.ok());
  CHECK(Message(r.status()) == "Node does not exist: /nope");

  REQUIRE(Run(&client, &out, {"create", "-c", "/t/c"}).ok());
  auto stat = peer.coordinator->Exists("/t/c");
  REQUIRE(stat.ok());
  REQUIRE(stat->has_value());
  r = Run(&client, &out, {"create", "-t", "60000", "-s", "/t/ttl-", "v"});
  REQUIRE(r.ok());
  CHECK(r->rfind("Created /t/ttl-00000000", 0) == 0);
  // A container's and a TTL node's ephemeralOwner read 0x0, as ZooKeeper
  // 3.8 serves them (checked against it), though both are marked inside.
  r = Run(&client, &out, {"stat", "/t/c"});
  REQUIRE(r.ok());
  CHECK(Contains(*r, "\nephemeralOwner = 0x0\n"));
  CHECK(peer.coordinator->GetChildren("/t")->size() == 4);
  r = Run(&client, &out, {"get", "-s", "/t/a"});
  REQUIRE(r.ok());
  CHECK(r->rfind("\ncZxid = 0x", 0) == 0);  // empty data, then the Stat
}

TEST_CASE("cli: ACLs with getAcl, setAcl -s -v -R, and create's acl",
          "[tools][cli]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  const std::string alice = DigestId("alice", "pw");
  auto r = Run(&client, &out,
               {"create", "/s", "x", "digest:" + alice + ":cdrwa,world:anyone:r"});
  REQUIRE(r.ok());
  r = Run(&client, &out, {"getAcl", "/s"});
  REQUIRE(r.ok());
  CHECK(*r == "'digest,'" + alice + "\n: cdrwa\n'world,'anyone\n: r\n");
  r = Run(&client, &out, {"set", "/s", "y"});
  REQUIRE(!r.ok());
  CHECK(Message(r.status()) == "Insufficient permission : /s");
  REQUIRE(Run(&client, &out, {"addauth", "digest", "alice:pw"}).ok());
  r = Run(&client, &out, {"whoami"});
  REQUIRE(r.ok());
  CHECK(*r == "Auth scheme: User\nip: 127.0.0.1\ndigest: alice\n");

  for (const char* p : {"/s/a", "/s/a/b", "/s/c"}) {
    REQUIRE(Run(&client, &out, {"create", p}).ok());
  }
  r = Run(&client, &out, {"setAcl", "-v", "5", "/s", "world:anyone:cdrwa"});
  REQUIRE(!r.ok());
  CHECK(Message(r.status()) == "version No is not valid : /s");
  r = Run(&client, &out, {"setAcl", "-s", "-v", "0", "/s", "world:anyone:cdrwa"});
  REQUIRE(r.ok());
  CHECK(r->rfind("cZxid = 0x", 0) == 0);
  CHECK(Contains(*r, "\naclVersion = 1\n"));
  r = Run(&client, &out, {"setAcl", "-R", "/s", "world:anyone:cdr"});
  REQUIRE(r.ok());
  for (const char* p : {"/s", "/s/a", "/s/a/b", "/s/c"}) {
    INFO(p);
    Stat st;
    auto acl = peer.coordinator->GetAcl(p, &st);
    REQUIRE(acl.ok());
    CHECK(*acl == AclList{Acl{perms::kCreate | perms::kDelete | perms::kRead,
                              "world", "anyone"}});
  }
  r = Run(&client, &out, {"getAcl", "-s", "/s/a/b"});
  REQUIRE(r.ok());
  CHECK(r->rfind("'world,'anyone\n: cdr\ncZxid = 0x", 0) == 0);
  CHECK(Contains(*r, "\naclVersion = 1\n"));
}

TEST_CASE("cli: deleteall in batches, and what it cannot delete",
          "[tools][cli]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  REQUIRE(Run(&client, &out, {"create", "/d"}).ok());
  for (int i = 0; i < 5; ++i) {
    const std::string child = "/d/" + std::to_string(i);
    REQUIRE(Run(&client, &out, {"create", child}).ok());
    REQUIRE(Run(&client, &out, {"create", child + "/leaf"}).ok());
  }
  const int64_t zxid_before = peer.coordinator->GetHealth().last_zxid;
  auto r = Run(&client, &out, {"deleteall", "/d", "-b", "4"});
  REQUIRE(r.ok());
  CHECK(r->empty());
  CHECK(!peer.coordinator->Exists("/d")->has_value());
  // 11 nodes in multis of 4: three transactions.
  CHECK(peer.coordinator->GetHealth().last_zxid - zxid_before == 3);

  r = Run(&client, &out, {"deleteall", "/d"});
  REQUIRE(!r.ok());
  CHECK(Message(r.status()) == "Node does not exist: /d");

  // A child the session may not delete: the batch fails whole.
  REQUIRE(Run(&client, &out, {"create", "/k"}).ok());
  REQUIRE(Run(&client, &out, {"create", "/k/a"}).ok());
  REQUIRE(Run(&client, &out, {"create", "/k/a/b"}).ok());
  REQUIRE(Run(&client, &out, {"setAcl", "/k/a", "world:anyone:rwca"}).ok());
  r = Run(&client, &out, {"deleteall", "/k"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kNoAuth);
  CHECK(Message(r.status()) ==
        "Failed to delete some node(s) in the subtree! Insufficient "
        "permission : /k/a/b");
  CHECK(peer.coordinator->Exists("/k/a/b")->has_value());
}

TEST_CASE("cli: multi is all or nothing and says which op failed",
          "[tools][cli]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  auto r = Run(&client, &out,
               {"multi", "create /m x", "create -s /m/s- ", "check -v 0 /m",
                "set /m y", "delete /m/s-0000000000"});
  REQUIRE(r.ok());
  CHECK(*r ==
        "Created /m\nCreated /m/s-0000000000\nChecked /m\n"
        "Set /m dataVersion = 1\nDeleted /m/s-0000000000\n");
  const int64_t zxid = peer.coordinator->GetHealth().last_zxid;
  r = Run(&client, &out, {"multi", "create /n", "check -v 0 /m", "delete /m"});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kBadVersion);
  CHECK(Message(r.status()) ==
        "multi failed at op 2: version No is not valid : /m");
  CHECK(!peer.coordinator->Exists("/n")->has_value());
  CHECK(peer.coordinator->GetHealth().last_zxid == zxid);
}

TEST_CASE("cli: watches with -w and addWatch, removewatches",
          "[tools][cli]") {
  ListeningPeer peer;
  REQUIRE(peer.coordinator->Create("/w", "1").ok());
  std::ostringstream out;
  CliClient::Options options;
  options.async_events = true;
  CliClient client(peer.address, options, &out);
  REQUIRE(Run(&client, &out, {"ls", "-w", "/w"}).ok());
  REQUIRE(Run(&client, &out, {"get", "-w", "/w"}).ok());
  REQUIRE(Run(&client, &out, {"stat", "-w", "/w"}).ok());
  REQUIRE(Run(&client, &out, {"addWatch", "-m", "PERSISTENT", "/w"}).ok());
  out.str("");
  REQUIRE(peer.coordinator->Create("/w/c", "").ok());
  REQUIRE(peer.coordinator->Set("/w", "2").ok());
  // Children changed: the child watch's and the persistent watch's; data
  // changed: get's, stat's and the persistent watch's.
  REQUIRE(client.AwaitEvents(5, absl::Seconds(10)));
  const std::string events = out.str();
  CHECK(Contains(events,
                 "WatchedEvent state:SyncConnected type:NodeChildrenChanged "
                 "path:/w\n"));
  CHECK(Contains(events,
                 "WatchedEvent state:SyncConnected type:NodeDataChanged "
                 "path:/w\n"));

  auto r = Run(&client, &out, {"removewatches", "/w", "-c"});
  REQUIRE(!r.ok());  // the one-shot child watch fired already
  CHECK(Message(r.status()) == "KeeperErrorCode = No such watcher for /w");
  REQUIRE(Run(&client, &out, {"removewatches", "/w", "-p"}).ok());
  REQUIRE(client.AwaitEvents(6, absl::Seconds(10)));  // PersistentWatchRemoved
  CHECK(Contains(out.str(), "type:PersistentWatchRemoved path:/w"));
  const int64_t seen = client.events_received();
  REQUIRE(peer.coordinator->Set("/w", "3").ok());
  REQUIRE(Run(&client, &out, {"sync", "/"}).ok());
  CHECK(client.events_received() == seen);
  // -l: removed without asking whether the peer has a leader.
  REQUIRE(Run(&client, &out, {"addWatch", "/w"}).ok());
  REQUIRE(Run(&client, &out, {"removewatches", "/w", "-l"}).ok());
  CHECK(peer.coordinator->GetHealth().watch_count == 0);
}

TEST_CASE("cli: getEphemerals and close", "[tools][cli]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient client(peer.address, CliClient::Options(), &out);
  REQUIRE(Run(&client, &out, {"create", "/app"}).ok());
  REQUIRE(Run(&client, &out, {"create", "-e", "/app/e1"}).ok());
  REQUIRE(Run(&client, &out, {"create", "-e", "/apple"}).ok());
  REQUIRE(Run(&client, &out, {"create", "-e", "/b"}).ok());
  // Another session's ephemeral is not ours.
  REQUIRE(peer.coordinator->Create("/app/theirs", "", CreateMode::kEphemeral)
              .ok());
  auto r = Run(&client, &out, {"getEphemerals"});
  REQUIRE(r.ok());
  CHECK(*r == "[/app/e1, /apple, /b]\n");
  r = Run(&client, &out, {"getEphemerals", "/app"});
  REQUIRE(r.ok());
  CHECK(*r == "[/app/e1, /apple]\n");  // a string prefix, as ZooKeeper's

  const int64_t first = client.session_id();
  REQUIRE(Run(&client, &out, {"close"}).ok());
  CHECK(client.session_id() == 0);
  CHECK(!peer.coordinator->Exists("/b")->has_value());
  r = Run(&client, &out, {"getEphemerals"});
  REQUIRE(r.ok());
  CHECK(*r == "[]\n");
  CHECK(client.session_id() != first);
}

TEST_CASE("cli: --peer lists fail over to the next peer", "[tools][cli]") {
  ListeningPeer peer;
  std::ostringstream out;
  CliClient::Options options;
  options.connect_timeout = absl::Milliseconds(300);
  const std::string dead = "127.0.0.1:" + std::to_string(FreePort());
  CliClient client(std::vector<std::string>{dead, peer.address}, options,
                   &out);
  auto r = Run(&client, &out, {"create", "/f"});
  REQUIRE(r.ok());
  CHECK(client.current_peer() == peer.address);
  r = Run(&client, &out, {"status"});
  REQUIRE(r.ok());
  CHECK(r->rfind("role: leader\n", 0) == 0);

  // connect: a new session on the peers given.
  const int64_t before = client.session_id();
  REQUIRE(Run(&client, &out, {"connect", dead + "," + peer.address}).ok());
  CHECK(client.session_id() != 0);
  CHECK(client.session_id() != before);
  r = Run(&client, &out, {"connect", dead});
  REQUIRE(!r.ok());
  CHECK(ErrorOf(r.status()) == Error::kConnectionLoss);
}

// ---- The shell ---------------------------------------------------------

TEST_CASE("cli shell: history, redo, printwatches, multi blocks",
          "[tools][cli]") {
  ListeningPeer peer;
  std::ostringstream out;
  std::ostringstream err;
  CliClient::Options options;
  options.async_events = true;
  CliClient client(peer.address, options, &out);
  CliShell shell(&client, &err);
  CHECK(shell.Prompt() == "synod> ");
  CHECK(shell.RunLine("create /h a"));
  CHECK(shell.RunLine("set /h b"));
  CHECK(shell.RunLine("  "));  // not numbered
  out.str("");
  CHECK(shell.RunLine("history"));
  CHECK(out.str() == "0 - create /h a\n1 - set /h b\n2 - history\n");
  out.str("");
  CHECK(shell.RunLine("redo 1"));
  CHECK(out.str() == "dataVersion = 2\n");
  CHECK(shell.RunLine("redo 3"));  // "set /h b", as it is now numbered
  CHECK(peer.coordinator->Get("/h")->stat.version == 3);
  CHECK(err.str().empty());
  CHECK(shell.RunLine("redo 99"));
  CHECK(err.str() == "Command index out of range\n");
  err.str("");
  CHECK(shell.RunLine("bogus"));
  CHECK(err.str() == "unknown command 'bogus'\n");
  err.str("");

  // multi: one op a line, nothing sent before commit.
  CHECK(shell.RunLine("multi"));
  CHECK(shell.Prompt() == "multi> ");
  CHECK(shell.RunLine("create /blk x"));
  CHECK(shell.RunLine("get /blk"));  // refused; the block goes on
  CHECK(Contains(err.str(), "multi takes create, set, delete and check"));
  CHECK(shell.RunLine("set /blk y"));
  CHECK(!peer.coordinator->Exists("/blk")->has_value());
  out.str("");
  CHECK(shell.RunLine("commit"));
  CHECK(shell.Prompt() == "synod> ");
  CHECK(out.str() == "Created /blk\nSet /blk dataVersion = 1\n");
  CHECK(peer.coordinator->Get("/blk")->data == "y");
  CHECK(shell.RunLine("multi"));
  CHECK(shell.RunLine("delete /blk"));
  CHECK(shell.RunLine("abort"));
  CHECK(peer.coordinator->Exists("/blk")->has_value());

  // printwatches off: events still come, unprinted.
  out.str("");
  CHECK(shell.RunLine("printwatches"));
  CHECK(out.str() == "printwatches is on\n");
  CHECK(shell.RunLine("printwatches off"));
  CHECK(shell.RunLine("get -w /h"));
  out.str("");
  REQUIRE(peer.coordinator->Set("/h", "z").ok());
  REQUIRE(client.AwaitEvents(1, absl::Seconds(10)));
  CHECK(out.str().empty());
  CHECK(shell.RunLine("printwatches on"));
  CHECK(shell.RunLine("get -w /h"));
  REQUIRE(peer.coordinator->Set("/h", "w").ok());
  REQUIRE(client.AwaitEvents(2, absl::Seconds(10)));
  CHECK(Contains(out.str(), "type:NodeDataChanged path:/h\n"));

  CHECK(!shell.RunLine("quit"));
}

}  // namespace
}  // namespace synod
