// InteractionEnv: the commands of the script language (see
// docs/interaction-tests.md for the list and their output).

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sim/ensemble.h"
#include "sim/interaction/interaction_env.h"

namespace synod::sim::interaction {

using zab::Entry;
using zab::Message;
using zab::PeerId;

namespace {

std::string Z(Zxid zxid) { return zab::ZxidString(zxid); }

// Stabilize gives up after this many rounds of delivering and persisting.
constexpr int kStabilizeRounds = 200;

bool ParseType(const std::string& name, zab::MessageType* out) {
  for (int t = 0; t <= static_cast<int>(zab::MessageType::kRequest); ++t) {
    const auto type = static_cast<zab::MessageType>(t);
    if (name == zab::MessageTypeName(type)) {
      *out = type;
      return true;
    }
  }
  return false;
}

}  // namespace

// ---- Arguments ------------------------------------------------------------

bool InteractionEnv::Has(const CommandLine& c, const std::string& key) {
  for (const auto& [k, v] : c.args) {
    if (k == key) return true;
  }
  return false;
}

bool InteractionEnv::Get(const CommandLine& c, const std::string& key,
                         std::string* out) {
  for (const auto& [k, v] : c.args) {
    if (k == key) {
      *out = v;
      return true;
    }
  }
  return false;
}

bool InteractionEnv::CheckArgs(const CommandLine& c,
                               const std::vector<std::string>& allowed,
                               std::string* error) {
  for (const auto& [k, v] : c.args) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      *error = absl::StrCat(c.name, ": unknown argument '", k, "'");
      return false;
    }
  }
  return true;
}

bool InteractionEnv::IntArg(const CommandLine& c, const std::string& key,
                            int64_t* out, std::string* error) {
  std::string v;
  if (!Get(c, key, &v)) return true;
  if (!absl::SimpleAtoi(v, out) || *out < 0) {
    *error = absl::StrCat(c.name, ": ", key, "=", v, " is not a count");
    return false;
  }
  return true;
}

bool InteractionEnv::PeerArg(const CommandLine& c, const std::string& key,
                             bool required, PeerId* out,
                             std::string* error) const {
  std::string v;
  if (!Get(c, key, &v)) {
    if (required) *error = absl::StrCat(c.name, ": needs ", key, "=<peer>");
    return !required;
  }
  uint64_t id = 0;
  if (!absl::SimpleAtoi(v, &id) || peers_.count(id) == 0) {
    *error = absl::StrCat(c.name, ": ", key, "=", v, " names no peer");
    return false;
  }
  *out = id;
  return true;
}

// ---- Dispatch -------------------------------------------------------------

bool InteractionEnv::Handle(const CommandLine& c, std::string* out,
                            std::string* error) {
  std::string buf;
  out_ = &buf;
  // Commands that take it print only role changes, applies, installs and
  // lost leaders.
  brief_ = Has(c, "brief");
  bool ok = false;
  if (c.name != "add-peers" && peers_.empty()) {
    *error = absl::StrCat(c.name, ": no peers yet (add-peers first)");
  } else if (c.name == "add-peers") {
    ok = AddPeers(c, error);
  } else if (c.name == "tick") {
    ok = TickCmd(c, /*all=*/false, error);
  } else if (c.name == "tick-all") {
    ok = TickCmd(c, /*all=*/true, error);
  } else if (c.name == "run") {
    ok = RunCmd(c, error);
  } else if (c.name == "deliver") {
    ok = DeliverCmd(c, error);
  } else if (c.name == "drop") {
    ok = DropCmd(c, /*duplicate=*/false, error);
  } else if (c.name == "duplicate") {
    ok = DropCmd(c, /*duplicate=*/true, error);
  } else if (c.name == "persist") {
    ok = PersistCmd(c, error);
  } else if (c.name == "stabilize") {
    ok = StabilizeCmd(c, error);
  } else if (c.name == "crash") {
    ok = CrashCmd(c, error);
  } else if (c.name == "restart") {
    ok = RestartCmd(c, error);
  } else if (c.name == "propose") {
    ok = ProposeCmd(c, error);
  } else if (c.name == "compact") {
    ok = CompactCmd(c, error);
  } else if (c.name == "partition") {
    ok = PartitionCmd(c, error);
  } else if (c.name == "cut") {
    ok = CutCmd(c, error);
  } else if (c.name == "heal") {
    HealCmd();
    ok = true;
  } else if (c.name == "status") {
    ok = StatusCmd(c, error);
  } else if (c.name == "log") {
    ok = LogCmd(c, error);
  } else if (c.name == "applied") {
    ok = AppliedCmd(c, error);
  } else {
    *error = absl::StrCat("unknown command '", c.name, "'");
  }
  out_ = nullptr;
  brief_ = false;
  if (!ok) return false;
  if (buf.empty()) buf = "ok\n";
  out->append(buf);
  return true;
}

