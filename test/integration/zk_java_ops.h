// The seeded random operations of the differential test through
// ZooKeeper's Java client (zk_java_differential_test.cc): the calls of
// ZooKeeper 3.6+ that its C client lacks (persistent and recursive
// watches, getEphemerals, getAllChildrenNumber, multiRead, whoAmI) mixed
// with the writes and one-shot watches that make them interesting, and
// session restarts. Each op has one line of text, the form in which the
// Java driver (java/ZkJavaDriver.java) reads it. Each watcher keeps one
// class (one-shot, persistent or recursive) from its first registration:
// the driver holds each class on a session of its own, and removes
// persistent watches with WatcherType Any only (docs/semantics.md says
// why).

#ifndef SYNOD_TEST_INTEGRATION_ZK_JAVA_OPS_H_
#define SYNOD_TEST_INTEGRATION_ZK_JAVA_OPS_H_

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "integration/zk_differential_ops.h"

namespace synod::testing {

// One op, as both systems take it.
struct JavaOp {
  // The names are the op's first field in the driver's text form.
  enum Kind {
    kCreate,         // create path data mode (TTL modes: an hour)
    kDelete,         // delete path version
    kSet,            // setData path data version
    kGetWatch,       // getData, leaving watcher `tag`'s data watch
    kExistsWatch,    // exists, leaving watcher `tag`'s data watch
    kChildrenWatch,  // getChildren, leaving watcher `tag`'s child watch
    kAddWatch,       // addWatch path, watcher `tag`, mode 0 persistent,
                     // 1 persistent recursive
    kRemoveOne,      // removeWatches path, watcher `tag`, `type`
    kRemoveAll,      // removeAllWatches path `type`
    kEphemerals,     // getEphemerals path (a prefix)
    kCount,          // getAllChildrenNumber path
    kMultiRead,      // multi of getData / getChildren: `reads`
    kWhoAmI,
    kRestart,        // close the session; open a new one (same identity)
  };
  static constexpr int kKinds = kRestart + 1;

  // A watcher's kind: each watcher has one, which says which of the
  // driver's sessions holds its registrations (see the driver).
  enum WatcherClass { kOneShot, kPersistent, kRecursive };

  Kind kind = kCreate;
  std::string path;
  std::string data;
  int mode = 0;         // create: ZooKeeper's CreateMode number; addWatch:
                        // 0 persistent, 1 recursive; removewatch: the
                        // watcher's class
  int32_t version = -1;
  int tag = -1;         // the watcher
  int type = 3;         // ZooKeeper 3.8's WatcherType: 1 children, 2 data,
                        // 3 any
  std::vector<std::pair<bool, std::string>> reads;  // multiRead: (children?,
                                                     // path)
};

inline const char* KindName(JavaOp::Kind kind) {
  static const char* const kNames[] = {
      "create",      "delete",          "set",
      "getw",        "existsw",         "lsw",
      "addwatch",    "removewatch",     "removewatches",
      "ephemerals",  "count",           "multiread",
      "whoami",      "restart"};
  return kNames[kind];
}

// The op's line in the driver's ops file: its fields tab-separated (kind,
// path, data, mode, version, tag, type, reads as "c:/path" or "d:/path"
// joined by ','). No field holds a tab, a ',' or a newline.
inline std::string OpLine(const JavaOp& op) {
  std::vector<std::string> reads;
  for (const auto& [children, path] : op.reads) {
    reads.push_back(absl::StrCat(children ? "c:" : "d:", path));
  }
  return absl::StrCat(KindName(op.kind), "\t", op.path, "\t", op.data, "\t",
                      op.mode, "\t", op.version, "\t", op.tag, "\t", op.type,
                      "\t", absl::StrJoin(reads, ","));
}

// Draws the ops of one seed, all under `root`.
class JavaOpSource {
 public:
  JavaOpSource(uint64_t seed, std::string root)
      : draws_(seed, std::move(root)) {}

