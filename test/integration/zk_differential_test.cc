// Differential test against a real ZooKeeper 3.8: the same seeded random
// operations (every create mode, versions, valid and invalid paths, multi)
// run one at a time on Debian's ZooKeeper server through its C client and
// on a synod Coordinator; every outcome is compared: the error, the name a
// create gave, the data, the children, and every Stat field but the
// times. Zxids differ between the two systems, so they are compared
// through a mapping that must stay one-to-one: the same write must give
// the same zxid wherever it shows (czxid, mzxid, pzxid). At the end of
// each seed the two trees are walked and compared whole.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "integration/zk_server.h"
#include "synod/synod.h"

namespace synod::testing {
namespace {

// The Stat fields both systems define the same way (not the times).
struct StatView {
  int64_t czxid = 0, mzxid = 0, pzxid = 0;
  int32_t version = 0, cversion = 0, aversion = 0;
  int32_t data_length = 0, num_children = 0;
  bool ephemeral = false;
};

StatView FromZk(const ::Stat& s) {
  return {s.czxid,    s.mzxid,      s.pzxid,       s.version,
          s.cversion, s.aversion,   s.dataLength,  s.numChildren,
          s.ephemeralOwner != 0};
}

StatView FromSynod(const synod::Stat& s) {
  return {s.czxid,    s.mzxid,       s.pzxid,        s.version,
          s.cversion, s.aversion,    s.data_length,  s.num_children,
          s.ephemeral_owner != 0};
}

// What one op gave, on either system.
struct Outcome {
  Error error = Error::kOk;
  std::string name;                      // a create's path
  std::optional<std::string> data;       // get
  std::optional<StatView> stat;          // create, set, get, exists, ls
  std::optional<std::vector<std::string>> children;
  std::vector<Error> op_errors;          // multi: each op's
  std::vector<std::string> op_names;     // multi: each create's path
};

Error FromZkCode(int rc) {
  switch (rc) {
    case ZOK: return Error::kOk;
    case ZNONODE: return Error::kNoNode;
    case ZNODEEXISTS: return Error::kNodeExists;
    case ZBADVERSION: return Error::kBadVersion;
    case ZNOTEMPTY: return Error::kNotEmpty;
    case ZNOCHILDRENFOREPHEMERALS: return Error::kNoChildrenForEphemerals;
    case ZBADARGUMENTS: return Error::kBadArguments;
    case ZINVALIDACL: return Error::kInvalidAcl;
    case ZNOAUTH: return Error::kNoAuth;
    case ZRUNTIMEINCONSISTENCY: return Error::kRuntimeInconsistency;
    case ZUNIMPLEMENTED: return Error::kUnimplemented;
    default: return Error::kSystemError;
  }
}

// One random op, as both systems take it.
struct RandomOp {
  enum Kind { kCreate, kDelete, kSet, kGet, kExists, kChildren, kMulti };
  Kind kind = kGet;
  std::string path;
  std::string data;
  int mode = 0;  // ZooKeeper's numbering, which CreateMode follows
  int32_t version = -1;
  std::vector<RandomOp> ops;  // kMulti: creates, deletes, sets (checks)
  bool check = false;         // in a multi: a check instead of a set
};

std::string Describe(const RandomOp& op) {
  static const char* const kNames[] = {"create", "delete", "set", "get",
                                       "exists", "ls",     "multi"};
  if (op.kind == RandomOp::kMulti) {
    std::vector<std::string> parts;
    for (const RandomOp& o : op.ops) parts.push_back(Describe(o));
    return absl::StrCat("multi[", absl::StrJoin(parts, "; "), "]");
  }
  return absl::StrCat(op.check ? "check" : kNames[op.kind], " '", op.path,
                      "'", op.kind == RandomOp::kCreate
                               ? absl::StrCat(" mode ", op.mode)
                               : "",
                      op.version != -1 ? absl::StrCat(" v", op.version) : "",
                      op.data.empty() ? "" : absl::StrCat(" '", op.data, "'"));
}

class OpSource {
 public:
  OpSource(uint64_t seed, std::string root) : rng_(seed), root_(std::move(root)) {}

