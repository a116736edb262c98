// The ensemble simulation: a discrete-event scheduler over sim::Network, a
// host loop per peer that follows zab/core.h with an in-memory disk, and
// the invariant checks.

#include "sim/ensemble.h"

#include <algorithm>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/strings.h"

namespace synod::sim {
namespace {

using zab::Core;
using zab::CoreStatus;
using zab::DurableState;
using zab::Entry;
using zab::Message;
using zab::PeerId;
using zab::PeerState;
using zab::Ready;

// Downtime of a crashed peer, partitions' duration and a slow disk's
// duration, in ticks.
constexpr int64_t kMinDownTicks = 5;
constexpr int64_t kMaxDownTicks = 60;
constexpr int64_t kMinPartitionTicks = 5;
constexpr int64_t kMaxPartitionTicks = 40;
constexpr int64_t kMinSlowTicks = 5;
constexpr int64_t kMaxSlowTicks = 50;
// Persist latency in time units: fast and slow disks.
constexpr Tick kFastDiskMax = 2;
constexpr Tick kSlowDiskMin = kTickUnits;
constexpr Tick kSlowDiskMax = 6 * kTickUnits;
// Scheduler PRNG seed derivation (the network uses the seed itself).
constexpr uint64_t kSchedulerSeedMix = 0x5ca1ab1e0ddba11ULL;

// A host's SnapshotSource: its applied sequence, as of its last entry.
class HostSnapshot : public zab::SnapshotSource {
 public:
  explicit HostSnapshot(const std::vector<Entry>* applied)
      : applied_(applied) {}
  std::pair<Zxid, std::string> Snapshot() const override {
    return {applied_->empty() ? 0 : applied_->back().zxid,
            EncodeApplied(*applied_)};
  }

 private:
  const std::vector<Entry>* applied_;
};

std::string Z(Zxid zxid) { return zab::ZxidString(zxid); }

std::string EntryString(const Entry& e) {
  if (zab::IsConfigData(e.data)) {
    auto config = zab::ConfigOfEntry(e);
    return absl::StrCat(Z(e.zxid), " config ",
                        config.ok() ? zab::DescribeConfig(*config)
                                    : config.status().ToString());
  }
  return absl::StrCat(Z(e.zxid), " '", e.data, "'");
}

std::string StatusString(const zab::Core& core) {
  const CoreStatus st = core.status();
  return absl::StrCat(zab::PeerStateName(st.state), " leader=", st.leader,
                      st.serving ? " serving" : "",
                      st.recovering ? " recovering" : "", " aepoch=",
                      st.accepted_epoch, " cepoch=", st.current_epoch,
                      " last=", Z(st.last_zxid), " committed=",
                      Z(st.committed_zxid), " config=",
                      zab::DescribeConfig(core.configuration()));
}


}  // namespace

// ---- Free helpers -----------------------------------------------------------

const char* MutationName(zab::Mutation mutation) {
  switch (mutation) {
    case zab::Mutation::kNone: return "none";
    case zab::Mutation::kCommitWithoutQuorum: return "commit-without-quorum";
    case zab::Mutation::kForgetAcceptedEpoch: return "forget-accepted-epoch";
    case zab::Mutation::kFollowOldEpochLeader:
      return "follow-old-epoch-leader";
    case zab::Mutation::kSkipTrunc: return "skip-trunc";
    case zab::Mutation::kIgnoreRecovering: return "ignore-recovering";
    case zab::Mutation::kConcurrentConfigChanges:
      return "concurrent-config-changes";
    case zab::Mutation::kConfigAtCommit: return "config-at-commit";
    case zab::Mutation::kKeepTruncatedConfig: return "keep-truncated-config";
  }
  return "?";
}

bool ParseMutation(const std::string& name, zab::Mutation* out) {
  for (zab::Mutation m :
       {zab::Mutation::kNone, zab::Mutation::kCommitWithoutQuorum,
        zab::Mutation::kForgetAcceptedEpoch,
        zab::Mutation::kFollowOldEpochLeader, zab::Mutation::kSkipTrunc,
        zab::Mutation::kIgnoreRecovering,
        zab::Mutation::kConcurrentConfigChanges,
        zab::Mutation::kConfigAtCommit,
        zab::Mutation::kKeepTruncatedConfig}) {
    if (name == MutationName(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

SimOptions WithoutFaults(SimOptions options) {
  options.drop_rate = 0;
  options.dup_rate = 0;
  options.crash_rate = 0;
  options.partition_rate = 0;
  options.slow_disk_rate = 0;
  return options;
}

namespace {
template <typename Entries>  // std::vector or std::deque of Entry
std::string CheckIncreasingIn(const Entries& entries,
                              const std::string& what) {
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].zxid <= entries[i - 1].zxid) {
      return absl::StrCat(what, ": zxids not strictly increasing at index ",
                          i, ": ", Z(entries[i - 1].zxid), " then ",
                          Z(entries[i].zxid));
    }
  }
  return "";
}
}  // namespace

std::string CheckIncreasing(const std::vector<Entry>& entries,
                            const std::string& what) {
  return CheckIncreasingIn(entries, what);
}

std::string CheckIncreasingLog(const std::deque<Entry>& entries,
                               const std::string& what) {
  return CheckIncreasingIn(entries, what);
}

// The founding configuration, as the core builds it from its CoreConfig.
// The founding configuration, with each founder's address ("p<id>"), as a
// runtime's founders write it.
zab::Config FoundingConfigOf(const zab::CoreConfig& c) {
  zab::Config founding = zab::FoundingConfig(c.voters, c.observers);
  for (auto* list : {&founding.voters, &founding.observers}) {
    for (zab::Member& m : *list) m.address = absl::StrCat("p", m.id);
  }
  return founding;
}

// The configuration the last config entry of `entries` sets, else
// `founding`.
zab::Config LastConfigOf(const std::vector<Entry>& entries,
                         zab::Config founding) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (!zab::IsConfigData(it->data)) continue;
    absl::StatusOr<zab::Config> c = zab::ConfigOfEntry(*it);
    if (c.ok()) return *std::move(c);
  }
  return founding;
}

std::string EncodeApplied(const std::vector<Entry>& applied) {
  std::string out;
  for (const Entry& e : applied) {
    absl::StrAppend(&out, e.zxid, ":", e.data.size(), ":", AV(e.data));
  }
  return out;
}

bool DecodeApplied(const std::string& data, std::vector<Entry>* out) {
  out->clear();
  size_t pos = 0;
  auto number = [&](uint64_t* v) {
    const size_t colon = data.find(':', pos);
    if (colon == std::string::npos || colon == pos) return false;
    *v = 0;
    for (size_t i = pos; i < colon; ++i) {
      if (data[i] < '0' || data[i] > '9') return false;
      *v = *v * 10 + static_cast<uint64_t>(data[i] - '0');
    }
    pos = colon + 1;
    return true;
  };
  while (pos < data.size()) {
    uint64_t zxid = 0;
    uint64_t size = 0;
    if (!number(&zxid) || !number(&size) || data.size() - pos < size) {
      return false;
    }
    out->push_back(Entry{static_cast<Zxid>(zxid), data.substr(pos, size)});
    pos += size;
  }
  return true;
}

size_t WriteCount(const Ready& ready) {
  return (ready.snapshot ? 1 : 0) + (ready.truncate_after ? 1 : 0) +
         ready.entries.size() +
         (ready.accepted_epoch ? 1 : 0) + (ready.current_epoch ? 1 : 0) +
         (ready.recovered ? 1 : 0);
}

