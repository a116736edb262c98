// A linearizability checker for histories of znode operations, for tests
// that drive a real (or simulated) ensemble with concurrent clients.
//
// Model: each path is an independent register with ZooKeeper semantics,
// whose state is {exists, value, version}. Linearizability is compositional
// (Herlihy & Wing), so a history over many paths is linearizable iff each
// path's sub-history is; the checker splits by path and checks each alone.
//
//   Create(value)  ok          requires !exists; then exists, value, version 0
//                  NodeExists  requires exists; no change
//                  NoNode      (missing parent: constrains another path, so the
//                              op is ignored)
//   Set(value, expected_version or -1)
//                  ok(version) requires exists and (expected == -1 or
//                              version == expected); then value, version + 1,
//                              and the returned version must be the new one
//                  NoNode      requires !exists
//                  BadVersion  requires exists, expected != -1 and
//                              version != expected
//   Delete(expected_version or -1)
//                  ok          requires exists and the version matches (or -1);
//                              then !exists
//                  NoNode      requires !exists
//                  BadVersion  requires exists, expected != -1 and
//                              version != expected
//   Read           ok          (exists, read_value, version) equals the state
//                              (value and version are ignored when !exists)
//                  NoNode      requires !exists (same as ok with !exists)
// Any other (kind, outcome) pair cannot happen and is never linearizable.
//
// Unknown outcome (the caller saw ConnectionLoss, OperationTimeout, or never
// heard back): a read is dropped; a write may take effect at any time after
// its invocation (its response time is +infinity) or never, and if it takes
// effect it has the effect of an ok result (a Set's new version is not
// checked). When the caller knows more (say, a client's session was fenced
// at some time, so none of its pending requests can take effect later), it
// may set HistoryOp::effect_deadline_ns (or CheckOptions::client_fifo): the
// write then takes effect before that time or never.
//
// Algorithm: Wing & Gong's search with Lowe's just-in-time linearization and
// a cache of (set of linearized ops, state) pairs already explored, as in
// Porcupine and Knossos's "linear" checker, plus one reduction: a read or
// failed write that is legal where it could come next is placed there
// without trying alternatives. The search is exponential in the worst case,
// so it is bounded: past CheckOptions::max_states explored states a path's
// verdict is kTooExpensive, which is not a violation.
//
// Cost: a path of thousands of ops with 8-16 clients typically takes a few
// states per op and milliseconds. The known weak spot is unknown-outcome
// writes without a deadline: each stays a candidate for the rest of the
// history, and the search is exponential in how many are pending at once
// (dozens on a path can exceed the bound). Give them deadlines, or set
// CheckOptions::client_fifo when its assumption holds.

#ifndef SYNOD_TEST_UTIL_LINEARIZABILITY_H_
#define SYNOD_TEST_UTIL_LINEARIZABILITY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace synod::testing {

// The kind of a znode operation in a history.
enum class OpKind { kCreate, kSet, kDelete, kRead };

// The outcome of an operation. Errors outside the model (ConnectionLoss,
// OperationTimeout, ...) are recorded as kUnknown.
enum class Outcome { kOk, kNoNode, kNodeExists, kBadVersion, kUnknown };

// One operation of a history: who invoked what, when, and what came back.
// Times are nanoseconds on one monotonic clock shared by all clients.
struct HistoryOp {
  int client = 0;
  std::string path;
  OpKind kind = OpKind::kRead;
  // Create and Set: the data written.
  std::string value;
  // Set and Delete: the expected version, -1 for any.
  int32_t expected_version = -1;
  int64_t invoke_ns = 0;
  // Ignored when outcome is kUnknown. Must be >= invoke_ns.
  int64_t response_ns = 0;
  Outcome outcome = Outcome::kUnknown;
  // Read ok: whether the node existed and, if so, its data and version.
  bool exists = false;
  std::string read_value;
  // Set ok: the new version returned; Read ok: the version read.
  int32_t version = 0;
  // Unknown outcome only: if the op took effect at all, it did so before
  // this time (must be >= invoke_ns). The default means "any time later".
  int64_t effect_deadline_ns = kNoDeadline;