  RandomOp Next() {
    const int r = Below(100);
    RandomOp op;
    if (r < 34) {
      op = Create();
    } else if (r < 52) {
      op = Single(RandomOp::kDelete);
    } else if (r < 66) {
      op = Single(RandomOp::kSet);
    } else if (r < 74) {
      op = Single(RandomOp::kGet);
    } else if (r < 80) {
      op = Single(RandomOp::kExists);
    } else if (r < 86) {
      op = Single(RandomOp::kChildren);
    } else {
      op.kind = RandomOp::kMulti;
      in_multi_ = true;
      const int n = 1 + Below(4);
      for (int i = 0; i < n; ++i) {
        const int k = Below(10);
        if (k < 4) {
          // The C client's multi takes the four plain create modes only.
          op.ops.push_back(Create(/*modes=*/4));
        } else if (k < 7) {
          op.ops.push_back(Single(RandomOp::kDelete));
        } else {
          RandomOp s = Single(RandomOp::kSet);
          s.check = k == 9;
          op.ops.push_back(s);
        }
      }
      in_multi_ = false;
    }
    return op;
  }

 private:
  int Below(int n) {
    return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng_));
  }
  // A path under the root, one to three names deep; now and then an
  // invalid one, but never in a multi: ZooKeeper 3.8.0's C client frees a
  // pointer it never allocated when a multi's path is invalid (its
  // zoo_amulti crashes). Multis with invalid paths are checked against
  // ZooKeeper's rule in the preparer's tests instead.
  std::string Path() {
    const int invalid = in_multi_ ? 99 : Below(40);
    if (invalid == 0) return root_ + "/a/";
    if (invalid == 1) return root_ + "//a";
    if (invalid == 2) return root_ + "/a/.";
    static const char* const kNames[] = {"a", "b", "c"};
    std::string path = root_;
    const int depth = 1 + Below(3);
    for (int i = 0; i < depth; ++i) {
      absl::StrAppend(&path, "/", kNames[Below(3)]);
    }
    return path;
  }
  int32_t Version() { return Below(3) == 0 ? -1 : Below(4); }
  std::string Data() {
    return Below(4) == 0 ? "" : absl::StrCat("v", Below(1000));
  }
  // A create in one of the first `modes` modes.
  RandomOp Create(int modes = 7) {
    RandomOp op;
    op.kind = RandomOp::kCreate;
    op.mode = Below(modes);
    op.path = Path();
    const bool sequential = op.mode == 2 || op.mode == 3 || op.mode == 6;
    if (sequential && Below(3) == 0) op.path = root_ + "/a/";  // by number
    // (A plain create of ".../" is an invalid path: not in a multi.)
    if (!sequential && in_multi_ && op.path.back() == '/') op.path.pop_back();
    if (sequential && Below(3) == 0) op.path += "-";
    op.data = Data();
    return op;
  }
  RandomOp Single(RandomOp::Kind kind) {
    RandomOp op;
    op.kind = kind;
    op.path = Path();
    if (kind == RandomOp::kDelete || kind == RandomOp::kSet) {
      op.version = Version();
    }
    if (kind == RandomOp::kSet) op.data = Data();
    return op;
  }

  std::mt19937_64 rng_;
  const std::string root_;
  bool in_multi_ = false;
};

// TTL of the TTL modes: far longer than a run (cleanup never due).
constexpr int64_t kTtlMs = 3600 * 1000;