// ---- Commands -------------------------------------------------------------

bool InteractionEnv::AddPeers(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c,
                 {"voters", "observers", "chunk", "ping-ticks",
                  "leader-timeout", "follower-timeout", "sync-timeout",
                  "finalize-ticks", "resend-ticks"},
                 error)) {
    return false;
  }
  if (!peers_.empty()) {
    *error = "add-peers: the peers exist already";
    return false;
  }
  int64_t voters = 3, observers = 0, chunk = 64;
  zab::CoreConfig config;
  int64_t ping = config.ping_ticks, leader_timeout = config.leader_timeout,
          follower_timeout = config.follower_timeout,
          sync_timeout = config.sync_timeout,
          finalize = config.finalize_ticks, resend = config.resend_ticks;
  if (!IntArg(c, "voters", &voters, error) ||
      !IntArg(c, "observers", &observers, error) ||
      !IntArg(c, "chunk", &chunk, error) ||
      !IntArg(c, "ping-ticks", &ping, error) ||
      !IntArg(c, "leader-timeout", &leader_timeout, error) ||
      !IntArg(c, "follower-timeout", &follower_timeout, error) ||
      !IntArg(c, "sync-timeout", &sync_timeout, error) ||
      !IntArg(c, "finalize-ticks", &finalize, error) ||
      !IntArg(c, "resend-ticks", &resend, error)) {
    return false;
  }
  if (voters < 1 || voters + observers > 9 || chunk < 1) {
    *error = "add-peers: 1..9 peers, at least one voter, chunk >= 1";
    return false;
  }
  config.ping_ticks = static_cast<int>(ping);
  config.leader_timeout = static_cast<int>(leader_timeout);
  config.follower_timeout = static_cast<int>(follower_timeout);
  config.sync_timeout = static_cast<int>(sync_timeout);
  config.finalize_ticks = static_cast<int>(finalize);
  config.resend_ticks = static_cast<int>(resend);
  config.snapshot_chunk_bytes = static_cast<size_t>(chunk);
  for (int64_t i = 1; i <= voters + observers; ++i) {
    (i <= voters ? voters_ : observers_).push_back(static_cast<PeerId>(i));
  }
  // Every peer exists before any core starts, so the first notifications
  // reach them.
  for (int64_t i = 1; i <= voters + observers; ++i) {
    Peer& p = peers_[static_cast<PeerId>(i)];
    p.id = static_cast<PeerId>(i);
    p.voter = i <= voters;
    p.config = config;
    p.config.self = p.id;
    p.config.voters = voters_;
    p.config.observers = observers_;
    StartCore(p, /*collect=*/false);
  }
  for (auto& [id, p] : peers_) {
    Line(absl::StrCat(id, " started (", p.voter ? "voter" : "observer", ")"));
    Collect(p);
  }
  return true;
}

bool InteractionEnv::TypeArg(const CommandLine& c, bool* typed,
                             zab::MessageType* type, std::string* error) {
  std::string name;
  *typed = Get(c, "type", &name);
  if (*typed && !ParseType(name, type)) {
    *error = absl::StrCat(c.name, ": unknown message type '", name, "'");
    return false;
  }
  return true;
}

