// File: synod/coordinator.h
//
// The Coordinator: one peer of a synod ensemble, living inside the
// application's process. It holds a replica of the znode tree and a session
// on the ensemble. Reads are served from the local replica without leaving
// the process; writes are linearizable and durable before they return.
//
// A Coordinator is safe for concurrent use from many threads without any
// external synchronization.
//
// Sessions: if the ensemble expires the session (the peer was cut off from
// the leader past the session timeout), its ephemerals are gone and the
// session watcher hears Expired; the Coordinator then opens a new session
// by itself (same replica, new id) and reports Connected. Writes made
// before the expiry was noticed fail SessionExpired; later ones wait for
// the new session. Reads and registered watches go on throughout.
//
// Example:
//
//   synod::Options options;
//   options.data_dir = "/tmp/synod-demo";
//   auto c = synod::Coordinator::Start(options);
//   if (!c.ok()) return c.status();
//   auto path = (*c)->Create("/workers/w-", "host:1234",
//                            synod::CreateMode::kEphemeralSequential);
//   auto kids = (*c)->GetChildren("/workers", [](const synod::WatchEvent& e) {
//     /* membership changed */
//   });

#ifndef SYNOD_COORDINATOR_H_
#define SYNOD_COORDINATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "synod/options.h"
#include "synod/types.h"
#include "synod/watch.h"