Outcome RunZk(zhandle_t* zh, const RandomOp& op) {
  Outcome o;
  ::Stat stat{};
  switch (op.kind) {
    case RandomOp::kCreate: {
      char name[1024];
      const bool ttl = op.mode == 5 || op.mode == 6;
      const int rc = zoo_create2_ttl(zh, op.path.c_str(), op.data.data(),
                                     static_cast<int>(op.data.size()),
                                     &ZOO_OPEN_ACL_UNSAFE, op.mode,
                                     ttl ? kTtlMs : -1, name, sizeof(name),
                                     &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) {
        o.name = name;
        o.stat = FromZk(stat);
      }
      return o;
    }
    case RandomOp::kDelete:
      o.error = FromZkCode(zoo_delete(zh, op.path.c_str(), op.version));
      return o;
    case RandomOp::kSet: {
      const int rc = zoo_set2(zh, op.path.c_str(), op.data.data(),
                              static_cast<int>(op.data.size()), op.version,
                              &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) o.stat = FromZk(stat);
      return o;
    }
    case RandomOp::kGet: {
      std::string buffer(4096, '\0');
      int length = static_cast<int>(buffer.size());
      const int rc =
          zoo_get(zh, op.path.c_str(), 0, buffer.data(), &length, &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) {
        o.data = buffer.substr(0, length < 0 ? 0 : static_cast<size_t>(length));
        o.stat = FromZk(stat);
      }
      return o;
    }
    case RandomOp::kExists: {
      const int rc = zoo_exists(zh, op.path.c_str(), 0, &stat);
      // A missing node is an outcome of exists, not an error.
      if (rc == ZOK) o.stat = FromZk(stat);
      o.error = rc == ZNONODE ? Error::kOk : FromZkCode(rc);
      return o;
    }
    case RandomOp::kChildren: {
      String_vector names{};
      const int rc = zoo_get_children2(zh, op.path.c_str(), 0, &names, &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) {
        std::vector<std::string> children(names.data,
                                          names.data + names.count);
        std::sort(children.begin(), children.end());
        o.children = std::move(children);
        o.stat = FromZk(stat);
        deallocate_String_vector(&names);
      }
      return o;
    }
    case RandomOp::kMulti: {
      const size_t n = op.ops.size();
      std::vector<zoo_op_t> ops(n);
      std::vector<zoo_op_result_t> results(n);
      std::vector<std::array<char, 1024>> names(n);
      std::vector<::Stat> stats(n);
      for (size_t i = 0; i < n; ++i) {
        const RandomOp& x = op.ops[i];
        if (x.kind == RandomOp::kCreate) {
          zoo_create_op_init(&ops[i], x.path.c_str(), x.data.data(),
                             static_cast<int>(x.data.size()),
                             &ZOO_OPEN_ACL_UNSAFE, x.mode, names[i].data(),
                             static_cast<int>(names[i].size()));
          if (x.mode == 5 || x.mode == 6) ops[i].create_op.ttl = kTtlMs;
        } else if (x.kind == RandomOp::kDelete) {
          zoo_delete_op_init(&ops[i], x.path.c_str(), x.version);
        } else if (x.check) {
          zoo_check_op_init(&ops[i], x.path.c_str(), x.version);
        } else {
          zoo_set_op_init(&ops[i], x.path.c_str(), x.data.data(),
                          static_cast<int>(x.data.size()), x.version,
                          &stats[i]);
        }
      }
      const int rc = zoo_multi(zh, static_cast<int>(n), ops.data(),
                               results.data());
      o.error = FromZkCode(rc);
      for (size_t i = 0; i < n; ++i) {
        o.op_errors.push_back(FromZkCode(results[i].err));
        const bool created =
            op.ops[i].kind == RandomOp::kCreate && results[i].err == ZOK;
        o.op_names.push_back(created ? names[i].data() : "");
      }
      return o;
    }
  }
  return o;
}

