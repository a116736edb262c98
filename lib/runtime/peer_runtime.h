// PeerRuntime: the threaded runtime around the server
// (server/server.h). It owns every thread and the resources they use:
//
//  - application threads: read the replica under its shared lock; enqueue
//    writes to the inbox and wait (or return, for the async forms);
//  - the loop thread: runs the server's rounds with what arrived in the
//    inbox (writes, peer messages, touches, the end of a log write);
//  - the log writer thread: group commit into the store (the server's
//    Outbox::WriteLog);
//  - the dispatcher thread: runs watchers and callbacks, in order (the
//    server's Outbox::Post);
//  - gRPC's threads: the client service and the peer links (lib/transport),
//    which reach the loop only through the inbox.
//
// Lock order: the replica's mutex -> WatchManager's mutex -> dispatcher's
// mutex. inbox_mu_ and auth_mu_ are leaves.

#ifndef SYNOD_RUNTIME_PEER_RUNTIME_H_
#define SYNOD_RUNTIME_PEER_RUNTIME_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "acl/acl.h"
#include "runtime/dispatcher.h"
#include "runtime/status_client.h"
#include "runtime/log_writer.h"
#include "runtime/metrics_server.h"
#include "server/server.h"
#include "server/write_outcome.h"
#include "storage/data_dir_lock.h"
#include "storage/env.h"
#include "storage/store.h"
#include "synod/coordinator.h"
#include "transport/client_host.h"
#include "transport/tls.h"
#include "txn/txn.pb.h"
#include "util/mutex.h"
#include "watch/watch_manager.h"
#include "zab/core.h"
#include "zkserver/zk_server.h"

namespace synod {
namespace transport {
class PeerNetwork;
class GrpcServer;
}  // namespace transport

// Returns true if `options` make a multi-peer ensemble (seeds naming peers
// other than this one).
bool IsEnsemble(const Options& options);

// The host of the client service (transport::ClientHost): the methods it
// overrides keep the guarantees stated there. Final, so that its own calls
// of them (Get -> GetAs, Submit -> SubmitAs) are direct.
class PeerRuntime final : public transport::ClientHost {
 public:
  explicit PeerRuntime(Options options);
  ~PeerRuntime() override;

  // Opens storage, recovers the tree, starts the threads and the session.
  absl::Status Init();

  // The session id meaning "this Coordinator's own session", resolved when
  // the request is routed (the session may not exist yet in an ensemble).
  static constexpr int64_t kOwnSession = server::Server::kOwnSession;

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
  absl::StatusOr<Quota> GetQuota(std::string_view path) override;
  absl::StatusOr<std::vector<std::string>> GetEphemerals(
      std::string_view prefix);
  absl::StatusOr<int32_t> GetAllChildrenNumber(std::string_view path);
  absl::StatusOr<std::pair<Zxid, std::string>> SnapshotAs(
      const AuthInfo& auth) override;
  // GetEphemerals of any session (the client service's).
  absl::StatusOr<std::vector<std::string>> GetEphemeralsAs(
      int64_t session, std::string_view prefix) override;
  // GetAllChildrenNumber with `auth`'s identities.
  absl::StatusOr<int32_t> GetAllChildrenNumberAs(
      const AuthInfo& auth, std::string_view path) override;
  absl::Status AddWatch(std::string_view path, WatchMode mode, Watcher watcher);
  // Coordinator::RemoveWatches (`handle` 0) and RemoveWatch (the
  // WatchHandle's id) of the local Coordinator's watches.
  absl::Status RemoveWatches(std::string_view path, WatcherType type,
                             int64_t handle, bool local);
  absl::StatusOr<std::vector<ReadResult>> MultiRead(
      const std::vector<ReadOp>& ops);
  std::vector<ClientInfo> WhoAmI() const;
  absl::Status AddAuth(std::string_view scheme, std::string_view credentials);

  // Session listeners (Coordinator::AddSessionListener): called on the
  // dispatcher after Options::session_watcher, in the order added.
  int64_t AddSessionListener(Watcher listener);
  void RemoveSessionListener(int64_t handle);

  // Runs `task` on the dispatcher thread, behind everything queued so far.
  void Post(std::function<void()> task) { dispatcher_->Post(std::move(task)); }

