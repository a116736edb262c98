// InteractionEnv: the peers' hosts (ReadyHost, the in-memory disk, the
// applied state) and the message queue. Commands are in
// interaction_commands.cc.

#include "sim/interaction/interaction_env.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sim/ensemble.h"

namespace synod::sim::interaction {

using zab::Entry;
using zab::Message;
using zab::PeerId;
using zab::PeerState;

namespace {

std::string Z(Zxid zxid) { return zab::ZxidString(zxid); }

std::string Range(const std::vector<Entry>& entries) {
  return absl::StrCat(Z(entries.front().zxid), "..", Z(entries.back().zxid),
                      " (", entries.size(), ")");
}

}  // namespace

// A peer's SnapshotSource: its applied state, as of its last applied entry.
class InteractionEnv::Snapshots : public zab::SnapshotSource {
 public:
  explicit Snapshots(const std::vector<Entry>* applied) : applied_(applied) {}
  std::pair<Zxid, std::string> Snapshot() const override {
    return {applied_->empty() ? 0 : applied_->back().zxid,
            EncodeApplied(*applied_)};
  }

 private:
  const std::vector<Entry>* applied_;
};

InteractionEnv::InteractionEnv() = default;
InteractionEnv::~InteractionEnv() = default;

InteractionEnv::Peer* InteractionEnv::Find(PeerId id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

// ---- Output -------------------------------------------------------------

void InteractionEnv::Line(const std::string& text) {
  if (brief_) return;
  absl::StrAppend(out_, text, "\n");
}

void InteractionEnv::Action(const std::string& text) {
  if (brief_) return;
  absl::StrAppend(out_, "  ", text, "\n");
}

std::string InteractionEnv::BarrierString(const zab::Ready& rd) const {
  std::string s;
  if (rd.snapshot) {
    absl::StrAppend(&s, " snapshot=", Z(rd.snapshot->zxid));
  }
  if (rd.truncate_after) {
    absl::StrAppend(&s, " truncate-after=", Z(*rd.truncate_after));
  }
  if (!rd.entries.empty()) absl::StrAppend(&s, " entries=", Range(rd.entries));
  if (rd.accepted_epoch) absl::StrAppend(&s, " accepted-epoch=", *rd.accepted_epoch);
  if (rd.current_epoch) absl::StrAppend(&s, " current-epoch=", *rd.current_epoch);
  if (rd.recovered) absl::StrAppend(&s, " recovered");
  return s;
}

std::string InteractionEnv::RoleOf(const Peer& p) const {
  if (!p.core) return "down";
  const zab::CoreStatus st = p.core->status();
  std::string s = zab::PeerStateName(st.state);
  if (st.state == PeerState::kFollowing || st.state == PeerState::kObserving) {
    absl::StrAppend(&s, " ", st.leader);
  }
  if (st.serving) absl::StrAppend(&s, ", serving epoch ", st.current_epoch);
  if (st.recovering) absl::StrAppend(&s, " (recovering)");
  return s;
}

void InteractionEnv::NoteRole(Peer& p) {
  const std::string role = RoleOf(p);
  if (role == p.role) return;
  p.role = role;
  const std::string line = absl::StrCat(p.id, " now ", role);
  if (brief_) {
    absl::StrAppend(out_, line, "\n");
  } else {
    Action(line);
  }
}

// ---- The host -----------------------------------------------------------

void InteractionEnv::StartCore(Peer& p, bool collect) {
  p.applied.clear();
  p.deferred.clear();
  p.log_queue.clear();
  p.barrier_queued = false;
  // The state machine restarts from the disk's snapshot.
  DecodeApplied(p.snapshot, &p.applied);
  if (!p.source) p.source = std::make_unique<Snapshots>(&p.applied);
  p.config.snapshot_source = p.source.get();
  p.host.reset();
  p.core = std::make_unique<zab::Core>(p.config, p.disk);
  p.host = std::make_unique<server::ReadyHost>(p.core.get());
  p.role = RoleOf(p);
  if (collect) Collect(p);
}

void InteractionEnv::Collect(Peer& p) {
  while (p.core) {
    server::HostWork work;
    const bool was_blocked = p.host->blocked();
    if (!p.host->TakeNext(&work)) break;
    if (!was_blocked && p.host->waiting_for_durable()) {
      Action(absl::StrCat(p.id, " barrier waits for the log writes before it"));
    }
    Process(p, &work);
  }
  NoteRole(p);
}

void InteractionEnv::Process(Peer& p, server::HostWork* work) {
  // 1. Send.
  for (const Message& m : work->send) Send(m);
  // 2. Hand the entries to the disk (durable at `persist`).
  if (!work->append.empty()) {
    Action(absl::StrCat(p.id, " write log ", Range(work->append)));
    for (Entry& e : work->append) p.log_queue.push_back(std::move(e));
  }
  // 3. A barrier: written at `persist`.
  if (work->persist_barrier) {
    p.barrier_queued = true;
    Action(absl::StrCat(p.id, " write barrier", BarrierString(*p.host->barrier())));
  }
  // 4. Install, then apply.
  if (work->install) {
    std::vector<Entry> state;
    DecodeApplied(work->install->data, &state);
    p.applied = std::move(state);
    const std::string line =
        absl::StrCat(p.id, " install snapshot ", Z(work->install->zxid), " (",
                     p.applied.size(), " entries)");
    if (brief_) absl::StrAppend(out_, line, "\n");
    Action(line);
  }
  for (Entry& e : work->commit) {
    const std::string line = absl::StrCat(p.id, " apply ", Z(e.zxid), " ", e.data);
    if (brief_) absl::StrAppend(out_, line, "\n");
    Action(line);
    p.applied.push_back(std::move(e));
  }
  // 5. What was forwarded or proposed and not seen committed has an
  // unknown outcome.
  if (work->lost_leader) {
    const std::string line = absl::StrCat(p.id, " lost its leader");
    if (brief_) absl::StrAppend(out_, line, "\n");
    Action(line);
  }
  // 6. The leader proposes what learners forwarded.
  for (std::string& r : work->requests) {
    absl::Status s = p.core->Propose(r);
    Action(absl::StrCat(p.id, " propose forwarded '", r, "'",
                        s.ok() ? "" : absl::StrCat(": ", s.message())));
  }
}

void InteractionEnv::RunDeferred(Peer& p) {
  while (p.core && !p.host->blocked() && !p.deferred.empty()) {
    Deferred d = std::move(p.deferred.front());
    p.deferred.pop_front();
    if (d.tick) {
      Action(absl::StrCat(p.id, " deferred tick"));
      p.core->Tick();
    } else {
      absl::Status s = p.core->Propose(d.data);
      Action(absl::StrCat(p.id, " deferred propose '", d.data, "'",
                          s.ok() ? "" : absl::StrCat(": ", s.message())));
    }
    Collect(p);
  }
}

void InteractionEnv::TickPeer(Peer& p) {
  if (p.host->blocked()) {
    p.deferred.push_back(Deferred{true, ""});
    Action(absl::StrCat(p.id, " tick deferred: barrier pending"));
    return;
  }
  p.core->Tick();
  Collect(p);
}

void InteractionEnv::ProposeAt(Peer& p, const std::vector<std::string>& data) {
  bool proposed = false;
  for (const std::string& d : data) {
    if (p.host->blocked()) {
      p.deferred.push_back(Deferred{false, d});
      Action(absl::StrCat(p.id, " propose ", d, " deferred: barrier pending"));
      continue;
    }
    absl::Status s = p.core->Propose(d);
    if (!s.ok()) {
      Action(absl::StrCat(p.id, " propose ", d, " rejected: ", s.message()));
      continue;
    }
    proposed = true;
  }
  // One Ready for all of them, as the host's loop takes a batch.
  if (proposed) Collect(p);
}

int InteractionEnv::Persist(Peer& p, int limit) {
  if (!p.core) return 0;
  int done = 0;
  const bool barrier_before = p.host->blocked();
  if (!p.log_queue.empty() && done < limit) {
    zab::Ready write;
    write.entries = std::move(p.log_queue);
    p.log_queue.clear();
    const std::string err = PersistTo(write, std::numeric_limits<size_t>::max(),
                                      &p.disk, &p.snapshot);
    const std::vector<Entry>& entries = write.entries;
    Line(absl::StrCat(p.id, " log durable through ", Z(entries.back().zxid),
                      " (", entries.size(), ")",
                      err.empty() ? "" : absl::StrCat(" ERROR: ", err)));
    server::HostWork work;
    p.host->OnDurable(entries.back().zxid, &work);
    Process(p, &work);
    Collect(p);
    ++done;
  }
  if (barrier_before && p.barrier_queued && done < limit) {
    zab::Ready* rd = p.host->barrier();
    const std::string what = BarrierString(*rd);
    zab::Ready write;  // what PersistTo reads
    write.snapshot = rd->snapshot;
    write.truncate_after = rd->truncate_after;
    write.entries = rd->entries;
    write.accepted_epoch = rd->accepted_epoch;
    write.current_epoch = rd->current_epoch;
    write.recovered = rd->recovered;
    const std::string err = PersistTo(write, std::numeric_limits<size_t>::max(),
                                      &p.disk, &p.snapshot);
    Line(absl::StrCat(p.id, " barrier durable:", what,
                      err.empty() ? "" : absl::StrCat(" ERROR: ", err)));
    p.barrier_queued = false;
    server::HostWork work;
    p.host->OnBarrierDone(&work);
    Process(p, &work);
    Collect(p);
    RunDeferred(p);
    ++done;
  }
  return done;
}

// ---- The network --------------------------------------------------------

bool InteractionEnv::Reachable(const Message& m) const {
  if (cut_.count({m.from, m.to, -1}) > 0 ||
      cut_.count({m.from, m.to, static_cast<int>(m.type)}) > 0) {
    return false;
  }
  if (group_.empty()) return true;
  auto ia = group_.find(m.from);
  auto ib = group_.find(m.to);
  const int ga = ia == group_.end() ? -static_cast<int>(m.from) : ia->second;
  const int gb = ib == group_.end() ? -static_cast<int>(m.to) : ib->second;
  return ga == gb;
}

void InteractionEnv::DropUnreachable() {
  std::deque<InFlight> kept;
  for (InFlight& f : queue_) {
    if (Reachable(f.message)) {
      kept.push_back(std::move(f));
    } else {
      Line(absl::StrCat("dropped ", zab::Describe(f.message)));
    }
  }
  queue_ = std::move(kept);
}

void InteractionEnv::Send(const Message& m) {
  std::string line = absl::StrCat("send ", zab::Describe(m));
  auto it = peers_.find(m.to);
  if (it == peers_.end()) {
    absl::StrAppend(&line, " (lost: no such peer)");
  } else if (!it->second.core) {
    absl::StrAppend(&line, " (lost: ", m.to, " is down)");
  } else if (!Reachable(m)) {
    absl::StrAppend(&line, " (lost: cut off)");
  } else {
    queue_.push_back(InFlight{m, next_seq_++});
  }
  Action(line);
}

bool InteractionEnv::Deliverable(const Message& m) const {
  auto it = peers_.find(m.to);
  return it != peers_.end() && it->second.core && !it->second.host->blocked();
}

void InteractionEnv::Step(const Message& m) {
  Peer& p = peers_.at(m.to);
  Line(zab::Describe(m));
  p.core->Step(m);
  Collect(p);
}

bool InteractionEnv::HasWork() const {
  if (!queue_.empty()) return true;
  for (const auto& [id, p] : peers_) {
    if (p.core && (!p.log_queue.empty() || p.barrier_queued)) return true;
  }
  return false;
}

}  // namespace synod::sim::interaction
