// Tests for lib/txn/preparer: the txn each request type becomes, every error
// with ZooKeeper's code and in ZooKeeper's check order, pipelining against
// pending (prepared, not yet applied) changes, multi all-or-nothing, session
// liveness, cleanup requests, and Applied/Reset bookkeeping.

#include "txn/preparer.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "acl/acl.h"
#include "synod/types.h"
#include "tree/data_tree.h"
#include "txn/txn.pb.h"
#include "util/requests.h"
#include "util/strings.h"

namespace synod {
namespace {

// Errors are compared by ZooKeeper's name, so failures read "NoNode == NoAuth".
std::string Name(Error e) { return std::string(ErrorName(e)); }

constexpr int64_t kEpoch = 5;
constexpr Zxid Z(int64_t counter) { return MakeZxid(kEpoch, counter); }
constexpr int32_t kMaxData = 64;

using Strings = std::vector<std::string>;
using testing::CreateReq;
using testing::DeleteReq;
using testing::MultiReq;
using testing::SetReq;

// ---- Request builders -------------------------------------------------------

txn::Request CreateModeReq(const std::string& path, int32_t raw_mode,
                           int64_t ttl_ms = 0) {
  txn::Request r = CreateReq(path);
  r.mutable_create()->set_mode(raw_mode);
  r.mutable_create()->set_ttl_ms(ttl_ms);
  return r;
}

txn::Request SetAclReq(const std::string& path, const AclList& acl,
                       int32_t aversion = -1) {
  txn::Request r;
  r.mutable_set_acl()->set_path(path);
  AclToProto(acl, r.mutable_set_acl()->mutable_acl());
  r.mutable_set_acl()->set_aversion(aversion);
  return r;
}

txn::Request CheckReq(const std::string& path, int32_t version = -1) {
  txn::Request r;
  r.mutable_check()->set_path(path);
  r.mutable_check()->set_version(version);
  return r;
}

txn::Request SessionReq(int32_t timeout_ms) {
  txn::Request r;
  r.mutable_create_session()->set_timeout_ms(timeout_ms);
  return r;
}

txn::Request CloseReq() {
  txn::Request r;
  r.mutable_close_session();
  return r;
}

txn::Request CleanupReq(const std::string& path) {
  txn::Request r;
  r.mutable_cleanup()->set_path(path);
  return r;
}

// ---- Identities -------------------------------------------------------------

AuthInfo Anyone() { return AuthInfo{}; }

AuthInfo As(const std::string& user) {
  AuthInfo auth;
  auth.ids.push_back(AuthId{"digest", DigestId(user, "pw-" + user)});
  return auth;
}

AuthInfo Super() {
  AuthInfo auth;
  auth.super = true;
  return auth;
}

// An ACL granting `perm_bits` to `user` only.
AclList Only(const std::string& user, int32_t perm_bits) {
  return {Acl{perm_bits, "digest", DigestId(user, "pw-" + user)}};
}

// Everything but `perm` to anyone.
AclList AllBut(int32_t perm) {
  return {Acl{perms::kAll & ~perm, "world", "anyone"}};
}

std::string AclStr(const AclList& acl) {
  std::string out;
  for (const Acl& a : acl)
    absl::StrAppend(&out, a.scheme, ":", a.id, "/", a.perms, ";");
  return out;
}

// ---- The harness ------------------------------------------------------------

// The default limits with data capped at `max_data_bytes`.
RequestLimits DataLimit(int32_t max_data_bytes) {
  RequestLimits limits;
  limits.max_data_bytes = max_data_bytes;
  return limits;
}

// A tree, a preparer over it, and the prepared txns not yet applied. Zxids
// are handed out in order, one per successful prepare, as the leader does.
struct Harness {
  DataTree tree;
  Preparer prep{&tree, DataLimit(kMaxData)};
  Zxid next = Z(1);
  int64_t now = 1000;
  std::vector<txn::Txn> unapplied;

  // Prepares `r`; on success stamps the txn and queues it for ApplyAll.
  absl::Status Try(const txn::Request& r, int64_t session,
                   const AuthInfo& auth = AuthInfo{}, txn::Txn* out = nullptr) {
    txn::Txn t;
    absl::Status s = prep.Prepare(r, session, auth, next, now, &t);
    if (s.ok()) {
      t.set_zxid(next++);
      t.set_time_ms(now);
      t.set_session_id(session);
      unapplied.push_back(t);
      if (out) *out = t;
    }
    return s;
  }

  std::string Err(const txn::Request& r, int64_t session,
                  const AuthInfo& auth = AuthInfo{}) {
    return Name(ErrorOf(Try(r, session, auth)));
  }

  // Prepares `r`, requiring success; returns the txn (not yet applied).
  txn::Txn Must(const txn::Request& r, int64_t session,
                const AuthInfo& auth = AuthInfo{}) {
    txn::Txn t;
    absl::Status s = Try(r, session, auth, &t);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return t;
  }

  // Applies every queued txn in order, telling the preparer after each.
  void ApplyAll() {
    for (const txn::Txn& t : unapplied) {
      ApplyOutput out;
      absl::Status s = tree.Apply(t, &out, nullptr);
      INFO(t.ShortDebugString() << " -> " << s.ToString());
      REQUIRE(s.ok());
      prep.Applied(t.zxid());
    }
    unapplied.clear();
  }

  // Prepares and applies `r`; returns its txn.
  txn::Txn Commit(const txn::Request& r, int64_t session,
                  const AuthInfo& auth = AuthInfo{}) {
    txn::Txn t = Must(r, session, auth);
    ApplyAll();
    return t;
  }

