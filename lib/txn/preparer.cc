// Preparer: ZooKeeper's request checks, in ZooKeeper's order, against the
// tree plus pending changes.

#include "txn/preparer.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tree/path.h"
#include "tree/quota.h"
#include "util/errors.h"
#include "util/status_macros.h"

namespace synod {

// The changes of the request being prepared, layered over the pending ones,
// so a failing multi leaves no trace.
class Preparer::Scratch {
 public:
  explicit Scratch(const Preparer* preparer) : preparer_(preparer) {}

  // Returns the node as of the scratch changes, or nullopt if it is absent.
  std::optional<Record> Get(std::string_view path) const {
    auto it = local_.find(path);
    if (it != local_.end()) {
      if (!it->second.exists) return std::nullopt;
      return it->second;
    }
    return preparer_->Lookup(path);
  }

  void Put(std::string_view path, Record record) {
    local_[path] = std::move(record);
  }

  StrMap<Record>& changes() { return local_; }
  const StrMap<Record>& changes() const { return local_; }

  // Returns the quota on `path` as of the scratch changes, or nullopt.
  std::optional<QuotaRecord> GetQuota(std::string_view path) const {
    auto it = quotas_.find(path);
    if (it != quotas_.end()) {
      if (!it->second.exists) return std::nullopt;
      return it->second;
    }
    return preparer_->LookupQuota(path);
  }

  void PutQuota(std::string_view path, QuotaRecord record) {
    quotas_[path] = std::move(record);
  }

  StrMap<QuotaRecord>& quota_changes() { return quotas_; }
  const StrMap<QuotaRecord>& quota_changes() const { return quotas_; }

  // Returns false when no quota exists or is pending: writes skip the
  // quota walk.
  bool AnyQuota() const {
    return !quotas_.empty() || !preparer_->pending_quotas_.empty() ||
           !preparer_->tree_->quotas().empty();
  }

