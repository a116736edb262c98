// PeerRuntime: local reads, watch registration, identities, health.
// Reads run on the caller's thread under the tree's shared lock.

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "acl/identity.h"
#include "runtime/peer_runtime.h"
#include "tree/path.h"
#include "tree/snapshot.h"
#include "util/errors.h"
#include "util/status_macros.h"

namespace synod {
namespace {


}  // namespace

std::shared_ptr<const AuthInfo> PeerRuntime::auth() const {
  MutexLock lock(&auth_mu_);
  return auth_;
}

absl::StatusOr<const Znode*> PeerRuntime::FindReadable(
    std::string_view path, const AuthInfo* auth) const {
  const Znode* node = replica_.tree.Find(path);
  if (!node) return NoNodeError(path);
  for (const Acl& a : *node->acl) {
    if ((a.perms & perms::kRead) && a.scheme == "world") return node;
  }
  // Our own identities are fetched only when the ACL needs them (not on
  // the world-readable fast path).
  const bool ok = auth ? Permits(*node->acl, perms::kRead, *auth)
                       : Permits(*node->acl, perms::kRead, *this->auth());
  if (!ok) return NoAuthError(path);
  return node;
}

absl::StatusOr<Node> PeerRuntime::Get(std::string_view path,
                                            Watcher watcher) {
  return GetAs(kLocalOwner, nullptr, path, std::move(watcher));
}

absl::StatusOr<Node> PeerRuntime::GetAs(int64_t owner,
                                              const AuthInfo* auth,
                                              std::string_view path,
                                              Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&replica_.mu);
  SYNOD_ASSIGN_OR_RETURN(const Znode* node, FindReadable(path, auth));
  if (watcher) replica_.watches.AddDataWatch(path, std::move(watcher), owner);
  return Node{node->data, ServedStat(node->stat)};
}

absl::StatusOr<std::optional<Stat>> PeerRuntime::Exists(
    std::string_view path, Watcher watcher) {
  return ExistsAs(kLocalOwner, path, std::move(watcher));
}

absl::StatusOr<std::optional<Stat>> PeerRuntime::ExistsAs(
    int64_t owner, std::string_view path, Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&replica_.mu);
  const Znode* node = replica_.tree.Find(path);
  if (watcher) replica_.watches.AddDataWatch(path, std::move(watcher), owner);
  if (!node) return std::optional<Stat>();
  return std::optional<Stat>(ServedStat(node->stat));
}

absl::StatusOr<std::vector<std::string>> PeerRuntime::GetChildren(
    std::string_view path, Watcher watcher, Stat* stat) {
  return GetChildrenAs(kLocalOwner, nullptr, path, std::move(watcher), stat);
}

absl::StatusOr<std::vector<std::string>> PeerRuntime::GetChildrenAs(
    int64_t owner, const AuthInfo* auth, std::string_view path,
    Watcher watcher, Stat* stat) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&replica_.mu);
  SYNOD_ASSIGN_OR_RETURN(const Znode* node, FindReadable(path, auth));
  if (watcher) replica_.watches.AddChildWatch(path, std::move(watcher), owner);
  if (stat) *stat = ServedStat(node->stat);
  return std::vector<std::string>(node->children.begin(), node->children.end());
}

absl::StatusOr<AclList> PeerRuntime::GetAcl(std::string_view path,
                                                  Stat* stat) {
  return GetAclAs(*auth(), path, stat);
}

absl::StatusOr<AclList> PeerRuntime::GetAclAs(const AuthInfo& auth,
                                                    std::string_view path,
                                                    Stat* stat) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&replica_.mu);
  const Znode* node = replica_.tree.Find(path);
  if (!node) return NoNodeError(path);
  // As ZooKeeper 3.6+: reading an ACL takes READ or ADMIN.
  if (!Permits(*node->acl, perms::kRead | perms::kAdmin, auth)) {
    return NoAuthError(path);
  }
  if (stat) *stat = ServedStat(node->stat);
  return *node->acl;
}

