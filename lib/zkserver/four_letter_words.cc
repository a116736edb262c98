#include "zkserver/four_letter_words.h"

#include <array>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "zkwire/zk_protocol.h"

namespace synod::zkserver {
namespace {

// ZooKeeper 3.8's words (FourLetterCommands), served or not.
constexpr std::array<std::string_view, 18> kKnown = {
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
    "srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash"};

// The served words, in Word's order.
constexpr std::array<std::string_view, kWordCount> kServed = {
    "ruok", "isro", "srvr", "stat", "mntr", "conf", "cons", "wchs"};

constexpr std::string_view kNotServing =
    "This ZooKeeper instance is not currently serving requests\n";

uint32_t Bit(Word w) { return 1u << static_cast<int>(w); }

std::string Version() {
  // The protocol's version, then the peer's own.
  return absl::StrCat("3.8.0-synod-", SYNOD_VERSION);
}

std::string Mode(const Health& h) {
  if (h.role == "leader" && h.voters.size() <= 1 && h.observers.empty()) {
    return "standalone";
  }
  return h.role;
}

// A double as Java prints it where ZooKeeper's answers have one ("0.0",
// "1.25").
std::string JavaDouble(double v) {
  std::string s = absl::StrFormat("%.4f", v);
  while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

std::string Hex(int64_t v) {
  return absl::StrFormat("%x", static_cast<uint64_t>(v));
}

// Latency in ms as ZooKeeper reports it (min/avg/max), from the peer's
// write latency histogram: avg exact, min and max the bounds of the
// buckets they fall in.
struct Latency {
  int64_t min = 0;
  double avg = 0;
  int64_t max = 0;
};

Latency LatencyOf(const LatencyHistogram& h) {
  Latency l;
  if (h.count <= 0) return l;
  l.avg = h.sum_seconds * 1000.0 / static_cast<double>(h.count);
  int64_t below = 0;
  bool min_set = false;
  for (size_t i = 0; i < h.cumulative_counts.size() &&
                     i < h.upper_bounds_seconds.size();
       ++i) {
    const int64_t in_bucket = h.cumulative_counts[i] - below;
    below = h.cumulative_counts[i];
    if (in_bucket <= 0) continue;
    const double lower_s = i == 0 ? 0.0 : h.upper_bounds_seconds[i - 1];
    const double upper_s = h.upper_bounds_seconds[i];
    if (!min_set) {
      l.min = static_cast<int64_t>(lower_s * 1000.0);
      min_set = true;
    }
    l.max = static_cast<int64_t>(
        std::ceil((std::isinf(upper_s) ? lower_s : upper_s) * 1000.0));
  }
  return l;
}

int64_t Outstanding(const ServerReport& r) {
  int64_t n = 0;
  for (const ConnectionReport& c : r.connections) n += c.queued;
  return n;
}

void AppendConnection(const ConnectionReport& c, bool brief,
                      std::string* out) {
  absl::StrAppend(out, " /", c.remote, "[1](queued=", c.queued,
                  ",recved=", c.received, ",sent=", c.sent);
  if (!brief && c.session != 0) {
    absl::StrAppend(out, ",sid=0x", Hex(c.session), ",lop=",
                    absl::string_view(c.last_op.data(), c.last_op.size()),
                    ",est=", c.established_ms, ",to=", c.timeout_ms);
    if (c.last_cxid >= 0) absl::StrAppend(out, ",lcxid=0x", Hex(c.last_cxid));
    absl::StrAppend(out, ",lzxid=0x", Hex(c.last_zxid),
                    ",lresp=", c.last_response_ms);
  }
  absl::StrAppend(out, ")");
}

std::string Srvr(const ServerReport& r, bool with_clients) {
  if (!Serving(r.health)) return std::string(kNotServing);
  std::string out = absl::StrCat("Zookeeper version: ", Version(), "\n");
  if (with_clients) {
    absl::StrAppend(&out, "Clients:\n");
    for (const ConnectionReport& c : r.connections) {
      AppendConnection(c, /*brief=*/true, &out);
      absl::StrAppend(&out, "\n");
    }
    absl::StrAppend(&out, "\n");
  }
  const Latency l = LatencyOf(r.health.write_latency);
  absl::StrAppend(&out, "Latency min/avg/max: ", l.min, "/",
                  JavaDouble(l.avg), "/", l.max, "\n");
  absl::StrAppend(&out, "Received: ", r.packets_received, "\n");
  absl::StrAppend(&out, "Sent: ", r.packets_sent, "\n");
  absl::StrAppend(&out, "Connections: ", r.connections.size(), "\n");
  absl::StrAppend(&out, "Outstanding: ", Outstanding(r), "\n");
  absl::StrAppend(&out, "Zxid: 0x", Hex(r.health.last_zxid), "\n");
  absl::StrAppend(&out, "Mode: ", Mode(r.health), "\n");
  absl::StrAppend(&out, "Node count: ", r.health.znode_count, "\n");
  return out;
}

std::string Mntr(const ServerReport& r) {
  if (!Serving(r.health)) return std::string(kNotServing);
  const Health& h = r.health;
  const Latency l = LatencyOf(h.write_latency);
  std::string out;
  auto line = [&out](absl::string_view key, const auto& value) {
    absl::StrAppend(&out, key, "\t", value, "\n");
  };
  line("zk_version", Version());
  line("zk_server_state", Mode(h));
  const std::string mode = Mode(h);
  if (mode != "standalone") {
    line("zk_peer_state", absl::StrCat(mode == "leader"     ? "leading"
                                       : mode == "follower" ? "following"
                                                            : "observing",
                                       " - broadcast"));
  }
  line("zk_ephemerals_count", h.ephemeral_count);
  line("zk_num_alive_connections", r.connections.size());
  line("zk_avg_latency", JavaDouble(l.avg));
  line("zk_min_latency", l.min);
  line("zk_max_latency", l.max);
  line("zk_outstanding_requests", Outstanding(r));
  line("zk_znode_count", h.znode_count);
  line("zk_global_sessions", h.session_count);
  line("zk_local_sessions", 0);
  line("zk_packets_received", r.packets_received);
  line("zk_packets_sent", r.packets_sent);
  line("zk_watch_count", h.watch_count);
  line("zk_approximate_data_size", h.data_bytes);
  line("zk_open_file_descriptor_count", r.open_file_descriptors);
  line("zk_max_file_descriptor_count", r.max_file_descriptors);
  line("zk_uptime", r.uptime_ms);
  if (mode == "leader") {
    // Every learner the leader knows, and the voters among them it has
    // synchronized (ZooKeeper's synced followers).
    int64_t learners = 0;
    int64_t synced = 0;
    int64_t synced_observers = 0;
    for (const EnsembleMember& m : h.voters) {
      if (m.id == h.peer_id) continue;
      ++learners;
      if (m.state == "serving") ++synced;
    }
    for (const EnsembleMember& m : h.observers) {
      ++learners;
      if (m.state == "serving") ++synced_observers;
    }
    line("zk_learners", learners);
    line("zk_synced_followers", synced);
    line("zk_synced_observers", synced_observers);
    line("zk_pending_syncs", 0);
  }
  return out;
}

std::string Conf(const ServerReport& r) {
  if (!Serving(r.health)) return std::string(kNotServing);
  const size_t colon = r.client_address.rfind(':');
  const std::string port = colon == std::string::npos
                               ? r.client_address
                               : r.client_address.substr(colon + 1);
  std::string out;
  absl::StrAppend(&out, "clientPort=", port, "\n");
  absl::StrAppend(&out, "secureClientPort=-1\n");
  absl::StrAppend(&out, "dataDir=", r.data_dir, "\n");
  absl::StrAppend(&out, "dataLogDir=", r.data_dir, "\n");
  absl::StrAppend(&out, "tickTime=", r.tick_ms, "\n");
  absl::StrAppend(&out, "maxClientCnxns=", r.max_connections, "\n");
  absl::StrAppend(&out, "minSessionTimeout=", r.min_session_timeout_ms, "\n");
  absl::StrAppend(&out, "maxSessionTimeout=", r.max_session_timeout_ms, "\n");
  absl::StrAppend(&out, "serverId=", r.health.peer_id, "\n");
  if (Mode(r.health) != "standalone") {
    absl::StrAppend(&out, "membership: \n");
    for (const EnsembleMember& m : r.health.voters) {
      absl::StrAppend(&out, "server.", m.id, "=", m.address, ":participant\n");
    }
    for (const EnsembleMember& m : r.health.observers) {
      absl::StrAppend(&out, "server.", m.id, "=", m.address, ":observer\n");
    }
    absl::StrAppend(&out, "version=", Hex(r.health.config_version), "\n");
  }
  return out;
}

std::string Cons(const ServerReport& r) {
  if (!Serving(r.health)) return std::string(kNotServing);
  std::string out;
  for (const ConnectionReport& c : r.connections) {
    AppendConnection(c, /*brief=*/false, &out);
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "\n");
  return out;
}

std::string Wchs(const ServerReport& r) {
  if (!Serving(r.health)) return std::string(kNotServing);
  return absl::StrCat(r.health.watching_sessions, " connections watching ",
                      r.health.watched_paths, " paths\nTotal watches:",
                      r.health.watch_count, "\n");
}

}  // namespace

std::optional<std::string_view> KnownWord(std::string_view first_four) {
  for (std::string_view w : kKnown) {
    if (w == first_four) return w;
  }
  return std::nullopt;
}

std::optional<Word> ServedWord(std::string_view name) {
  for (int i = 0; i < kWordCount; ++i) {
    if (kServed[i] == name) return static_cast<Word>(i);
  }
  return std::nullopt;
}

WordWhitelist::WordWhitelist() : bits_(Bit(Word::kSrvr)) {}

absl::StatusOr<WordWhitelist> WordWhitelist::Parse(std::string_view list) {
  WordWhitelist out;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    if (part == "*") {
      out.bits_ = (1u << kWordCount) - 1;
      continue;
    }
    std::optional<Word> w = ServedWord(std::string_view(part.data(), part.size()));
    if (!w.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", part,
          "' is not a four-letter word served here (ruok, isro, srvr, stat, "
          "mntr, conf, cons, wchs, or * for all)"));
    }
    out.bits_ |= Bit(*w);
  }
  return out;
}

