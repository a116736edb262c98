// Tests for lib/tree/data_tree: applying hand-built txns of every kind (Stat
// fields, events, dirty records and OpResults exactly as ZooKeeper), refusal
// of contradicting txns, ephemeral and session tracking, cleanup candidates,
// and the node/session records (round trips and malformed input).

#include "tree/data_tree.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "synod/types.h"
#include "txn/txn.pb.h"
#include "util/coding.h"
#include "util/limits.h"
#include "util/strings.h"

namespace synod {
namespace {

// Errors are compared by ZooKeeper's name, so failures read "NoNode == NoAuth".
std::string Name(Error e) { return std::string(ErrorName(e)); }

constexpr int64_t kEpoch = 2;
constexpr Zxid Z(int64_t counter) { return MakeZxid(kEpoch, counter); }

// ---- Txn builders -----------------------------------------------------------

txn::Txn Header(Zxid zxid, int64_t time_ms, int64_t session = 0) {
  txn::Txn t;
  t.set_zxid(zxid);
  t.set_time_ms(time_ms);
  t.set_session_id(session);
  return t;
}

struct CreateArgs {
  std::string data;
  int32_t parent_cversion = 1;
  CreateMode mode = CreateMode::kPersistent;
  int64_t owner = 0;
  int64_t ttl_ms = 0;
  AclList acl = OpenAcl();
};

txn::Txn CreateTxn(Zxid zxid, int64_t time_ms, const std::string& path,
                   const CreateArgs& a = {}) {
  txn::Txn t = Header(zxid, time_ms, a.owner);
  txn::CreateTxn* c = t.mutable_create();
  c->set_path(path);
  c->set_data(a.data);
  AclToProto(a.acl, c->mutable_acl());
  c->set_mode(static_cast<int32_t>(a.mode));
  c->set_ttl_ms(a.ttl_ms);
  c->set_parent_cversion(a.parent_cversion);
  c->set_ephemeral_owner(a.owner);
  return t;
}

txn::Txn DeleteTxn(Zxid zxid, int64_t time_ms, const std::string& path) {
  txn::Txn t = Header(zxid, time_ms);
  t.mutable_delete_node()->set_path(path);
  return t;
}

txn::Txn SetTxn(Zxid zxid, int64_t time_ms, const std::string& path,
                const std::string& data, int32_t version) {
  txn::Txn t = Header(zxid, time_ms);
  txn::SetDataTxn* s = t.mutable_set_data();
  s->set_path(path);
  s->set_data(data);
  s->set_version(version);
  return t;
}

txn::Txn SetAclTxn(Zxid zxid, int64_t time_ms, const std::string& path,
                   const AclList& acl, int32_t aversion) {
  txn::Txn t = Header(zxid, time_ms);
  txn::SetAclTxn* s = t.mutable_set_acl();
  s->set_path(path);
  AclToProto(acl, s->mutable_acl());
  s->set_aversion(aversion);
  return t;
}

txn::Txn CheckTxn(Zxid zxid, int64_t time_ms, const std::string& path) {
  txn::Txn t = Header(zxid, time_ms);
  t.mutable_check()->set_path(path);
  return t;
}

txn::Txn SessionTxn(Zxid zxid, int64_t time_ms, int32_t timeout_ms) {
  txn::Txn t = Header(zxid, time_ms);
  t.mutable_create_session()->set_timeout_ms(timeout_ms);
  return t;
}

txn::Txn CloseTxn(Zxid zxid, int64_t time_ms, int64_t session,
                  const std::vector<std::string>& ephemerals) {
  txn::Txn t = Header(zxid, time_ms, session);
  txn::CloseSessionTxn* c = t.mutable_close_session();
  for (const std::string& p : ephemerals) c->add_ephemerals(p);
  return t;
}

// A multi of `ops` (their own headers are ignored by the tree).
txn::Txn MultiTxn(Zxid zxid, int64_t time_ms,
                  const std::vector<txn::Txn>& ops) {
  txn::Txn t = Header(zxid, time_ms);
  txn::MultiTxn* m = t.mutable_multi();
  for (const txn::Txn& op : ops) {
    txn::Txn* o = m->add_ops();
    *o = op;
    o->clear_zxid();
    o->clear_time_ms();
    o->clear_session_id();
  }
  return t;
}

// ---- Observation helpers ----------------------------------------------------

std::string StatStr(const Stat& s) {
  return absl::StrCat("czxid=", s.czxid, " mzxid=", s.mzxid, " pzxid=", s.pzxid,
                      " ctime=", s.ctime, " mtime=", s.mtime,
                      " version=", s.version, " cversion=", s.cversion,
                      " aversion=", s.aversion, " owner=", s.ephemeral_owner,
                      " data_length=", s.data_length,
                      " num_children=", s.num_children);
}

std::string AclStr(const AclList& acl) {
  std::string out;
  for (const Acl& a : acl)
    absl::StrAppend(&out, a.scheme, ":", a.id, "/", a.perms, ";");
  return out;
}

using Strings = std::vector<std::string>;

Strings Events(const ApplyOutput& out) {
  Strings v;
  for (const TreeEvent& e : out.events) {
    v.push_back(absl::StrCat(EventTypeName(e.type), " ", AV(e.path)));
  }
  return v;
}

Strings Dirty(const ApplyOutput& out) {
  Strings v(out.dirty_nodes.begin(), out.dirty_nodes.end());
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<int64_t> DirtySessions(const ApplyOutput& out) {
  std::vector<int64_t> v(out.dirty_sessions.begin(), out.dirty_sessions.end());
  std::sort(v.begin(), v.end());
  return v;
}

Strings Children(const Znode& n) {
  return Strings(n.children.begin(), n.children.end());
}

const Znode& Get(const DataTree& tree, std::string_view path) {
  const Znode* n = tree.Find(path);
  REQUIRE(n != nullptr);
  return *n;
}

// Applies `t`, requiring success; returns what it raised.
ApplyOutput MustApply(DataTree& tree, const txn::Txn& t,
                      std::vector<OpResult>* results = nullptr) {
  ApplyOutput out;
  absl::Status s = tree.Apply(t, &out, results);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return out;
}

std::string ApplyError(DataTree& tree, const txn::Txn& t) {
  ApplyOutput out;
  std::vector<OpResult> results;
  return Name(ErrorOf(tree.Apply(t, &out, &results)));
}

AclList DigestAcl() {
  return {Acl{perms::kRead | perms::kAdmin, "digest",
              "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="},
          Acl{perms::kWrite, "ip", "10.0.0.0/8"}};
}

// ---- Fresh tree -------------------------------------------------------------

TEST_CASE("A fresh DataTree holds / and /synod", "[tree]") {
  DataTree tree;
  const Znode& root = Get(tree, "/");
  const Znode& system = Get(tree, "/synod");
  CHECK(root.stat.num_children == 1);
  CHECK(Children(root) == Strings{"synod"});
  CHECK(system.stat.num_children == 0);
  CHECK(system.children.empty());
  CHECK(AclStr(*root.acl) == AclStr(OpenAcl()));
  CHECK(AclStr(*system.acl) == AclStr(OpenAcl()));
  CHECK(root.mode == CreateMode::kPersistent);
  CHECK(tree.Find("/nope") == nullptr);
  CHECK(tree.Find("") == nullptr);
  CHECK(tree.last_zxid() == 0);
  CHECK(tree.node_count() == 2);
  CHECK(tree.ephemeral_count() == 0);
  CHECK(tree.sessions().empty());
  CHECK(tree.CleanupCandidates(int64_t{1} << 50).empty());
}

// ---- Applying each txn type -------------------------------------------------

TEST_CASE(
    "Apply create sets the node's Stat and the parent's cversion and pzxid",
    "[tree]") {
  DataTree tree;
  std::vector<OpResult> results;
  ApplyOutput out =
      MustApply(tree, CreateTxn(Z(1), 100, "/a", {"hi", 1}), &results);

  const Znode& a = Get(tree, "/a");
  Stat want;
  want.czxid = want.mzxid = want.pzxid = Z(1);
  want.ctime = want.mtime = 100;
  want.data_length = 2;
  CHECK(StatStr(a.stat) == StatStr(want));
  CHECK(a.data == "hi");
  CHECK(AclStr(*a.acl) == AclStr(OpenAcl()));
  CHECK(a.mode == CreateMode::kPersistent);
  CHECK(a.ttl_ms == 0);

  Stat root_want;
  root_want.pzxid = Z(1);
  root_want.cversion = 1;
  root_want.num_children = 2;
  CHECK(StatStr(Get(tree, "/").stat) == StatStr(root_want));
  CHECK(Children(Get(tree, "/")) == Strings{"a", "synod"});

  CHECK(Events(out) == Strings{"NodeCreated /a", "NodeChildrenChanged /"});
  CHECK(Dirty(out) == Strings{"/", "/a"});
  CHECK(out.dirty_sessions.empty());
  REQUIRE(results.size() == 1);
  CHECK(results[0].type == Op::Type::kCreate);
  CHECK(results[0].path == "/a");
  CHECK(StatStr(results[0].stat) == StatStr(a.stat));
  CHECK(tree.last_zxid() == Z(1));
  CHECK(tree.node_count() == 3);

  // The parent's cversion is the txn's, whatever the tree held before.
  Stat a_before = a.stat;
  out = MustApply(tree, CreateTxn(Z(2), 200, "/a/b", {"", 7}));
  Stat a_want = a_before;
  a_want.cversion = 7;
  a_want.pzxid = Z(2);
  a_want.num_children = 1;
  CHECK(StatStr(Get(tree, "/a").stat) == StatStr(a_want));
  CHECK(Get(tree, "/a/b").stat.data_length == 0);
  CHECK(Events(out) == Strings{"NodeCreated /a/b", "NodeChildrenChanged /a"});
  CHECK(Dirty(out) == Strings{"/a", "/a/b"});
}

TEST_CASE("Apply create keeps mode, TTL, owner and the resolved ACL",
          "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 10, "/t",
                            {"x", 1, CreateMode::kPersistentWithTtl, 0, 5000,
                             DigestAcl()}));
  MustApply(tree, CreateTxn(Z(2), 20, "/e",
                            {"", 2, CreateMode::kEphemeral, Z(1), 0}));
  MustApply(tree, CreateTxn(Z(3), 30, "/c", {"", 3, CreateMode::kContainer}));
  const Znode& t = Get(tree, "/t");
  CHECK(t.mode == CreateMode::kPersistentWithTtl);
  CHECK(t.ttl_ms == 5000);
  CHECK(t.stat.ephemeral_owner == 0);
  CHECK(AclStr(*t.acl) == AclStr(DigestAcl()));
  const Znode& e = Get(tree, "/e");
  CHECK(e.mode == CreateMode::kEphemeral);
  CHECK(e.stat.ephemeral_owner == Z(1));
  CHECK(Get(tree, "/c").mode == CreateMode::kContainer);
  CHECK(tree.ephemeral_count() == 1);
  CHECK(Get(tree, "/").stat.cversion == 3);
}

TEST_CASE("Apply setData changes only mzxid, mtime, version and data_length",
          "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 100, "/a", {"hi"}));
  MustApply(tree, CreateTxn(Z(2), 200, "/a/b"));
  const Stat before = Get(tree, "/a").stat;
  const Stat root_before = Get(tree, "/").stat;

  std::vector<OpResult> results;
  ApplyOutput out =
      MustApply(tree, SetTxn(Z(3), 300, "/a", "hello", 1), &results);
  Stat want = before;
  want.mzxid = Z(3);
  want.mtime = 300;
  want.version = 1;
  want.data_length = 5;
  const Znode& a = Get(tree, "/a");
  CHECK(StatStr(a.stat) == StatStr(want));
  CHECK(a.data == "hello");
  CHECK(StatStr(Get(tree, "/").stat) == StatStr(root_before));
  CHECK(Events(out) == Strings{"NodeDataChanged /a"});
  CHECK(Dirty(out) == Strings{"/a"});
  CHECK(out.dirty_sessions.empty());
  REQUIRE(results.size() == 1);
  CHECK(results[0].type == Op::Type::kSet);
  CHECK(results[0].path == "/a");
  CHECK(StatStr(results[0].stat) == StatStr(want));

  // The version is the txn's; empty data gives data_length 0.
  MustApply(tree, SetTxn(Z(4), 400, "/a", "", 9));
  CHECK(Get(tree, "/a").stat.version == 9);
  CHECK(Get(tree, "/a").stat.data_length == 0);
  CHECK(Get(tree, "/a").data.empty());
}

TEST_CASE("Apply setACL changes only the ACL and aversion, without events",
          "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 100, "/a", {"hi"}));
  const Stat before = Get(tree, "/a").stat;

  std::vector<OpResult> results;
  ApplyOutput out =
      MustApply(tree, SetAclTxn(Z(2), 200, "/a", DigestAcl(), 1), &results);
  Stat want = before;
  want.aversion = 1;
  const Znode& a = Get(tree, "/a");
  CHECK(StatStr(a.stat) == StatStr(want));
  CHECK(AclStr(*a.acl) == AclStr(DigestAcl()));
  CHECK(a.data == "hi");
  CHECK(Events(out).empty());
  CHECK(Dirty(out) == Strings{"/a"});
  REQUIRE(results.size() == 1);
  CHECK(results[0].path == "/a");
  CHECK(StatStr(results[0].stat) == StatStr(want));
  CHECK(tree.last_zxid() == Z(2));
}

TEST_CASE("Apply delete moves the parent's pzxid but not its cversion",
          "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 100, "/a"));
  MustApply(tree, CreateTxn(Z(2), 200, "/a/b", {"", 1}));
  MustApply(tree, CreateTxn(Z(3), 300, "/a/c", {"", 2}));
  const Stat before = Get(tree, "/a").stat;

  std::vector<OpResult> results;
  ApplyOutput out = MustApply(tree, DeleteTxn(Z(4), 400, "/a/b"), &results);
  Stat want = before;
  want.pzxid = Z(4);
  want.num_children = 1;
  CHECK(StatStr(Get(tree, "/a").stat) == StatStr(want));
  CHECK(Get(tree, "/a").stat.cversion == 2);
  CHECK(Children(Get(tree, "/a")) == Strings{"c"});
  CHECK(tree.Find("/a/b") == nullptr);
  CHECK(Events(out) == Strings{"NodeDeleted /a/b", "NodeChildrenChanged /a"});
  CHECK(Dirty(out) == Strings{"/a", "/a/b"});
  REQUIRE(results.size() == 1);
  CHECK(results[0].type == Op::Type::kDelete);
  CHECK(results[0].path == "/a/b");
  CHECK(tree.node_count() == 4);
}

TEST_CASE("Apply delete never moves the parent's pzxid down", "[tree]") {
  // A tree restored from records whose /p has a pzxid above the deleting
  // txn's zxid (as after a snapshot taken ahead of the log).
  DataTree source;
  MustApply(source, CreateTxn(Z(1), 1, "/p"));
  MustApply(source, CreateTxn(Z(2), 2, "/p/x"));
  MustApply(source, CreateTxn(Z(50), 3, "/p/y"));
  DataTree tree;
  for (const char* path : {"/p", "/p/x", "/p/y"}) {
    REQUIRE(tree.LoadNode(path, source.EncodeNode(path)).ok());
  }
  tree.SetLastZxid(Z(10));
  REQUIRE(Get(tree, "/p").stat.pzxid == Z(50));

  MustApply(tree, DeleteTxn(Z(20), 4, "/p/x"));
  CHECK(Get(tree, "/p").stat.pzxid == Z(50));
  CHECK(Get(tree, "/p").stat.num_children == 1);
  MustApply(tree, DeleteTxn(Z(60), 5, "/p/y"));
  CHECK(Get(tree, "/p").stat.pzxid == Z(60));
}

TEST_CASE("Apply check changes nothing but last_zxid", "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 100, "/a", {"hi"}));
  const Stat before = Get(tree, "/a").stat;
  std::vector<OpResult> results;
  ApplyOutput out = MustApply(tree, CheckTxn(Z(2), 200, "/a"), &results);
  CHECK(StatStr(Get(tree, "/a").stat) == StatStr(before));
  CHECK(out.events.empty());
  CHECK(out.dirty_nodes.empty());
  CHECK(out.dirty_sessions.empty());
  REQUIRE(results.size() == 1);
  CHECK(results[0].type == Op::Type::kCheck);
  CHECK(results[0].path == "/a");
  CHECK(tree.last_zxid() == Z(2));
}

TEST_CASE("Apply multi runs its ops in order under the multi's zxid and time",
          "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 100, "/keep"));
  txn::Txn multi = MultiTxn(
      Z(7), 700,
      {CreateTxn(0, 0, "/m", {"d", 2}), CreateTxn(0, 0, "/m/x", {"", 1}),
       SetTxn(0, 0, "/m", "dd", 1), CheckTxn(0, 0, "/m"),
       DeleteTxn(0, 0, "/m/x"), SetAclTxn(0, 0, "/keep", DigestAcl(), 1)});
  std::vector<OpResult> results;
  ApplyOutput out = MustApply(tree, multi, &results);

  CHECK(Events(out) == Strings{"NodeCreated /m", "NodeChildrenChanged /",
                               "NodeCreated /m/x", "NodeChildrenChanged /m",
                               "NodeDataChanged /m", "NodeDeleted /m/x",
                               "NodeChildrenChanged /m"});
  CHECK(Dirty(out) == Strings{"/", "/keep", "/m", "/m/x"});
  CHECK(out.dirty_sessions.empty());

  Stat want;
  want.czxid = want.mzxid = want.pzxid = Z(7);
  want.ctime = want.mtime = 700;
  want.version = 1;
  want.cversion = 1;
  want.data_length = 2;
  CHECK(StatStr(Get(tree, "/m").stat) == StatStr(want));
  CHECK(Get(tree, "/keep").stat.aversion == 1);
  CHECK(tree.Find("/m/x") == nullptr);
  CHECK(tree.last_zxid() == Z(7));

  REQUIRE(results.size() == 6);
  CHECK(results[0].type == Op::Type::kCreate);
  CHECK(results[0].path == "/m");
  CHECK(results[0].stat.version == 0);  // as of that op
  CHECK(results[1].type == Op::Type::kCreate);
  CHECK(results[1].path == "/m/x");
  CHECK(results[2].type == Op::Type::kSet);
  CHECK(results[2].path == "/m");
  CHECK(results[2].stat.version == 1);
  CHECK(results[3].type == Op::Type::kCheck);
  CHECK(results[3].path == "/m");
  CHECK(results[4].type == Op::Type::kDelete);
  CHECK(results[4].path == "/m/x");
  CHECK(results[5].path == "/keep");
  CHECK(results[5].stat.aversion == 1);
}

TEST_CASE("Apply of an empty multi only advances last_zxid", "[tree]") {
  DataTree tree;
  std::vector<OpResult> results(3);
  ApplyOutput out = MustApply(tree, MultiTxn(Z(1), 100, {}), &results);
  CHECK(results.empty());
  CHECK(out.events.empty());
  CHECK(out.dirty_nodes.empty());
  CHECK(tree.last_zxid() == Z(1));
  CHECK(tree.node_count() == 2);
}

TEST_CASE("Apply appends to an ApplyOutput and accepts null results",
          "[tree]") {
  DataTree tree;
  ApplyOutput out;
  REQUIRE(tree.Apply(CreateTxn(Z(1), 1, "/a"), &out, nullptr).ok());
  REQUIRE(tree.Apply(SetTxn(Z(2), 2, "/a", "x", 1), &out, nullptr).ok());
  REQUIRE(tree.Apply(MultiTxn(Z(3), 3, {CheckTxn(0, 0, "/a")}), &out, nullptr)
              .ok());
  CHECK(Events(out) == Strings{"NodeCreated /a", "NodeChildrenChanged /",
                               "NodeDataChanged /a"});
  CHECK(Dirty(out) == Strings{"/", "/a"});
  out.Clear();
  CHECK(out.events.empty());
  CHECK(out.dirty_nodes.empty());
}

TEST_CASE("Apply fills a reused results vector afresh", "[tree]") {
  // A caller may keep one vector across Apply calls; no entry may carry a
  // previous txn's type, path or Stat.
  DataTree tree;
  std::vector<OpResult> results;
  MustApply(tree, CreateTxn(Z(1), 100, "/a", {"data"}), &results);
  REQUIRE(results.size() == 1);
  REQUIRE(results[0].stat.czxid == Z(1));

  MustApply(tree, DeleteTxn(Z(2), 200, "/a"), &results);
  REQUIRE(results.size() == 1);
  CHECK(results[0].type == Op::Type::kDelete);
  CHECK(results[0].path == "/a");
  CHECK(StatStr(results[0].stat) == StatStr(Stat{}));

  MustApply(tree, CreateTxn(Z(3), 300, "/b", {"data", 2}), &results);
  MustApply(tree, CheckTxn(Z(4), 400, "/b"), &results);
  REQUIRE(results.size() == 1);
  CHECK(results[0].type == Op::Type::kCheck);
  CHECK(StatStr(results[0].stat) == StatStr(Stat{}));

  MustApply(tree, SetTxn(Z(5), 500, "/b", "x", 1), &results);
  MustApply(tree, SessionTxn(Z(6), 600, 1000), &results);
  REQUIRE(results.size() == 1);
  CHECK(results[0].path.empty());
  CHECK(StatStr(results[0].stat) == StatStr(Stat{}));
}

TEST_CASE("Apply createSession opens a session keyed by its zxid", "[tree]") {
  DataTree tree;
  std::vector<OpResult> results;
  ApplyOutput out = MustApply(tree, SessionTxn(Z(3), 100, 4000), &results);
  REQUIRE(tree.sessions().size() == 1);
  CHECK(tree.sessions().at(Z(3)) == 4000);
  CHECK(DirtySessions(out) == std::vector<int64_t>{Z(3)});
  CHECK(out.events.empty());
  CHECK(out.dirty_nodes.empty());
  CHECK(results.size() == 1);
  CHECK(tree.node_count() == 2);

  MustApply(tree, SessionTxn(Z(4), 200, 9000));
  CHECK(tree.sessions().size() == 2);
  CHECK(tree.sessions().at(Z(4)) == 9000);
}

TEST_CASE("Apply closeSession deletes the listed ephemerals and the session",
          "[tree]") {
  DataTree tree;
  const int64_t s = Z(1), other = Z(2);
  MustApply(tree, SessionTxn(s, 1, 5000));
  MustApply(tree, SessionTxn(other, 2, 5000));
  MustApply(tree, CreateTxn(Z(3), 3, "/p", {"", 1}));
  MustApply(tree,
            CreateTxn(Z(4), 4, "/p/e2", {"", 1, CreateMode::kEphemeral, s}));
  MustApply(tree,
            CreateTxn(Z(5), 5, "/e1", {"", 2, CreateMode::kEphemeral, s}));
  MustApply(tree,
            CreateTxn(Z(6), 6, "/f", {"", 3, CreateMode::kEphemeral, other}));
  REQUIRE(tree.EphemeralsOf(s) == Strings{"/e1", "/p/e2"});
  REQUIRE(tree.ephemeral_count() == 3);
  const Stat p_before = Get(tree, "/p").stat;

  std::vector<OpResult> results;
  ApplyOutput out =
      MustApply(tree, CloseTxn(Z(7), 7, s, {"/e1", "/p/e2"}), &results);
  CHECK(Events(out) == Strings{"NodeDeleted /e1", "NodeChildrenChanged /",
                               "NodeDeleted /p/e2", "NodeChildrenChanged /p"});
  CHECK(Dirty(out) == Strings{"/", "/e1", "/p", "/p/e2"});
  CHECK(DirtySessions(out) == std::vector<int64_t>{s});
  CHECK(results.size() == 1);

  CHECK(tree.Find("/e1") == nullptr);
  CHECK(tree.Find("/p/e2") == nullptr);
  Stat p_want = p_before;
  p_want.pzxid = Z(7);
  p_want.num_children = 0;
  CHECK(StatStr(Get(tree, "/p").stat) == StatStr(p_want));
  CHECK(tree.EphemeralsOf(s).empty());
  CHECK(tree.EphemeralsOf(other) == Strings{"/f"});
  CHECK(tree.ephemeral_count() == 1);
  CHECK(tree.sessions().size() == 1);
  CHECK(tree.sessions().contains(other));
  CHECK_FALSE(tree.sessions().contains(s));

  // A session without ephemerals closes with no node events.
  out = MustApply(tree, CloseTxn(Z(8), 8, other, {}));
  CHECK(out.events.empty());
  CHECK(DirtySessions(out) == std::vector<int64_t>{other});
  CHECK(tree.sessions().empty());
  // Its ephemeral was not listed, so it stays (the preparer lists them).
  CHECK(tree.EphemeralsOf(other) == Strings{"/f"});
}

// ---- Ephemerals -------------------------------------------------------------

TEST_CASE(
    "EphemeralsOf lists a session's ephemerals sorted and forgets deleted ones",
    "[tree]") {
  DataTree tree;
  const int64_t s = Z(1), t = Z(2);
  MustApply(tree, SessionTxn(s, 1, 1000));
  MustApply(tree, SessionTxn(t, 1, 1000));
  MustApply(tree, CreateTxn(Z(3), 1, "/z", {"", 1, CreateMode::kEphemeral, s}));
  MustApply(tree, CreateTxn(Z(4), 1, "/a",
                            {"", 2, CreateMode::kEphemeralSequential, s}));
  MustApply(tree, CreateTxn(Z(5), 1, "/m", {"", 3}));
  MustApply(tree,
            CreateTxn(Z(6), 1, "/m/q", {"", 1, CreateMode::kEphemeral, s}));
  MustApply(tree, CreateTxn(Z(7), 1, "/b", {"", 4, CreateMode::kEphemeral, t}));

  CHECK(tree.EphemeralsOf(s) == Strings{"/a", "/m/q", "/z"});
  CHECK(tree.EphemeralsOf(t) == Strings{"/b"});
  CHECK(tree.EphemeralsOf(Z(99)).empty());
  CHECK(tree.EphemeralsOf(0).empty());  // persistent nodes are nobody's
  CHECK(tree.ephemeral_count() == 4);

  MustApply(tree, DeleteTxn(Z(8), 2, "/m/q"));
  CHECK(tree.EphemeralsOf(s) == Strings{"/a", "/z"});
  MustApply(tree, DeleteTxn(Z(9), 2, "/b"));
  CHECK(tree.EphemeralsOf(t).empty());
  CHECK(tree.ephemeral_count() == 2);
}

// ---- Refusals ---------------------------------------------------------------

TEST_CASE("Apply refuses zxids not above last_zxid", "[tree]") {
  DataTree tree;
  CHECK(ApplyError(tree, CreateTxn(0, 1, "/a")) ==
        Name(Error::kDataInconsistency));
  CHECK(ApplyError(tree, CreateTxn(-1, 1, "/a")) ==
        Name(Error::kDataInconsistency));
  CHECK(tree.Find("/a") == nullptr);
  CHECK(tree.last_zxid() == 0);

  MustApply(tree, CreateTxn(Z(5), 1, "/a"));
  CHECK(ApplyError(tree, CreateTxn(Z(5), 1, "/b")) ==
        Name(Error::kDataInconsistency));
  CHECK(ApplyError(tree, CreateTxn(Z(4), 1, "/b")) ==
        Name(Error::kDataInconsistency));
  CHECK(ApplyError(tree, SessionTxn(Z(5), 1, 100)) ==
        Name(Error::kDataInconsistency));
  CHECK(tree.Find("/b") == nullptr);
  CHECK(tree.sessions().empty());
  CHECK(tree.last_zxid() == Z(5));
  MustApply(tree, CreateTxn(Z(6), 1, "/b", {"", 2}));
}

TEST_CASE("Apply and LoadNode refuse what no valid request makes",
          "[tree]") {
  // Found by fuzzing: a create of "//" gave the root a child named "" and
  // every tree walk then looped; a mode out of range stored a record that
  // LoadNode refused; a snapshot key "//x" loaded a node nothing reaches.
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 1, "/a"));
  CHECK(ApplyError(tree, CreateTxn(Z(2), 1, "//")) ==
        Name(Error::kDataInconsistency));
  CHECK(ApplyError(tree, CreateTxn(Z(2), 1, "/a/")) ==
        Name(Error::kDataInconsistency));
  CreateArgs bad_mode;
  txn::Txn t = CreateTxn(Z(2), 1, "/m", bad_mode);
  t.mutable_create()->set_mode(7);
  CHECK(ApplyError(tree, t) == Name(Error::kDataInconsistency));
  t.mutable_create()->set_mode(-1);
  CHECK(ApplyError(tree, t) == Name(Error::kDataInconsistency));
  CreateArgs huge_acl;
  huge_acl.acl.clear();
  for (int i = 0; i < 4097; ++i) {
    huge_acl.acl.push_back(Acl{perms::kAll, "digest", "u" + std::to_string(i) + ":h"});
  }
  CHECK(ApplyError(tree, CreateTxn(Z(2), 1, "/h", huge_acl)) ==
        Name(Error::kDataInconsistency));
  CHECK(tree.node_count() == 3);  // "/", "/synod", "/a"
  CHECK(tree.Find("/a")->children.empty());

  const std::string record = tree.EncodeNode("/a");
  DataTree fresh;
  CHECK(ErrorOf(fresh.LoadNode("//x", record)) == Error::kDataInconsistency);
  CHECK(ErrorOf(fresh.LoadNode("/a/", record)) == Error::kDataInconsistency);
  CHECK(fresh.LoadNode("/a", record).ok());
}

