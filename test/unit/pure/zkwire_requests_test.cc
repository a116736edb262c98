// Tests for the requests and replies of ZooKeeper's client protocol
// (zkwire/zk_requests.h, zk_responses.h): each opcode's body decoded into
// what synod runs, ZooKeeper's create-mode rules, the refusal of every
// malformed body (each truncation, trailing bytes, ops a multi may not
// hold), the requests answered with an error, and the reply bodies.

#include "zkwire/zk_requests.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"
#include "zkwire/zk_records.h"
#include "zkwire/zk_responses.h"

namespace synod::zkwire {
namespace {

constexpr int32_t kMax = 1 << 20;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

Request Header(OpCode op, int32_t xid = 7) {
  Request r;
  r.header.xid = xid;
  r.header.type = static_cast<int32_t>(op);
  return r;
}

txn::AclEntry Entry(int32_t perms, const std::string& scheme,
                    const std::string& id) {
  txn::AclEntry e;
  e.set_perms(perms);
  e.set_scheme(scheme);
  e.set_id(id);
  return e;
}

Request CreateOf(OpCode op, int32_t mode, int64_t ttl = 0) {
  Request r = Header(op);
  r.kind = RequestKind::kWrite;
  txn::CreateRequest* c = r.write.mutable_create();
  c->set_path("/a");
  c->set_data(std::string("d\0d", 3));
  *c->add_acl() = Entry(31, "world", "anyone");
  *c->add_acl() = Entry(1, "digest", "u:h");
  c->set_mode(mode);
  c->set_ttl_ms(ttl);
  return r;
}

Request MultiOf(std::vector<txn::Request> ops) {
  Request r = Header(OpCode::kMulti);
  r.kind = RequestKind::kWrite;
  txn::MultiRequest* m = r.write.mutable_multi();
  for (txn::Request& op : ops) *m->add_ops() = std::move(op);
  return r;
}

txn::Request CreateOp(const std::string& path, int32_t mode, int64_t ttl) {
  txn::Request op;
  op.mutable_create()->set_path(path);
  op.mutable_create()->set_mode(mode);
  op.mutable_create()->set_ttl_ms(ttl);
  return op;
}

std::string Encode(const Request& r) {
  std::string out;
  EncodeRequest(r, &out);
  return out;
}

// Decodes `r`'s encoding, which must decode.
Request RoundTrip(const Request& r) {
  absl::StatusOr<Request> back = DecodeRequest(Encode(r), kMax);
  REQUIRE(back.ok());
  CHECK(back->header.xid == r.header.xid);
  CHECK(back->header.type == r.header.type);
  return *back;
}

// Every proper prefix of `body` and `body` plus a byte are refused as
// malformed.
void CheckEveryTruncationRefused(const std::string& body) {
  for (size_t n = 0; n < body.size(); ++n) {
    absl::StatusOr<Request> r = DecodeRequest(body.substr(0, n), kMax);
    INFO("a prefix of " << n << " of " << body.size() << " bytes");
    REQUIRE_FALSE(r.ok());
    CHECK(ErrorOf(r.status()) == Error::kMarshallingError);
  }
  absl::StatusOr<Request> longer = DecodeRequest(body + "x", kMax);
  REQUIRE_FALSE(longer.ok());
  CHECK(ErrorOf(longer.status()) == Error::kMarshallingError);
}

TEST_CASE("zkwire: a getData request byte for byte", "[zkwire]") {
  Request r = Header(OpCode::kGetData, 5);
  r.kind = RequestKind::kRead;
  r.read.op = OpCode::kGetData;
  r.read.path = "/a";
  r.read.watch = true;
  const std::string bytes = Bytes({0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0, 2, '/',
                                   'a', 1});
  CHECK(Encode(r) == bytes);
  absl::StatusOr<Request> back = DecodeRequest(bytes, kMax);
  REQUIRE(back.ok());
  CHECK(back->kind == RequestKind::kRead);
  CHECK(back->read.op == OpCode::kGetData);
  CHECK(back->read.path == "/a");
  CHECK(back->read.watch);
  CheckEveryTruncationRefused(bytes);
}

TEST_CASE("zkwire: every write decodes into the request synod prepares",
          "[zkwire]") {
  SECTION("create, create2, createContainer and createTTL") {
    Request create = RoundTrip(CreateOf(OpCode::kCreate, 3));
    CHECK(create.kind == RequestKind::kWrite);
    CHECK(create.write.SerializeAsString() ==
          CreateOf(OpCode::kCreate, 3).write.SerializeAsString());
    CHECK(create.result_types == std::vector<OpCode>{OpCode::kCreate});

    Request create2 = RoundTrip(CreateOf(OpCode::kCreate2, 0));
    CHECK(create2.result_types == std::vector<OpCode>{OpCode::kCreate2});
    CHECK(create2.write.create().mode() == 0);

    Request container = RoundTrip(CreateOf(OpCode::kCreateContainer, 4));
    CHECK(container.write.create().mode() ==
          static_cast<int32_t>(CreateMode::kContainer));
    CHECK(container.result_types == std::vector<OpCode>{OpCode::kCreate2});

    Request ttl = RoundTrip(CreateOf(OpCode::kCreateTtl, 6, 5000));
    CHECK(ttl.kind == RequestKind::kWrite);
    CHECK(ttl.write.create().mode() == 6);
    CHECK(ttl.write.create().ttl_ms() == 5000);
    CHECK(ttl.result_types == std::vector<OpCode>{OpCode::kCreate2});
    CheckEveryTruncationRefused(Encode(CreateOf(OpCode::kCreateTtl, 5, 1)));
  }
  SECTION("delete, setData, setACL and check") {
    Request del = Header(OpCode::kDelete);
    del.kind = RequestKind::kWrite;
    del.write.mutable_delete_node()->set_path("/d");
    del.write.mutable_delete_node()->set_version(-1);
    Request set = Header(OpCode::kSetData);
    set.kind = RequestKind::kWrite;
    set.write.mutable_set_data()->set_path("/s");
    set.write.mutable_set_data()->set_data("xyz");
    set.write.mutable_set_data()->set_version(3);
    Request acl = Header(OpCode::kSetAcl);
    acl.kind = RequestKind::kWrite;
    acl.write.mutable_set_acl()->set_path("/acl");
    *acl.write.mutable_set_acl()->add_acl() = Entry(3, "ip", "10.0.0.1");
    acl.write.mutable_set_acl()->set_aversion(2);
    Request check = Header(OpCode::kCheck);
    check.kind = RequestKind::kWrite;
    check.write.mutable_check()->set_path("/c");
    check.write.mutable_check()->set_version(9);
    for (const Request* r : {&del, &set, &acl, &check}) {
      Request back = RoundTrip(*r);
      CHECK(back.kind == RequestKind::kWrite);
      CHECK(back.write.SerializeAsString() == r->write.SerializeAsString());
      CHECK(back.result_types ==
            std::vector<OpCode>{static_cast<OpCode>(r->header.type)});
      CheckEveryTruncationRefused(Encode(*r));
    }
  }
  SECTION("multi, each op with its reply's type") {
    txn::Request del;
    del.mutable_delete_node()->set_path("/x");
    del.mutable_delete_node()->set_version(-1);
    txn::Request set;
    set.mutable_set_data()->set_path("/y");
    set.mutable_set_data()->set_data("v");
    set.mutable_set_data()->set_version(0);
    txn::Request check;
    check.mutable_check()->set_path("/z");
    check.mutable_check()->set_version(1);
    const Request multi =
        MultiOf({CreateOp("/p", 0, 0), CreateOp("/t", 5, 100),
                 CreateOp("/c", 4, 0), del, set, check});
    Request back = RoundTrip(multi);
    CHECK(back.kind == RequestKind::kWrite);
    CHECK(back.write.SerializeAsString() == multi.write.SerializeAsString());
    CHECK(back.result_types ==
          std::vector<OpCode>{OpCode::kCreate, OpCode::kCreate2,
                              OpCode::kCreate2, OpCode::kDelete,
                              OpCode::kSetData, OpCode::kCheck});
    CheckEveryTruncationRefused(Encode(multi));

    Request empty = RoundTrip(MultiOf({}));
    CHECK(empty.kind == RequestKind::kWrite);
    CHECK(empty.write.has_multi());
    CHECK(empty.write.multi().ops_size() == 0);
    CHECK(empty.result_types.empty());
  }
}

TEST_CASE("zkwire: a create's mode follows ZooKeeper's opcode rules",
          "[zkwire]") {
  // create and create2 with a container flag make a persistent node, as
  // ZooKeeper's CreateTxn does.
  Request flagged = RoundTrip(CreateOf(OpCode::kCreate2, 4));
  CHECK(flagged.kind == RequestKind::kWrite);
  CHECK(flagged.write.create().mode() ==
        static_cast<int32_t>(CreateMode::kPersistent));
  // createContainer makes a container whatever its (non-TTL) flag.
  Request container = RoundTrip(CreateOf(OpCode::kCreateContainer, 1));
  CHECK(container.write.create().mode() ==
        static_cast<int32_t>(CreateMode::kContainer));

  struct Refused {
    OpCode op;
    int32_t mode;
  };
  for (const Refused& r : {Refused{OpCode::kCreate, 5},  // TTL without TTL
                           Refused{OpCode::kCreate2, 6},
                           Refused{OpCode::kCreateContainer, 5},
                           Refused{OpCode::kCreateTtl, 0},  // TTL, no TTL mode
                           Refused{OpCode::kCreateTtl, 4},
                           Refused{OpCode::kCreate, 7},  // unknown flags
                           Refused{OpCode::kCreate, -1}}) {
    INFO(OpCodeName(static_cast<int32_t>(r.op)) << " mode " << r.mode);
    absl::StatusOr<Request> back =
        DecodeRequest(Encode(CreateOf(r.op, r.mode, 10)), kMax);
    REQUIRE(back.ok());
    CHECK(back->kind == RequestKind::kRefused);
    CHECK(back->error == ZkError::kBadArguments);
    CHECK_FALSE(back->write.has_create());
  }

  // In a multi, as ZooKeeper's MultiOperationRecord reads them: an unknown
  // flag is persistent, a TTL counts only for a TTL mode, and a TTL mode
  // sent without one keeps 0 (which the preparer refuses).
  std::string body;
  JuteWriter w(&body);
  w.Int(1);
  w.Int(static_cast<int32_t>(OpCode::kMulti));
  auto create = [&w](OpCode op, const std::string& path, int32_t flags,
                     bool with_ttl, int64_t ttl) {
    w.Int(static_cast<int32_t>(op));
    w.Bool(false);
    w.Int(-1);
    w.String(path);
    w.Buffer("");
    w.Int(0);  // no ACL entries
    w.Int(flags);
    if (with_ttl) w.Long(ttl);
  };
  create(OpCode::kCreate2, "/unknown", 9, false, 0);
  create(OpCode::kCreateTtl, "/not-ttl", 1, true, 500);
  create(OpCode::kCreate, "/ttl-mode", 5, false, 0);
  create(OpCode::kCreateContainer, "/plain", 0, false, 0);
  w.Int(-1);
  w.Bool(true);
  w.Int(-1);
  absl::StatusOr<Request> multi = DecodeRequest(body, kMax);
  REQUIRE(multi.ok());
  REQUIRE(multi->write.multi().ops_size() == 4);
  const auto& ops = multi->write.multi().ops();
  CHECK(ops[0].create().mode() == 0);
  CHECK(ops[1].create().mode() == 1);
  CHECK(ops[1].create().ttl_ms() == 0);
  CHECK(ops[2].create().mode() == 5);
  CHECK(ops[2].create().ttl_ms() == 0);
  CHECK(ops[3].create().mode() == 0);
  CHECK(multi->result_types ==
        std::vector<OpCode>{OpCode::kCreate, OpCode::kCreate,
                            OpCode::kCreate2, OpCode::kCreate});
}

TEST_CASE("zkwire: reads, multiRead and the session's own requests",
          "[zkwire]") {
  std::vector<Request> requests;
  for (OpCode op : {OpCode::kGetData, OpCode::kExists, OpCode::kGetChildren,
                    OpCode::kGetChildren2, OpCode::kGetAcl,
                    OpCode::kGetEphemerals, OpCode::kGetAllChildrenNumber}) {
    Request r = Header(op);
    r.kind = RequestKind::kRead;
    r.read.op = op;
    r.read.path = "/r";
    r.read.watch = op == OpCode::kExists || op == OpCode::kGetChildren2;
    requests.push_back(r);
  }
  Request multi_read = Header(OpCode::kMultiRead);
  multi_read.kind = RequestKind::kMultiRead;
  multi_read.reads = {{OpCode::kGetData, "/a", false},
                      {OpCode::kGetChildren, "/b", false}};
  requests.push_back(multi_read);
  Request sync = Header(OpCode::kSync);
  sync.kind = RequestKind::kSync;
  sync.path = "/s";
  requests.push_back(sync);
  Request auth = Header(OpCode::kAuth, kAuthXid);
  auth.kind = RequestKind::kAuth;
  auth.scheme = "digest";
  auth.credentials = "user:secret";
  requests.push_back(auth);
  for (OpCode op : {OpCode::kSetWatches, OpCode::kSetWatches2}) {
    Request r = Header(op, kSetWatchesXid);
    r.kind = RequestKind::kSetWatches;
    r.set_watches.relative_zxid = 0x100000005;
    r.set_watches.data = {"/d1", "/d2"};
    r.set_watches.exist = {"/e"};
    r.set_watches.child = {};
    if (op == OpCode::kSetWatches2) {
      r.set_watches.persistent = {"/p"};
      r.set_watches.persistent_recursive = {"/pr", "/pr2"};
    }
    requests.push_back(r);
  }
  Request add = Header(OpCode::kAddWatch);
  add.kind = RequestKind::kAddWatch;
  add.path = "/w";
  add.watch_mode = WatchMode::kPersistentRecursive;
  requests.push_back(add);
  for (WatcherType type : {WatcherType::kChildren, WatcherType::kData,
                           WatcherType::kAny, WatcherType::kPersistent,
                           WatcherType::kPersistentRecursive}) {
    Request remove = Header(OpCode::kRemoveWatches);
    remove.kind = RequestKind::kRemoveWatches;
    remove.path = "/w";
    remove.watcher_type = type;
    requests.push_back(remove);
  }
  Request check = Header(OpCode::kCheckWatches);
  check.kind = RequestKind::kCheckWatches;
  check.path = "/w";
  check.watcher_type = WatcherType::kData;
  requests.push_back(check);
  for (auto [op, kind] :
       {std::pair{OpCode::kWhoAmI, RequestKind::kWhoAmI},
        std::pair{OpCode::kPing, RequestKind::kPing},
        std::pair{OpCode::kCloseSession, RequestKind::kCloseSession}}) {
    Request r = Header(op, op == OpCode::kPing ? kPingXid : 3);
    r.kind = kind;
    requests.push_back(r);
  }

  for (const Request& r : requests) {
    INFO(OpCodeName(r.header.type));
    Request back = RoundTrip(r);
    CHECK(back.kind == r.kind);
    CHECK(back.read.op == r.read.op);
    CHECK(back.read.path == r.read.path);
    CHECK(back.read.watch == r.read.watch);
    REQUIRE(back.reads.size() == r.reads.size());
    for (size_t i = 0; i < r.reads.size(); ++i) {
      CHECK(back.reads[i].op == r.reads[i].op);
      CHECK(back.reads[i].path == r.reads[i].path);
    }
    CHECK(back.path == r.path);
    CHECK(back.watch_mode == r.watch_mode);
    CHECK(back.watcher_type == r.watcher_type);
    CHECK(back.scheme == r.scheme);
    CHECK(back.credentials == r.credentials);
    CHECK(back.set_watches.relative_zxid == r.set_watches.relative_zxid);
    CHECK(back.set_watches.data == r.set_watches.data);
    CHECK(back.set_watches.exist == r.set_watches.exist);
    CHECK(back.set_watches.child == r.set_watches.child);
    CHECK(back.set_watches.persistent == r.set_watches.persistent);
    CHECK(back.set_watches.persistent_recursive ==
          r.set_watches.persistent_recursive);
    CheckEveryTruncationRefused(Encode(r));
  }
}

TEST_CASE("zkwire: multiRead sets no watch and holds only reads",
          "[zkwire]") {
  Request r = Header(OpCode::kMultiRead);
  r.kind = RequestKind::kMultiRead;
  r.reads = {{OpCode::kGetData, "/a", true}};
  Request back = RoundTrip(r);
  REQUIRE(back.reads.size() == 1);
  CHECK_FALSE(back.reads[0].watch);

  // A multiRead holding a create, and a multi holding a read, are
  // malformed: the connection closes.
  std::string read_in_multi;
  JuteWriter w(&read_in_multi);
  w.Int(1);
  w.Int(static_cast<int32_t>(OpCode::kMulti));
  w.Int(static_cast<int32_t>(OpCode::kGetData));
  w.Bool(false);
  w.Int(-1);
  w.String("/a");
  w.Bool(false);
  w.Int(-1);
  w.Bool(true);
  w.Int(-1);
  absl::StatusOr<Request> bad = DecodeRequest(read_in_multi, kMax);
  REQUIRE_FALSE(bad.ok());
  CHECK(ErrorOf(bad.status()) == Error::kMarshallingError);

  Request with_write = MultiOf({CreateOp("/c", 0, 0)});
  std::string write_in_read = Encode(with_write);
  write_in_read[7] = static_cast<char>(OpCode::kMultiRead);
  bad = DecodeRequest(write_in_read, kMax);
  REQUIRE_FALSE(bad.ok());
  CHECK(ErrorOf(bad.status()) == Error::kMarshallingError);
}

TEST_CASE("zkwire: requests synod does not run are answered, not dropped",
          "[zkwire]") {
  struct Case {
    int32_t type;
    std::string body;
    ZkError error;
  };
  std::string bad_mode;
  JuteWriter(&bad_mode).String("/w");
  JuteWriter(&bad_mode).Int(2);
  std::string bad_type;
  JuteWriter(&bad_type).String("/w");
  JuteWriter(&bad_type).Int(0);
  for (const Case& c :
       {Case{static_cast<int32_t>(OpCode::kSasl), "token", ZkError::kUnimplemented},
        Case{static_cast<int32_t>(OpCode::kReconfig), "", ZkError::kReconfigDisabled},
        Case{999, "", ZkError::kUnimplemented},
        Case{static_cast<int32_t>(OpCode::kCreateSession), "", ZkError::kUnimplemented},
        Case{static_cast<int32_t>(OpCode::kAddWatch), bad_mode, ZkError::kBadArguments},
        Case{static_cast<int32_t>(OpCode::kRemoveWatches), bad_type, ZkError::kBadArguments},
        Case{static_cast<int32_t>(OpCode::kCheckWatches), bad_type, ZkError::kBadArguments}}) {
    INFO("opcode " << c.type);
    std::string body;
    JuteWriter w(&body);
    w.Int(11);
    w.Int(c.type);
    body += c.body;
    absl::StatusOr<Request> r = DecodeRequest(body, kMax);
    REQUIRE(r.ok());
    CHECK(r->kind == RequestKind::kRefused);
    CHECK(r->error == c.error);
    CHECK(r->header.xid == 11);
  }
  // Short of a whole header, nothing is answered.
  CHECK_FALSE(DecodeRequest(Bytes({0, 0, 0, 1, 0, 0}), kMax).ok());
}

TEST_CASE("zkwire: vectors and buffers past the limit or the frame are refused",
          "[zkwire]") {
  // A setWatches claiming a billion paths in a few bytes.
  std::string body;
  JuteWriter w(&body);
  w.Int(kSetWatchesXid);
  w.Int(static_cast<int32_t>(OpCode::kSetWatches));
  w.Long(0);
  w.Int(1 << 30);
  absl::StatusOr<Request> r = DecodeRequest(body, kMax);
  REQUIRE_FALSE(r.ok());
  CHECK(ErrorOf(r.status()) == Error::kMarshallingError);

  // Data longer than the limit, though the frame holds it.
  Request set = Header(OpCode::kSetData);
  set.kind = RequestKind::kWrite;
  set.write.mutable_set_data()->set_path("/s");
  set.write.mutable_set_data()->set_data(std::string(200, 'x'));
  r = DecodeRequest(Encode(set), 100);
  REQUIRE_FALSE(r.ok());
  CHECK(ErrorOf(r.status()) == Error::kMarshallingError);
  CHECK(DecodeRequest(Encode(set), 200).ok());
}

TEST_CASE("zkwire: reply bodies, multi results and frames", "[zkwire]") {
  Stat stat;
  stat.czxid = 1;
  stat.mzxid = 2;
  stat.pzxid = 3;
  stat.version = 4;
  stat.data_length = 5;

  SECTION("a write's result alone") {
    std::string out;
    JuteWriter w(&out);
    OpResult create;
    create.type = OpCode::kCreate;
    create.path = "/a0000000001";
    WriteResultBody(create, &w);
    CHECK(out == Bytes({0, 0, 0, 12, '/', 'a', '0', '0', '0', '0', '0', '0',
                        '0', '0', '0', '1'}));
    out.clear();
    OpResult del;
    del.type = OpCode::kDelete;
    WriteResultBody(del, &w);
    CHECK(out.empty());
    for (OpCode type : {OpCode::kSetData, OpCode::kSetAcl, OpCode::kCheck}) {
      out.clear();
      OpResult r;
      r.type = type;
      r.stat = stat;
      WriteResultBody(r, &w);
      JuteReader in(out, kMax);
      Stat back;
      REQUIRE(ReadStat(&in, &back).ok());
      CHECK(back == stat);
      CHECK(in.done());
    }
  }
  SECTION("a multi's results round-trip, each behind its header") {
    std::vector<OpResult> results(7);
    results[0].type = OpCode::kCreate;
    results[0].path = "/p";
    results[1].type = OpCode::kCreate2;
    results[1].path = "/q";
    results[1].stat = stat;
    results[2].type = OpCode::kDelete;
    results[3].type = OpCode::kSetData;
    results[3].stat = stat;
    results[4].type = OpCode::kCheck;
    results[5].type = OpCode::kGetData;
    results[5].data = "bytes";
    results[5].stat = stat;
    results[6].type = OpCode::kGetChildren;
    results[6].children = {"x", "y"};
    std::string out;
    JuteWriter w(&out);
    WriteMultiResponse(results, &w);
    JuteReader in(out, kMax);
    std::vector<OpResult> back;
    REQUIRE(ReadMultiResponse(&in, &back).ok());
    CHECK(in.done());
    REQUIRE(back.size() == results.size());
    for (size_t i = 0; i < results.size(); ++i) {
      CHECK(back[i].type == results[i].type);
      CHECK(back[i].path == results[i].path);
      CHECK(back[i].stat == results[i].stat);
      CHECK(back[i].data == results[i].data);
      CHECK(back[i].children == results[i].children);
    }
  }
  SECTION("a failed multi: error results with their codes") {
    std::vector<OpResult> results(3);
    results[0].err = 0;
    results[1].err = static_cast<int32_t>(ZkError::kNoNode);
    results[2].err = static_cast<int32_t>(ZkError::kRuntimeInconsistency);
    std::string out;
    JuteWriter w(&out);
    WriteMultiResponse(results, &w);
    // type -1, not done, err; the ErrorResponse; ...; then the end marker.
    CHECK(out.substr(0, 13) == Bytes({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,
                                      0, 0, 0, 0}));
    CHECK(out.substr(out.size() - 9) ==
          Bytes({0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff}));
    JuteReader in(out, kMax);
    std::vector<OpResult> back;
    REQUIRE(ReadMultiResponse(&in, &back).ok());
    REQUIRE(back.size() == 3);
    CHECK(back[1].type == OpCode::kError);
    CHECK(back[1].err == static_cast<int32_t>(ZkError::kNoNode));
    CHECK(back[2].err == static_cast<int32_t>(ZkError::kRuntimeInconsistency));
  }
  SECTION("whoAmI and frames") {
    std::string out;
    const size_t start = BeginFrame(&out);
    JuteWriter w(&out);
    WriteReplyHeader(ReplyHeader{3, 9, 0}, &w);
    WriteWhoAmIResponse({{"ip", "127.0.0.1"}, {"digest", "u"}}, &w);
    EndFrame(start, &out);
    absl::StatusOr<int32_t> length = FrameLength(out, 0, kMax);
    REQUIRE(length.ok());
    CHECK(static_cast<size_t>(*length) == out.size() - kFrameHeaderBytes);
    JuteReader in(std::string_view(out).substr(kFrameHeaderBytes), kMax);
    ReplyHeader h;
    REQUIRE(ReadReplyHeader(&in, &h).ok());
    CHECK((h.xid == 3 && h.zxid == 9 && h.err == 0));
    std::vector<ClientInfo> ids;
    REQUIRE(ReadWhoAmIResponse(&in, &ids).ok());
    CHECK(ids == std::vector<ClientInfo>{{"ip", "127.0.0.1"}, {"digest", "u"}});
    CHECK(in.done());
  }
}

}  // namespace
}  // namespace synod::zkwire
