// Tests for the request limits (util/limits.h) as the Preparer enforces
// them: each limit at and one beyond its value, and the property that
// whatever the Preparer accepts is stored and read back intact (its txn
// survives the log's encoding, and the tree it builds survives its records'
// encoding), for random requests at and beyond every limit.

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "acl/acl.h"
#include "synod/options.h"
#include "synod/types.h"
#include "tree/data_tree.h"
#include "tree/path.h"
#include "txn/preparer.h"
#include "txn/txn.pb.h"
#include "util/limits.h"

namespace synod {
namespace {

constexpr Zxid Z(int64_t counter) { return MakeZxid(3, counter); }

// Small limits, so requests at and beyond each are cheap to build.
RequestLimits Small() {
  RequestLimits l;
  l.max_data_bytes = 300;
  l.max_path_bytes = 80;
  l.max_acl_entries = 6;
  l.max_acl_id_bytes = 40;
  l.max_auth_ids = 4;
  l.max_multi_ops = 5;
  l.max_request_bytes = 2000;
  return l;
}

txn::Request Create(const std::string& path, const std::string& data,
                    const AclList& acl = {},
                    CreateMode mode = CreateMode::kPersistent) {
  txn::Request r;
  txn::CreateRequest* c = r.mutable_create();
  c->set_path(path);
  c->set_data(data);
  c->set_mode(static_cast<int32_t>(mode));
  AclToProto(acl, c->mutable_acl());
  return r;
}

// `n` distinct digest entries, each id `id_bytes` long.
AclList Digests(int n, size_t id_bytes) {
  AclList acl;
  for (int i = 0; i < n; ++i) {
    std::string id = absl::StrCat("u", i, ":");
    id.resize(id_bytes, 'h');
    acl.push_back(Acl{perms::kAll, "digest", id});
  }
  return acl;
}

// A tree and a preparer whose accepted txns are applied at once.
struct Bench {
  explicit Bench(const RequestLimits& limits) : prep(&tree, limits) {
    session = Apply(SessionRequest());
  }

  static txn::Request SessionRequest() {
    txn::Request r;
    r.mutable_create_session()->set_timeout_ms(30000);
    return r;
  }

  // Prepares `r` for `session`; on success applies its txn and returns OK.
  absl::Status Try(const txn::Request& r, const AuthInfo& auth = {}) {
    txn::Txn t;
    absl::Status s = prep.Prepare(r, session, auth, next, 1000, &t);
    if (!s.ok()) return s;
    t.set_zxid(next++);
    t.set_time_ms(1000);
    t.set_session_id(session);
    accepted.push_back(t);
    ApplyOutput out;
    absl::Status applied = tree.Apply(t, &out, nullptr);
    INFO(applied.ToString());
    REQUIRE(applied.ok());
    prep.Applied(t.zxid());
    return s;
  }

  int64_t Apply(const txn::Request& r) {
    REQUIRE(Try(r).ok());
    return accepted.back().zxid();
  }

  Error Err(const txn::Request& r, const AuthInfo& auth = {}) {
    return ErrorOf(Try(r, auth));
  }