absl::StatusOr<std::vector<std::string>> PeerRuntime::GetEphemerals(
    std::string_view prefix) {
  return GetEphemeralsAs(published_.session_id.load(), prefix);
}

absl::StatusOr<std::vector<std::string>> PeerRuntime::GetEphemeralsAs(
    int64_t session, std::string_view prefix) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(prefix));
  reads_.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::string> out;
  if (session == 0) return out;
  ReaderLock lock(&replica_.mu);
  for (std::string& path : replica_.tree.EphemeralsOf(session)) {
    if (absl::StartsWith(path, AV(prefix))) out.push_back(std::move(path));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<int32_t> PeerRuntime::GetAllChildrenNumber(
    std::string_view path) {
  return CountDescendants(nullptr, path);
}

absl::StatusOr<int32_t> PeerRuntime::GetAllChildrenNumberAs(
    const AuthInfo& auth, std::string_view path) {
  return CountDescendants(&auth, path);
}

absl::StatusOr<int32_t> PeerRuntime::CountDescendants(const AuthInfo* auth,
                                                      std::string_view path) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&replica_.mu);
  SYNOD_ASSIGN_OR_RETURN(const Znode* node, FindReadable(path, auth));
  // Depth first over the subtree, under the reader lock: O(subtree), as
  // ZooKeeper's is O(tree).
  int32_t count = 0;
  std::vector<std::pair<std::string, const Znode*>> pending = {
      {std::string(path), node}};
  while (!pending.empty()) {
    auto [parent, n] = std::move(pending.back());
    pending.pop_back();
    for (const std::string& child : n->children) {
      std::string child_path =
          parent == "/" ? absl::StrCat("/", child) : absl::StrCat(parent, "/", child);
      const Znode* c = replica_.tree.Find(child_path);
      if (c == nullptr) continue;  // cannot happen: the tree is consistent
      ++count;
      if (!c->children.empty()) pending.emplace_back(std::move(child_path), c);
    }
  }
  return count;
}

absl::StatusOr<std::vector<ReadResult>> PeerRuntime::MultiRead(
    const std::vector<ReadOp>& ops) {
  if (ops.size() > static_cast<size_t>(options_.max_multi_ops)) {
    return BadArgumentsError(absl::StrCat("a multi read of ", ops.size(),
                                          " ops exceeds the limit of ",
                                          options_.max_multi_ops));
  }
  // As ZooKeeper's client does before it sends a multiRead (and as a
  // Multi is checked): an invalid path anywhere fails the whole call.
  for (size_t i = 0; i < ops.size(); ++i) {
    if (absl::Status valid = ValidatePath(ops[i].path); !valid.ok()) {
      return WithFailedOpIndex(std::move(valid), static_cast<int>(i));
    }
  }
  reads_.fetch_add(static_cast<int64_t>(ops.size()), std::memory_order_relaxed);
  std::vector<ReadResult> results(ops.size());
  // One reader lock over all the ops: no write applies between them.
  ReaderLock lock(&replica_.mu);
  for (size_t i = 0; i < ops.size(); ++i) {
    const ReadOp& op = ops[i];
    ReadResult& result = results[i];
    if (op.type == ReadOp::Type::kExists) {
      const Znode* node = replica_.tree.Find(op.path);
      result.exists = node != nullptr;
      if (node) result.stat = ServedStat(node->stat);
      continue;
    }
    absl::StatusOr<const Znode*> node = FindReadable(op.path, nullptr);
    if (!node.ok()) {
      result.error = ErrorOf(node.status());
      continue;
    }
    result.stat = ServedStat((*node)->stat);
    if (op.type == ReadOp::Type::kGetData) {
      result.data = (*node)->data;
    } else {
      result.children.assign((*node)->children.begin(),
                             (*node)->children.end());
    }
  }
  return results;
}