std::string PersistTo(const Ready& ready, size_t max_writes,
                      DurableState* durable, std::string* snapshot) {
  size_t done = 0;
  if (ready.snapshot) {
    if (done == max_writes) return "";
    ++done;
    durable->log.clear();
    durable->base_zxid = ready.snapshot->zxid;
    durable->base_config = ready.snapshot->config;
    durable->needs_snapshot = false;
    if (snapshot != nullptr) *snapshot = ready.snapshot->data;
  }
  if (ready.truncate_after) {
    if (done == max_writes) return "";
    ++done;
    const Zxid t = *ready.truncate_after;
    auto& log = durable->log;
    auto it = std::upper_bound(
        log.begin(), log.end(), t,
        [](Zxid z, const Entry& e) { return z < e.zxid; });
    log.erase(it, log.end());
  }
  for (const Entry& e : ready.entries) {
    if (done == max_writes) return "";
    ++done;
    if (!durable->log.empty() && e.zxid <= durable->log.back().zxid) {
      return absl::StrCat("Ready entry ", Z(e.zxid),
                          " does not extend the log (last ",
                          Z(durable->log.back().zxid), ", truncate_after ",
                          ready.truncate_after ? Z(*ready.truncate_after)
                                               : std::string("none"),
                          ")");
    }
    durable->log.push_back(e);
  }
  if (ready.accepted_epoch) {
    if (done == max_writes) return "";
    ++done;
    if (*ready.accepted_epoch < durable->accepted_epoch) {
      return absl::StrCat("acceptedEpoch decreases from ",
                          durable->accepted_epoch, " to ",
                          *ready.accepted_epoch);
    }
    durable->accepted_epoch = *ready.accepted_epoch;
  }
  if (ready.current_epoch) {
    if (done == max_writes) return "";
    ++done;
    // A recovering peer follows a leader of a lower epoch than one it had
    // joined: its currentEpoch then describes its (synced) log truly.
    if (*ready.current_epoch < durable->current_epoch && !durable->recovering) {
      return absl::StrCat("currentEpoch decreases from ",
                          durable->current_epoch, " to ",
                          *ready.current_epoch);
    }
    if (*ready.current_epoch > durable->accepted_epoch) {
      return absl::StrCat("currentEpoch ", *ready.current_epoch,
                          " exceeds acceptedEpoch ", durable->accepted_epoch);
    }
    durable->current_epoch = *ready.current_epoch;
  }
  if (ready.recovered) {
    if (done == max_writes) return "";
    ++done;
    durable->recovering = false;
  }
  return "";
}

// ---- AppliedHistory ----------------------------------------------------------

std::string AppliedHistory::Apply(size_t index, const Entry& entry) {
  if (index < entries_.size()) {
    if (entries_[index] == entry) return "";
    return absl::StrCat("applied ", EntryString(entry), " as entry #", index,
                        " where another peer applied ",
                        EntryString(entries_[index]));
  }
  if (index > entries_.size()) {
    return absl::StrCat("applied entry #", index, " but the history has only ",
                        entries_.size());
  }
  if (!entries_.empty() && entry.zxid <= entries_.back().zxid) {
    return absl::StrCat("applied ", EntryString(entry), " as entry #", index,
                        " after ", EntryString(entries_.back()),
                        " (zxid not increasing)");
  }
  if (!payloads_.insert(entry.data).second) {
    return absl::StrCat("applied ", EntryString(entry),
                        " but that payload was already applied: a proposal "
                        "submitted once took effect twice");
  }
  entries_.push_back(entry);
  return "";
}

std::optional<size_t> AppliedHistory::Find(Zxid zxid) const {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), zxid,
      [](const Entry& e, Zxid z) { return e.zxid < z; });
  if (it == entries_.end() || it->zxid != zxid) return std::nullopt;
  return static_cast<size_t>(it - entries_.begin());
}

std::string AppliedHistory::CheckContainedIn(
    const std::vector<Entry>& log) const {
  std::string err = CheckIncreasing(log, "log");
  if (!err.empty()) return err;
  auto it = log.begin();
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& want = entries_[i];
    it = std::lower_bound(it, log.end(), want.zxid,
                          [](const Entry& e, Zxid z) { return e.zxid < z; });
    if (it == log.end() || it->zxid != want.zxid) {
      return absl::StrCat(
          "log (", log.size(), " entries, last ",
          log.empty() ? std::string("none") : Z(log.back().zxid),
          ") lacks applied entry #", i, " ", EntryString(want));
    }
    if (it->data != want.data) {
      return absl::StrCat("log has ", EntryString(*it), " where entry #", i,
                          " ", EntryString(want), " was applied");
    }
  }
  return "";
}

// ---- Ensemble: setup ---------------------------------------------------------

Ensemble::Ensemble(const SimOptions& options)
    : options_(options),
      tracing_(options.trace),
      network_(options.seed,
               [&options] {
                 NetworkOptions n;
                 n.min_delay = options.min_delay;
                 n.max_delay = options.max_delay;
                 n.drop_probability = options.drop_rate;
                 n.duplicate_probability = options.dup_rate;
                 n.fifo_per_link = true;
                 n.trace = options.trace;
                 n.trace_capacity = options.trace_capacity;
                 return n;
               }()),
      rng_(options.seed ^ kSchedulerSeedMix) {
  const int voters = std::max(1, options.voters);
  const int observers = std::max(0, options.observers);
  const int joiners = std::max(0, options.joiners);
  for (int i = 1; i <= voters + observers + joiners; ++i) {
    PeerId id = static_cast<PeerId>(i);
    ids_.push_back(id);
    if (i <= voters + observers) {
      (i <= voters ? voters_ : observers_).push_back(id);
    } else {
      joiners_.push_back(id);
    }
  }
  for (PeerId id : ids_) {
    Peer& p = peers_[id];
    p.id = id;
    p.voter = id <= static_cast<PeerId>(voters);
    p.config = options.core;
    p.config.self = id;
    p.config.voters = voters_;
    p.config.observers = observers_;
    // Every peer says where it listens, and the founding configuration
    // names each founder's address (as a runtime's founders write it).
    p.config.address = absl::StrCat("p", id);
    p.durable.base_config = FoundingConfigOf(p.config);
    if (std::count(joiners_.begin(), joiners_.end(), id) > 0) {
      p.config.address = absl::StrCat("j", id);
      p.durable.needs_snapshot = true;
    }
    p.config.snapshot_chunk_bytes = options.snapshot_chunk_bytes;
    p.source = std::make_unique<HostSnapshot>(&p.applied);
    p.config.snapshot_source = p.source.get();
  }
  Note(absl::StrCat("start seed=", options.seed, " voters=", voters,
                    " observers=", observers));
  for (PeerId id : ids_) StartCore(PeerOf(id));
  CheckPeers();
}

Ensemble::~Ensemble() = default;

Ensemble::Peer& Ensemble::PeerOf(PeerId id) { return peers_.at(id); }
const Ensemble::Peer& Ensemble::PeerOf(PeerId id) const {
  return peers_.at(id);
}

void Ensemble::Note(const std::string& text) {
  if (tracing_) network_.Note(absl::StrCat("s", step_, " ", text));
}

void Ensemble::Fail(const std::string& what) {
  if (!failure_.empty()) return;
  failure_ = absl::StrCat("step ", step_, " (t=", network_.Now(), ", tick ",
                          network_.Now() / kTickUnits, "): ", what);
  Note(absl::StrCat("FAILURE: ", what));
}

void Ensemble::Schedule(Tick at, Event event) {
  events_.emplace(std::make_pair(at, event_seq_++), event);
}

std::vector<PeerId> Ensemble::UpPeers() const {
  std::vector<PeerId> up;
  for (PeerId id : ids_) {
    if (PeerOf(id).core) up.push_back(id);
  }
  return up;
}

bool Ensemble::IsUp(PeerId peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.core != nullptr;
}

