// The zab core: one peer's side of ZooKeeper's atomic broadcast (election,
// discovery, synchronization, broadcast) as a deterministic state machine
// with no threads, sockets, clock, randomness or disk of its own, in the
// style of etcd-io/raft's RawNode.
//
// The host drives it and carries out what it asks, in this loop:
//
//   core.Step(message) / core.Tick() / core.Propose(data)   (inputs)
//   if (core.HasReady()) {
//     Ready rd = core.TakeReady();
//     1. persist, atomically or in this order, and durably:
//          rd.snapshot (replaces the applied state and the whole log),
//          rd.truncate_after, rd.entries, then rd.accepted_epoch and
//          rd.current_epoch;
//     2. send rd.messages (a message for which MaySendBeforeDurable is
//        true may go before step 1 is durable, as long as every earlier
//        message to the same peer has gone: links keep their order);
//     3. install rd.snapshot as the applied state (if set), then apply
//        rd.committed, in order;
//     core.Advance(rd);   // what was asked to persist is now durable
//   }
//
// The same inputs give the same outputs, so one process can run a whole
// ensemble of cores over a simulated network (test/sim).

#ifndef SYNOD_ZAB_CORE_H_
#define SYNOD_ZAB_CORE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "zab/autopilot.h"
#include "zab/config.h"
#include "zab/config_index.h"
#include "zab/election.h"
#include "zab/message.h"
#include "zab/quorum.h"

namespace synod::zab {

// Deliberate protocol bugs, for showing that the simulation's checks catch
// each broken safety rule. Never set outside tests.
enum class Mutation {
  kNone,
  kCommitWithoutQuorum,   // the leader commits on its own ack alone
  kForgetAcceptedEpoch,   // acceptedEpoch changes in memory, never on disk
  kFollowOldEpochLeader,  // learners follow, and leaders keep, a leader of
                          // an epoch older than a learner's acceptedEpoch
  kSkipTrunc,             // sync never truncates a learner's extra entries
  kIgnoreRecovering,      // a peer that lost part of its log votes, acks
                          // and leads as if it had lost nothing
  // Membership (docs/membership.md):
  kConcurrentConfigChanges,  // a leader takes a change while one is pending
  kConfigAtCommit,        // a peer counts with the configuration as of its
                          // commit point (etcd's rule), not its history's
  kKeepTruncatedConfig,   // TRUNC drops entries but keeps their configuration
};

// The host's applied state, for synchronizing a learner that needs entries
// the core has compacted away (SNAP). Pure: no I/O the core can observe.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // Returns the host's applied state as of a zxid Z >= the core's base zxid,
  // with every entry after Z still in the core's log. Called from Step.
  virtual std::pair<Zxid, std::string> Snapshot() const = 0;
};

struct CoreConfig {
  PeerId self = 0;
  std::vector<PeerId> voters;     // self among them unless an observer
  std::vector<PeerId> observers;  // replicate, never vote
  // This peer's address and failure domain, told to every leader it
  // registers with (LearnerInfo): a leader admits a joining peer at this
  // address, and moves a member whose address changed.
  std::string address;
  std::string zone;
  // Timing, in ticks.
  int ping_ticks = 2;        // leader heartbeats a learner this often
  int leader_timeout = 10;   // a learner gives up on a silent leader
  int follower_timeout = 10; // a leader drops a silent learner; it steps
                             // down when fewer than a quorum remain
  int sync_timeout = 20;     // discovery + sync must finish within this
  // Largest number of entries in one DIFF message, and in one PROPOSAL or
  // REQUEST that batches what one Ready proposes or forwards.
  int max_diff_entries = 256;
  // A PROPOSAL, REQUEST or DIFF batch takes no more entries once its
  // payload reaches this many bytes (a lone larger entry still goes alone).
  size_t max_batch_bytes = size_t{1} << 20;
  // The host's applied state, for SNAP; not owned, must outlive the core.
  // nullptr: a core that never compacts. A learner that needs a SNAP from
  // a leader without one is not synchronized (never DIFFed across a hole).
  const SnapshotSource* snapshot_source = nullptr;
  // Largest number of snapshot bytes in one kSnapChunk message (>= 1).
  size_t snapshot_chunk_bytes = 64 * 1024;
  // Election tuning (see ElectionConfig).
  int finalize_ticks = 2;
  int resend_ticks = 4;
  int max_resend_ticks = 32;
  // Tests only: break one safety rule on purpose.
  Mutation mutation = Mutation::kNone;
};