  // Opens a session (applied); returns its id.
  int64_t OpenSession(int32_t timeout_ms = 30000) {
    return Commit(SessionReq(timeout_ms), 0).zxid();
  }
};

Strings Ephemerals(const txn::Txn& t) {
  REQUIRE(t.has_close_session());
  return Strings(t.close_session().ephemerals().begin(),
                 t.close_session().ephemerals().end());
}

// ---- Happy paths ------------------------------------------------------------

TEST_CASE("Preparer create fills the CreateTxn", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();

  txn::Txn t = h.Must(CreateReq("/a", "data"), s);
  REQUIRE(t.has_create());
  CHECK(t.create().path() == "/a");
  CHECK(t.create().data() == "data");
  CHECK(AclStr(AclFromProto(t.create().acl())) == AclStr(OpenAcl()));
  CHECK(t.create().mode() == static_cast<int32_t>(CreateMode::kPersistent));
  CHECK(t.create().ttl_ms() == 0);
  CHECK(t.create().parent_cversion() == 1);
  CHECK(t.create().ephemeral_owner() == 0);
  h.ApplyAll();
  const Znode* a = h.tree.Find("/a");
  REQUIRE(a != nullptr);
  CHECK(a->stat.czxid == t.zxid());
  CHECK(a->stat.ctime == h.now);
  CHECK(h.tree.Find("/")->stat.cversion == 1);

  SECTION("ephemeral: owned by the session") {
    txn::Txn e = h.Must(CreateReq("/e", "", CreateMode::kEphemeral), s);
    CHECK(e.create().path() == "/e");
    CHECK(e.create().ephemeral_owner() == s);
    CHECK(e.create().mode() == static_cast<int32_t>(CreateMode::kEphemeral));
    CHECK(e.create().parent_cversion() == 2);
  }
  SECTION("TTL and container keep their mode and TTL") {
    txn::Txn ttl = h.Must(
        CreateReq("/t", "", CreateMode::kPersistentWithTtl, {}, 5000), s);
    CHECK(ttl.create().mode() ==
          static_cast<int32_t>(CreateMode::kPersistentWithTtl));
    CHECK(ttl.create().ttl_ms() == 5000);
    CHECK(ttl.create().ephemeral_owner() == 0);
    txn::Txn c = h.Must(CreateReq("/c", "", CreateMode::kContainer), s);
    CHECK(c.create().mode() == static_cast<int32_t>(CreateMode::kContainer));
    CHECK(c.create().ttl_ms() == 0);
  }
  SECTION("the largest TTL and data size are accepted") {
    h.Must(CreateReq("/t", "", CreateMode::kPersistentWithTtl, {}, kMaxTtlMs),
           s);
    h.Must(CreateReq("/big", std::string(kMaxData, 'x')), s);
  }
  SECTION("the system (session 0) creates persistent nodes") {
    txn::Txn sys = h.Must(CreateReq("/sys"), 0);
    CHECK(sys.create().ephemeral_owner() == 0);
  }
}

TEST_CASE("Preparer sequential create appends the parent's cversion as %010d",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/q"), s);

  txn::Txn t0 =
      h.Commit(CreateReq("/q/n-", "", CreateMode::kPersistentSequential), s);
  CHECK(t0.create().path() == "/q/n-0000000000");
  CHECK(t0.create().parent_cversion() == 1);
  txn::Txn t1 =
      h.Commit(CreateReq("/q/n-", "", CreateMode::kEphemeralSequential), s);
  CHECK(t1.create().path() == "/q/n-0000000001");
  CHECK(t1.create().ephemeral_owner() == s);
  // Deletes do not lower cversion, so numbers are never reused.
  h.Commit(DeleteReq("/q/n-0000000000"), s);
  h.Commit(DeleteReq("/q/n-0000000001"), s);
  txn::Txn t2 = h.Commit(
      CreateReq("/q/", "", CreateMode::kPersistentSequentialWithTtl, {}, 100),
      s);
  CHECK(t2.create().path() == "/q/0000000002");
  CHECK(t2.create().parent_cversion() == 3);
  CHECK(t2.create().ttl_ms() == 100);
  // Non-sequential creates count too.
  h.Commit(CreateReq("/q/plain"), s);
  txn::Txn t4 =
      h.Commit(CreateReq("/q/n-", "", CreateMode::kPersistentSequential), s);
  CHECK(t4.create().path() == "/q/n-0000000004");
  CHECK(h.tree.Find("/q")->stat.cversion == 5);
  // Under the root, which starts at cversion 0 even though /synod exists.
  Harness fresh;
  txn::Txn r =
      fresh.Must(CreateReq("/", "", CreateMode::kPersistentSequential), 0);
  CHECK(r.create().path() == "/0000000000");
}

TEST_CASE("Preparer resolves \"auth\" ACL entries to the session's digest ids",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  AuthInfo both = As("alice");
  both.ids.push_back(AuthId{"digest", DigestId("bob", "pw-bob")});

  txn::Txn t = h.Commit(
      CreateReq("/a", "", CreateMode::kPersistent, CreatorAllAcl()), s, both);
  AclList want = {Acl{perms::kAll, "digest", DigestId("alice", "pw-alice")},
                  Acl{perms::kAll, "digest", DigestId("bob", "pw-bob")}};
  CHECK(AclStr(AclFromProto(t.create().acl())) == AclStr(want));
  CHECK(AclStr(*h.tree.Find("/a")->acl) == AclStr(want));
  // The resolved ACL is enforced: anyone else is refused.
  CHECK(h.Err(SetReq("/a", "x"), s, Anyone()) == Name(Error::kNoAuth));
  CHECK(h.Err(SetReq("/a", "x"), s, As("carol")) == Name(Error::kNoAuth));
  h.Must(SetReq("/a", "x"), s, As("bob"));

  txn::Txn acl = h.Must(SetAclReq("/a", {Acl{perms::kRead, "auth", ""},
                                         Acl{perms::kRead, "world", "anyone"}}),
                        s, As("alice"));
  CHECK(AclStr(AclFromProto(acl.set_acl().acl())) ==
        AclStr({Acl{perms::kRead, "digest", DigestId("alice", "pw-alice")},
                Acl{perms::kRead, "world", "anyone"}}));
}

TEST_CASE("Preparer setData, setACL, check and delete fill their txns",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a", "v0"), s);

  txn::Txn set = h.Commit(SetReq("/a", "v1", 0), s);
  REQUIRE(set.has_set_data());
  CHECK(set.set_data().path() == "/a");
  CHECK(set.set_data().data() == "v1");
  CHECK(set.set_data().version() == 1);
  set = h.Commit(SetReq("/a", "v2"), s);  // -1: any version
  CHECK(set.set_data().version() == 2);
  CHECK(h.tree.Find("/a")->data == "v2");
  CHECK(h.tree.Find("/a")->stat.version == 2);

  txn::Txn acl = h.Commit(SetAclReq("/a", ReadOnlyAcl(), 0), s);
  REQUIRE(acl.has_set_acl());
  CHECK(acl.set_acl().path() == "/a");
  CHECK(acl.set_acl().aversion() == 1);
  CHECK(AclStr(AclFromProto(acl.set_acl().acl())) == AclStr(ReadOnlyAcl()));
  CHECK(h.tree.Find("/a")->stat.aversion == 1);

  txn::Txn check = h.Commit(CheckReq("/a", 2), s);
  REQUIRE(check.has_check());
  CHECK(check.check().path() == "/a");
  h.Commit(CheckReq("/a"), s);

  txn::Txn del = h.Commit(DeleteReq("/a", 2), s);
  REQUIRE(del.has_delete_node());
  CHECK(del.delete_node().path() == "/a");
  CHECK(h.tree.Find("/a") == nullptr);
  CHECK(h.prep.pending_size() == 0);
}

TEST_CASE("Preparer createSession: the txn's zxid becomes the session id",
          "[preparer]") {
  Harness h;
  txn::Txn t = h.Must(SessionReq(4000), 0);
  REQUIRE(t.has_create_session());
  CHECK(t.create_session().timeout_ms() == 4000);
  const int64_t s = t.zxid();
  // Usable before it is applied (pipelined).
  h.Must(CreateReq("/e", "", CreateMode::kEphemeral), s);
  h.ApplyAll();
  CHECK(h.tree.sessions().at(s) == 4000);
  CHECK(h.tree.EphemeralsOf(s) == Strings{"/e"});
  // Still usable once applied.
  h.Must(CheckReq("/e"), s);

  CHECK(h.Err(SessionReq(0), 0) == Name(Error::kBadArguments));
  CHECK(h.Err(SessionReq(-5), 0) == Name(Error::kBadArguments));
  // createSession needs no live session.
  h.Must(SessionReq(1), Z(999));

  // A remote session's password digest goes into the txn, and the tree.
  txn::Request with_digest = SessionReq(4000);
  with_digest.mutable_create_session()->set_password_digest(
      std::string(kMaxSessionDigestBytes, 'p'));
  txn::Txn d = h.Must(with_digest, 0);
  CHECK(d.create_session().password_digest() ==
        std::string(kMaxSessionDigestBytes, 'p'));
  h.ApplyAll();
  CHECK(*h.tree.SessionPasswordDigest(d.zxid()) ==
        std::string(kMaxSessionDigestBytes, 'p'));
  with_digest.mutable_create_session()->mutable_password_digest()->push_back(
      'p');
  CHECK(h.Err(with_digest, 0) == Name(Error::kBadArguments));
}

// ---- Create errors ----------------------------------------------------------

TEST_CASE("Preparer create errors, in ZooKeeper's order", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a"), s);
  h.Commit(CreateReq("/e", "", CreateMode::kEphemeral), s);
  h.Commit(
      CreateReq("/locked", "", CreateMode::kPersistent, AllBut(perms::kCreate)),
      s);
  h.Commit(CreateReq("/mine", "", CreateMode::kPersistent,
                     Only("alice", perms::kAll)),
           s, As("alice"));
  h.Commit(CreateReq("/mine/x"), s, As("alice"));
  const size_t nodes = static_cast<size_t>(h.tree.node_count());
  const AclList bad_acl = {Acl{perms::kAll, "world", "someone"}};

  SECTION("bad path: BadArguments") {
    for (const char* p :
         {"", "a", "/a/", "/a//b", "/a/./b", "/a/..", "/a\x01"}) {
      INFO(p);
      CHECK(h.Err(CreateReq(p), s) == Name(Error::kBadArguments));
    }
  }
  SECTION("unknown mode: BadArguments") {
    CHECK(h.Err(CreateModeReq("/n", -1), s) == Name(Error::kBadArguments));
    CHECK(h.Err(CreateModeReq("/n", 7), s) == Name(Error::kBadArguments));
  }
  SECTION("TTL out of range or without a TTL mode: BadArguments") {
    for (int64_t ttl : {int64_t{0}, int64_t{-1}, kMaxTtlMs + 1}) {
      INFO(ttl);
      CHECK(h.Err(CreateReq("/n", "", CreateMode::kPersistentWithTtl, {}, ttl),
                  s) == Name(Error::kBadArguments));
      CHECK(h.Err(CreateReq("/n", "", CreateMode::kPersistentSequentialWithTtl,
                            {}, ttl),
                  s) == Name(Error::kBadArguments));
    }
    for (CreateMode m :
         {CreateMode::kPersistent, CreateMode::kEphemeral,
          CreateMode::kContainer, CreateMode::kPersistentSequential}) {
      CHECK(h.Err(CreateReq("/n", "", m, {}, 5), s) ==
            Name(Error::kBadArguments));
    }
  }
  SECTION("data over the limit: BadArguments") {
    CHECK(h.Err(CreateReq("/n", std::string(kMaxData + 1, 'x')), s) ==
          Name(Error::kBadArguments));
  }
  SECTION("ephemeral for the system: BadArguments") {
    CHECK(h.Err(CreateReq("/n", "", CreateMode::kEphemeral), 0) ==
          Name(Error::kBadArguments));
    CHECK(h.Err(CreateReq("/n", "", CreateMode::kEphemeralSequential), 0) ==
          Name(Error::kBadArguments));
  }
  SECTION("invalid ACL: InvalidAcl, before the parent is looked up") {
    CHECK(h.Err(CreateReq("/n", "", CreateMode::kPersistent, bad_acl), s) ==
          Name(Error::kInvalidAcl));
    CHECK(h.Err(CreateReq("/missing/n", "", CreateMode::kPersistent, bad_acl),
                s) == Name(Error::kInvalidAcl));
    // "auth" without a digest identity.
    CHECK(h.Err(CreateReq("/missing/n", "", CreateMode::kPersistent,
                          CreatorAllAcl()),
                s, Anyone()) == Name(Error::kInvalidAcl));
    // And before the permission check and NodeExists.
    CHECK(h.Err(CreateReq("/locked/n", "", CreateMode::kPersistent, bad_acl),
                s) == Name(Error::kInvalidAcl));
    CHECK(h.Err(CreateReq("/a", "", CreateMode::kPersistent, bad_acl), s) ==
          Name(Error::kInvalidAcl));
  }
  SECTION("missing parent: NoNode") {
    CHECK(h.Err(CreateReq("/missing/n"), s) == Name(Error::kNoNode));
    CHECK(h.Err(CreateReq("/a/b/c"), s) == Name(Error::kNoNode));
  }
  SECTION("no CREATE on the parent: NoAuth, before NodeExists") {
    CHECK(h.Err(CreateReq("/locked/n"), s) == Name(Error::kNoAuth));
    CHECK(h.Err(CreateReq("/mine/n"), s, As("bob")) == Name(Error::kNoAuth));
    CHECK(h.Err(CreateReq("/mine/x"), s, As("bob")) == Name(Error::kNoAuth));
    // The node's own would-be ACL does not matter; super passes.
    h.Must(CreateReq("/locked/n"), s, Super());
    h.Must(CreateReq("/mine/n"), s, As("alice"));
  }
  SECTION("existing node: NodeExists") {
    CHECK(h.Err(CreateReq("/a"), s) == Name(Error::kNodeExists));
    CHECK(h.Err(CreateReq("/mine/x"), s, As("alice")) ==
          Name(Error::kNodeExists));
    CHECK(h.Err(CreateReq("/", "", CreateMode::kPersistent), s) ==
          Name(Error::kNodeExists));
  }
  SECTION("ephemeral parent: NoChildrenForEphemerals") {
    CHECK(h.Err(CreateReq("/e/n"), s) == Name(Error::kNoChildrenForEphemerals));
    CHECK(h.Err(CreateReq("/e/n", "", CreateMode::kEphemeral), s) ==
          Name(Error::kNoChildrenForEphemerals));
    CHECK(h.Err(CreateReq("/e/", "", CreateMode::kPersistentSequential), s) ==
          Name(Error::kNoChildrenForEphemerals));
  }
  SECTION("the system subtree is reserved: BadArguments") {
    CHECK(h.Err(CreateReq("/synod"), s) == Name(Error::kBadArguments));
    CHECK(h.Err(CreateReq("/synod/x"), s) == Name(Error::kBadArguments));
    CHECK(h.Err(CreateReq("/synod/x"), 0, Super()) ==
          Name(Error::kBadArguments));
    CHECK(h.Err(CreateReq("/synod/", "", CreateMode::kPersistentSequential),
                s) == Name(Error::kBadArguments));
    // A sibling that merely shares the prefix is an ordinary node.
    h.Must(CreateReq("/synodic"), s);
  }
  SECTION("earlier checks win over later ones") {
    // bad path beats bad TTL, data size, invalid ACL and missing parent
    CHECK(h.Err(CreateReq("/missing//n", std::string(kMaxData + 1, 'x'),
                          CreateMode::kPersistentWithTtl, bad_acl, 0),
                s) == Name(Error::kBadArguments));
    // bad TTL beats invalid ACL and missing parent
    CHECK(h.Err(CreateReq("/missing/n", "", CreateMode::kPersistentWithTtl,
                          bad_acl, 0),
                s) == Name(Error::kBadArguments));
    // data size beats invalid ACL
    CHECK(h.Err(CreateReq("/n", std::string(kMaxData + 1, 'x'),
                          CreateMode::kPersistent, bad_acl),
                s) == Name(Error::kBadArguments));
    // NoAuth beats NodeExists (above); NodeExists needs a live parent, and
    // an ephemeral parent has no children, so the last two never overlap.
  }
  // Failed creates leave no pending trace and touch no node.
  if (h.unapplied.empty()) CHECK(h.prep.pending_size() == 0);
  CHECK(static_cast<size_t>(h.tree.node_count()) == nodes);
}

// ---- Delete errors ----------------------------------------------------------

TEST_CASE("Preparer delete errors, in ZooKeeper's order", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a"), s);
  h.Commit(CreateReq("/a/b"), s);
  h.Commit(SetReq("/a", "x"), s);  // /a at version 1
  h.Commit(
      CreateReq("/nodel", "", CreateMode::kPersistent, AllBut(perms::kDelete)),
      s);
  h.Commit(CreateReq("/nodel/c"), s);
  h.Commit(SetReq("/nodel/c", "x"), s);  // version 1
  // A node whose own ACL forbids everything: only the parent's matters.
  h.Commit(CreateReq("/a/sealed", "", CreateMode::kPersistent,
                     {Acl{0, "world", "anyone"}}),
           s);

  SECTION("missing node or parent: NoNode") {
    CHECK(h.Err(DeleteReq("/nope"), s) == Name(Error::kNoNode));
    CHECK(h.Err(DeleteReq("/nope/x"), s) == Name(Error::kNoNode));
    CHECK(h.Err(DeleteReq("/a/nope", 3), s) == Name(Error::kNoNode));
  }
  SECTION("no DELETE on the parent: NoAuth, before BadVersion") {
    CHECK(h.Err(DeleteReq("/nodel/c"), s) == Name(Error::kNoAuth));
    CHECK(h.Err(DeleteReq("/nodel/c", 7), s) == Name(Error::kNoAuth));
    h.Must(DeleteReq("/nodel/c"), s, Super());
  }
  SECTION("the node's own ACL does not matter") {
    h.Must(DeleteReq("/a/sealed"), s);
  }
  SECTION("version mismatch: BadVersion, before NotEmpty") {
    CHECK(h.Err(DeleteReq("/a", 0), s) == Name(Error::kBadVersion));
    CHECK(h.Err(DeleteReq("/a", 2), s) == Name(Error::kBadVersion));
    CHECK(h.Err(DeleteReq("/a/b", 1), s) == Name(Error::kBadVersion));
  }
  SECTION("children: NotEmpty") {
    CHECK(h.Err(DeleteReq("/a", 1), s) == Name(Error::kNotEmpty));
    CHECK(h.Err(DeleteReq("/a"), s) == Name(Error::kNotEmpty));
    h.Must(DeleteReq("/a/b", 0), s);
  }
  SECTION("the root, the system subtree and bad paths: BadArguments") {
    CHECK(h.Err(DeleteReq("/"), s) == Name(Error::kBadArguments));
    CHECK(h.Err(DeleteReq("/synod"), s) == Name(Error::kBadArguments));
    CHECK(h.Err(DeleteReq("/synod/x"), s) == Name(Error::kBadArguments));
    CHECK(h.Err(DeleteReq("/a/"), s) == Name(Error::kBadArguments));
    CHECK(h.Err(DeleteReq("a"), s) == Name(Error::kBadArguments));
    CHECK(h.Err(DeleteReq(""), s) == Name(Error::kBadArguments));
  }
}

TEST_CASE("Preparer delete checks the parent's DELETE before the node exists",
          "[preparer]") {
  // ZooKeeper's PrepRequestProcessor (3.5 onwards): getRecordForPath(parent),
  // then checkACL(parent, DELETE), then getRecordForPath(path). A session
  // without DELETE on the parent gets NoAuth whether or not the child
  // exists, so it cannot probe for children it may not delete.
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(
      CreateReq("/nodel", "", CreateMode::kPersistent, AllBut(perms::kDelete)),
      s);
  h.Commit(CreateReq("/nodel/c"), s);
  CHECK(h.Err(DeleteReq("/nodel/c"), s) == Name(Error::kNoAuth));
  CHECK(h.Err(DeleteReq("/nodel/missing"), s) == Name(Error::kNoAuth));
  // A missing parent is still NoNode.
  CHECK(h.Err(DeleteReq("/gone/missing"), s) == Name(Error::kNoNode));
}

// ---- setData / setACL / check errors ----------------------------------------

TEST_CASE("Preparer setData errors, in ZooKeeper's order", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a"), s);
  h.Commit(CreateReq("/ro", "", CreateMode::kPersistent, AllBut(perms::kWrite)),
           s);
  // The parent's ACL does not matter.
  h.Commit(CreateReq("/ro/w"), s);

  CHECK(h.Err(SetReq("/nope", "x"), s) == Name(Error::kNoNode));
  CHECK(h.Err(SetReq("/nope", "x", 4), s) == Name(Error::kNoNode));
  CHECK(h.Err(SetReq("/ro", "x"), s) == Name(Error::kNoAuth));
  CHECK(h.Err(SetReq("/ro", "x", 9), s) ==
        Name(Error::kNoAuth));  // before BadVersion
  CHECK(h.Err(SetReq("/a", "x", 1), s) == Name(Error::kBadVersion));
  CHECK(h.Err(SetReq("/a", "x", -2), s) == Name(Error::kBadVersion));
  CHECK(h.Err(SetReq("/a", std::string(kMaxData + 1, 'x')), s) ==
        Name(Error::kBadArguments));
  CHECK(h.Err(SetReq("/synod", "x"), s) == Name(Error::kBadArguments));
  CHECK(h.Err(SetReq("/synod/nope", "x"), s) == Name(Error::kBadArguments));
  CHECK(h.Err(SetReq("/a/", "x"), s) == Name(Error::kBadArguments));
  CHECK(h.prep.pending_size() == 0);
  h.Must(SetReq("/ro/w", "x", 0), s);
  h.Must(SetReq("/ro", "x", 0), s, Super());
  h.Must(SetReq("/a", std::string(kMaxData, 'x'), 0), s);
}

TEST_CASE("Preparer setACL errors, in ZooKeeper's order", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a"), s);
  h.Commit(
      CreateReq("/noadmin", "", CreateMode::kPersistent, AllBut(perms::kAdmin)),
      s);
  const AclList bad_acl = {Acl{perms::kAll, "digest", "no-colon"}};

  CHECK(h.Err(SetAclReq("/a", bad_acl), s) == Name(Error::kInvalidAcl));
  CHECK(h.Err(SetAclReq("/a", {}), s) == Name(Error::kInvalidAcl));  // empty
  CHECK(h.Err(SetAclReq("/a", CreatorAllAcl()), s, Anyone()) ==
        Name(Error::kInvalidAcl));
  CHECK(h.Err(SetAclReq("/nope", bad_acl), s) == Name(Error::kInvalidAcl));
  CHECK(h.Err(SetAclReq("/nope", OpenAcl()), s) == Name(Error::kNoNode));
  CHECK(h.Err(SetAclReq("/noadmin", OpenAcl()), s) == Name(Error::kNoAuth));
  CHECK(h.Err(SetAclReq("/noadmin", OpenAcl(), 5), s) == Name(Error::kNoAuth));
  CHECK(h.Err(SetAclReq("/a", OpenAcl(), 1), s) == Name(Error::kBadVersion));
  CHECK(h.Err(SetAclReq("/synod", OpenAcl()), s) == Name(Error::kBadArguments));
  CHECK(h.Err(SetAclReq("a", OpenAcl()), s) == Name(Error::kBadArguments));
  CHECK(h.prep.pending_size() == 0);
  h.Must(SetAclReq("/noadmin", OpenAcl(), 0), s, Super());
  h.Must(SetAclReq("/a", OpenAcl(), 0), s);
}

TEST_CASE("Preparer check errors, in ZooKeeper's order", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a"), s);
  h.Commit(
      CreateReq("/noread", "", CreateMode::kPersistent, AllBut(perms::kRead)),
      s);

  CHECK(h.Err(CheckReq("/nope"), s) == Name(Error::kNoNode));
  CHECK(h.Err(CheckReq("/noread"), s) == Name(Error::kNoAuth));
  CHECK(h.Err(CheckReq("/noread", 3), s) == Name(Error::kNoAuth));
  CHECK(h.Err(CheckReq("/a", 1), s) == Name(Error::kBadVersion));
  CHECK(h.Err(CheckReq("/a/"), s) == Name(Error::kBadArguments));
  h.Must(CheckReq("/a", 0), s);
  h.Must(CheckReq("/noread", 0), s, Super());
  // Reads of the system subtree are allowed.
  h.Must(CheckReq("/synod", 0), s);
}

// ---- Pipelining -------------------------------------------------------------

TEST_CASE("Preparer validates against pending, unapplied txns", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  REQUIRE(h.prep.pending_size() == 0);

  txn::Txn create_a = h.Must(CreateReq("/a", "v0"), s);
  CHECK(create_a.zxid() == Z(2));
  CHECK(h.tree.Find("/a") == nullptr);  // not applied
  CHECK(h.prep.pending_size() == 2);    // "/" and "/a"

  txn::Txn create_b = h.Must(CreateReq("/a/b"), s);
  CHECK(create_b.create().parent_cversion() == 1);
  CHECK(h.Err(CreateReq("/a"), s) == Name(Error::kNodeExists));
  CHECK(h.Err(DeleteReq("/a"), s) == Name(Error::kNotEmpty));
  txn::Txn set = h.Must(SetReq("/a", "v1", 0), s);
  CHECK(set.set_data().version() == 1);
  CHECK(h.Err(SetReq("/a", "v2", 0), s) == Name(Error::kBadVersion));
  CHECK(h.Err(CheckReq("/a", 0), s) == Name(Error::kBadVersion));
  h.Must(CheckReq("/a", 1), s);
  // A second create under / sees the pending cversion.
  txn::Txn create_c = h.Must(CreateReq("/c"), s);
  CHECK(create_c.create().parent_cversion() == 2);
  // A pending delete hides the node.
  h.Must(DeleteReq("/c"), s);
  CHECK(h.Err(SetReq("/c", "x"), s) == Name(Error::kNoNode));
  CHECK(h.Err(CreateReq("/c/x"), s) == Name(Error::kNoNode));
  txn::Txn again = h.Must(CreateReq("/c"), s);  // may be created again
  CHECK(again.create().parent_cversion() == 3);
  CHECK(h.tree.Find("/a") == nullptr);
  CHECK(h.prep.pending_size() > 0);

  h.ApplyAll();
  CHECK(h.prep.pending_size() == 0);
  const Znode* a = h.tree.Find("/a");
  REQUIRE(a != nullptr);
  CHECK(a->data == "v1");
  CHECK(a->stat.version == 1);
  CHECK(a->stat.num_children == 1);
  CHECK(a->stat.cversion == 1);
  CHECK(h.tree.Find("/")->stat.cversion == 3);
  CHECK(h.tree.Find("/c") != nullptr);

  // Later prepares see the tree.
  CHECK(h.Err(SetReq("/a", "v2", 0), s) == Name(Error::kBadVersion));
  h.Must(SetReq("/a", "v2", 1), s);
  CHECK(h.Err(CreateReq("/a/b"), s) == Name(Error::kNodeExists));
  txn::Txn d = h.Must(CreateReq("/d"), s);
  CHECK(d.create().parent_cversion() == 4);
}

TEST_CASE("Preparer applies pending ACLs and ephemeral parents at once",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a"), s);

  // A pending setACL is enforced, and its aversion counts.
  txn::Txn acl = h.Must(SetAclReq("/a", ReadOnlyAcl(), 0), s);
  CHECK(acl.set_acl().aversion() == 1);
  CHECK(h.Err(SetReq("/a", "x"), s) == Name(Error::kNoAuth));
  CHECK(h.Err(CreateReq("/a/b"), s) == Name(Error::kNoAuth));
  CHECK(h.Err(SetAclReq("/a", OpenAcl(), 0), s, Super()) ==
        Name(Error::kBadVersion));
  h.Must(SetAclReq("/a", OpenAcl(), 1), s, Super());
  h.Must(SetReq("/a", "x"), s);

  // A pending ephemeral cannot get children.
  h.Must(CreateReq("/pe", "", CreateMode::kEphemeral), s);
  CHECK(h.Err(CreateReq("/pe/x"), s) == Name(Error::kNoChildrenForEphemerals));

  h.ApplyAll();
  CHECK(h.prep.pending_size() == 0);
  CHECK(h.tree.Find("/a")->stat.aversion == 2);
  CHECK(h.tree.Find("/a")->data == "x");
  CHECK(h.tree.Find("/pe")->stat.ephemeral_owner == s);
}

TEST_CASE("Preparer numbers sequential children of a pending parent",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Must(CreateReq("/q"), s);
  Strings paths;
  for (int i = 0; i < 3; ++i) {
    txn::Txn t =
        h.Must(CreateReq("/q/s-", "", CreateMode::kPersistentSequential), s);
    paths.push_back(t.create().path());
    CHECK(t.create().parent_cversion() == i + 1);
  }
  CHECK(paths ==
        Strings{"/q/s-0000000000", "/q/s-0000000001", "/q/s-0000000002"});
  h.ApplyAll();
  CHECK(h.tree.Find("/q")->stat.cversion == 3);
  CHECK(h.tree.Find("/q")->stat.num_children == 3);
  CHECK(h.prep.pending_size() == 0);
  txn::Txn next =
      h.Must(CreateReq("/q/s-", "", CreateMode::kPersistentSequential), s);
  CHECK(next.create().path() == "/q/s-0000000003");
}

TEST_CASE("Preparer Applied forgets only what the tree now holds",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  txn::Txn a = h.Must(CreateReq("/a"), s);  // touches "/" and "/a"
  txn::Txn b = h.Must(CreateReq("/b"), s);  // touches "/" and "/b"
  REQUIRE(h.prep.pending_size() == 3);

  ApplyOutput out;
  REQUIRE(h.tree.Apply(a, &out, nullptr).ok());
  h.prep.Applied(a.zxid());
  // "/" was last changed by b: it stays pending, with b's cversion.
  CHECK(h.prep.pending_size() == 2);
  h.unapplied.erase(h.unapplied.begin());
  txn::Txn c = h.Must(CreateReq("/c"), s);
  CHECK(c.create().parent_cversion() == 3);
  CHECK(h.Err(CreateReq("/b"), s) == Name(Error::kNodeExists));
  h.ApplyAll();
  CHECK(h.prep.pending_size() == 0);
  CHECK(h.tree.Find("/")->stat.cversion == 3);
}

// ---- Multi ------------------------------------------------------------------

TEST_CASE("Preparer multi ops see earlier ops' effects", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  txn::Txn t = h.Must(
      MultiReq({CreateReq("/m", "d"),
                CreateReq("/m/c-", "", CreateMode::kPersistentSequential),
                CreateReq("/m/c-", "", CreateMode::kPersistentSequential),
                SetReq("/m", "dd", 0), CheckReq("/m", 1),
                SetReq("/m", "ddd", 1), DeleteReq("/m/c-0000000000", 0)}),
      s);
  REQUIRE(t.has_multi());
  REQUIRE(t.multi().ops_size() == 7);
  CHECK(t.multi().ops(0).create().path() == "/m");
  CHECK(t.multi().ops(1).create().path() == "/m/c-0000000000");
  CHECK(t.multi().ops(1).create().parent_cversion() == 1);
  CHECK(t.multi().ops(2).create().path() == "/m/c-0000000001");
  CHECK(t.multi().ops(2).create().parent_cversion() == 2);
  CHECK(t.multi().ops(3).set_data().version() == 1);
  CHECK(t.multi().ops(4).check().path() == "/m");
  CHECK(t.multi().ops(5).set_data().version() == 2);
  CHECK(t.multi().ops(6).delete_node().path() == "/m/c-0000000000");
  // And the pending state after it is the multi's end state.
  CHECK(h.Err(DeleteReq("/m"), s) == Name(Error::kNotEmpty));
  CHECK(h.Err(CheckReq("/m/c-0000000000"), s) == Name(Error::kNoNode));
  h.Must(CheckReq("/m", 2), s);
  h.ApplyAll();
  CHECK(h.prep.pending_size() == 0);
  CHECK(h.tree.Find("/m")->data == "ddd");
  CHECK(h.tree.Find("/m")->stat.version == 2);
  CHECK(h.tree.Find("/m")->stat.cversion == 2);
  CHECK(h.tree.Find("/m/c-0000000001") != nullptr);
}

TEST_CASE("Preparer refuses a multi with an invalid path anywhere as "
          "BadArguments before checking any op",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/exists"), s);
  // The first op would fail NodeExists, the second NoNode: the invalid
  // path of the third decides, as ZooKeeper's client checks every path
  // before it sends the multi.
  txn::Txn t;
  absl::Status st = h.Try(MultiReq({CreateReq("/exists"), SetReq("/absent", "x"),
                                    CheckReq("/bad/")}),
                          s, AuthInfo{}, &t);
  CHECK(ErrorOf(st) == Error::kBadArguments);
  CHECK(FailedOpIndex(st) == 2);
  for (const char* bad : {"", "no-slash", "/a//b", "/a/.", "/trailing/"}) {
    INFO(bad);
    st = h.Try(MultiReq({CreateReq("/fresh"), DeleteReq(bad)}), s);
    CHECK(ErrorOf(st) == Error::kBadArguments);
    CHECK(FailedOpIndex(st) == 1);
  }
  // A sequential create may end in "/"; a plain one may not.
  st = h.Try(MultiReq({CreateReq("/exists/", "", CreateMode::kPersistent)}), s);
  CHECK(ErrorOf(st) == Error::kBadArguments);
  h.Must(MultiReq({CreateReq("/exists/", "",
                             CreateMode::kPersistentSequential)}),
         s);
  // Nothing of the refused multis applied.
  h.ApplyAll();
  CHECK(h.tree.Find("/fresh") == nullptr);
}

TEST_CASE("Preparer multi is all-or-nothing", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a"), s);
  const Zxid zxid_before = h.next;

  struct Case {
    const char* name;
    txn::Request multi;
    Error error;
    int index;
  };
  const std::vector<Case> cases = {
      {"missing parent at 2",
       MultiReq({CreateReq("/m"), CreateReq("/m/c"), CreateReq("/x/y")}),
       Error::kNoNode, 2},
      {"duplicate create at 1", MultiReq({CreateReq("/m"), CreateReq("/m")}),
       Error::kNodeExists, 1},
      {"check after delete at 1", MultiReq({DeleteReq("/a"), CheckReq("/a")}),
       Error::kNoNode, 1},
      {"bad version at 2",
       MultiReq(
           {SetReq("/a", "x"), SetReq("/a", "y", 1), SetReq("/a", "z", 1)}),
       Error::kBadVersion, 2},
      {"first op fails", MultiReq({CheckReq("/zz"), CreateReq("/m")}),
       Error::kNoNode, 0},
      {"bad path at 1", MultiReq({CreateReq("/m"), DeleteReq("bad")}),
       Error::kBadArguments, 1},
      {"nested multi at 1",
       MultiReq({CreateReq("/m"), MultiReq({CreateReq("/n")})}),
       Error::kBadArguments, 1},
      {"setACL at 1", MultiReq({CreateReq("/m"), SetAclReq("/a", OpenAcl())}),
       Error::kBadArguments, 1},
      {"createSession at 2",
       MultiReq({CreateReq("/m"), CheckReq("/a"), SessionReq(100)}),
       Error::kBadArguments, 2},
      {"closeSession at 1", MultiReq({CreateReq("/m"), CloseReq()}),
       Error::kBadArguments, 1},
      {"cleanup at 1", MultiReq({DeleteReq("/a"), CleanupReq("/a")}),
       Error::kBadArguments, 1},
      {"empty op at 0", MultiReq({txn::Request()}), Error::kBadArguments, 0},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    absl::Status st = h.Try(c.multi, s);
    CHECK(Name(ErrorOf(st)) == Name(c.error));
    CHECK(FailedOpIndex(st) == c.index);
    CHECK(h.prep.pending_size() == 0);
  }
  // Nothing of any failed multi is visible: /m is free, /a untouched.
  CHECK(h.next == zxid_before);
  txn::Txn m = h.Must(CreateReq("/m"), s);
  CHECK(m.create().parent_cversion() == 2);
  txn::Txn set = h.Must(SetReq("/a", "x", 0), s);
  CHECK(set.set_data().version() == 1);
  h.Must(CheckReq("/a"), s);
  h.ApplyAll();
  CHECK(h.tree.Find("/m/c") == nullptr);
  CHECK(h.tree.Find("/n") == nullptr);
}

TEST_CASE("Preparer accepts an empty multi", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  txn::Txn t = h.Must(MultiReq({}), s);
  CHECK(t.has_multi());
  CHECK(t.multi().ops_size() == 0);
  CHECK(h.prep.pending_size() == 0);
  h.ApplyAll();
  CHECK(h.tree.last_zxid() == t.zxid());
}

TEST_CASE("Preparer errors outside a multi carry no op index", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  absl::Status st = h.Try(CheckReq("/nope"), s);
  CHECK(Name(ErrorOf(st)) == Name(Error::kNoNode));
  CHECK(FailedOpIndex(st) == -1);
  st = h.Try(txn::Request(), s);
  CHECK(Name(ErrorOf(st)) == Name(Error::kBadArguments));
}

// ---- Sessions ---------------------------------------------------------------

TEST_CASE("Preparer refuses requests of unknown sessions", "[preparer]") {
  Harness h;
  h.Commit(CreateReq("/a"), 0);
  const int64_t ghost = Z(77);
  for (const txn::Request& r :
       {CreateReq("/x"), DeleteReq("/a"), SetReq("/a", "x"),
        SetAclReq("/a", OpenAcl()), CheckReq("/a"), MultiReq({}),
        MultiReq({CheckReq("/a")}), CloseReq()}) {
    INFO(r.ShortDebugString());
    absl::Status st = h.Try(r, ghost);
    CHECK(Name(ErrorOf(st)) == Name(Error::kSessionExpired));
    CHECK(FailedOpIndex(st) == -1);
  }
  // Session checks come first: even a malformed request is SessionExpired.
  CHECK(h.Err(CreateReq("bad"), ghost) == Name(Error::kSessionExpired));
  CHECK(h.prep.pending_size() == 0);
  // The system and cleanup need no session.
  h.Must(CheckReq("/a"), 0);
}

TEST_CASE("Preparer expires a session once its close is prepared",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  const int64_t other = h.OpenSession();
  h.Commit(CreateReq("/a"), s);

  txn::Txn close = h.Must(CloseReq(), s);
  CHECK(close.has_close_session());
  CHECK(h.Err(CheckReq("/a"), s) == Name(Error::kSessionExpired));
  CHECK(h.Err(CreateReq("/b"), s) == Name(Error::kSessionExpired));
  CHECK(h.Err(CloseReq(), s) == Name(Error::kSessionExpired));
  h.Must(CheckReq("/a"), other);  // others are unaffected

  h.ApplyAll();
  CHECK_FALSE(h.tree.sessions().contains(s));
  CHECK(h.Err(CheckReq("/a"), s) == Name(Error::kSessionExpired));
  h.Must(CheckReq("/a"), other);
}

TEST_CASE("Preparer closeSession lists the session's ephemerals as pending",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  const int64_t other = h.OpenSession();
  h.Commit(CreateReq("/p"), s);
  h.Commit(CreateReq("/z", "", CreateMode::kEphemeral), s);
  h.Commit(CreateReq("/p/gone", "", CreateMode::kEphemeral), s);
  h.Commit(CreateReq("/p/kept", "", CreateMode::kEphemeral), s);
  h.Commit(CreateReq("/theirs", "", CreateMode::kEphemeral), other);
  REQUIRE(h.tree.EphemeralsOf(s) == Strings{"/p/gone", "/p/kept", "/z"});

  // Pending: one ephemeral deleted, two created (one sequential), a
  // persistent node created; none applied.
  h.Must(DeleteReq("/p/gone"), s);
  h.Must(CreateReq("/b", "", CreateMode::kEphemeral), s);
  h.Must(CreateReq("/p/seq-", "", CreateMode::kEphemeralSequential), s);
  h.Must(CreateReq("/persistent"), s);
  h.Must(CreateReq("/other-new", "", CreateMode::kEphemeral), other);

  txn::Txn close = h.Must(CloseReq(), s);
  CHECK(Ephemerals(close) ==
        Strings{"/b", "/p/kept", "/p/seq-0000000002", "/z"});
  // The closing deletes are pending too: /p has no children left but
  // nothing else was touched.
  h.Must(DeleteReq("/p"), other);
  CHECK(h.Err(CheckReq("/z"), other) == Name(Error::kNoNode));
  h.Must(CheckReq("/persistent"), other);

  h.ApplyAll();
  CHECK(h.prep.pending_size() == 0);
  CHECK(h.tree.EphemeralsOf(s).empty());
  CHECK(h.tree.EphemeralsOf(other) == Strings{"/other-new", "/theirs"});
  CHECK(h.tree.Find("/persistent") != nullptr);
  CHECK(h.tree.Find("/p") == nullptr);
}

TEST_CASE("Preparer closeSession of a session without ephemerals",
          "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/a"), s);
  txn::Txn close = h.Must(CloseReq(), s);
  CHECK(Ephemerals(close).empty());
  h.ApplyAll();
  CHECK(h.tree.sessions().empty());
}