const std::vector<Entry>& Ensemble::Applied(PeerId peer) const {
  return PeerOf(peer).applied;
}

const DurableState& Ensemble::Durable(PeerId peer) const {
  return PeerOf(peer).durable;
}

CoreStatus Ensemble::Status(PeerId peer) const {
  return PeerOf(peer).core->status();
}

// ---- Ensemble: the scheduler -------------------------------------------------

bool Ensemble::Step() {
  if (!failure_.empty()) return false;
  ++step_;
  bool acted = false;
  if (faults_) {
    std::vector<PeerId> up = UpPeers();
    if (rng_.Chance(options_.crash_rate)) {
      if (!up.empty()) {
        Crash(PeerOf(up[rng_.Uniform(up.size())]));
        acted = true;
      }
    } else if (rng_.Chance(options_.partition_rate)) {
      RandomPartition();
      acted = true;
    } else if (rng_.Chance(options_.slow_disk_rate)) {
      if (!up.empty()) {
        Peer& p = PeerOf(up[rng_.Uniform(up.size())]);
        Tick ticks = rng_.Range(kMinSlowTicks, kMaxSlowTicks);
        p.slow_until = network_.Now() + ticks * kTickUnits;
        Note(absl::StrCat("slow disk ", p.id, " for ", ticks, " ticks"));
        acted = true;
      }
    } else if (rng_.Chance(options_.propose_rate)) {
      RandomProposal();
      acted = true;
    } else if (rng_.Chance(options_.compact_rate)) {
      if (!up.empty()) acted = CompactNow(up[rng_.Uniform(up.size())]);
    } else if (rng_.Chance(options_.config_change_rate)) {
      acted = RandomConfigChange();
    }
  }
  if (!acted) NextEvent();
  if (failure_.empty()) CheckPeers();
  return failure_.empty();
}

bool Ensemble::RunUntil(const std::function<bool()>& done, int64_t ticks) {
  const Tick deadline = network_.Now() + ticks * kTickUnits;
  while (failure_.empty()) {
    if (done()) return true;
    if (network_.Now() >= deadline) return false;
    Step();
  }
  return false;
}

void Ensemble::NextEvent() {
  std::optional<Tick> net = network_.NextEventTime();
  const bool own = !events_.empty();
  if (net && (!own || *net <= events_.begin()->first.first)) {
    std::optional<Message> m = network_.Next(*net);
    if (!m) return;
    if (peers_.count(m->to) == 0) {
      Fail(absl::StrCat("message to unknown peer: ", zab::Describe(*m)));
      return;
    }
    Input in;
    in.kind = Input::Kind::kMessage;
    in.message = std::move(*m);
    const PeerId to = in.message.to;
    Deliver(to, std::move(in));
    return;
  }
  if (!own) return;  // nothing can happen (every peer down, no restart)
  auto node = events_.extract(events_.begin());
  const Tick at = node.key().first;
  const Event ev = node.mapped();
  network_.AdvanceTo(at);
  if (ev.kind == Event::Kind::kHeal) {
    Heal();
    return;
  }
  Peer& p = PeerOf(ev.peer);
  switch (ev.kind) {
    case Event::Kind::kTick:
      if (!p.core || ev.incarnation != p.incarnation) return;
      Schedule(at + kTickUnits, ev);
      if (tracing_) {
        Note(absl::StrCat("tick ", p.id, p.host->blocked() ? " (blocked)" : ""));
      }
      {
        Input in;
        in.kind = Input::Kind::kTick;
        Deliver(p.id, std::move(in));
      }
      return;
    case Event::Kind::kPersisted:
      if (!p.core || ev.incarnation != p.incarnation || p.writing.empty()) return;
      OnWritten(p);
      return;
    case Event::Kind::kBarrier:
      if (!p.core || ev.incarnation != p.incarnation ||
          !p.host->barrier_written()) {
        return;
      }
      OnBarrierWritten(p);
      return;
    case Event::Kind::kRestart:
      // Restarted already (Quiesce, RestartNow), or kept down (CrashNow).
      if (p.core || ev.incarnation != p.incarnation) return;
      Restart(p);
      return;
    case Event::Kind::kHeal:
      return;
  }
}

// ---- Ensemble: the host loop -------------------------------------------------

void Ensemble::Deliver(PeerId to, Input input) {
  Peer& p = PeerOf(to);
  if (!p.core) return;
  if (p.host->blocked()) {
    p.inbox.push_back(std::move(input));
    return;
  }
  ApplyInput(p, input);
  Pump(p);
}

void Ensemble::ApplyInput(Peer& p, const Input& input) {
  p.stale_leader_info.reset();
  switch (input.kind) {
    case Input::Kind::kMessage: {
      const Message& m = input.message;
      // Invariant g: a LEADERINFO below the epoch this peer promised
      // (acceptedEpoch) must not be acknowledged. Pump takes the next Ready
      // right after this step, so it holds exactly this message's effects.
      if (m.type == zab::MessageType::kLeaderInfo &&
          !p.core->status().recovering &&
          m.epoch < p.core->status().accepted_epoch) {
        p.stale_leader_info = m;
      }
      p.core->Step(m);
      return;
    }
    case Input::Kind::kTick:
      p.core->Tick();
      if (options_.autopilot_dead_ticks > 0 || !joiners_.empty()) {
        RunAutopilot(p);
      }
      return;
    case Input::Kind::kPropose: {
      absl::Status s = p.core->Propose(input.payload);
      auto it = proposals_.find(input.payload);
      if (it != proposals_.end() && it->second.state == Proposal::State::kQueued) {
        it->second.state =
            s.ok() ? Proposal::State::kAccepted : Proposal::State::kRejected;
      }
      if (tracing_) Note(absl::StrCat("propose '", input.payload, "' at ", p.id, ": ",
                        s.ok() ? std::string("ok") : s.ToString()));
      return;
    }
    case Input::Kind::kConfigChange: {
      absl::Status s = p.core->ProposeConfig(input.change);
      if (s.ok()) ++config_changes_;
      Note(absl::StrCat("config change ",
                        zab::ChangeKindName(input.change.kind), " ",
                        input.change.id, " at ", p.id, ": ",
                        s.ok() ? std::string("ok") : s.ToString()));
      return;
    }
  }
}

Tick Ensemble::DiskDelay(const Peer& p) {
  if (network_.Now() < p.slow_until) {
    return rng_.Range(kSlowDiskMin, kSlowDiskMax);
  }
  return rng_.Range(0, kFastDiskMax);
}

void Ensemble::Pump(Peer& p) {
  while (p.core && failure_.empty()) {
    server::HostWork work;
    if (p.host->TakeNext(&work)) {
      p.stale_leader_info.reset();  // checked by the observer
      if (!Process(p, &work)) return;
      continue;
    }
    if (p.host->blocked() || p.inbox.empty()) break;
    Input in = std::move(p.inbox.front());
    p.inbox.pop_front();
    ApplyInput(p, in);
  }
  if (p.core && failure_.empty()) CheckHostAgreement(p);
}