// What a peer must find in durable storage when its core is created.
struct DurableState {
  int64_t accepted_epoch = 0;
  int64_t current_epoch = 0;
  std::vector<Entry> log;  // zxids strictly increasing, above base_zxid
  // The history through `base_zxid` is committed and held by the host's
  // applied state; `log` continues it. 0: `log` is the whole history.
  Zxid base_zxid = 0;
  // Part of this peer's log was lost (a damaged disk), so it may lack
  // entries that were committed with its ack. Until a leader elected
  // without it has synchronized it, it takes part only as an observer: it
  // never votes, acks or leads, so no quorum counts it on the strength of
  // entries it no longer has (protocol-aware recovery). The host keeps this
  // durable until Ready::recovered.
  bool recovering = false;
  // The configuration as of `base_zxid` (the one the applied state holds);
  // the log's config entries change it from there (docs/membership.md).
  // Unset: the founding configuration, CoreConfig's voters and observers.
  std::optional<Config> base_config;
  // This peer holds no history of the ensemble: `base_config` is what a
  // member reported. It never votes, and asks its leader for a SNAP (which
  // brings the state and its configuration) before anything else.
  bool needs_snapshot = false;
  // This peer left the ensemble on purpose (Core::StopJoining): it never
  // asks to be admitted again. (A peer removed otherwise, say by the
  // autopilot while it was unreachable, asks again when it can.)
  bool left = false;
};

// A state snapshot: the host's applied state as of `zxid`, opaque to the
// core.
struct Snapshot {
  Zxid zxid = 0;
  std::string data;
  // The configuration as of `zxid`, which the SNAP carried: the host
  // persists it with the snapshot as the new DurableState::base_config.
  std::optional<Config> config;
};

// The work the core asks of its host; see the loop at the top of the file.
struct Ready {
  // Set when a leader synchronized this learner by SNAP: persist it first,
  // replacing the applied state and dropping the whole log (the new
  // DurableState::base_zxid is `snapshot->zxid`), and install it as the
  // applied state before applying `committed`. Entries through its zxid are
  // never in `committed`.
  std::optional<Snapshot> snapshot;
  std::optional<Zxid> truncate_after;  // drop log entries with zxid > this
  std::vector<Entry> entries;          // append to the log
  std::optional<int64_t> accepted_epoch;
  std::optional<int64_t> current_epoch;
  // Send after the above is durable (but see MaySendBeforeDurable).
  std::vector<Message> messages;
  std::vector<Entry> committed;   // apply, in order
  // On the serving leader: requests learners forwarded (Propose on a
  // learner), each once, in arrival order. The host turns each into the
  // data of an entry (on the leader, a request is validated against the
  // state every earlier proposal leads to) and calls Propose with it.
  std::vector<std::string> requests;
  // Set when this peer stopped being able to reach a leader (or stopped
  // leading): requests it forwarded or proposed and has not seen committed
  // may or may not commit; the host fails them with ConnectionLoss.
  bool lost_leader = false;
  // Set once on a recovering peer (DurableState::recovering) that a
  // serving leader has synchronized: its log now holds every committed
  // entry. Persist that it no longer recovers, with the rest of this
  // Ready; once Advance reports it durable, the peer rejoins as a voter.
  bool recovered = false;
};

