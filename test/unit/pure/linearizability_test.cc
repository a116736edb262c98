// Tests for test/util/linearizability: the znode linearizability checker,
// on hand-written histories (fine, violating, with unknown outcomes) and on
// randomized histories of a simulated linearizable ensemble.

#include "util/linearizability.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace synod::testing {
namespace {

using Catch::Matchers::Contains;

// Builders of history ops on path "/a" unless told; times are in ns.
HistoryOp Op(int client, OpKind kind, int64_t invoke, int64_t response,
             Outcome outcome) {
  HistoryOp op;
  op.client = client;
  op.path = "/a";
  op.kind = kind;
  op.invoke_ns = invoke;
  op.response_ns = response;
  op.outcome = outcome;
  return op;
}

HistoryOp Create(int client, int64_t invoke, int64_t response,
                 std::string value, Outcome outcome = Outcome::kOk) {
  HistoryOp op = Op(client, OpKind::kCreate, invoke, response, outcome);
  op.value = std::move(value);
  return op;
}

// A Set answered ok with `new_version`.
HistoryOp Set(int client, int64_t invoke, int64_t response, std::string value,
              int32_t new_version, int32_t expected = -1) {
  HistoryOp op = Op(client, OpKind::kSet, invoke, response, Outcome::kOk);
  op.value = std::move(value);
  op.version = new_version;
  op.expected_version = expected;
  return op;
}

// A Set answered with an error (or of unknown outcome).
HistoryOp SetFailed(int client, int64_t invoke, int64_t response,
                    std::string value, int32_t expected, Outcome outcome) {
  HistoryOp op = Op(client, OpKind::kSet, invoke, response, outcome);
  op.value = std::move(value);
  op.expected_version = expected;
  return op;
}

HistoryOp Delete(int client, int64_t invoke, int64_t response,
                 int32_t expected = -1, Outcome outcome = Outcome::kOk) {
  HistoryOp op = Op(client, OpKind::kDelete, invoke, response, outcome);
  op.expected_version = expected;
  return op;
}

HistoryOp Read(int client, int64_t invoke, int64_t response,
               std::string value, int32_t version) {
  HistoryOp op = Op(client, OpKind::kRead, invoke, response, Outcome::kOk);
  op.exists = true;
  op.read_value = std::move(value);
  op.version = version;
  return op;
}

HistoryOp ReadAbsent(int client, int64_t invoke, int64_t response) {
  return Op(client, OpKind::kRead, invoke, response, Outcome::kNoNode);
}

HistoryOp Unknown(HistoryOp op) {
  op.outcome = Outcome::kUnknown;
  op.response_ns = 0;
  return op;
}

// A Set whose outcome the client never learned.
HistoryOp UnknownSet(int client, int64_t invoke, std::string value,
                     int32_t expected = -1) {
  return Unknown(
      SetFailed(client, invoke, 0, std::move(value), expected, Outcome::kOk));
}

HistoryOp OnPath(HistoryOp op, std::string path) {
  op.path = std::move(path);
  return op;
}

void ExpectLinearizable(const std::vector<HistoryOp>& history,
                        const CheckOptions& options = {}) {
  const CheckResult r = CheckLinearizable(history, options);
  INFO(r.explanation);
  CHECK(VerdictName(r.verdict) == std::string("linearizable"));
  CHECK(r.explanation.empty());
}

// Expects a violation and returns its explanation.
std::string ExpectViolation(const std::vector<HistoryOp>& history,
                            const CheckOptions& options = {}) {
  const CheckResult r = CheckLinearizable(history, options);
  INFO(r.explanation);
  CHECK(VerdictName(r.verdict) == std::string("violation"));
  CHECK_THAT(r.explanation, Contains("not linearizable"));
  return r.explanation;
}

TEST_CASE("empty history is linearizable", "[linearizability]") {
  const CheckResult r = CheckLinearizable({});
  CHECK(r.verdict == CheckResult::kLinearizable);
  CHECK(r.ops_checked == 0);
}

TEST_CASE("sequential histories follow the znode model", "[linearizability]") {
  ExpectLinearizable({
      ReadAbsent(1, 0, 1),
      SetFailed(1, 2, 3, "x", -1, Outcome::kNoNode),
      Delete(1, 4, 5, -1, Outcome::kNoNode),
      Create(1, 6, 7, "a"),
      Read(2, 8, 9, "a", 0),
      Create(2, 10, 11, "b", Outcome::kNodeExists),
      Set(1, 12, 13, "b", 1),
      Set(2, 14, 15, "c", 2, /*expected=*/1),
      SetFailed(1, 16, 17, "d", /*expected=*/1, Outcome::kBadVersion),
      Read(1, 18, 19, "c", 2),
      Delete(2, 20, 21, /*expected=*/0, Outcome::kBadVersion),
      Delete(2, 22, 23, /*expected=*/2),
      ReadAbsent(1, 24, 25),
      Create(1, 26, 27, "e"),  // versions restart
      Read(2, 28, 29, "e", 0),
      Set(2, 30, 31, "f", 1, /*expected=*/0),
      Delete(1, 32, 33),
  });
}

TEST_CASE("an initial state can be given per path", "[linearizability]") {
  CheckOptions options;
  options.initial_states["/a"] = ZnodeState{true, "init", 7};
  ExpectLinearizable({Read(1, 0, 1, "init", 7), Set(1, 2, 3, "x", 8)},
                     options);
  ExpectViolation({ReadAbsent(1, 0, 1)}, options);
  ExpectViolation({Create(1, 0, 1, "x")}, options);
  // Other paths still start absent.
  ExpectLinearizable({OnPath(Create(1, 0, 1, "x"), "/b")}, options);
}

TEST_CASE("concurrent ops linearize in the one order that fits",
          "[linearizability]") {
  // Starting from "v0" at version 0: the sets overlap each other and the
  // first read, and their versions say b came first; the first read saw b
  // alone, the last saw a.
  CheckOptions options;
  options.initial_states["/a"] = ZnodeState{true, "v0", 0};
  std::vector<HistoryOp> history = {
      Set(1, 10, 100, "a", 2),
      Set(2, 20, 90, "b", 1),
      Read(3, 30, 80, "b", 1),
      Read(4, 110, 120, "a", 2),
  };
  ExpectLinearizable(history, options);

  SECTION("the read may also see the initial or the final state") {
    history[2] = Read(3, 30, 80, "v0", 0);
    ExpectLinearizable(history, options);
    history[2] = Read(3, 30, 80, "a", 2);
    ExpectLinearizable(history, options);
  }
  SECTION("but not a state that never existed") {
    history[2] = Read(3, 30, 80, "a", 1);
    ExpectViolation(history, options);
  }
  SECTION("versions that contradict the final read") {
    history[0].version = 1;
    history[1].version = 2;
    history[2] = Read(3, 30, 80, "a", 1);
    const std::string x = ExpectViolation(history, options);
    CHECK_THAT(x, Contains("c4"));
  }
  SECTION("a read after both sets cannot see the earlier one") {
    history.push_back(Read(5, 130, 140, "b", 1));
    ExpectViolation(history, options);
  }
}

TEST_CASE("ops touching in time count as concurrent", "[linearizability]") {
  // The read is invoked exactly when the set responds: either order.
  ExpectLinearizable({
      Create(1, 0, 1, "a"),
      Set(1, 2, 5, "b", 1),
      Read(2, 5, 6, "a", 0),
  });
  ExpectViolation({
      Create(1, 0, 1, "a"),
      Set(1, 2, 5, "b", 1),
      Read(2, 6, 7, "a", 0),
  });
}

TEST_CASE("stale read after a completed write is a violation",
          "[linearizability]") {
  const std::string x = ExpectViolation({
      Create(1, 0, 10, "a"),
      Set(1, 20, 30, "b", 1),
      Read(2, 40, 50, "a", 0),
  });
  CHECK_THAT(x, Contains("\"/a\""));
  CHECK_THAT(x, Contains("Longest linearizable prefix found: 2 ops"));
  CHECK_THAT(x, Contains("c2 [+0.000ms, +0.000ms] Read \"/a\" -> \"a\" version=0"));
  CHECK_THAT(x, Contains("exists, value \"b\", version 1"));
}

TEST_CASE("two successful creates without a delete is a violation",
          "[linearizability]") {
  SECTION("sequential") {
    const std::string x =
        ExpectViolation({Create(1, 0, 10, "a"), Create(2, 20, 30, "b")});
    CHECK_THAT(x, Contains("needs the node absent"));
    CHECK_THAT(x, Contains("c2"));
  }
  SECTION("concurrent") {
    ExpectViolation({Create(1, 0, 10, "a"), Create(2, 5, 30, "b")});
  }
  SECTION("with a concurrent delete in between it is fine") {
    ExpectLinearizable(
        {Create(1, 0, 10, "a"), Create(2, 5, 30, "b"), Delete(3, 2, 25)});
  }
}

TEST_CASE("a set returning a version that skips is a violation",
          "[linearizability]") {
  const std::string x =
      ExpectViolation({Create(1, 0, 10, "a"), Set(1, 20, 30, "b", 2)});
  CHECK_THAT(x, Contains("returned version 2, but would make version 1"));
  // Two sets returning the same version.
  ExpectViolation(
      {Create(1, 0, 10, "a"), Set(1, 20, 30, "b", 1), Set(2, 15, 35, "c", 1)});
}

TEST_CASE("a lost acknowledged write is a violation", "[linearizability]") {
  // Client 1's set was acknowledged; later reads by everyone still show the
  // value and version from before it.
  ExpectViolation({
      Create(1, 0, 10, "a"),
      Set(1, 20, 30, "b", 1),
      Read(2, 25, 35, "a", 0),  // concurrent: fine alone
      Read(3, 40, 50, "a", 0),  // after the ack: lost
      Read(2, 60, 70, "a", 0),
  });
  // A deleted node coming back.
  ExpectViolation({
      Create(1, 0, 10, "a"),
      Delete(1, 20, 30),
      Read(2, 40, 50, "a", 0),
  });
}

TEST_CASE("impossible outcomes and version errors are violations",
          "[linearizability]") {
  const std::string x = ExpectViolation(
      {Create(1, 0, 10, "a"), Create(1, 20, 30, "b", Outcome::kBadVersion)});
  CHECK_THAT(x, Contains("impossible"));
  // BadVersion although the version matched.
  ExpectViolation({Create(1, 0, 10, "a"),
                   SetFailed(1, 20, 30, "b", 0, Outcome::kBadVersion)});
  // A conditional set that succeeded against the wrong version.
  ExpectViolation({Create(1, 0, 10, "a"), Set(1, 20, 30, "b", 1, 5)});
  // NoNode while the node exists.
  ExpectViolation({Create(1, 0, 10, "a"), Delete(2, 20, 30, -1, Outcome::kNoNode)});
}

TEST_CASE("unknown-outcome writes may or may not take effect",
          "[linearizability]") {
  SECTION("assumed to have happened: a later read shows it") {
    ExpectLinearizable({
        Create(1, 0, 10, "a"),
        UnknownSet(1, 20, "b"),
        Read(2, 100, 110, "b", 1),
        Set(2, 120, 130, "c", 2),
    });
  }
  SECTION("the version of a later write shows it happened") {
    ExpectLinearizable({
        Create(1, 0, 10, "a"),
        UnknownSet(1, 20, "b"),
        Set(2, 120, 130, "c", 2),
    });
  }
  SECTION("assumed not to have happened") {
    ExpectLinearizable({
        Create(1, 0, 10, "a"),
        UnknownSet(1, 20, "b"),
        Unknown(Delete(3, 25, 0)),
        Unknown(Create(3, 26, 0, "z")),
        Read(2, 100, 110, "a", 0),
        Set(2, 120, 130, "c", 1),
        Read(1, 140, 150, "c", 1),
    });
  }
  SECTION("long after its invocation") {
    ExpectLinearizable({
        Create(1, 0, 10, "a"),
        UnknownSet(1, 20, "b"),
        Read(2, 100, 110, "a", 0),
        Read(2, 1000, 1010, "a", 0),
        Read(2, 2000, 2010, "b", 1),
    });
  }
  SECTION("but not before its invocation") {
    ExpectViolation({
        Create(1, 0, 10, "a"),
        Read(2, 100, 110, "b", 1),
        UnknownSet(1, 200, "b"),
    });
  }
  SECTION("and not undone once seen") {
    ExpectViolation({
        Create(1, 0, 10, "a"),
        UnknownSet(1, 20, "b"),
        Read(2, 100, 110, "b", 1),
        Read(2, 120, 130, "a", 0),
    });
  }
  SECTION("and only once") {
    ExpectViolation({
        Create(1, 0, 10, "a"),
        UnknownSet(1, 20, "b"),
        Read(2, 100, 110, "b", 1),
        Read(2, 120, 130, "b", 2),
    });
  }
  SECTION("a conditional one only if its version matched") {
    ExpectViolation({
        Create(1, 0, 10, "a"),
        UnknownSet(1, 20, "b", /*expected=*/3),
        Read(2, 100, 110, "b", 1),
    });
  }
  SECTION("an unknown create, delete and create again") {
    ExpectLinearizable({
        Unknown(Create(1, 0, 0, "a")),
        Unknown(Delete(2, 5, 0)),
        Create(3, 50, 60, "b"),
        Read(1, 70, 80, "b", 0),
    });
  }
  SECTION("unknown reads are dropped") {
    const CheckResult r = CheckLinearizable({
        Create(1, 0, 10, "a"),
        Unknown(Read(2, 20, 0, "nonsense", 9)),
    });
    CHECK(r.verdict == CheckResult::kLinearizable);
    CHECK(r.ops_checked == 1);
  }
}

TEST_CASE("an effect deadline bounds when an unknown write can happen",
          "[linearizability]") {
  std::vector<HistoryOp> history = {
      Create(1, 0, 10, "a"),
      UnknownSet(1, 20, "b"),
      Read(2, 100, 110, "a", 0),
      Read(2, 200, 210, "b", 1),
  };
  ExpectLinearizable(history);
  history[1].effect_deadline_ns = 150;  // between the reads
  ExpectLinearizable(history);
  history[1].effect_deadline_ns = 50;  // before the first read
  const std::string x = ExpectViolation(history);
  CHECK_THAT(x, Contains("effect before +0.000ms"));
  // Within the deadline it may happen or not.
  history[2] = Read(2, 100, 110, "b", 1);
  ExpectLinearizable(history);
  history[2] = Read(2, 100, 110, "a", 0);
  history[3] = Read(2, 200, 210, "a", 0);
  ExpectLinearizable(history);
}

TEST_CASE("client_fifo bounds unknown writes by the client's next op",
          "[linearizability]") {
  const std::vector<HistoryOp> history = {
      Create(1, 0, 10, "a"),
      UnknownSet(1, 20, "b"),
      OnPath(Create(1, 30, 40, "x"), "/other"),  // client 1 moves on
      Read(2, 100, 110, "a", 0),
      Read(2, 200, 210, "b", 1),
  };
  ExpectLinearizable(history);
  CheckOptions fifo;
  fifo.client_fifo = true;
  const std::string x = ExpectViolation(history, fifo);
  CHECK_THAT(x, Contains("effect before"));
  // Seen before the deadline, the write is fine.
  std::vector<HistoryOp> seen = history;
  seen[3] = Read(2, 35, 110, "b", 1);
  ExpectLinearizable(seen, fifo);
}

TEST_CASE("paths are checked independently", "[linearizability]") {
  std::vector<HistoryOp> history = {
      OnPath(Create(1, 0, 10, "a"), "/x"),
      OnPath(Create(2, 0, 10, "a"), "/y"),
      OnPath(Set(1, 20, 30, "b", 1), "/x"),
      OnPath(Read(2, 40, 50, "a", 0), "/y"),
      OnPath(Read(3, 40, 50, "b", 1), "/x"),
  };
  const CheckResult ok = CheckLinearizable(history);
  CHECK(ok.verdict == CheckResult::kLinearizable);
  CHECK(ok.ops_checked == 5);
  history.push_back(OnPath(Read(3, 60, 70, "b", 1), "/y"));
  const std::string x = ExpectViolation(history);
  CHECK_THAT(x, Contains("path \"/y\""));
  CHECK_THAT(x, Contains("c3"));
}

TEST_CASE("malformed histories are reported as such", "[linearizability]") {
  CheckResult r = CheckLinearizable({Create(1, 10, 5, "a")});
  CHECK(r.verdict == CheckResult::kMalformed);
  CHECK_THAT(r.explanation, Contains("response before invocation"));
  HistoryOp u = Unknown(Create(1, 10, 0, "a"));
  u.effect_deadline_ns = 9;
  r = CheckLinearizable({u});
  CHECK(r.verdict == CheckResult::kMalformed);
}

// ---- Randomized histories of a simulated linearizable ensemble.

struct SimOptions {
  int clients = 8;
  int ops = 1000;
  int paths = 1;
  // Fraction of ops whose outcome the client never learns; half of those
  // take effect (possibly long after the client gave up).
  double unknown_rate = 0.0;
  // Whether unknown writes carry their (true) effect deadline.
  bool deadlines = false;
  uint64_t seed = 1;
  // Whether unknown writes take effect before their client's next op (as
  // CheckOptions::client_fifo assumes) rather than up to 400 ns after their
  // invocation.
  bool fifo = false;
};

// Runs `clients` clients against one linearizable register per path: each
// op takes effect at a random point of [invoke, response], its outcome
// computed from the state there. Clients pick expected versions from what
// they last saw, so conditional ops both succeed and fail.
std::vector<HistoryOp> SimulateHistory(const SimOptions& o) {
  std::mt19937_64 rng(o.seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  enum EventType { kLinearize = 0, kRespond = 1, kInvoke = 2 };
  using Event = std::tuple<int64_t, int, size_t, int>;  // time, type, op, client
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  std::vector<HistoryOp> history;
  std::map<std::string, ZnodeState> state;
  std::vector<std::map<std::string, int32_t>> seen_version(o.clients);
  std::vector<bool> reported_unknown;
  std::vector<int64_t> next_invoke;  // of the op's client, after it
  for (int c = 0; c < o.clients; ++c) {
    events.emplace(uniform(0, 20), kInvoke, 0, c);
  }
  int issued = 0;
  while (!events.empty()) {
    const auto [time, type, index, client] = events.top();
    events.pop();
    if (type == kInvoke) {
      if (issued++ >= o.ops) continue;
      HistoryOp op;
      op.client = client;
      op.path = "/p" + std::to_string(uniform(0, o.paths - 1));
      const int64_t dice = uniform(0, 99);
      op.kind = dice < 35   ? OpKind::kRead
                : dice < 70 ? OpKind::kSet
                : dice < 85 ? OpKind::kCreate
                            : OpKind::kDelete;
      op.value = "c" + std::to_string(client) + "-" + std::to_string(issued);
      if (uniform(0, 1) == 1) {
        auto it = seen_version[client].find(op.path);
        op.expected_version = it == seen_version[client].end() ? 0 : it->second;
      }
      op.invoke_ns = time;
      op.response_ns = time + uniform(1, 100);
      next_invoke.push_back(op.response_ns + uniform(0, 10));
      const bool unknown =
          std::uniform_real_distribution<double>(0, 1)(rng) < o.unknown_rate;
      int64_t effect = uniform(op.invoke_ns, op.response_ns);
      bool takes_effect = true;
      if (unknown) {
        takes_effect = uniform(0, 1) == 1;
        const int64_t deadline =
            o.fifo ? next_invoke.back() : op.invoke_ns + 400;
        effect = uniform(op.invoke_ns, deadline);
        if (o.deadlines) op.effect_deadline_ns = deadline;
      }
      history.push_back(op);
      reported_unknown.push_back(unknown);
      if (takes_effect) events.emplace(effect, kLinearize, history.size() - 1, client);
      events.emplace(op.response_ns, kRespond, history.size() - 1, client);
    } else if (type == kLinearize) {
      HistoryOp& op = history[index];
      ZnodeState& s = state[op.path];
      const bool matches =
          op.expected_version == -1 || op.expected_version == s.version;
      op.outcome = Outcome::kOk;
      switch (op.kind) {
        case OpKind::kCreate:
          if (s.exists) {
            op.outcome = Outcome::kNodeExists;
          } else {
            s = ZnodeState{true, op.value, 0};
          }
          break;
        case OpKind::kSet:
          if (!s.exists) {
            op.outcome = Outcome::kNoNode;
          } else if (!matches) {
            op.outcome = Outcome::kBadVersion;
          } else {
            s.value = op.value;
            op.version = ++s.version;
          }
          break;
        case OpKind::kDelete:
          if (!s.exists) {
            op.outcome = Outcome::kNoNode;
          } else if (!matches) {
            op.outcome = Outcome::kBadVersion;
          } else {
            s = ZnodeState{};
          }
          break;
        case OpKind::kRead:
          if (!s.exists) {
            op.outcome = Outcome::kNoNode;
          } else {
            op.exists = true;
            op.read_value = s.value;
            op.version = s.version;
          }
          break;
      }
    } else {  // kRespond
      HistoryOp& op = history[index];
      if (reported_unknown[index]) {
        op.outcome = Outcome::kUnknown;
      } else if (op.outcome == Outcome::kOk &&
                 (op.kind == OpKind::kSet || op.kind == OpKind::kRead)) {
        seen_version[client][op.path] = op.version;
      } else if (op.outcome == Outcome::kOk && op.kind == OpKind::kCreate) {
        seen_version[client][op.path] = 0;
      }
      events.emplace(next_invoke[index], kInvoke, 0, client);
    }
  }
  // Unknown ops whose effect came after the client gave up were overwritten
  // with an outcome by kLinearize; the client never learned it.
  for (size_t i = 0; i < history.size(); ++i) {
    if (reported_unknown[i]) history[i].outcome = Outcome::kUnknown;
  }
  return history;
}

// Replaces the value of a random successful read with one never written;
// returns false if there is no such read.
bool CorruptOneRead(std::vector<HistoryOp>* history, uint64_t seed) {
  std::vector<size_t> reads;
  for (size_t i = 0; i < history->size(); ++i) {
    const HistoryOp& op = (*history)[i];
    if (op.kind == OpKind::kRead && op.outcome == Outcome::kOk && op.exists) {
      reads.push_back(i);
    }
  }
  if (reads.empty()) return false;
  std::mt19937_64 rng(seed);
  const size_t i = reads[rng() % reads.size()];
  (*history)[i].read_value = "never-written";
  return true;
}

TEST_CASE("randomized linearizable histories are accepted, corrupted ones "
          "rejected",
          "[linearizability]") {
  struct Case {
    const char* name;
    SimOptions options;
  };
  const std::vector<Case> cases = {
      {"one path, 8 clients", {8, 2000, 1, 0.0, false, 1}},
      {"three paths", {8, 1500, 3, 0.0, false, 2}},
      {"16 clients", {16, 1500, 1, 0.0, false, 3}},
      {"unknown outcomes, no deadlines", {8, 300, 1, 0.03, false, 4}},
      {"unknown outcomes with deadlines", {8, 1500, 2, 0.05, true, 5}},
      {"unknown outcomes, client FIFO", {8, 2000, 2, 0.1, false, 6, true}},
  };
  for (const Case& c : cases) {
    for (uint64_t seed = 0; seed < 3; ++seed) {
      SimOptions o = c.options;
      o.seed = o.seed * 1000 + seed;
      std::vector<HistoryOp> history = SimulateHistory(o);
      INFO(c.name << ", seed " << o.seed << ", " << history.size() << " ops");
      REQUIRE(history.size() == static_cast<size_t>(o.ops));
      CheckOptions check;
      check.client_fifo = o.fifo;
      const CheckResult r = CheckLinearizable(history, check);
      INFO(r.explanation);
      CHECK(VerdictName(r.verdict) == std::string("linearizable"));
      // Typical histories need few states per op.
      CHECK(r.states_explored < 20 * history.size());

      REQUIRE(CorruptOneRead(&history, o.seed));
      const CheckResult bad = CheckLinearizable(history, check);
      INFO(bad.explanation);
      CHECK(VerdictName(bad.verdict) == std::string("violation"));
      CHECK_THAT(bad.explanation, Contains("\"never-written\""));
    }
  }
}

TEST_CASE("the search gives up past max_states", "[linearizability]") {
  SimOptions o;
  o.ops = 200;
  const std::vector<HistoryOp> history = SimulateHistory(o);
  CheckOptions options;
  options.max_states = 10;
  const CheckResult r = CheckLinearizable(history, options);
  CHECK(r.verdict == CheckResult::kTooExpensive);
  CHECK_THAT(r.explanation, Contains("max_states"));
  CHECK(VerdictName(r.verdict) == std::string("too expensive"));
  options.max_states = 100'000;
  CHECK(CheckLinearizable(history, options).verdict ==
        CheckResult::kLinearizable);
}

// ---- The thread-safe recorder.

TEST_CASE("History records concurrent workers", "[linearizability]") {
  History history;
  std::mutex mu;
  ZnodeState node;  // a linearizable register: one lock around each op
  constexpr int kWorkers = 4;
  constexpr int kOpsPerWorker = 150;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 rng(w);
      for (int i = 0; i < kOpsPerWorker; ++i) {
        const std::string value = std::to_string(w) + "/" + std::to_string(i);
        const int dice = static_cast<int>(rng() % 10);
        if (dice < 4) {
          const size_t op = history.Invoke(w, "/r", OpKind::kRead);
          ZnodeState seen;
          {
            std::lock_guard<std::mutex> lock(mu);
            seen = node;
          }
          history.CompleteRead(op, seen.exists, seen.value, seen.version);
        } else if (dice < 8) {
          const size_t op = history.Invoke(w, "/r", OpKind::kSet, value);
          Outcome outcome = Outcome::kNoNode;
          int32_t version = 0;
          {
            std::lock_guard<std::mutex> lock(mu);
            if (node.exists) {
              node.value = value;
              version = ++node.version;
              outcome = Outcome::kOk;
            }
          }
          // Now and then the "connection" drops: the write happened, but the
          // worker never learns it.
          if (dice == 7 && i % 5 == 0) {
            history.CompleteUnknown(op);
          } else {
            history.Complete(op, outcome, version);
          }
        } else if (dice < 9) {
          const size_t op = history.Invoke(w, "/r", OpKind::kCreate, value);
          Outcome outcome = Outcome::kNodeExists;
          {
            std::lock_guard<std::mutex> lock(mu);
            if (!node.exists) {
              node = ZnodeState{true, value, 0};
              outcome = Outcome::kOk;
            }
          }
          history.Complete(op, outcome);
        } else {
          const size_t op = history.Invoke(w, "/r", OpKind::kDelete);
          Outcome outcome = Outcome::kNoNode;
          {
            std::lock_guard<std::mutex> lock(mu);
            if (node.exists) {
              node = ZnodeState{};
              outcome = Outcome::kOk;
            }
          }
          history.Complete(op, outcome);
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
  const std::vector<HistoryOp> ops = history.Ops();
  REQUIRE(ops.size() == kWorkers * kOpsPerWorker);
  for (const HistoryOp& op : ops) {
    if (op.outcome != Outcome::kUnknown) CHECK(op.response_ns >= op.invoke_ns);
  }
  const CheckResult r = CheckLinearizable(ops);
  INFO(r.explanation);
  CHECK(VerdictName(r.verdict) == std::string("linearizable"));
}

TEST_CASE("History leaves uncompleted ops unknown and catches a stale read",
          "[linearizability]") {
  History history;
  const size_t create = history.Invoke(1, "/s", OpKind::kCreate, "a");
  history.Complete(create, Outcome::kOk);
  const size_t pending = history.Invoke(2, "/s", OpKind::kSet, "never-acked");
  const size_t set = history.Invoke(1, "/s", OpKind::kSet, "b");
  history.Complete(set, Outcome::kOk, 1);
  std::vector<HistoryOp> ops = history.Ops();
  CHECK(ops[pending].outcome == Outcome::kUnknown);
  CHECK(CheckLinearizable(ops).verdict == CheckResult::kLinearizable);

  const size_t read = history.Invoke(3, "/s", OpKind::kRead);
  history.CompleteRead(read, true, "a", 0);  // stale: the set was acked
  const CheckResult r = CheckLinearizable(history.Ops());
  CHECK(r.verdict == CheckResult::kViolation);
  CHECK_THAT(r.explanation, Contains("c3"));
  CHECK_THAT(r.explanation, Contains("Read \"/s\" -> \"a\" version=0"));
}

}  // namespace
}  // namespace synod::testing