  static constexpr int64_t kNoDeadline = INT64_MAX;
};

// A znode's state in the model.
struct ZnodeState {
  bool exists = false;
  std::string value;
  int32_t version = 0;
};

// Tuning and initial conditions for CheckLinearizable.
struct CheckOptions {
  // The state of each path before the history; paths not listed start absent.
  std::map<std::string, ZnodeState> initial_states;
  // Bound on states the search may explore for one path before giving up
  // with kTooExpensive. A state costs about 100 bytes plus a bit per op
  // invoked while an op linearized in it was pending and per unknown-outcome
  // op, so the default stays under ~100 MB in typical histories.
  size_t max_states = 500'000;
  // Assume each client is one session whose requests take effect in the
  // order it sent them (ZooKeeper's FIFO client order): an unknown-outcome
  // write then takes effect, if at all, before the same client's next op
  // with a known outcome (on any path) responded. This tightens
  // effect_deadline_ns, which keeps the search fast with many unknown
  // outcomes. Only sound if a client id never spans two sessions and the
  // server fences a session's old connection when it reconnects.
  bool client_fifo = false;
};

// The checker's verdict on a whole history.
struct CheckResult {
  enum Verdict {
    // Every path's sub-history is linearizable.
    kLinearizable,
    // Some path's sub-history is not; see explanation.
    kViolation,
    // No violation found, but some path exceeded CheckOptions::max_states.
    kTooExpensive,
    // The history itself is malformed (a response or an effect deadline
    // before the invocation); see explanation.
    kMalformed,
  };
  Verdict verdict = kLinearizable;
  // Empty when kLinearizable. For kViolation: the path, the longest
  // linearizable prefix found, the state after it, the op that could not be
  // linearized before its response and why each pending op could not come
  // next.
  std::string explanation;
  // Operations checked, over all paths (unknown-outcome reads and creates
  // failing for a missing parent are dropped and not counted).
  size_t ops_checked = 0;
  // Search states explored, over all paths.
  size_t states_explored = 0;
};

// Returns a readable name for a verdict ("linearizable", "violation", ...).
const char* VerdictName(CheckResult::Verdict verdict);

// Formats one op for humans, e.g.
//   c3 [+1.250ms, +1.900ms] Set "/a" "x" expected=2 -> ok version=3
// with times relative to `origin_ns`.
std::string FormatOp(const HistoryOp& op, int64_t origin_ns = 0);

// Checks that `history` (in any order) is linearizable with respect to the
// model above. A violation on one path stops the check; its explanation
// names that path (the first in path order).
CheckResult CheckLinearizable(const std::vector<HistoryOp>& history,
                              const CheckOptions& options = {});

// A thread-safe recorder of a history: workers call Invoke just before
// sending a request and Complete* just after its response, and the recorder
// stamps both with std::chrono::steady_clock.
class History {
 public:
  History() = default;
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Records the invocation of an op and returns its index for Complete*.
  size_t Invoke(int client, std::string path, OpKind kind,
                std::string value = {}, int32_t expected_version = -1);

  // Records the response of write `index` (or a read answered kNoNode).
  // `version` is a Set's returned version and is ignored otherwise.
  void Complete(size_t index, Outcome outcome, int32_t version = 0);

  // Records what read `index` returned.
  void CompleteRead(size_t index, bool exists, std::string value,
                    int32_t version);

  // Records that op `index` ended with an error outside the model
  // (ConnectionLoss, OperationTimeout): its outcome is unknown.
  void CompleteUnknown(size_t index);

  // Returns a copy of the history so far. Ops not yet completed are
  // returned with an unknown outcome.
  std::vector<HistoryOp> Ops() const;

 private:
  int64_t NowNs() const;

  mutable std::mutex mu_;
  std::vector<HistoryOp> ops_;  // guarded by mu_
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_LINEARIZABILITY_H_