// The state the core reports, for health and tests.
struct CoreStatus {
  PeerState state = PeerState::kLooking;
  PeerId leader = 0;            // 0 while looking
  bool serving = false;         // established: leader broadcasting, or
                                // learner up to date with it
  int64_t accepted_epoch = 0;
  int64_t current_epoch = 0;
  Zxid last_zxid = 0;           // last entry in the log
  Zxid committed_zxid = 0;      // last entry known committed
  bool recovering = false;      // see DurableState::recovering
  int64_t snapshots_sent = 0;   // SNAPs sent to learners, ever
};

class Core {
 public:
  // Creates a peer from its durable state. It starts looking for a leader.
  Core(CoreConfig config, DurableState durable);

  // Handles a message from another peer. Messages that make no sense in the
  // current state (stale epochs, wrong role, unknown peers) are ignored.
  void Step(const Message& message);

  // Advances time by one tick.
  void Tick();

  // Proposes `data` for the log. On the serving leader it becomes the next
  // entry; on a learner it is forwarded to the leader, whose host receives
  // it in Ready::requests. Returns Unavailable when there is no serving
  // leader to take it, and InvalidArgument for data that begins with a
  // zero byte (reserved for config entries, zab/config.h).
  absl::Status Propose(std::string data);

  // Proposes a change of the configuration (docs/membership.md). Only the
  // serving leader takes one, and only while no other is pending (rule
  // M4); the change must fit the configuration (ApplyChange), a promoted
  // learner must be synchronized and live, and the live peers must be a
  // quorum of both the current and the changed configuration (M5).
  // Returns Unavailable, FailedPrecondition or InvalidArgument otherwise.
  // The change takes effect when logged (M1) and counts both majorities
  // until it commits (M2). A leader that removes itself takes no more
  // proposals and steps down once the change commits (M6).
  absl::Status ProposeConfig(const ConfigChange& change);

  // False: this peer leaves, or left, the ensemble on purpose; from now on
  // it never asks to be admitted (once its removal committed, the host
  // persists DurableState::left). True: it asks again (its removal failed).
  void SetJoining(bool joining) { left_ = !joining; }

  // Returns true if TakeReady would return any work.
  bool HasReady() const;
  // Returns the accumulated work and resets it.
  Ready TakeReady();
  // Reports that everything `ready` asked to persist is now durable.
  void Advance(const Ready& ready);

  // Forgets the log entries through `zxid` (at most the commit point): the
  // host holds them in its applied state and its own log. A learner that
  // needs them later cannot be synchronized by DIFF from this core.
  void Compact(Zxid zxid);

  // Returns the zxid the next Propose will take: valid on the serving
  // leader that takes proposals (not one whose own removal is logged), 0
  // elsewhere. Lets the host prepare a txn that knows its own zxid before
  // proposing it.
  Zxid next_zxid() const;

  // The zxid through which the history is held as applied state, not log.
  Zxid base_zxid() const { return base_zxid_; }

  CoreStatus status() const;

  // This peer's configuration: the last one its history sets.
  const Config& configuration() const { return configs_.current(); }

  // On the serving leader: what it knows of each member of its
  // configuration but itself, for the autopilot (zab/autopilot.h); empty
  // elsewhere. Unreachability is counted in this leader's ticks, from when
  // it began to serve.
  std::vector<MemberState> MemberStates() const;
  // On the serving leader: the changes its learners ask for, in id order:
  // kAddObserver for a registered learner that is joining (LearnerInfo),
  // kSetAddress for a member that registered from a new address. Empty
  // elsewhere. The host proposes them one at a time (ProposeConfig).
  std::vector<ConfigChange> Admissions() const;
  // The configuration as of `zxid` (at least base_zxid()), for a host that
  // compacts through `zxid`: it persists it as DurableState::base_config.
  const Config& ConfigurationAsOf(Zxid zxid) const {
    return configs_.AsOf(zxid);
  }
  // The log as this core sees it (durable or queued for persistence).
  const std::deque<Entry>& log() const { return log_; }

