// The watch registry of one replica: one-shot data and child watches and
// persistent (recursive) watches, with ZooKeeper's firing rules. Every
// registration has an owner: 0 for the local Coordinator, a session id for
// a remote client's session (the client service), so that removal takes
// away only the caller's watches, as ZooKeeper's does.

#ifndef SYNOD_WATCH_WATCH_MANAGER_H_
#define SYNOD_WATCH_WATCH_MANAGER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "acl/acl.h"
#include "synod/watch.h"
#include "util/mutex.h"

namespace synod {

// One watcher call to make: `watcher` with `event`.
struct Delivery {
  std::shared_ptr<const Watcher> watcher;
  WatchEvent event;
};

// Thread-safe. Readers register watches concurrently while the applying
// thread triggers them; nothing here calls a watcher: triggered watchers are
// returned as Deliveries for the dispatcher.
//
// Owners: each registration carries the int64 owner it was added with
// (kLocalOwner, 0, for the local Coordinator; a session id for a session the
// client service hosts). Owners only matter to Remove and RemoveOwner;
// Trigger fires every owner's watches alike. The registrations of owners
// other than kLocalOwner are also indexed by owner, so that RemoveOwner
// visits only that owner's paths; the index is kept exact (Trigger updates
// it when a non-local one-shot watch fires), and costs nothing for local
// watches.
class WatchManager {
 public:
  // The owner of the local Coordinator's own watches.
  static constexpr int64_t kLocalOwner = 0;

  // Registers a one-shot data watch (Get, Exists) on `path` for `owner`.
  void AddDataWatch(std::string_view path, Watcher watcher,
                    int64_t owner = kLocalOwner);
  // Registers a one-shot child watch (GetChildren) on `path` for `owner`.
  void AddChildWatch(std::string_view path, Watcher watcher,
                     int64_t owner = kLocalOwner);
  // Registers a watch on `path` for `owner` that stays until removed.
  void AddPersistentWatch(std::string_view path, WatchMode mode,
                          Watcher watcher, int64_t owner = kLocalOwner);

  // Appends to `out` the deliveries of an event of `type` on `path` and
  // removes the one-shot watches that fire, whatever their owners. Rules
  // (ZooKeeper's):
  //  kCreated:         data watches of path; persistent of path;
  //                    recursive of path and every ancestor.
  //  kDeleted:         data and child watches of path; persistent of path;
  //                    recursive of path and every ancestor.
  //  kDataChanged:     data watches of path; persistent of path;
  //                    recursive of path and every ancestor.
  //  kChildrenChanged: child watches of path; persistent of path (never
  //                    recursive ones).
  // Each registration fires at most once per call, and each WatchHandle
  // once, whatever its owners (at its first place in this order); order:
  // one-shot data,
  // one-shot child, persistent, recursive (nearest ancestor first), each in
  // registration order (owners interleaved as registered). Every event
  // carries `path` and kConnected.
  // REQUIRES: `type` is one of the four node events.
  void Trigger(std::string_view path, EventType type,
               std::vector<Delivery>* out);
  // As Trigger, for an event that only owners allowed to READ `acl` may
  // hear (ZooKeeper 3.8.4+'s rule; `acl` null: everyone may). Owners are
  // taken as ZooKeeper sessions: the event goes to an owner with an armed
  // one-shot watch of a kind it fires, or a persistent or recursive watch
  // it reaches. An owner that may read hears all its watches the event
  // reaches; one that may not hears none, and its one-shot watches of the
  // fired kinds stay, dormant: they fire (with the owner's next event sent
  // for the same kinds on the path) but do not make the event sent, as a
  // ZooKeeper client's watchers stay registered after the server dropped
  // its watch unheard. Owners with no AuthInfo set (SetOwnerAuth) are
  // never filtered.
  void Trigger(std::string_view path, EventType type, const AclList* acl,
               std::vector<Delivery>* out);

  // Sets the identities Trigger checks `owner`'s READ with (null: stop
  // filtering its events). RemoveOwner forgets them for a non-local owner.
  void SetOwnerAuth(int64_t owner, std::shared_ptr<const AuthInfo> auth);

