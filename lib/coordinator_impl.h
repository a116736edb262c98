// Coordinator::Impl: wires the layers and owns the threads.
//
// Alone (no seeds naming other peers) the peer elects itself at start and
// its session exists when Start returns. In an ensemble (seeds), the loop
// thread also steps the zab core with the messages the PeerNetwork
// delivers, ticks it, forwards writes to the leader when it follows, and
// creates the session once a leader serves; writes wait (parked) until
// then, or fail with ConnectionLoss after the session timeout.
//
//  - application threads: read the tree under a shared lock; enqueue writes
//    to the inbox and wait (or return, for the async forms);
//  - the loop thread: prepares requests into txns, hands them to the log
//    writer, applies durable txns under the exclusive lock, queues watch
//    events and completions to the dispatcher before releasing that lock;
//  - the log writer thread: group commit into LevelDB;
//  - the dispatcher thread: runs watchers and callbacks, in order.
//
// Lock order: tree_mu_ -> WatchManager's mutex -> dispatcher's mutex.
// inbox_mu_ and auth_mu_ are leaves.

#ifndef SYNOD_COORDINATOR_IMPL_H_
#define SYNOD_COORDINATOR_IMPL_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "acl/acl.h"
#include "runtime/dispatcher.h"
#include "runtime/log_writer.h"
#include "server/checkpointer.h"
#include "server/ready_host.h"
#include "server/write_outcome.h"
#include "session/own_session.h"
#include "session/session_tracker.h"
#include "storage/data_dir_lock.h"
#include "storage/env.h"
#include "storage/store.h"
#include "synod/coordinator.h"
#include "transport/client_host.h"
#include "tree/data_tree.h"
#include "txn/preparer.h"
#include "txn/txn.pb.h"
#include "util/mutex.h"
#include "util/strings.h"
#include "watch/watch_manager.h"
#include "zab/core.h"

namespace synod {
namespace transport {
class PeerNetwork;
class GrpcServer;
}  // namespace transport

// Returns true if `options` make a multi-peer ensemble (seeds naming peers
// other than this one).
bool IsEnsemble(const Options& options);

inline std::chrono::milliseconds ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// Returns `t` in milliseconds of the steady clock (the session tracker's
// time).
inline int64_t SteadyMs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             t.time_since_epoch())
      .count();
}

// Store metadata (Store::PutMeta names) the Coordinator keeps.
// This peer's session id, to close it after a restart.
inline constexpr char kSelfSessionMeta[] = "self_session";
// "1" while this peer recovers from a damaged log (zab DurableState::
// recovering), "0" (or absent) otherwise.
inline constexpr char kRecoveringMeta[] = "recovering";

// The host of the client service (transport::ClientHost): the methods it
// overrides keep the guarantees stated there. Final, so that its own calls
// of them (Get -> GetAs, Submit -> SubmitAs) are direct.
class Coordinator::Impl final : public transport::ClientHost {
 public:
  // Done (ClientHost::Done) is called on the loop thread when a write
  // completes, in completion order. Must not block; async callers hand
  // their callback to the dispatcher.
  explicit Impl(Options options);
  ~Impl();

  // Opens storage, recovers the tree, starts the threads and the session.
  absl::Status Init();

  // The session id meaning "this Coordinator's own session", resolved when
  // the request is routed (the session may not exist yet in an ensemble).
  static constexpr int64_t kOwnSession = -1;

  // Queues `request` for the leader on behalf of this Coordinator's session.
  void Submit(txn::Request request, Done done);
  // Queues `request` on behalf of `session` holding `auth` (the client
  // service's sessions; kOwnSession for this Coordinator's).
  void SubmitAs(int64_t session, std::shared_ptr<const AuthInfo> auth,
                txn::Request request, Done done) override;
  // Submits and waits for the outcome.
  WriteOutcome SubmitAndWait(txn::Request request);

  // Reads (any thread).
  absl::StatusOr<Node> Get(std::string_view path, Watcher watcher);
  absl::StatusOr<std::optional<Stat>> Exists(std::string_view path,
                                             Watcher watcher);
  absl::StatusOr<std::vector<std::string>> GetChildren(std::string_view path,
                                                       Watcher watcher,
                                                       Stat* stat);
  absl::StatusOr<AclList> GetAcl(std::string_view path, Stat* stat);
  absl::Status AddWatch(std::string_view path, WatchMode mode, Watcher watcher);
  absl::Status RemoveWatches(std::string_view path, WatcherType type);
  absl::Status AddAuth(std::string_view scheme, std::string_view credentials);

  // Runs `task` on the dispatcher thread, behind everything queued so far.
  void Post(std::function<void()> task) { dispatcher_->Post(std::move(task)); }

