// Quotas below the host: ZooKeeper's StatsTrack text (tree/quota.h), the
// tree's count of each quota's subtree (data_tree), and the preparer's
// checks against every prepared txn (txn/preparer), including a random
// workload checked against a naive model with txns left pending at random.

#include "tree/quota.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "acl/acl.h"
#include "synod/types.h"
#include "tree/data_tree.h"
#include "tree/path.h"
#include "txn/preparer.h"
#include "txn/txn.pb.h"
#include "util/requests.h"

namespace synod {
namespace {

std::string Name(const absl::Status& s) {
  return std::string(ErrorName(ErrorOf(s)));
}

using testing::CreateReq;
using testing::DeleteReq;
using testing::MultiReq;
using testing::SetReq;

constexpr Zxid Z(int64_t counter) { return MakeZxid(3, counter); }

txn::Request SetQuotaReq(const std::string& path, const QuotaLimits& l) {
  txn::Request r;
  txn::SetQuotaRequest* q = r.mutable_set_quota();
  q->set_path(path);
  q->set_count(l.count);
  q->set_bytes(l.bytes);
  q->set_count_hard(l.count_hard);
  q->set_bytes_hard(l.bytes_hard);
  return r;
}

txn::Request DeleteQuotaReq(const std::string& path,
                            uint32_t fields = quota_fields::kAll) {
  txn::Request r;
  r.mutable_delete_quota()->set_path(path);
  r.mutable_delete_quota()->set_fields(fields);
  return r;
}

QuotaLimits Hard(int64_t count, int64_t bytes = -1) {
  QuotaLimits l;
  l.count_hard = count;
  l.bytes_hard = bytes;
  return l;
}

// A tree and a preparer over it, with the prepared txns not yet applied.
struct Harness {
  DataTree tree;
  Preparer prep{&tree, RequestLimits{}};
  Zxid next = Z(1);
  std::vector<txn::Txn> unapplied;
  int64_t session = 0;

  Harness() {
    txn::Request open;
    open.mutable_create_session()->set_timeout_ms(30000);
    session = next;
    REQUIRE(Try(open, 0).ok());
    ApplyAll();
  }

  absl::Status Try(const txn::Request& r, int64_t as,
                   const AuthInfo& auth = AuthInfo{}) {
    txn::Txn t;
    absl::Status s = prep.Prepare(r, as, auth, next, 1000, &t);
    if (s.ok()) {
      t.set_zxid(next++);
      t.set_time_ms(1000);
      t.set_session_id(as);
      unapplied.push_back(std::move(t));
    }
    return s;
  }
  absl::Status Try(const txn::Request& r) { return Try(r, session); }

  void Must(const txn::Request& r) {
    absl::Status s = Try(r);
    INFO(r.ShortDebugString() << " -> " << s.ToString());
    REQUIRE(s.ok());
  }

  // Applies the first `n` queued txns (all by default) in order.
  void ApplyAll(size_t n = SIZE_MAX) {
    n = std::min(n, unapplied.size());
    for (size_t i = 0; i < n; ++i) {
      ApplyOutput out;
      absl::Status s = tree.Apply(unapplied[i], &out, nullptr);
      INFO(unapplied[i].ShortDebugString() << " -> " << s.ToString());
      REQUIRE(s.ok());
      prep.Applied(unapplied[i].zxid());
    }
    unapplied.erase(unapplied.begin(), unapplied.begin() + n);
  }

  // Returns what the subtree at `path` holds, by walking the tree.
  Quota Walk(const std::string& path) const {
    Quota q;
    tree.ForEachInSubtree(path, [&](const std::string&, const Znode& n) {
      q.count++;
      q.bytes += static_cast<int64_t>(n.data.size());
    });
    return q;
  }