  DataTree tree;
  Preparer prep;
  Zxid next = Z(1);
  int64_t session = 0;
  std::vector<txn::Txn> accepted;
};

// Requires every node of `tree` to come back equal from its record, loaded
// into a fresh tree in the order a restart loads them.
void RequireRecordsRoundTrip(const DataTree& tree) {
  DataTree fresh;
  DataTree::LoadCursor cursor;
  tree.ForEachNode([&](const std::string& path, const Znode& node) {
    std::string record;
    tree.AppendNodeRecord(node, &record);
    absl::Status s = fresh.LoadNode(path, record, &cursor);
    INFO(path << ": " << s.ToString());
    REQUIRE(s.ok());
  });
  REQUIRE(fresh.node_count() == tree.node_count());
  tree.ForEachNode([&](const std::string& path, const Znode& node) {
    const Znode* back = fresh.Find(path);
    INFO(path);
    REQUIRE(back != nullptr);
    CHECK(back->data == node.data);
    CHECK(back->stat == node.stat);
    CHECK(*back->acl == *node.acl);
    CHECK(back->mode == node.mode);
    CHECK(back->ttl_ms == node.ttl_ms);
  });
}

// Requires each txn to come back equal from the log's encoding.
void RequireTxnsRoundTrip(const std::vector<txn::Txn>& txns) {
  for (const txn::Txn& t : txns) {
    std::string bytes = t.SerializeAsString();
    txn::Txn back;
    REQUIRE(back.ParseFromString(bytes));
    REQUIRE(back.SerializeAsString() == bytes);
  }
}

TEST_CASE("each request limit accepts its value and refuses one more",
          "[limits]") {
  const RequestLimits l = Small();
  Bench b(l);

  // Data.
  CHECK(b.Err(Create("/d", std::string(300, 'x'))) == Error::kOk);
  CHECK(b.Err(Create("/d2", std::string(301, 'x'))) == Error::kBadArguments);

  // Path (a sequential create counts its 10 digits).
  const std::string at = "/" + std::string(79, 'p');
  CHECK(b.Err(Create(at, "")) == Error::kOk);
  CHECK(b.Err(Create(at + "q", "")) == Error::kBadArguments);
  CHECK(b.Err(Create("/" + std::string(69, 's'), "", {},
                     CreateMode::kPersistentSequential)) == Error::kOk);
  CHECK(b.Err(Create("/" + std::string(70, 's'), "", {},
                     CreateMode::kPersistentSequential)) ==
        Error::kBadArguments);

  // ACL entries and id length.
  CHECK(b.Err(Create("/a6", "", Digests(6, 20))) == Error::kOk);
  CHECK(b.Err(Create("/a7", "", Digests(7, 20))) == Error::kInvalidAcl);
  CHECK(b.Err(Create("/i40", "", Digests(1, 40))) == Error::kOk);
  CHECK(b.Err(Create("/i41", "", Digests(1, 41))) == Error::kInvalidAcl);
  txn::Request set_acl;
  set_acl.mutable_set_acl()->set_path("/d");
  set_acl.mutable_set_acl()->set_aversion(-1);
  AclToProto(Digests(7, 20), set_acl.mutable_set_acl()->mutable_acl());
  CHECK(b.Err(set_acl) == Error::kInvalidAcl);

  // "auth" expands to one entry per identity: the expanded ACL counts.
  AuthInfo many;
  for (int i = 0; i < 7; ++i) {
    many.ids.push_back(AuthId{"digest", absl::StrCat("u", i, ":h")});
  }
  CHECK(b.Err(Create("/auth7", "", {Acl{perms::kAll, "auth", ""}}), many) ==
        Error::kInvalidAcl);
  many.ids.resize(6);
  CHECK(b.Err(Create("/auth6", "", {Acl{perms::kAll, "auth", ""}}), many) ==
        Error::kOk);

  // Ops of a multi.
  txn::Request multi;
  for (int i = 0; i < 5; ++i) {
    *multi.mutable_multi()->add_ops() = Create(absl::StrCat("/m", i), "");
  }
  txn::Request six = multi;
  *six.mutable_multi()->add_ops() = Create("/m5", "");
  CHECK(b.Err(six) == Error::kBadArguments);
  CHECK(b.Err(multi) == Error::kOk);

  // The request as a whole: 5 creates of 300 bytes and 6 ACL entries each
  // are within each op's limits but not the request's.
  txn::Request heavy;
  for (int i = 0; i < 5; ++i) {
    *heavy.mutable_multi()->add_ops() =
        Create(absl::StrCat("/h", i), std::string(300, 'h'), Digests(6, 40));
  }
  CHECK(b.Err(heavy) == Error::kBadArguments);
  CHECK(b.tree.Find("/h0") == nullptr);

  // Nothing refused left a node or a pending change behind.
  for (const char* p : {"/d2", "/a7", "/i41", "/auth7", "/m5"}) {
    CHECK(b.tree.Find(p) == nullptr);
  }
  CHECK(b.prep.pending_size() == 0);
}

TEST_CASE("a txn the leader's \"auth\" expansion makes too large is refused",
          "[limits]") {
  RequestLimits l = Small();
  l.max_acl_id_bytes = 400;
  l.max_request_bytes = 1000;
  Bench b(l);
  AuthInfo auth;
  for (int i = 0; i < 4; ++i) {
    std::string id = absl::StrCat("u", i, ":");
    id.resize(300, 'x');
    auth.ids.push_back(AuthId{"digest", id});
  }
  // A small request whose ACL becomes 4 x 300 bytes of identities.
  txn::Request r = Create("/big", "", {Acl{perms::kAll, "auth", ""}});
  CHECK(r.ByteSizeLong() < 100);
  CHECK(b.Err(r, auth) == Error::kBadArguments);
  CHECK(b.tree.Find("/big") == nullptr);
  auth.ids.resize(2);
  CHECK(b.Err(r, auth) == Error::kOk);
}

TEST_CASE("the 4,097-entry ACL of the finding is refused by default limits",
          "[limits]") {
  Bench b(LimitsFrom(Options{}));
  CHECK(b.Err(Create("/a", "", Digests(4097, 24))) == Error::kInvalidAcl);
  CHECK(b.tree.Find("/a") == nullptr);
  // At the default limit (1,024 entries), it is stored and read back.
  CHECK(b.Err(Create("/b", "", Digests(1024, 24))) == Error::kOk);
  RequireRecordsRoundTrip(b.tree);
}

TEST_CASE("unknown op types, modes and request kinds are BadArguments",
          "[limits]") {
  Bench b(Small());
  txn::Request empty;
  CHECK(b.Err(empty) == Error::kBadArguments);
  txn::Request multi;
  *multi.mutable_multi()->add_ops() = Create("/x", "");
  multi.mutable_multi()->add_ops();  // an op of no known type
  absl::Status s = b.Try(multi);
  CHECK(ErrorOf(s) == Error::kBadArguments);
  CHECK(FailedOpIndex(s) == 1);
  CHECK(b.tree.Find("/x") == nullptr);
  txn::Request mode = Create("/y", "");
  mode.mutable_create()->set_mode(99);
  CHECK(b.Err(mode) == Error::kBadArguments);
  // A request with a field number no version knows parses with no body.
  txn::Request unknown;
  REQUIRE(unknown.ParseFromString(std::string("\xfa\x01\x00", 3)));
  CHECK(b.Err(unknown) == Error::kBadArguments);
}

// ---- The property: accepted means storable and readable.

// Random bytes, sometimes invalid UTF-8.
std::string RandomText(std::mt19937_64& rng, size_t n) {
  std::string s(n, 'a');
  for (char& c : s) {
    const uint64_t r = rng() % 16;
    c = r == 0 ? static_cast<char>(0x80 | rng() % 64)
               : static_cast<char>('a' + rng() % 26);
  }
  return s;
}

// A length up to `limit` (at it a quarter of the time), or one beyond it
// (an eighth of the time).
size_t Near(std::mt19937_64& rng, int64_t limit) {
  switch (rng() % 8) {
    case 0:
    case 1:
      return static_cast<size_t>(limit);
    case 2:
      return static_cast<size_t>(limit + 1);
    default:
      return static_cast<size_t>(rng() % (limit + 1));
  }
}

AclList RandomAcl(std::mt19937_64& rng, const RequestLimits& l) {
  AclList acl;
  const size_t n = rng() % 20 == 0 ? 0 : Near(rng, l.max_acl_entries);
  for (size_t i = 0; i < n; ++i) {
    switch (rng() % 4) {
      case 0:
        acl.push_back(Acl{perms::kAll, "auth", ""});
        break;
      case 1:
        acl.push_back(Acl{perms::kRead, "world", "anyone"});
        break;
      default: {
        std::string id = absl::StrCat("u", i, ":");
        const size_t len = Near(rng, l.max_acl_id_bytes);
        id += RandomText(rng, len > id.size() ? len - id.size() : 1);
        acl.push_back(Acl{static_cast<int32_t>(1 + rng() % 31), "digest", id});
      }
    }
  }
  return acl;
}

txn::Request RandomOp(std::mt19937_64& rng, const RequestLimits& l,
                      const std::vector<std::string>& known) {
  const std::string& some =
      known.empty() ? std::string("/") : known[rng() % known.size()];
  txn::Request r;
  switch (rng() % 5) {
    case 0:
    case 1: {
      // Under a known node, unless its path is long already.
      std::string path = some == "/" || some.size() > 50 ? "" : some;
      path += "/" + absl::StrCat("n", rng() % 1000);
      if (rng() % 10 == 0) path += RandomText(rng, 4);  // maybe not UTF-8
      if (rng() % 4 == 0) {
        const size_t want = Near(rng, l.max_path_bytes);
        if (want > path.size()) path += std::string(want - path.size(), 'z');
      }
      const int32_t mode = rng() % 10 == 0
                               ? static_cast<int32_t>(rng() % 3) * 50 - 50
                               : static_cast<int32_t>(rng() % 7);
      r = Create(path, RandomText(rng, Near(rng, l.max_data_bytes)),
                 RandomAcl(rng, l), CreateMode::kPersistent);
      r.mutable_create()->set_mode(mode);
      if (mode == static_cast<int32_t>(CreateMode::kPersistentWithTtl) ||
          mode == static_cast<int32_t>(CreateMode::kPersistentSequentialWithTtl)) {
        r.mutable_create()->set_ttl_ms(1 + static_cast<int64_t>(rng() % 100000));
      }
      break;
    }
    case 2:
      r.mutable_set_data()->set_path(some);
      r.mutable_set_data()->set_data(
          RandomText(rng, Near(rng, l.max_data_bytes)));
      r.mutable_set_data()->set_version(-1);
      break;
    case 3:
      r.mutable_set_acl()->set_path(some);
      AclToProto(RandomAcl(rng, l), r.mutable_set_acl()->mutable_acl());
      r.mutable_set_acl()->set_aversion(-1);
      break;
    default:
      r.mutable_delete_node()->set_path(some);
      r.mutable_delete_node()->set_version(-1);
      break;
  }
  return r;
}

TEST_CASE("whatever the Preparer accepts is stored and read back intact",
          "[limits][property]") {
  const RequestLimits l = Small();
  int total_accepted = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    Bench b(l);
    AuthInfo auth;
    const size_t ids = Near(rng, l.max_auth_ids);
    for (size_t i = 0; i < ids; ++i) {
      std::string id = absl::StrCat("me", i, ":");
      id += RandomText(rng, Near(rng, l.max_acl_id_bytes) % 48 + 1);
      auth.ids.push_back(AuthId{"digest", id});
    }
    std::vector<std::string> known;
    int accepted = 0;
    for (int i = 0; i < 150; ++i) {
      txn::Request r;
      if (rng() % 5 == 0) {
        const size_t ops = Near(rng, l.max_multi_ops);
        for (size_t k = 0; k < ops; ++k) {
          *r.mutable_multi()->add_ops() = RandomOp(rng, l, known);
        }
      } else {
        r = RandomOp(rng, l, known);
      }
      const size_t before = b.accepted.size();
      absl::Status s = b.Try(r, auth);
      if (!s.ok()) {
        REQUIRE(b.accepted.size() == before);
        continue;
      }
      ++accepted;
      const txn::Txn& t = b.accepted.back();
      CHECK(static_cast<int64_t>(t.ByteSizeLong()) <= l.max_request_bytes);
      for (const txn::Txn& op :
           t.has_multi() ? std::vector<txn::Txn>(t.multi().ops().begin(),
                                                 t.multi().ops().end())
                         : std::vector<txn::Txn>{t}) {
        if (op.has_create()) {
          CHECK(static_cast<int64_t>(op.create().path().size()) <=
                l.max_path_bytes);
          CHECK(op.create().acl_size() <= l.max_acl_entries);
          known.push_back(op.create().path());
        }
        if (op.has_delete_node()) {
          known.erase(std::remove(known.begin(), known.end(),
                                  op.delete_node().path()),
                      known.end());
        }
      }
    }
    total_accepted += accepted;
    RequireTxnsRoundTrip(b.accepted);
    RequireRecordsRoundTrip(b.tree);
  }
  // Enough requests got through for the property to say something.
  CHECK(total_accepted >= 400);  // 623 with these seeds
}

}  // namespace
}  // namespace synod