bool Ensemble::Process(Peer& p, server::HostWork* work) {
  for (const Message& m : work->send) {
    if (!SendOne(p, m)) return false;
  }
  for (Entry& e : work->append) p.queued.push_back(std::move(e));
  StartWrite(p);
  if (work->persist_barrier) {
    const zab::Ready& rd = *p.host->barrier();
    const Tick delay = DiskDelay(p);
    if (tracing_) {
      std::string what = absl::StrCat("disk ", p.id, " writing barrier:");
      if (rd.snapshot) {
        absl::StrAppend(&what, " snapshot=", Z(rd.snapshot->zxid), "(",
                        rd.snapshot->data.size(), " bytes)");
      }
      if (rd.truncate_after) {
        absl::StrAppend(&what, " truncate_after=", Z(*rd.truncate_after));
      }
      if (!rd.entries.empty()) {
        absl::StrAppend(&what, " entries=", Z(rd.entries.front().zxid), "..",
                        Z(rd.entries.back().zxid), "(", rd.entries.size(),
                        ")");
      }
      if (rd.accepted_epoch) absl::StrAppend(&what, " aepoch=", *rd.accepted_epoch);
      if (rd.current_epoch) absl::StrAppend(&what, " cepoch=", *rd.current_epoch);
      if (rd.recovered) absl::StrAppend(&what, " recovered");
      absl::StrAppend(&what, ", done at t=", network_.Now() + delay);
      Note(what);
    }
    if (!p.writing.empty() || !p.queued.empty()) {
      Fail(absl::StrCat("peer ", p.id,
                        " was asked to write a barrier while its log writer "
                        "has entries in flight"));
      return false;
    }
    Event ev;
    ev.kind = Event::Kind::kBarrier;
    ev.peer = p.id;
    ev.incarnation = p.incarnation;
    Schedule(network_.Now() + delay, ev);
  }
  if (work->install) {
    InstallSnapshot(p, *work->install);
    if (!failure_.empty()) return false;
  }
  for (const Entry& e : work->commit) {
    ApplyCommitted(p, e);
    if (!failure_.empty()) return false;
  }
  if (work->lost_leader) Note(absl::StrCat("lost leader ", p.id));
  // The leader's host proposes what learners forwarded, as it arrived.
  for (std::string& request : work->requests) {
    absl::Status s = p.core->Propose(std::move(request));
    if (tracing_) Note(absl::StrCat("forwarded request at ", p.id, ": ",
                                    s.ok() ? std::string("proposed") : s.ToString()));
  }
  return true;
}

void Ensemble::StartWrite(Peer& p) {
  if (!p.writing.empty() || p.queued.empty()) return;
  p.writing.swap(p.queued);
  const Tick delay = DiskDelay(p);
  if (tracing_) {
    Note(absl::StrCat("disk ", p.id, " writing entries ",
                      Z(p.writing.front().zxid), "..", Z(p.writing.back().zxid),
                      " (", p.writing.size(), "), done at t=",
                      network_.Now() + delay));
  }
  Event ev;
  ev.kind = Event::Kind::kPersisted;
  ev.peer = p.id;
  ev.incarnation = p.incarnation;
  Schedule(network_.Now() + delay, ev);
}

void Ensemble::OnWritten(Peer& p) {
  Ready written;
  written.entries.swap(p.writing);
  std::string err = PersistTo(written, std::numeric_limits<size_t>::max(),
                              &p.durable, &p.snapshot);
  if (tracing_) {
    Note(absl::StrCat("persist ", p.id, ": entries ",
                      Z(written.entries.front().zxid), "..",
                      Z(written.entries.back().zxid), " (",
                      written.entries.size(), ")"));
  }
  if (!err.empty()) {
    Fail(absl::StrCat("e (durable log/epochs) at peer ", p.id, ": ", err));
    return;
  }
  server::HostWork work;
  p.host->OnDurable(written.entries.back().zxid, &work);
  if (!Process(p, &work)) return;
  StartWrite(p);
  Pump(p);
}

void Ensemble::OnBarrierWritten(Peer& p) {
  std::string err = PersistTo(*p.host->barrier(),
                              std::numeric_limits<size_t>::max(), &p.durable,
                              &p.snapshot);
  if (tracing_) Note(absl::StrCat("persist ", p.id, ": barrier"));
  if (!err.empty()) {
    Fail(absl::StrCat("e (durable log/epochs) at peer ", p.id, ": ", err));
    return;
  }
  server::HostWork work;
  p.host->OnBarrierDone(&work);
  if (!Process(p, &work)) return;
  Pump(p);
}

bool Ensemble::Idle(const Peer& p) const {
  return p.core && !p.host->blocked() && !p.host->entries_pending() &&
         p.writing.empty() && p.queued.empty() && !p.core->HasReady();
}

bool Ensemble::SendOne(Peer& p, const Message& m) {
  if (m.from != p.id || peers_.count(m.to) == 0 || m.to == p.id) {
    Fail(absl::StrCat("peer ", p.id, " sent a misaddressed message: ",
                      zab::Describe(m)));
    return false;
  }
  ++sent_by_type_[m.type];
  network_.Send(m);
  return true;
}

void Ensemble::CheckHostAgreement(Peer& p) {
  // With nothing left to persist, the core's log and epochs are the disk's.
  if (!options_.check_host_agreement || !Idle(p)) return;
  const auto& log = p.core->log();
  const std::vector<Entry>& disk = p.durable.log;
  if (log.size() != disk.size() ||
      (!log.empty() && !(log.back() == disk.back()))) {
    Fail(absl::StrCat(
        "f (host/core agreement): peer ", p.id,
        " has nothing left to persist but its log (", log.size(),
        " entries, last ", log.empty() ? std::string("none") : Z(log.back().zxid),
        ") is not its durable log (", disk.size(), " entries, last ",
        disk.empty() ? std::string("none") : Z(disk.back().zxid), ")"));
    return;
  }
  CoreStatus st = p.core->status();
  if (st.accepted_epoch != p.durable.accepted_epoch ||
      st.current_epoch != p.durable.current_epoch) {
    Fail(absl::StrCat("f (host/core agreement): peer ", p.id,
                      " has nothing left to persist but reports epochs ",
                      st.accepted_epoch, "/", st.current_epoch,
                      " (accepted/current) while its disk has ",
                      p.durable.accepted_epoch, "/",
                      p.durable.current_epoch));
  }
}

void Ensemble::InstallSnapshot(Peer& p, const zab::Snapshot& snap) {
  std::vector<Entry> state;
  if (!DecodeApplied(snap.data, &state)) {
    Fail(absl::StrCat("peer ", p.id, " got a malformed snapshot at ",
                      Z(snap.zxid)));
    return;
  }
  const Zxid last = state.empty() ? 0 : state.back().zxid;
  if (last != snap.zxid) {
    Fail(absl::StrCat("peer ", p.id, " got a snapshot at ", Z(snap.zxid),
                      " whose state ends at ", Z(last)));
    return;
  }
  std::string err = CheckIncreasing(state, "snapshot");
  for (size_t i = 0; err.empty() && i < state.size(); ++i) {
    err = history_.Apply(i, state[i]);
  }
  if (!err.empty()) {
    Fail(absl::StrCat("c (applied sequences are prefixes of one): peer ",
                      p.id, " snapshot at ", Z(snap.zxid), ": ", err));
    return;
  }
  Note(absl::StrCat("install snapshot ", p.id, " at ", Z(snap.zxid), " (",
                    state.size(), " entries, was ", p.applied.size(), ")"));
  p.applied = std::move(state);
  const zab::Config carried =
      LastConfigOf(p.applied, FoundingConfigOf(p.config));
  if (snap.config && !(*snap.config == carried)) {
    Fail(absl::StrCat("h (one configuration per history): peer ", p.id,
                      " got a snapshot at ", Z(snap.zxid), " carrying ",
                      zab::DescribeConfig(*snap.config), ", its entries set ",
                      zab::DescribeConfig(carried)));
    return;
  }
  p.applied_config = carried;
}

void Ensemble::CrashNow(PeerId id) {
  Peer& p = PeerOf(id);
  if (!p.core) return;
  Crash(p);
  ++p.incarnation;  // its scheduled restart is now stale
}

void Ensemble::RestartNow(PeerId id) {
  Peer& p = PeerOf(id);
  if (!p.core) Restart(p);
}