TEST_CASE("Apply reports txns that contradict the tree as DataInconsistency",
          "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 1, "/a"));
  MustApply(tree, CreateTxn(Z(2), 1, "/a/b"));
  Zxid next = Z(3);

  SECTION("create of an existing node") {
    CHECK(ApplyError(tree, CreateTxn(next, 1, "/a")) ==
          Name(Error::kDataInconsistency));
    CHECK(Get(tree, "/").stat.num_children == 2);
  }
  SECTION("create of /") {
    CHECK(ApplyError(tree, CreateTxn(next, 1, "/")) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("create of the system node") {
    CHECK(ApplyError(tree, CreateTxn(next, 1, "/synod")) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("create under a missing parent") {
    CHECK(ApplyError(tree, CreateTxn(next, 1, "/x/y")) ==
          Name(Error::kDataInconsistency));
    CHECK(tree.Find("/x/y") == nullptr);
  }
  SECTION("delete of a missing node") {
    CHECK(ApplyError(tree, DeleteTxn(next, 1, "/nope")) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("delete of a non-empty node") {
    CHECK(ApplyError(tree, DeleteTxn(next, 1, "/a")) ==
          Name(Error::kDataInconsistency));
    CHECK(tree.Find("/a") != nullptr);
  }
  SECTION("delete of /") {
    CHECK(ApplyError(tree, DeleteTxn(next, 1, "/")) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("set of a missing node") {
    CHECK(ApplyError(tree, SetTxn(next, 1, "/nope", "x", 1)) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("setACL of a missing node") {
    CHECK(ApplyError(tree, SetAclTxn(next, 1, "/nope", OpenAcl(), 1)) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("closeSession listing a missing ephemeral") {
    CHECK(ApplyError(tree, CloseTxn(next, 1, Z(1), {"/gone"})) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("a multi with a contradicting op") {
    CHECK(ApplyError(tree, MultiTxn(next, 1,
                                    {CheckTxn(0, 0, "/a"),
                                     DeleteTxn(0, 0, "/nope")})) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("a multi nested in a multi") {
    CHECK(ApplyError(tree, MultiTxn(next, 1, {MultiTxn(0, 0, {})})) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("a txn without a body") {
    CHECK(ApplyError(tree, Header(next, 1)) == Name(Error::kDataInconsistency));
  }
}

// ---- Cleanup candidates -----------------------------------------------------

TEST_CASE("CleanupCandidates lists used, empty containers only", "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 100, "/c", {"", 1, CreateMode::kContainer}));
  MustApply(tree,
            CreateTxn(Z(2), 100, "/never", {"", 2, CreateMode::kContainer}));
  MustApply(tree, CreateTxn(Z(3), 100, "/plain", {"", 3}));
  CHECK(tree.CleanupCandidates(1000).empty());  // never had children

  MustApply(tree, CreateTxn(Z(4), 100, "/c/x", {"", 1}));
  MustApply(tree, CreateTxn(Z(5), 100, "/plain/x", {"", 1}));
  CHECK(tree.CleanupCandidates(1000).empty());  // has a child

  MustApply(tree, DeleteTxn(Z(6), 100, "/c/x"));
  MustApply(tree, DeleteTxn(Z(7), 100, "/plain/x"));
  CHECK(tree.CleanupCandidates(1000) == Strings{"/c"});
  // Containers do not age: any time will do.
  CHECK(tree.CleanupCandidates(0) == Strings{"/c"});

  MustApply(tree, DeleteTxn(Z(8), 100, "/c"));
  CHECK(tree.CleanupCandidates(1000).empty());
}

TEST_CASE("CleanupCandidates lists TTL nodes childless for more than their TTL",
          "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 100, "/t",
                            {"", 1, CreateMode::kPersistentWithTtl, 0, 1000}));
  MustApply(tree, CreateTxn(Z(2), 100, "/parent",
                            {"", 2, CreateMode::kPersistentWithTtl, 0, 1000}));
  MustApply(tree, CreateTxn(Z(3), 100, "/parent/kid", {"", 1}));

  CHECK(tree.CleanupCandidates(100).empty());
  CHECK(tree.CleanupCandidates(1100).empty());  // exactly the TTL: not yet
  CHECK(tree.CleanupCandidates(1101) == Strings{"/t"});
  CHECK(tree.CleanupCandidates(int64_t{1} << 40) == Strings{"/t"});

  // A set restarts the clock: mtime moves.
  MustApply(tree, SetTxn(Z(4), 5000, "/t", "x", 1));
  CHECK(tree.CleanupCandidates(6000).empty());
  CHECK(tree.CleanupCandidates(6001) == Strings{"/t"});
  // A setACL does not.
  MustApply(tree, SetAclTxn(Z(5), 9000, "/t", OpenAcl(), 1));
  CHECK(tree.CleanupCandidates(6001) == Strings{"/t"});

  // Once the child is gone the parent ages from its own mtime (100).
  MustApply(tree, DeleteTxn(Z(6), 9000, "/parent/kid"));
  CHECK(tree.CleanupCandidates(6001) == Strings{"/parent", "/t"});
}

TEST_CASE("CleanupCandidates is sorted across containers and TTL nodes",
          "[tree]") {
  DataTree tree;
  MustApply(tree, CreateTxn(Z(1), 0, "/z", {"", 1, CreateMode::kContainer}));
  MustApply(tree, CreateTxn(Z(2), 0, "/z/x", {"", 1}));
  MustApply(tree, DeleteTxn(Z(3), 0, "/z/x"));
  MustApply(tree, CreateTxn(Z(4), 0, "/b",
                            {"", 2, CreateMode::kPersistentSequentialWithTtl, 0,
                             10}));
  MustApply(tree, CreateTxn(Z(5), 0, "/m", {"", 3, CreateMode::kContainer}));
  MustApply(tree, CreateTxn(Z(6), 0, "/m/x", {"", 1}));
  MustApply(tree, DeleteTxn(Z(7), 0, "/m/x"));
  MustApply(tree, CreateTxn(Z(8), 0, "/a",
                            {"", 4, CreateMode::kPersistentWithTtl, 0, 10}));
  CHECK(tree.CleanupCandidates(11) == Strings{"/a", "/b", "/m", "/z"});
  CHECK(tree.CleanupCandidates(10) == Strings{"/m", "/z"});
}

// ---- Records ----------------------------------------------------------------

// A tree with a node of every kind and every Stat field distinct.
DataTree RichTree() {
  DataTree tree;
  const int64_t s = Z(1);
  MustApply(tree, SessionTxn(s, 1, 30000));
  MustApply(tree, CreateTxn(Z(2), 1000, "/a",
                            {std::string("d\0\xff\x01", 4), 1,
                             CreateMode::kPersistentWithTtl, 0, 123456789,
                             DigestAcl()}));
  MustApply(tree, CreateTxn(Z(3), 1100, "/a/x", {"", 5}));
  MustApply(tree, CreateTxn(Z(4), 1200, "/a/y", {"yy", 6}));
  MustApply(tree, DeleteTxn(Z(5), 1300, "/a/x"));
  MustApply(tree, SetTxn(Z(6), 1400, "/a", std::string("new\0data", 8), 3));
  MustApply(tree, SetAclTxn(Z(7), 1500, "/a", DigestAcl(), 2));
  MustApply(tree, CreateTxn(Z(8), 1600, "/e",
                            {"eph", 2, CreateMode::kEphemeralSequential, s}));
  MustApply(tree, CreateTxn(Z(9), 1700, "/c", {"", 3, CreateMode::kContainer}));
  MustApply(tree, CreateTxn(Z(10), 1800, "/c/k", {"", 1}));
  MustApply(tree, DeleteTxn(Z(11), 1900, "/c/k"));
  return tree;
}

const Strings kRichPaths = {"/", "/synod", "/a", "/a/y", "/e", "/c"};

TEST_CASE("EncodeNode/LoadNode round-trip every field into a fresh tree",
          "[tree]") {
  DataTree source = RichTree();
  const Znode& a = Get(source, "/a");
  // Sanity: the fields differ from one another, so a mix-up would show.
  REQUIRE(a.stat.czxid == Z(2));
  REQUIRE(a.stat.mzxid == Z(6));
  REQUIRE(a.stat.pzxid == Z(5));
  REQUIRE(a.stat.ctime == 1000);
  REQUIRE(a.stat.mtime == 1400);
  REQUIRE(a.stat.version == 3);
  REQUIRE(a.stat.cversion == 6);
  REQUIRE(a.stat.aversion == 2);
  REQUIRE(a.stat.data_length == 8);
  REQUIRE(a.stat.num_children == 1);

  DataTree loaded;
  for (const std::string& path : kRichPaths) {
    absl::Status s = loaded.LoadNode(path, source.EncodeNode(path));
    INFO(path << ": " << s.ToString());
    REQUIRE(s.ok());
  }
  CHECK(loaded.node_count() == source.node_count());
  for (const std::string& path : kRichPaths) {
    INFO(path);
    const Znode& want = Get(source, path);
    const Znode& got = Get(loaded, path);
    CHECK(got.data == want.data);
    CHECK(StatStr(got.stat) == StatStr(want.stat));
    CHECK(AclStr(*got.acl) == AclStr(*want.acl));
    CHECK(got.mode == want.mode);
    CHECK(got.ttl_ms == want.ttl_ms);
    CHECK(Children(got) == Children(want));
  }
  // The indexes are rebuilt too.
  CHECK(loaded.EphemeralsOf(Z(1)) == Strings{"/e"});
  CHECK(loaded.ephemeral_count() == 1);
  CHECK(loaded.CleanupCandidates(int64_t{1} << 40) ==
        source.CleanupCandidates(int64_t{1} << 40));
  // /a (TTL) has a child, so only the used, empty container /c.
  CHECK(loaded.CleanupCandidates(int64_t{1} << 40) == Strings{"/c"});
  // Loaded nodes share interned ACLs.
  CHECK(Get(loaded, "/").acl.get() == Get(loaded, "/a/y").acl.get());
  // last_zxid is the caller's to set.
  CHECK(loaded.last_zxid() == 0);
  loaded.SetLastZxid(source.last_zxid());
  CHECK(loaded.last_zxid() == Z(11));
  CHECK(ApplyError(loaded, CheckTxn(Z(11), 1, "/a")) ==
        Name(Error::kDataInconsistency));
  MustApply(loaded, DeleteTxn(Z(12), 1, "/a/y"));
  CHECK(Get(loaded, "/a").stat.num_children == 0);
}

TEST_CASE("LoadNode of an already loaded path replaces it in place", "[tree]") {
  DataTree source = RichTree();
  DataTree tree;
  REQUIRE(tree.LoadNode("/e", source.EncodeNode("/e")).ok());
  REQUIRE(tree.EphemeralsOf(Z(1)) == Strings{"/e"});
  // Reload /e from a persistent node's record: no longer an ephemeral, and
  // the parent still counts it once.
  REQUIRE(tree.LoadNode("/e", source.EncodeNode("/a/y")).ok());
  CHECK(tree.EphemeralsOf(Z(1)).empty());
  CHECK(Get(tree, "/e").data == "yy");
  CHECK(Get(tree, "/").stat.num_children == 2);
  CHECK(Children(Get(tree, "/")) == Strings{"e", "synod"});
}

TEST_CASE("LoadNode refuses a node whose parent is not loaded", "[tree]") {
  DataTree source = RichTree();
  DataTree tree;
  absl::Status s = tree.LoadNode("/a/y", source.EncodeNode("/a/y"));
  CHECK(Name(ErrorOf(s)) == Name(Error::kDataInconsistency));
  CHECK(tree.Find("/a/y") == nullptr);
  CHECK(tree.node_count() == 2);
}

// Offset of the mode varint in a node record: the version varint (1 byte),
// seven fixed64 and three fixed32 fields.
constexpr size_t kModeOffset = 1 + 7 * 8 + 3 * 4;

TEST_CASE("LoadNode refuses malformed records without crashing", "[tree]") {
  DataTree source = RichTree();
  const std::string record = source.EncodeNode("/a");
  DataTree tree;
  auto load = [&tree](const std::string& r) {
    return Name(ErrorOf(tree.LoadNode("/fresh", r)));
  };
  REQUIRE(load(record) == Name(Error::kOk));  // the record itself is fine
  tree = DataTree();

  SECTION("truncated at every length") {
    for (size_t n = 0; n < record.size(); ++n) {
      INFO("length " << n);
      CHECK(load(record.substr(0, n)) == Name(Error::kDataInconsistency));
    }
  }
  SECTION("wrong version") {
    for (char v : {'\x00', '\x02', '\x7f'}) {
      std::string r = record;
      r[0] = v;
      CHECK(load(r) == Name(Error::kDataInconsistency));
    }
  }
  SECTION("trailing garbage") {
    CHECK(load(record + "x") == Name(Error::kDataInconsistency));
    CHECK(load(record + std::string(1, '\0')) ==
          Name(Error::kDataInconsistency));
  }
  SECTION("unknown mode") {
    REQUIRE(record[kModeOffset] ==
            static_cast<char>(CreateMode::kPersistentWithTtl));
    for (char m : {'\x07', '\x08', '\x7f'}) {
      std::string r = record;
      r[kModeOffset] = m;
      CHECK(load(r) == Name(Error::kDataInconsistency));
    }
  }
  SECTION("absurd ACL entry count") {
    std::string r = record.substr(0, kModeOffset + 1);
    PutVarint(&r, 5000);
    CHECK(load(r) == Name(Error::kDataInconsistency));
    r = record.substr(0, kModeOffset + 1);
    PutVarint(&r, 3);  // claims three entries, holds none
    PutBytes(&r, "data");
    CHECK(load(r) == Name(Error::kDataInconsistency));
  }
  SECTION("data length beyond the record") {
    std::string r = record.substr(0, kModeOffset + 1);
    PutVarint(&r, 0);   // no ACL entries
    PutVarint(&r, 99);  // but 99 bytes of data promised
    r += "short";
    CHECK(load(r) == Name(Error::kDataInconsistency));
  }
  SECTION("garbage") {
    CHECK(load(std::string(200, '\xff')) == Name(Error::kDataInconsistency));
    CHECK(load("\x01") == Name(Error::kDataInconsistency));
  }
  CHECK(tree.Find("/fresh") == nullptr);
  CHECK(tree.node_count() == 2);
  CHECK(Get(tree, "/").stat.num_children == 1);
}

TEST_CASE("EncodeSession/LoadSession round-trip and refuse malformed records",
          "[tree]") {
  DataTree source;
  MustApply(source, SessionTxn(Z(1), 1, 30000));
  MustApply(source, SessionTxn(Z(2), 1, 1));
  MustApply(source, SessionTxn(Z(3), 1, INT32_MAX));

  DataTree tree;
  for (int64_t id : {Z(1), Z(2), Z(3)}) {
    REQUIRE(tree.LoadSession(id, source.EncodeSession(id)).ok());
  }
  CHECK(tree.sessions().size() == 3);
  CHECK(tree.sessions().at(Z(1)) == 30000);
  CHECK(tree.sessions().at(Z(2)) == 1);
  CHECK(tree.sessions().at(Z(3)) == INT32_MAX);

  const std::string record = source.EncodeSession(Z(1));
  DataTree fresh;
  auto load = [&fresh](const std::string& r) {
    return Name(ErrorOf(fresh.LoadSession(Z(9), r)));
  };
  for (size_t n = 0; n < record.size(); ++n) {
    INFO("length " << n);
    CHECK(load(record.substr(0, n)) == Name(Error::kDataInconsistency));
  }
  CHECK(load(record + "x") == Name(Error::kDataInconsistency));
  CHECK(load("\x80") ==
        Name(Error::kDataInconsistency));  // unterminated varint
  std::string too_big;
  PutVarint(&too_big, uint64_t{INT32_MAX} + 1);
  CHECK(load(too_big) == Name(Error::kDataInconsistency));
  CHECK(load(std::string(20, '\xff')) == Name(Error::kDataInconsistency));
  CHECK(fresh.sessions().empty());
}

TEST_CASE("A session's password digest is kept, stored and forgotten with it",
          "[tree]") {
  DataTree tree;
  txn::Txn create = SessionTxn(Z(1), 1, 30000);
  create.mutable_create_session()->set_password_digest(std::string(32, 'd'));
  MustApply(tree, create);
  MustApply(tree, SessionTxn(Z(2), 2, 30000));  // the Coordinator's own kind
  REQUIRE(tree.SessionPasswordDigest(Z(1)).has_value());
  CHECK(*tree.SessionPasswordDigest(Z(1)) == std::string(32, 'd'));
  REQUIRE(tree.SessionPasswordDigest(Z(2)).has_value());
  CHECK(tree.SessionPasswordDigest(Z(2))->empty());
  CHECK_FALSE(tree.SessionPasswordDigest(Z(3)).has_value());

  // Stored and loaded with the session; a record without one (as every
  // record before digests) loads as a session without one.
  DataTree loaded;
  for (int64_t id : {Z(1), Z(2)}) {
    REQUIRE(loaded.LoadSession(id, tree.EncodeSession(id)).ok());
  }
  CHECK(*loaded.SessionPasswordDigest(Z(1)) == std::string(32, 'd'));
  CHECK(loaded.SessionPasswordDigest(Z(2))->empty());
  CHECK(loaded.EncodeSession(Z(1)) == tree.EncodeSession(Z(1)));
  CHECK(tree.EncodeSession(Z(2)).size() < tree.EncodeSession(Z(1)).size());

  // Reloading a session over one with a digest replaces it.
  REQUIRE(loaded.LoadSession(Z(1), tree.EncodeSession(Z(2))).ok());
  CHECK(loaded.SessionPasswordDigest(Z(1))->empty());

  // Malformed: an empty digest written out, one past the limit, one cut.
  std::string empty_digest;
  PutVarint(&empty_digest, 30000);
  PutBytes(&empty_digest, "");
  std::string oversized;
  PutVarint(&oversized, 30000);
  PutBytes(&oversized, std::string(kMaxSessionDigestBytes + 1, 'd'));
  const std::string whole = tree.EncodeSession(Z(1));
  DataTree fresh;
  for (const std::string& bad :
       {empty_digest, oversized, whole.substr(0, whole.size() - 1),
        whole + "x"}) {
    CHECK(ErrorOf(fresh.LoadSession(Z(9), bad)) == Error::kDataInconsistency);
  }
  CHECK(fresh.sessions().empty());

  // A txn with an oversized digest is refused (a corrupt log).
  txn::Txn huge = SessionTxn(Z(4), 4, 30000);
  huge.mutable_create_session()->set_password_digest(
      std::string(kMaxSessionDigestBytes + 1, 'd'));
  DataTree refusing;
  ApplyOutput ignored;
  CHECK(ErrorOf(refusing.Apply(huge, &ignored, nullptr)) ==
        Error::kDataInconsistency);
  CHECK(refusing.sessions().empty());

  // Closing the session forgets it.
  MustApply(tree, CloseTxn(Z(5), 5, Z(1), {}));
  CHECK_FALSE(tree.SessionPasswordDigest(Z(1)).has_value());
  DataTree again;
  REQUIRE(again.LoadSession(Z(1), whole).ok());
  MustApply(again, CloseTxn(Z(6), 6, Z(1), {}));
  CHECK_FALSE(again.SessionPasswordDigest(Z(1)).has_value());
}

TEST_CASE("InternAcl shares storage between equal ACLs", "[tree]") {
  DataTree tree;
  AclRef open = tree.InternAcl(OpenAcl());
  CHECK(open.get() == tree.InternAcl(OpenAcl()).get());
  CHECK(open.get() == Get(tree, "/").acl.get());
  CHECK(open.get() == Get(tree, "/synod").acl.get());

  AclRef digest = tree.InternAcl(DigestAcl());
  CHECK(digest.get() == tree.InternAcl(DigestAcl()).get());
  CHECK(digest.get() != open.get());
  CHECK(AclStr(*digest) == AclStr(DigestAcl()));
  // Differing only in perms, in order or in id: distinct.
  CHECK(tree.InternAcl(ReadOnlyAcl()).get() != open.get());
  AclList reversed = DigestAcl();
  std::reverse(reversed.begin(), reversed.end());
  CHECK(tree.InternAcl(reversed).get() != digest.get());
  CHECK(tree.InternAcl({Acl{perms::kAll, "world", "anyonE"}}).get() !=
        open.get());

  MustApply(tree,
            CreateTxn(Z(1), 1, "/a",
                      {"", 1, CreateMode::kPersistent, 0, 0, DigestAcl()}));
  MustApply(tree,
            CreateTxn(Z(2), 1, "/b",
                      {"", 2, CreateMode::kPersistent, 0, 0, DigestAcl()}));
  MustApply(tree, CreateTxn(Z(3), 1, "/c"));
  CHECK(Get(tree, "/a").acl.get() == digest.get());
  CHECK(Get(tree, "/b").acl.get() == digest.get());
  CHECK(Get(tree, "/c").acl.get() == open.get());
}

TEST_CASE("AclToProto and AclFromProto are inverses", "[tree]") {
  google::protobuf::RepeatedPtrField<txn::AclEntry> proto;
  AclToProto(DigestAcl(), &proto);
  REQUIRE(proto.size() == 2);
  CHECK(proto.Get(0).scheme() == "digest");
  CHECK(proto.Get(1).id() == "10.0.0.0/8");
  CHECK(proto.Get(1).perms() == perms::kWrite);
  CHECK(AclStr(AclFromProto(proto)) == AclStr(DigestAcl()));
  AclToProto(OpenAcl(), &proto);  // replaces, not appends
  CHECK(AclStr(AclFromProto(proto)) == AclStr(OpenAcl()));
  AclToProto({}, &proto);
  CHECK(AclFromProto(proto).empty());
}

}  // namespace
}  // namespace synod
