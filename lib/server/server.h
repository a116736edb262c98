// Server: one peer's host around the zab core, with no thread, socket,
// clock or disk of its own. It is driven in rounds (Round) by whoever runs
// it, with what arrived meanwhile (writes, peer messages, touches, the end
// of a log write), reads time from an injected Clock, keeps its durable
// state through a Storage (only barriers write it directly) and emits every
// other effect to an Outbox: messages, group-commit log writes, tasks for
// the dispatcher. The threaded runtime (runtime/peer_runtime.h) and the
// whole-server simulation (test/sim) drive this same code.
//
// A round, in ZooKeeper's terms:
//  1. durability: the log write that ended tells the Ready host (ReadyHost)
//     which entries are durable; their held messages go, commits follow;
//  2. the zab core steps with the peer messages; its Readies go through the
//     Ready host (persistence order, the early-send rule, barriers);
//  3. apply: committed txns change the replica, in order; each one's watch
//     events are posted, then its write completes;
//  4. timers: ticks, session touches and expiry, cleanups, our session;
//  5. routing: writes are prepared into txns (leading), forwarded to the
//     leader (following), or parked (no leader serves; they fail after the
//     session timeout);
//  6. the log: what waits to be logged, and the applied state when a
//     checkpoint is due, goes to the log writer in one write (group commit).
//
// Alone (one peer), the server elects itself once (Establish) and prepares
// writes at once; in an ensemble it routes them as above.

#ifndef SYNOD_SERVER_SERVER_H_
#define SYNOD_SERVER_SERVER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "acl/acl.h"
#include "server/checkpointer.h"
#include "server/mutation.h"
#include "server/outbox.h"
#include "server/pipeline.h"
#include "server/published.h"
#include "server/ready_host.h"
#include "server/router.h"
#include "server/replica.h"
#include "server/write_outcome.h"
#include "session/own_lease.h"
#include "session/own_session.h"
#include "session/session_tracker.h"
#include "storage/storage.h"
#include "synod/options.h"
#include "txn/preparer.h"
#include "txn/txn.pb.h"
#include "zab/config.h"
#include "zab/core.h"

namespace synod::server {

// Store metadata (Storage::PutMeta names) the server keeps.
// This peer's session id, to close it after a restart.
inline constexpr char kSelfSessionMeta[] = "self_session";
// "1" while this peer recovers from a damaged log (zab DurableState::
// recovering), "0" (or absent) otherwise.
inline constexpr char kRecoveringMeta[] = "recovering";
// The configuration as of the applied state (zab::EncodeConfig), written
// with it (StateBatch::PutMeta); absent until the first change applies.
inline constexpr char kConfigMeta[] = "config";
// "1" once this peer left the ensemble on purpose (Coordinator::Leave; zab
// DurableState::left): its data directory never joins again.
inline constexpr char kLeftMeta[] = "left";


// A learner's session touch (Outbox::SendTouch), as received.
struct TouchIn {
  zab::PeerId from = 0;
  int64_t sent_ms = 0;  // on the learner's clock
  std::vector<int64_t> sessions;
};

// A leader's acknowledgement of one of our touches (Outbox::SendTouchAck).
struct TouchAckIn {
  zab::PeerId from = 0;
  int64_t sent_ms = 0;  // on our clock
  std::vector<int64_t> untracked;
};

// What arrived since the last round.
struct Inputs {
  std::vector<Pending> requests;        // in submission order
  std::vector<zab::Message> messages;   // from peers
  std::vector<TouchIn> touches;         // sessions learners said are alive
  std::vector<TouchAckIn> touch_acks;   // leaders' answers to ours
  // Sessions this peer starts (true) or stops (false) keeping alive for
  // remote clients, in order.
  std::vector<std::pair<int64_t, bool>> hosted;
  // The log write in progress ended: the last zxid it made durable (0:
  // none) and its status.
  bool log_round = false;
  Zxid durable = 0;
  absl::Status log_status;
  // Shutting down: no new timers' work, a checkpoint at the end.
  bool stopping = false;
  // Set: whether this peer asks to be admitted when it finds itself outside
  // the configuration (Core::SetJoining). False from the moment it starts
  // to leave on purpose (Coordinator::Leave), so that its removal, once
  // committed, is never undone by its own request to join; true again if
  // the removal failed.
  std::optional<bool> joining;

  void Clear();
};

struct ServerConfig {
  Options options;
  // Seeds name other peers: elections, forwarding, parking.
  bool ensemble = false;
  // The core's configuration (its snapshot_source is the server's).
  zab::CoreConfig core;
  // A peer that joined an existing ensemble (not one of its founders): while
  // its store holds nothing, it starts from this configuration, as a member
  // reported it, and asks its leader for a SNAP (zab
  // DurableState::needs_snapshot).
  std::optional<zab::Config> reported;
  // The first number of a forwarded request of this run (never reused
  // across runs: an entry of an earlier run must not complete a request).
  uint64_t first_request = 1;
  // Tests of the simulation's checks only: a deliberate host bug.
  Mutation mutation = Mutation::kNone;
};

// What waits in the server (tests and the simulation's checks).
struct ServerQueues {
  size_t parked = 0;     // waiting for a serving leader
  size_t forwarded = 0;  // sent to the leader, not yet seen in the log
  // Prepared here as leader, not known committed.
  size_t uncommitted = 0;
};

class Server {
 public:
  // The session id meaning "this Coordinator's own session".
  static constexpr int64_t kOwnSession = server::kOwnSession;