TEST_CASE(
    "Preparer closeSession lists an ephemeral re-created over a pending delete",
    "[preparer]") {
  // The tree holds persistent /x; pending: delete /x, then create /x as an
  // ephemeral of s. Closing s must delete /x, or it outlives its session.
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/x"), s);
  h.Must(DeleteReq("/x"), s);
  h.Must(CreateReq("/x", "", CreateMode::kEphemeral), s);

  txn::Txn close = h.Must(CloseReq(), s);
  CHECK(Ephemerals(close) == Strings{"/x"});
  h.ApplyAll();
  CHECK(h.tree.sessions().empty());
  CHECK(h.tree.EphemeralsOf(s).empty());
  CHECK(h.tree.Find("/x") == nullptr);
}

TEST_CASE("Preparer closeSession skips a path now owned by another session",
          "[preparer]") {
  // The tree holds /e, an ephemeral of s; pending: delete /e, then create /e
  // as an ephemeral of `other`. Closing s must not delete other's node.
  Harness h;
  const int64_t s = h.OpenSession();
  const int64_t other = h.OpenSession();
  h.Commit(CreateReq("/e", "", CreateMode::kEphemeral), s);
  h.Must(DeleteReq("/e"), s);
  h.Must(CreateReq("/e", "", CreateMode::kEphemeral), other);

  txn::Txn close = h.Must(CloseReq(), s);
  CHECK(Ephemerals(close).empty());
  h.ApplyAll();
  CHECK(h.tree.EphemeralsOf(other) == Strings{"/e"});
  REQUIRE(h.tree.Find("/e") != nullptr);
  CHECK(h.tree.Find("/e")->stat.ephemeral_owner == other);
}