bool Ensemble::CompactNow(PeerId id) {
  Peer& p = PeerOf(id);
  if (!Idle(p) || p.applied.empty()) return false;
  const Zxid z = p.applied.back().zxid;
  if (z <= p.durable.base_zxid) return false;
  // The host's own snapshot first, then the core forgets the same entries.
  auto& log = p.durable.log;
  auto after = std::upper_bound(
      log.begin(), log.end(), z,
      [](Zxid x, const Entry& e) { return x < e.zxid; });
  log.erase(log.begin(), after);
  p.durable.base_zxid = z;
  // The configuration as of z goes with it (rule M7).
  p.durable.base_config = p.core->ConfigurationAsOf(z);
  p.snapshot = EncodeApplied(p.applied);
  p.core->Compact(z);
  ++compactions_;
  Note(absl::StrCat("compact ", p.id, " through ", Z(z), " (", p.applied.size(),
                    " applied, core base ", Z(p.core->base_zxid()), ")"));
  return true;
}

void Ensemble::ApplyCommitted(Peer& p, const Entry& e) {
  if (!p.applied.empty() && e.zxid <= p.applied.back().zxid) {
    Fail(absl::StrCat("e (applied zxids increase): peer ", p.id, " applied ",
                      EntryString(e), " after ",
                      EntryString(p.applied.back())));
    return;
  }
  std::string err = history_.Apply(p.applied.size(), e);
  if (!err.empty()) {
    Fail(absl::StrCat("c (applied sequences are prefixes of one): peer ",
                      p.id, " ", err));
    return;
  }
  p.applied.push_back(e);
  if (tracing_) Note(absl::StrCat("apply ", p.id, " #", p.applied.size() - 1, " ",
                    EntryString(e)));
  if (zab::IsConfigData(e.data)) {
    absl::StatusOr<zab::Config> next = zab::ConfigOfEntry(e);
    if (!next.ok()) {
      Fail(absl::StrCat("h (one configuration per history): peer ", p.id,
                        " applied a damaged config entry at ", Z(e.zxid)));
      return;
    }
    if (zab::VoterDistance(p.applied_config, *next) > 1) {
      Fail(absl::StrCat("i (one voter per change): peer ", p.id, " applied ",
                        zab::DescribeConfig(*next), " after ",
                        zab::DescribeConfig(p.applied_config)));
      return;
    }
    p.applied_config = *std::move(next);
  }
  auto it = proposals_.find(e.data);
  if (it != proposals_.end() && it->second.peer == p.id &&
      it->second.incarnation == p.incarnation &&
      it->second.state != Proposal::State::kAcknowledged) {
    it->second.state = Proposal::State::kAcknowledged;
    it->second.zxid = e.zxid;
    Note(absl::StrCat("ack '", e.data, "' at ", p.id, " zxid=", Z(e.zxid)));
  }
}

// ---- Ensemble: clients and faults --------------------------------------------

void Ensemble::Propose(PeerId peer, const std::string& payload) {
  Peer& p = PeerOf(peer);
  if (!p.core) return;
  Proposal& prop = proposals_[payload];
  prop.peer = peer;
  prop.incarnation = p.incarnation;
  prop.state = Proposal::State::kQueued;
  Input in;
  in.kind = Input::Kind::kPropose;
  in.payload = payload;
  if (p.host->blocked()) {
    Note(absl::StrCat("propose '", payload, "' at ", peer, ": queued"));
  }
  Deliver(peer, std::move(in));
}

void Ensemble::RunAutopilot(Peer& p) {
  const CoreStatus st = p.core->status();
  const zab::Config& config = p.core->configuration();
  if (st.state != PeerState::kLeading || !st.serving ||
      config.version > st.committed_zxid) {
    return;
  }
  zab::AutopilotPolicy policy;
  policy.target_voters = options_.autopilot_voters;
  policy.dead_voter_ticks = options_.autopilot_dead_ticks;
  // Joining peers first (as the server does), then the autopilot proper.
  std::optional<zab::ConfigChange> change;
  if (std::vector<zab::ConfigChange> asks = p.core->Admissions();
      !asks.empty()) {
    change = std::move(asks.front());
  } else if (options_.autopilot_dead_ticks > 0) {
    change = zab::NextAutopilotChange(config, p.id, p.core->MemberStates(),
                                      policy);
  }
  if (!change) return;
  absl::Status s = p.core->ProposeConfig(*change);
  if (s.ok()) ++config_changes_;
  Note(absl::StrCat("autopilot at ", p.id, ": ",
                    zab::ChangeKindName(change->kind), " ", change->id, ": ",
                    s.ok() ? std::string("ok") : s.ToString()));
}

bool Ensemble::SettleConfig(
    const std::string& what,
    const std::function<bool(const zab::Config&)>& reached) {
  std::string last;
  const bool ok = RunUntil(
      [&] {
        std::optional<PeerId> leader = ServingLeader();
        if (!leader) return false;
        const Peer& p = PeerOf(*leader);
        const zab::Config& config = p.core->configuration();
        last = zab::DescribeConfig(config);
        return p.core->status().committed_zxid >= config.version &&
               reached(config);
      },
      options_.settle_ticks);
  if (!failure_.empty()) return false;
  if (!ok) {
    Fail(absl::StrCat(what, " within ", options_.settle_ticks,
                      " ticks; last: ", last));
    return false;
  }
  return true;
}

bool Ensemble::CheckJoined() {
  return SettleConfig(
      "joiners: not every joiner became a member", [&](const zab::Config& c) {
        for (PeerId id : joiners_) {
          const zab::Member* m = c.Find(id);
          if (m == nullptr || m->address != absl::StrCat("j", id)) return false;
        }
        return true;
      });
}

bool Ensemble::CheckAutopilot() {
  const size_t want =
      std::min(options_.autopilot_voters, static_cast<size_t>(ids_.size()));
  return SettleConfig(absl::StrCat("autopilot: the voters did not reach ", want),
                      [&](const zab::Config& c) { return c.voters.size() == want; });
}

bool Ensemble::RandomConfigChange() {
  std::optional<PeerId> leader = ServingLeader();
  if (!leader) return false;
  const zab::Config& config = PeerOf(*leader).core->configuration();
  Input in;
  in.kind = Input::Kind::kConfigChange;
  // Damaged disks make a voter count for nothing until it is synced, which
  // a configuration of fewer than three voters cannot survive: with them,
  // changes keep three.
  const size_t min_voters = options_.log_loss_rate > 0 ? 3 : 1;
  const bool promote = !config.observers.empty() &&
                       (config.voters.size() <= min_voters || rng_.Chance(0.5));
  if (promote) {
    in.change.kind = zab::ConfigChange::Kind::kPromote;
    in.change.id = config.observers[rng_.Uniform(config.observers.size())].id;
  } else if (config.voters.size() > min_voters) {
    in.change.kind = zab::ConfigChange::Kind::kDemote;
    in.change.id = config.voters[rng_.Uniform(config.voters.size())].id;
  } else {
    return false;
  }
  Deliver(*leader, std::move(in));
  return true;
}

void Ensemble::RandomProposal() {
  std::vector<PeerId> up = UpPeers();
  if (up.empty()) return;
  PeerId at = up[rng_.Uniform(up.size())];
  Propose(at, absl::StrCat("c", next_payload_++));
}