 private:
  const Preparer* preparer_;
  StrMap<Record> local_;
  StrMap<QuotaRecord> quotas_;
};

namespace {

bool ValidMode(int32_t mode) {
  return mode >= static_cast<int32_t>(CreateMode::kPersistent) &&
         mode <= static_cast<int32_t>(CreateMode::kPersistentSequentialWithTtl);
}

absl::Status CheckVersion(int32_t expected, int32_t actual,
                          std::string_view path) {
  if (expected != -1 && expected != actual) return BadVersionError(path);
  return absl::OkStatus();
}

absl::Status ReservedError(std::string_view path) {
  return BadArgumentsError(
      absl::StrCat("path is reserved for the system: ", AV(path)));
}

// Digits of a sequential node's suffix (at least: a negative cversion
// prints its sign too).
constexpr size_t kSequenceDigits = 10;

// Bytes the caller of Prepare may add to a txn: zxid, time, session,
// origin and request number, each with its tag.
constexpr size_t kTxnHeaderBytes = 64;

absl::Status CheckCreatePathSize(size_t bytes, int64_t limit) {
  if (bytes <= static_cast<size_t>(limit)) return absl::OkStatus();
  return BadArgumentsError(absl::StrCat("path of ", bytes,
                                        " bytes exceeds the limit of ", limit));
}

// The parent a create names: everything before the last '/' ("/" if empty).
std::string_view CreateParent(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

}  // namespace

Preparer::Preparer(const DataTree* tree, const RequestLimits& limits)
    : tree_(tree), limits_(limits) {}

std::optional<Preparer::Record> Preparer::Lookup(std::string_view path) const {
  auto it = pending_.find(path);
  if (it != pending_.end()) {
    if (!it->second.exists) return std::nullopt;
    return it->second;
  }
  const Znode* node = tree_->Find(path);
  if (!node) return std::nullopt;
  Record r;
  r.exists = true;
  r.stat = node->stat;
  r.acl = node->acl;
  r.mode = node->mode;
  r.ttl_ms = node->ttl_ms;
  return r;
}

std::optional<Preparer::QuotaRecord> Preparer::LookupQuota(
    std::string_view path) const {
  auto it = pending_quotas_.find(path);
  if (it != pending_quotas_.end()) {
    if (!it->second.exists) return std::nullopt;
    return it->second;
  }
  const Quota* quota = tree_->FindQuota(path);
  if (!quota) return std::nullopt;
  QuotaRecord r;
  r.exists = true;
  r.quota = *quota;
  return r;
}

absl::Status Preparer::CheckSession(int64_t session) const {
  if (session == 0) return absl::OkStatus();  // the system itself
  bool open = tree_->sessions().contains(session) ||
              opening_sessions_.contains(session);
  if (!open || closing_sessions_.contains(session)) {
    return MakeError(Error::kSessionExpired,
                     absl::StrCat("session 0x", absl::Hex(session),
                                  " is expired or closing"));
  }
  return absl::OkStatus();
}

absl::Status Preparer::CheckDataSize(size_t size) const {
  if (size > static_cast<size_t>(limits_.max_data_bytes)) {
    return BadArgumentsError(absl::StrCat("data of ", size,
                                          " bytes exceeds the limit of ",
                                          limits_.max_data_bytes));
  }
  return absl::OkStatus();
}

absl::Status Preparer::CheckAcl(const AclList& acl) const {
  if (acl.size() > static_cast<size_t>(limits_.max_acl_entries)) {
    return MakeError(Error::kInvalidAcl,
                     absl::StrCat("ACL of ", acl.size(),
                                  " entries exceeds the limit of ",
                                  limits_.max_acl_entries));
  }
  for (const Acl& a : acl) {
    const size_t longest = std::max(a.scheme.size(), a.id.size());
    if (longest > static_cast<size_t>(limits_.max_acl_id_bytes)) {
      return MakeError(Error::kInvalidAcl,
                       absl::StrCat("ACL entry of ", longest,
                                    " bytes exceeds the limit of ",
                                    limits_.max_acl_id_bytes));
    }
  }
  return absl::OkStatus();
}

absl::Status Preparer::Prepare(const txn::Request& request, int64_t session,
                               const AuthInfo& auth, Zxid zxid, int64_t now_ms,
                               txn::Txn* txn) {
  if (!request.has_create_session() && !request.has_cleanup()) {
    absl::Status s = CheckSession(session);
    if (!s.ok()) return s;
  }
  const size_t request_bytes = request.ByteSizeLong();
  if (request_bytes > static_cast<size_t>(limits_.max_request_bytes)) {
    return BadArgumentsError(absl::StrCat("request of ", request_bytes,
                                          " bytes exceeds the limit of ",
                                          limits_.max_request_bytes));
  }
  Scratch scratch(this);
  if (request.has_multi()) {
    if (request.multi().ops_size() > limits_.max_multi_ops) {
      return BadArgumentsError(absl::StrCat(
          "multi of ", request.multi().ops_size(),
          " ops exceeds the limit of ", limits_.max_multi_ops));
    }
    // As ZooKeeper's client does before it sends a multi: every op's kind
    // and path are checked first, so an invalid path anywhere is
    // BadArguments before any op is checked against the tree.
    for (int i = 0; i < request.multi().ops_size(); ++i) {
      absl::Status s = ValidateMultiOp(request.multi().ops(i));
      if (!s.ok()) return WithFailedOpIndex(std::move(s), i);
    }
    txn::MultiTxn* multi = txn->mutable_multi();
    for (int i = 0; i < request.multi().ops_size(); ++i) {
      const txn::Request& op = request.multi().ops(i);
      absl::Status s = PrepareOp(op, session, auth, zxid, now_ms, &scratch,
                                 multi->add_ops());
      if (!s.ok()) {
        txn->clear_multi();
        return WithFailedOpIndex(std::move(s), i);
      }
    }
  } else {
    absl::Status s =
        PrepareOp(request, session, auth, zxid, now_ms, &scratch, txn);
    if (!s.ok()) return s;
  }
  // "auth" ACL entries expand on the leader, so a txn may outgrow its
  // request; the caller adds at most kTxnHeaderBytes of header fields.
  const size_t txn_bytes = txn->ByteSizeLong() + kTxnHeaderBytes;
  if (txn_bytes > static_cast<size_t>(limits_.max_request_bytes)) {
    txn->Clear();
    return BadArgumentsError(absl::StrCat("transaction of ", txn_bytes,
                                          " bytes exceeds the limit of ",
                                          limits_.max_request_bytes));
  }
  Commit(&scratch, zxid);
  if (request.has_create_session()) opening_sessions_[zxid] = zxid;
  if (request.has_close_session()) closing_sessions_[session] = zxid;
  return absl::OkStatus();
}

absl::Status Preparer::ValidateMultiOp(const txn::Request& op) {
  switch (op.body_case()) {
    case txn::Request::kCreate: {
      const txn::CreateRequest& c = op.create();
      if (!ValidMode(c.mode())) {
        return BadArgumentsError(absl::StrCat("unknown create mode ", c.mode()));
      }
      return ValidateCreatePath(
          c.path(), IsSequential(static_cast<CreateMode>(c.mode())));
    }
    case txn::Request::kDeleteNode:
      return ValidatePath(op.delete_node().path());
    case txn::Request::kSetData:
      return ValidatePath(op.set_data().path());
    case txn::Request::kCheck:
      return ValidatePath(op.check().path());
    default:
      return BadArgumentsError(
          "a multi may hold only create, delete, set and check");
  }
}

absl::Status Preparer::PrepareOp(const txn::Request& op, int64_t session,
                                 const AuthInfo& auth, Zxid zxid,
                                 int64_t now_ms, Scratch* scratch,
                                 txn::Txn* out) {
  switch (op.body_case()) {
    case txn::Request::kCreate:
      return PrepareCreate(op.create(), session, auth, zxid, now_ms, scratch,
                           out);

    case txn::Request::kDeleteNode: {
      const txn::DeleteRequest& req = op.delete_node();
      absl::Status s = ValidatePath(req.path());
      if (!s.ok()) return s;
      if (req.path() == "/" || IsSystemPath(req.path())) {
        return ReservedError(req.path());
      }
      // ZooKeeper's order: the parent's DELETE permission is checked before
      // the node's existence, so a caller without it cannot probe children.
      std::string_view parent_path = ParentOf(req.path());
      std::optional<Record> parent = scratch->Get(parent_path);
      if (!parent) return NoNodeError(req.path());
      if (!Permits(*parent->acl, perms::kDelete, auth)) {
        return NoAuthError(req.path());
      }
      std::optional<Record> node = scratch->Get(req.path());
      if (!node) return NoNodeError(req.path());
      s = CheckVersion(req.version(), node->stat.version, req.path());
      if (!s.ok()) return s;
      if (node->stat.num_children > 0) {
        return MakeError(Error::kNotEmpty,
                         absl::StrCat("node has children: ", req.path()));
      }
      s = ChargeQuota(req.path(), -1, -node->stat.data_length,
                      /*enforce=*/false, scratch);
      if (!s.ok()) return s;
      parent->stat.num_children--;
      parent->stat.pzxid = zxid;
      scratch->Put(parent_path, *parent);
      scratch->Put(req.path(), Record{});
      out->mutable_delete_node()->set_path(req.path());
      return absl::OkStatus();
    }

    case txn::Request::kSetData: {
      const txn::SetDataRequest& req = op.set_data();
      absl::Status s = ValidatePath(req.path());
      if (!s.ok()) return s;
      if (IsSystemPath(req.path())) return ReservedError(req.path());
      s = CheckDataSize(req.data().size());
      if (!s.ok()) return s;
      std::optional<Record> node = scratch->Get(req.path());
      if (!node) return NoNodeError(req.path());
      if (!Permits(*node->acl, perms::kWrite, auth)) {
        return NoAuthError(req.path());
      }
      // ZooKeeper's order: the quota before the version.
      s = ChargeQuota(req.path(), 0,
                      static_cast<int64_t>(req.data().size()) -
                          node->stat.data_length,
                      /*enforce=*/true, scratch);
      if (!s.ok()) return s;
      s = CheckVersion(req.version(), node->stat.version, req.path());
      if (!s.ok()) return s;
      node->stat.version++;
      node->stat.mtime = now_ms;
      node->stat.mzxid = zxid;
      node->stat.data_length = static_cast<int32_t>(req.data().size());
      scratch->Put(req.path(), *node);
      txn::SetDataTxn* t = out->mutable_set_data();
      t->set_path(req.path());
      t->set_data(req.data());
      t->set_version(node->stat.version);
      return absl::OkStatus();
    }

    case txn::Request::kSetAcl: {
      const txn::SetAclRequest& req = op.set_acl();
      absl::Status s = ValidatePath(req.path());
      if (!s.ok()) return s;
      if (IsSystemPath(req.path())) return ReservedError(req.path());
      AclList given = AclFromProto(req.acl());
      s = CheckAcl(given);
      if (!s.ok()) return s;
      absl::StatusOr<AclList> acl = ResolveAcl(given, auth);
      if (!acl.ok()) return acl.status();
      s = CheckAcl(*acl);
      if (!s.ok()) return s;
      std::optional<Record> node = scratch->Get(req.path());
      if (!node) return NoNodeError(req.path());
      if (!Permits(*node->acl, perms::kAdmin, auth)) {
        return NoAuthError(req.path());
      }
      s = CheckVersion(req.aversion(), node->stat.aversion, req.path());
      if (!s.ok()) return s;
      node->stat.aversion++;
      node->acl = std::make_shared<const AclList>(*acl);
      scratch->Put(req.path(), *node);
      txn::SetAclTxn* t = out->mutable_set_acl();
      t->set_path(req.path());
      AclToProto(*acl, t->mutable_acl());
      t->set_aversion(node->stat.aversion);
      return absl::OkStatus();
    }

    case txn::Request::kCheck: {
      const txn::CheckRequest& req = op.check();
      absl::Status s = ValidatePath(req.path());
      if (!s.ok()) return s;
      std::optional<Record> node = scratch->Get(req.path());
      if (!node) return NoNodeError(req.path());
      if (!Permits(*node->acl, perms::kRead, auth)) {
        return NoAuthError(req.path());
      }
      s = CheckVersion(req.version(), node->stat.version, req.path());
      if (!s.ok()) return s;
      out->mutable_check()->set_path(req.path());
      return absl::OkStatus();
    }

    case txn::Request::kCreateSession: {
      int32_t timeout = op.create_session().timeout_ms();
      if (timeout <= 0) return BadArgumentsError("session timeout must be > 0");
      const std::string& digest = op.create_session().password_digest();
      if (digest.size() > kMaxSessionDigestBytes) {
        return BadArgumentsError(
            absl::StrCat("a session's password digest is at most ",
                         kMaxSessionDigestBytes, " bytes, not ",
                         digest.size()));
      }
      out->mutable_create_session()->set_timeout_ms(timeout);
      out->mutable_create_session()->set_password_digest(digest);
      return absl::OkStatus();
    }

    case txn::Request::kCloseSession:
      return PrepareCloseSession(session, zxid, scratch, out);

    case txn::Request::kCleanup: {
      const std::string& path = op.cleanup().path();
      std::optional<Record> node = scratch->Get(path);
      if (!node) return NoNodeError(path);
      bool due = false;
      if (node->stat.num_children == 0) {
        if (node->mode == CreateMode::kContainer) {
          due = node->stat.cversion > 0;
        } else if (IsTtl(node->mode)) {
          due = now_ms - node->stat.mtime > node->ttl_ms;
        }
      }
      if (!due) {
        return MakeError(Error::kNotEmpty,
                         absl::StrCat("no longer due for cleanup: ", path));
      }
      absl::Status s = ChargeQuota(path, -1, -node->stat.data_length,
                                   /*enforce=*/false, scratch);
      if (!s.ok()) return s;
      std::string_view parent_path = ParentOf(path);
      std::optional<Record> parent = scratch->Get(parent_path);
      if (!parent) return NoNodeError(parent_path);
      parent->stat.num_children--;
      parent->stat.pzxid = zxid;
      scratch->Put(parent_path, *parent);
      scratch->Put(path, Record{});
      out->mutable_delete_node()->set_path(path);
      return absl::OkStatus();
    }

    case txn::Request::kSetQuota:
      return PrepareSetQuota(op.set_quota(), auth, zxid, now_ms, scratch, out);
    case txn::Request::kDeleteQuota:
      return PrepareDeleteQuota(op.delete_quota(), auth, zxid, now_ms, scratch,
                                out);
    case txn::Request::kMulti:
      return BadArgumentsError("a multi may not nest");
    case txn::Request::kReconfig:
      // The server proposes it as a configuration change (never in a multi).
      return BadArgumentsError("a membership change cannot be part of a multi");
    case txn::Request::BODY_NOT_SET:
      break;
  }
  return BadArgumentsError("empty request");
}

absl::Status Preparer::PrepareCreate(const txn::CreateRequest& req,
                                     int64_t session, const AuthInfo& auth,
                                     Zxid zxid, int64_t now_ms,
                                     Scratch* scratch, txn::Txn* out) {
  if (!ValidMode(req.mode())) {
    return BadArgumentsError(absl::StrCat("unknown create mode ", req.mode()));
  }
  const CreateMode mode = static_cast<CreateMode>(req.mode());
  absl::Status s = ValidateCreatePath(req.path(), IsSequential(mode));
  if (!s.ok()) return s;
  s = CheckCreatePathSize(req.path().size() +
                              (IsSequential(mode) ? kSequenceDigits : 0),
                          limits_.max_path_bytes);
  if (!s.ok()) return s;
  s = CheckDataSize(req.data().size());
  if (!s.ok()) return s;
  if (IsTtl(mode)) {
    if (req.ttl_ms() <= 0 || req.ttl_ms() > kMaxTtlMs) {
      return BadArgumentsError(absl::StrCat("TTL must be within 1..",
                                            kMaxTtlMs, " ms, not ",
                                            req.ttl_ms()));
    }
  } else if (req.ttl_ms() != 0) {
    return BadArgumentsError("a TTL needs a TTL create mode");
  }
  if (IsEphemeral(mode) && session == 0) {
    return BadArgumentsError("the system cannot own ephemerals");
  }
  AclList given = AclFromProto(req.acl());
  if (given.empty()) given = OpenAcl();
  s = CheckAcl(given);
  if (!s.ok()) return s;
  absl::StatusOr<AclList> acl = ResolveAcl(given, auth);
  if (!acl.ok()) return acl.status();
  s = CheckAcl(*acl);
  if (!s.ok()) return s;

  std::string_view parent_path = CreateParent(req.path());
  std::optional<Record> parent = scratch->Get(parent_path);
  if (!parent) return NoNodeError(parent_path);
  if (!Permits(*parent->acl, perms::kCreate, auth)) {
    return NoAuthError(parent_path);
  }
  std::string path = req.path();
  if (IsSequential(mode)) {
    absl::StrAppend(&path, absl::StrFormat("%010d", parent->stat.cversion));
    s = ValidatePath(path);
    if (!s.ok()) return s;
    s = CheckCreatePathSize(path.size(), limits_.max_path_bytes);
    if (!s.ok()) return s;
  }
  if (IsSystemPath(path)) return ReservedError(path);
  if (scratch->Get(path)) return NodeExistsError(path);
  if (parent->stat.ephemeral_owner != 0) {
    return MakeError(Error::kNoChildrenForEphemerals,
                     absl::StrCat("parent is ephemeral: ", AV(parent_path)));
  }
  s = ChargeQuota(path, 1, static_cast<int64_t>(req.data().size()),
                  /*enforce=*/true, scratch);
  if (!s.ok()) return s;

  parent->stat.cversion++;
  parent->stat.num_children++;
  parent->stat.pzxid = zxid;
  const int32_t parent_cversion = parent->stat.cversion;
  scratch->Put(parent_path, *parent);

  Record node;
  node.exists = true;
  node.stat.czxid = node.stat.mzxid = node.stat.pzxid = zxid;
  node.stat.ctime = node.stat.mtime = now_ms;
  node.stat.ephemeral_owner = IsEphemeral(mode) ? session : 0;
  node.stat.data_length = static_cast<int32_t>(req.data().size());
  node.acl = std::make_shared<const AclList>(*acl);
  node.mode = mode;
  node.ttl_ms = req.ttl_ms();

  txn::CreateTxn* t = out->mutable_create();
  t->set_path(path);
  t->set_data(req.data());
  AclToProto(*acl, t->mutable_acl());
  t->set_mode(req.mode());
  t->set_ttl_ms(req.ttl_ms());
  t->set_parent_cversion(parent_cversion);
  t->set_ephemeral_owner(node.stat.ephemeral_owner);
  scratch->Put(path, std::move(node));
  return absl::OkStatus();
}

absl::Status Preparer::PrepareCloseSession(int64_t session, Zxid zxid,
                                           Scratch* scratch, txn::Txn* out) {
  if (session == 0) return BadArgumentsError("the system has no session");
  // The session's ephemerals as of every pending txn: candidates are the
  // tree's and every pending path; a candidate counts if, with all pending
  // changes, it exists and this session owns it (a pending delete and
  // re-create may have changed its owner either way).
  std::vector<std::string> paths;
  auto consider = [&](const std::string& path) {
    std::optional<Record> r = scratch->Get(path);
    if (r && r->stat.ephemeral_owner == session) paths.push_back(path);
  };
  for (const std::string& path : tree_->EphemeralsOf(session)) consider(path);
  for (const auto& [path, record] : pending_) consider(path);
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  txn::CloseSessionTxn* t = out->mutable_close_session();
  for (const std::string& path : paths) {
    const int32_t data_length = scratch->Get(path)->stat.data_length;
    absl::Status s =
        ChargeQuota(path, -1, -data_length, /*enforce=*/false, scratch);
    if (!s.ok()) return s;
    std::string_view parent_path = ParentOf(path);
    std::optional<Record> parent = scratch->Get(parent_path);
    if (parent) {
      parent->stat.num_children--;
      parent->stat.pzxid = zxid;
      scratch->Put(parent_path, *parent);
    }
    scratch->Put(path, Record{});
    t->add_ephemerals(path);
  }
  return absl::OkStatus();
}

absl::Status Preparer::ChargeQuota(std::string_view path, int64_t count,
                                   int64_t bytes, bool enforce,
                                   Scratch* scratch) {
  if (!scratch->AnyQuota() || IsSystemPath(path)) return absl::OkStatus();
  // One quota per path from the root (CheckQuotaNesting): the nearest.
  for (std::string_view p = path; p != "/"; p = ParentOf(p)) {
    std::optional<QuotaRecord> q = scratch->GetQuota(p);
    if (!q) continue;
    if (enforce) {
      // ZooKeeperServer.checkQuota: a change to the count (or the bytes)
      // is held to its hard limit if there is one, else to its soft one.
      struct Check {
        const char* what;
        int64_t delta;
        int64_t now;
        int64_t soft;
        int64_t hard;
      };
      const QuotaLimits& l = q->quota.limits;
      const Check checks[] = {
          {"count", count, q->quota.count, l.count, l.count_hard},
          {"bytes", bytes, q->quota.bytes, l.bytes, l.bytes_hard}};
      for (const Check& c : checks) {
        if (c.delta == 0 || (c.soft < 0 && c.hard < 0)) continue;
        const bool hard = c.hard >= 0;
        const int64_t limit = hard ? c.hard : c.soft;
        const int64_t next = c.now + c.delta;
        if (next <= limit) continue;
        std::string message =
            absl::StrCat("quota exceeded: ", AV(p), " [", c.what, " would be ",
                         next, ", ", hard ? "hard" : "soft", " limit ", limit,
                         "]");
        if (hard) {
          ++quota_hard_exceeded_;
          return MakeError(Error::kQuotaExceeded, message);
        }
        ++quota_soft_exceeded_;
        last_soft_quota_warning_ = std::move(message);
      }
    }
    q->quota.count += count;
    q->quota.bytes += bytes;
    scratch->PutQuota(p, *std::move(q));
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

Quota Preparer::SubtreeUsage(std::string_view path,
                             const Scratch& scratch) const {
  Quota usage;
  auto count = [&](const std::optional<Record>& r) {
    if (!r) return;
    usage.count++;
    usage.bytes += r->stat.data_length;
  };
  // The tree's nodes, each as the pending and scratch changes leave it...
  tree_->ForEachInSubtree(path, [&](const std::string& p, const Znode&) {
    count(scratch.Get(p));
  });
  // ...and the nodes only those changes hold.
  auto below = [&](std::string_view p) {
    return p.substr(0, path.size()) == path &&
           (p.size() == path.size() || p[path.size()] == '/');
  };
  for (const auto& [p, record] : pending_) {
    if (below(p) && !scratch.changes().contains(p) && !tree_->Find(p)) {
      count(scratch.Get(p));
    }
  }
  for (const auto& [p, record] : scratch.changes()) {
    if (below(p) && !tree_->Find(p)) count(scratch.Get(p));
  }
  return usage;
}

absl::Status Preparer::CheckQuotaPath(std::string_view path) const {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  if (path == "/") return BadArgumentsError("a quota cannot be set on /");
  if (IsSystemPath(path)) return ReservedError(path);
  if (kQuotaRoot.size() + path.size() > kMaxPathBytes) {
    return BadArgumentsError(absl::StrCat(
        "path of ", path.size(), " bytes is too long to hold a quota"));
  }
  return absl::OkStatus();
}

absl::Status Preparer::CheckQuotaNesting(std::string_view path,
                                         const Scratch& scratch) const {
  for (std::string_view p = ParentOf(path); p != "/"; p = ParentOf(p)) {
    if (scratch.GetQuota(p)) {
      return BadArgumentsError(absl::StrCat(AV(path), " has a parent ", AV(p),
                                            " which has a quota"));
    }
  }
  // Every quota there is, or is pending; the first below `path` in order.
  std::vector<std::string_view> below;
  auto consider = [&](std::string_view p) {
    if (p.size() > path.size() && p.substr(0, path.size()) == path &&
        p[path.size()] == '/' && scratch.GetQuota(p)) {
      below.push_back(p);
    }
  };
  for (const auto& [p, quota] : tree_->quotas()) consider(p);
  for (const auto& [p, record] : pending_quotas_) consider(p);
  for (const auto& [p, record] : scratch.quota_changes()) consider(p);
  if (!below.empty()) {
    return BadArgumentsError(
        absl::StrCat(AV(path), " has a child ",
                     AV(*std::min_element(below.begin(), below.end())),
                     " which has a quota"));
  }
  return absl::OkStatus();
}

void Preparer::CreateSystemNode(const std::string& path,
                                const std::string& data, Zxid zxid,
                                int64_t now_ms, Scratch* scratch,
                                txn::MultiTxn* multi) {
  const std::string_view parent_path = ParentOf(path);
  std::optional<Record> parent = scratch->Get(parent_path);  // exists
  parent->stat.cversion++;
  parent->stat.num_children++;
  parent->stat.pzxid = zxid;
  scratch->Put(parent_path, *parent);
  Record node;
  node.exists = true;
  node.stat.czxid = node.stat.mzxid = node.stat.pzxid = zxid;
  node.stat.ctime = node.stat.mtime = now_ms;
  node.stat.data_length = static_cast<int32_t>(data.size());
  node.acl = std::make_shared<const AclList>(OpenAcl());
  txn::CreateTxn* t = multi->add_ops()->mutable_create();
  t->set_path(path);
  t->set_data(data);
  AclToProto(*node.acl, t->mutable_acl());
  t->set_mode(static_cast<int32_t>(CreateMode::kPersistent));
  t->set_parent_cversion(parent->stat.cversion);
  scratch->Put(path, std::move(node));
}

void Preparer::SetSystemNode(const std::string& path, const std::string& data,
                             Zxid zxid, int64_t now_ms, Record node,
                             Scratch* scratch, txn::MultiTxn* multi) {
  node.stat.version++;
  node.stat.mtime = now_ms;
  node.stat.mzxid = zxid;
  node.stat.data_length = static_cast<int32_t>(data.size());
  txn::SetDataTxn* t = multi->add_ops()->mutable_set_data();
  t->set_path(path);
  t->set_data(data);
  t->set_version(node.stat.version);
  scratch->Put(path, std::move(node));
}

void Preparer::DeleteSystemNode(const std::string& path, Zxid zxid,
                                Scratch* scratch, txn::MultiTxn* multi) {
  const std::string_view parent_path = ParentOf(path);
  std::optional<Record> parent = scratch->Get(parent_path);  // exists
  parent->stat.num_children--;
  parent->stat.pzxid = zxid;
  scratch->Put(parent_path, *parent);
  scratch->Put(path, Record{});
  multi->add_ops()->mutable_delete_node()->set_path(path);
}

absl::Status Preparer::PrepareSetQuota(const txn::SetQuotaRequest& req,
                                       const AuthInfo& auth, Zxid zxid,
                                       int64_t now_ms, Scratch* scratch,
                                       txn::Txn* out) {
  const std::string& path = req.path();
  SYNOD_RETURN_IF_ERROR(CheckQuotaPath(path));
  const QuotaLimits given{req.count(), req.bytes(), req.count_hard(),
                          req.bytes_hard()};
  SYNOD_RETURN_IF_ERROR(ValidateQuotaLimits(given));
  std::optional<Record> node = scratch->Get(path);
  if (!node) return NoNodeError(path);
  if (!Permits(*node->acl, perms::kAdmin, auth)) return NoAuthError(path);
  SYNOD_RETURN_IF_ERROR(CheckQuotaNesting(path, *scratch));

  QuotaRecord quota;
  if (std::optional<QuotaRecord> existing = scratch->GetQuota(path)) {
    quota = *std::move(existing);
  } else {
    quota.exists = true;
    quota.quota = SubtreeUsage(path, *scratch);
  }
  QuotaLimits& limits = quota.quota.limits;
  if (given.count != -1) limits.count = given.count;
  if (given.bytes != -1) limits.bytes = given.bytes;
  if (given.count_hard != -1) limits.count_hard = given.count_hard;
  if (given.bytes_hard != -1) limits.bytes_hard = given.bytes_hard;

  // The quota's node and each node on the way to it.
  const std::string node_path = QuotaNodePath(path);
  std::vector<std::string> chain = {std::string(kQuotaRoot)};
  for (size_t i = node_path.find('/', kQuotaRoot.size() + 1);
       i != std::string::npos; i = node_path.find('/', i + 1)) {
    chain.push_back(node_path.substr(0, i));
  }
  chain.push_back(node_path);
  txn::MultiTxn* multi = out->mutable_multi();
  for (const std::string& p : chain) {
    const std::string data = p == node_path ? EncodeQuotaLimits(limits) : "";
    std::optional<Record> r = scratch->Get(p);
    if (!r) {
      CreateSystemNode(p, data, zxid, now_ms, scratch, multi);
    } else if (p == node_path) {
      SetSystemNode(p, data, zxid, now_ms, *std::move(r), scratch, multi);
    }
  }
  scratch->PutQuota(path, std::move(quota));
  return absl::OkStatus();
}

absl::Status Preparer::PrepareDeleteQuota(const txn::DeleteQuotaRequest& req,
                                          const AuthInfo& auth, Zxid zxid,
                                          int64_t now_ms, Scratch* scratch,
                                          txn::Txn* out) {
  const std::string& path = req.path();
  SYNOD_RETURN_IF_ERROR(CheckQuotaPath(path));
  const uint32_t fields = req.fields();
  if (fields == 0 || (fields & ~quota_fields::kAll) != 0) {
    return BadArgumentsError(
        absl::StrCat("quota fields must be a non-empty set of 1, 2, 4 and 8, "
                     "not ", fields));
  }
  std::optional<QuotaRecord> quota = scratch->GetQuota(path);
  if (!quota) {
    return MakeError(Error::kNoNode, absl::StrCat("no quota on ", AV(path)));
  }
  // A quota may outlive its node (as in ZooKeeper); then anyone may drop it.
  if (std::optional<Record> node = scratch->Get(path);
      node && !Permits(*node->acl, perms::kAdmin, auth)) {
    return NoAuthError(path);
  }
  const std::string node_path = QuotaNodePath(path);
  std::optional<Record> holder = scratch->Get(node_path);
  if (!holder) {
    return MakeError(Error::kSystemError,
                     absl::StrCat("the quota on ", AV(path), " has no node"));
  }
  txn::MultiTxn* multi = out->mutable_multi();
  if (fields != quota_fields::kAll) {
    QuotaLimits& limits = quota->quota.limits;
    if (fields & quota_fields::kCount) limits.count = -1;
    if (fields & quota_fields::kBytes) limits.bytes = -1;
    if (fields & quota_fields::kCountHard) limits.count_hard = -1;
    if (fields & quota_fields::kBytesHard) limits.bytes_hard = -1;
    SetSystemNode(node_path, EncodeQuotaLimits(limits), zxid, now_ms,
                  *std::move(holder), scratch, multi);
    scratch->PutQuota(path, *std::move(quota));
    return absl::OkStatus();
  }
  // The whole quota: its node, then each node above that leads nowhere
  // now (as zkCli's delquota trims them), up to kQuotaRoot.
  if (holder->stat.num_children > 0) {
    SetSystemNode(node_path, "", zxid, now_ms, *std::move(holder), scratch,
                  multi);
  } else {
    DeleteSystemNode(node_path, zxid, scratch, multi);
    for (std::string p(ParentOf(node_path)); p != kQuotaRoot;
         p = std::string(ParentOf(p))) {
      std::optional<Record> r = scratch->Get(p);
      if (!r || r->stat.num_children > 0 || r->stat.data_length > 0) break;
      DeleteSystemNode(p, zxid, scratch, multi);
    }
  }
  scratch->PutQuota(path, QuotaRecord{});
  return absl::OkStatus();
}

void Preparer::Commit(Scratch* scratch, Zxid zxid) {
  for (auto& [path, record] : scratch->changes()) {
    record.zxid = zxid;
    pending_order_.emplace_back(zxid, path);
    pending_[path] = std::move(record);
  }
  for (auto& [path, record] : scratch->quota_changes()) {
    record.zxid = zxid;
    pending_quota_order_.emplace_back(zxid, path);
    pending_quotas_[path] = std::move(record);
  }
}

void Preparer::Applied(Zxid zxid) {
  while (!pending_order_.empty() && pending_order_.front().first <= zxid) {
    auto it = pending_.find(pending_order_.front().second);
    if (it != pending_.end() && it->second.zxid <= zxid) pending_.erase(it);
    pending_order_.pop_front();
  }
  // A quota's record goes once the tree holds its last change: the tree
  // then counts what it counted.
  while (!pending_quota_order_.empty() &&
         pending_quota_order_.front().first <= zxid) {
    auto it = pending_quotas_.find(pending_quota_order_.front().second);
    if (it != pending_quotas_.end() && it->second.zxid <= zxid) {
      pending_quotas_.erase(it);
    }
    pending_quota_order_.pop_front();
  }
  for (auto* sessions : {&opening_sessions_, &closing_sessions_}) {
    for (auto it = sessions->begin(); it != sessions->end();) {
      if (it->second <= zxid) {
        sessions->erase(it++);
      } else {
        ++it;
      }
    }
  }
}

void Preparer::Reset() {
  pending_.clear();
  pending_order_.clear();
  pending_quotas_.clear();
  pending_quota_order_.clear();
  opening_sessions_.clear();
  closing_sessions_.clear();
}

}  // namespace synod