  int64_t session_id() const { return published_.session_id.load(); }
  bool SessionLeaseValid() const;
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
                               WatcherType type, bool local) override;
  // RemoveWatchesAs, only `handle`'s registrations unless it is 0.
  absl::Status RemoveWatchesOf(int64_t owner, std::string_view path,
                               WatcherType type, int64_t handle, bool local);
  // Drops every watch `owner` registered, telling no watcher (its stream
  // ended). Returns how many.
  int64_t DropWatchesOf(int64_t owner) override;
  void SetWatchAuth(int64_t owner,
                    std::shared_ptr<const AuthInfo> auth) override;
  bool HasWatchesAs(int64_t owner, std::string_view path,
                    WatcherType type) override;
  std::vector<WatchEvent> RestoreWatchesAs(int64_t owner,
                                           const RestoredWatches& watches,
                                           Watcher watcher) override;
  std::optional<OpenSession> FindSession(int64_t id) const override;
  Zxid LastAppliedZxid() const override {
    return published_.last_applied.load();
  }
  bool ServesClients() const override {
    // leader_id is published only while a leader serves us.
    return !ensemble_ || published_.leader_id.load() != 0;
  }
  void RunAfterEvents(std::function<void()> task) override {
    Post(std::move(task));
  }

  // What `synod-cli status` shows.
  PeerStatus GetPeerStatus() const override;

  // Coordinator::Members: this peer's view if it leads, else the leader's.
  absl::StatusOr<std::vector<EnsembleMember>> Members() const;
  // Submits a membership change (txn::ReconfigRequest) and waits for it:
  // ReconfigDisabled alone, BadArguments for a malformed one.
  absl::Status Reconfig(txn::Request request);
  // Coordinator::Leave: removes this peer from the configuration and records
  // that it left, so that neither this run nor a later one of its data
  // directory ever asks to be admitted again. It stops asking before the
  // removal is proposed (else a removal could commit and be followed by
  // its own admission), and asks again if the removal failed.
  absl::Status Leave();

  // Tests: the transport, for fault injection (null when alone).
  transport::PeerNetwork* network() { return network_.get(); }
  const Options& options() const { return options_; }

 private:
  // Tells the loop's next round Inputs::joining.
  void SetJoining(bool joining);
  friend class CoordinatorInternals;  // StartWithEnv sets storage_env_
  class SystemClock;
  class RuntimeOutbox;
  class StallPings;

  // Alone: the seed check, the server, establishment and our session, on
  // the calling thread; then the loop thread.
  absl::Status InitAlone();
  // In an ensemble: the identity, the peer network, the server; the loop
  // thread establishes everything else.
  absl::Status InitEnsemble();
  // Who this data directory is in which ensemble (docs/membership.md).
  struct Identity {
    std::string ensemble_id;
    zab::PeerId self = 0;
    std::vector<zab::PeerId> founding_voters;  // 1..n
    // A joining peer that holds nothing yet: the configuration a seed
    // reported (server::ServerConfig::reported).
    std::optional<zab::Config> reported;
  };
  // Reads the identity from the store, or (first start) founds it from the
  // seeds or asks them which ensemble to join, and stores it.
  absl::StatusOr<Identity> LoadOrCreateIdentity();
  // How long a joining peer asks the seeds before Start fails.
  absl::Duration JoinTimeout() const;
  absl::Status EnsembleMismatch(const EnsembleReport& report,
                                const std::string& ours) const;
  // The members' addresses, for the peer network.
  static std::map<zab::PeerId, std::string> Addresses(const zab::Config& config);
  // Creates and recovers the server.
  absl::Status StartServerCore(server::ServerConfig config);
  // Runs the server's rounds with what arrives in the inbox, until
  // `until` (if any) holds after a round, or else until the server is
  // drained at shutdown; then fails what is left. `max_rounds` bounds a
  // run with `until` (0: none).
  absl::Status RunRounds(const std::function<bool()>& until, int max_rounds);
  // Serves the client service (and the peer links, in an ensemble) on
  // Options::listen; on failure, stops them again.
  absl::Status StartListening();
  // Stops the server and links (client service, peer network). Idempotent.
  void StopEnsembleServices();
  std::shared_ptr<const AuthInfo> auth() const;
  // The node at `path` if it exists (NoNode) and `auth` may read it
  // (NoAuth); `auth` null: our own identities, fetched only if the node is
  // not world-readable.
  absl::StatusOr<const Znode*> FindReadable(std::string_view path,
                                            const AuthInfo* auth) const
      ABSL_SHARED_LOCKS_REQUIRED(replica_.mu);
  // Seeds the empty store from Options::restore_from, if given (see
  // there); `joining` peers are refused one.
  absl::Status RestoreIfAsked(bool joining);
  // GetAllChildrenNumber(As): `auth` null is our own identities.
  absl::StatusOr<int32_t> CountDescendants(const AuthInfo* auth,
                                           std::string_view path);