  // Every quota's count is what its subtree holds.
  void CheckCounts() const {
    for (const auto& [path, quota] : tree.quotas()) {
      const Quota walked = Walk(path);
      INFO(path);
      CHECK(quota.count == walked.count);
      CHECK(quota.bytes == walked.bytes);
    }
  }
};

TEST_CASE("Quota text is ZooKeeper's StatsTrack", "[quota]") {
  QuotaLimits l;
  l.count = 4;
  l.bytes = 5;
  l.count_hard = 10;
  l.bytes_hard = -1;
  CHECK(EncodeQuotaLimits(l) ==
        "count=4,bytes=5=;byteHardLimit=-1;countHardLimit=10");
  CHECK(*ParseQuotaLimits(EncodeQuotaLimits(l)) == l);
  // As ZooKeeper 3.4 wrote it, and as 3.7+ writes it with every key.
  auto old = ParseQuotaLimits("count=-1,bytes=100");
  REQUIRE(old.ok());
  CHECK(old->count == -1);
  CHECK(old->bytes == 100);
  CHECK(old->count_hard == -1);
  auto zk =
      ParseQuotaLimits("count=-1,bytes=-1=;byteHardLimit=7;countHardLimit=2");
  REQUIRE(zk.ok());
  CHECK(zk->bytes_hard == 7);
  CHECK(zk->count_hard == 2);
  CHECK(EncodeQuotaUsage(3, 12) == "count=3,bytes=12");

  for (const char* bad : {"", "count", "count=x,bytes=1", "count=1,count=2",
                          "count=-2,bytes=1", "size=1", "count=1=2,bytes=1"}) {
    INFO(bad);
    CHECK(ErrorOf(ParseQuotaLimits(bad).status()) == Error::kDataInconsistency);
  }

  CHECK(QuotaNodePath("/a/b") == "/synod/quota/a/b");
  CHECK(QuotaSubject("/synod/quota/a/b").value() == "/a/b");
  CHECK(!QuotaSubject("/synod/quota").has_value());
  CHECK(!QuotaSubject("/synod/quotas/a").has_value());
  CHECK(!QuotaSubject("/a").has_value());

  CHECK(ValidateQuotaLimits(Hard(1)).ok());
  CHECK(ValidateQuotaLimits(Hard(-1, 0)).ok());
  CHECK(ErrorOf(ValidateQuotaLimits(QuotaLimits{})) == Error::kBadArguments);
  CHECK(ErrorOf(ValidateQuotaLimits(Hard(0))) == Error::kBadArguments);
  CHECK(ErrorOf(ValidateQuotaLimits(Hard(-1, -2))) == Error::kBadArguments);
  QuotaLimits soft_zero;
  soft_zero.count = 0;
  CHECK(ErrorOf(ValidateQuotaLimits(soft_zero)) == Error::kBadArguments);
}

TEST_CASE("A quota is a node under /synod/quota and counts its subtree",
          "[quota]") {
  Harness h;
  h.Must(CreateReq("/a", "12345"));
  h.Must(CreateReq("/a/b", "xy"));
  h.Must(SetQuotaReq("/a/b", Hard(10)));
  h.ApplyAll();
  const Znode* holder = h.tree.Find("/synod/quota/a/b");
  REQUIRE(holder != nullptr);
  CHECK(holder->data ==
        "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=10");
  CHECK(h.tree.Find("/synod/quota/a")->data.empty());
  const Quota* q = h.tree.FindQuota("/a/b");
  REQUIRE(q != nullptr);
  CHECK(q->count == 1);
  CHECK(q->bytes == 2);
  CHECK(h.tree.FindQuota("/a") == nullptr);

  SECTION("limits merge as zkCli's setquota merges them") {
    QuotaLimits soft;
    soft.bytes = 100;
    h.Must(SetQuotaReq("/a/b", soft));
    h.ApplyAll();
    CHECK(h.tree.FindQuota("/a/b")->limits.bytes == 100);
    CHECK(h.tree.FindQuota("/a/b")->limits.count_hard == 10);
  }
  SECTION("one quota per path from the root") {
    absl::Status parent = h.Try(SetQuotaReq("/a/b/c", Hard(1)));
    CHECK(Name(parent) == "NoNode");  // no such node: checked first
    h.Must(CreateReq("/a/b/c"));
    parent = h.Try(SetQuotaReq("/a/b/c", Hard(1)));
    CHECK(Name(parent) == "BadArguments");
    CHECK(std::string(parent.message()) ==
          "/a/b/c has a parent /a/b which has a quota");
    absl::Status child = h.Try(SetQuotaReq("/a", Hard(1)));
    CHECK(std::string(child.message()) ==
          "/a has a child /a/b which has a quota");
  }
  SECTION("a quota pending in the pipeline counts for nesting too") {
    h.Must(CreateReq("/x"));
    h.Must(CreateReq("/x/y"));
    h.Must(SetQuotaReq("/x/y", Hard(5)));
    CHECK(Name(h.Try(SetQuotaReq("/x", Hard(5)))) == "BadArguments");
    h.Must(DeleteQuotaReq("/x/y"));
    h.Must(SetQuotaReq("/x", Hard(5)));
    h.ApplyAll();
    CHECK(h.tree.FindQuota("/x/y") == nullptr);
    CHECK(h.tree.FindQuota("/x")->count == 2);
    CHECK(h.tree.Find("/synod/quota/x/y") == nullptr);
  }
  SECTION("bad requests change nothing") {
    CHECK(Name(h.Try(SetQuotaReq("/", Hard(1)))) == "BadArguments");
    CHECK(Name(h.Try(SetQuotaReq("/synod", Hard(1)))) == "BadArguments");
    CHECK(Name(h.Try(SetQuotaReq("/a/", Hard(1)))) == "BadArguments");
    CHECK(Name(h.Try(SetQuotaReq("/a", QuotaLimits{}))) == "BadArguments");
    CHECK(Name(h.Try(SetQuotaReq("/missing", Hard(1)))) == "NoNode");
    CHECK(Name(h.Try(DeleteQuotaReq("/a"))) == "NoNode");
    CHECK(Name(h.Try(DeleteQuotaReq("/a/b", 0))) == "BadArguments");
    CHECK(Name(h.Try(DeleteQuotaReq("/a/b", 16))) == "BadArguments");
    // Quota nodes are the system's: no write reaches them directly.
    CHECK(Name(h.Try(SetReq("/synod/quota/a/b", "count=1,bytes=1"))) ==
          "BadArguments");
    CHECK(Name(h.Try(DeleteReq("/synod/quota/a/b"))) == "BadArguments");
    CHECK(Name(h.Try(CreateReq("/synod/quota/z"))) == "BadArguments");
    CHECK(Name(h.Try(MultiReq({SetQuotaReq("/a", Hard(1))}))) ==
          "BadArguments");
    CHECK(h.unapplied.empty());
  }
  SECTION("only who may ADMIN the node sets or drops its quota") {
    txn::Request locked = CreateReq("/locked");
    AclToProto({Acl{perms::kAll & ~perms::kAdmin, "world", "anyone"}},
               locked.mutable_create()->mutable_acl());
    h.Must(locked);
    CHECK(Name(h.Try(SetQuotaReq("/locked", Hard(3)))) == "NoAuth");
    AuthInfo super;
    super.super = true;
    REQUIRE(h.Try(SetQuotaReq("/locked", Hard(3)), h.session, super).ok());
    CHECK(Name(h.Try(DeleteQuotaReq("/locked"))) == "NoAuth");
    // Once the node is gone, its quota is anyone's to drop.
    h.Must(DeleteReq("/locked"));
    h.Must(DeleteQuotaReq("/locked"));
  }
  SECTION("deleting one limit keeps the others; deleting all trims the nodes") {
    QuotaLimits soft;
    soft.count = 3;
    h.Must(SetQuotaReq("/a/b", soft));
    h.Must(DeleteQuotaReq("/a/b", quota_fields::kCountHard));
    h.ApplyAll();
    CHECK(h.tree.FindQuota("/a/b")->limits.count == 3);
    CHECK(h.tree.FindQuota("/a/b")->limits.count_hard == -1);
    h.Must(DeleteQuotaReq("/a/b"));
    h.ApplyAll();
    CHECK(h.tree.FindQuota("/a/b") == nullptr);
    CHECK(h.tree.Find("/synod/quota/a") == nullptr);
    CHECK(h.tree.Find("/synod/quota") != nullptr);
  }
  h.ApplyAll();
  h.CheckCounts();
}

TEST_CASE("A hard count limit holds across txns not yet applied", "[quota]") {
  Harness h;
  h.Must(CreateReq("/q"));
  h.Must(SetQuotaReq("/q", Hard(4)));
  // Nothing applied from here: each create is checked against the ones
  // before it, as the log will order them.
  h.Must(CreateReq("/q/1"));
  h.Must(CreateReq("/q/2"));
  h.Must(CreateReq("/q/3"));
  absl::Status over = h.Try(CreateReq("/q/4"));
  CHECK(Name(over) == "QuotaExceeded");
  CHECK(std::string(over.message()) ==
        "quota exceeded: /q [count would be 5, hard limit 4]");
  CHECK(h.prep.quota_hard_exceeded() == 1);
  // A multi that would pass it fails whole, and takes nothing.
  h.Must(DeleteReq("/q/3"));
  absl::Status multi = h.Try(MultiReq({CreateReq("/q/a"), CreateReq("/q/b")}));
  CHECK(Name(multi) == "QuotaExceeded");
  CHECK(FailedOpIndex(multi) == 1);
  h.Must(CreateReq("/q/a"));
  CHECK(Name(h.Try(CreateReq("/q/b"))) == "QuotaExceeded");
  // Sequential and ephemeral children count alike.
  h.Must(DeleteReq("/q/a"));
  h.Must(CreateReq("/q/e", "", CreateMode::kEphemeralSequential));
  CHECK(Name(h.Try(CreateReq("/q/s", "", CreateMode::kPersistentSequential))) ==
        "QuotaExceeded");
  h.ApplyAll(3);  // part way
  CHECK(Name(h.Try(CreateReq("/q/z"))) == "QuotaExceeded");
  h.ApplyAll();
  CHECK(h.tree.FindQuota("/q")->count == 4);
  h.CheckCounts();
  // The session's end takes its ephemeral off the count.
  txn::Request close;
  close.mutable_close_session();
  REQUIRE(h.Try(close).ok());
  txn::Request open;
  open.mutable_create_session()->set_timeout_ms(30000);
  const int64_t next_session = h.next;
  REQUIRE(h.Try(open, 0).ok());
  h.session = next_session;
  h.Must(CreateReq("/q/after-close"));
  h.ApplyAll();
  CHECK(h.tree.FindQuota("/q")->count == 4);
  h.CheckCounts();
}

TEST_CASE("A hard bytes limit holds on creates and sets, in ZooKeeper's way",
          "[quota]") {
  Harness h;
  h.Must(CreateReq("/b", "1234"));
  h.Must(SetQuotaReq("/b", Hard(-1, 10)));
  h.Must(CreateReq("/b/c", "123456"));  // 10 bytes
  CHECK(Name(h.Try(CreateReq("/b/d", "x"))) == "QuotaExceeded");
  h.Must(CreateReq("/b/empty"));  // no bytes: no byte check
  CHECK(Name(h.Try(SetReq("/b", "12345"))) == "QuotaExceeded");
  // The quota is checked before the version, as ZooKeeper does.
  CHECK(Name(h.Try(SetReq("/b", "12345", 99))) == "QuotaExceeded");
  h.Must(SetReq("/b", "12"));          // 8 bytes
  h.Must(SetReq("/b/c", "12345678"));  // 10 again
  h.ApplyAll();
  CHECK(h.tree.FindQuota("/b")->bytes == 10);
  // A limit set below what the subtree holds holds it there: even a change
  // that shrinks it but stays above fails, as in ZooKeeper.
  h.Must(SetQuotaReq("/b", Hard(-1, 5)));
  CHECK(Name(h.Try(SetReq("/b/c", "1234"))) == "QuotaExceeded");
  h.Must(SetReq("/b/c", "1"));    // 3 bytes: under the limit
  h.Must(DeleteReq("/b/empty"));  // deletes are never refused
  h.ApplyAll();
  CHECK(h.tree.FindQuota("/b")->bytes == 3);
  h.CheckCounts();
}

TEST_CASE("A quota set while writes are pending counts them", "[quota]") {
  Harness h;
  h.Must(CreateReq("/p"));
  h.ApplyAll();
  // Pending when the quota is prepared: counted in its starting size.
  h.Must(CreateReq("/p/1", "aa"));
  h.Must(CreateReq("/p/2", "bbb"));
  h.Must(DeleteReq("/p/1"));
  h.Must(SetQuotaReq("/p", Hard(3)));
  h.Must(CreateReq("/p/3"));
  CHECK(Name(h.Try(CreateReq("/p/4"))) == "QuotaExceeded");
  h.ApplyAll(2);
  CHECK(Name(h.Try(CreateReq("/p/4"))) == "QuotaExceeded");
  h.ApplyAll();
  const Quota* q = h.tree.FindQuota("/p");
  REQUIRE(q != nullptr);
  CHECK(q->count == 3);
  CHECK(q->bytes == 3);
  h.CheckCounts();
  // Dropped while writes are pending: later writes are free at once.
  h.Must(DeleteQuotaReq("/p"));
  h.Must(CreateReq("/p/4"));
  h.Must(CreateReq("/p/5"));
  h.ApplyAll();
  CHECK(h.tree.FindQuota("/p") == nullptr);
}

TEST_CASE("A soft limit is counted and described, never refused", "[quota]") {
  Harness h;
  h.Must(CreateReq("/s"));
  QuotaLimits soft;
  soft.count = 1;
  soft.bytes = 2;
  h.Must(SetQuotaReq("/s", soft));
  h.Must(CreateReq("/s/a"));
  CHECK(h.prep.quota_soft_exceeded() == 1);
  CHECK(h.prep.last_soft_quota_warning() ==
        "quota exceeded: /s [count would be 2, soft limit 1]");
  h.Must(CreateReq("/s/b", "xyz"));
  CHECK(h.prep.quota_soft_exceeded() == 3);  // its count, then its bytes
  CHECK(h.prep.quota_hard_exceeded() == 0);
  h.ApplyAll();
  CHECK(h.tree.FindQuota("/s")->count == 3);
}

TEST_CASE("Quotas load back from node records, in any order", "[quota]") {
  Harness h;
  h.Must(CreateReq("/l", "abc"));
  h.Must(CreateReq("/l/m", "de"));
  h.Must(SetQuotaReq("/l", Hard(7, 70)));
  h.Must(CreateReq("/l/m/n", "f"));
  h.ApplyAll();
  std::vector<std::pair<std::string, std::string>> records;
  h.tree.ForEachNode([&](const std::string& path, const Znode&) {
    if (path != "/" && path != "/synod") {
      records.emplace_back(path, h.tree.EncodeNode(path));
    }
  });
  // Parents first, as the store loads them; quota nodes before or after
  // the nodes they count.
  for (bool quota_first : {true, false}) {
    DataTree loaded;
    std::stable_sort(
        records.begin(), records.end(), [&](const auto& a, const auto& b) {
          const bool qa = QuotaSubject(a.first) || a.first == "/synod/quota";
          const bool qb = QuotaSubject(b.first) || b.first == "/synod/quota";
          return quota_first ? qa && !qb : !qa && qb;
        });
    for (const auto& [path, record] : records) {
      REQUIRE(loaded.LoadNode(path, record).ok());
    }
    const Quota* q = loaded.FindQuota("/l");
    REQUIRE(q != nullptr);
    CHECK(q->limits == Hard(7, 70));
    CHECK(q->count == 3);
    CHECK(q->bytes == 6);
  }
  // A malformed quota record is refused like any malformed record.
  DataTree bad;
  REQUIRE(bad.LoadNode("/synod/quota", h.tree.EncodeNode("/synod/quota")).ok());
  std::string record = h.tree.EncodeNode("/synod/quota/l");
  const size_t at = record.find("count=");
  REQUIRE(at != std::string::npos);
  record[at] = 'k';
  CHECK(ErrorOf(bad.LoadNode("/synod/quota/l", record)) ==
        Error::kDataInconsistency);
}

// ---- A random workload against a naive model -------------------------------

// The tree as every prepared txn leaves it, and its quotas, kept naively.
struct Model {
  std::map<std::string, std::string> nodes;  // user nodes -> data
  std::map<std::string, QuotaLimits> quotas;