  // Removes `owner`'s watches of `type` on `path` (only those made with
  // the WatchHandle whose id is `handle`, unless it is 0; other owners'
  // stay, in their order) and appends one delivery per removed
  // registration:
  // kDataWatchRemoved for data watches, kChildWatchRemoved for child
  // watches, kPersistentWatchRemoved for persistent and recursive ones; in
  // Trigger's kind order, then registration order. Returns how many were
  // removed.
  int Remove(std::string_view path, WatcherType type, int64_t owner,
             int64_t handle, std::vector<Delivery>* out);

  // Removes every registration of `owner`, of every kind and path, without
  // any delivery (its session is gone: nobody is told). Returns how many
  // were removed. Cheap when `owner` has none; for an owner other than
  // kLocalOwner it visits only that owner's paths; for kLocalOwner it scans
  // every path.
  int64_t RemoveOwner(int64_t owner);

  // Returns whether `owner` has an armed (not dormant) watch of `type` on
  // `path` (ZooKeeper's checkWatches).
  bool Has(std::string_view path, WatcherType type, int64_t owner) const;

  // Returns whether an event on a node with `acl` (null: none) would be
  // told to `owner`, by Trigger's rule.
  bool OwnerMayRead(int64_t owner, const AclList* acl) const;

  // Removes every watch of every owner; appends nothing.
  void Clear();

  // Returns the number of registrations (all owners).
  int64_t size() const;

  // How many paths are watched, and how many owners other than
  // kLocalOwner hold watches (ZooKeeper's wchs).
  struct Summary {
    int64_t paths = 0;
    int64_t owners = 0;
  };
  Summary Summarize() const;

 private:
  struct Registration {
    std::shared_ptr<const Watcher> watcher;
    int64_t owner = kLocalOwner;
    int64_t handle = 0;  // the WatchHandle's id, 0 for a plain function
    bool dormant = false;  // an event it may not read consumed its arming
  };
  using Registrations = std::vector<Registration>;
  struct PathWatches {
    Registrations data;
    Registrations child;
    Registrations persistent;
    Registrations recursive;
    bool empty() const {
      return data.empty() && child.empty() && persistent.empty() &&
             recursive.empty();
    }
  };
  // Registration counts of one non-local owner, per path.
  using OwnerPaths = absl::flat_hash_map<std::string, int64_t>;

  // Adds the registration; false (nothing added) if it is a WatchHandle
  // that `owner` has registered there already.
  bool AddLocked(std::string_view path, Registrations PathWatches::*kind,
                 std::shared_ptr<const Watcher> watcher, int64_t owner)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts a registration that fired out of counts_.
  void Forget(const Registration& reg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Trigger when an owner may be refused or a dormant watch may wake.
  void TriggerFiltered(std::string_view path, EventType type,
                       const AclList* acl, std::vector<Delivery>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True if `owner` may hear an event on a node with `acl`.
  bool MayRead(int64_t owner, const AclList* acl) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Drops the deliveries of `out` from index `from` on whose WatchHandle
  // has a delivery earlier in that range.
  static void DedupHandles(std::vector<Delivery>* out, size_t from);
  // As Emit, then empties `list` (the fired one-shot watches of `path`),
  // keeping owners_ exact; returns how many were emitted.
  int64_t EmitAndClear(Registrations& list, std::string_view path,
                       EventType type, std::vector<Delivery>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `owner`'s registrations from every kind of `watches`, silently;
  // keeps size_ and recursive_count_ (not owners_). Returns how many.
  int64_t DropOwned(PathWatches& watches, int64_t owner)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets `n` registrations of non-local `owner` on `path` in owners_.
  void Unindex(int64_t owner, std::string_view path, int64_t n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable SharedMutex mu_;
  absl::flat_hash_map<std::string, PathWatches> watches_ ABSL_GUARDED_BY(mu_);
  // Owners other than kLocalOwner -> the paths they have registrations on.
  absl::flat_hash_map<int64_t, OwnerPaths> owners_ ABSL_GUARDED_BY(mu_);
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t recursive_count_ ABSL_GUARDED_BY(mu_) = 0;
  // [0]: registrations made with a WatchHandle (Trigger dedups only if
  // any); [1]: dormant registrations (Trigger filters only if any, or if
  // the event's ACL is not world-readable).
  int64_t counts_[2] ABSL_GUARDED_BY(mu_) = {0, 0};
  // The identities of the owners whose events are filtered.
  absl::flat_hash_map<int64_t, std::shared_ptr<const AuthInfo>> auth_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace synod

#endif  // SYNOD_WATCH_WATCH_MANAGER_H_