std::vector<ClientInfo> PeerRuntime::WhoAmI() const {
  return DescribeIdentities(options_, *auth());
}

absl::StatusOr<std::pair<Zxid, std::string>> PeerRuntime::SnapshotAs(
    const AuthInfo& auth) {
  ReaderLock lock(&replica_.mu);
  std::string unreadable;
  replica_.tree.ForEachNode([&](const std::string& path, const Znode& node) {
    if (unreadable.empty() && !Permits(*node.acl, perms::kRead, auth)) {
      unreadable = path;
    }
  });
  if (!unreadable.empty()) {
    return MakeError(Error::kNoAuth,
                     absl::StrCat("a backup needs READ on every node; ",
                                  unreadable, " is not readable"));
  }
  return std::make_pair(replica_.tree.last_zxid(),
                        EncodeSnapshot(replica_.tree));
}

absl::StatusOr<Quota> PeerRuntime::GetQuota(std::string_view path) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&replica_.mu);
  const Quota* quota = replica_.tree.FindQuota(path);
  if (!quota) {
    return MakeError(Error::kNoNode, absl::StrCat("no quota on ", AV(path)));
  }
  return *quota;
}

absl::Status PeerRuntime::AddWatch(std::string_view path, WatchMode mode,
                                         Watcher watcher) {
  return AddWatchAs(kLocalOwner, path, mode, std::move(watcher));
}

absl::Status PeerRuntime::AddWatchAs(int64_t owner,
                                           std::string_view path,
                                           WatchMode mode, Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  if (!watcher) return BadArgumentsError("AddWatch needs a watcher");
  // Registered under the tree lock so no change slips between a read and
  // the registration made by the same thread.
  ReaderLock lock(&replica_.mu);
  replica_.watches.AddPersistentWatch(path, mode, std::move(watcher), owner);
  return absl::OkStatus();
}

absl::Status PeerRuntime::RemoveWatches(std::string_view path,
                                        WatcherType type, int64_t handle,
                                        bool local) {
  return RemoveWatchesOf(kLocalOwner, path, type, handle, local);
}

absl::Status PeerRuntime::RemoveWatchesAs(int64_t owner,
                                          std::string_view path,
                                          WatcherType type, bool local) {
  return RemoveWatchesOf(owner, path, type, /*handle=*/0, local);
}

absl::Status PeerRuntime::RemoveWatchesOf(int64_t owner,
                                          std::string_view path,
                                          WatcherType type, int64_t handle,
                                          bool local) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  // ZooKeeper's rule: the server must answer a removal unless it is local.
  // Ours is the session's leader; a local removal needs nobody.
  if (!local && !published_.connected.load()) {
    return MakeError(Error::kConnectionLoss,
                     absl::StrCat("the session is not connected: watches on ",
                                  AV(path), " stay (remove them locally)"));
  }
  std::vector<Delivery> removed;
  ReaderLock lock(&replica_.mu);
  if (replica_.watches.Remove(path, type, owner, handle, &removed) == 0) {
    return MakeError(Error::kNoWatcher,
                     absl::StrCat("no watch of that type on ", AV(path)));
  }
  std::vector<Dispatcher::Task> tasks;
  for (Delivery& d : removed) {
    tasks.push_back(
        [w = std::move(d.watcher), e = std::move(d.event)] { (*w)(e); });
  }
  dispatcher_->PostAll(&tasks);
  return absl::OkStatus();
}

void PeerRuntime::SetWatchAuth(int64_t owner,
                               std::shared_ptr<const AuthInfo> auth) {
  replica_.watches.SetOwnerAuth(owner, std::move(auth));
}

int64_t PeerRuntime::DropWatchesOf(int64_t owner) {
  return replica_.watches.RemoveOwner(owner);
}

