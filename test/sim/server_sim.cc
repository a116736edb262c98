// The whole-server simulation (server_sim.h): the scheduler, the clients,
// the faults and the checks.

#include "sim/server_sim.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/server.h"
#include "sim/memory_storage.h"
#include "sim/sim_history.h"
#include "sim/sim_network.h"
#include "tree/snapshot.h"
#include "util/errors.h"

namespace synod::sim {
namespace {

constexpr int64_t kTickMs = 10;
constexpr int64_t kSessionTimeoutMs = 400;
// Wall clocks start here (an arbitrary date), plus each peer's offset.
constexpr int64_t kWallBase = 1'800'000'000'000;

class Sim;
struct Peer;

class SimClock : public server::Clock {
 public:
  SimClock(const int64_t* now, int64_t steady_base, int64_t wall_offset)
      : now_(now), steady_base_(steady_base), wall_offset_(wall_offset) {}
  int64_t WallMs() const override { return kWallBase + *now_ + wall_offset_; }
  int64_t SteadyMs() const override { return steady_base_ + *now_; }
  void Jump(int64_t ms) { wall_offset_ += ms; }

 private:
  const int64_t* const now_;
  const int64_t steady_base_;
  int64_t wall_offset_;
};

// The log write in flight: what the outbox was handed, and when it ends.
struct DiskWrite {
  std::vector<LogEntry> entries;
  StateBatch state;
  Zxid applied = 0;
  Zxid trim_through = 0;
  int64_t done_at = 0;
};

class PeerOutbox : public server::Outbox {
 public:
  PeerOutbox(Sim* sim, Peer* peer) : sim_(sim), peer_(peer) {}
  void Send(zab::Message&& message) override;
  void SendTouch(zab::PeerId leader, std::vector<int64_t>&& sessions,
                 int64_t sent_ms) override;
  void SendTouchAck(zab::PeerId learner, int64_t sent_ms,
                    std::vector<int64_t>&& untracked) override;
  void WriteLog(std::vector<LogEntry>* entries, StateBatch* state, Zxid applied,
                Zxid trim_through) override;
  void Post(std::vector<std::function<void()>>* tasks) override;
  std::unique_ptr<server::KeepAlive> KeepAliveWhile(
      std::vector<zab::PeerId>) override {
    return nullptr;
  }