  // Every pointer must outlive the Server.
  Server(ServerConfig config, Storage* storage, Replica* replica,
         Outbox* outbox, const Clock* clock, Published* published);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the applied state and the log's tail from storage into the
  // replica and the core. Call once, first.
  absl::Status Recover();

  // One round of work with `in` (consumed; cleared).
  void Round(Inputs* in);

  // Alone: true once the peer elected itself and replayed its log (rounds
  // get there without input; at most a few).
  bool established() const;
  // When the next round is due without input (steady clock, ms).
  int64_t next_timer_ms() const;
  // A log write is in progress (Outbox::WriteLog, not yet ended).
  bool log_busy() const { return log_busy_; }
  // Shutting down, nothing is left to finish: no write in progress and
  // none in flight (or the server failed).
  bool Drained() const;
  // The first failure, if any (from then on nothing commits here).
  const absl::Status& failed() const { return failed_; }

  // Completes every queued, parked, forwarded and in-flight write, and
  // `more`, with `status` (shutdown).
  void FailAll(const absl::Status& status, std::vector<Pending>* more);

  // This Coordinator's session state machine (the runtime's, before the
  // first round and after the last).
  OwnSession* own_session() { return &own_; }
  // Publishes own_session()'s state and posts its events.
  void NoteOwnSession();

  // What `synod-cli status` and GetHealth read.
  zab::PeerId self() const { return config_.core.self; }

  // Asks the core to change the configuration (zab::Core::ProposeConfig:
  // this peer must be the serving leader, no change pending, the change
  // must fit); the entry goes out with the next round. Call between
  // rounds, on the loop's thread.
  absl::Status ChangeConfig(const zab::ConfigChange& change);
  // Resolves a membership request against the configuration (an address
  // or id to remove; an observer's address to promote) and proposes the
  // change: BadArguments if it names no member or does not fit,
  // ReconfigInProgress while another change is pending,
  // NewConfigNoQuorum if the live peers could not commit it,
  // ConnectionLoss if this peer does not lead, ReconfigDisabled alone.
  absl::Status ProposeReconfig(const txn::ReconfigRequest& request);
  // The configuration of this peer's history (its last config entry), and
  // the one its applied state is at (what the store keeps with it).
  const zab::Config& configuration() const { return core_->configuration(); }
  const zab::Config& applied_configuration() const { return applied_config_; }

  // Tests: called with each txn applied to the replica, in order, and with
  // the zxid of each snapshot installed in its place.
  void set_apply_observer(std::function<void(const txn::Txn&)> observer) {
    apply_observer_ = std::move(observer);
  }
  void set_install_observer(std::function<void(Zxid)> observer) {
    install_observer_ = std::move(observer);
  }
  // Tests: what waits.
  ServerQueues queues() const;

 private:
  class TreeSnapshots;

  // ---- The Ready host's work (server.cc).
  // Takes the core's work through the Ready host and carries it out, until
  // none is left or a barrier waits for the log writer.
  void CollectReady();
  // Carries out `work`: messages, entries to log, a barrier, commits,
  // lost leadership, forwarded requests.
  void Process(HostWork* work);
  // Persists the Ready host's pending barrier once no log write is in
  // progress; then releases what it held.
  void MaybePersistBarrier();
  void PersistBarrier(zab::Ready* rd);
  // The serving leader's autopilot (zab/autopilot.h): proposes the change
  // it wants, if none is pending.
  void RunAutopilot();
  void SendMessages(std::vector<zab::Message>* messages);
  // Hands the outbox what waits to be logged and, when a checkpoint is due
  // (or `checkpoint`), the applied state's changed records.
  void FlushToLog(bool checkpoint = false);
  void EncodeCheckpoint();
  void OnLogRound(Zxid durable, const absl::Status& status);
  // Records the first failure: from then on nothing commits or is written.
  void Fail(absl::Status status);
  // True while the core must not be stepped, ticked or proposed to.
  bool CoreBlocked() const;

  // ---- Routing (routing.cc).
  void Prepare(Pending* p);
  void UnparkAll();
  // The leader's side of a forwarded request: prepared and proposed; a
  // refused one becomes an ErrorTxn so its outcome reaches the origin in
  // log order.
  void PrepareForwarded(const std::string& data);
  // Publishes the preparer's quota counters, and logs the latest write
  // past a soft quota (at most one line a second).
  void NoteQuotas();
  void OnLostLeader();
  void Complete(WriteDone& done, WriteOutcome&& outcome);
  // The shutdown's close request: completed at once when there is no
  // session to close, else routed with our session id.
  bool ResolveOwnClose(Pending* p);

