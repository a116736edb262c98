// The seeded random operations of the differential test against ZooKeeper
// (zk_differential_test.cc): what one op is, how it reads in a mismatch
// report, and the source that draws them: creates in every mode and with
// one of several ACLs, deletes and sets with versions, reads with and
// without watches, multis, watch removals (all of a path's, or one
// watcher's), setAcl and getAcl; valid paths mostly, invalid ones now and
// then.

#ifndef SYNOD_TEST_INTEGRATION_ZK_DIFFERENTIAL_OPS_H_
#define SYNOD_TEST_INTEGRATION_ZK_DIFFERENTIAL_OPS_H_

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace synod::testing {

// The ACLs a create or setAcl gives, the same on both systems.
enum class AclChoice {
  kOpen,        // world:anyone, all
  kReadOnly,    // world:anyone, read
  kCreatorAll,  // auth: the session's digest identity, all
  kBobAll,      // digest bob (not us), all
  kNoDelete,    // world:anyone, all but delete
  kNoCreate,    // world:anyone, all but create
  kReadAdmin,   // world:anyone, read and admin
  kInvalid,     // a digest id without ':' (InvalidAcl)
};
inline constexpr int kAclChoices = 8;

// One random op, as both systems take it.
struct RandomOp {
  enum Kind {
    kCreate,
    kDelete,
    kSet,
    kGet,
    kExists,
    kChildren,
    kMulti,
    kGetWatch,       // get, leaving a data watch tagged `tag`
    kExistsWatch,    // exists, leaving a data watch tagged `tag`
    kChildrenWatch,  // ls, leaving a child watch tagged `tag`
    kRemoveAll,      // remove every watch of `watch_type` on the path
    kRemoveOne,      // remove watcher `tag`'s watches of `watch_type`
    kSetAcl,
    kGetAcl,
  };
  static constexpr int kKinds = kGetAcl + 1;

  Kind kind = kGet;
  std::string path;
  std::string data;
  int mode = 0;  // ZooKeeper's numbering, which CreateMode follows
  int32_t version = -1;
  AclChoice acl = AclChoice::kOpen;
  int tag = -1;         // the watcher of a watching read or kRemoveOne
  int watch_type = 3;   // ZooKeeper's: 1 children, 2 data, 3 any
  std::vector<RandomOp> ops;  // kMulti: creates, deletes, sets (checks)
  bool check = false;         // in a multi: a check instead of a set
};

inline std::string Describe(const RandomOp& op) {
  static const char* const kNames[] = {
      "create", "delete",  "set",    "get",     "exists",
      "ls",     "multi",   "get -w", "stat -w", "ls -w",
      "removewatches", "removewatch", "setAcl", "getAcl"};
  if (op.kind == RandomOp::kMulti) {
    std::vector<std::string> parts;
    for (const RandomOp& o : op.ops) parts.push_back(Describe(o));
    return absl::StrCat("multi[", absl::StrJoin(parts, "; "), "]");
  }
  const bool acl = op.kind == RandomOp::kCreate || op.kind == RandomOp::kSetAcl;
  const bool watch = op.tag >= 0;
  const bool removal =
      op.kind == RandomOp::kRemoveAll || op.kind == RandomOp::kRemoveOne;
  return absl::StrCat(
      op.check ? "check" : kNames[op.kind], " '", op.path, "'",
      op.kind == RandomOp::kCreate ? absl::StrCat(" mode ", op.mode) : "",
      op.version != -1 ? absl::StrCat(" v", op.version) : "",
      op.data.empty() ? "" : absl::StrCat(" '", op.data, "'"),
      acl && op.acl != AclChoice::kOpen
          ? absl::StrCat(" acl ", static_cast<int>(op.acl))
          : "",
      watch ? absl::StrCat(" watcher ", op.tag) : "",
      removal ? absl::StrCat(" type ", op.watch_type) : "");
}

// The random draws of the differential tests' op sources (this one and
// zk_java_ops.h's): numbers, paths under a root, versions and data.
class RandomDraws {
 public:
  RandomDraws(uint64_t seed, std::string root)
      : rng_(seed), root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  // 0 to n - 1.
  int Below(int n) {
    return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng_));
  }
  // A path under the root, one to three names deep from a, b and c. With
  // `invalid_one_in` above 0, one time in that many an invalid one
  // instead: the first `invalid_forms` of a trailing '/', an empty name
  // and a "." name (0 draws no number for it).
  std::string Path(int invalid_one_in, int invalid_forms) {
    const int invalid = invalid_one_in > 0 ? Below(invalid_one_in) : 99;
    static const char* const kInvalid[] = {"/a/", "//a", "/a/."};
    if (invalid < invalid_forms) return root_ + kInvalid[invalid];
    static const char* const kNames[] = {"a", "b", "c"};
    std::string path = root_;
    const int depth = 1 + Below(3);
    for (int i = 0; i < depth; ++i) {
      absl::StrAppend(&path, "/", kNames[Below(3)]);
    }
    return path;
  }
  // -1 (any) one time in three, else 0 to 3.
  int32_t Version() { return Below(3) == 0 ? -1 : Below(4); }
  // Empty one time in four, else "v<n>".
  std::string Data() {
    return Below(4) == 0 ? "" : absl::StrCat("v", Below(1000));
  }

 private:
  std::mt19937_64 rng_;
  const std::string root_;
};