 private:
  struct Learner {
    PeerState role = PeerState::kFollowing;  // or kObserving
    bool recovering = false;       // it said so: it can neither ack nor vote
    LearnerInfo info;              // from FOLLOWERINFO
    int64_t accepted_epoch = -1;   // from FOLLOWERINFO
    bool acked_epoch = false;      // ACKEPOCH received
    bool synced = false;           // sync sent, forwarding proposals
    bool acked_new_leader = false; // ACKNEWLEADER received
    Zxid acked = 0;                // highest zxid acked (followers)
    Zxid informed = 0;             // observers: last zxid they hold from us
    uint64_t last_request = 0;     // highest forwarded request id taken
    int silent_ticks = 0;
    // From ACKEPOCH: the learner's history, to choose DIFF or TRUNC.
    int64_t current_epoch = 0;
    Zxid last_zxid = 0;
    std::vector<Zxid> epoch_ends;
  };

  // Role transitions.
  void BecomeLooking();
  void OnElected(const ElectionResult& result);
  void StartLeading();
  void StartLearning(PeerId leader);
  // Learner: registers with leader_ (FOLLOWERINFO with its acceptedEpoch).
  void SendFollowerInfo();

  // Leader side.
  void LeaderStep(const Message& m);
  void MaybeChooseEpoch();
  void SendLeaderInfo(PeerId to);
  void MaybeSync();
  void SyncLearner(PeerId to);
  void MaybeEstablish();
  // Commits what a quorum has made durable; the learners hear of it at the
  // next TakeReady (AnnounceCommit).
  void AdvanceCommit();
  // Sends the commit point to each follower (COMMIT) and observer (INFORM)
  // if it moved since the last announcement.
  void AnnounceCommit();
  void LeaderTick();
  std::vector<Zxid> EpochEnds() const;

  // Learner side.
  void LearnerStep(const Message& m);
  void LearnerTick();
  // Starts over with the same leader (after a gap in its stream): the
  // leader resynchronizes this learner from discovery on.
  void Rejoin();
  // The election's view of the ensemble under this peer's configuration.
  ElectionView ElectionViewNow() const;
  // Sends an observer the committed entries it lacks, and the commit point.
  void Inform(PeerId to, Learner& l);
  void CommitThrough(Zxid zxid);
  // Learner: handles kSnap / kSnapChunk; installs the snapshot when whole.
  void OnSnap(const Message& m);
  // Learner: drops a partly received snapshot.
  void ResetSnap();
  // Leader: streams SNAP (state, then entries after it) to `to`; returns
  // false, sending nothing, if the host gives no usable snapshot.
  bool SendSnap(PeerId to);
  // Sends DIFF messages: the log after `from` (kTrunc first if `trunc`).
  void SendDiff(PeerId to, Zxid from, bool trunc);

  void Send(Message m);
  // The last message queued in this Ready for `to`, or nullptr: a later
  // message of the same kind may be merged into it without reordering.
  Message* LastMessageTo(PeerId to);
  // The last message queued for `to` if it is of `type` and may take one
  // more entry of `bytes` under the batch limits, or nullptr.
  Message* BatchTo(PeerId to, MessageType type, size_t bytes);
  // Logs `entry`, unless it is a config entry the configuration refuses
  // (one that does not decode or moves more than one voter, rule M3): then
  // nothing is logged and it returns false.
  [[nodiscard]] bool Append(Entry entry);
  // Logs the entries a leader sent, in order; on a refused one it stops and
  // returns to the election (only a broken leader sends one).
  bool AppendFromLeader(const std::vector<Entry>& entries);
  // The serving leader's next entry, proposed to its followers.
  void AppendProposal(std::string data);
  // After a commit or a configuration change: the removed leader steps
  // down, a learner whose role changed registers again.
  void FollowMembership();
  // Notes a config entry of the durable log in configs_ (at restart).
  void NoteConfig(const Entry& entry);
  void TruncateAfter(Zxid zxid);
  Zxid last_zxid() const { return log_.empty() ? base_zxid_ : log_.back().zxid; }
  size_t IndexAfter(Zxid zxid) const;  // first index with zxid > `zxid`