bool InteractionEnv::FilterArgs(const CommandLine& c, MessageFilter* out,
                                std::string* error) const {
  return PeerArg(c, "from", false, &out->from, error) &&
         PeerArg(c, "to", false, &out->to, error) &&
         IntArg(c, "n", &out->n, error) &&
         TypeArg(c, &out->typed, &out->type, error);
}

bool InteractionEnv::TickCmd(const CommandLine& c, bool all, std::string* error) {
  if (!CheckArgs(c, all ? std::vector<std::string>{"n", "brief"}
                        : std::vector<std::string>{"peer", "n", "brief"},
                 error)) {
    return false;
  }
  PeerId id = 0;
  if (!all && !PeerArg(c, "peer", /*required=*/true, &id, error)) return false;
  int64_t n = 1;
  if (!IntArg(c, "n", &n, error)) return false;
  if (!all && !peers_.at(id).core) {
    Line(absl::StrCat(id, " is down"));
    return true;
  }
  for (int64_t k = 1; k <= n; ++k) TickRound(all ? 0 : id, k, n);
  return true;
}

void InteractionEnv::TickRound(PeerId only, int64_t k, int64_t n) {
  for (auto& [id, p] : peers_) {
    if ((only != 0 && id != only) || !p.core) continue;
    // The header only if the tick did something.
    std::string buf;
    std::string* outer = out_;
    out_ = &buf;
    TickPeer(p);
    out_ = outer;
    if (!buf.empty()) {
      Line(n > 1 ? absl::StrCat(id, " tick ", k, "/", n)
                 : absl::StrCat(id, " tick"));
      absl::StrAppend(out_, buf);
    }
  }
}

bool InteractionEnv::DeliverCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"from", "to", "type", "n", "brief"}, error)) return false;
  MessageFilter filter;
  if (!FilterArgs(c, &filter, error)) return false;
  // The messages queued now; what their delivery sends waits.
  std::vector<uint64_t> chosen;
  for (const InFlight& f : queue_) {
    if (filter.Matches(f.message) &&
        static_cast<int64_t>(chosen.size()) < filter.n) {
      chosen.push_back(f.seq);
    }
  }
  if (chosen.empty()) {
    Line("no messages");
    return true;
  }
  for (uint64_t seq : chosen) {
    auto it = std::find_if(queue_.begin(), queue_.end(),
                           [seq](const InFlight& f) { return f.seq == seq; });
    if (it == queue_.end()) continue;  // dropped by a crash meanwhile
    const Message m = it->message;
    // Links are FIFO: an earlier message on the same link goes first.
    const bool behind = std::any_of(queue_.begin(), it, [&m](const InFlight& f) {
      return f.message.from == m.from && f.message.to == m.to;
    });
    if (behind) {
      Line(absl::StrCat(zab::Describe(m), " (held: behind an earlier message on its link)"));
      continue;
    }
    if (!Deliverable(m)) {
      Line(absl::StrCat(zab::Describe(m), " (held: ", m.to,
                        " is writing a barrier)"));
      continue;
    }
    queue_.erase(it);
    Step(m);
  }
  return true;
}

bool InteractionEnv::DropCmd(const CommandLine& c, bool duplicate,
                             std::string* error) {
  if (!CheckArgs(c, {"from", "to", "type", "n"}, error)) return false;
  MessageFilter filter;
  if (!FilterArgs(c, &filter, error)) return false;
  std::deque<InFlight> kept;
  int64_t done = 0;
  for (InFlight& f : queue_) {
    const Message& m = f.message;
    const bool match = filter.Matches(m) && done < filter.n;
    if (match) ++done;
    if (!match) {
      kept.push_back(std::move(f));
      continue;
    }
    Line(absl::StrCat(duplicate ? "duplicated " : "dropped ", zab::Describe(m)));
    if (duplicate) {
      InFlight copy{f.message, next_seq_++};
      kept.push_back(std::move(f));
      kept.push_back(std::move(copy));
    }
  }
  queue_ = std::move(kept);
  if (done == 0) Line("no messages");
  return true;
}