  int64_t session_id() const { return session_id_; }
  // Options::listen with the bound port ("" when it listens nowhere).
  std::string ListenAddress() const override;
  Health GetHealth() const override;
  // Waits until this Coordinator has a session and a serving leader.
  absl::Status WaitConnected(absl::Duration timeout);

  // Sessions this peer keeps alive for remote clients (client service).
  void AddHostedSession(int64_t id) override;
  void RemoveHostedSession(int64_t id) override;

  // Reads and watches on behalf of `auth` (the client service). `owner`
  // owns the watches registered: the client service passes the stream's
  // session id; this Coordinator's own calls pass kLocalOwner.
  static constexpr int64_t kLocalOwner = WatchManager::kLocalOwner;
  // `auth` null: this Coordinator's own identities.
  absl::StatusOr<Node> GetAs(int64_t owner, const AuthInfo* auth,
                             std::string_view path, Watcher watcher) override;
  absl::StatusOr<std::vector<std::string>> GetChildrenAs(
      int64_t owner, const AuthInfo* auth, std::string_view path,
      Watcher watcher, Stat* stat) override;
  absl::StatusOr<std::optional<Stat>> ExistsAs(int64_t owner,
                                               std::string_view path,
                                               Watcher watcher) override;
  absl::StatusOr<AclList> GetAclAs(const AuthInfo& auth, std::string_view path,
                                   Stat* stat) override;
  // AddWatch for `owner`.
  absl::Status AddWatchAs(int64_t owner, std::string_view path, WatchMode mode,
                          Watcher watcher) override;
  // RemoveWatches of `owner`'s watches only: NoWatcher if `owner` has none
  // of `type` on `path` (whoever else has). The removed watchers get their
  // *WatchRemoved events on the dispatcher.
  absl::Status RemoveWatchesAs(int64_t owner, std::string_view path,
                               WatcherType type) override;
  // Drops every watch `owner` registered, telling no watcher (its stream
  // ended). Returns how many.
  int64_t DropWatchesOf(int64_t owner) override;

  // What `synod-cli status` shows.
  PeerStatus GetPeerStatus() const override;

  // Tests: the transport, for fault injection (null when alone).
  transport::PeerNetwork* network() { return network_.get(); }
  const Options& options() const { return options_; }

 private:
  friend class CoordinatorInternals;  // StartWithEnv sets storage_env_
  struct Pending {
    txn::Request request;
    int64_t session = 0;
    std::shared_ptr<const AuthInfo> auth;  // immutable; shared, not copied
    Done done;
    std::chrono::steady_clock::time_point parked_at{};  // ensemble: waiting
    // The destructor's close of our own session: the loop decides whether
    // there is one to close (OwnSession::CloseRequested).
    bool close_own = false;
  };
  // A request forwarded to the leader, completed when its txn is applied.
  struct Forwarded {
    uint64_t request = 0;
    Done done;
    std::chrono::steady_clock::time_point sent{};
  };
  // A request in the pipeline, completed in order once `zxid` is applied.
  struct InFlight {
    Zxid zxid = 0;
    bool has_txn = false;
    txn::Txn txn;
    absl::Status error;  // when !has_txn
    Done done;
  };

  void LoopMain();
  void Prepare(Pending* pending, int64_t now_ms);

