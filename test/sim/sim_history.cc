// SimHistory (sim_history.h): a simulation's client operations as a
// history for the linearizability checker.

#include "sim/sim_history.h"

#include <algorithm>
#include <utility>

#include "util/errors.h"

namespace synod::sim {

using testing::HistoryOp;
using testing::OpKind;
using testing::Outcome;

namespace {

// The checker's outcome for a definite failure, or false if the failure is
// outside its model (it changed nothing and is left out).
bool ModelOutcome(const absl::Status& status, Outcome* outcome) {
  switch (ErrorOf(status)) {
    case Error::kNoNode:
      *outcome = Outcome::kNoNode;
      return true;
    case Error::kNodeExists:
      *outcome = Outcome::kNodeExists;
      return true;
    case Error::kBadVersion:
      *outcome = Outcome::kBadVersion;
      return true;
    default:
      return false;
  }
}

bool UnknownOutcome(const absl::Status& status) {
  const Error e = ErrorOf(status);
  return e == Error::kConnectionLoss || e == Error::kClosing;
}

}  // namespace

SimHistory::SimHistory(std::vector<std::string> paths)
    : paths_(paths.begin(), paths.end()) {}

int64_t SimHistory::Stamp(int64_t now_ms) {
  if (now_ms != stamp_ms_) {
    stamp_ms_ = now_ms;
    stamp_seq_ = 0;
  }
  // A million events a millisecond before two stamps could tie.
  return now_ms * 1'000'000 + stamp_seq_++;
}

size_t SimHistory::Invoke(int client, const txn::Request& request,
                          int64_t stamp) {
  HistoryOp op;
  op.client = client;
  op.invoke_ns = stamp;
  bool multi = false;
  if (request.has_create()) {
    // A sequential create names another path than the one it was given.
    const auto mode = static_cast<CreateMode>(request.create().mode());
    if (mode == CreateMode::kPersistentSequential ||
        mode == CreateMode::kEphemeralSequential) {
      return kNotFollowed;
    }
    op.kind = OpKind::kCreate;
    op.path = request.create().path();
    op.value = request.create().data();
  } else if (request.has_set_data()) {
    op.kind = OpKind::kSet;
    op.path = request.set_data().path();
    op.value = request.set_data().data();
    op.expected_version = request.set_data().version();
  } else if (request.has_delete_node()) {
    op.kind = OpKind::kDelete;
    op.path = request.delete_node().path();
    op.expected_version = request.delete_node().version();
  } else if (request.has_multi()) {
    multi = true;
    // Its one set (a multi of the simulation writes at most one path).
    const txn::Request* set = nullptr;
    for (const txn::Request& r : request.multi().ops()) {
      if (r.has_set_data()) set = &r;
    }
    if (set == nullptr) return kNotFollowed;
    op.kind = OpKind::kSet;
    op.path = set->set_data().path();
    op.value = set->set_data().data();
    op.expected_version = set->set_data().version();
  } else {
    return kNotFollowed;
  }
  if (!Followed(op.path)) return kNotFollowed;
  ops_.push_back(std::move(op));
  meta_.push_back(Meta{false, multi});
  return ops_.size() - 1;
}

void SimHistory::Complete(size_t index, const WriteOutcome& outcome,
                          int64_t stamp) {
  if (index == kNotFollowed) return;
  HistoryOp& op = ops_[index];
  if (outcome.status.ok()) {
    op.outcome = Outcome::kOk;
    op.response_ns = stamp;
    if (op.kind == OpKind::kSet) {
      // A set's result, or a multi's set's (the last op with a Stat).
      for (const OpResult& r : outcome.results) {
        if (r.type == Op::Type::kSet) op.version = r.stat.version;
      }
    }
    return;
  }
  if (UnknownOutcome(outcome.status)) return;  // stays kUnknown
  // A multi that failed changed nothing, whichever op failed.
  Outcome o;
  if (meta_[index].multi || !ModelOutcome(outcome.status, &o)) {
    meta_[index].dropped = true;
    return;
  }
  op.outcome = o;
  op.response_ns = stamp;
}

void SimHistory::ReadAll(int client, const DataTree& tree, int64_t invoke,
                         int64_t stamp) {
  for (const std::string& path : paths_) {
    HistoryOp op;
    op.client = client;
    op.path = path;
    op.kind = OpKind::kRead;
    op.invoke_ns = invoke;
    op.response_ns = stamp;
    op.outcome = Outcome::kOk;
    if (const Znode* node = tree.Find(path)) {
      op.exists = true;
      op.read_value = node->data;
      op.version = node->stat.version;
    }
    ops_.push_back(std::move(op));
    meta_.push_back(Meta{});
  }
}

void SimHistory::SessionClosed(const txn::Txn& txn, int64_t stamp) {
  for (const std::string& path : txn.close_session().ephemerals()) {
    if (!Followed(path)) continue;
    HistoryOp op;
    op.client = next_internal_client_--;
    op.path = path;
    op.kind = OpKind::kDelete;
    op.invoke_ns = stamp;
    op.response_ns = stamp;
    op.outcome = Outcome::kOk;
    ops_.push_back(std::move(op));
    meta_.push_back(Meta{});
  }
}

void SimHistory::Logged(int client, int64_t invoke, int64_t stamp) {
  auto& ops = logged_[client];
  ops.emplace_back(invoke, stamp);
  // Answers come in submission order, but keep the invariant regardless.
  for (size_t i = ops.size() - 1; i > 0 && ops[i - 1] > ops[i]; --i) {
    std::swap(ops[i - 1], ops[i]);
  }
}

void SimHistory::Applied(const std::string& value, int64_t stamp) {
  applied_.emplace(value, stamp);
}

void SimHistory::SessionEnded(int client, int64_t stamp) {
  ended_.emplace(client, stamp);  // the first end counts
}

int64_t SimHistory::Deadline(const HistoryOp& op) const {
  int64_t deadline = HistoryOp::kNoDeadline;
  if (auto end = ended_.find(op.client); end != ended_.end()) {
    // Once its session is over, nothing of it can take effect: a write
    // takes effect before then or never (one sent after the end, never).
    deadline = std::max(op.invoke_ns, end->second);
  }
  if (auto it = logged_.find(op.client); it != logged_.end()) {
    // The first op submitted after it that went through the log.
    auto next = std::upper_bound(
        it->second.begin(), it->second.end(),
        std::make_pair(op.invoke_ns, HistoryOp::kNoDeadline));
    if (next != it->second.end()) deadline = std::min(deadline, next->second);
  }
  return deadline;
}

testing::CheckResult SimHistory::Check() const {
  std::vector<HistoryOp> kept;
  kept.reserve(ops_.size());
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (meta_[i].dropped) continue;
    const HistoryOp& op = ops_[i];
    int64_t deadline = HistoryOp::kNoDeadline;
    if (op.outcome == Outcome::kUnknown) {
      deadline = Deadline(op);
      if (!op.value.empty()) {
        // Its data is its own: whether (and by when) it took effect is
        // known. One that never applied took effect after every op here
        // or never, which no op here can tell apart: it is left out.
        auto applied = applied_.find(op.value);
        if (applied == applied_.end()) continue;
        deadline = std::min(deadline, applied->second);
      }
    }
    kept.push_back(op);
    kept.back().effect_deadline_ns = deadline;
  }
  return testing::CheckLinearizable(kept);
}

}  // namespace synod::sim