bool InteractionEnv::PersistCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"peer", "writes", "brief"}, error)) return false;
  PeerId id = 0;
  int64_t writes = std::numeric_limits<int>::max();
  if (!PeerArg(c, "peer", false, &id, error) ||
      !IntArg(c, "writes", &writes, error)) {
    return false;
  }
  for (auto& [pid, p] : peers_) {
    if (id != 0 && pid != id) continue;
    if (!p.core) {
      if (id != 0) Line(absl::StrCat(pid, " is down"));
      continue;
    }
    if (Persist(p, static_cast<int>(writes)) == 0 && id != 0) {
      Line(absl::StrCat(pid, " has nothing to persist"));
    }
  }
  return true;
}

bool InteractionEnv::StabilizeCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"brief"}, error)) return false;
  Stabilize();
  return true;
}

void InteractionEnv::Stabilize() {
  int rounds = 0;
  while (HasWork()) {
    if (++rounds > kStabilizeRounds) {
      const bool brief = brief_;
      brief_ = false;
      Line(absl::StrCat("not stable after ", kStabilizeRounds, " rounds"));
      brief_ = brief;
      return;
    }
    // Deliver what is queued now (to peers not blocked on a barrier),
    // then make every write durable.
    std::vector<uint64_t> now;
    for (const InFlight& f : queue_) now.push_back(f.seq);
    for (uint64_t seq : now) {
      auto it = std::find_if(queue_.begin(), queue_.end(),
                             [seq](const InFlight& f) { return f.seq == seq; });
      if (it == queue_.end() || !Deliverable(it->message)) continue;
      const Message m = it->message;
      queue_.erase(it);
      Step(m);
    }
    for (auto& [id, p] : peers_) {
      while (Persist(p, std::numeric_limits<int>::max()) > 0) {
      }
    }
  }
}

bool InteractionEnv::RunCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"n", "brief"}, error)) return false;
  int64_t n = 1;
  if (!IntArg(c, "n", &n, error)) return false;
  for (int64_t k = 1; k <= n; ++k) {
    TickRound(0, k, n);
    Stabilize();
  }
  return true;
}

bool InteractionEnv::CrashCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"peer", "lose-log"}, error)) return false;
  PeerId id = 0;
  int64_t lose = 0;
  if (!PeerArg(c, "peer", true, &id, error) ||
      !IntArg(c, "lose-log", &lose, error)) {
    return false;
  }
  Peer& p = peers_.at(id);
  if (!p.core) {
    Line(absl::StrCat(id, " is down already"));
    return true;
  }
  Line(absl::StrCat(id, " crashed"));
  if (!p.log_queue.empty()) {
    Action(absl::StrCat(id, " lost log writes ", Z(p.log_queue.front().zxid),
                        "..", Z(p.log_queue.back().zxid), " (",
                        p.log_queue.size(), ")"));
  }
  if (p.host->blocked()) Action(absl::StrCat(id, " lost the barrier being written"));
  if (!p.deferred.empty()) {
    Action(absl::StrCat(id, " lost ", p.deferred.size(), " deferred inputs"));
  }
  std::deque<InFlight> kept;
  for (InFlight& f : queue_) {
    if (f.message.from == id || f.message.to == id) {
      Action(absl::StrCat("dropped ", zab::Describe(f.message)));
    } else {
      kept.push_back(std::move(f));
    }
  }
  queue_ = std::move(kept);
  if (lose > 0) {
    auto& log = p.disk.log;
    const size_t n = std::min(log.size(), static_cast<size_t>(lose));
    if (n > 0) {
      Action(absl::StrCat(id, " disk lost log entries ",
                          Z(log[log.size() - n].zxid), "..", Z(log.back().zxid),
                          " (", n, "): restarts recovering"));
      log.resize(log.size() - n);
      p.disk.recovering = true;
    }
  }
  p.host.reset();
  p.core.reset();
  p.log_queue.clear();
  p.barrier_queued = false;
  p.deferred.clear();
  p.applied.clear();
  p.role = "down";
  return true;
}