  // `options` with a session watcher that also calls the listeners of
  // `runtime` (the server reports to Options::session_watcher alone).
  static Options WithSessionListeners(Options options, PeerRuntime* runtime);
  // Calls every session listener with `event` (dispatcher thread), never
  // under listeners_mu_.
  void NotifySessionListeners(const WatchEvent& event);

  mutable Mutex listeners_mu_;
  std::map<int64_t, std::shared_ptr<const Watcher>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
  int64_t next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 1;

  const Options options_;
  const bool ensemble_;
  // The identity of the system's own requests (the shutdown's close).
  const std::shared_ptr<const AuthInfo> system_auth_;
  // Held from before the store opens until after it closes.
  std::unique_ptr<DataDirLock> dir_lock_;
  std::unique_ptr<Store> store_;
  Env* storage_env_ = nullptr;  // tests: the storage seam (null: POSIX)

  server::Replica replica_;
  server::Published published_;
  std::unique_ptr<SystemClock> clock_;
  std::unique_ptr<RuntimeOutbox> outbox_;
  // Driven only by the thread running rounds (the loop thread; before it
  // starts and after it ends, the thread that starts or stops it).
  std::unique_ptr<server::Server> server_;

  // Inbox of the loop thread.
  mutable Mutex inbox_mu_;
  std::vector<server::Pending> inbox_ ABSL_GUARDED_BY(inbox_mu_);
  std::vector<zab::Message> peer_inbox_ ABSL_GUARDED_BY(inbox_mu_);
  std::vector<server::TouchIn> touches_ ABSL_GUARDED_BY(inbox_mu_);
  std::vector<server::TouchAckIn> touch_acks_ ABSL_GUARDED_BY(inbox_mu_);
  std::vector<std::pair<int64_t, bool>> hosted_ ABSL_GUARDED_BY(inbox_mu_);
  // The log writer's round ended: through which zxid it made the log
  // durable, and its first error.
  bool log_round_done_ ABSL_GUARDED_BY(inbox_mu_) = false;
  Zxid round_durable_ ABSL_GUARDED_BY(inbox_mu_) = 0;
  absl::Status round_status_ ABSL_GUARDED_BY(inbox_mu_);
  bool stopping_ ABSL_GUARDED_BY(inbox_mu_) = false;
  // Leave, for the loop: Inputs::joining.
  std::optional<bool> joining_ ABSL_GUARDED_BY(inbox_mu_);

  // This Coordinator's identities.
  // Every channel's and the server's (Options::tls), made by Init.
  std::shared_ptr<const transport::TransportCredentials> credentials_ =
      transport::TransportCredentials::Plaintext();
  mutable Mutex auth_mu_;
  std::shared_ptr<const AuthInfo> auth_ ABSL_GUARDED_BY(auth_mu_);
  std::atomic<int64_t> reads_{0};
  // Serves /metrics and /health (Options::metrics_listen), if asked. Only
  // Init and the destructor touch it; other threads read the address.
  std::unique_ptr<MetricsServer> metrics_;
  mutable Mutex metrics_mu_;
  std::string metrics_address_ ABSL_GUARDED_BY(metrics_mu_);
  // Serves ZooKeeper's client protocol (Options::zk_listen), if asked. Only
  // Init and the destructor touch it; its address is kept with the
  // metrics address.
  std::unique_ptr<zkserver::ZkServer> zk_;
  std::string zk_address_ ABSL_GUARDED_BY(metrics_mu_);
  // Remote clients' sessions hosted (AddHostedSession less
  // RemoveHostedSession).
  std::atomic<int64_t> remote_sessions_{0};

  // ---- Ensemble state.
  zab::PeerId self_id_ = 1;
  std::string ensemble_id_;
  // The configuration version whose addresses the network has (loop
  // thread).
  Zxid addresses_version_ = 0;
  std::unique_ptr<transport::PeerNetwork> network_;
  // The gRPC server at Options::listen: the client service and the peer
  // links (null: listening nowhere).
  std::unique_ptr<transport::GrpcServer> grpc_;
  // The port the client service listens on (0: none yet, or no listen).
  std::atomic<int> bound_port_{0};

  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<LogWriter> log_writer_;
  std::thread loop_;
};

}  // namespace synod

#endif  // SYNOD_RUNTIME_PEER_RUNTIME_H_