 private:
  Sim* const sim_;
  Peer* const peer_;
};

struct Peer {
  zab::PeerId id = 0;
  MemoryStorage storage;
  bool up = false;
  int64_t incarnation = 0;
  int64_t generation = 0;  // its session generation, as last seen
  // Whether it held a session lease after its last round, and on what.
  bool leased = false;
  int64_t leased_session = 0;
  std::unique_ptr<server::Replica> replica;
  std::unique_ptr<server::Published> published;
  std::unique_ptr<SimClock> clock;
  std::unique_ptr<PeerOutbox> outbox;
  std::unique_ptr<server::Server> server;
  server::Inputs in;
  bool has_input = false;
  std::optional<DiskWrite> writing;
  bool write_error = false;
  std::vector<std::function<void()>> tasks;
  int64_t slow_until = 0;
  int64_t wall_offset = 0;
  // The last zxid this incarnation applied (or recovered, or installed).
  Zxid applied = 0;
  // Served by a leader at the end of the last round, and since when
  // without a break (-1: not served).
  bool had_leader = false;
  int64_t leader_since = -1;
};

// A client request and what became of it.
struct Op {
  zab::PeerId peer = 0;
  // The client (one session) that sent it: its index in the history.
  int client = 0;
  // A remote session's request: the index of the remote session.
  int remote = -1;
  // Opens or closes the remote session.
  bool opens = false;
  bool closes = false;
  // Its place in the history (SimHistory::kNotFollowed: none), and when it
  // was invoked there.
  size_t history = SimHistory::kNotFollowed;
  int64_t invoked = 0;
  int64_t incarnation = 0;
  int64_t submitted_at = 0;
  std::string tag;  // the data it writes ("" if none)
  bool sync = false;
  bool expired = false;  // it failed with SessionExpired
  int64_t generation = 0;  // own session ops: the peer's generation then
  absl::Status status;   // once done
  Zxid acked_before = 0;  // the highest zxid acknowledged when submitted
  bool done = false;
};

// A remote client's session, hosted by one peer as the client service
// hosts it: opened by a create_session with the system's identity, kept
// alive by the host's touches once it hosts it, closed by a close_session.
// A crash of its host loses it (resuming elsewhere is not modelled).
struct Remote {
  enum class State { kOpening, kOpen, kClosing, kGone };
  zab::PeerId peer = 0;
  int64_t timeout_ms = 0;
  int client = 0;
  State state = State::kOpening;
  int64_t session = 0;       // once open
  int64_t hosted_since = -1;
};

// A one-shot watch a client registered, and what became of it.
struct WatchRec {
  zab::PeerId peer = 0;
  std::string path;
  bool child = false;
  // The event the first change after registration must deliver.
  std::optional<EventType> due;
  bool fired = false;
  // A snapshot was installed, or the peer crashed: no longer checked.
  bool unchecked = false;
};

// One change a txn makes, as a watch sees it: `type` on `path`.
struct Change {
  std::string path;
  EventType type;
};

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The watch events a txn causes, in order (data watches: kCreated,
// kDeleted, kDataChanged of the path; child watches: kChildrenChanged of
// the parent, and kDeleted of the path).
void ChangesOf(const txn::Txn& t, std::vector<Change>* out) {
  auto deleted = [out](const std::string& path) {
    out->push_back(Change{path, EventType::kDeleted});
    out->push_back(Change{ParentOf(path), EventType::kChildrenChanged});
  };
  if (t.has_create()) {
    out->push_back(Change{t.create().path(), EventType::kCreated});
    out->push_back(
        Change{ParentOf(t.create().path()), EventType::kChildrenChanged});
  } else if (t.has_delete_node()) {
    deleted(t.delete_node().path());
  } else if (t.has_set_data()) {
    out->push_back(Change{t.set_data().path(), EventType::kDataChanged});
  } else if (t.has_multi()) {
    for (const txn::Txn& op : t.multi().ops()) ChangesOf(op, out);
  } else if (t.has_close_session()) {
    for (const std::string& path : t.close_session().ephemerals()) {
      deleted(path);
    }
  }
}

// Whether `change` fires a watch on `path` (data or child).
bool Fires(const Change& change, const std::string& path, bool child) {
  if (change.path != path) return false;
  if (child) {
    return change.type == EventType::kChildrenChanged ||
           change.type == EventType::kDeleted;
  }
  return change.type != EventType::kChildrenChanged;
}

// A session touch, or a leader's acknowledgement of one (`ack`: then
// `sessions` are those it does not track).
struct Touch {
  int64_t at = 0;
  zab::PeerId from = 0;
  zab::PeerId to = 0;
  std::vector<int64_t> sessions;
  int64_t sent_ms = 0;
  bool ack = false;
};

// The data tags a txn writes.
void TagsOf(const txn::Txn& t, std::vector<std::string>* out) {
  if (t.has_create()) out->push_back(t.create().data());
  if (t.has_set_data()) out->push_back(t.set_data().data());
  if (t.has_multi()) {
    for (const txn::Txn& op : t.multi().ops()) TagsOf(op, out);
  }
}

bool Unknown(const absl::Status& s) {
  const Error e = ErrorOf(s);
  return e == Error::kConnectionLoss || e == Error::kClosing;
}

class Sim {
 public:
  explicit Sim(const ServerSimOptions& options)
      : o_(options),
        rng_(options.seed * 0x9E3779B97F4A7C15ULL + 11),
        net_(options.seed, NetOptions(options)) {
    for (int i = 1; i <= o_.voters; ++i) {
      auto p = std::make_unique<Peer>();
      p->id = static_cast<zab::PeerId>(i);
      peers_.push_back(std::move(p));
    }
    for (auto& p : peers_) Start(p.get());
  }

  ServerSimResult Run() {
    const int64_t end = o_.duration_ms;
    for (now_ = 0; now_ < end && result_.ok; ++now_) {
      Faults();
      Clients();
      Deliver();
      RunPeers();
    }
    if (result_.ok) Settle();
    if (result_.ok) CheckHistory();
    result_.applied = static_cast<int64_t>(global_.size());
    if (o_.trace) result_.trace = net_.Trace(Network::kAllTraceLines);
    return result_;
  }

  // ---- Outbox callbacks.
  void Send(Peer* p, zab::Message&& m) {
    if (p->up) net_.Send(std::move(m));
  }
  void SendTouch(Peer* p, zab::PeerId to, std::vector<int64_t>&& sessions,
                 int64_t sent_ms, bool ack) {
    if (!p->up || net_.Blocked(p->id, to)) return;
    touches_.push_back(Touch{now_ + 1 + static_cast<int64_t>(rng_.Uniform(3)),
                             p->id, to, std::move(sessions), sent_ms, ack});
  }
  void WriteLog(Peer* p, std::vector<LogEntry>* entries, StateBatch* state,
                Zxid applied, Zxid trim_through) {
    if (p->writing) {
      Violation("host contract", absl::StrCat("peer ", p->id,
                                              " started a log write while "
                                              "one was in progress"));
      return;
    }
    DiskWrite w;
    w.entries = std::move(*entries);
    entries->clear();
    w.state = std::move(*state);
    w.applied = applied;
    w.trim_through = trim_through;
    const int64_t latency = now_ < p->slow_until
                                ? rng_.Range(5, 6 * kTickMs)
                                : rng_.Range(0, 2);
    w.done_at = now_ + latency;
    p->writing = std::move(w);
  }

 private:
  static NetworkOptions NetOptions(const ServerSimOptions& o) {
    NetworkOptions n;
    n.min_delay = o.min_delay_ms;
    n.max_delay = o.max_delay_ms;
    n.drop_probability = o.drop_rate;
    n.duplicate_probability = o.dup_rate;
    // A run that fails is replayed with its trace (RunServerSim): the
    // first run keeps none, which makes it about twice as fast.
    n.trace = o.trace;
    n.trace_capacity = 0;
    return n;
  }

  void Note(const std::string& text) {
    if (o_.trace) net_.Note(text);
  }

  void Violation(const std::string& rule, const std::string& details) {
    if (!result_.ok) return;
    result_.ok = false;
    result_.failure = absl::StrCat("t=", now_, ": ", rule, ": ", details);
    Note(absl::StrCat("VIOLATION ", result_.failure));
  }

  // ---- Peers: start, crash, rounds.

  void Start(Peer* p) {
    ++p->incarnation;
    p->generation = 0;  // a new run starts at generation 0
    p->replica = std::make_unique<server::Replica>();
    p->published = std::make_unique<server::Published>();
    p->clock = std::make_unique<SimClock>(
        &now_, /*steady_base=*/rng_.Range(0, 1'000'000), p->wall_offset);
    p->outbox = std::make_unique<PeerOutbox>(this, p);
    server::ServerConfig config;
    config.options.data_dir = "/sim";
    config.options.tick = absl::Milliseconds(kTickMs);
    config.options.session_timeout = absl::Milliseconds(kSessionTimeoutMs);
    config.options.cleanup_interval = absl::Milliseconds(50);
    config.options.log_retention = 20;
    config.options.log_sink = [](LogLevel, std::string_view) {};
    config.ensemble = true;
    config.core.self = p->id;
    for (int i = 1; i <= o_.voters; ++i) {
      config.core.voters.push_back(static_cast<zab::PeerId>(i));
    }
    config.core.ping_ticks = 2;
    config.core.leader_timeout = 10;
    config.core.follower_timeout = 10;
    config.core.sync_timeout = 100;
    config.core.snapshot_chunk_bytes = 512;
    config.first_request = (static_cast<uint64_t>(p->incarnation) << 40) + 1;
    config.mutation = o_.mutation;
    p->server = std::make_unique<server::Server>(
        std::move(config), &p->storage, p->replica.get(), p->outbox.get(),
        p->clock.get(), p->published.get());
    absl::Status s = p->server->Recover();
    if (!s.ok()) {
      Violation("recovery", absl::StrCat("peer ", p->id,
                                         " cannot recover: ", s.ToString()));
      return;
    }
    p->applied = p->published->last_applied.load();
    p->server->set_apply_observer(
        [this, p](const txn::Txn& t) { OnApplied(p, t); });
    p->server->set_install_observer([this, p](Zxid zxid) {
      ++result_.snapshots;
      p->applied = zxid;
      ForgetWatches(p);
    });
    p->up = true;
    p->had_leader = false;
    p->leader_since = -1;
    p->in.Clear();
    p->has_input = true;
    net_.SetDown(p->id, false);
    Note(absl::StrCat("start peer ", p->id, " (run ", p->incarnation,
                      ") at ", zab::ZxidString(p->applied)));
  }

  void Crash(Peer* p) {
    Note(absl::StrCat("crash peer ", p->id));
    if (p->published->session_id.load() == 0) {
      // Without a session, its writes waited at the peer: none can apply.
      history_.SessionEnded(OwnClient(p), history_.Stamp(now_));
    }
    ForgetWatches(p);
    ++result_.crashes;
    p->up = false;
    net_.SetDown(p->id, true);
    // The write in flight never completes; the disk keeps what a power
    // loss may keep.
    p->writing.reset();
    p->server.reset();
    p->tasks.clear();
    p->outbox.reset();
    p->replica.reset();
    p->published.reset();
    p->storage.Crash(&rng_);
    LoseRemotes(p);
    p->in.Clear();
    p->has_input = false;
    p->leased = false;
  }

  void RunPeers() {
    for (auto& peer : peers_) {
      Peer* p = peer.get();
      if (!p->up || !result_.ok) continue;
      if (p->writing && p->writing->done_at <= now_) CompleteWrite(p);
      const bool due = p->server->next_timer_ms() <= p->clock->SteadyMs();
      if (!p->has_input && !due) continue;
      ++result_.rounds;
      p->server->Round(&p->in);
      p->has_input = false;
      std::vector<std::function<void()>> tasks;
      tasks.swap(p->tasks);
      for (auto& task : tasks) task();
      // The clients' next steps (the peer is still up: a crash comes
      // between rounds).
      tasks.clear();
      tasks.swap(after_round_);
      for (auto& task : tasks) task();
      CheckDueWatches();
      AfterRound(p);
    }
  }

  void CompleteWrite(Peer* p) {
    DiskWrite w = std::move(*p->writing);
    p->writing.reset();
    absl::Status s;
    if (!w.entries.empty()) s = p->storage.AppendLog(w.entries, /*sync=*/true);
    if (s.ok() && (!w.state.empty() || w.applied != 0)) {
      s = p->storage.WriteState(&w.state, w.applied);
    }
    if (s.ok() && w.trim_through != 0) {
      s = p->storage.TrimLogThrough(w.trim_through);
    }
    if (!s.ok()) {
      Violation("storage", absl::StrCat("peer ", p->id, ": ", s.ToString()));
      return;
    }
    p->in.log_round = true;
    p->in.durable = w.entries.empty() ? 0 : w.entries.back().zxid;
    p->has_input = true;
  }

  void AfterRound(Peer* p) {
    const int64_t generation = p->published->session_generation.load();
    if (generation > p->generation) {
      result_.own_expiries += generation - p->generation;
    }
    p->generation = generation;
    // Connected means the replica holds our live session: never reported
    // from a replica that has not applied the history a new leader
    // brought (where the session may have been closed).
    if (p->published->connected.load()) {
      const int64_t own = p->published->session_id.load();
      bool live;
      {
        ReaderLock lock(&p->replica->mu);
        live = p->replica->tree.sessions().contains(own);
      }
      if (!live) {
        Violation("connected", absl::StrCat("peer ", p->id,
                                            " reports Connected on session ",
                                            own, ", which its replica lacks"));
      }
    }
    if (const int64_t own = p->published->session_id.load(); own != 0) {
      session_clients_.emplace(own, OwnClient(p));
    }
    // The session lease: while a peer holds one, no replica has applied a
    // close of its session (no other process may yet act in its place).
    const int64_t lease_session = p->published->session_id.load();
    const bool leased =
        p->clock->SteadyMs() < p->published->session_lease_until_ms.load();
    if (leased) {
      ++result_.lease_rounds;
      if (closed_sessions_.count(lease_session)) {
        Violation("lease", absl::StrCat(
                               "peer ", p->id, " holds a lease on session ",
                               lease_session, " until ",
                               p->published->session_lease_until_ms.load() -
                                   p->clock->SteadyMs(),
                               " ms from now, which a replica closed"));
      }
    } else if (p->leased && lease_session == p->leased_session &&
               !closed_sessions_.count(lease_session)) {
      ++result_.lease_lapses;
    }
    p->leased = leased;
    p->leased_session = lease_session;
    const bool has_leader = p->published->leader_id.load() != 0;
    if (p->had_leader && !has_leader) {
      const server::ServerQueues q = p->server->queues();
      if (q.forwarded != 0 || q.uncommitted != 0) {
        Violation("lost leader",
                  absl::StrCat("peer ", p->id, " lost its leader with ",
                               q.forwarded, " forwarded and ", q.uncommitted,
                               " uncommitted writes still waiting"));
      }
    }
    p->had_leader = has_leader;
    if (!has_leader) {
      p->leader_since = -1;
    } else if (p->leader_since < 0) {
      p->leader_since = now_;
    }
  }

  // ---- The network and touches.

  void Deliver() {
    std::vector<zab::Message> due;
    net_.PopDue(now_, &due);
    for (zab::Message& m : due) {
      Peer* p = peers_[m.to - 1].get();
      if (!p->up) continue;
      p->in.messages.push_back(std::move(m));
      p->has_input = true;
    }
    for (size_t i = 0; i < touches_.size();) {
      if (touches_[i].at > now_) {
        ++i;
        continue;
      }
      Touch t = std::move(touches_[i]);
      touches_.erase(touches_.begin() + static_cast<std::ptrdiff_t>(i));
      Peer* p = peers_[t.to - 1].get();
      if (!p->up || net_.Blocked(t.from, t.to)) continue;
      if (t.ack) {
        p->in.touch_acks.push_back(
            server::TouchAckIn{t.from, t.sent_ms, std::move(t.sessions)});
      } else {
        p->in.touches.push_back(
            server::TouchIn{t.from, t.sent_ms, std::move(t.sessions)});
      }
      p->has_input = true;
    }
  }

  // ---- Faults.

  Peer* RandomPeer(bool up) {
    std::vector<Peer*> c;
    for (auto& p : peers_) {
      if (p->up == up) c.push_back(p.get());
    }
    if (c.empty()) return nullptr;
    return c[rng_.Uniform(c.size())];
  }

  void Faults() {
    if (rng_.Chance(o_.crash_rate)) {
      if (Peer* p = RandomPeer(true)) Crash(p);
    }
    if (rng_.Chance(o_.restart_rate)) {
      if (Peer* p = RandomPeer(false)) Start(p);
    }
    if (rng_.Chance(o_.partition_rate)) {
      ++result_.partitions;
      switch (rng_.Uniform(3)) {
        case 0: {
          const zab::PeerId alone =
              static_cast<zab::PeerId>(1 + rng_.Uniform(peers_.size()));
          Note(absl::StrCat("isolate peer ", alone));
          net_.Isolate(alone);
          break;
        }
        case 1: {
          std::vector<std::vector<zab::PeerId>> groups(2);
          for (auto& p : peers_) groups[rng_.Uniform(2)].push_back(p->id);
          Note("partition");
          net_.Partition(groups);
          break;
        }
        default:
          Note("heal");
          net_.Heal();
      }
    }
    if (rng_.Chance(o_.slow_disk_rate)) {
      if (Peer* p = RandomPeer(true)) {
        p->slow_until = now_ + rng_.Range(50, 500);
        Note(absl::StrCat("slow disk at peer ", p->id));
      }
    }
    if (rng_.Chance(o_.config_change_rate)) ChangeConfig();
    if (rng_.Chance(o_.clock_jump_rate)) {
      if (Peer* p = RandomPeer(true)) {
        const int64_t jump = rng_.Range(-5000, 5000);
        p->wall_offset += jump;
        p->clock->Jump(jump);
        ++result_.clock_jumps;
        Note(absl::StrCat("wall clock of peer ", p->id, " jumps ", jump, "ms"));
      }
    }
  }

  // The serving leader (if any) demotes a voter or promotes an observer.
  void ChangeConfig() {
    for (auto& p : peers_) {
      if (!p->up || p->published->role.load() != zab::PeerState::kLeading) {
        continue;
      }
      const zab::Config& config = p->server->configuration();
      zab::ConfigChange change;
      if (!config.observers.empty() &&
          (config.voters.size() <= 2 || rng_.Chance(0.5))) {
        change.kind = zab::ConfigChange::Kind::kPromote;
        change.id = config.observers[rng_.Uniform(config.observers.size())].id;
      } else if (config.voters.size() > 2) {
        change.kind = zab::ConfigChange::Kind::kDemote;
        change.id = config.voters[rng_.Uniform(config.voters.size())].id;
      } else {
        return;
      }
      absl::Status s = p->server->ChangeConfig(change);
      Note(absl::StrCat("config change ", zab::ChangeKindName(change.kind),
                        " ", change.id, " at ", p->id, ": ",
                        s.ok() ? "ok" : s.ToString()));
      if (s.ok()) {
        ++result_.config_changes;
        p->has_input = true;
      }
      return;
    }
  }

  // ---- Clients.

  void Clients() {
    if (rng_.Chance(o_.write_rate)) {
      if (Peer* p = RandomPeer(true)) SubmitWrite(p);
    }
    if (rng_.Chance(o_.sync_rate)) {
      if (Peer* p = RandomPeer(true)) SubmitSync(p);
    }
    if (rng_.Chance(o_.watch_rate)) {
      if (Peer* p = RandomPeer(true)) RegisterWatch(p);
    }
    if (rng_.Chance(o_.open_rate)) {
      if (Peer* p = RandomPeer(true)) SubmitOpen(p);
    }
    if (rng_.Chance(o_.close_rate)) {
      std::vector<int> open;
      for (size_t i = 0; i < remotes_.size(); ++i) {
        if (remotes_[i].state == Remote::State::kOpen) {
          open.push_back(static_cast<int>(i));
        }
      }
      if (!open.empty()) SubmitClose(open[rng_.Uniform(open.size())]);
    }
  }

  // A client reads and watches, as Exists (a data watch, the node need not
  // exist) or GetChildren (a child watch, on an existing node) do.
  void RegisterWatch(Peer* p) {
    WatchRec w;
    w.peer = p->id;
    w.child = rng_.Chance(0.4);
    w.path = w.child && rng_.Chance(0.3) ? "/" : RandomPath();
    const size_t id = watches_.size();
    Watcher watcher = [this, id](const WatchEvent& e) { OnWatchEvent(id, e); };
    ReaderLock lock(&p->replica->mu);
    if (w.child) {
      if (!p->replica->tree.Find(w.path)) return;  // NoNode: no watch
      p->replica->watches.AddChildWatch(w.path, std::move(watcher));
    } else {
      p->replica->watches.AddDataWatch(w.path, std::move(watcher));
    }
    Note(absl::StrCat("watch #", id, " at peer ", p->id, " on ", w.path,
                      w.child ? " (children)" : " (data)"));
    watches_.push_back(std::move(w));
    open_watches_[p->id].push_back(id);
  }

  void OnWatchEvent(size_t id, const WatchEvent& e) {
    WatchRec& w = watches_[id];
    ++result_.watches_fired;
    Note(absl::StrCat("watch #", id, " fired at peer ", w.peer, ": ",
                      static_cast<int>(e.type), " ", e.path));
    if (w.fired) {
      Violation("watches", absl::StrCat("watch #", id, " fired twice"));
    } else if (e.path != w.path) {
      Violation("watches", absl::StrCat("watch #", id, " on ", w.path,
                                        " fired for ", e.path));
    } else if (!w.unchecked && !w.due) {
      Violation("watches", absl::StrCat("watch #", id, " on ", w.path,
                                        " fired though nothing it watches "
                                        "changed"));
    } else if (!w.unchecked && *w.due != e.type) {
      Violation("watches",
                absl::StrCat("watch #", id, " on ", w.path, " fired type ",
                             static_cast<int>(e.type), ", the change was ",
                             static_cast<int>(*w.due)));
    }
    w.fired = true;
  }

  // Marks the open watches of `p` that `t` fires as due.
  void WatchesSee(Peer* p, const txn::Txn& t) {
    auto it = open_watches_.find(p->id);
    if (it == open_watches_.end() || it->second.empty()) return;
    std::vector<Change> changes;
    ChangesOf(t, &changes);
    if (changes.empty()) return;
    std::vector<size_t>& open = it->second;
    for (size_t i = 0; i < open.size();) {
      WatchRec& w = watches_[open[i]];
      for (const Change& c : changes) {
        if (Fires(c, w.path, w.child)) {
          w.due = c.type;
          break;
        }
      }
      if (w.due) {
        due_watches_.push_back(open[i]);
        open[i] = open.back();
        open.pop_back();
      } else {
        ++i;
      }
    }
  }

  // The peer's watches are no longer checked (a snapshot, a crash).
  void ForgetWatches(Peer* p) {
    for (size_t id : open_watches_[p->id]) watches_[id].unchecked = true;
    open_watches_[p->id].clear();
    for (size_t id : due_watches_) {
      if (watches_[id].peer == p->id) watches_[id].unchecked = true;
    }
  }

  // After a round and its tasks: every due watch fired.
  void CheckDueWatches() {
    for (size_t id : due_watches_) {
      const WatchRec& w = watches_[id];
      if (!w.fired && !w.unchecked) {
        Violation("watches",
                  absl::StrCat("watch #", id, " at peer ", w.peer, " on ",
                               w.path, ": its change applied, no event"));
      }
    }
    due_watches_.clear();
  }

  // The paths clients name (sequential creates add to them).
  static std::vector<std::string> Paths() {
    return {"/a", "/b", "/c", "/a/x", "/b/y"};
  }

  std::string RandomPath() {
    static const std::vector<std::string>* const kPaths =
        new std::vector<std::string>(Paths());
    return (*kPaths)[rng_.Uniform(kPaths->size())];
  }

  int32_t RandomVersion() {
    return rng_.Chance(0.5) ? -1 : static_cast<int32_t>(rng_.Uniform(3));
  }

  txn::Request RandomWrite(const std::string& tag) {
    txn::Request r;
    if (rng_.Chance(0.04)) {
      // Quotas on the followed subtrees: small hard counts, so creates meet
      // them (refused writes must change nothing, as any other).
      const std::string path = rng_.Chance(0.5) ? "/a" : "/b";
      if (rng_.Chance(0.7)) {
        txn::SetQuotaRequest* q = r.mutable_set_quota();
        q->set_path(path);
        q->set_count(-1);
        q->set_bytes(-1);
        q->set_count_hard(1 + static_cast<int64_t>(rng_.Uniform(3)));
        q->set_bytes_hard(rng_.Chance(0.5)
                              ? -1
                              : static_cast<int64_t>(rng_.Uniform(40)));
      } else {
        r.mutable_delete_quota()->set_path(path);
        r.mutable_delete_quota()->set_fields(quota_fields::kAll);
      }
      return r;
    }
    switch (rng_.Uniform(10)) {
      case 0:
      case 1:
      case 2: {
        txn::CreateRequest* c = r.mutable_create();
        c->set_path(RandomPath());
        c->set_data(tag);
        static const CreateMode kModes[] = {CreateMode::kPersistent,
                                            CreateMode::kEphemeral,
                                            CreateMode::kPersistentSequential,
                                            CreateMode::kEphemeralSequential};
        c->set_mode(static_cast<int32_t>(kModes[rng_.Uniform(4)]));
        break;
      }
      case 3:
      case 4:
      case 5: {
        txn::SetDataRequest* s = r.mutable_set_data();
        s->set_path(RandomPath());
        s->set_data(tag);
        s->set_version(RandomVersion());
        break;
      }
      case 6:
      case 7: {
        txn::DeleteRequest* d = r.mutable_delete_node();
        d->set_path(RandomPath());
        d->set_version(RandomVersion());
        break;
      }
      default: {
        txn::MultiRequest* m = r.mutable_multi();
        txn::Request* check = m->add_ops();
        check->mutable_check()->set_path(RandomPath());
        check->mutable_check()->set_version(RandomVersion());
        txn::Request* set = m->add_ops();
        set->mutable_set_data()->set_path(RandomPath());
        set->mutable_set_data()->set_data(tag);
        set->mutable_set_data()->set_version(-1);
        break;
      }
    }
    return r;
  }

  // The history's client id of `p`'s own session: one per run of the peer
  // and per generation (a session that replaced an expired one is another
  // client: the expired one's writes can no longer take effect).
  int OwnClient(const Peer* p) {
    auto [it, added] = own_clients_.try_emplace(
        std::make_tuple(p->id, p->incarnation,
                        p->published->session_generation.load()),
        next_client_);
    if (added) ++next_client_;
    return it->second;
  }

  // Submits `request` at `p`: on the peer's own session, or on the remote
  // session op.remote (opening it: session 0).
  void Submit(Peer* p, Op op, txn::Request request) {
    const size_t id = ops_.size();
    op.peer = p->id;
    op.incarnation = p->incarnation;
    op.submitted_at = now_;
    op.acked_before = max_acked_;
    op.invoked = history_.Stamp(now_);
    server::Pending pending;
    if (op.remote < 0) {
      op.client = OwnClient(p);
      op.generation = p->published->session_generation.load();
      pending.session = server::Server::kOwnSession;
      pending.auth = client_auth_;
    } else {
      const Remote& r = remotes_[static_cast<size_t>(op.remote)];
      op.client = r.client;
      pending.session = r.session;
      pending.auth = op.opens || op.closes ? system_auth_ : client_auth_;
    }
    if (!op.sync && !op.opens && !op.closes) {
      op.history = history_.Invoke(op.client, request, op.invoked);
    }
    ops_.push_back(std::move(op));
    pending.request = std::move(request);
    pending.done = [this, id](WriteOutcome&& o) {
      OnOutcome(id, std::move(o));
    };
    p->published->pending_writes.fetch_add(1);
    p->in.requests.push_back(std::move(pending));
    p->has_input = true;
  }

  // A write at `p`, on its own session or on a remote session it hosts.
  void SubmitWrite(Peer* p) {
    ++result_.writes;
    Op op;
    std::vector<int> hosted;
    for (size_t i = 0; i < remotes_.size(); ++i) {
      if (remotes_[i].peer == p->id &&
          remotes_[i].state == Remote::State::kOpen) {
        hosted.push_back(static_cast<int>(i));
      }
    }
    if (!hosted.empty() && rng_.Chance(0.5)) {
      op.remote = hosted[rng_.Uniform(hosted.size())];
    }
    op.tag = absl::StrCat("w", next_tag_++);
    txn::Request r = RandomWrite(op.tag);
    // Deletes and quota changes carry no data to find them by.
    if (r.has_delete_node() || r.has_set_quota() || r.has_delete_quota()) {
      op.tag.clear();
    }
    Note(absl::StrCat("client write #", ops_.size(), " at peer ", p->id,
                      op.remote < 0 ? "" : " remote #",
                      op.remote < 0 ? "" : absl::StrCat(op.remote),
                      op.tag.empty() ? "" : " ", op.tag));
    Submit(p, std::move(op), std::move(r));
  }

  // A remote client opens a session at `p`.
  void SubmitOpen(Peer* p) {
    Remote r;
    r.peer = p->id;
    r.timeout_ms = rng_.Range(kSessionTimeoutMs, 2 * kSessionTimeoutMs);
    r.client = next_client_++;
    remotes_.push_back(r);
    Op op;
    op.remote = static_cast<int>(remotes_.size() - 1);
    op.opens = true;
    Note(absl::StrCat("remote #", op.remote, " opens a session at peer ",
                      p->id, " (", r.timeout_ms, "ms)"));
    txn::Request request;
    request.mutable_create_session()->set_timeout_ms(
        static_cast<int32_t>(r.timeout_ms));
    Submit(p, std::move(op), std::move(request));
  }

  // Remote client `index` closes its session: its host stops keeping it
  // alive, then submits the close (as the client service does).
  void SubmitClose(int index) {
    Remote& r = remotes_[static_cast<size_t>(index)];
    Peer* p = peers_[r.peer - 1].get();
    r.state = Remote::State::kClosing;
    p->in.hosted.emplace_back(r.session, false);
    Op op;
    op.remote = index;
    op.closes = true;
    Note(absl::StrCat("remote #", index, " closes session ", r.session,
                      " at peer ", p->id));
    txn::Request request;
    request.mutable_close_session();
    Submit(p, std::move(op), std::move(request));
  }

  // The remote sessions `p` hosts are lost with it.
  void LoseRemotes(const Peer* p) {
    for (Remote& r : remotes_) {
      if (r.peer == p->id && r.state != Remote::State::kGone) {
        r.state = Remote::State::kGone;
      }
    }
  }

  void SubmitSync(Peer* p) {
    ++result_.syncs;
    Op op;
    op.sync = true;
    Note(absl::StrCat("client sync #", ops_.size(), " at peer ", p->id));
    if (o_.reads_skip_sync) {
      // The deliberate bug: read at once, as a local read does.
      const int64_t at = history_.Stamp(now_);
      ReaderLock lock(&p->replica->mu);
      history_.ReadAll(OwnClient(p), p->replica->tree, at, at);
    }
    Submit(p, std::move(op), txn::Request());
  }

  // ---- Checks.

  void OnOutcome(size_t id, WriteOutcome&& o) {
    Op& op = ops_[id];
    Peer* p = peers_[op.peer - 1].get();
    if (op.done) {
      Violation("host contract", absl::StrCat("op #", id, " completed twice"));
      return;
    }
    op.done = true;
    op.expired = ErrorOf(o.status) == Error::kSessionExpired;
    op.status = o.status;
    Note(absl::StrCat("op #", id, " at peer ", op.peer, ": ",
                      o.status.ok() ? "OK" : o.status.ToString(), " at ",
                      zab::ZxidString(o.zxid)));
    const int64_t answered = history_.Stamp(now_);
    history_.Complete(op.history, o, answered);
    if (o.zxid != 0 && !op.opens) {
      history_.Logged(op.client, op.invoked, answered);
    }
    // What calls the host waits for the end of the round, as a client's
    // next call on the runtime's threads would (an outcome runs inside the
    // round, and must not call the host).
    if (op.remote >= 0) {
      after_round_.push_back(
          [this, id, o] { RemoteOutcome(id, o); });
    }
    if (op.opens || op.closes) return;
    if (op.sync && o.status.ok() && !o_.reads_skip_sync) {
      // Sync, then read: a linearizable read.
      after_round_.push_back([this, p, client = op.client,
                              invoked = op.invoked] {
        ReaderLock lock(&p->replica->mu);
        history_.ReadAll(client, p->replica->tree, invoked,
                         history_.Stamp(now_));
      });
    }
    if (op.sync) {
      if (o.status.ok() && p->applied < op.acked_before) {
        Violation("sync", absl::StrCat(
                              "sync #", id, " at peer ", op.peer,
                              " completed with the peer at ",
                              zab::ZxidString(p->applied),
                              ", behind a write acknowledged before it at ",
                              zab::ZxidString(op.acked_before)));
      }
      return;
    }
    if (o.status.ok()) {
      ++result_.acknowledged;
      if (op.remote < 0 && op.generation > 0) ++result_.renewed_acks;
      auto it = global_.find(o.zxid);
      if (it == global_.end()) {
        Violation("acknowledged",
                  absl::StrCat("op #", id, " acknowledged at ",
                               zab::ZxidString(o.zxid),
                               ", which no peer applied"));
        return;
      }
      if (!op.tag.empty() &&
          std::find(it->second.tags.begin(), it->second.tags.end(), op.tag) ==
              it->second.tags.end()) {
        Violation("acknowledged",
                  absl::StrCat("op #", id, " (", op.tag, ") acknowledged at ",
                               zab::ZxidString(o.zxid),
                               ", where another txn applied"));
        return;
      }
      acked_[o.zxid] = id;
      max_acked_ = std::max(max_acked_, o.zxid);
      if (op.remote < 0) {
        // A write of our own session ran on the session it was made on: a
        // request of an expired session never runs on its replacement.
        txn::Txn t;
        if (t.ParseFromString(it->second.bytes)) {
          auto c = session_clients_.find(t.session_id());
          if (c != session_clients_.end() && c->second != op.client) {
            Violation("session", absl::StrCat(
                                     "op #", id, " of peer ", op.peer,
                                     "'s session generation ", op.generation,
                                     " ran on session ", t.session_id(),
                                     " of another generation"));
          }
        }
      }
      // One session's writes: in submission order, zxids increasing.
      auto& last = session_last_[op.client];
      if (last.first > id || last.second >= o.zxid) {
        Violation("session order",
                  absl::StrCat("op #", id, " at ", zab::ZxidString(o.zxid),
                               " completed after op #", last.first, " at ",
                               zab::ZxidString(last.second)));
      }
      last = {id, o.zxid};
    } else if (Unknown(o.status)) {
      ++result_.unknown;
    } else {
      ++result_.refused;
      if (ErrorOf(o.status) == Error::kQuotaExceeded) ++result_.quota_refused;
      if (!op.tag.empty()) {
        if (applied_tags_.count(op.tag)) {
          Violation("refused", absl::StrCat("op #", id, " (", op.tag,
                                            ") failed with ",
                                            o.status.ToString(),
                                            " but was applied"));
        }
        refused_tags_.insert(op.tag);
      }
    }
  }

  // What an outcome means to its remote session.
  void RemoteOutcome(size_t id, const WriteOutcome& o) {
    const Op& op = ops_[id];
    Remote& r = remotes_[static_cast<size_t>(op.remote)];
    Peer* p = peers_[op.peer - 1].get();
    if (op.opens) {
      if (!o.status.ok()) {
        // An unknown outcome may have left a session nobody holds: it
        // must expire by itself.
        r.state = Remote::State::kGone;
        return;
      }
      r.session = o.zxid;
      session_clients_.emplace(r.session, r.client);
      ++result_.remote_sessions;
      bool exists;
      {
        ReaderLock lock(&p->replica->mu);
        exists = p->replica->tree.sessions().contains(r.session);
      }
      if (!exists && !closed_sessions_.count(r.session)) {
        Violation("sessions", absl::StrCat("remote #", op.remote,
                                           " opened session ", r.session,
                                           ", which peer ", p->id,
                                           " does not have"));
      }
      if (r.state != Remote::State::kOpening) return;  // host crashed
      r.state = Remote::State::kOpen;
      r.hosted_since = now_;
      p->in.hosted.emplace_back(r.session, true);
      p->has_input = true;
      return;
    }
    if (op.closes) {
      r.state = Remote::State::kGone;
      bool exists;
      {
        ReaderLock lock(&p->replica->mu);
        exists = p->replica->tree.sessions().contains(r.session);
      }
      if (o.status.ok() && exists) {
        Violation("sessions", absl::StrCat("remote #", op.remote,
                                           " closed session ", r.session,
                                           " OK, but peer ", p->id,
                                           " still has it"));
      }
      return;
    }
    if (ErrorOf(o.status) == Error::kSessionExpired &&
        r.state == Remote::State::kOpen) {
      // The client's session is over: it stops, as its stream would.
      r.state = Remote::State::kGone;
      p->in.hosted.emplace_back(r.session, false);
      p->has_input = true;
    }
  }

  void OnApplied(Peer* p, const txn::Txn& t) {
    const Zxid z = t.zxid();
    if (z <= p->applied) {
      Violation("agreement", absl::StrCat("peer ", p->id, " applied ",
                                          zab::ZxidString(z), " after ",
                                          zab::ZxidString(p->applied)));
      return;
    }
    std::string bytes = t.SerializeAsString();
    auto it = global_.find(z);
    if (it != global_.end()) {
      if (it->second.bytes != bytes) {
        Violation("agreement",
                  absl::StrCat("peer ", p->id, " applied a different txn at ",
                               zab::ZxidString(z)));
        return;
      }
    } else {
      Applied a;
      a.bytes = std::move(bytes);
      TagsOf(t, &a.tags);
      const int64_t at = history_.Stamp(now_);
      for (const std::string& tag : a.tags) {
        history_.Applied(tag, at);
        if (refused_tags_.count(tag)) {
          Violation("refused", absl::StrCat("a write reported failed (", tag,
                                            ") applied at ",
                                            zab::ZxidString(z)));
        }
        applied_tags_.insert(tag);
      }
      it = global_.emplace(z, std::move(a)).first;
      if (t.has_close_session()) {
        closed_sessions_.insert(t.session_id());
        history_.SessionClosed(t, at);
        if (auto c = session_clients_.find(t.session_id());
            c != session_clients_.end()) {
          history_.SessionEnded(c->second, at);
        }
        CheckSessionClose(t.session_id());
      }
    }
    // Nothing another peer applied between this peer's last and z.
    if (it != global_.begin()) {
      auto prev = std::prev(it);
      if (prev->first > p->applied) {
        Violation("agreement",
                  absl::StrCat("peer ", p->id, " applied ", zab::ZxidString(z),
                               " after ", zab::ZxidString(p->applied),
                               ", skipping ", zab::ZxidString(prev->first)));
      }
    }
    p->applied = z;
    WatchesSee(p, t);
  }

  // A session is closed (its first application anywhere): its peer must
  // not have been served by a leader, without a break, for longer than the
  // session timeout (its touches reach the leader every tick meanwhile).
  void CheckSessionClose(int64_t session) {
    for (size_t i = 0; i < remotes_.size(); ++i) {
      const Remote& r = remotes_[i];
      if (r.session != session || r.state != Remote::State::kOpen) continue;
      const Peer* host = peers_[r.peer - 1].get();
      const int64_t since = std::max(host->leader_since, r.hosted_since);
      if (host->leader_since >= 0 &&
          now_ - since > r.timeout_ms + 5 * kTickMs) {
        Violation("live session",
                  absl::StrCat("remote #", i, "'s session ", session,
                               " closed while peer ", r.peer,
                               " hosted it, served by a leader since t=",
                               since));
      }
    }
    for (auto& q : peers_) {
      if (!q->up || q->published->session_id.load() != session) continue;
      if (q->leader_since >= 0 &&
          now_ - q->leader_since > kSessionTimeoutMs + 5 * kTickMs) {
        Violation("live session",
                  absl::StrCat("session ", session, " of peer ", q->id,
                               " closed while the peer had been served by a "
                               "leader since t=",
                               q->leader_since));
      }
    }
  }

  // The whole client history is linearizable.
  void CheckHistory() {
    const testing::CheckResult check = history_.Check();
    result_.history_ops = static_cast<int64_t>(check.ops_checked);
    switch (check.verdict) {
      case testing::CheckResult::kLinearizable:
        return;
      case testing::CheckResult::kTooExpensive:
        result_.history_unchecked = true;
        Note("the history is too large to check");
        return;
      default:
        Violation("linearizable", check.explanation);
    }
  }

  // ---- The end: no more faults; everything must converge.

  void Settle() {
    Note("settle: heal, restart, fast disks");
    net_.Heal();
    net_.SetDropProbability(0);
    net_.SetDuplicateProbability(0);
    for (auto& p : peers_) {
      p->slow_until = 0;
      if (!p->up) Start(p.get());
    }
    // Let sessions settle: a session closed now was expired or replaced
    // for faults already over (its peer restarted, or was cut off).
    const int64_t quiet_from = now_ + 2 * kSessionTimeoutMs;
    const int64_t deadline = now_ + o_.settle_ms;
    std::vector<size_t> probes;
    for (; now_ < deadline && result_.ok; ++now_) {
      if (!settling_ && now_ >= quiet_from) {
        settling_ = true;
        // A fresh write at every peer must complete OK.
        for (auto& p : peers_) {
          probes.push_back(ops_.size());
          SubmitProbe(p.get());
        }
      }
      Deliver();
      RunPeers();
      if (settling_ && Converged(probes)) return;
    }
    if (!result_.ok) return;
    std::string state;
    for (auto& p : peers_) {
      absl::StrAppend(
          &state, " peer ", p->id, " at ", zab::ZxidString(p->applied),
          " leader ", p->published->leader_id.load(),
          p->server ? absl::StrCat(
                          " applied config ",
                          zab::DescribeConfig(p->server->applied_configuration()),
                          " holds ",
                          zab::DescribeConfig(p->server->configuration()))
                    : std::string(),
          ";");
    }
    for (size_t id : probes) {
      if (!ops_[id].done) absl::StrAppend(&state, " probe #", id, " pending;");
    }
    Violation("liveness", absl::StrCat("no convergence within ", o_.settle_ms,
                                       "ms once faults stopped:", state));
  }

  void SubmitProbe(Peer* p) {
    Op op;
    // A retry is another write: its own tag.
    op.tag = absl::StrCat("probe", p->id, "-", next_tag_++);
    txn::Request r;
    r.mutable_create()->set_path(absl::StrCat("/probe", p->id, "-"));
    r.mutable_create()->set_data(op.tag);
    r.mutable_create()->set_mode(
        static_cast<int32_t>(CreateMode::kPersistentSequential));
    Submit(p, std::move(op), std::move(r));
  }

  bool Converged(std::vector<size_t>& probes) {
    for (size_t& id : probes) {
      if (!ops_[id].done) return false;
      if (Unknown(ops_[id].status) ||
          ErrorOf(ops_[id].status) == Error::kSessionExpired) {
        // Unknown outcome (a leader change at the boundary): as a client
        // does, try again. SessionExpired: made on a session that expired
        // meanwhile; the peer opens a new one, where the retry must pass.
        Peer* p = peers_[ops_[id].peer - 1].get();
        id = ops_.size();
        SubmitProbe(p);
        return false;
      }
    }
    for (size_t id : probes) {
      const Op& op = ops_[id];
      bool ok = false;
      for (const auto& [zxid, op_id] : acked_) ok = ok || op_id == id;
      // Every peer serves writes again, on a new session if its own
      // expired.
      if (!ok) {
        Violation("liveness", absl::StrCat("probe #", id, " at peer ", op.peer,
                                           " did not complete OK: ",
                                           op.status.ToString()));
        return true;
      }
    }
    const Zxid last = global_.empty() ? 0 : global_.rbegin()->first;
    for (auto& p : peers_) {
      if (p->applied != last || p->writing) return false;
    }
    // Same trees everywhere, holding every acknowledged write.
    Peer* first = peers_[0].get();
    ReaderLock lock_first(&first->replica->mu);
    const DataTree& a = first->replica->tree;
    for (auto& p : peers_) {
      if (p.get() == first) continue;
      ReaderLock lock(&p->replica->mu);
      const DataTree& b = p->replica->tree;
      std::vector<TreeEvent> diff = DiffTrees(a, b);
      // Each session's whole record: its timeout and password digest.
      std::map<int64_t, std::string> sa, sb;
      for (const auto& [id, timeout] : a.sessions()) {
        sa[id] = a.EncodeSession(id);
      }
      for (const auto& [id, timeout] : b.sessions()) {
        sb[id] = b.EncodeSession(id);
      }
      if (!diff.empty() || sa != sb || a.node_count() != b.node_count()) {
        Violation("agreement",
                  absl::StrCat("peer ", p->id, "'s tree differs from peer ",
                               first->id, "'s at ", zab::ZxidString(last),
                               diff.empty() ? " (sessions)"
                                            : " at " + diff[0].path));
        return true;
      }
    }
    // One configuration everywhere, applied and in every history (peers
    // restarted from storage included). The autopilot may still be making
    // a change: then wait (the liveness bound reports one that never ends).
    const zab::Config& config = first->server->applied_configuration();
    for (auto& p : peers_) {
      if (!(p->server->applied_configuration() == config) ||
          !(p->server->configuration() == config)) {
        return false;
      }
    }
    // Every session someone holds, and only those: the peers' own, and
    // the remote sessions their hosts keep. One nobody holds (its peer or
    // host crashed, its opening's outcome was unknown) must expire.
    std::set<int64_t> held;
    for (auto& p : peers_) held.insert(p->published->session_id.load());
    for (const Remote& r : remotes_) {
      if (r.state != Remote::State::kGone) held.insert(r.session);
    }
    for (const auto& [id, timeout] : a.sessions()) {
      if (!held.count(id)) return false;
    }
    // Each replica counts each quota's subtree as it is (the counts are
    // derived state, kept by apply and rebuilt by loading).
    for (auto& p : peers_) {
      ReaderLock lock(&p->replica->mu);
      const DataTree& tree = p->replica->tree;
      for (const auto& [root, quota] : tree.quotas()) {
        Quota walked;
        tree.ForEachInSubtree(root, [&](const std::string&, const Znode& n) {
          walked.count++;
          walked.bytes += static_cast<int64_t>(n.data.size());
        });
        if (walked.count != quota.count || walked.bytes != quota.bytes) {
          Violation("quota", absl::StrCat("peer ", p->id, " counts ", root,
                                          " as ", quota.count, " nodes, ",
                                          quota.bytes, " bytes; it holds ",
                                          walked.count, ", ", walked.bytes));
          return true;
        }
        ++result_.quotas_checked;
      }
    }
    // Ephemerals belong to live sessions: closing or expiring a session
    // took its ephemerals with it.
    std::string orphan;
    a.ForEachNode([&](const std::string& path, const Znode& node) {
      const int64_t owner = node.stat.ephemeral_owner;
      if (owner != 0 && !a.sessions().contains(owner) && orphan.empty()) {
        orphan = absl::StrCat(path, " of session ", owner);
      }
    });
    if (!orphan.empty()) {
      Violation("ephemerals", "an ephemeral outlived its session: " + orphan);
      return true;
    }
    if (!acked_.empty() && acked_.rbegin()->first > last) {
      Violation("acknowledged", "an acknowledged write is beyond every peer");
    }
    return true;
  }

  struct Applied {
    std::string bytes;
    std::vector<std::string> tags;
  };

  const ServerSimOptions o_;
  Rng rng_;
  Network net_;
  int64_t now_ = 0;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::vector<Touch> touches_;
  std::vector<Op> ops_;
  uint64_t next_tag_ = 1;
  const std::shared_ptr<const AuthInfo> client_auth_ =
      std::make_shared<AuthInfo>();
  std::map<Zxid, Applied> global_;
  std::set<std::string> applied_tags_;
  std::set<std::string> refused_tags_;
  std::map<Zxid, size_t> acked_;
  Zxid max_acked_ = 0;
  // Per client (session): its last OK write and that write's zxid.
  std::map<int, std::pair<size_t, Zxid>> session_last_;
  // The history's clients: the peers' own sessions (per run), then the
  // remote sessions.
  std::map<std::tuple<zab::PeerId, int64_t, int64_t>, int> own_clients_;
  int next_client_ = 0;
  std::vector<Remote> remotes_;
  // The identity remote sessions are opened and closed with.
  const std::shared_ptr<const AuthInfo> system_auth_ = [] {
    auto a = std::make_shared<AuthInfo>();
    a->super = true;
    return std::shared_ptr<const AuthInfo>(std::move(a));
  }();
  // Sessions a close_session txn ended (anywhere).
  std::set<int64_t> closed_sessions_;
  // The history's client of each session seen open.
  std::map<int64_t, int> session_clients_;
  SimHistory history_{Paths()};
  // Client steps that call a host, run after the round that answered.
  std::vector<std::function<void()>> after_round_;
  bool settling_ = false;
  std::vector<WatchRec> watches_;
  // Per peer: watches registered whose change has not applied yet.
  std::map<zab::PeerId, std::vector<size_t>> open_watches_;
  // Watches whose change applied in the current round.
  std::vector<size_t> due_watches_;
  ServerSimResult result_;
};

void PeerOutbox::Send(zab::Message&& message) {
  sim_->Send(peer_, std::move(message));
}
void PeerOutbox::SendTouch(zab::PeerId leader,
                           std::vector<int64_t>&& sessions, int64_t sent_ms) {
  sim_->SendTouch(peer_, leader, std::move(sessions), sent_ms, /*ack=*/false);
}
void PeerOutbox::SendTouchAck(zab::PeerId learner, int64_t sent_ms,
                              std::vector<int64_t>&& untracked) {
  sim_->SendTouch(peer_, learner, std::move(untracked), sent_ms, /*ack=*/true);
}
void PeerOutbox::WriteLog(std::vector<LogEntry>* entries, StateBatch* state,
                          Zxid applied, Zxid trim_through) {
  sim_->WriteLog(peer_, entries, state, applied, trim_through);
}
void PeerOutbox::Post(std::vector<std::function<void()>>* tasks) {
  for (auto& t : *tasks) peer_->tasks.push_back(std::move(t));
  tasks->clear();
}

}  // namespace

ServerSimResult RunServerSim(const ServerSimOptions& options) {
  ServerSimResult result = Sim(options).Run();
  if (!result.ok && !options.trace) {
    // Replay with the whole trace kept, and report its tail.
    ServerSimOptions traced = options;
    traced.trace = true;
    ServerSimResult replay = Sim(traced).Run();
    result.trace = replay.trace.size() > 20000
                       ? replay.trace.substr(replay.trace.size() - 20000)
                       : replay.trace;
  }
  return result;
}

std::string ServerSimReplayCommand(const ServerSimOptions& o) {
  std::string cmd = absl::StrCat("synod_server_sim --seed=", o.seed,
                                 " --voters=", o.voters,
                                 " --duration=", o.duration_ms, " --trace");
  if (o.mutation != server::Mutation::kNone) {
    absl::StrAppend(&cmd, " --mutation=", server::MutationName(o.mutation));
  }
  if (o.reads_skip_sync) absl::StrAppend(&cmd, " --reads-skip-sync");
  if (o.config_change_rate > 0) {
    absl::StrAppend(&cmd, " --config-change=", o.config_change_rate);
  }
  return cmd;
}

}  // namespace synod::sim
