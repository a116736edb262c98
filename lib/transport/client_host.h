// ClientHost: what the client service (transport/client_service.h) needs
// from the peer that hosts it, and nothing more. The Coordinator
// implements it; tests plug in a fake, so the service's logic runs without
// a Coordinator, and the transport never sees the host's internals.
//
// Every method is thread-safe: the service calls them from gRPC's threads
// and its own threads, never from a Done or a watcher.

#ifndef SYNOD_TRANSPORT_CLIENT_HOST_H_
#define SYNOD_TRANSPORT_CLIENT_HOST_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "acl/acl.h"
#include "server/write_outcome.h"
#include "synod/coordinator.h"
#include "synod/types.h"
#include "synod/watch.h"
#include "txn/txn.pb.h"

namespace synod::transport {

class ClientHost {
 public:
  // Receives the outcome of a write submitted with SubmitAs.
  using Done = WriteDone;

  // What `synod-cli status` shows: this peer's view of the ensemble.
  struct PeerStatus {
    std::string role;
    int64_t epoch = 0;
    Zxid last_zxid = 0;
    uint64_t peer_id = 0;
    uint64_t leader_id = 0;
    std::string leader;              // address, when known
    std::vector<std::string> peers;  // the voters' addresses
    // Membership: the ensemble's identity and this peer's configuration
    // (empty alone), with the leader's view of each member (Health).
    std::string ensemble_id;
    std::string config;  // zab::EncodeConfig
    Zxid config_version = 0;
    std::vector<EnsembleMember> voters;
    std::vector<EnsembleMember> observers;
  };

  virtual ~ClientHost() = default;

  // Queues `request` to run on behalf of `session` (0: none, for the
  // service's create_session) with the identities `auth` (never null;
  // shared, never modified). An empty request is a sync. A session's
  // requests run in the order they were submitted. Calls `done` exactly
  // once: on the host's loop thread, in completion order, once the write is
  // applied (or refused); or at once, on the calling thread, if the host is
  // stopping. `done` must not block nor call the host. A create_session's
  // outcome carries the new session's id as its zxid.
  virtual void SubmitAs(int64_t session, std::shared_ptr<const AuthInfo> auth,
                        txn::Request request, Done done) = 0;

  // Reads and watches. They read the local replica, which holds every
  // write whose Done has run. A watcher (if any) is registered for
  // `owner` (the service passes the stream's session id) as the read
  // returns, and runs later on the host's event thread, one event at a
  // time; it must not block. A bad path is BadArguments and registers
  // nothing.

  // Returns the node at `path` if `auth` (null: the host's own identities)
  // may read it: NoNode, NoAuth otherwise. `watcher` becomes a data watch.
  virtual absl::StatusOr<Node> GetAs(int64_t owner, const AuthInfo* auth,
                                     std::string_view path,
                                     Watcher watcher) = 0;
  // Returns the children of `path` (and its Stat in `stat`, if not null)
  // if `auth` (null: the host's own) may read it: NoNode, NoAuth
  // otherwise. `watcher` becomes a child watch.
  virtual absl::StatusOr<std::vector<std::string>> GetChildrenAs(
      int64_t owner, const AuthInfo* auth, std::string_view path,
      Watcher watcher, Stat* stat) = 0;
  // Returns the Stat of `path`, or nullopt if there is no such node (no
  // permission needed). `watcher` becomes a data watch, which a missing
  // node's creation fires.
  virtual absl::StatusOr<std::optional<Stat>> ExistsAs(int64_t owner,
                                                       std::string_view path,
                                                       Watcher watcher) = 0;
  // Returns the ACL of `path` (and its Stat in `stat`, if not null) if
  // `auth` holds READ or ADMIN on it: NoNode, NoAuth otherwise.
  virtual absl::StatusOr<AclList> GetAclAs(const AuthInfo& auth,
                                           std::string_view path,
                                           Stat* stat) = 0;
  // Returns the tree's snapshot (tree/snapshot.h) and the zxid it
  // reflects, taken at once, if `auth` may READ every node: NoAuth naming
  // the first it may not.
  virtual absl::StatusOr<std::pair<Zxid, std::string>> SnapshotAs(
      const AuthInfo& auth) = 0;
  // Returns the quota on `path` with its subtree's size: NoNode if none.
  virtual absl::StatusOr<Quota> GetQuota(std::string_view path) = 0;
  // Returns, sorted, the paths of session `session`'s ephemeral nodes that
  // begin with `prefix` (a string prefix). BadArguments for a bad prefix.
  virtual absl::StatusOr<std::vector<std::string>> GetEphemeralsAs(
      int64_t session, std::string_view prefix) = 0;
  // Returns the number of nodes below `path` at any depth if `auth` may
  // READ `path`: NoNode, NoAuth otherwise.
  virtual absl::StatusOr<int32_t> GetAllChildrenNumberAs(
      const AuthInfo& auth, std::string_view path) = 0;
  // Registers a watch on `path` for `owner` that stays until removed.
  // BadArguments without a watcher.
  virtual absl::Status AddWatchAs(int64_t owner, std::string_view path,
                                  WatchMode mode, Watcher watcher) = 0;
  // Removes `owner`'s watches of `type` on `path` only: NoWatcher if
  // `owner` has none (whoever else has). The removed watchers get their
  // *WatchRemoved events on the host's event thread. Unless `local`,
  // ConnectionLoss (nothing removed) while the host has no leader.
  virtual absl::Status RemoveWatchesAs(int64_t owner, std::string_view path,
                                       WatcherType type, bool local) = 0;
  // Drops every watch `owner` registered, telling no watcher (its stream
  // ended). Returns how many.
  virtual int64_t DropWatchesOf(int64_t owner) = 0;
  // Returns whether `owner` has a watch of `type` on `path` that would
  // still fire (ZooKeeper's checkWatches).
  virtual bool HasWatchesAs(int64_t owner, std::string_view path,
                            WatcherType type) = 0;