namespace synod {

// Completion of a non-blocking call. Runs on the dispatcher thread, in the
// order the operations took effect, interleaved in that order with watch
// events.
template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;
using StatusCallback = std::function<void(absl::Status)>;

// Extra arguments of Create. `acl` empty means OpenAcl(). `ttl_ms` is
// required for (and only allowed with) the TTL modes.
struct CreateOptions {
  AclList acl;
  int64_t ttl_ms = 0;
};

// A member of the ensemble's configuration.
struct EnsembleMember {
  uint64_t id = 0;
  std::string address;  // "host:port" (a host name is resolved each connect)
  // As the leader sees it: "serving", "catching-up" (registered, being
  // synchronized) or "unreachable 12s"; "leading" for the leader itself.
  // Empty when the peer that reports it does not lead.
  std::string state;
  bool voter = false;
  // As the leader sees it: log entries the member has not acknowledged (a
  // voter) or been sent (an observer) yet; -1 where unknown (not led by the
  // reporting peer, or not registered with it).
  int64_t lag_txns = -1;
};

// A latency distribution, as a Prometheus histogram holds it: how many
// observations were at most each upper bound (cumulative, bounds rising; the
// last bound is +infinity, so its count is `count`), their sum and number.
struct LatencyHistogram {
  std::vector<double> upper_bounds_seconds;
  std::vector<int64_t> cumulative_counts;
  double sum_seconds = 0;
  int64_t count = 0;
};

// A snapshot of a Coordinator's state and counters, for tools and metrics.

struct Health {
  std::string role;          // "leader", "follower", "observer", "looking"
  int64_t epoch = 0;         // current epoch
  Zxid last_zxid = 0;        // last applied zxid
  int64_t session_id = 0;    // this Coordinator's session
  int64_t znode_count = 0;
  int64_t ephemeral_count = 0;
  int64_t watch_count = 0;   // registered one-shot and persistent watches
  int64_t watched_paths = 0;      // the paths they watch
  int64_t watching_sessions = 0;  // remote clients' sessions holding any
  int64_t session_count = 0;
  int64_t reads = 0;         // read calls served
  int64_t writes = 0;        // write requests accepted
  int64_t write_errors = 0;  // write requests that failed
  int64_t pending_writes = 0;  // accepted and not yet completed
  int64_t log_syncs = 0;     // durable log writes (each may carry many txns)
  int64_t txns_logged = 0;   // transactions made durable
  int64_t events_delivered = 0;  // watch events and callbacks run
  // Quotas, counted by this peer while it leads: writes that went past a
  // soft limit (allowed), and writes refused at a hard limit.
  int64_t quota_soft_exceeded = 0;
  int64_t quota_hard_exceeded = 0;
  // Ensemble: this peer's id, the leader's id (0 while none serves), and
  // whether this Coordinator has a session with a serving leader.
  uint64_t peer_id = 0;
  uint64_t leader_id = 0;
  bool connected = false;
  int64_t snapshots_installed = 0;  // times a leader synchronized us by SNAP
  int64_t data_bytes = 0;  // the bytes of data of every znode
  int64_t snapshots_sent = 0;  // SNAPs this peer sent to learners as leader
  int64_t elections = 0;   // times this peer went from looking to a role
  // From a write's submission to its completion, for writes that succeeded
  // on this Coordinator (its own and remote clients' through this peer).
  LatencyHistogram write_latency;
  // Each synced append of the txn log (one may carry many txns).
  LatencyHistogram fsync_latency;
  // Calls waiting on the dispatcher (watch events, async callbacks).
  int64_t dispatcher_queue = 0;
  // Sessions of remote clients this peer hosts (synod-cli, client service).
  int64_t remote_sessions = 0;
  // Where /metrics and /health are served ("host:port", the port bound when
  // Options::metrics_listen asked for port 0); empty when they are not.
  std::string metrics_listen;
  // Where ZooKeeper's client protocol is served ("host:port", the port
  // bound when Options::zk_listen asked for port 0); empty when it is not.
  std::string zk_listen;
  // This peer's txn log was found damaged at start: until a leader elected
  // without it has synchronized it, it observes (no vote, ack or lead).
  bool recovering = false;
  // The address the peer listens on ("host:port", the port bound when
  // Options::listen asked for port 0); empty when it listens nowhere.
  std::string listen;
  // Ensemble: the configuration as this peer's history has it (the last
  // change it logged, committed or not): the voters, the observers, and
  // the zxid of the change that set it (0: the founding configuration).
  std::vector<EnsembleMember> voters;
  std::vector<EnsembleMember> observers;
  Zxid config_version = 0;
};

// The coordination API: a ZooKeeper-style znode tree with linearizable
// writes and local reads. Coordinator::Start gives the embedded one (this
// process is a peer of the ensemble); the interface is abstract so that
// code written against it (the recipes, an application's own) works with
// any implementation. Every method is thread-safe.
class Coordinator {
 public:
  // Starts a Coordinator: opens (or creates) `options.data_dir`, recovers the
  // tree, and establishes a session. Alone, the session exists when Start
  // returns; in an ensemble (Options::seeds) Start returns once the peer is
  // up, and the session follows when a leader serves (see WaitConnected).
  // Returns InvalidArgument for bad options, FailedPrecondition for a
  // data_dir that is not synod's or is in use, DataLoss for a corrupted one
  // (in neither case is anything written).
  static absl::StatusOr<std::unique_ptr<Coordinator>> Start(Options options);

  // Closes the session (its ephemerals are deleted), delivers kClosed to the
  // session watcher, runs every queued watcher and callback, stops every
  // thread and waits for them. Operations submitted after shutdown began
  // complete with Error::kClosing.
  // REQUIRES: not called from a watcher or callback of this Coordinator.
  virtual ~Coordinator();

  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // ---- Writes. Each blocks until the write is durable and applied locally,
  // ---- or failed. FIFO per Coordinator: writes apply in call order.

  // Creates `path`; returns the created path (with the sequence number for
  // sequential modes). NodeExists, NoNode (parent missing),
  // NoChildrenForEphemerals, NoAuth, InvalidAcl, BadArguments.
  absl::StatusOr<std::string> Create(
      std::string_view path, std::string_view data,
      CreateMode mode = CreateMode::kPersistent) {
    return Create(path, data, mode, CreateOptions{});
  }
  virtual absl::StatusOr<std::string> Create(
      std::string_view path, std::string_view data, CreateMode mode,
      const CreateOptions& create_options) = 0;
  // As Create, and also returns the new node's Stat.
  virtual absl::StatusOr<OpResult> CreateWithStat(
      std::string_view path, std::string_view data, CreateMode mode,
      const CreateOptions& create_options) = 0;

