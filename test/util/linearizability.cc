// The linearizability checker: see linearizability.h for the model.
//
// Search (per path), after Lowe, "Testing for linearizability" (2017), and
// Porcupine: the history becomes a doubly linked list of call and return
// entries in time order (at equal times calls come first, so such ops count
// as concurrent). Unknown writes without a deadline return at +infinity,
// after every other entry. The candidates to linearize next are the calls
// before the first return entry. Linearizing one applies the model, records
// (linearized set, new state) in a cache, removes ("lifts") its two entries
// and restarts the scan; if the (set, state) pair was seen before, the
// candidate is skipped, since that subtree was explored. Reaching a return
// entry means no remaining candidate works here: pop the last choice and try
// the next candidate after it. Success is an empty list, or a first return
// entry of a deadline-free unknown write (every op that had to be placed
// was). A write of unknown outcome with a deadline may also be dropped, as a
// no-op, when its return entry (the deadline) is reached.
//
// Candidates are tried in three passes over the same list segment: known ops
// that leave the state unchanged (which, if legal, are forced: no other
// candidate need be tried), then known ops that change it, then unknown
// writes. Unknown writes are seldom needed, and trying them first would make
// the search enumerate subsets of them at every step.

#include "util/linearizability.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace synod::testing {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The model's state with the value interned; canonical when absent
// (value_id -1, version 0), so equal states compare equal.
struct State {
  int64_t version = 0;
  int32_t value_id = -1;
  bool exists = false;

  bool operator==(const State& o) const {
    return exists == o.exists && value_id == o.value_id &&
           version == o.version;
  }
  uint64_t Hash() const {
    return Mix(static_cast<uint64_t>(version) * 3 +
               (static_cast<uint64_t>(static_cast<uint32_t>(value_id)) << 33) +
               (exists ? 1 : 0));
  }
};

const State kAbsent{};

// One op of a path's sub-history, in the model's terms.
struct ModelOp {
  const HistoryOp* op = nullptr;
  int32_t value_id = -1;  // Create/Set: written; Read: read (if exists)
  bool unknown = false;
  bool infinite = false;  // unknown without an effect deadline
};

std::string Quote(const std::string& s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += '"';
  if (s.size() > kMax) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string Ms(int64_t ns, int64_t origin_ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%+.3fms",
                static_cast<double>(ns - origin_ns) / 1e6);
  return buf;
}

const char* KindName(OpKind kind) {
  switch (kind) {
    case OpKind::kCreate: return "Create";
    case OpKind::kSet: return "Set";
    case OpKind::kDelete: return "Delete";
    case OpKind::kRead: return "Read";
  }
  return "?";
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "ok";
    case Outcome::kNoNode: return "NoNode";
    case Outcome::kNodeExists: return "NodeExists";
    case Outcome::kBadVersion: return "BadVersion";
    case Outcome::kUnknown: return "unknown";
  }
  return "?";
}

// Interns values so states are small and compare fast.
class ValueTable {
 public:
  int32_t Intern(const std::string& v) {
    auto [it, inserted] =
        ids_.emplace(v, static_cast<int32_t>(values_.size()));
    if (inserted) values_.push_back(v);
    return it->second;
  }
  const std::string& Get(int32_t id) const { return values_[id]; }

 private:
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<std::string> values_;
};

std::string FormatState(const State& s, const ValueTable& values) {
  if (!s.exists) return "absent";
  return "exists, value " + Quote(values.Get(s.value_id)) + ", version " +
         std::to_string(s.version);
}