bool PeerRuntime::HasWatchesAs(int64_t owner, std::string_view path,
                               WatcherType type) {
  return replica_.watches.Has(path, type, owner);
}

std::vector<WatchEvent> PeerRuntime::RestoreWatchesAs(
    int64_t owner, const RestoredWatches& watches, Watcher watcher) {
  std::vector<WatchEvent> missed;
  if (!watcher) return missed;
  const Zxid since = watches.relative_zxid;
  // One reader lock for every check and registration: writes apply under
  // the writer lock, so none falls in between.
  ReaderLock lock(&replica_.mu);
  auto miss = [&](const Znode* node, EventType type, const std::string& path) {
    if (node != nullptr &&
        !replica_.watches.OwnerMayRead(owner, node->acl.get())) {
      return;
    }
    missed.push_back(WatchEvent{type, SessionState::kConnected, path});
  };
  for (const std::string& path : watches.data) {
    if (!ValidatePath(path).ok()) continue;
    const Znode* node = replica_.tree.Find(path);
    if (node == nullptr) {
      miss(nullptr, EventType::kDeleted, path);
    } else if (node->stat.mzxid > since) {
      miss(node, EventType::kDataChanged, path);
    } else {
      replica_.watches.AddDataWatch(path, watcher, owner);
    }
  }
  for (const std::string& path : watches.exist) {
    if (!ValidatePath(path).ok()) continue;
    const Znode* node = replica_.tree.Find(path);
    if (node != nullptr) {
      miss(node, EventType::kCreated, path);
    } else {
      replica_.watches.AddDataWatch(path, watcher, owner);
    }
  }
  for (const std::string& path : watches.child) {
    if (!ValidatePath(path).ok()) continue;
    const Znode* node = replica_.tree.Find(path);
    if (node == nullptr) {
      miss(nullptr, EventType::kDeleted, path);
    } else if (ServedStat(node->stat).pzxid > since) {
      miss(node, EventType::kChildrenChanged, path);
    } else {
      replica_.watches.AddChildWatch(path, watcher, owner);
    }
  }
  for (const auto& [paths, mode] :
       {std::pair{&watches.persistent, WatchMode::kPersistent},
        std::pair{&watches.persistent_recursive,
                  WatchMode::kPersistentRecursive}}) {
    for (const std::string& path : *paths) {
      if (!ValidatePath(path).ok()) continue;
      replica_.watches.AddPersistentWatch(path, mode, watcher, owner);
    }
  }
  return missed;
}

std::optional<transport::ClientHost::OpenSession> PeerRuntime::FindSession(
    int64_t id) const {
  ReaderLock lock(&replica_.mu);
  std::optional<std::string_view> digest =
      replica_.tree.SessionPasswordDigest(id);
  if (!digest.has_value()) return std::nullopt;
  return OpenSession{replica_.tree.sessions().at(id), std::string(*digest)};
}

absl::Status PeerRuntime::AddAuth(std::string_view scheme,
                                        std::string_view credentials) {
  SYNOD_ASSIGN_OR_RETURN(AuthId id, Authenticate(scheme, credentials));
  MutexLock lock(&auth_mu_);
  auto next = std::make_shared<AuthInfo>(*auth_);
  SYNOD_RETURN_IF_ERROR(AddIdentity(options_, std::move(id), next.get()));
  // Watch events are filtered by the identities the session holds now.
  replica_.watches.SetOwnerAuth(kLocalOwner, next);
  auth_ = std::move(next);
  return absl::OkStatus();
}