  // ---- Ensemble (coordinator_ensemble.cc); loop thread unless noted.
  absl::Status InitEnsemble(zab::DurableState durable);
  void Forward(Pending* p);
  // The leader's side of a forwarded request: prepared and proposed; a
  // refused one becomes an ErrorTxn so its outcome reaches the origin in
  // log order.
  void PrepareForwarded(const std::string& data, int64_t now_ms);
  // Persists the Ready host's pending barrier (ReadyHost::barrier()):
  // everything before it is durable and no log write is in flight.
  void PersistBarrier(zab::Ready* rd);
  // Decodes a snapshot the leader sent into installing_ and makes it the
  // store's state.
  void StoreSnapshot(const zab::Snapshot& snapshot);
  // Makes installing_ the applied tree (a durable snapshot), telling
  // watchers what changed.
  void InstallTree(Zxid zxid);
  // Waits until the log writer has no write in flight (handing it what
  // waits first), adding the Ready host's work to `*work`.
  void WaitLogIdle(server::HostWork* work);
  // Waits for one round of the log writer (handing it what waits first);
  // false if there was nothing to wait for.
  bool WaitLogRound(server::HostWork* work);
  void SendMessages(std::vector<zab::Message>* messages);
  void OnLostLeader();
  // Ticks the core; touches or refreshes sessions; while not stopping, the
  // leader's cleanups and expiries and our own session's creation.
  void EnsembleTimers(std::chrono::steady_clock::time_point now, int64_t now_ms,
                      bool stopping);
  void UnparkAll(int64_t now_ms);
  void OnTouch(const std::vector<int64_t>& sessions,
               std::chrono::steady_clock::time_point now);
  // Publishes role and serving changes; session events for our session.
  void NoteCoreState();
  // Completes a forwarded request whose txn (or error) was applied.
  void CompleteForwarded(const txn::Txn& txn, WriteOutcome&& outcome);
  // Publishes own_'s id, connection and expiry to the atomics other
  // threads read, and queues its session events for the watcher.
  void NoteOwnSession();
  // The destructor's close request: completed at once when there is no
  // session to close, else routed with our session id.
  bool ResolveOwnClose(Pending* p);
  void OnSessionCreated(WriteOutcome&& outcome);
  // Leader: prepares the deletion of due containers and TTL nodes.
  void PrepareCleanups(int64_t now_ms);
  // Leader: prepares closing every session past its deadline.
  void ExpireSessions(std::chrono::steady_clock::time_point now, int64_t now_ms);
  // Leader: session deadlines follow created and closed sessions; every
  // peer: notices the expiry of its own session.
  void NoteSessionChange(const txn::Txn& txn);
  // Serves the client service (and the peer links, in an ensemble) on
  // Options::listen; on failure, stops them again.
  absl::Status StartServer();
  // Stops the server and links (client service, peer network). Idempotent.
  void StopEnsembleServices();
  class TreeSnapshots;
  class StallPings;
  // Applies the prepared txns the core has committed, in order.
  void ApplyCommitted() ABSL_LOCKS_EXCLUDED(tree_mu_);
  // Elects this peer alone and commits (replays) its log's unapplied tail.
  absl::Status EstablishAlone();
  // Takes the core's work through the Ready host and carries it out;
  // returns with no barrier pending (written synchronously, in order after
  // everything queued before it).
  void CollectReady(int64_t now_ms);
  // Carries out the Ready host's `work`: messages, entries to the log
  // writer, a barrier, commits to to_apply_, forwarded requests prepared.
  void Process(server::HostWork* work, int64_t now_ms);
  // Completes the in-flight errors and syncs waiting for zxids <= `zxid`.
  void CompleteInFlightThrough(Zxid zxid);
  // Runs `done` (if any) with `outcome`, keeping the counters.
  void Complete(Done& done, WriteOutcome&& outcome);
  // Tells the Ready host which entries the log writer made durable.
  void AdvanceDurable(Zxid durable, server::HostWork* work);
  // Hands the log writer what waits to be logged and, when a checkpoint is
  // due (or `checkpoint`), the applied state's changed records.
  void FlushToLog(bool checkpoint = false);
  // Hands the checkpointer the records that applying `txns` txns changed.
  void StageDirtyState(int64_t txns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tree_mu_);
  // Encodes the unsaved records into state_batch_ as of last_applied_.
  void EncodeCheckpoint();
  void RunTimers(std::chrono::steady_clock::time_point now);
  // Records the first failure (storage, or a tree that no longer matches
  // the log): from then on nothing commits or is written here, and every
  // waiting request fails (FailAll, each loop round).
  void Fail(absl::Status status);
  // Completes every queued, parked, forwarded and in-flight request with
  // `status`.
  void FailAll(const absl::Status& status);
  // Fails every in-flight request not known committed with `status_of`.
  void FailUncommitted(
      const std::function<absl::Status(const InFlight&)>& status_of);
  void OnDurable(Zxid durable, absl::Status status);
  std::shared_ptr<const AuthInfo> auth() const;
  // The identity of the system's own requests (cleanup, expiry): super.
  const std::shared_ptr<const AuthInfo> system_auth_ = [] {
    auto a = std::make_shared<AuthInfo>();
    a->super = true;
    return a;
  }();
  // SessionExpired once the ensemble expired our session.
  absl::Status CheckSessionUsable() const;
  // The node at `path` if it exists (NoNode) and `auth` may read it
  // (NoAuth); `auth` null: our own identities, fetched only if the node is
  // not world-readable.
  absl::StatusOr<const Znode*> FindReadable(std::string_view path,
                                            const AuthInfo* auth) const
      ABSL_SHARED_LOCKS_REQUIRED(tree_mu_);

  const Options options_;
  // Held from before the store opens until after it closes.
  std::unique_ptr<DataDirLock> dir_lock_;
  std::unique_ptr<Store> store_;
  Env* storage_env_ = nullptr;  // tests: the storage seam (null: POSIX)

  // The replica. Written only by the loop thread, under tree_mu_.
  mutable SharedMutex tree_mu_;
  DataTree tree_ ABSL_GUARDED_BY(tree_mu_);
  WatchManager watches_;