// ---- Cleanup ----------------------------------------------------------------

TEST_CASE("Preparer cleanup deletes due containers only", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.Commit(CreateReq("/c", "", CreateMode::kContainer), s);
  h.Commit(CreateReq("/never", "", CreateMode::kContainer), s);
  h.Commit(CreateReq("/plain"), s);

  CHECK(h.Err(CleanupReq("/never"), 0) == Name(Error::kNotEmpty));
  CHECK(h.Err(CleanupReq("/plain"), 0) == Name(Error::kNotEmpty));
  CHECK(h.Err(CleanupReq("/nope"), 0) == Name(Error::kNoNode));
  h.Commit(CreateReq("/c/x"), s);
  CHECK(h.Err(CleanupReq("/c"), 0) == Name(Error::kNotEmpty));

  // Due once its last child is deleted, even while that delete is pending.
  h.Must(DeleteReq("/c/x"), s);
  txn::Txn t = h.Must(CleanupReq("/c"), 0);
  REQUIRE(t.has_delete_node());
  CHECK(t.delete_node().path() == "/c");
  CHECK(h.Err(CleanupReq("/c"), 0) == Name(Error::kNoNode));  // pending delete
  h.ApplyAll();
  CHECK(h.tree.Find("/c") == nullptr);
  CHECK(h.tree.CleanupCandidates(h.now).empty());

  // A pending child makes a due container not due.
  h.Commit(CreateReq("/d", "", CreateMode::kContainer), s);
  h.Commit(CreateReq("/d/x"), s);
  h.Commit(DeleteReq("/d/x"), s);
  REQUIRE(h.tree.CleanupCandidates(h.now) == Strings{"/d"});
  h.Must(CreateReq("/d/y"), s);
  CHECK(h.Err(CleanupReq("/d"), 0) == Name(Error::kNotEmpty));
}