void Ensemble::Crash(Peer& p) {
  ++crashes_;
  const Tick down = rng_.Range(kMinDownTicks, kMaxDownTicks);
  std::string lost;
  // The write in flight (a barrier, or the log writer's entries) may be
  // torn; what waits for the next write is lost.
  const bool barrier = p.host->barrier_written();
  if (barrier || !p.writing.empty()) {
    Ready in_flight;
    if (!barrier) in_flight.entries = p.writing;
    const Ready& rd = barrier ? *p.host->barrier() : in_flight;
    const size_t writes = WriteCount(rd);
    size_t kept = 0;
    if (options_.torn_writes) {
      kept = static_cast<size_t>(rng_.Uniform(writes + 1));
      std::string err = PersistTo(rd, kept, &p.durable, &p.snapshot);
      if (!err.empty()) {
        Fail(absl::StrCat("e (durable log/epochs) at peer ", p.id,
                          " (torn write): ", err));
      }
    }
    lost = absl::StrCat(", ", barrier ? "barrier" : "log write", " with ",
                        writes, " writes lost (", kept, " made durable), ",
                        p.queued.size(), " entries queued lost");
  }
  if (options_.log_loss_rate > 0 && !p.durable.log.empty() &&
      rng_.Chance(options_.log_loss_rate)) {
    // A peer that lost entries counts toward no quorum until a leader
    // elected without it syncs it. So the fault is injected only where a
    // quorum survives it: no other peer recovering, and no configuration
    // any disk holds making this peer one of fewer than three voters (as in
    // any majority system, such a loss leaves no quorum by design).
    bool another = false;
    bool needed = false;
    for (const auto& [id, q] : peers_) {
      if (id != p.id && q.durable.recovering) another = true;
      auto needs = [&p](const zab::Config& c) {
        return c.IsVoter(p.id) && c.voters.size() < 3;
      };
      needed = needed || needs(q.durable.base_config
                                   ? *q.durable.base_config
                                   : FoundingConfigOf(q.config));
      for (const Entry& e : q.durable.log) {
        if (!zab::IsConfigData(e.data)) continue;
        absl::StatusOr<zab::Config> c = zab::ConfigOfEntry(e);
        needed = needed || (c.ok() && needs(*c));
      }
    }
    if (!another && !needed) {
      const size_t keep = static_cast<size_t>(rng_.Uniform(p.durable.log.size()));
      absl::StrAppend(&lost, ", disk lost log entries ",
                      Z(p.durable.log[keep].zxid), "..",
                      Z(p.durable.log.back().zxid));
      p.durable.log.resize(keep);
      p.durable.recovering = true;
      ++log_losses_;
    }
  }
  Note(absl::StrCat("crash ", p.id, " for ", down, " ticks", lost,
                    ", inbox ", p.inbox.size()));
  p.host.reset();
  p.core.reset();
  p.writing.clear();
  p.queued.clear();
  p.inbox.clear();
  p.applied.clear();
  p.stale_leader_info.reset();
  p.serving_leader_epoch = -1;
  p.last_status = "down";
  ++p.incarnation;
  network_.SetDown(p.id, true);
  Event ev;
  ev.kind = Event::Kind::kRestart;
  ev.peer = p.id;
  ev.incarnation = p.incarnation;
  Schedule(network_.Now() + down * kTickUnits, ev);
}

void Ensemble::Restart(Peer& p) {
  network_.SetDown(p.id, false);
  Note(absl::StrCat("restart ", p.id, " from disk: log ", p.durable.log.size(),
                    " entries, epochs ", p.durable.accepted_epoch, "/",
                    p.durable.current_epoch));
  StartCore(p);
}

void Ensemble::StartCore(Peer& p) {
  ++p.incarnation;
  p.writing.clear();
  p.queued.clear();
  p.inbox.clear();
  p.applied.clear();
  p.stale_leader_info.reset();
  p.serving_leader_epoch = -1;
  // The state machine restarts from the disk's snapshot.
  if (!DecodeApplied(p.snapshot, &p.applied)) {
    Fail(absl::StrCat("peer ", p.id, " has a malformed snapshot on disk"));
  }
  p.core = std::make_unique<Core>(p.config, p.durable);
  p.host = std::make_unique<server::ReadyHost>(p.core.get());
  // The configuration its state machine holds: what its applied config
  // entries set (the snapshot keeps every applied entry). The core's
  // configuration as of its base must be the same (rule M7).
  p.applied_config = LastConfigOf(p.applied, FoundingConfigOf(p.config));
  if (!(p.applied_config == p.core->ConfigurationAsOf(p.core->base_zxid()))) {
    Fail(absl::StrCat("h (one configuration per history): peer ", p.id,
                      " restarted with ",
                      zab::DescribeConfig(
                          p.core->ConfigurationAsOf(p.core->base_zxid())),
                      " as of its base; its applied entries set ",
                      zab::DescribeConfig(p.applied_config)));
  }
  // Invariant g: the Ready right after a stale LEADERINFO holds no
  // ACKEPOCH to its sender.
  p.host->set_observer([this, &p](const Ready& rd) {
    if (!p.stale_leader_info) return;
    const Message info = std::move(*p.stale_leader_info);
    p.stale_leader_info.reset();
    for (const Message& m : rd.messages) {
      if (m.type == zab::MessageType::kAckEpoch && m.to == info.from) {
        Fail(absl::StrCat("g (epoch promise): peer ", p.id, " acknowledged ",
                          zab::Describe(info), " though its acceptedEpoch is ",
                          p.core->status().accepted_epoch));
        return;
      }
    }
  });
  p.tick_phase = rng_.Range(1, kTickUnits);
  Event ev;
  ev.kind = Event::Kind::kTick;
  ev.peer = p.id;
  ev.incarnation = p.incarnation;
  Schedule(network_.Now() + p.tick_phase, ev);
  Pump(p);
}

void Ensemble::RandomPartition() {
  ++partitions_;
  std::vector<PeerId> ids = ids_;
  const size_t n = ids.size();
  if (n < 2) return;
  bool needs_heal = true;
  switch (rng_.Uniform(4)) {
    case 0: {  // two groups
      for (size_t i = n - 1; i > 0; --i) {
        std::swap(ids[i], ids[rng_.Uniform(i + 1)]);
      }
      size_t cut = 1 + rng_.Uniform(n - 1);
      std::vector<std::vector<PeerId>> groups(2);
      for (size_t i = 0; i < n; ++i) groups[i < cut ? 0 : 1].push_back(ids[i]);
      for (auto& g : groups) std::sort(g.begin(), g.end());
      network_.Partition(groups);
      Note(absl::StrCat("fault partition {", absl::StrJoin(groups[0], ","),
                        "} {", absl::StrJoin(groups[1], ","), "}"));
      break;
    }
    case 1: {
      PeerId id = ids[rng_.Uniform(n)];
      network_.Isolate(id);
      Note(absl::StrCat("fault isolate ", id));
      break;
    }
    case 2: {  // one or two one-way cuts
      int cuts = 1 + static_cast<int>(rng_.Uniform(2));
      for (int c = 0; c < cuts; ++c) {
        PeerId from = ids[rng_.Uniform(n)];
        PeerId to = ids[rng_.Uniform(n)];
        if (from == to) to = ids[(std::find(ids.begin(), ids.end(), from) -
                                  ids.begin() + 1) % n];
        network_.Cut(from, to);
        Note(absl::StrCat("fault cut ", from, "->", to));
      }
      break;
    }
    default: {
      PeerId a = ids[rng_.Uniform(n)];
      PeerId b = ids[rng_.Uniform(n)];
      if (a == b) b = ids[(std::find(ids.begin(), ids.end(), a) -
                           ids.begin() + 1) % n];
      network_.ResetLink(a, b);
      Note(absl::StrCat("fault reset ", a, "<->", b));
      needs_heal = false;
      break;
    }
  }
  if (needs_heal && !heal_scheduled_) {
    heal_scheduled_ = true;
    Tick ticks = rng_.Range(kMinPartitionTicks, kMaxPartitionTicks);
    Event ev;
    ev.kind = Event::Kind::kHeal;
    Schedule(network_.Now() + ticks * kTickUnits, ev);
  }
}