  static bool Below(const std::string& p, const std::string& root) {
    return p == root ||
           (p.size() > root.size() && p.compare(0, root.size(), root) == 0 &&
            p[root.size()] == '/');
  }
  std::optional<std::string> RootOf(const std::string& path) const {
    for (const auto& [root, limits] : quotas) {
      if (Below(path, root)) return root;
    }
    return std::nullopt;
  }
  Quota Usage(const std::string& root) const {
    Quota q;
    for (const auto& [p, data] : nodes) {
      if (Below(p, root)) {
        q.count++;
        q.bytes += static_cast<int64_t>(data.size());
      }
    }
    return q;
  }
  // Whether a change of `count` nodes and `bytes` under `path` passes
  // ZooKeeper's hard check.
  bool Allows(const std::string& path, int64_t count, int64_t bytes) const {
    std::optional<std::string> root = RootOf(path);
    if (!root) return true;
    const QuotaLimits& l = quotas.at(*root);
    const Quota now = Usage(*root);
    if (count != 0 && l.count_hard >= 0 && now.count + count > l.count_hard) {
      return false;
    }
    return !(bytes != 0 && l.bytes_hard >= 0 &&
             now.bytes + bytes > l.bytes_hard);
  }
  bool Nested(const std::string& path) const {
    for (const auto& [root, limits] : quotas) {
      if (root != path && (Below(path, root) || Below(root, path))) return true;
    }
    return false;
  }
};

TEST_CASE(
    "Random writes and quota changes, txns pending at random, match a "
    "naive model",
    "[quota]") {
  const std::vector<std::string> paths = {"/a", "/a/b", "/a/b/c", "/a/d",
                                          "/e", "/e/f", "/e/f/g"};
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto pick = [&](size_t n) {
      return static_cast<size_t>(rng() % static_cast<uint32_t>(n));
    };
    Harness h;
    Model m;
    for (int step = 0; step < 400; ++step) {
      const std::string path = paths[pick(paths.size())];
      const std::string parent(ParentOf(path));
      const bool exists = m.nodes.count(path) > 0;
      const std::string data(pick(5), 'x');
      switch (pick(6)) {
        case 0:
        case 1: {  // create, where the parent is and the node is not
          if (exists || (parent != "/" && !m.nodes.count(parent))) break;
          const bool allowed =
              m.Allows(path, 1, static_cast<int64_t>(data.size()));
          absl::Status s = h.Try(CreateReq(path, data));
          INFO(path << " " << s.ToString());
          REQUIRE(Name(s) == (allowed ? "Ok" : "QuotaExceeded"));
          if (allowed) m.nodes[path] = data;
          break;
        }
        case 2: {  // set
          if (!exists) break;
          const bool allowed =
              m.Allows(path, 0,
                       static_cast<int64_t>(data.size()) -
                           static_cast<int64_t>(m.nodes[path].size()));
          absl::Status s = h.Try(SetReq(path, data));
          INFO(path << " " << s.ToString());
          REQUIRE(Name(s) == (allowed ? "Ok" : "QuotaExceeded"));
          if (allowed) m.nodes[path] = data;
          break;
        }
        case 3: {  // delete a leaf
          if (!exists) break;
          bool leaf = true;
          for (const auto& [p, d] : m.nodes) {
            if (p != path && Model::Below(p, path)) leaf = false;
          }
          if (!leaf) break;
          REQUIRE(h.Try(DeleteReq(path)).ok());
          m.nodes.erase(path);
          break;
        }
        case 4: {  // setquota
          if (!exists) break;
          QuotaLimits given =
              Hard(1 + static_cast<int64_t>(pick(4)),
                   pick(2) ? -1 : static_cast<int64_t>(pick(12)));
          absl::Status s = h.Try(SetQuotaReq(path, given));
          INFO(path << " " << s.ToString());
          const bool nested = m.Nested(path);
          REQUIRE(Name(s) == (nested ? "BadArguments" : "Ok"));
          if (!nested) {
            QuotaLimits& l = m.quotas[path];
            l.count_hard = given.count_hard;
            if (given.bytes_hard != -1) l.bytes_hard = given.bytes_hard;
          }
          break;
        }
        case 5: {  // delquota
          absl::Status s = h.Try(DeleteQuotaReq(path));
          REQUIRE(Name(s) == (m.quotas.count(path) ? "Ok" : "NoNode"));
          m.quotas.erase(path);
          break;
        }
      }
      // Apply a random part of the pipeline now and then.
      if (pick(4) == 0) h.ApplyAll(pick(h.unapplied.size() + 1));
    }
    h.ApplyAll();
    h.CheckCounts();
    REQUIRE(h.tree.quotas().size() == m.quotas.size());
    for (const auto& [root, limits] : m.quotas) {
      const Quota* q = h.tree.FindQuota(root);
      REQUIRE(q != nullptr);
      CHECK(q->limits == limits);
      const Quota usage = m.Usage(root);
      CHECK(q->count == usage.count);
      CHECK(q->bytes == usage.bytes);
    }
    CHECK(h.prep.pending_size() == 0);
  }
}

}  // namespace
}  // namespace synod