// Applies `m` to `s`. Returns false, and says why in *why if not null, when
// `m` cannot take effect (with its recorded outcome) in state `s`.
bool Step(const ModelOp& m, const State& s, const ValueTable& values,
          State* next, std::string* why) {
  const HistoryOp& op = *m.op;
  const bool ok = op.outcome == Outcome::kOk || m.unknown;
  const bool version_matches =
      op.expected_version == -1 || s.version == op.expected_version;
  auto fail = [&](const std::string& reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  auto need_absent = [&]() {
    return fail("needs the node absent, but it is " + FormatState(s, values));
  };
  auto mismatch = [&]() {
    return fail("needs version " + std::to_string(op.expected_version) +
                ", but the node is " + FormatState(s, values));
  };
  switch (op.kind) {
    case OpKind::kCreate:
      if (ok) {
        if (s.exists) return need_absent();
        *next = State{0, m.value_id, true};
        return true;
      }
      if (op.outcome == Outcome::kNodeExists) {
        if (!s.exists) return fail("needs the node to exist, but it is absent");
        *next = s;
        return true;
      }
      break;
    case OpKind::kSet:
    case OpKind::kDelete:
      if (ok) {
        if (!s.exists) return fail("needs the node to exist, but it is absent");
        if (!version_matches) return mismatch();
        if (op.kind == OpKind::kDelete) {
          *next = kAbsent;
          return true;
        }
        const int64_t new_version = s.version + 1;
        if (!m.unknown && op.version != new_version) {
          return fail("returned version " + std::to_string(op.version) +
                      ", but would make version " +
                      std::to_string(new_version) + " of a node that is " +
                      FormatState(s, values));
        }
        *next = State{new_version, m.value_id, true};
        return true;
      }
      if (op.outcome == Outcome::kNoNode) {
        if (s.exists) return need_absent();
        *next = s;
        return true;
      }
      if (op.outcome == Outcome::kBadVersion) {
        if (!s.exists) return fail("needs the node to exist, but it is absent");
        if (version_matches) {
          return fail("needs a version other than " +
                      std::to_string(op.expected_version) +
                      ", but the node is " + FormatState(s, values));
        }
        *next = s;
        return true;
      }
      break;
    case OpKind::kRead: {
      const bool read_exists = op.outcome == Outcome::kOk && op.exists;
      if (op.outcome != Outcome::kOk && op.outcome != Outcome::kNoNode) break;
      if (!read_exists) {
        if (s.exists) return need_absent();
      } else if (!s.exists || s.value_id != m.value_id ||
                 s.version != op.version) {
        return fail("read exists, value " + Quote(op.read_value) +
                    ", version " + std::to_string(op.version) +
                    ", but the node is " + FormatState(s, values));
      }
      *next = s;
      return true;
    }
  }
  return fail(std::string("outcome ") + OutcomeName(op.outcome) +
              " is impossible for " + KindName(op.kind));
}

// The set of ops linearized so far. Ops are numbered with the finite ones
// (known outcome, or unknown with a deadline) first, in invocation order,
// then the unknown ones without a deadline. All finite ops below `low` (the
// first finite op not linearized) are in the set, and the rest of the
// finite part sits in a few words past it, so only those words, and the
// words of the part without a deadline, tell sets apart.
class LinearizedSet {
 public:
  LinearizedSet(size_t finite_ops, size_t ops)
      : finite_ops_(finite_ops),
        finite_words_((finite_ops + 63) / 64),
        words_(finite_words_ + (ops - finite_ops + 63) / 64, 0) {}

  void Add(int op) {
    Flip(op);
    while (low_ < finite_ops_ && Contains(low_)) ++low_;
  }
  void Remove(int op) {
    Flip(op);
    if (static_cast<size_t>(op) < low_) low_ = op;
  }
  // A hash of the set, whatever the order in which it was built.
  uint64_t hash() const { return hash_; }
  // The set's distinctive words, in two ranges: the finite part's from
  // the word of `low` to its last nonzero word, and the other part's up to
  // its last nonzero word.
  std::pair<size_t, size_t> FiniteRange() const {
    return {low_ / 64, LastNonzero(low_ / 64, finite_words_)};
  }
  std::pair<size_t, size_t> InfiniteRange() const {
    return {finite_words_, LastNonzero(finite_words_, words_.size())};
  }
  const std::vector<uint64_t>& words() const { return words_; }

 private:
  size_t Bit(size_t op) const {
    return op < finite_ops_ ? op : finite_words_ * 64 + (op - finite_ops_);
  }
  bool Contains(size_t op) const {
    return words_[Bit(op) / 64] >> (Bit(op) % 64) & 1;
  }
  void Flip(int op) {
    const size_t bit = Bit(op);
    words_[bit / 64] ^= uint64_t{1} << (bit % 64);
    hash_ ^= Mix(static_cast<uint64_t>(op) + 0x5851f42d4c957f2dULL);
  }
  size_t LastNonzero(size_t first, size_t last) const {
    while (last > first && words_[last - 1] == 0) --last;
    return last;
  }

  const size_t finite_ops_;
  const size_t finite_words_;
  std::vector<uint64_t> words_;
  size_t low_ = 0;
  uint64_t hash_ = 0;
};

// The set of (linearized set, state) pairs explored. The sets' distinctive
// words live in one arena; the hash set holds indices of entries.
class StateCache {
 public:
  StateCache() : set_(64, Hasher{this}, Equal{this}) {}
  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

  // Adds (linearized, state); returns false if it was already there.
  bool Insert(const LinearizedSet& linearized, const State& state) {
    const auto [f_first, f_last] = linearized.FiniteRange();
    const auto [i_first, i_last] = linearized.InfiniteRange();
    const auto& words = linearized.words();
    entries_.push_back({arena_.size(), f_first, f_last - f_first,
                        i_last - i_first, state,
                        linearized.hash() ^ state.Hash()});
    arena_.insert(arena_.end(), words.begin() + f_first,
                  words.begin() + f_last);
    arena_.insert(arena_.end(), words.begin() + i_first,
                  words.begin() + i_last);
    if (set_.insert(static_cast<uint32_t>(entries_.size() - 1)).second) {
      return true;
    }
    arena_.resize(entries_.back().offset);
    entries_.pop_back();
    return false;
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    size_t offset;  // in arena_
    size_t first;   // the first distinctive word of the finite part
    size_t finite_length;
    size_t infinite_length;
    State state;
    uint64_t hash;
  };
  struct Hasher {
    const StateCache* cache;
    size_t operator()(uint32_t i) const { return cache->entries_[i].hash; }
  };
  struct Equal {
    const StateCache* cache;
    bool operator()(uint32_t a, uint32_t b) const {
      const Entry& x = cache->entries_[a];
      const Entry& y = cache->entries_[b];
      const auto arena = cache->arena_.begin();
      const size_t length = x.finite_length + x.infinite_length;
      return x.hash == y.hash && x.state == y.state && x.first == y.first &&
             x.finite_length == y.finite_length &&
             x.infinite_length == y.infinite_length &&
             std::equal(arena + x.offset, arena + x.offset + length,
                        arena + y.offset);
    }
  };

  std::vector<uint64_t> arena_;
  std::vector<Entry> entries_;
  std::unordered_set<uint32_t, Hasher, Equal> set_;
};

struct PathResult {
  CheckResult::Verdict verdict = CheckResult::kLinearizable;
  std::string explanation;
  size_t states = 0;
};

// Checks one path's sub-history (`history`, non-empty).
PathResult CheckPath(const std::string& path,
                     std::vector<const HistoryOp*> history,
                     const ZnodeState& initial, size_t max_states,
                     int64_t origin_ns) {
  const int n = static_cast<int>(history.size());
  // Ops with a finite response or deadline first, by invocation (see
  // LinearizedSet).
  auto infinite = [](const HistoryOp* h) {
    return h->outcome == Outcome::kUnknown &&
           h->effect_deadline_ns == HistoryOp::kNoDeadline;
  };
  std::stable_sort(history.begin(), history.end(),
                   [&](const HistoryOp* a, const HistoryOp* b) {
                     return std::make_tuple(infinite(a), a->invoke_ns) <
                            std::make_tuple(infinite(b), b->invoke_ns);
                   });
  const size_t finite_ops = static_cast<size_t>(
      std::count_if(history.begin(), history.end(),
                    [&](const HistoryOp* h) { return !infinite(h); }));
  ValueTable values;
  std::vector<ModelOp> ops(n);
  for (int i = 0; i < n; ++i) {
    const HistoryOp& h = *history[i];
    ModelOp& m = ops[i];
    m.op = &h;
    m.unknown = h.outcome == Outcome::kUnknown;
    m.infinite = m.unknown && h.effect_deadline_ns == HistoryOp::kNoDeadline;
    if (h.kind == OpKind::kCreate || h.kind == OpKind::kSet) {
      m.value_id = values.Intern(h.value);
    } else if (h.kind == OpKind::kRead && h.exists) {
      m.value_id = values.Intern(h.read_value);
    }
  }
  const State initial_state =
      initial.exists ? State{initial.version, values.Intern(initial.value), true}
                     : kAbsent;
  State state = initial_state;

  // Entries: 0 is the head sentinel, 1..2n calls and returns in time order,
  // 2n+1 the tail sentinel.
  struct Event {
    bool infinite;
    int64_t time;
    bool is_return;
    int op;
  };
  std::vector<Event> events;
  events.reserve(2 * n);
  for (int i = 0; i < n; ++i) {
    const HistoryOp& h = *ops[i].op;
    events.push_back({false, h.invoke_ns, false, i});
    const int64_t ret = ops[i].unknown ? h.effect_deadline_ns : h.response_ns;
    events.push_back({ops[i].infinite, ret, true, i});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.infinite, a.time, a.is_return, a.op) <
           std::tie(b.infinite, b.time, b.is_return, b.op);
  });
  const int head = 0;
  const int tail = 2 * n + 1;
  std::vector<int> next(tail + 1), prev(tail + 1), op_of(tail + 1, -1);
  std::vector<int> call_entry(n), return_entry(n);
  std::vector<char> is_call(tail + 1, 0);
  for (int e = 1; e <= 2 * n; ++e) {
    const Event& ev = events[e - 1];
    op_of[e] = ev.op;
    is_call[e] = !ev.is_return;
    (ev.is_return ? return_entry : call_entry)[ev.op] = e;
  }
  for (int e = 0; e <= tail; ++e) {
    next[e] = e == tail ? tail : e + 1;
    prev[e] = e == head ? head : e - 1;
  }
  auto lift = [&](int op) {
    for (int e : {call_entry[op], return_entry[op]}) {
      next[prev[e]] = next[e];
      prev[next[e]] = prev[e];
    }
  };
  auto unlift = [&](int op) {
    for (int e : {return_entry[op], call_entry[op]}) {
      next[prev[e]] = e;
      prev[next[e]] = e;
    }
  };

  LinearizedSet linearized(finite_ops, n);
  StateCache cache;

  // A choice made: op linearized (or dropped as never taking effect) in
  // state `before`, found in scan pass `pass`. A forced choice was the only
  // one worth trying in its configuration.
  struct Choice {
    int op;
    State before;
    int pass;
    bool forced;
    bool skipped;
  };
  std::vector<Choice> stack;

  // The deepest point at which the search got stuck, for the explanation.
  std::vector<Choice> best_prefix;
  State best_state;
  int best_blocked = -1;
  std::vector<int> best_candidates;
  bool have_best = false;
  // Prefixes compare by known ops placed, then by fewer unknown ones.
  size_t known_on_stack = 0;
  size_t best_known = 0;

  // Candidates are tried in three passes over the list up to the first
  // return entry:
  //   0: known ops that leave the state unchanged (reads and failed writes).
  //      Such an op, if legal, is forced: if any linearization exists from
  //      here, one starts with it (moving it to the front changes no state,
  //      and no pending op must precede it, since it is invoked before
  //      every pending response). This keeps concurrent reads from making
  //      the search enumerate their orders.
  //   1: known ops that change the state;
  //   2: unknown writes.
  auto mutates = [&](int op) {
    const HistoryOp& h = *ops[op].op;
    return ops[op].unknown ||
           (h.outcome == Outcome::kOk && h.kind != OpKind::kRead);
  };
  auto in_pass = [&](int op, int pass) {
    return pass == 0   ? !mutates(op)
           : pass == 1 ? mutates(op) && !ops[op].unknown
                       : ops[op].unknown;
  };

  PathResult result;
  int entry = next[head];
  int pass = 0;
  for (;;) {
    if (cache.size() > max_states) {
      result.verdict = CheckResult::kTooExpensive;
      result.explanation =
          "path " + Quote(path) + ": gave up after exploring " +
          std::to_string(cache.size()) +
          " states (CheckOptions::max_states); " + std::to_string(n) +
          " ops, " +
          std::to_string(std::count_if(
              ops.begin(), ops.end(),
              [](const ModelOp& m) { return m.unknown; })) +
          " of unknown outcome; deepest linearized prefix " +
          std::to_string(have_best ? best_prefix.size() : stack.size()) +
          " ops";
      break;
    }
    if (entry == tail) break;  // only when the list is empty: success
    const int op = op_of[entry];
    bool stuck = false;  // no candidate left in this configuration
    if (is_call[entry]) {
      State after;
      if (in_pass(op, pass) && Step(ops[op], state, values, &after, nullptr)) {
        linearized.Add(op);
        if (cache.Insert(linearized, after)) {
          stack.push_back({op, state, pass, pass == 0, false});
          if (!ops[op].unknown) ++known_on_stack;
          state = after;
          lift(op);
          entry = next[head];
          pass = 0;
          continue;
        }
        linearized.Remove(op);
        // A forced op leading to a configuration already explored: this
        // one fails too.
        stuck = pass == 0;
      }
      if (!stuck) {
        entry = next[entry];
        continue;
      }
    } else {
      // The first return entry: every op still in the list before it may
      // be placed next, and this one must be placed before any after it.
      if (ops[op].infinite) break;  // nothing left that must be placed
      if (pass < 2) {
        ++pass;
        entry = next[head];
        continue;
      }
      if (ops[op].unknown) {
        // The deadline of an unknown write not placed: it may never have
        // taken effect.
        linearized.Add(op);
        if (cache.Insert(linearized, state)) {
          stack.push_back({op, state, 2, true, true});
          lift(op);
          entry = next[head];
          pass = 0;
          continue;
        }
        linearized.Remove(op);
      } else if (!have_best || known_on_stack > best_known ||
                 (known_on_stack == best_known &&
                  stack.size() < best_prefix.size())) {
        have_best = true;
        best_known = known_on_stack;
        best_prefix = stack;
        best_state = state;
        best_blocked = op;
        best_candidates.clear();
        for (int e = next[head]; e != entry; e = next[e]) {
          if (is_call[e]) best_candidates.push_back(op_of[e]);
        }
      }
    }
    // Backtrack to the last choice that has an alternative.
    bool exhausted = true;
    while (!stack.empty()) {
      const Choice c = stack.back();
      stack.pop_back();
      if (!ops[c.op].unknown) --known_on_stack;
      state = c.before;
      linearized.Remove(c.op);
      unlift(c.op);
      if (c.forced) continue;
      entry = next[call_entry[c.op]];
      pass = c.pass;
      exhausted = false;
      break;
    }
    if (exhausted) {
      result.verdict = CheckResult::kViolation;
      break;
    }
  }
  result.states = cache.size();
  if (result.verdict != CheckResult::kViolation) return result;

  // Explain the violation.
  std::string& x = result.explanation;
  x = "path " + Quote(path) + " is not linearizable (" + std::to_string(n) +
      " ops, " + std::to_string(cache.size()) + " states explored).\n";
  x += "Initial state: " + FormatState(initial_state, values) + "\n";
  constexpr size_t kShown = 12;
  x += "Longest linearizable prefix found: " +
       std::to_string(best_prefix.size()) + " ops";
  if (best_prefix.size() > kShown) {
    x += " (the first " + std::to_string(best_prefix.size() - kShown) +
         " not shown)";
  }
  x += best_prefix.empty() ? "\n" : ":\n";
  for (size_t i = best_prefix.size() > kShown ? best_prefix.size() - kShown : 0;
       i < best_prefix.size(); ++i) {
    const Choice& c = best_prefix[i];
    x += "  " + std::to_string(i + 1) + ". " +
         FormatOp(*ops[c.op].op, origin_ns) +
         (c.skipped ? "  [assumed never to take effect]" : "") + "\n";
  }
  x += "State after it: " + FormatState(best_state, values) + "\n";
  if (best_blocked >= 0) {
    x += "Cannot be placed before its response: " +
         FormatOp(*ops[best_blocked].op, origin_ns) + "\n";
  }
  x += "Ops that could come next, none leading to a linearization:\n";
  constexpr size_t kMaxCandidates = 24;
  for (size_t i = 0; i < best_candidates.size() && i < kMaxCandidates; ++i) {
    const ModelOp& m = ops[best_candidates[i]];
    std::string why;
    State after;
    if (Step(m, best_state, values, &after, &why)) {
      why = "could take effect here, but nothing consistent follows";
    }
    x += "  " + FormatOp(*m.op, origin_ns) + ": " + why + "\n";
  }
  if (best_candidates.size() > kMaxCandidates) {
    x += "  ... and " +
         std::to_string(best_candidates.size() - kMaxCandidates) + " more\n";
  }
  return result;
}