std::string_view LastOpName(int32_t type) {
  using zkwire::OpCode;
  switch (static_cast<OpCode>(type)) {
    case OpCode::kPing: return "PING";
    case OpCode::kCreateSession: return "SESS";
    case OpCode::kMulti: return "MULT";
    case OpCode::kMultiRead: return "MLTR";
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateTtl:
    case OpCode::kCreateContainer: return "CREA";
    case OpCode::kDelete:
    case OpCode::kDeleteContainer: return "DELE";
    case OpCode::kSetData: return "SETD";
    case OpCode::kReconfig: return "RECO";
    case OpCode::kSetAcl: return "SETA";
    case OpCode::kCloseSession: return "CLOS";
    case OpCode::kSync: return "SYNC";
    case OpCode::kCheck: return "CHEC";
    case OpCode::kExists: return "EXIS";
    case OpCode::kGetData: return "GETD";
    case OpCode::kSetWatches: return "SETW";
    case OpCode::kSetWatches2: return "STW2";
    case OpCode::kAddWatch: return "ADDW";
    case OpCode::kGetAcl: return "GETA";
    case OpCode::kGetChildren:
    case OpCode::kGetChildren2: return "GETC";
    case OpCode::kGetAllChildrenNumber: return "GETACN";
    case OpCode::kCheckWatches: return "CHKW";
    case OpCode::kRemoveWatches: return "REMW";
    case OpCode::kWhoAmI: return "HOMI";
    case OpCode::kGetEphemerals: return "GETE";
    case OpCode::kAuth: return "AUTH";
    default: return "NA";
  }
}

bool Serving(const Health& h) { return h.role != "looking"; }

std::string AnswerWord(std::string_view word, const WordWhitelist& allowed,
                       const ServerReport& report) {
  const std::optional<Word> w = ServedWord(word);
  if (!w.has_value() || !allowed.Allows(*w)) {
    return absl::StrCat(std::string(word),
                        " is not executed because it is not in the "
                        "whitelist.\n");
  }
  switch (*w) {
    case Word::kRuok:
      return "imok";
    case Word::kIsro:
      return Serving(report.health) ? "rw" : "null";
    case Word::kSrvr:
      return Srvr(report, /*with_clients=*/false);
    case Word::kStat:
      return Srvr(report, /*with_clients=*/true);
    case Word::kMntr:
      return Mntr(report);
    case Word::kConf:
      return Conf(report);
    case Word::kCons:
      return Cons(report);
    case Word::kWchs:
      return Wchs(report);
  }
  return "";
}

}  // namespace synod::zkserver