  // Inbox of the loop thread.
  mutable Mutex inbox_mu_;
  std::vector<Pending> inbox_ ABSL_GUARDED_BY(inbox_mu_);
  Zxid durable_zxid_ ABSL_GUARDED_BY(inbox_mu_) = 0;
  bool log_round_done_ ABSL_GUARDED_BY(inbox_mu_) = false;
  absl::Status storage_status_ ABSL_GUARDED_BY(inbox_mu_);
  bool stopping_ ABSL_GUARDED_BY(inbox_mu_) = false;
  bool closed_ ABSL_GUARDED_BY(inbox_mu_) = false;

  // Loop-thread state.
  std::unique_ptr<Preparer> preparer_;
  std::unique_ptr<zab::Core> core_;
  Zxid last_assigned_ = 0;  // the last zxid given to a prepared txn
  Zxid committed_ = 0;      // the core's commit point
  std::deque<InFlight> in_flight_;
  std::vector<LogEntry> to_log_;
  StateBatch state_batch_;
  // When the applied state is checkpointed to the store (idle, at
  // shutdown, or after enough records or txns), which records, and how far
  // the log is trimmed (server/checkpointer.h).
  std::unique_ptr<server::Checkpointer> checkpointer_;
  bool log_busy_ = false;
  absl::Status failed_;            // storage failure: nothing more commits
  ApplyOutput apply_out_;
  // The leader's session deadlines (steady clock, in ms: SteadyMs).
  SessionTracker sessions_{absl::ToInt64Milliseconds(options_.tick)};
  std::chrono::steady_clock::time_point next_cleanup_;

  // This Coordinator's session.
  std::atomic<int64_t> session_id_{0};
  mutable Mutex auth_mu_;
  std::shared_ptr<const AuthInfo> auth_ ABSL_GUARDED_BY(auth_mu_);
  std::atomic<bool> auth_simple_{true};  // no identities, not super

  // Counters.
  std::atomic<int64_t> reads_{0};
  std::atomic<int64_t> writes_{0};
  std::atomic<int64_t> write_errors_{0};
  std::atomic<int64_t> pending_writes_{0};
  std::atomic<int64_t> log_syncs_{0};
  std::atomic<int64_t> snapshots_installed_{0};
  std::atomic<int64_t> txns_logged_{0};
  std::atomic<Zxid> last_applied_{0};
  std::atomic<int64_t> epoch_published_{0};
  std::atomic<zab::PeerState> role_{zab::PeerState::kLeading};

  // ---- Ensemble state.
  bool ensemble_ = false;           // seeds name other peers
  zab::PeerId self_id_ = 1;
  std::vector<std::string> seeds_;  // sorted
  std::string ensemble_id_;
  std::unique_ptr<TreeSnapshots> snapshots_;
  std::unique_ptr<transport::PeerNetwork> network_;
  // The gRPC server at Options::listen: the client service and the peer
  // links (null: listening nowhere).
  std::unique_ptr<transport::GrpcServer> server_;
  // Inbox additions (under inbox_mu_).
  std::vector<zab::Message> peer_inbox_ ABSL_GUARDED_BY(inbox_mu_);
  std::vector<int64_t> touched_ ABSL_GUARDED_BY(inbox_mu_);
  absl::flat_hash_set<int64_t> hosted_sessions_ ABSL_GUARDED_BY(inbox_mu_);
  // Loop-thread state.
  std::deque<Pending> parked_;
  std::deque<Forwarded> forwarded_;
  uint64_t next_request_ = 1;
  std::deque<zab::Entry> to_apply_;  // committed, not yet applied
  // The core's host contract (persistence order, early sends, Advance).
  std::unique_ptr<server::ReadyHost> ready_host_;
  // A leader's snapshot made durable, applied once the barrier is done.
  std::unique_ptr<DataTree> installing_;
  std::chrono::steady_clock::time_point next_tick_{};
  int64_t serving_epoch_ = 0;   // the epoch this peer last led, serving
  // Serving leader, as of NoteCoreState (alone: always). Only the leader
  // keeps session deadlines.
  bool leading_ = false;
  int64_t previous_self_ = 0;   // our session of an earlier run, to close
  // This Coordinator's own session (loop thread; before the loop starts
  // and after it ends, the thread that starts or stops it). Published to
  // session_id_, connected_ and expired_ by NoteOwnSession.
  OwnSession own_;
  std::atomic<bool> connected_{false};
  // The port the client service listens on (0: none yet, or no listen).
  std::atomic<int> bound_port_{0};

  // Recovering from a damaged log (no vote until a leader syncs us).
  std::atomic<bool> recovering_{false};
  std::atomic<bool> expired_{false};
  std::atomic<uint64_t> leader_id_{0};

  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<LogWriter> log_writer_;
  std::thread loop_;
};

}  // namespace synod

#endif  // SYNOD_COORDINATOR_IMPL_H_