// Sets each unknown op's effect deadline to at most the response time of
// the first op with a known outcome that its client invoked after it.
void TightenDeadlinesByClientOrder(std::vector<HistoryOp>* history) {
  std::map<int, std::vector<HistoryOp*>> by_client;
  for (HistoryOp& op : *history) by_client[op.client].push_back(&op);
  for (auto& [client, ops] : by_client) {
    std::stable_sort(ops.begin(), ops.end(),
                     [](const HistoryOp* a, const HistoryOp* b) {
                       return a->invoke_ns < b->invoke_ns;
                     });
    // later_response[i]: the least response time of ops[i..] known.
    std::vector<int64_t> later_response(ops.size() + 1, HistoryOp::kNoDeadline);
    for (size_t i = ops.size(); i-- > 0;) {
      later_response[i] = later_response[i + 1];
      if (ops[i]->outcome != Outcome::kUnknown) {
        later_response[i] = std::min(later_response[i], ops[i]->response_ns);
      }
    }
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i]->outcome != Outcome::kUnknown) continue;
      // The first op invoked strictly later.
      size_t j = i + 1;
      while (j < ops.size() && ops[j]->invoke_ns == ops[i]->invoke_ns) ++j;
      ops[i]->effect_deadline_ns =
          std::min(ops[i]->effect_deadline_ns, later_response[j]);
    }
  }
}

}  // namespace