Outcome RunSynod(Coordinator& c, const RandomOp& op) {
  Outcome o;
  switch (op.kind) {
    case RandomOp::kCreate: {
      CreateOptions options;
      if (op.mode == 5 || op.mode == 6) options.ttl_ms = kTtlMs;
      absl::StatusOr<OpResult> r = c.CreateWithStat(
          op.path, op.data, static_cast<CreateMode>(op.mode), options);
      o.error = ErrorOf(r.status());
      if (r.ok()) {
        o.name = r->path;
        o.stat = FromSynod(r->stat);
      }
      return o;
    }
    case RandomOp::kDelete:
      o.error = ErrorOf(c.Delete(op.path, op.version));
      return o;
    case RandomOp::kSet: {
      absl::StatusOr<synod::Stat> r = c.Set(op.path, op.data, op.version);
      o.error = ErrorOf(r.status());
      if (r.ok()) o.stat = FromSynod(*r);
      return o;
    }
    case RandomOp::kGet: {
      absl::StatusOr<Node> r = c.Get(op.path);
      o.error = ErrorOf(r.status());
      if (r.ok()) {
        o.data = r->data;
        o.stat = FromSynod(r->stat);
      }
      return o;
    }
    case RandomOp::kExists: {
      absl::StatusOr<std::optional<synod::Stat>> r = c.Exists(op.path);
      o.error = ErrorOf(r.status());
      if (r.ok() && r->has_value()) o.stat = FromSynod(**r);
      return o;
    }
    case RandomOp::kChildren: {
      synod::Stat stat;
      absl::StatusOr<std::vector<std::string>> r =
          c.GetChildren(op.path, nullptr, &stat);
      o.error = ErrorOf(r.status());
      if (r.ok()) {
        o.children = *r;
        o.stat = FromSynod(stat);
      }
      return o;
    }
    case RandomOp::kMulti: {
      std::vector<Op> ops;
      for (const RandomOp& x : op.ops) {
        if (x.kind == RandomOp::kCreate) {
          ops.push_back(Op::Create(x.path, x.data,
                                   static_cast<CreateMode>(x.mode), {},
                                   x.mode == 5 || x.mode == 6 ? kTtlMs : 0));
        } else if (x.kind == RandomOp::kDelete) {
          ops.push_back(Op::Delete(x.path, x.version));
        } else if (x.check) {
          ops.push_back(Op::Check(x.path, x.version));
        } else {
          ops.push_back(Op::Set(x.path, x.data, x.version));
        }
      }
      absl::StatusOr<std::vector<OpResult>> r = c.Multi(std::move(ops));
      o.error = ErrorOf(r.status());
      const int failed = FailedOpIndex(r.status());
      for (size_t i = 0; i < op.ops.size(); ++i) {
        const int at = static_cast<int>(i);
        o.op_errors.push_back(r.ok() || at < failed ? Error::kOk
                              : at == failed       ? o.error
                                              : Error::kRuntimeInconsistency);
        const bool created = r.ok() && op.ops[i].kind == RandomOp::kCreate;
        o.op_names.push_back(created ? (*r)[i].path : "");
      }
      return o;
    }
  }
  return o;
}

// Zxids of the two systems, paired as they show up: one-to-one.
class ZxidMap {
 public:
  bool Match(int64_t zk, int64_t synod) {
    auto a = zk_to_synod_.emplace(zk, synod);
    auto b = synod_to_zk_.emplace(synod, zk);
    return a.first->second == synod && b.first->second == zk;
  }

 private:
  std::map<int64_t, int64_t> zk_to_synod_, synod_to_zk_;
};

std::string Show(const StatView& s) {
  return absl::StrCat("{czxid ", s.czxid, " mzxid ", s.mzxid, " pzxid ",
                      s.pzxid, " v", s.version, " cv", s.cversion, " av",
                      s.aversion, " len ", s.data_length, " kids ",
                      s.num_children, s.ephemeral ? " ephemeral" : "", "}");
}

// "" if `zk` and `ours` agree; else what differs.
std::string Compare(const Outcome& zk, const Outcome& ours, ZxidMap* zxids) {
  if (zk.error != ours.error) {
    return absl::StrCat("error ", std::string(ErrorName(zk.error)), " vs ",
                        std::string(ErrorName(ours.error)));
  }
  if (zk.op_errors != ours.op_errors) {
    std::vector<std::string> a, b;
    for (Error e : zk.op_errors) a.emplace_back(ErrorName(e));
    for (Error e : ours.op_errors) b.emplace_back(ErrorName(e));
    return absl::StrCat("op errors ", absl::StrJoin(a, ","), " vs ",
                        absl::StrJoin(b, ","));
  }
  if (zk.name != ours.name || zk.op_names != ours.op_names) {
    return absl::StrCat("names ", zk.name, absl::StrJoin(zk.op_names, ","),
                        " vs ", ours.name, absl::StrJoin(ours.op_names, ","));
  }
  if (zk.data != ours.data) return "data";
  if (zk.children != ours.children) {
    return absl::StrCat(
        "children ", absl::StrJoin(zk.children.value_or(std::vector<std::string>{}), ","),
        " vs ", absl::StrJoin(ours.children.value_or(std::vector<std::string>{}), ","));
  }
  if (zk.stat.has_value() != ours.stat.has_value()) return "stat presence";
  if (!zk.stat) return "";
  const StatView& a = *zk.stat;
  const StatView& b = *ours.stat;
  const bool same = a.version == b.version && a.cversion == b.cversion &&
                    a.aversion == b.aversion &&
                    a.data_length == b.data_length &&
                    a.num_children == b.num_children &&
                    a.ephemeral == b.ephemeral;
  if (!same || !zxids->Match(a.czxid, b.czxid) ||
      !zxids->Match(a.mzxid, b.mzxid) || !zxids->Match(a.pzxid, b.pzxid)) {
    return absl::StrCat("stat ", Show(a), " vs ", Show(b));
  }
  return "";
}