  JavaOp Next() {
    const int r = Below(100);
    JavaOp op;
    op.path = Path();
    if (r < 24) {
      op.kind = JavaOp::kCreate;
      op.mode = Below(7);
      const bool sequential = op.mode == 2 || op.mode == 3 || op.mode == 6;
      if (sequential && Below(3) == 0) op.path = draws_.root() + "/a/";
      op.data = Data();
    } else if (r < 36) {
      op.kind = JavaOp::kDelete;
      op.version = Version();
    } else if (r < 48) {
      op.kind = JavaOp::kSet;
      op.data = Data();
      op.version = Version();
    } else if (r < 52) {
      op = Watching(JavaOp::kGetWatch, JavaOp::kOneShot, std::move(op));
    } else if (r < 55) {
      op = Watching(JavaOp::kExistsWatch, JavaOp::kOneShot, std::move(op));
    } else if (r < 58) {
      op = Watching(JavaOp::kChildrenWatch, JavaOp::kOneShot, std::move(op));
    } else if (r < 66) {
      const bool recursive = Below(2) == 1;
      op = Watching(JavaOp::kAddWatch,
                    recursive ? JavaOp::kRecursive : JavaOp::kPersistent,
                    std::move(op));
      op.mode = recursive ? 1 : 0;
    } else if (r < 72) {
      op.kind = JavaOp::kRemoveOne;
      op.tag = 0;
      if (!watched_.empty()) {
        op.tag = Below(static_cast<int>(watched_.size()));
        if (Below(5) != 0) op.path = watched_[op.tag].second;
        op.mode = watched_[op.tag].first;
      }
      // A persistent watch goes with Any only: 3.8's client has no
      // persistent WatcherType (see the driver).
      op.type = op.mode == JavaOp::kOneShot ? 1 + Below(3) : 3;
    } else if (r < 76) {
      op.kind = JavaOp::kRemoveAll;
      op.type = 1 + Below(3);
      if (!watched_.empty() && Below(3) != 0) {
        op.path = watched_[Below(static_cast<int>(watched_.size()))].second;
      }
    } else if (r < 81) {
      op.kind = JavaOp::kEphemerals;
      // A prefix: a node's path, a part of a name, or the root's.
      const int p = Below(3);
      if (p == 0) op.path = draws_.root();
      if (p == 1) op.path = draws_.root() + "/a/b";
    } else if (r < 86) {
      op.kind = JavaOp::kCount;
      if (Below(3) == 0) op.path = draws_.root();
    } else if (r < 95) {
      op.kind = JavaOp::kMultiRead;
      const int n = 1 + Below(4);
      for (int i = 0; i < n; ++i) op.reads.emplace_back(Below(2) == 0, Path());
    } else {
      // A restart one op in 400: each costs the driver about a second.
      op.kind = Below(16) == 0 ? JavaOp::kRestart : JavaOp::kWhoAmI;
    }
    return op;
  }

 private:
  int Below(int n) { return draws_.Below(n); }
  // A path under the root, one to three names deep; now and then an
  // invalid one.
  std::string Path() { return draws_.Path(60, 2); }
  int32_t Version() { return draws_.Version(); }
  std::string Data() { return draws_.Data(); }
  // An op that registers a watcher of class `c` on its path: a new one
  // mostly, now and then one of that class already registered (on its
  // first path, or on another).
  JavaOp Watching(JavaOp::Kind kind, JavaOp::WatcherClass c, JavaOp op) {
    op.kind = kind;
    std::vector<int> same;
    for (size_t t = 0; t < watched_.size(); ++t) {
      if (watched_[t].first == c) same.push_back(static_cast<int>(t));
    }
    if (!same.empty() && Below(3) == 0) {
      op.tag = same[Below(static_cast<int>(same.size()))];
      if (Below(2) == 0) op.path = watched_[op.tag].second;
      return op;
    }
    op.tag = static_cast<int>(watched_.size());
    watched_.emplace_back(c, op.path);
    return op;
  }

  RandomDraws draws_;
  // Each watcher's class and first path, by tag.
  std::vector<std::pair<JavaOp::WatcherClass, std::string>> watched_;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_INTEGRATION_ZK_JAVA_OPS_H_