const char* VerdictName(CheckResult::Verdict verdict) {
  switch (verdict) {
    case CheckResult::kLinearizable: return "linearizable";
    case CheckResult::kViolation: return "violation";
    case CheckResult::kTooExpensive: return "too expensive";
    case CheckResult::kMalformed: return "malformed";
  }
  return "?";
}

std::string FormatOp(const HistoryOp& op, int64_t origin_ns) {
  std::string s = "c" + std::to_string(op.client) + " [" +
                  Ms(op.invoke_ns, origin_ns) + ", ";
  if (op.outcome != Outcome::kUnknown) {
    s += Ms(op.response_ns, origin_ns);
  } else if (op.effect_deadline_ns != HistoryOp::kNoDeadline) {
    s += "? effect before " + Ms(op.effect_deadline_ns, origin_ns);
  } else {
    s += "?";
  }
  s += "] ";
  s += KindName(op.kind);
  s += " " + Quote(op.path);
  if (op.kind == OpKind::kCreate || op.kind == OpKind::kSet) {
    s += " " + Quote(op.value);
  }
  if ((op.kind == OpKind::kSet || op.kind == OpKind::kDelete) &&
      op.expected_version != -1) {
    s += " expected=" + std::to_string(op.expected_version);
  }
  s += " -> ";
  if (op.kind == OpKind::kRead &&
      (op.outcome == Outcome::kOk || op.outcome == Outcome::kNoNode)) {
    if (op.outcome == Outcome::kOk && op.exists) {
      s += Quote(op.read_value) + " version=" + std::to_string(op.version);
    } else {
      s += "no node";
    }
  } else {
    s += OutcomeName(op.outcome);
    if (op.kind == OpKind::kSet && op.outcome == Outcome::kOk) {
      s += " version=" + std::to_string(op.version);
    }
  }
  return s;
}