  // Replaces the data of `path` if its version is `version` (-1: any);
  // returns the new Stat. NoNode, BadVersion, NoAuth, BadArguments.
  virtual absl::StatusOr<Stat> Set(std::string_view path, std::string_view data,
                                   int32_t version = -1) = 0;

  // Deletes `path` if its version is `version` (-1: any). NoNode,
  // BadVersion, NotEmpty, NoAuth, BadArguments.
  virtual absl::Status Delete(std::string_view path, int32_t version = -1) = 0;

  // Applies all of `ops` atomically or none of them. On success returns one
  // OpResult per op. On failure returns the error of the first op that
  // failed, with its index available from FailedOpIndex(); by ZooKeeper's
  // rule the ops before it count as Ok and those after it as
  // RuntimeInconsistency, and nothing changed.
  virtual absl::StatusOr<std::vector<OpResult>> Multi(std::vector<Op> ops) = 0;

  // Replaces the ACL of `path` if its aversion is `aversion` (-1: any).
  virtual absl::StatusOr<Stat> SetAcl(std::string_view path, const AclList& acl,
                                      int32_t aversion = -1) = 0;

  // Returns once every write committed before the call is applied locally,
  // so the next local read sees it. `path` is validated, as in ZooKeeper,
  // but need not exist.
  virtual absl::Status Sync(std::string_view path) = 0;

  // ---- Reads, served from the local replica. A watcher, when given, is
  // ---- registered atomically with the read and fires at most once.

  // Returns the data and Stat of `path`. Sets a data watch on success.
  virtual absl::StatusOr<Node> Get(std::string_view path,
                                   Watcher watcher = nullptr) = 0;

  // Returns the Stat of `path`, or nullopt if it does not exist. Sets a data
  // watch either way: on a missing node it fires with kCreated.
  virtual absl::StatusOr<std::optional<Stat>> Exists(
      std::string_view path, Watcher watcher = nullptr) = 0;

  // Returns the names of the children of `path`, sorted. Sets a child watch
  // on success.
  absl::StatusOr<std::vector<std::string>> GetChildren(
      std::string_view path, Watcher watcher = nullptr) {
    return GetChildren(path, std::move(watcher), nullptr);
  }
  // As GetChildren, also returning the Stat of `path` in `stat` (if not
  // null).
  virtual absl::StatusOr<std::vector<std::string>> GetChildren(
      std::string_view path, Watcher watcher, Stat* stat) = 0;

  // Returns the ACL of `path` and its Stat in `stat` (if not null).
  virtual absl::StatusOr<AclList> GetAcl(std::string_view path,
                                         Stat* stat = nullptr) = 0;

  // Returns, sorted, the paths of this Coordinator's session's ephemeral
  // nodes that begin with `prefix` (a string prefix, as ZooKeeper 3.6+'s
  // getEphemerals: "/app" also matches "/apple"; "/" gives them all).
  // BadArguments for an invalid `prefix`.
  virtual absl::StatusOr<std::vector<std::string>> GetEphemerals(
      std::string_view prefix = "/") = 0;

  // Reads every op of `ops` at one point of the replica's history (no write
  // applies between them), as ZooKeeper 3.6+'s multiRead: one ReadResult
  // per op, in order, each with its own outcome (one op's NoNode does not
  // fail the others). No watch is set. The call itself fails only with
  // BadArguments: for more than Options::max_multi_ops ops, or for an
  // invalid path in any op (at its index, FailedOpIndex), as ZooKeeper's
  // client refuses such a multiRead before sending it.
  virtual absl::StatusOr<std::vector<ReadResult>> MultiRead(
      const std::vector<ReadOp>& ops) = 0;

  // Returns the number of nodes below `path`, at any depth, itself not
  // counted (ZooKeeper 3.6+'s getAllChildrenNumber; for "/" that includes
  // /synod and its children, as ZooKeeper's includes /zookeeper's).
  // NoNode if `path` does not exist; it needs READ on `path`.
  virtual absl::StatusOr<int32_t> GetAllChildrenNumber(
      std::string_view path) = 0;

