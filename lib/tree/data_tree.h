// The znode tree of one replica. It only applies already-ordered, already
// validated transactions (txn/preparer.h decides them) and answers reads.
// Not thread-safe: the owner serializes Apply against reads.

#ifndef SYNOD_TREE_DATA_TREE_H_
#define SYNOD_TREE_DATA_TREE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "synod/types.h"
#include "synod/watch.h"
#include "txn/txn.pb.h"
#include "util/strings.h"

namespace synod {

using AclRef = std::shared_ptr<const AclList>;

// One znode. Its stat.cversion counts child creations only, as ZooKeeper
// keeps it (StatPersisted): sequential names take that count, and a
// container is due once it is above 0. Readers are served ServedStat.
struct Znode {
  std::string data;
  Stat stat;
  AclRef acl;
  CreateMode mode = CreateMode::kPersistent;
  int64_t ttl_ms = 0;
  absl::btree_set<std::string> children;  // names, sorted
};

// The Stat of a node as ZooKeeper 3.8 serves it (DataNode.copyStat): its
// cversion counts creations and deletions, 2 * creations - children, since
// every child not present was deleted. So data of any version serves the
// same count, with nothing stored differently. (Under "/", whose /synod is
// not counted, as /zookeeper is not in ZooKeeper, a fresh tree serves -1,
// as ZooKeeper does.)
inline Stat ServedStat(const Stat& stored) {
  Stat s = stored;
  s.cversion = 2 * stored.cversion - stored.num_children;
  return s;
}

// A watch event that applying a txn raises: `type` on `path`, with the ACL
// that decides who may hear it (READ needed): the node's own for Created,
// Deleted and DataChanged (as it was when deleted), the parent's (`path`'s)
// for ChildrenChanged; as ZooKeeper 3.8.4+ filters watch events.
struct TreeEvent {
  EventType type;
  std::string path;
  AclRef acl;
};

// What applying txns changed, for watches, persistence and replies.
struct ApplyOutput {
  std::vector<TreeEvent> events;                 // in order
  StrSet dirty_nodes;  // created, changed or gone
  absl::flat_hash_set<int64_t> dirty_sessions;   // opened or closed
  void Clear() {
    events.clear();
    dirty_nodes.clear();
    dirty_sessions.clear();
  }
};

class DataTree {
 public:
  // Creates a tree holding "/" and the system node "/synod".
  DataTree();

  // Returns the node at `path`, or nullptr.
  const Znode* Find(std::string_view path) const;

  // Applies committed `txn` (its zxid above last_zxid()). Appends to `out`
  // the events it raises and the records it touches; fills `results` (if
  // not null) with one OpResult per op (one for a non-multi txn).
  // Returns DataLoss if the txn contradicts the tree (a corrupt log): the
  // tree is then unusable.
  absl::Status Apply(const txn::Txn& txn, ApplyOutput* out,
                     std::vector<OpResult>* results);

  // Returns the zxid of the last applied txn.
  Zxid last_zxid() const { return last_zxid_; }

  // Returns the paths of the ephemerals of `session`, sorted.
  std::vector<std::string> EphemeralsOf(int64_t session) const;

  // Returns the password digest session `id` was created with (empty if
  // none), or nullopt if `id` is not an open session. The view lasts until
  // the session's next change.
  std::optional<std::string_view> SessionPasswordDigest(int64_t id) const;
  // Returns the timeout of each open session, by id.
  const absl::flat_hash_map<int64_t, int32_t>& sessions() const {
    return sessions_;
  }

  // Returns the paths of containers that had children and have none, and of
  // TTL nodes without children unmodified for longer than their TTL
  // (now_ms - mtime > ttl, as ZooKeeper). Sorted.
  std::vector<std::string> CleanupCandidates(int64_t now_ms) const;

  // Returns the quota on the subtree at `path` (tree/quota.h) with the
  // subtree's current size, or nullptr if `path` has no quota of its own.
  const Quota* FindQuota(std::string_view path) const {
    auto it = quotas_.find(path);
    return it == quotas_.end() ? nullptr : &it->second;
  }
  // Returns every quota, by the path it limits.
  const StrMap<Quota>& quotas() const { return quotas_; }

