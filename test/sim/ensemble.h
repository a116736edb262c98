// A whole zab ensemble in one process: N cores (voters, optionally
// observers) over the deterministic sim::Network, each with an in-memory
// durable store, driven by a seeded scheduler that interleaves deliveries,
// ticks, client proposals, crashes, partitions and slow disks, and checks
// ZAB's safety invariants after every step and liveness at the end.
//
// Host model: each core is driven by the host the Coordinator runs,
// server::ReadyHost (lib/server/ready_host.h), over a simulated disk. A
// group-committed Ready's entries join the peer's log writer: one write in
// flight at a time, durable at a scheduled time (a fast disk: 0-2 time
// units, a slow one: up to six ticks), with everything queued meanwhile
// going in the next write; its PROPOSALs leave at once, its other messages
// once durable; its commits are applied at once; the core keeps taking
// inputs meanwhile. A barrier (epochs, truncation, snapshot, end of
// recovery) is written once everything before it is durable, and until it
// is, the peer's inputs (deliveries, ticks, proposals) wait in its inbox. A
// peer's applied state is its applied sequence; hosts compact at random
// (SimOptions::compact_rate) when nothing is being written: the disk then
// holds a snapshot (the serialized applied sequence, as of
// DurableState::base_zxid) and the log after it, and the core forgets the
// same entries (Core::Compact). Each host is its core's SnapshotSource, so
// a leader can SNAP a learner that needs compacted entries; a barrier's
// snapshot replaces the disk's snapshot and log, and then the applied
// sequence. A crash loses the core, the inbox, the applied state machine
// and every write not yet durable (SimOptions::torn_writes: a prefix of the
// one in flight survives); the peer comes back later as a new Core built
// from its DurableState, its state machine restored from the disk's
// snapshot and rebuilt from what the core commits again.
//
// Invariants, checked after every step (a failure names its letter):
//   a. at most one serving leader per epoch;
//   b. a leader, when it starts serving, holds every entry any peer applied
//      (same zxid and data) in its known history: its applied sequence
//      (which covers its compacted part) followed by its core's log;
//   c. all peers' applied sequences are prefixes of one sequence;
//   d. acknowledged proposals stay in it (and, at the end, are applied by
//      every live peer);
//   e. zxids strictly increase in every log and applied sequence; on disk,
//      acceptedEpoch and currentEpoch never decrease and current <=
//      accepted;
//   f. a peer with nothing left to persist has exactly its disk's log and
//      epochs (the Ready contract; SimOptions::check_host_agreement);
//   g. no peer acknowledges a LEADERINFO below its acceptedEpoch.
// Liveness is checked once faults stop (see SimOptions::settle_ticks).
//
// Everything random comes from two sim::Rng seeded from SimOptions::seed
// (one in the network, one in the scheduler); containers are ordered, so a
// seed replays the same run on any machine.

#ifndef SYNOD_TEST_SIM_ENSEMBLE_H_
#define SYNOD_TEST_SIM_ENSEMBLE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/ready_host.h"
#include "sim/sim_network.h"
#include "synod/types.h"
#include "zab/autopilot.h"
#include "zab/core.h"
#include "zab/message.h"

namespace synod::sim {

// Virtual time units in one core tick. Network delays are in these units,
// so a message usually takes a fraction of a tick.
inline constexpr Tick kTickUnits = 10;

// What one simulated run does. The defaults are the "all faults" mix the
// seed sweeps and synod_zab_sim use.
struct SimOptions {
  uint64_t seed = 1;
  int voters = 3;     // 3 or 5 (any count >= 1 works)
  int observers = 0;
  // New peers outside the founding configuration that join: each starts
  // with no history and the founding configuration as a member would report
  // it (zab DurableState::needs_snapshot), asks to be admitted, and the
  // serving leader admits it as an observer (Core::Admissions). At the end
  // every one of them must be a member.
  int joiners = 0;
  // Scheduler steps in the faulty phase (each step is one delivery, tick,
  // disk completion, proposal or fault).
  int64_t steps = 1000;