bool InteractionEnv::RestartCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"peer"}, error)) return false;
  PeerId id = 0;
  if (!PeerArg(c, "peer", true, &id, error)) return false;
  Peer& p = peers_.at(id);
  if (p.core) {
    Line(absl::StrCat(id, " is up already"));
    return true;
  }
  const auto& log = p.disk.log;
  Line(absl::StrCat(
      id, " restarted: accepted=", p.disk.accepted_epoch,
      " current=", p.disk.current_epoch, " snapshot=", Z(p.disk.base_zxid),
      " log=",
      log.empty() ? std::string("empty")
                  : absl::StrCat(Z(log.front().zxid), "..", Z(log.back().zxid),
                                 " (", log.size(), ")"),
      p.disk.recovering ? " recovering" : ""));
  StartCore(p, /*collect=*/true);
  return true;
}

bool InteractionEnv::ProposeCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"peer", "data"}, error)) return false;
  PeerId id = 0;
  std::string data;
  if (!PeerArg(c, "peer", true, &id, error)) return false;
  if (!Get(c, "data", &data) || data.empty()) {
    *error = "propose: needs data=<text>";
    return false;
  }
  std::vector<std::string> items = absl::StrSplit(data, ',');
  for (const std::string& d : items) {
    if (d.empty()) {
      *error = "propose: an empty item in data=";
      return false;
    }
  }
  Peer& p = peers_.at(id);
  Line(absl::StrCat(id, " propose ", absl::StrJoin(items, " ")));
  if (!p.core) {
    Action(absl::StrCat(id, " is down"));
    return true;
  }
  ProposeAt(p, items);
  return true;
}

bool InteractionEnv::CompactCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"peer"}, error)) return false;
  PeerId id = 0;
  if (!PeerArg(c, "peer", true, &id, error)) return false;
  Peer& p = peers_.at(id);
  if (!p.core) {
    Line(absl::StrCat(id, " is down"));
    return true;
  }
  if (p.host->blocked()) {
    Line(absl::StrCat(id, " not compacted: a barrier is pending"));
    return true;
  }
  // Through the last applied entry the disk holds: the snapshot replaces
  // durable entries only.
  const Zxid durable = p.disk.log.empty() ? p.disk.base_zxid : p.disk.log.back().zxid;
  size_t n = 0;  // applied entries in the snapshot
  while (n < p.applied.size() && p.applied[n].zxid <= durable) ++n;
  const Zxid z = n == 0 ? 0 : p.applied[n - 1].zxid;
  if (z <= p.disk.base_zxid) {
    Line(absl::StrCat(id, " has nothing to compact"));
    return true;
  }
  auto& log = p.disk.log;
  log.erase(log.begin(),
            std::upper_bound(log.begin(), log.end(), z,
                             [](Zxid x, const Entry& e) { return x < e.zxid; }));
  p.disk.base_zxid = z;
  p.snapshot = EncodeApplied(
      std::vector<Entry>(p.applied.begin(), p.applied.begin() + static_cast<long>(n)));
  p.core->Compact(z);
  Line(absl::StrCat(id, " compacted through ", Z(z), ": snapshot of ", n,
                    " entries, log ",
                    log.empty() ? std::string("empty")
                                : absl::StrCat(Z(log.front().zxid), "..",
                                               Z(log.back().zxid))));
  return true;
}

bool InteractionEnv::PartitionCmd(const CommandLine& c, std::string* error) {
  std::map<PeerId, int> groups;
  int g = 0;
  for (absl::string_view part : absl::StrSplit(c.rest, '|')) {
    ++g;
    for (absl::string_view word : absl::StrSplit(part, ',', absl::SkipWhitespace())) {
      uint64_t id = 0;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(word), &id) ||
          peers_.count(id) == 0 || groups.count(id) > 0) {
        *error = absl::StrCat("partition: '", std::string(word),
                              "' is not a peer (or is named twice); write "
                              "partition 1,2 | 3");
        return false;
      }
      groups[id] = g;
    }
  }
  if (g < 2) {
    *error = "partition: needs at least two groups, e.g. partition 1,2 | 3";
    return false;
  }
  group_ = std::move(groups);
  DropUnreachable();
  return true;
}