TEST_CASE(
    "Preparer cleanup deletes TTL nodes unmodified for longer than the TTL",
    "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  h.now = 10000;
  h.Commit(CreateReq("/t", "", CreateMode::kPersistentWithTtl, {}, 500), s);
  h.Commit(CreateReq("/tp", "", CreateMode::kPersistentWithTtl, {}, 500), s);
  h.Commit(CreateReq("/tp/kid"), s);

  h.now = 10500;  // exactly the TTL: not yet
  CHECK(h.Err(CleanupReq("/t"), 0) == Name(Error::kNotEmpty));
  h.now = 10501;
  CHECK(h.Err(CleanupReq("/tp"), 0) == Name(Error::kNotEmpty));  // has a child

  // A pending set restarts the clock.
  h.Must(SetReq("/t", "x"), s);
  CHECK(h.Err(CleanupReq("/t"), 0) == Name(Error::kNotEmpty));
  h.now = 11001;  // 500 since the set: not yet
  CHECK(h.Err(CleanupReq("/t"), 0) == Name(Error::kNotEmpty));
  h.now = 11002;
  txn::Txn t = h.Must(CleanupReq("/t"), s);  // any session: not checked
  CHECK(t.delete_node().path() == "/t");
  h.ApplyAll();
  CHECK(h.tree.Find("/t") == nullptr);

  // Cleanup is the leader's own request: no live session needed.
  h.Commit(DeleteReq("/tp/kid"), s);
  h.Must(CleanupReq("/tp"), Z(12345));
  h.ApplyAll();
  CHECK(h.tree.Find("/tp") == nullptr);
}