// Every node under `root` on both systems: data, children and Stat.
std::vector<std::string> CompareTrees(zhandle_t* zh, Coordinator& c,
                                      const std::string& root,
                                      ZxidMap* zxids) {
  std::vector<std::string> mismatches;
  std::vector<std::string> pending = {root};
  while (!pending.empty()) {
    const std::string path = pending.back();
    pending.pop_back();
    RandomOp get;
    get.kind = RandomOp::kGet;
    get.path = path;
    RandomOp ls = get;
    ls.kind = RandomOp::kChildren;
    for (const RandomOp& op : {get, ls}) {
      const Outcome a = RunZk(zh, op);
      const Outcome b = RunSynod(c, op);
      const std::string diff = Compare(a, b, zxids);
      if (!diff.empty()) {
        mismatches.push_back(absl::StrCat("tree ", Describe(op), ": ", diff));
      }
      if (op.kind == RandomOp::kChildren && a.children) {
        for (const std::string& child : *a.children) {
          pending.push_back(path + "/" + child);
        }
      }
    }
  }
  return mismatches;
}

TEST_CASE("Differential: synod gives ZooKeeper 3.8's outcome, name and Stat "
          "for every op of seeded random runs",
          "[integration][differential]") {
  ZkServer zookeeper;
  REQUIRE(zookeeper.Start());
  ZkSession session(zookeeper.address());
  REQUIRE(session.WaitConnected());
  zhandle_t* zh = session.handle();

  TempDir dir;
  Options options;
  options.data_dir = dir.Sub("synod");
  // Container and TTL cleanup put off, as on the ZooKeeper server.
  options.cleanup_interval = absl::Hours(1);
  absl::StatusOr<std::unique_ptr<Coordinator>> started =
      Coordinator::Start(options);
  REQUIRE(started.ok());
  Coordinator& c = **started;
  REQUIRE(c.WaitConnected(absl::Seconds(30)).ok());

  constexpr int kSeeds = 8;
  constexpr int kOps = 2500;
  ZxidMap zxids;
  std::vector<std::string> mismatches;
  int compared = 0;
  // How many ops succeeded, by kind: the runs must do real work, not
  // compare errors alone.
  std::map<int, int> succeeded;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const std::string root = absl::StrCat("/seed", seed);
    RandomOp make_root;
    make_root.kind = RandomOp::kCreate;
    make_root.path = root;
    const std::string made =
        Compare(RunZk(zh, make_root), RunSynod(c, make_root), &zxids);
    REQUIRE(made.empty());
    OpSource source(seed, root);
    for (int i = 0; i < kOps && mismatches.size() < 20; ++i) {
      const RandomOp op = source.Next();
      const Outcome theirs = RunZk(zh, op);
      const std::string diff = Compare(theirs, RunSynod(c, op), &zxids);
      ++compared;
      if (theirs.error == Error::kOk) ++succeeded[op.kind];
      if (!diff.empty()) {
        mismatches.push_back(
            absl::StrCat("seed ", seed, " op ", i, " ", Describe(op), ": ", diff));
      }
    }
    for (std::string& m : CompareTrees(zh, c, root, &zxids)) {
      mismatches.push_back(absl::StrCat("seed ", seed, " ", m));
    }
  }
  INFO(absl::StrJoin(mismatches, "\n"));
  CHECK(mismatches.empty());
  CHECK(compared >= kSeeds * kOps);
  for (int kind = RandomOp::kCreate; kind <= RandomOp::kMulti; ++kind) {
    INFO("op kind " << kind << " succeeded " << succeeded[kind] << " times");
    CHECK(succeeded[kind] >= kSeeds * 20);
  }
}

}  // namespace
}  // namespace synod::testing