CheckResult CheckLinearizable(const std::vector<HistoryOp>& history,
                              const CheckOptions& options) {
  CheckResult result;
  int64_t origin_ns = std::numeric_limits<int64_t>::max();
  for (const HistoryOp& op : history) {
    origin_ns = std::min(origin_ns, op.invoke_ns);
  }
  for (const HistoryOp& op : history) {
    const bool unknown = op.outcome == Outcome::kUnknown;
    if ((!unknown && op.response_ns < op.invoke_ns) ||
        (unknown && op.effect_deadline_ns < op.invoke_ns)) {
      result.verdict = CheckResult::kMalformed;
      result.explanation =
          std::string(unknown ? "effect deadline" : "response") +
          " before invocation: " + FormatOp(op, origin_ns);
      return result;
    }
  }
  std::vector<HistoryOp> fifo;
  if (options.client_fifo) {
    fifo = history;
    TightenDeadlinesByClientOrder(&fifo);
  }
  std::map<std::string, std::vector<const HistoryOp*>> by_path;
  for (const HistoryOp& op : options.client_fifo ? fifo : history) {
    const bool unknown = op.outcome == Outcome::kUnknown;
    if (unknown && op.kind == OpKind::kRead) continue;
    // A create failing for a missing parent constrains the parent's path.
    if (op.kind == OpKind::kCreate && op.outcome == Outcome::kNoNode) continue;
    by_path[op.path].push_back(&op);
  }
  std::string too_expensive;
  for (const auto& [path, ops] : by_path) {
    result.ops_checked += ops.size();
    const auto init = options.initial_states.find(path);
    PathResult r = CheckPath(
        path, ops,
        init == options.initial_states.end() ? ZnodeState{} : init->second,
        options.max_states, origin_ns);
    result.states_explored += r.states;
    if (r.verdict == CheckResult::kViolation) {
      result.verdict = CheckResult::kViolation;
      result.explanation = std::move(r.explanation);
      return result;
    }
    if (r.verdict == CheckResult::kTooExpensive) {
      too_expensive += r.explanation + "\n";
    }
  }
  if (!too_expensive.empty()) {
    result.verdict = CheckResult::kTooExpensive;
    result.explanation = std::move(too_expensive);
  }
  return result;
}

size_t History::Invoke(int client, std::string path, OpKind kind,
                       std::string value, int32_t expected_version) {
  std::lock_guard<std::mutex> lock(mu_);
  HistoryOp op;
  op.client = client;
  op.path = std::move(path);
  op.kind = kind;
  op.value = std::move(value);
  op.expected_version = expected_version;
  op.invoke_ns = NowNs();
  op.outcome = Outcome::kUnknown;
  ops_.push_back(std::move(op));
  return ops_.size() - 1;
}

void History::Complete(size_t index, Outcome outcome, int32_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  HistoryOp& op = ops_.at(index);
  op.response_ns = NowNs();
  op.outcome = outcome;
  op.version = version;
}

void History::CompleteRead(size_t index, bool exists, std::string value,
                           int32_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  HistoryOp& op = ops_.at(index);
  op.response_ns = NowNs();
  op.outcome = exists ? Outcome::kOk : Outcome::kNoNode;
  op.exists = exists;
  op.read_value = std::move(value);
  op.version = version;
}

void History::CompleteUnknown(size_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  HistoryOp& op = ops_.at(index);
  op.outcome = Outcome::kUnknown;
}

std::vector<HistoryOp> History::Ops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_;
}

int64_t History::NowNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace synod::testing