  // Whether this peer votes now: a voter that is not recovering.
  bool Voting() const { return !recovering_ && rule_.Contains(config_.self); }
  // Recomputes rule_ from the configurations and the commit point.
  void RefreshRule();
  // Counts toward a quorum: a learner that registered as a follower.
  static bool Counts(const Learner& l) { return l.role == PeerState::kFollowing; }
  // Leader: `id` is registered, synchronized, heard from lately and not
  // recovering.
  bool Healthy(PeerId id) const;
  // A recovering peer's log was synchronized and that is durable: it
  // becomes a voter again and rejoins its leader (or its election) as one.
  void FinishRecovery();

  const CoreConfig config_;
  // The configurations of this peer's history, and the quorums it counts
  // now (docs/membership.md, M1 and M2).
  ConfigIndex configs_;
  QuorumRule rule_;
  // Rebuilt when recovery ends (a recovering peer elects as an observer).
  Election election_;
  bool recovering_ = false;
  bool recovered_pending_ = false;  // Ready::recovered given, not yet durable
  bool needs_snapshot_ = false;     // DurableState::needs_snapshot, until a
                                    // SNAP installs
  bool left_ = false;               // DurableState::left

  // Durable (or being made durable) state.
  int64_t accepted_epoch_;
  int64_t current_epoch_;
  Zxid base_zxid_;
  // A deque: Compact drops a few entries off the front per log round while
  // the tail it keeps (log_retention) stays long.
  std::deque<Entry> log_;
  // A new commit point waits to be announced to the learners (COMMIT or
  // INFORM) until TakeReady: one announcement per learner per Ready, however
  // many acks moved it.
  bool commit_unannounced_ = false;

  // Volatile state.
  PeerState state_ = PeerState::kLooking;
  PeerId leader_ = 0;
  bool serving_ = false;
  Zxid committed_ = 0;
  int64_t snapshots_sent_ = 0;  // CoreStatus::snapshots_sent
  // Leader: the version of its configuration if a learner registered
  // knowing it committed (else 0). Its rule then counts that configuration
  // alone (an entry is the same at every peer that holds its zxid).
  Zxid config_commit_heard_ = 0;
  // Serving leader: ticks since each member was last healthy (Healthy).
  std::map<PeerId, int64_t> unhealthy_ticks_;
  int64_t new_epoch_ = 0;        // leader: the epoch being established
  bool epoch_chosen_ = false;    // leader: new_epoch_ fixed by a quorum
  int64_t next_counter_ = 0;     // leader: counter of the next proposal
  std::map<PeerId, Learner> learners_;  // leader: by peer id
  int ticks_in_phase_ = 0;       // since entering discovery/sync
  int silent_ticks_ = 0;         // learner: since the leader last spoke
  int ping_countdown_ = 0;
  // Learner: the id of the next forwarded request. Never reused by this
  // core, so the leader can drop a duplicated REQUEST.
  uint64_t next_request_id_ = 1;
  // Learner: sync received, waiting for NEWLEADER / UPTODATE.
  bool got_new_leader_ = false;
  // Learner: a snapshot being received (kSnap seen, chunks appended), and
  // whether one was installed since this sync began.
  bool snap_receiving_ = false;
  bool snap_installed_ = false;
  Zxid snap_zxid_ = 0;
  std::string snap_data_;
  Config snap_config_;  // what the SNAP in progress carried
  // This leader's removal committed: step down once the commit is out.
  bool step_down_pending_ = false;
  // Leader: zxid through which its own log is durable, whether its new
  // current epoch is durable, and its candidacy (to spot learners ahead).
  Zxid durable_zxid_ = 0;
  bool epoch_durable_ = false;
  Vote own_vote_;
  // The election this peer last decided.
  ElectionResult elected_;
  Ready ready_;
};

}  // namespace synod::zab

#endif  // SYNOD_ZAB_CORE_H_
