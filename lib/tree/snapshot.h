// A replica's applied state as one byte string, for synchronizing a learner
// by SNAP: every znode record (parents first) and every session record,
// each as DataTree encodes it for storage, plus the zxid they reflect.
//
//   "SNP1" varint(zxid) { byte kind ('n' | 's'), bytes key, bytes record }*
//
// Keys: a node's path, or a session id as a decimal string.

#ifndef SYNOD_TREE_SNAPSHOT_H_
#define SYNOD_TREE_SNAPSHOT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tree/data_tree.h"

namespace synod {

// Returns `tree`'s state as of tree.last_zxid().
std::string EncodeSnapshot(const DataTree& tree);

// Fills `tree` (which must be freshly constructed) from `snapshot` and sets
// its last zxid; calls `on_node` / `on_session` with every record loaded so
// the caller can persist them. DataInconsistency, naming what is wrong, if
// the snapshot is malformed; `tree` is then unusable.
absl::Status LoadSnapshot(
    std::string_view snapshot, DataTree* tree,
    const std::function<void(std::string_view path, std::string_view record)>&
        on_node,
    const std::function<void(int64_t id, std::string_view record)>&
        on_session);

// Returns the watch events that turn `before` into `after`: kDeleted for
// every node gone (deepest first), kCreated for every node new (parents
// first), kDataChanged for every node whose data changed, and one
// kChildrenChanged for every surviving node whose children changed.
std::vector<TreeEvent> DiffTrees(const DataTree& before, const DataTree& after);

}  // namespace synod

#endif  // SYNOD_TREE_SNAPSHOT_H_