  // Network: per-message loss and duplication probabilities, and the
  // latency range in time units (kTickUnits per tick).
  double drop_rate = 0.01;
  double dup_rate = 0.01;
  Tick min_delay = 1;
  Tick max_delay = 8;
  // Per-step probabilities of each scheduler action.
  double crash_rate = 0.004;      // crash a random live peer
  double partition_rate = 0.004;  // split, isolate, cut one way, reset a link
  double slow_disk_rate = 0.004;  // make one peer's disk slow for a while
  double propose_rate = 0.05;     // a client proposes at a random live peer
  double compact_rate = 0.01;     // a random live, idle host compacts
  // The serving leader proposes a random configuration change: promote an
  // observer or demote a voter, itself included (docs/membership.md).
  double config_change_rate = 0;
  // The serving leader runs the autopilot (zab/autopilot.h) on its ticks,
  // with this dead-voter threshold in ticks (0: off) and target. At the
  // end, once everything is healed, it must bring the voters to
  // min(target, peers).
  int64_t autopilot_dead_ticks = 0;
  size_t autopilot_voters = 3;
  // Every core's snapshot chunk size: tiny, so SNAPs take many chunks.
  size_t snapshot_chunk_bytes = 16;
  // A crash during a write leaves a prefix of it durable instead of none:
  // a group commit's entries one by one; a barrier's truncate, entries,
  // accepted then current epoch (core.h allows persisting "in this order").
  bool torn_writes = false;
  // On a crash, the probability that the peer's disk also loses a suffix
  // of its log (a damaged disk: entries it acknowledged, committed ones
  // among them, may be gone). It restarts recovering
  // (zab::DurableState::recovering) until a leader syncs it. At most one
  // peer recovers at a time, so intact voters can always form a quorum.
  double log_loss_rate = 0;
  // Liveness: after the faulty phase, heal, restart, stop faults and allow
  // settle_ticks for a serving leader with a serving quorum of voters, then
  // apply_ticks for a fresh proposal at that leader to be applied by every
  // live peer (voters and observers). If the leader rejects it or steps
  // down first, the check starts over with a new proposal, within
  // settle_ticks overall.
  int64_t settle_ticks = 400;
  int64_t apply_ticks = 100;
  bool check_liveness = true;

  // Check, whenever a peer has nothing left to persist, that its core's log
  // and epochs are exactly its durable state (the Ready contract).
  bool check_host_agreement = true;

  // Record the trace (kept whole when trace_capacity is 0). Without it a
  // failing run is replayed once with a trace to report its tail.
  bool trace = false;
  size_t trace_capacity = 0;
  // Template for every core's configuration: timing, and (tests of the
  // checks only) a deliberate protocol mutation. self, voters and observers
  // are filled in per peer.
  zab::CoreConfig core;
};

// Returns `options` with every fault rate (drop, dup, crash, partition,
// slow disk) set to zero; compaction stays as it was.
SimOptions WithoutFaults(SimOptions options);

// What Run reports.
struct RunResult {
  bool ok = true;
  // On failure: "step N (t=T, tick K): <invariant>: <details>".
  std::string failure;
  // On failure, the last Network::kTraceTailLines trace lines; the whole
  // trace when SimOptions::trace was set.
  std::string trace;
  int64_t steps = 0;          // scheduler steps, liveness phase included
  int64_t ticks = 0;          // virtual time at the end, in ticks
  uint64_t messages = 0;      // messages sent by cores
  uint64_t delivered = 0;     // messages delivered
  int64_t commits = 0;        // length of the global applied sequence
  int64_t elections = 0;      // epochs that had a serving leader
  int64_t proposals = 0;      // client proposals submitted
  int64_t acknowledged = 0;   // proposals the receiving peer applied
  int64_t crashes = 0;
  int64_t log_losses = 0;     // crashes that also cut the peer's log
  int64_t partitions = 0;     // partition, isolate, cut and reset faults
  int64_t compactions = 0;    // host compactions that dropped entries
  uint64_t snaps = 0;         // kSnap messages sent (SNAP syncs)
  int64_t config_changes = 0;  // configuration changes the leader took
};

// Runs one simulation: options.steps faulty steps then the liveness check.
RunResult Run(const SimOptions& options);

// Returns the flag value naming `mutation`, e.g. "skip-trunc" ("none").
const char* MutationName(zab::Mutation mutation);
// Parses a MutationName; returns false if `name` names none.
bool ParseMutation(const std::string& name, zab::Mutation* out);

// Returns the synod_zab_sim command line that replays `seed` with
// `options` (flags that differ from SimOptions' defaults, plus --trace).
// Core timing (SimOptions::core other than the mutation) and
// snapshot_chunk_bytes have no flag.
std::string ReplayCommand(uint64_t seed, const SimOptions& options);

// Returns "seed=S ok steps=... commits=..." or the failure, one line.
std::string Summary(const SimOptions& options, const RunResult& result);

// The global record invariants b-e are checked against: the one sequence
// every peer's applied sequence must be a prefix of. Exposed for tests.
class AppliedHistory {
 public:
  // Checks that `entry`, applied by a peer as its `index`-th entry since its
  // core was created (0-based), matches the history there (or extends it
  // when index == size()), and that an extension's payload is new: every
  // proposal is submitted once, so it must be applied at most once, even
  // when its leader was lost after forwarding. Returns "" or what is wrong.
  std::string Apply(size_t index, const zab::Entry& entry);

