// Checks shared by the fuzz targets that decode or build DataTrees: that
// every node's and session's storage record decodes back to what it
// encodes, through a snapshot into a fresh tree.

#ifndef SYNOD_TEST_FUZZ_TREE_CHECK_H_
#define SYNOD_TEST_FUZZ_TREE_CHECK_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz_util.h"
#include "tree/data_tree.h"
#include "tree/snapshot.h"

namespace synod::fuzz {

// Returns true if the two nodes hold the same data, stat, ACL, mode, TTL
// and children.
inline bool SameNode(const Znode& a, const Znode& b) {
  const Stat& x = a.stat;
  const Stat& y = b.stat;
  return a.data == b.data && x.czxid == y.czxid && x.mzxid == y.mzxid &&
         x.pzxid == y.pzxid && x.ctime == y.ctime && x.mtime == y.mtime &&
         x.version == y.version && x.cversion == y.cversion &&
         x.aversion == y.aversion && x.ephemeral_owner == y.ephemeral_owner &&
         x.data_length == y.data_length && x.num_children == y.num_children &&
         a.mode == b.mode && a.ttl_ms == b.ttl_ms && a.acl && b.acl &&
         *a.acl == *b.acl && a.children == b.children;
}

// The tree's state in a canonical order: every node's path and record
// (parents first), then every session's id and record, sorted.
inline std::vector<std::pair<std::string, std::string>> Canonical(
    const DataTree& tree) {
  std::vector<std::pair<std::string, std::string>> out;
  tree.ForEachNode([&](const std::string& path, const Znode& node) {
    std::string record;
    tree.AppendNodeRecord(node, &record);
    out.emplace_back(path, std::move(record));
  });
  std::vector<std::pair<std::string, std::string>> sessions;
  for (const auto& [id, timeout] : tree.sessions()) {
    sessions.emplace_back(absl::StrCat("session ", id), tree.EncodeSession(id));
  }
  std::sort(sessions.begin(), sessions.end());
  out.insert(out.end(), sessions.begin(), sessions.end());
  return out;
}

// Requires that each quota of `tree` counts what its subtree holds.
inline void CheckQuotaCounts(const DataTree& tree) {
  for (const auto& [root, quota] : tree.quotas()) {
    int64_t count = 0;
    int64_t bytes = 0;
    tree.ForEachInSubtree(root, [&](const std::string&, const Znode& node) {
      ++count;
      bytes += static_cast<int64_t>(node.data.size());
    });
    SYNOD_FUZZ_CHECK(count == quota.count && bytes == quota.bytes,
                     absl::StrCat("quota on ", Printable(root), " counts ",
                                  quota.count, " nodes and ", quota.bytes,
                                  " bytes; its subtree holds ", count, " and ",
                                  bytes));
  }
}

// Requires that `tree` survives storage: its snapshot (every node and
// session record) loads into a fresh tree that holds the same nodes and
// sessions, with the same records. Aborts, naming the culprit, otherwise.
inline void CheckStoredAndReadBack(const DataTree& tree) {
  const std::string snapshot = EncodeSnapshot(tree);
  DataTree fresh;
  int64_t nodes = 0;
  absl::Status s = LoadSnapshot(
      snapshot, &fresh, [&](std::string_view, std::string_view) { ++nodes; },
      [](int64_t, std::string_view) {});
  SYNOD_FUZZ_CHECK(s.ok(), absl::StrCat("the tree's own snapshot: ",
                                        s.ToString()));
  SYNOD_FUZZ_CHECK(nodes == tree.node_count() &&
                       fresh.node_count() == tree.node_count(),
                   absl::StrCat(nodes, " records, ", fresh.node_count(),
                                " nodes loaded, ", tree.node_count(), " held"));
  SYNOD_FUZZ_CHECK(fresh.last_zxid() == tree.last_zxid(), "last zxid");
  tree.ForEachNode([&](const std::string& path, const Znode& node) {
    const Znode* back = fresh.Find(path);
    SYNOD_FUZZ_CHECK(back != nullptr && SameNode(node, *back),
                     absl::StrCat("node ", Printable(path),
                                  " differs after its record is read back"));
  });
  SYNOD_FUZZ_CHECK(fresh.sessions() == tree.sessions(), "sessions differ");
  SYNOD_FUZZ_CHECK(Canonical(fresh) == Canonical(tree),
                   "records differ after a round trip");
  CheckQuotaCounts(tree);
  SYNOD_FUZZ_CHECK(fresh.quotas().size() == tree.quotas().size(),
                   "quotas differ after a round trip");
  for (const auto& [root, quota] : tree.quotas()) {
    const Quota* back = fresh.FindQuota(root);
    SYNOD_FUZZ_CHECK(back != nullptr && back->limits == quota.limits &&
                         back->count == quota.count &&
                         back->bytes == quota.bytes,
                     absl::StrCat("quota on ", Printable(root),
                                  " differs after a round trip"));
  }
}

}  // namespace synod::fuzz

#endif  // SYNOD_TEST_FUZZ_TREE_CHECK_H_