bool InteractionEnv::CutCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"from", "to", "type"}, error)) return false;
  PeerId from = 0, to = 0;
  if (!PeerArg(c, "from", true, &from, error) ||
      !PeerArg(c, "to", true, &to, error)) {
    return false;
  }
  bool typed = false;
  zab::MessageType t{};
  if (!TypeArg(c, &typed, &t, error)) return false;
  cut_.insert({from, to, typed ? static_cast<int>(t) : -1});
  DropUnreachable();
  return true;
}

void InteractionEnv::HealCmd() {
  group_.clear();
  cut_.clear();
}

bool InteractionEnv::StatusCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"peer"}, error)) return false;
  PeerId id = 0;
  if (!PeerArg(c, "peer", false, &id, error)) return false;
  for (const auto& [pid, p] : peers_) {
    if (id != 0 && pid != id) continue;
    if (!p.core) {
      const Zxid last =
          p.disk.log.empty() ? p.disk.base_zxid : p.disk.log.back().zxid;
      Line(absl::StrCat(pid, " down: disk accepted=", p.disk.accepted_epoch,
                        " current=", p.disk.current_epoch, " last=", Z(last),
                        p.disk.recovering ? " recovering" : ""));
      continue;
    }
    const zab::CoreStatus st = p.core->status();
    std::string s = absl::StrCat(pid, " ", zab::PeerStateName(st.state));
    if (st.leader != 0 && st.leader != pid) absl::StrAppend(&s, " leader=", st.leader);
    if (st.serving) absl::StrAppend(&s, " serving");
    absl::StrAppend(&s, " accepted=", st.accepted_epoch, " current=",
                    st.current_epoch, " last=", Z(st.last_zxid),
                    " committed=", Z(st.committed_zxid));
    if (st.recovering) absl::StrAppend(&s, " recovering");
    Line(s);
  }
  return true;
}

bool InteractionEnv::LogCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"peer"}, error)) return false;
  PeerId id = 0;
  if (!PeerArg(c, "peer", true, &id, error)) return false;
  Peer& p = peers_.at(id);
  Line(absl::StrCat(id, " disk: accepted=", p.disk.accepted_epoch,
                    " current=", p.disk.current_epoch,
                    " snapshot=", Z(p.disk.base_zxid),
                    p.disk.recovering ? " recovering" : ""));
  for (const Entry& e : p.disk.log) Action(absl::StrCat(Z(e.zxid), " ", e.data));
  if (!p.core) return true;
  for (const Entry& e : p.log_queue) {
    Line(absl::StrCat(id, " pending: ", Z(e.zxid), " ", e.data));
  }
  if (p.host->waiting_for_durable()) {
    Line(absl::StrCat(id, " pending: a barrier, waiting for the log writes"));
  } else if (p.host->barrier_written()) {
    Line(absl::StrCat(id, " pending: barrier", BarrierString(*p.host->barrier())));
  }
  return true;
}

bool InteractionEnv::AppliedCmd(const CommandLine& c, std::string* error) {
  if (!CheckArgs(c, {"peer"}, error)) return false;
  PeerId id = 0;
  if (!PeerArg(c, "peer", false, &id, error)) return false;
  for (const auto& [pid, p] : peers_) {
    if (id != 0 && pid != id) continue;
    std::vector<std::string> items;
    for (const Entry& e : p.applied) items.push_back(absl::StrCat(Z(e.zxid), " ", e.data));
    Line(absl::StrCat(pid, ": ",
                      !p.core ? std::string("down")
                      : items.empty() ? std::string("none")
                                      : absl::StrJoin(items, ", ")));
  }
  return true;
}

}  // namespace synod::sim::interaction