// ---- Reset ------------------------------------------------------------------

TEST_CASE("Preparer Reset forgets every pending effect", "[preparer]") {
  Harness h;
  const int64_t s = h.OpenSession();
  const int64_t closing = h.OpenSession();
  h.Commit(CreateReq("/a"), s);

  h.Must(CreateReq("/b"), s);
  h.Must(DeleteReq("/a"), s);
  const int64_t opening = h.Must(SessionReq(100), 0).zxid();
  h.Must(CloseReq(), closing);
  h.Must(CheckReq("/b"), opening);
  REQUIRE(h.prep.pending_size() > 0);

  h.prep.Reset();
  h.unapplied.clear();  // those txns will never apply
  CHECK(h.prep.pending_size() == 0);
  h.Must(CheckReq("/a"), s);  // the delete is forgotten
  CHECK(h.Err(CheckReq("/b"), s) == Name(Error::kNoNode));  // and the create
  txn::Txn b = h.Must(CreateReq("/b"), s);
  CHECK(b.create().parent_cversion() == 2);  // from the tree's cversion
  CHECK(h.Err(CheckReq("/a"), opening) == Name(Error::kSessionExpired));
  h.Must(CheckReq("/a"), closing);  // its close is forgotten
  h.ApplyAll();
  CHECK(h.prep.pending_size() == 0);
  CHECK(h.tree.Find("/b") != nullptr);
}

}  // namespace
}  // namespace synod