  // ---- Watches that stay until removed.

  // Registers `watcher` on `path` in `mode`. The path need not exist.
  virtual absl::Status AddWatch(std::string_view path, WatchMode mode,
                                Watcher watcher) = 0;

  // Removes the watches of `type` on `path`, each of which is told with a
  // *WatchRemoved event. NoWatcher if there were none. As in ZooKeeper,
  // the removal needs the session connected (ConnectionLoss otherwise,
  // nothing removed) unless `local` is true: then it removes them whatever
  // the session's state (what a component shutting down wants).
  virtual absl::Status RemoveWatches(std::string_view path, WatcherType type,
                                     bool local = false) = 0;

  // As RemoveWatches, but only the registrations made with `watcher` (or a
  // copy of it): other watchers on `path` stay. NoWatcher if it has none
  // of `type` there.
  virtual absl::Status RemoveWatch(std::string_view path,
                                   const WatchHandle& watcher,
                                   WatcherType type, bool local = false) = 0;

  // ---- Authentication of this Coordinator's session.

  // Adds an identity: scheme "digest" with "user:password". AuthFailed for an
  // unknown scheme or malformed credentials, and for "x509" (that identity
  // comes from Options::tls's certificate, never from a claim).
  virtual absl::Status AddAuth(std::string_view scheme,
                               std::string_view credentials) = 0;

  // Returns the identities of this Coordinator's session, as ZooKeeper
  // 3.7+'s whoAmI: "ip" (127.0.0.1) first, then each identity in the order
  // it was added ("x509" from Options::tls at start, "digest" from
  // AddAuth), with "super" before the super digest's.
  virtual std::vector<ClientInfo> WhoAmI() const = 0;

  // ---- Quotas (ZooKeeper's setquota, listquota and delquota): limits on
  // ---- a subtree, kept as nodes under /synod/quota, replicated and
  // ---- durable like any node. Checked by the leader on every create and
  // ---- set, against every write ordered before (docs/quotas.md).

  // Sets the limits of the quota on the subtree at `path`: each field of
  // `limits` that is not -1 replaces the quota's (a new quota starts with
  // none), as zkCli's setquota. The node must exist (NoNode) and the caller
  // may ADMIN it (NoAuth). BadArguments for "/" or a path under /synod, a
  // limit out of range or none given, and for a path below or above one
  // that already has a quota (one quota per path from the root, named in
  // the message). Limits below the subtree's current size are allowed:
  // they hold the subtree where it is.
  virtual absl::Status SetQuota(std::string_view path,
                                const QuotaLimits& limits) = 0;

  // Returns the quota on `path` and the subtree's current size, from the
  // local replica. NoNode if `path` has no quota of its own.
  virtual absl::StatusOr<Quota> GetQuota(std::string_view path) = 0;

  // Clears the `fields` (quota_fields) of the quota on `path`; with every
  // field (the default) removes the quota. NoNode if there is none. The
  // caller may ADMIN the node, when it still exists (NoAuth).
  virtual absl::Status DeleteQuota(std::string_view path,
                                   uint32_t fields = quota_fields::kAll) = 0;

  // ---- Session listeners: for code that joins after Start (the recipes,
  // ---- libraries), the events Options::session_watcher sees.

  // Adds `listener` for this Coordinator's session events (kSession with
  // Connected, Disconnected, Expired or Closed), from the next one on, on
  // the dispatcher thread, after Options::session_watcher and in the order
  // listeners were added. Returns a handle for RemoveSessionListener. The
  // current state is not reported: ask WaitConnected or GetHealth.
  virtual int64_t AddSessionListener(Watcher listener) = 0;

  // Removes the listener `handle` (unknown handles are ignored): events
  // reported after the call do not reach it. One being delivered at that
  // moment on the dispatcher may still run.
  virtual void RemoveSessionListener(int64_t handle) = 0;

  // ---- Non-blocking forms. `done` runs on the dispatcher thread.