  // The watches a resumed session's client had, and the last zxid it saw
  // (ZooKeeper's setWatches and setWatches2).
  struct RestoredWatches {
    Zxid relative_zxid = 0;
    std::vector<std::string> data;
    std::vector<std::string> exist;
    std::vector<std::string> child;
    std::vector<std::string> persistent;
    std::vector<std::string> persistent_recursive;
  };
  // Registers a resumed session's watches for `owner` as ZooKeeper's
  // server does (DataTree.setWatches): a data watch whose node is gone or
  // changed (mzxid) after relative_zxid, an exist watch whose node exists,
  // and a child watch whose node is gone or whose children changed (pzxid)
  // after it are not registered; the event the client missed is returned
  // instead (NodeDeleted, NodeDataChanged, NodeCreated,
  // NodeChildrenChanged), kinds in that order, paths in the order given.
  // Every other watch is registered with `watcher`, persistent ones as
  // AddWatchAs does. Atomic with respect to writes: no change falls
  // between a check and its registration. No ACL is checked, as in
  // ZooKeeper; a missed event on a node `owner` may not READ is not
  // returned (the watch identities, SetWatchAuth). Invalid paths are
  // skipped.
  virtual std::vector<WatchEvent> RestoreWatchesAs(
      int64_t owner, const RestoredWatches& watches, Watcher watcher) = 0;

  // An open session, as a replica holds it.
  struct OpenSession {
    int32_t timeout_ms = 0;
    std::string password_digest;  // empty: it has none
  };
  // Returns session `id` as this peer's replica holds it, or nullopt if it
  // holds no such open session.
  virtual std::optional<OpenSession> FindSession(int64_t id) const = 0;
  // Returns the zxid of the last txn this peer's replica applied. Cheap;
  // takes no lock. Every watch event of a txn up to it is queued already: a
  // task given to RunAfterEvents after this call follows them.
  virtual Zxid LastAppliedZxid() const = 0;
  // True while a leader serves this peer: it leads, or follows or
  // observes a leader it is synchronized with (always, for a peer alone).
  // A peer without one answers reads from a replica that may have fallen
  // behind while the ensemble expires the sessions it holds, so clients
  // are better told to go elsewhere. Cheap; takes no lock.
  virtual bool ServesClients() const = 0;
  // Runs `task` on the host's event thread after every watch event queued
  // for a watcher so far (the events of every write applied so far), so
  // that what `task` sends follows them. Dropped while the host stops.
  // `task` must not block.
  virtual void RunAfterEvents(std::function<void()> task) = 0;
  // The identities `owner`'s watch events are filtered by: an event on a
  // node `owner` may not READ is not told (set at the session's start and
  // after each AddAuth; DropWatchesOf forgets them).
  virtual void SetWatchAuth(int64_t owner,
                            std::shared_ptr<const AuthInfo> auth) = 0;

  // Keeps session `id` alive (the host touches it to the leader) until
  // RemoveHostedSession(id).
  virtual void AddHostedSession(int64_t id) = 0;
  // Stops keeping session `id` alive; it expires after its timeout unless
  // closed. Removing a session not hosted does nothing.
  virtual void RemoveHostedSession(int64_t id) = 0;

  // Returns this peer's role and view of the ensemble.
  virtual PeerStatus GetPeerStatus() const = 0;
  // Returns this peer's health and counters (znodes, sessions, ...).
  virtual Health GetHealth() const = 0;
  // Returns the address the client service listens on, with the port it
  // bound (Options::listen may ask for port 0). Cheap; takes no lock.
  virtual std::string ListenAddress() const = 0;
};

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_CLIENT_HOST_H_