  // Checks that `log` has strictly increasing zxids and holds every entry of
  // the history with the same zxid and data. Returns "" or what is wrong.
  std::string CheckContainedIn(const std::vector<zab::Entry>& log) const;

  // Returns the index of `zxid` in the history, or nullopt.
  std::optional<size_t> Find(Zxid zxid) const;

  const std::vector<zab::Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<zab::Entry> entries_;  // zxids strictly increasing
  std::set<std::string> payloads_;   // data of every entry in entries_
};

// Returns "" if the zxids of `entries` strictly increase, else what is
// wrong, naming `what`.
std::string CheckIncreasing(const std::vector<zab::Entry>& entries,
                            const std::string& what);
// The same for a core's log.
std::string CheckIncreasingLog(const std::deque<zab::Entry>& entries,
                               const std::string& what);

// Applies a Ready's writes to `durable` (snapshot, truncate_after,
// entries, accepted then current epoch), stopping after `max_writes`
// writes (torn persist); a snapshot replaces the log and base_zxid, and its
// data goes to `*snapshot` (ignored if null). Returns "" or what is wrong
// (an entry that does not extend the log).
std::string PersistTo(const zab::Ready& ready, size_t max_writes,
                      zab::DurableState* durable,
                      std::string* snapshot = nullptr);

// The sim's snapshot format: a serialized applied sequence.
std::string EncodeApplied(const std::vector<zab::Entry>& applied);
// Parses EncodeApplied's output; returns false if `data` is malformed.
bool DecodeApplied(const std::string& data, std::vector<zab::Entry>* out);

// Returns the number of separate writes PersistTo performs for `ready`.
size_t WriteCount(const zab::Ready& ready);

// The ensemble.
class Ensemble {
 public:
  // A client proposal and what became of it.
  struct Proposal {
    zab::PeerId peer = 0;      // where it was submitted
    uint64_t incarnation = 0;  // of that peer's core
    enum class State { kQueued, kAccepted, kRejected, kAcknowledged };
    State state = State::kQueued;
    Zxid zxid = 0;  // once acknowledged
  };

  // Creates the cores (voters 1..V, observers V+1..V+O) at time 0.
  explicit Ensemble(const SimOptions& options);
  ~Ensemble();
  Ensemble(const Ensemble&) = delete;
  Ensemble& operator=(const Ensemble&) = delete;

  // Runs one scheduler step: with faults enabled, maybe a fault or a client
  // proposal, else the next timed event (delivery, tick, disk completion,
  // restart, heal). Then checks every invariant. Returns false once a
  // violation was found (see failure()).
  bool Step();

  // Runs steps until `done()` holds or `ticks` ticks of virtual time pass;
  // returns done() (false too on a violation).
  bool RunUntil(const std::function<bool()>& done, int64_t ticks);

  // Stops injecting faults: heals the network, zeroes drop and duplicate
  // rates, restarts every crashed peer now and makes every disk fast.
  void Quiesce();

  // Submits `payload` as a client proposal at `peer` (queued in its inbox
  // if its host is persisting). Ignored if the peer is down.
  void Propose(zab::PeerId peer, const std::string& payload);