void Ensemble::Heal() {
  heal_scheduled_ = false;
  network_.Heal();
  Note("heal");
}

void Ensemble::Quiesce() {
  faults_ = false;
  Note("quiesce: heal, restart, no more faults");
  network_.Heal();
  network_.SetDropProbability(0);
  network_.SetDuplicateProbability(0);
  for (PeerId id : ids_) {
    Peer& p = PeerOf(id);
    p.slow_until = 0;
    if (!p.core) Restart(p);
  }
  CheckPeers();
}

// ---- Ensemble: invariants ----------------------------------------------------

void Ensemble::CheckPeers() {
  // What any peer ever knew committed stays committed.
  for (PeerId id : ids_) {
    const Peer& p = PeerOf(id);
    if (p.core) {
      max_committed_ = std::max(max_committed_, p.core->status().committed_zxid);
    }
  }
  for (PeerId id : ids_) {
    Peer& p = PeerOf(id);
    if (!p.core) continue;
    const CoreStatus st = p.core->status();
    // j: one configuration change pending at most: no log holds two config
    // entries above what was ever known committed (rule M4).
    int pending = 0;
    const auto& logged = p.core->log();
    for (auto it = logged.rbegin();
         it != logged.rend() && it->zxid > max_committed_; ++it) {
      if (zab::IsConfigData(it->data)) ++pending;
    }
    if (pending > 1) {
      Fail(absl::StrCat("j (one pending change): peer ", id, " logged ",
                        pending, " config entries above ", Z(max_committed_),
                        ", the highest zxid ever known committed"));
      return;
    }
    if (tracing_) {
      std::string s = StatusString(*p.core);
      if (s != p.last_status) {
        Note(absl::StrCat("status ", id, ": ", s));
        p.last_status = std::move(s);
      }
    }
    if (st.serving && st.state == PeerState::kLeading) {
      auto [it, inserted] = leader_of_epoch_.emplace(st.current_epoch, id);
      if (!inserted && it->second != id) {
        Fail(absl::StrCat("a (one leader per epoch): peer ", id,
                          " serves as leader in epoch ", st.current_epoch,
                          " which peer ", it->second, " led"));
        return;
      }
      if (p.serving_leader_epoch != st.current_epoch) {
        // Its known history: the applied sequence (covering what was
        // compacted), then the log after it. Until the host has installed
        // a snapshot the core took, check later.
        const Zxid applied_to = p.applied.empty() ? 0 : p.applied.back().zxid;
        if (applied_to < p.core->base_zxid()) continue;
        p.serving_leader_epoch = st.current_epoch;
        std::vector<Entry> known = p.applied;
        const auto& log = p.core->log();
        for (auto it = std::upper_bound(
                 log.begin(), log.end(), applied_to,
                 [](Zxid x, const Entry& e) { return x < e.zxid; });
             it != log.end(); ++it) {
          known.push_back(*it);
        }
        std::string err = history_.CheckContainedIn(known);
        if (!err.empty()) {
          Fail(absl::StrCat("b (committed entries survive): new leader ", id,
                            " of epoch ", st.current_epoch, ": ", err));
          return;
        }
      }
    } else {
      p.serving_leader_epoch = -1;
    }
  }
}

std::optional<PeerId> Ensemble::ServingLeader() const {
  std::optional<PeerId> best;
  int64_t best_epoch = -1;
  for (PeerId id : ids_) {
    const Peer& p = PeerOf(id);
    if (!p.core) continue;
    CoreStatus st = p.core->status();
    if (st.serving && st.state == PeerState::kLeading &&
        st.current_epoch > best_epoch) {
      best = id;
      best_epoch = st.current_epoch;
    }
  }
  return best;
}

std::vector<PeerId> Ensemble::CurrentVoters() const {
  if (std::optional<PeerId> leader = ServingLeader()) {
    return PeerOf(*leader).core->configuration().VoterIds();
  }
  return voters_;
}

int Ensemble::ServingVoters() const {
  int n = 0;
  for (PeerId id : CurrentVoters()) {
    const Peer& p = PeerOf(id);
    if (p.core && p.core->status().serving) ++n;
  }
  return n;
}

bool Ensemble::CheckLiveness() {
  if (!failure_.empty()) return false;
  // The configuration may have changed: count the serving leader's.
  auto quorum_now = [this] {
    return static_cast<int>(CurrentVoters().size() / 2 + 1);
  };
  auto statuses = [&] {
    std::vector<std::string> out;
    for (PeerId id : ids_) {
      const Peer& p = PeerOf(id);
      out.push_back(absl::StrCat(
          id, ": ", p.core ? StatusString(*p.core) : "down",
          p.core && p.host->blocked() ? " (blocked)" : ""));
    }
    return absl::StrJoin(out, "; ");
  };
  // A leader may still step down just after the faults stop (a slow write
  // finishing, a learner timing out): then wait for the next one and try
  // again with a new proposal, within the same overall bound.
  const Tick start = network_.Now();
  const Tick settle_deadline = start + options_.settle_ticks * kTickUnits;
  std::string last_problem;
  for (int attempt = 0;; ++attempt) {
    const int64_t settle_left =
        std::max<Tick>(0, settle_deadline - network_.Now()) / kTickUnits;
    const bool settled = RunUntil(
        [&] {
          return ServingLeader().has_value() &&
                 ServingVoters() >= quorum_now();
        },
        settle_left);
    if (!failure_.empty()) return false;
    if (!settled) {
      Fail(absl::StrCat(
          "liveness: no serving leader with a serving quorum of ",
          quorum_now(),
          " voters ", options_.settle_ticks, " ticks after healing",
          last_problem.empty() ? std::string()
                               : absl::StrCat(" (earlier: ", last_problem, ")"),
          ": ", statuses()));
      return false;
    }
    const PeerId leader = *ServingLeader();
    const std::string payload =
        attempt == 0 ? absl::StrCat("final-", options_.seed)
                     : absl::StrCat("final-", options_.seed, "-", attempt);
    Propose(leader, payload);
    std::optional<size_t> index;
    std::vector<PeerId> missing;
    bool gave_up = false;  // rejected, or the leader stepped down
    const bool applied = RunUntil(
        [&] {
          auto it = proposals_.find(payload);
          if (it != proposals_.end() &&
              it->second.state == Proposal::State::kRejected) {
            gave_up = true;
            return true;
          }
          if (!index) {
            for (size_t i = history_.size(); i-- > 0;) {
              if (history_.entries()[i].data == payload) {
                index = i;
                break;
              }
            }
          }
          if (!index) {
            if (ServingLeader() != leader) gave_up = true;
            return gave_up;
          }
          missing.clear();
          for (PeerId id : ids_) {
            const Peer& p = PeerOf(id);
            if (p.core && p.applied.size() <= *index) {
              missing.push_back(id);
            }
          }
          return missing.empty();
        },
        options_.apply_ticks);
    if (!failure_.empty()) return false;
    if (applied && !gave_up) {
      final_index_ = *index;
      Note(absl::StrCat("liveness ok: '", payload, "' applied everywhere"));
      return true;
    }
    if (gave_up && network_.Now() < settle_deadline) {
      last_problem = absl::StrCat("'", payload, "' at leader ", leader, " ",
                                  proposals_[payload].state ==
                                          Proposal::State::kRejected
                                      ? "was rejected"
                                      : "lost by a leader change");
      Note(absl::StrCat("liveness: ", last_problem, ", retrying"));
      // A refusal comes at once (a leader leaving the voters refuses):
      // let time move before the next try.
      Step();
      continue;
    }
    Fail(absl::StrCat(
        "liveness: a fresh proposal '", payload, "' at serving leader ",
        leader, " was not applied ",
        index ? absl::StrCat("by peers ", absl::StrJoin(missing, ","))
              : std::string("by any peer"),
        " within ", options_.apply_ticks, " ticks",
        gave_up ? " (rejected or leader changed, no time left)" : "", ": ",
        statuses()));
    return false;
  }
}