Health PeerRuntime::GetHealth() const {
  Health h;
  const zab::PeerState role = published_.role.load();
  if (!ensemble_) {
    h.role = "leader";
  } else if (role == zab::PeerState::kLeading) {
    h.role = "leader";
  } else if (role == zab::PeerState::kFollowing) {
    h.role = "follower";
  } else if (role == zab::PeerState::kObserving) {
    h.role = "observer";
  } else {
    h.role = "looking";
  }
  h.epoch = published_.epoch.load();
  h.last_zxid = published_.last_applied.load();
  h.session_id = published_.session_id.load();
  {
    ReaderLock lock(&replica_.mu);
    h.znode_count = replica_.tree.node_count();
    h.ephemeral_count = replica_.tree.ephemeral_count();
    h.session_count = static_cast<int64_t>(replica_.tree.sessions().size());
    h.data_bytes = replica_.tree.data_bytes();
  }
  h.write_latency = published_.write_latency.Snapshot();
  h.fsync_latency = published_.fsync_latency.Snapshot();
  h.watch_count = replica_.watches.size();
  const WatchManager::Summary watched = replica_.watches.Summarize();
  h.watched_paths = watched.paths;
  h.watching_sessions = watched.owners;
  h.reads = reads_.load(std::memory_order_relaxed);
  h.writes = published_.writes.load(std::memory_order_relaxed);
  h.write_errors = published_.write_errors.load(std::memory_order_relaxed);
  h.quota_soft_exceeded =
      published_.quota_soft_exceeded.load(std::memory_order_relaxed);
  h.quota_hard_exceeded =
      published_.quota_hard_exceeded.load(std::memory_order_relaxed);
  h.pending_writes = published_.pending_writes.load(std::memory_order_relaxed);
  h.log_syncs = published_.log_syncs.load(std::memory_order_relaxed);
  h.txns_logged = published_.txns_logged.load(std::memory_order_relaxed);
  h.events_delivered = dispatcher_ ? dispatcher_->tasks_run() : 0;
  h.dispatcher_queue = dispatcher_ ? dispatcher_->queued() : 0;
  h.remote_sessions = remote_sessions_.load(std::memory_order_relaxed);
  h.peer_id = self_id_;
  h.leader_id = published_.leader_id.load();
  h.connected = published_.connected.load();
  h.snapshots_installed = published_.snapshots_installed.load();
  h.snapshots_sent = published_.snapshots_sent.load();
  h.elections = published_.elections.load();
  h.recovering = published_.recovering.load();
  h.listen = ListenAddress();
  {
    // Not metrics_ itself: gRPC threads ask while Init or the destructor
    // sets it.
    MutexLock lock(&metrics_mu_);
    h.metrics_listen = metrics_address_;
    h.zk_listen = zk_address_;
  }
  if (ensemble_) {
    MutexLock lock(&published_.config_mu);
    // A copy: the lambda below reads it (Health is not a hot path).
    const std::vector<zab::MemberState> states = published_.member_states;
    const bool leading = h.leader_id == self_id_;
    // The leader's view of one member ("" where this peer does not lead).
    auto state_of = [&](zab::PeerId id) -> std::string {
      if (!leading) return "";
      if (id == self_id_) return "leading";
      for (const zab::MemberState& s : states) {
        if (s.id != id) continue;
        if (s.healthy) return "serving";
        if (s.registered) return "catching-up";
        return absl::StrCat(
            "unreachable ",
            absl::ToInt64Seconds(s.unreachable_ticks * options_.tick), "s");
      }
      return "";
    };
    auto lag_of = [&](zab::PeerId id) -> int64_t {
      if (!leading) return -1;
      if (id == self_id_) return 0;
      for (const zab::MemberState& s : states) {
        if (s.id == id) return s.lag_txns;
      }
      return -1;
    };
    for (const zab::Member& m : published_.config.voters) {
      h.voters.push_back(EnsembleMember{m.id, m.address, state_of(m.id), true,
                                        lag_of(m.id)});
    }
    for (const zab::Member& m : published_.config.observers) {
      h.observers.push_back(EnsembleMember{m.id, m.address, state_of(m.id),
                                           false, lag_of(m.id)});
    }
    h.config_version = published_.config.version;
  }
  return h;
}

}  // namespace synod
