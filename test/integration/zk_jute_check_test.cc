// ZooKeeper's own record classes read what synod's codec (lib/zkwire/)
// writes: every request body a client sends, every reply body a server
// sends, notifications and the handshake. A Java program
// (java/ZkJuteCheck.java) reads each with ZooKeeper 3.8's jute classes
// (Debian's zookeeper-jute.jar) and writes it back; the bytes must come
// back unchanged with none left unread, so ZooKeeper's clients and servers
// read each record as synod meant it, and synod's encodings are the ones
// ZooKeeper writes. Each request is also decoded back by synod's decoder.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "test_util.h"
#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"
#include "zkwire/zk_records.h"
#include "zkwire/zk_requests.h"
#include "zkwire/zk_responses.h"

namespace synod {
namespace {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using testing::Shell;
using testing::ShellResult;
using testing::TempDir;
using zkwire::OpCode;
using zkwire::OpResult;
using zkwire::Request;
using zkwire::RequestKind;

struct Case {
  std::string name;
  std::string kind;  // ZkJuteCheck's first word(s)
  std::string bytes;
};

Request Header(OpCode op, RequestKind kind, int32_t xid = 5) {
  Request r;
  r.header.xid = xid;
  r.header.type = static_cast<int32_t>(op);
  r.kind = kind;
  return r;
}

txn::Request Create(const std::string& path, CreateMode mode,
                    int64_t ttl = 0) {
  txn::Request op;
  txn::CreateRequest* c = op.mutable_create();
  c->set_path(path);
  c->set_data("data");
  txn::AclEntry* a = c->add_acl();
  a->set_perms(31);
  a->set_scheme("world");
  a->set_id("anyone");
  txn::AclEntry* b = c->add_acl();
  b->set_perms(1);
  b->set_scheme("digest");
  b->set_id("user:hash=");
  c->set_mode(static_cast<int32_t>(mode));
  c->set_ttl_ms(ttl);
  return op;
}

std::vector<Request> Requests() {
  std::vector<Request> out;
  auto write = [&out](OpCode op, txn::Request w) {
    Request r = Header(op, RequestKind::kWrite);
    r.write = std::move(w);
    out.push_back(std::move(r));
  };
  write(OpCode::kCreate, Create("/a", CreateMode::kEphemeralSequential));
  write(OpCode::kCreate2, Create("/b", CreateMode::kPersistent));
  write(OpCode::kCreateContainer, Create("/c", CreateMode::kContainer));
  write(OpCode::kCreateTtl,
        Create("/t", CreateMode::kPersistentSequentialWithTtl, 60000));
  txn::Request del;
  del.mutable_delete_node()->set_path("/d");
  del.mutable_delete_node()->set_version(-1);
  write(OpCode::kDelete, del);
  txn::Request set;
  set.mutable_set_data()->set_path("/s");
  set.mutable_set_data()->set_data(std::string("\0\x01\xff", 3));
  set.mutable_set_data()->set_version(7);
  write(OpCode::kSetData, set);
  txn::Request acl;
  acl.mutable_set_acl()->set_path("/acl");
  *acl.mutable_set_acl()->mutable_acl() = Create("/x", {}).create().acl();
  acl.mutable_set_acl()->set_aversion(2);
  write(OpCode::kSetAcl, acl);
  txn::Request check;
  check.mutable_check()->set_path("/k");
  check.mutable_check()->set_version(3);
  write(OpCode::kCheck, check);
  txn::Request multi;
  for (const txn::Request& op :
       {Create("/m1", CreateMode::kPersistent),
        Create("/m2", CreateMode::kContainer),
        Create("/m3", CreateMode::kPersistentWithTtl, 5),
        Create("/m4", CreateMode::kEphemeral), del, set, check}) {
    *multi.mutable_multi()->add_ops() = op;
  }
  write(OpCode::kMulti, multi);
  txn::Request empty_multi;
  empty_multi.mutable_multi();
  write(OpCode::kMulti, empty_multi);

  for (OpCode op : {OpCode::kGetData, OpCode::kExists, OpCode::kGetChildren,
                    OpCode::kGetChildren2, OpCode::kGetAcl,
                    OpCode::kGetEphemerals, OpCode::kGetAllChildrenNumber}) {
    Request r = Header(op, RequestKind::kRead);
    r.read = {op, "/r", op == OpCode::kGetData || op == OpCode::kExists};
    out.push_back(r);
  }
  Request multi_read = Header(OpCode::kMultiRead, RequestKind::kMultiRead);
  multi_read.reads = {{OpCode::kGetData, "/a", false},
                      {OpCode::kGetChildren, "/", false}};
  out.push_back(multi_read);
  Request sync = Header(OpCode::kSync, RequestKind::kSync);
  sync.path = "/s";
  out.push_back(sync);
  Request auth = Header(OpCode::kAuth, RequestKind::kAuth, zkwire::kAuthXid);
  auth.scheme = "digest";
  auth.credentials = "user:secret";
  out.push_back(auth);
  for (OpCode op : {OpCode::kSetWatches, OpCode::kSetWatches2}) {
    Request r = Header(op, RequestKind::kSetWatches, zkwire::kSetWatchesXid);
    r.set_watches.relative_zxid = 0x300000002;
    r.set_watches.data = {"/d"};
    r.set_watches.exist = {"/e1", "/e2"};
    r.set_watches.child = {"/"};
    if (op == OpCode::kSetWatches2) {
      r.set_watches.persistent = {"/p"};
      r.set_watches.persistent_recursive = {"/r"};
    }
    out.push_back(r);
  }
  for (WatchMode mode : {WatchMode::kPersistent,
                         WatchMode::kPersistentRecursive}) {
    Request r = Header(OpCode::kAddWatch, RequestKind::kAddWatch);
    r.path = "/w";
    r.watch_mode = mode;
    out.push_back(r);
  }
  for (WatcherType type :
       {WatcherType::kChildren, WatcherType::kData, WatcherType::kAny,
        WatcherType::kPersistent, WatcherType::kPersistentRecursive}) {
    Request r = Header(OpCode::kRemoveWatches, RequestKind::kRemoveWatches);
    r.path = "/w";
    r.watcher_type = type;
    out.push_back(r);
    r.header.type = static_cast<int32_t>(OpCode::kCheckWatches);
    r.kind = RequestKind::kCheckWatches;
    out.push_back(r);
  }
  out.push_back(Header(OpCode::kWhoAmI, RequestKind::kWhoAmI));
  out.push_back(Header(OpCode::kPing, RequestKind::kPing, zkwire::kPingXid));
  out.push_back(Header(OpCode::kCloseSession, RequestKind::kCloseSession));
  return out;
}

Stat SampleStat() {
  Stat s;
  s.czxid = 0x100000001;
  s.mzxid = 0x100000002;
  s.pzxid = 0x100000003;
  s.ctime = 1700000000000;
  s.mtime = 1700000000001;
  s.version = 1;
  s.cversion = 2;
  s.aversion = 3;
  s.ephemeral_owner = 0x100000004;
  s.data_length = 4;
  s.num_children = 2;
  return s;
}

std::string Reply(int32_t err, const OpResult* body) {
  std::string out;
  zkwire::JuteWriter w(&out);
  zkwire::WriteReplyHeader(zkwire::ReplyHeader{9, 0x100000009, err}, &w);
  if (body != nullptr) zkwire::WriteResultBody(*body, &w);
  return out;
}

std::vector<Case> Replies() {
  std::vector<Case> out;
  auto add = [&out](OpCode op, const OpResult& r) {
    out.push_back({absl::StrCat("reply to ", std::string(zkwire::OpCodeName(
                                                 static_cast<int32_t>(op)))),
                   absl::StrCat("reply ", static_cast<int32_t>(op)),
                   Reply(0, &r)});
  };
  const Stat stat = SampleStat();
  OpResult r;
  r.type = OpCode::kCreate;
  r.path = "/a0000000001";
  add(OpCode::kCreate, r);
  r.type = OpCode::kCreate2;
  r.stat = stat;
  for (OpCode op : {OpCode::kCreate2, OpCode::kCreateContainer,
                    OpCode::kCreateTtl}) {
    add(op, r);
  }
  r = OpResult();
  r.stat = stat;
  for (OpCode op : {OpCode::kSetData, OpCode::kSetAcl, OpCode::kCheck,
                    OpCode::kExists}) {
    r.type = op;
    add(op, r);
  }
  r.type = OpCode::kGetData;
  r.data = std::string("\0bin\xff", 5);
  add(OpCode::kGetData, r);
  r.type = OpCode::kGetChildren;
  r.children = {"a", "b"};
  add(OpCode::kGetChildren, r);
  r.type = OpCode::kGetChildren2;
  add(OpCode::kGetChildren2, r);
  r.type = OpCode::kGetAcl;
  r.acl = {Acl{31, "world", "anyone"}, Acl{3, "ip", "10.0.0.0/8"}};
  add(OpCode::kGetAcl, r);
  r.type = OpCode::kSync;
  r.path = "/s";
  add(OpCode::kSync, r);
  r.type = OpCode::kGetEphemerals;
  r.children = {"/e/1", "/e/2"};
  add(OpCode::kGetEphemerals, r);
  r.type = OpCode::kGetAllChildrenNumber;
  r.count = 12345;
  add(OpCode::kGetAllChildrenNumber, r);
  r.type = OpCode::kDelete;
  add(OpCode::kDelete, r);
  // An error reply: its header alone.
  out.push_back({"an error reply", "reply 4",
                 Reply(static_cast<int32_t>(zkwire::ZkError::kNoNode),
                       nullptr)});

  // Multi replies: a successful one with every write result, a failed one,
  // and a multiRead's.
  std::vector<OpResult> results(5);
  results[0].type = OpCode::kCreate;
  results[0].path = "/m1";
  results[1].type = OpCode::kCreate2;
  results[1].path = "/m2";
  results[1].stat = stat;
  results[2].type = OpCode::kDelete;
  results[3].type = OpCode::kSetData;
  results[3].stat = stat;
  results[4].type = OpCode::kCheck;
  std::vector<OpResult> failed(3);
  failed[1].err = static_cast<int32_t>(zkwire::ZkError::kBadVersion);
  failed[2].err = static_cast<int32_t>(zkwire::ZkError::kRuntimeInconsistency);
  std::vector<OpResult> reads(3);
  reads[0].type = OpCode::kGetData;
  reads[0].data = "x";
  reads[0].stat = stat;
  reads[1].type = OpCode::kGetChildren;
  reads[1].children = {"c"};
  reads[2].err = static_cast<int32_t>(zkwire::ZkError::kNoNode);
  for (const auto& [name, op, list] :
       {std::tuple{"multi", OpCode::kMulti, &results},
        std::tuple{"failed multi", OpCode::kMulti, &failed},
        std::tuple{"multiRead", OpCode::kMultiRead, &reads}}) {
    std::string bytes;
    zkwire::JuteWriter w(&bytes);
    zkwire::WriteReplyHeader(zkwire::ReplyHeader{9, 0x10000000a, 0}, &w);
    zkwire::WriteMultiResponse(*list, &w);
    out.push_back({name, absl::StrCat("reply ", static_cast<int32_t>(op)),
                   bytes});
  }
  std::string who;
  zkwire::JuteWriter w(&who);
  zkwire::WriteReplyHeader(zkwire::ReplyHeader{9, 0x10000000b, 0}, &w);
  zkwire::WriteWhoAmIResponse({{"ip", "127.0.0.1"}, {"digest", "user"}}, &w);
  out.push_back({"whoAmI", "reply 107", who});

  std::string event;
  zkwire::JuteWriter e(&event);
  zkwire::WriteReplyHeader(zkwire::ReplyHeader{zkwire::kNotificationXid, -1, 0},
                           &e);
  zkwire::WriteWatcherEvent(
      {static_cast<int32_t>(zkwire::ZkEventType::kNodeDataChanged),
       zkwire::kStateSyncConnected, "/w"},
      &e);
  out.push_back({"notification", "notification", event});

  zkwire::ConnectRequest connect;
  connect.last_zxid_seen = 0x100000010;
  connect.timeout_ms = 30000;
  connect.session_id = 0x1234;
  connect.password = std::string(16, '\x07');
  connect.read_only = false;
  std::string c;
  zkwire::EncodeConnectRequest(connect, &c);
  out.push_back({"connect request", "connect_request", c});
  zkwire::ConnectResponse accept;
  accept.timeout_ms = 30000;
  accept.session_id = 0x1234;
  accept.password = std::string(16, '\x09');
  std::string a;
  zkwire::EncodeConnectResponse(accept, &a);
  out.push_back({"connect response", "connect_response", a});
  return out;
}

TEST_CASE("ZooKeeper's record classes read every record synod's codec "
          "writes, byte for byte",
          "[zkwire][java]") {
  std::vector<Case> cases;
  for (const Request& r : Requests()) {
    std::string body;
    zkwire::EncodeRequest(r, &body);
    // synod's own decoder reads each back too.
    absl::StatusOr<Request> back = zkwire::DecodeRequest(body, 1 << 20);
    INFO(zkwire::OpCodeName(r.header.type));
    REQUIRE(back.ok());
    CHECK(back->kind == r.kind);
    cases.push_back({absl::StrCat("request ",
                                  std::string(zkwire::OpCodeName(r.header.type))),
                     "request", body});
  }
  for (Case& c : Replies()) cases.push_back(std::move(c));

  TempDir dir;
  const std::string in = dir.Sub("in.txt");
  const std::string out = dir.Sub("out.txt");
  {
    std::ofstream f(in);
    for (const Case& c : cases) {
      f << c.kind << " " << absl::BytesToHexString(c.bytes) << "\n";
    }
  }
  const ShellResult run = Shell(absl::StrCat(
      "/usr/bin/java -Xmx128m -cp " SYNOD_JAVA_DRIVER_DIR
      ":/usr/share/java/zookeeper.jar ZkJuteCheck ", out, " < ", in,
      " > ", dir.Sub("log.txt"), " 2>&1"));
  INFO(ReadFileOrEmpty(dir.Sub("log.txt")));
  REQUIRE(run.exit_code == 0);
  std::vector<std::string> lines =
      absl::StrSplit(ReadFileOrEmpty(out), '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].name << ": " << lines[i]);
    CHECK(lines[i] ==
          absl::StrCat("ok ", absl::BytesToHexString(cases[i].bytes)));
  }
}

}  // namespace
}  // namespace synod
