// Coordinator::Impl: local reads, watch registration, identities, health.
// Reads run on the caller's thread under the tree's shared lock.

#include <utility>

#include "absl/strings/str_cat.h"
#include "acl/identity.h"
#include "coordinator_impl.h"
#include "tree/path.h"
#include "util/errors.h"
#include "util/status_macros.h"

namespace synod {
namespace {


}  // namespace

std::shared_ptr<const AuthInfo> Coordinator::Impl::auth() const {
  MutexLock lock(&auth_mu_);
  return auth_;
}

absl::Status Coordinator::Impl::CheckSessionUsable() const {
  if (expired_.load(std::memory_order_relaxed)) {
    return MakeError(Error::kSessionExpired,
                     "the ensemble expired this Coordinator's session");
  }
  return absl::OkStatus();
}

absl::StatusOr<const Znode*> Coordinator::Impl::FindReadable(
    std::string_view path, const AuthInfo* auth) const {
  const Znode* node = tree_.Find(path);
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

absl::StatusOr<Node> Coordinator::Impl::Get(std::string_view path,
                                            Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(CheckSessionUsable());
  return GetAs(kLocalOwner, nullptr, path, std::move(watcher));
}

absl::StatusOr<Node> Coordinator::Impl::GetAs(int64_t owner,
                                              const AuthInfo* auth,
                                              std::string_view path,
                                              Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&tree_mu_);
  SYNOD_ASSIGN_OR_RETURN(const Znode* node, FindReadable(path, auth));
  if (watcher) watches_.AddDataWatch(path, std::move(watcher), owner);
  return Node{node->data, node->stat};
}

absl::StatusOr<std::optional<Stat>> Coordinator::Impl::Exists(
    std::string_view path, Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(CheckSessionUsable());
  return ExistsAs(kLocalOwner, path, std::move(watcher));
}

absl::StatusOr<std::optional<Stat>> Coordinator::Impl::ExistsAs(
    int64_t owner, std::string_view path, Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&tree_mu_);
  const Znode* node = tree_.Find(path);
  if (watcher) watches_.AddDataWatch(path, std::move(watcher), owner);
  if (!node) return std::optional<Stat>();
  return std::optional<Stat>(node->stat);
}

absl::StatusOr<std::vector<std::string>> Coordinator::Impl::GetChildren(
    std::string_view path, Watcher watcher, Stat* stat) {
  SYNOD_RETURN_IF_ERROR(CheckSessionUsable());
  return GetChildrenAs(kLocalOwner, nullptr, path, std::move(watcher), stat);
}

absl::StatusOr<std::vector<std::string>> Coordinator::Impl::GetChildrenAs(
    int64_t owner, const AuthInfo* auth, std::string_view path,
    Watcher watcher, Stat* stat) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&tree_mu_);
  SYNOD_ASSIGN_OR_RETURN(const Znode* node, FindReadable(path, auth));
  if (watcher) watches_.AddChildWatch(path, std::move(watcher), owner);
  if (stat) *stat = node->stat;
  return std::vector<std::string>(node->children.begin(), node->children.end());
}

absl::StatusOr<AclList> Coordinator::Impl::GetAcl(std::string_view path,
                                                  Stat* stat) {
  SYNOD_RETURN_IF_ERROR(CheckSessionUsable());
  return GetAclAs(*auth(), path, stat);
}

absl::StatusOr<AclList> Coordinator::Impl::GetAclAs(const AuthInfo& auth,
                                                    std::string_view path,
                                                    Stat* stat) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&tree_mu_);
  const Znode* node = tree_.Find(path);
  if (!node) return NoNodeError(path);
  // As ZooKeeper 3.6+: reading an ACL takes READ or ADMIN.
  if (!Permits(*node->acl, perms::kRead | perms::kAdmin, auth)) {
    return NoAuthError(path);
  }
  if (stat) *stat = node->stat;
  return *node->acl;
}

absl::Status Coordinator::Impl::AddWatch(std::string_view path, WatchMode mode,
                                         Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(CheckSessionUsable());
  return AddWatchAs(kLocalOwner, path, mode, std::move(watcher));
}

absl::Status Coordinator::Impl::AddWatchAs(int64_t owner,
                                           std::string_view path,
                                           WatchMode mode, Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  if (!watcher) return BadArgumentsError("AddWatch needs a watcher");
  // Registered under the tree lock so no change slips between a read and
  // the registration made by the same thread.
  ReaderLock lock(&tree_mu_);
  watches_.AddPersistentWatch(path, mode, std::move(watcher), owner);
  return absl::OkStatus();
}

absl::Status Coordinator::Impl::RemoveWatches(std::string_view path,
                                              WatcherType type) {
  return RemoveWatchesAs(kLocalOwner, path, type);
}

absl::Status Coordinator::Impl::RemoveWatchesAs(int64_t owner,
                                                std::string_view path,
                                                WatcherType type) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  std::vector<Delivery> removed;
  ReaderLock lock(&tree_mu_);
  if (watches_.Remove(path, type, owner, &removed) == 0) {
    return MakeError(Error::kNoWatcher,
                     absl::StrCat("no watch of that type on ", AV(path)));
  }
  std::vector<Dispatcher::Task> tasks;
  for (Delivery& d : removed) {
    tasks.push_back([w = std::move(d.watcher), e = std::move(d.event)] { (*w)(e); });
  }
  dispatcher_->PostAll(&tasks);
  return absl::OkStatus();
}

int64_t Coordinator::Impl::DropWatchesOf(int64_t owner) {
  return watches_.RemoveOwner(owner);
}

absl::Status Coordinator::Impl::AddAuth(std::string_view scheme,
                                        std::string_view credentials) {
  SYNOD_ASSIGN_OR_RETURN(AuthId id, Authenticate(scheme, credentials));
  MutexLock lock(&auth_mu_);
  auto next = std::make_shared<AuthInfo>(*auth_);
  SYNOD_RETURN_IF_ERROR(AddIdentity(options_, std::move(id), next.get()));
  auth_ = std::move(next);
  return absl::OkStatus();
}

Health Coordinator::Impl::GetHealth() const {
  Health h;
  const zab::PeerState role = role_.load();
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
  h.epoch = epoch_published_.load();
  h.last_zxid = last_applied_.load();
  h.session_id = session_id_.load();
  {
    ReaderLock lock(&tree_mu_);
    h.znode_count = tree_.node_count();
    h.ephemeral_count = tree_.ephemeral_count();
    h.session_count = static_cast<int64_t>(tree_.sessions().size());
  }
  h.watch_count = watches_.size();
  h.reads = reads_.load(std::memory_order_relaxed);
  h.writes = writes_.load(std::memory_order_relaxed);
  h.write_errors = write_errors_.load(std::memory_order_relaxed);
  h.pending_writes = pending_writes_.load(std::memory_order_relaxed);
  h.log_syncs = log_syncs_.load(std::memory_order_relaxed);
  h.txns_logged = txns_logged_.load(std::memory_order_relaxed);
  h.events_delivered = dispatcher_ ? dispatcher_->tasks_run() : 0;
  h.peer_id = self_id_;
  h.leader_id = leader_id_.load();
  h.connected = connected_.load();
  h.snapshots_installed = snapshots_installed_.load();
  h.recovering = recovering_.load();
  h.listen = ListenAddress();
  return h;
}

}  // namespace synod