bool Ensemble::CheckAcknowledged(bool all_applied) {
  if (!failure_.empty()) return false;
  for (const auto& [payload, prop] : proposals_) {
    if (prop.state != Proposal::State::kAcknowledged) continue;
    std::optional<size_t> i = history_.Find(prop.zxid);
    if (!i || history_.entries()[*i].data != payload) {
      Fail(absl::StrCat("d (acknowledged proposals survive): '", payload,
                        "' acknowledged at ", Z(prop.zxid),
                        " is not in the applied history"));
      return false;
    }
    if (!all_applied || !final_index_ || *i > *final_index_) continue;
    for (PeerId id : ids_) {
      const Peer& p = PeerOf(id);
      if (p.core && p.applied.size() <= *i) {
        Fail(absl::StrCat("d (acknowledged proposals survive): '", payload,
                          "' acknowledged at ", Z(prop.zxid),
                          " is not applied by live peer ", id));
        return false;
      }
    }
  }
  return true;
}

bool Ensemble::CheckLogs() {
  if (!failure_.empty()) return false;
  for (PeerId id : ids_) {
    const Peer& p = PeerOf(id);
    std::string err = CheckIncreasing(
        p.durable.log, absl::StrCat("peer ", id, " durable log"));
    if (err.empty() && p.core) {
      err = CheckIncreasingLog(p.core->log(), absl::StrCat("peer ", id, " log"));
    }
    if (!err.empty()) {
      Fail(absl::StrCat("e (zxids increase): ", err));
      return false;
    }
  }
  return true;
}

RunResult Ensemble::Counters() const {
  RunResult r;
  r.steps = step_;
  r.ticks = network_.Now() / kTickUnits;
  r.messages = network_.stats().sent;
  r.delivered = network_.stats().delivered;
  r.commits = static_cast<int64_t>(history_.size());
  r.elections = static_cast<int64_t>(leader_of_epoch_.size());
  r.proposals = static_cast<int64_t>(proposals_.size());
  for (const auto& [payload, prop] : proposals_) {
    if (prop.state == Proposal::State::kAcknowledged) ++r.acknowledged;
  }
  r.crashes = crashes_;
  r.log_losses = log_losses_;
  r.partitions = partitions_;
  r.compactions = compactions_;
  r.config_changes = config_changes_;
  r.snaps = SentOfType(zab::MessageType::kSnap);
  return r;
}

// ---- Runs ----------------------------------------------------------------------

namespace {

RunResult RunOnce(const SimOptions& options) {
  Ensemble e(options);
  for (int64_t i = 0; i < options.steps; ++i) {
    if (!e.Step()) break;
  }
  bool ok = e.CheckLogs();
  if (ok && options.check_liveness) {
    e.Quiesce();
    ok = e.CheckLiveness() && e.CheckLogs();
    if (ok && options.autopilot_dead_ticks > 0) {
      ok = e.CheckAutopilot() && e.CheckLogs();
    }
    if (ok && options.joiners > 0) ok = e.CheckJoined() && e.CheckLogs();
  }
  if (ok) e.CheckAcknowledged(/*all_applied=*/options.check_liveness);
  RunResult r = e.Counters();
  r.ok = e.failure().empty();
  r.failure = e.failure();
  if (options.trace) {
    r.trace = e.network().Trace(options.trace_capacity == 0
                                    ? Network::kAllTraceLines
                                    : Network::kTraceTailLines);
  }
  return r;
}

}  // namespace

RunResult Run(const SimOptions& options) {
  RunResult r = RunOnce(options);
  if (!r.ok && !options.trace) {
    // Replays the same seed with a trace: determinism makes it the same run.
    SimOptions traced = options;
    traced.trace = true;
    traced.trace_capacity = Network::kTraceTailLines;
    RunResult again = RunOnce(traced);
    r.trace = again.trace;
    if (again.failure != r.failure) {
      r.trace += absl::StrCat("(replay with trace diverged: ", again.failure,
                              ")\n");
    }
  }
  return r;
}

std::string ReplayCommand(uint64_t seed, const SimOptions& options) {
  const SimOptions d;
  std::string cmd = absl::StrCat("synod_zab_sim --seed=", seed,
                                 " --voters=", options.voters);
  if (options.observers != 0) {
    absl::StrAppend(&cmd, " --observers=", options.observers);
  }
  absl::StrAppend(&cmd, " --steps=", options.steps);
  auto rate = [&](const char* flag, double v, double def) {
    if (v != def) absl::StrAppend(&cmd, " --", flag, "=", v);
  };
  rate("drop", options.drop_rate, d.drop_rate);
  rate("dup", options.dup_rate, d.dup_rate);
  rate("crash", options.crash_rate, d.crash_rate);
  rate("partition", options.partition_rate, d.partition_rate);
  rate("slow-disk", options.slow_disk_rate, d.slow_disk_rate);
  rate("propose", options.propose_rate, d.propose_rate);
  rate("compact", options.compact_rate, d.compact_rate);
  rate("config-change", options.config_change_rate, d.config_change_rate);
  if (options.joiners != 0) {
    absl::StrAppend(&cmd, " --joiners=", options.joiners);
  }
  if (options.autopilot_dead_ticks > 0) {
    absl::StrAppend(&cmd, " --autopilot=", options.autopilot_dead_ticks,
                    " --autopilot-voters=", options.autopilot_voters);
  }
  if (options.min_delay != d.min_delay) {
    absl::StrAppend(&cmd, " --min-delay=", options.min_delay);
  }
  if (options.max_delay != d.max_delay) {
    absl::StrAppend(&cmd, " --max-delay=", options.max_delay);
  }
  if (options.torn_writes) absl::StrAppend(&cmd, " --torn");
  if (options.log_loss_rate != d.log_loss_rate) {
    absl::StrAppend(&cmd, " --log-loss=", options.log_loss_rate);
  }
  if (!options.check_liveness) absl::StrAppend(&cmd, " --no-liveness");
  if (!options.check_host_agreement) {
    absl::StrAppend(&cmd, " --no-agreement-check");
  }
  if (options.core.mutation != zab::Mutation::kNone) {
    absl::StrAppend(&cmd, " --mutation=", MutationName(options.core.mutation));
  }
  if (options.settle_ticks != d.settle_ticks) {
    absl::StrAppend(&cmd, " --settle-ticks=", options.settle_ticks);
  }
  if (options.apply_ticks != d.apply_ticks) {
    absl::StrAppend(&cmd, " --apply-ticks=", options.apply_ticks);
  }
  absl::StrAppend(&cmd, " --trace");
  return cmd;
}

std::string Summary(const SimOptions& options, const RunResult& r) {
  std::string s = absl::StrCat("seed=", options.seed, " voters=",
                               options.voters, " observers=",
                               options.observers, ": ");
  if (r.ok) {
    absl::StrAppend(&s, "ok");
  } else {
    absl::StrAppend(&s, "FAILED ", r.failure);
  }
  absl::StrAppend(&s, " [steps=", r.steps, " ticks=", r.ticks,
                  " messages=", r.messages, " commits=", r.commits,
                  " elections=", r.elections, " proposals=", r.proposals,
                  " acked=", r.acknowledged, " crashes=", r.crashes,
                  " partitions=", r.partitions, " compactions=", r.compactions,
                  " snaps=", r.snaps);
  if (r.config_changes != 0) {
    absl::StrAppend(&s, " config_changes=", r.config_changes);
  }
  absl::StrAppend(&s, "]");
  return s;
}

}  // namespace synod::sim