  // Calls `fn` with the node at `path` (if any) and every node below it.
  void ForEachInSubtree(
      std::string_view path,
      const std::function<void(const std::string&, const Znode&)>& fn) const;

  // Returns the interned ACL equal to `acl`, so equal ACLs share storage.
  AclRef InternAcl(AclList acl);

  int64_t node_count() const { return static_cast<int64_t>(nodes_.size()); }
  // The bytes of data of every node.
  int64_t data_bytes() const { return data_bytes_; }
  // Makes room for `count` znodes (before loading that many).
  void Reserve(int64_t count) {
    if (count > 0) nodes_.reserve(static_cast<size_t>(count));
  }
  int64_t ephemeral_count() const;

  // ---- Persistence (the n/ and s/ records of storage/store.h).

  // Returns the record of the node at `path`. REQUIRES: it exists.
  std::string EncodeNode(std::string_view path) const;
  // Returns the record of session `id`. REQUIRES: it is open.
  std::string EncodeSession(int64_t id) const;
  // Remembers the parent of the last node loaded, so that siblings loaded
  // one after another find it without a lookup. Valid for one sequence of
  // LoadNode calls with no other change to the tree in between.
  struct LoadCursor {
    std::string parent_path;
    Znode* parent = nullptr;
  };
  // Restores a node from its record. Parents must be loaded before their
  // children. DataLoss for a malformed record or a missing parent.
  absl::Status LoadNode(std::string_view path, std::string_view record,
                        LoadCursor* cursor = nullptr);
  // Restores a session from its record. DataLoss if malformed.
  absl::Status LoadSession(int64_t id, std::string_view record);
  // Sets last_zxid() after loading.
  void SetLastZxid(Zxid zxid) { last_zxid_ = zxid; }

  // Calls `fn` with every node's path and the node, each parent before its
  // children (the order LoadNode needs).
  void ForEachNode(
      const std::function<void(const std::string&, const Znode&)>& fn) const;

  // Appends `node`'s storage record (what EncodeNode returns) to `out`.
  void AppendNodeRecord(const Znode& node, std::string* out) const;

 private:
  absl::Status ApplyOne(const txn::Txn& op, const txn::Txn& header,
                        ApplyOutput* out, OpResult* result);
  absl::Status ApplyCreate(const txn::Txn& op, const txn::Txn& header,
                           ApplyOutput* out, OpResult* result);
  absl::Status ApplyDelete(std::string_view path, Zxid zxid, ApplyOutput* out);
  Znode* FindMutable(std::string_view path);
  void Track(std::string_view path, const Znode& node);
  void Untrack(std::string_view path, const Znode& node);
  // Adds `count` nodes and `bytes` of data to the quota whose subtree
  // holds `path`, if any.
  void ChargeQuota(std::string_view path, int64_t count, int64_t bytes);
  // Brings quotas_ up to date after the node at `path` (below kQuotaRoot)
  // was created, changed or (node null) deleted. DataInconsistency if it
  // holds malformed limits.
  absl::Status QuotaNodeChanged(std::string_view path, const Znode* node);

  StrNodeMap<Znode> nodes_;
  absl::flat_hash_map<int64_t, int32_t> sessions_;  // id -> timeout ms
  // The password digest of each open session that has one.
  absl::flat_hash_map<int64_t, std::string> session_digests_;
  absl::flat_hash_map<int64_t, absl::btree_set<std::string>> ephemerals_;
  absl::btree_set<std::string> containers_;
  absl::btree_set<std::string> ttl_nodes_;
  StrMap<AclRef> acl_cache_;  // encoded -> list
  StrMap<Quota> quotas_;      // the path limited -> its quota and usage
  Zxid last_zxid_ = 0;
  int64_t data_bytes_ = 0;
};

// Converts between the API's ACL and its txn encoding.
void AclToProto(const AclList& acl,
                google::protobuf::RepeatedPtrField<txn::AclEntry>* out);
AclList AclFromProto(
    const google::protobuf::RepeatedPtrField<txn::AclEntry>& entries);

}  // namespace synod

#endif  // SYNOD_TREE_DATA_TREE_H_