  virtual void CreateAsync(std::string_view path, std::string_view data,
                           CreateMode mode, const CreateOptions& create_options,
                           Callback<std::string> done) = 0;
  virtual void SetAsync(std::string_view path, std::string_view data,
                        int32_t version, Callback<Stat> done) = 0;
  virtual void DeleteAsync(std::string_view path, int32_t version,
                           StatusCallback done) = 0;
  virtual void MultiAsync(std::vector<Op> ops,
                          Callback<std::vector<OpResult>> done) = 0;
  virtual void SetAclAsync(std::string_view path, const AclList& acl,
                           int32_t aversion, Callback<Stat> done) = 0;
  virtual void SyncAsync(std::string_view path, StatusCallback done) = 0;
  virtual void GetAsync(std::string_view path, Watcher watcher,
                        Callback<Node> done) = 0;
  virtual void ExistsAsync(std::string_view path, Watcher watcher,
                           Callback<std::optional<Stat>> done) = 0;
  virtual void GetChildrenAsync(std::string_view path, Watcher watcher,
                                Callback<std::vector<std::string>> done) = 0;

  // ---- Introspection.

  // Returns this Coordinator's session id: 0 while it has none (before the
  // first is created, and from an expiry until the new one is). Each new
  // session has a new id.
  virtual int64_t session_id() const = 0;

  // True while the ensemble certainly still holds this Coordinator's
  // session: a leader confirmed it recently enough that no leader can have
  // expired it yet, allowing for a leader change and clock rates (the
  // session lease, docs/sessions.md). It lapses before the ensemble may
  // expire the session: when this peer has been cut off from the leaders,
  // or the process paused (stopped, swapped out, a long GC of a host
  // language), for most of the session timeout. So a check of it right
  // before acting on what the session holds (a lock, a leadership, an
  // ephemeral registration) fails before another process may act in its
  // place. False without a session; the session watcher hears
  // Disconnected when it lapses. Cheap (an atomic load and a clock read);
  // any thread, any time.
  virtual bool SessionLeaseValid() const = 0;

  // Waits until this Coordinator has a session with a serving leader.
  // Returns OK at once when it has; ConnectionLoss if `timeout` passes
  // first. After an expiry it waits for the new session.
  virtual absl::Status WaitConnected(absl::Duration timeout) = 0;

  // Returns role, epoch, last zxid, sizes and counters. Cheap; any thread.
  virtual Health GetHealth() const = 0;

  // ---- Membership (docs/membership.md). The autopilot keeps the voters at
  // Options::voters by itself; these are for operators and for leaving on
  // purpose. Alone (no ensemble): ReconfigDisabled.

  // Returns the members, voters first, each with the leader's view of it
  // (EnsembleMember::state), asked of the leader when this peer does not
  // lead. ConnectionLoss if no leader serves or it cannot be reached.
  virtual absl::StatusOr<std::vector<EnsembleMember>> Members() = 0;

  // Makes the observer that listens on `address` a voter; returns once the
  // change committed. BadArguments if no observer listens there (a new
  // peer joins as an observer first: start it with the members as its
  // seeds), NewConfigNoQuorum if it is not caught up and live or the live
  // peers could not commit the change, ReconfigInProgress while another
  // change is pending, ConnectionLoss if the outcome is unknown.
  virtual absl::Status AddVoter(std::string_view address) = 0;

  // Removes the member `who` (its address, or its decimal id) from the
  // ensemble; returns once the change committed. Errors as AddVoter's;
  // NewConfigNoQuorum also if the voters left could not form a quorum.
  // A removed peer's data directory can never join again.
  virtual absl::Status RemoveMember(std::string_view who) = 0;

  // Removes this peer from the ensemble at once (RemoveMember of itself),
  // instead of waiting for the autopilot to find it dead. Once it returns
  // OK this Coordinator takes no more part: its writes fail and its reads
  // no longer advance; destroy it. Its data directory can never join again.
  virtual absl::Status Leave() = 0;

 protected:
  Coordinator() = default;
};

}  // namespace synod

#endif  // SYNOD_COORDINATOR_H_