  // ---- Apply (apply.cc).
  void ApplyCommitted();
  void StageDirtyState(int64_t txns)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(replica_->mu);
  void StoreSnapshot(const zab::Snapshot& snapshot);
  void InstallTree(Zxid zxid);

  // ---- Timers and sessions (timers.cc).
  void AloneTimers(int64_t now);
  void EnsembleTimers(int64_t now, bool stopping);
  void PrepareCleanups();
  void ExpireSessions(int64_t now);
  void OnTouch(const std::vector<int64_t>& sessions, int64_t now);
  void NoteCoreState();
  // Feeds the round's touches and acknowledgements to the sessions and to
  // our lease (a serving leader acknowledges what it applied).
  void OnTouches(Inputs* in, int64_t now);
  // Keeps own_lease_ on our current session and publishes its end.
  void NoteOwnLease(int64_t now);
  // Publishes the leader's view of the other members (Published).
  void PublishMemberStates();
  void NoteSessionChange(const txn::Txn& txn);
  void OnSessionCreated(WriteOutcome&& outcome);
  // Once a leader serves: creates our session when there is none, and
  // closes our session of an earlier run.
  void OwnSessionWork(int64_t now);
  // Our session and the hosted ones: what this peer keeps alive.
  std::vector<int64_t> AliveSessions() const;

  const ServerConfig config_;
  const Options& options_;
  Storage* const storage_;
  Replica* const replica_;
  Outbox* const outbox_;
  const Clock* const clock_;
  Published* const published_;
  const bool ensemble_;
  const std::shared_ptr<const AuthInfo> system_auth_;

  std::unique_ptr<TreeSnapshots> snapshots_;
  std::unique_ptr<Preparer> preparer_;
  std::unique_ptr<zab::Core> core_;
  std::unique_ptr<ReadyHost> ready_host_;
  std::unique_ptr<Checkpointer> checkpointer_;

  Zxid last_assigned_ = 0;  // the last zxid given to a prepared txn
  Zxid committed_ = 0;      // the core's commit point
  int64_t quota_soft_logged_ = 0;   // soft quota warnings seen
  int64_t quota_logged_ms_ = -1000000;  // steady clock of the last logged
  Zxid durable_ = 0;        // the log writer made entries durable through it
  // Our writes between routing and completion, and before routing.
  Pipeline pipeline_;
  Router router_;
  std::vector<LogEntry> to_log_;
  std::deque<zab::Entry> to_apply_;  // committed, not yet applied
  StateBatch state_batch_;
  ApplyOutput apply_out_;
  bool log_busy_ = false;
  bool barrier_due_ = false;  // the Ready host's barrier waits for the log
  bool stopping_ = false;
  // Peer messages that arrived while a barrier was pending.
  std::vector<zab::Message> held_messages_;
  absl::Status failed_;
  // A leader's snapshot made durable, applied once the barrier is done,
  // with the configuration as of its zxid.
  std::unique_ptr<DataTree> installing_;
  zab::Config installing_config_;
  // The configuration as of the applied state (set by the last config entry
  // applied), and whether the store's copy (kConfigMeta, written with the
  // applied state) is older.
  zab::Config applied_config_;
  bool config_unsaved_ = false;
  // What Published::config holds (to copy it only when it changes).
  bool config_published_ = false;
  bool member_states_published_ = false;
  Zxid published_config_version_ = 0;
  // The autopilot's last refusal, logged once however often it repeats.
  std::string last_autopilot_refusal_;
  // Until then (steady ms) the autopilot makes no change of its own: an
  // operator's change (ProposeReconfig) was just made, and the next one of
  // a pair (add, then remove) must not find it undone.
  int64_t autopilot_paused_until_ms_ = 0;

  // The leader's session deadlines (steady ms).
  SessionTracker sessions_;
  absl::flat_hash_set<int64_t> hosted_;
  OwnSession own_;
  // How long the ensemble certainly holds our session (published as
  // Published::session_lease_until_ms), and when our pending create was
  // sent (its first confirmation).
  OwnLease own_lease_;
  int64_t own_create_sent_ms_ = 0;
  int64_t next_cleanup_ = 0;
  // No cleanup before this: one cleanup_interval after the leadership
  // began, as ZooKeeper's leader first checks its containers and TTL nodes
  // one check interval after it starts (a restart does not delete at once
  // what a running leader would leave for an interval).
  int64_t cleanups_from_ = 0;
  int64_t next_tick_ = 0;
  // The core serves (as leader or learner), and the commit point when it
  // began to: our own session counts a leader as serving only once the
  // replica applied that far, so Connected never comes before the
  // history the leader brought (where our session may have expired).
  bool core_serving_ = false;
  Zxid serve_from_ = 0;
  int64_t serving_epoch_ = 0;  // the epoch this peer last led, serving
  // Serving leader, as of NoteCoreState (alone: always).
  bool leading_ = false;
  int establish_rounds_ = 0;
  std::function<void(const txn::Txn&)> apply_observer_;
  std::function<void(Zxid)> install_observer_;
};

}  // namespace synod::server

#endif  // SYNOD_SERVER_SERVER_H_