class OpSource {
 public:
  OpSource(uint64_t seed, std::string root)
      : draws_(seed, std::move(root)) {}

  RandomOp Next() {
    const int r = Below(100);
    RandomOp op;
    if (r < 30) {
      op = Create();
    } else if (r < 44) {
      op = Single(RandomOp::kDelete);
    } else if (r < 56) {
      op = Single(RandomOp::kSet);
    } else if (r < 62) {
      op = Single(RandomOp::kGet);
    } else if (r < 66) {
      op = Single(RandomOp::kExists);
    } else if (r < 70) {
      op = Single(RandomOp::kChildren);
    } else if (r < 82) {
      op = Multi();
    } else if (r < 86) {
      op = Watching(RandomOp::kGetWatch);
    } else if (r < 89) {
      op = Watching(RandomOp::kExistsWatch);
    } else if (r < 92) {
      op = Watching(RandomOp::kChildrenWatch);
    } else if (r < 95) {
      op = Removal();
    } else if (r < 98) {
      op = Single(RandomOp::kSetAcl);
      op.acl = Below(2) == 0 ? AclChoice::kOpen : RestrictiveAcl();
    } else {
      op = Single(RandomOp::kGetAcl);
    }
    return op;
  }

 private:
  int Below(int n) { return draws_.Below(n); }
  AclChoice RestrictiveAcl() {
    return static_cast<AclChoice>(1 + Below(kAclChoices - 1));
  }
  // A path under the root, one to three names deep; now and then an
  // invalid one, but never in a multi: ZooKeeper 3.8.0's C client frees a
  // pointer it never allocated when a multi's path is invalid (its
  // zoo_amulti crashes). Multis with invalid paths are checked against
  // ZooKeeper's rule in the preparer's tests instead.
  std::string Path() { return draws_.Path(in_multi_ ? 0 : 40, 3); }
  int32_t Version() { return draws_.Version(); }
  std::string Data() { return draws_.Data(); }
  // A create in one of the first `modes` modes; a restrictive ACL now and
  // then (never in a multi: the C client's multi takes the open one).
  RandomOp Create(int modes = 7) {
    RandomOp op;
    op.kind = RandomOp::kCreate;
    op.mode = Below(modes);
    op.path = Path();
    const bool sequential = op.mode == 2 || op.mode == 3 || op.mode == 6;
    if (sequential && Below(3) == 0) {
      op.path = draws_.root() + "/a/";  // by number
    }
    // (A plain create of ".../" is an invalid path: not in a multi.)
    if (!sequential && in_multi_ && op.path.back() == '/') op.path.pop_back();
    if (sequential && Below(3) == 0) op.path += "-";
    op.data = Data();
    if (!in_multi_ && Below(100) < 12) op.acl = RestrictiveAcl();
    return op;
  }
  RandomOp Single(RandomOp::Kind kind) {
    RandomOp op;
    op.kind = kind;
    op.path = Path();
    if (kind == RandomOp::kDelete || kind == RandomOp::kSet ||
        kind == RandomOp::kSetAcl) {
      op.version = Version();
    }
    if (kind == RandomOp::kSet) op.data = Data();
    return op;
  }
  RandomOp Multi() {
    RandomOp op;
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
    return op;
  }
  // A read that leaves a watch, with a new watcher.
  RandomOp Watching(RandomOp::Kind kind) {
    RandomOp op = Single(kind);
    op.tag = static_cast<int>(watched_.size());
    watched_.push_back(op.path);
    return op;
  }
  // Removes every watch of a type from a path, or one watcher's: mostly
  // from where that watcher was set.
  RandomOp Removal() {
    RandomOp op;
    op.watch_type = 1 + Below(3);
    if (watched_.empty() || Below(2) == 0) {
      op.kind = RandomOp::kRemoveAll;
      op.path = Below(2) == 0 && !watched_.empty()
                    ? watched_[Below(static_cast<int>(watched_.size()))]
                    : Path();
      return op;
    }
    op.kind = RandomOp::kRemoveOne;
    op.tag = Below(static_cast<int>(watched_.size()));
    op.path = Below(5) == 0 ? Path() : watched_[op.tag];
    return op;
  }

  RandomDraws draws_;
  bool in_multi_ = false;
  std::vector<std::string> watched_;  // each watcher's path, by tag
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_INTEGRATION_ZK_DIFFERENTIAL_OPS_H_