  // Runs the end-of-run liveness check (after Quiesce): a serving leader and
  // a serving quorum within settle_ticks, then a fresh proposal applied by
  // every live voter and observer within apply_ticks. Returns false on
  // failure (see failure()).
  bool CheckLiveness();
  // With the autopilot: the serving leader's committed configuration
  // reaches min(target, peers) voters within settle_ticks.
  bool CheckAutopilot();
  // With joiners: every joiner is a member of the serving leader's
  // committed configuration, at its address, within settle_ticks.
  bool CheckJoined();
  // Runs until the serving leader's configuration is committed and
  // `reached`, within settle_ticks; else fails with `what`.
  bool SettleConfig(const std::string& what,
                    const std::function<bool(const zab::Config&)>& reached);

  // Checks invariant d explicitly: every acknowledged proposal is in the
  // history at its zxid and, when `all_applied` and CheckLiveness passed,
  // applied by every live peer if it precedes the liveness proposal.
  bool CheckAcknowledged(bool all_applied);

  // Checks invariant e over every peer's whole durable log and core log
  // (the steps check what changes). Returns false on failure.
  bool CheckLogs();

  // Returns the id of the peer that is serving as leader in the highest
  // epoch, if any.
  std::optional<zab::PeerId> ServingLeader() const;
  // Returns how many voters are up and serving.
  int ServingVoters() const;
  // The voters of the serving leader's configuration (the founding ones
  // while there is no serving leader).
  std::vector<zab::PeerId> CurrentVoters() const;
  // Returns true if `peer` is up.
  bool IsUp(zab::PeerId peer) const;

  // What `peer` applied since its core was created.
  const std::vector<zab::Entry>& Applied(zab::PeerId peer) const;
  // The durable state of `peer`.
  const zab::DurableState& Durable(zab::PeerId peer) const;
  // The status of `peer`'s core; REQUIRES: IsUp(peer).
  zab::CoreStatus Status(zab::PeerId peer) const;
  // The global applied sequence.
  const AppliedHistory& history() const { return history_; }
  // The client proposals by payload.
  const std::map<std::string, Proposal>& proposals() const {
    return proposals_;
  }
  // The number of messages of `type` cores have sent.
  uint64_t SentOfType(zab::MessageType type) const {
    auto it = sent_by_type_.find(type);
    return it == sent_by_type_.end() ? 0 : it->second;
  }
  // Makes `peer`'s host compact through its last applied entry now (as the
  // compact fault does); returns false if it is down, busy or has nothing
  // to drop.
  bool CompactNow(zab::PeerId peer);
  // Crashes `peer` now, as the crash fault does, but keeps it down until
  // RestartNow (or Quiesce).
  void CrashNow(zab::PeerId peer);
  // Restarts a crashed `peer` now, from its disk.
  void RestartNow(zab::PeerId peer);
  // Peer ids: voters first, then observers.
  const std::vector<zab::PeerId>& peers() const { return ids_; }
  const std::vector<zab::PeerId>& voters() const { return voters_; }

  // "" while every invariant held; else the first violation.
  const std::string& failure() const { return failure_; }
  // The counters so far (ok/failure/trace left empty).
  RunResult Counters() const;
  // The network (its trace, stats, virtual time).
  const Network& network() const { return network_; }
  int64_t step() const { return step_; }

 private:
  // A timed scheduler event.
  struct Event {
    // kPersisted: the log writer's write is durable; kBarrier: the barrier.
    enum class Kind { kTick, kPersisted, kBarrier, kRestart, kHeal };
    Kind kind = Kind::kTick;
    zab::PeerId peer = 0;
    uint64_t incarnation = 0;  // stale once the peer crashed since
  };
  // An input to a core, possibly waiting in its inbox.
  struct Input {
    enum class Kind { kMessage, kTick, kPropose, kConfigChange };
    Kind kind = Kind::kTick;
    zab::Message message;
    std::string payload;
    zab::ConfigChange change;  // kConfigChange
  };
  struct Peer {
    zab::PeerId id = 0;
    bool voter = true;
    zab::CoreConfig config;
    zab::DurableState durable;
    std::string snapshot;  // durable: applied state through durable.base_zxid
    std::unique_ptr<zab::SnapshotSource> source;  // the core's, over applied
    std::unique_ptr<zab::Core> core;  // null while down
    std::unique_ptr<server::ReadyHost> host;  // the core's, while up
    uint64_t incarnation = 0;
    // The log writer: the write in flight and what waits for the next.
    std::vector<zab::Entry> writing;
    std::vector<zab::Entry> queued;
    std::deque<Input> inbox;         // while the host is blocked
    std::vector<zab::Entry> applied;  // since the core was created
    // A LEADERINFO below this peer's acceptedEpoch, just stepped (g).
    std::optional<zab::Message> stale_leader_info;
    Tick slow_until = 0;              // disk slow before this time
    Tick tick_phase = 0;              // ticks at phase + k * kTickUnits
    // Last status reported to the trace, and leadership as last checked.
    std::string last_status;
    int64_t serving_leader_epoch = -1;
    // The configuration its applied sequence (or snapshot) ends with.
    zab::Config applied_config;
  };

