// The leader's request validation: turns a client request into the
// deterministic txn every peer will apply, or into the error the client gets.
//
// Many txns may be prepared before the first is applied (pipelining), so
// requests are checked against the tree as it will be once every prepared
// txn is applied: the tree overlaid with pending changes, as ZooKeeper's
// PrepRequestProcessor does with its outstanding changes. Quotas too are
// checked against the sizes every prepared txn leaves (ZooKeeper checks
// the applied tree's, so a burst of writes can overshoot its hard limits).

#ifndef SYNOD_TXN_PREPARER_H_
#define SYNOD_TXN_PREPARER_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "acl/acl.h"
#include "tree/data_tree.h"
#include "txn/txn.pb.h"
#include "util/limits.h"
#include "util/strings.h"

namespace synod {

// Largest TTL accepted, in ms (ZooKeeper's: 2^40 - 1).
inline constexpr int64_t kMaxTtlMs = (int64_t{1} << 40) - 1;

class Preparer {
 public:
  // `tree` must outlive the Preparer; it is only read. Requests beyond
  // `limits` are refused (BadArguments; InvalidAcl for an ACL), so every txn
  // prepared is within them.
  Preparer(const DataTree* tree, const RequestLimits& limits);

  // Validates `request` from `session` holding `auth`, as of every txn
  // prepared so far, and on success fills the body of `txn` and remembers
  // its effects as pending under `zxid`. `now_ms` is the leader's clock.
  // Errors are ZooKeeper's, checked in ZooKeeper's order; for a multi the
  // failing op's error with FailedOpIndex set, and nothing is remembered.
  // A request or a txn beyond the limits (whole size, ops of a multi, path,
  // data, ACL entries and ids) is BadArguments (InvalidAcl for an ACL) and
  // nothing is remembered.
  // The caller sets txn's zxid, time and session.
  absl::Status Prepare(const txn::Request& request, int64_t session,
                       const AuthInfo& auth, Zxid zxid, int64_t now_ms,
                       txn::Txn* txn);

  // Forgets the pending effects of txns with zxid <= `zxid`: the tree now
  // holds them.
  void Applied(Zxid zxid);

  // Forgets every pending effect (the prepared txns will never apply).
  void Reset();

  // Returns the number of paths with pending changes.
  size_t pending_size() const { return pending_.size(); }

  // Counts the writes prepared past a soft quota, and those a hard quota
  // refused; the last of the soft ones is described by
  // last_soft_quota_warning() (for the host's log).
  int64_t quota_soft_exceeded() const { return quota_soft_exceeded_; }
  int64_t quota_hard_exceeded() const { return quota_hard_exceeded_; }
  const std::string& last_soft_quota_warning() const {
    return last_soft_quota_warning_;
  }

 private:
  // What validation needs to know of a node.
  struct Record {
    Zxid zxid = 0;  // the last pending txn that changed it (0: the tree's)
    bool exists = false;
    Stat stat;
    AclRef acl;
    CreateMode mode = CreateMode::kPersistent;
    int64_t ttl_ms = 0;
  };
  // A quota as of the pending txns (tree/quota.h).
  struct QuotaRecord {
    Zxid zxid = 0;  // the last pending txn that changed it (0: the tree's)
    bool exists = false;
    Quota quota;
  };
  class Scratch;

  // The checks ZooKeeper's client makes on a multi's op before sending:
  // its kind, its create mode, its path.
  static absl::Status ValidateMultiOp(const txn::Request& op);
  absl::Status PrepareOp(const txn::Request& op, int64_t session,
                         const AuthInfo& auth, Zxid zxid, int64_t now_ms,
                         Scratch* scratch, txn::Txn* out);
  absl::Status PrepareCreate(const txn::CreateRequest& req, int64_t session,
                             const AuthInfo& auth, Zxid zxid, int64_t now_ms,
                             Scratch* scratch, txn::Txn* out);
  absl::Status PrepareCloseSession(int64_t session, Zxid zxid,
                                   Scratch* scratch, txn::Txn* out);
  absl::Status PrepareSetQuota(const txn::SetQuotaRequest& req,
                               const AuthInfo& auth, Zxid zxid, int64_t now_ms,
                               Scratch* scratch, txn::Txn* out);
  absl::Status PrepareDeleteQuota(const txn::DeleteQuotaRequest& req,
                                  const AuthInfo& auth, Zxid zxid,
                                  int64_t now_ms, Scratch* scratch,
                                  txn::Txn* out);
  // Checks `path` for a quota change: valid, not "/" nor a system path,
  // its quota node's path within kMaxPathBytes.
  absl::Status CheckQuotaPath(std::string_view path) const;
  // Returns BadArguments if a quota other than `path`'s own lies on the
  // way from the root to `path` or below it.
  absl::Status CheckQuotaNesting(std::string_view path,
                                 const Scratch& scratch) const;
  // Adds `count` nodes and `bytes` of data to the quota over `path`, if
  // any. With `enforce` (a create or a set), ZooKeeper's check first: a
  // change that takes a count or bytes past a hard limit is QuotaExceeded
  // (nothing recorded), past a soft one is counted and allowed.
  absl::Status ChargeQuota(std::string_view path, int64_t count,
                           int64_t bytes, bool enforce, Scratch* scratch);
  // Returns the nodes and bytes under `path` (itself included) as of the
  // scratch changes.
  Quota SubtreeUsage(std::string_view path, const Scratch& scratch) const;
  // System nodes that quotas are kept in: records the change in `scratch`
  // and appends the txn op to `multi`.
  void CreateSystemNode(const std::string& path, const std::string& data,
                        Zxid zxid, int64_t now_ms, Scratch* scratch,
                        txn::MultiTxn* multi);
  void SetSystemNode(const std::string& path, const std::string& data,
                     Zxid zxid, int64_t now_ms, Record node, Scratch* scratch,
                     txn::MultiTxn* multi);
  void DeleteSystemNode(const std::string& path, Zxid zxid, Scratch* scratch,
                        txn::MultiTxn* multi);
  std::optional<QuotaRecord> LookupQuota(std::string_view path) const;
  absl::Status CheckSession(int64_t session) const;
  absl::Status CheckDataSize(size_t size) const;
  absl::Status CheckAcl(const AclList& acl) const;
  std::optional<Record> Lookup(std::string_view path) const;
  void Commit(Scratch* scratch, Zxid zxid);

  const DataTree* tree_;
  const RequestLimits limits_;
  StrMap<Record> pending_;
  std::deque<std::pair<Zxid, std::string>> pending_order_;
  StrMap<QuotaRecord> pending_quotas_;
  std::deque<std::pair<Zxid, std::string>> pending_quota_order_;
  int64_t quota_soft_exceeded_ = 0;
  int64_t quota_hard_exceeded_ = 0;
  std::string last_soft_quota_warning_;
  absl::flat_hash_map<int64_t, Zxid> opening_sessions_;  // id -> zxid
  absl::flat_hash_map<int64_t, Zxid> closing_sessions_;  // id -> zxid
};

}  // namespace synod

#endif  // SYNOD_TXN_PREPARER_H_