  void Schedule(Tick at, Event event);
  // Processes the earliest timed event (network or scheduler).
  void NextEvent();
  void Deliver(zab::PeerId to, Input input);
  void ApplyInput(Peer& peer, const Input& input);
  // Takes and carries out the host's work, then drains the inbox, until
  // the host is blocked or idle.
  void Pump(Peer& peer);
  // Carries out `work` (sends, log writes, barrier, applies, requests);
  // false on a failure.
  bool Process(Peer& peer, server::HostWork* work);
  // Starts the log writer's next write if none is in flight.
  void StartWrite(Peer& peer);
  // The log writer's write or the barrier became durable.
  void OnWritten(Peer& peer);
  void OnBarrierWritten(Peer& peer);
  // True if the peer's host has nothing being or waiting to be written.
  bool Idle(const Peer& peer) const;
  // Invariant f, when the peer is idle.
  void CheckHostAgreement(Peer& peer);
  // Sends `m` from `p`; false (and a failure) if it is misaddressed.
  bool SendOne(Peer& p, const zab::Message& m);
  void ApplyCommitted(Peer& peer, const zab::Entry& entry);
  // Replaces `peer`'s applied sequence with a snapshot's (checking c).
  void InstallSnapshot(Peer& peer, const zab::Snapshot& snapshot);
  Tick DiskDelay(const Peer& peer);

  void Crash(Peer& peer);
  void Restart(Peer& peer);
  void StartCore(Peer& peer);
  void RandomPartition();
  void RandomProposal();
  // The serving leader, if any, is asked for a random configuration
  // change; true if one was asked.
  bool RandomConfigChange();
  // The serving leader `p` asks the autopilot and proposes its change.
  void RunAutopilot(Peer& p);
  // Checks of the configurations (docs/membership.md) after a step.
  void CheckConfigs(Peer& p);
  void Heal();

  // Invariants a, b, e (leader logs) and the host/core agreement, over
  // every peer; records a failure.
  void CheckPeers();
  void Fail(const std::string& what);
  void Note(const std::string& text);
  Peer& PeerOf(zab::PeerId id);
  const Peer& PeerOf(zab::PeerId id) const;
  std::vector<zab::PeerId> UpPeers() const;

  const SimOptions options_;
  const bool tracing_;
  Network network_;
  Rng rng_;
  std::vector<zab::PeerId> ids_;
  std::vector<zab::PeerId> voters_;
  std::vector<zab::PeerId> observers_;
  std::vector<zab::PeerId> joiners_;
  std::map<zab::PeerId, Peer> peers_;
  std::map<std::pair<Tick, uint64_t>, Event> events_;
  uint64_t event_seq_ = 0;
  bool faults_ = true;
  bool heal_scheduled_ = false;
  int64_t step_ = 0;
  std::string failure_;

  AppliedHistory history_;
  std::map<int64_t, zab::PeerId> leader_of_epoch_;  // invariant a
  std::map<std::string, Proposal> proposals_;
  uint64_t next_payload_ = 0;
  // Index in the history of the liveness check's proposal, once applied
  // everywhere.
  std::optional<size_t> final_index_;
  uint64_t messages_sent_ = 0;
  int64_t crashes_ = 0;
  int64_t log_losses_ = 0;
  int64_t partitions_ = 0;
  int64_t compactions_ = 0;
  int64_t config_changes_ = 0;
  // The highest zxid any peer ever knew committed.
  Zxid max_committed_ = 0;
  std::map<zab::MessageType, uint64_t> sent_by_type_;
};

}  // namespace synod::sim

#endif  // SYNOD_TEST_SIM_ENSEMBLE_H_
