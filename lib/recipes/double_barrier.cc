// DoubleBarrier (synod/recipes/double_barrier.h): participants wait as
// empty ephemeral nodes; the one that finds `count` of them waiting marks
// them all with a round token in one Multi; leaving is deleting one's node
// and waiting for the round's marked nodes to go.

#include "synod/recipes/double_barrier.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "recipes/waits.h"
#include "util/mutex.h"

namespace synod::recipes {
namespace {

// How long a write whose outcome is unknown is settled, and a delete
// retried, past the caller's deadline: a participant must not stay behind.
constexpr absl::Duration kWriteTimeout = absl::Seconds(30);

// The data of a node marked as entered: this prefix and the round's token.
constexpr char kMark[] = "in:";

// One participant's node as read from the local replica.
struct Participant {
  std::string name;
  std::string data;  // "" while waiting, kMark + token once entered
  int32_t version = 0;
};

}  // namespace

struct DoubleBarrier::State {
  State(Coordinator& c, std::string p, int n, std::string i)
      : coordinator(c),
        path(std::move(p)),
        count(n),
        id(std::move(i)),
        node(absl::StrCat(path, "/", id)) {}

  // The participants' nodes under `path` (none if it does not exist).
  absl::StatusOr<std::vector<Participant>> Read();
  // Syncs with the leader, retrying a lost connection until `deadline`.
  absl::Status SyncUntil(absl::Time deadline);
  // Creates our waiting node; a create lost with the connection is settled
  // (until `deadline` plus kWriteTimeout). OK once it exists.
  absl::Status CreateNode(absl::Time deadline);
  // Marks every waiting participant of `all` with a new token, if there
  // are `count` of them. OK when marked or when the reading was outdated
  // (the caller reads again).
  absl::Status Open(const std::vector<Participant>& all, absl::Time deadline);
  // Gives up entering with `why`: deletes our node unless the barrier
  // opened with it (then OK: entered). Sets `token` when it returns OK.
  absl::Status GiveUp(absl::Status why);
  // Deletes our node if it exists and belongs to this session (a node of
  // another session with our id is not ours to take).
  absl::Status DeleteOurs(absl::Time deadline);
  absl::Status Entered(const std::string& data) {
    MutexLock lock(&mu);
    entered = true;
    token = data;
    return absl::OkStatus();
  }

  Coordinator& coordinator;
  const std::string path;
  const int count;
  const std::string id;
  const std::string node;

  Mutex mu;
  bool busy ABSL_GUARDED_BY(mu) = false;      // Enter or Leave under way
  bool entered ABSL_GUARDED_BY(mu) = false;
  std::string token ABSL_GUARDED_BY(mu);      // our round's mark
  bool leftover ABSL_GUARDED_BY(mu) = false;  // a delete of ours failed
};

absl::StatusOr<std::vector<Participant>> DoubleBarrier::State::Read() {
  std::vector<Participant> out;
  absl::StatusOr<std::vector<std::string>> children =
      coordinator.GetChildren(path);
  if (!children.ok()) {
    if (ErrorOf(children.status()) == Error::kNoNode) return out;
    return children.status();
  }
  out.reserve(children->size());
  for (std::string& name : *children) {
    absl::StatusOr<Node> n = coordinator.Get(absl::StrCat(path, "/", name));
    if (!n.ok()) {
      if (ErrorOf(n.status()) == Error::kNoNode) continue;  // just left
      return n.status();
    }
    out.push_back(
        Participant{std::move(name), std::move(n->data), n->stat.version});
  }
  return out;
}

absl::Status DoubleBarrier::State::SyncUntil(absl::Time deadline) {
  while (true) {
    const absl::Status synced = coordinator.Sync(path);
    if (synced.ok() || !internal::Retryable(synced)) return synced;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("could not reach the leader to settle ", node));
    }
    internal::Pause(coordinator, deadline);
  }
}

absl::Status DoubleBarrier::State::CreateNode(absl::Time deadline) {
  const absl::Time settle_by = std::max(deadline, absl::Now()) + kWriteTimeout;
  // A create whose outcome was lost may have applied under this session;
  // if the session ends before we learn it, the node went with it.
  const int64_t session = coordinator.session_id();
  auto in_use = [this](int64_t owner) {
    return MakeError(Error::kNodeExists,
                     absl::StrCat("participant ", id, " of ", path,
                                  " is in use by session ", owner));
  };
  while (true) {
    absl::Status created =
        coordinator.Create(node, "", CreateMode::kEphemeral).status();
    if (created.ok()) return created;
    const Error e = ErrorOf(created);
    if (e == Error::kNoNode) {
      // The barrier's container went with its last participant.
      absl::Status parents =
          internal::EnsureParents(coordinator, path, deadline);
      if (!parents.ok()) return parents;
      continue;
    }
    if (e == Error::kNodeExists) {
      absl::StatusOr<std::optional<Stat>> stat = coordinator.Exists(node);
      if (stat.ok() && !stat->has_value()) continue;  // gone meanwhile
      return in_use(stat.ok() ? (*stat)->ephemeral_owner : 0);
    }
    if (!internal::Retryable(created)) return created;
    // The create may have applied: once this peer has everything the
    // leader committed (Sync), the node's owner says.
    internal::Pause(coordinator, settle_by);
    absl::Status synced = SyncUntil(settle_by);
    if (!synced.ok()) return synced;
    absl::StatusOr<std::optional<Stat>> stat = coordinator.Exists(node);
    if (!stat.ok()) return stat.status();
    if (stat->has_value()) {
      if ((*stat)->ephemeral_owner == coordinator.session_id()) {
        return absl::OkStatus();
      }
      return in_use((*stat)->ephemeral_owner);
    }
    // Joined or not, the session this Enter began with is gone: as for a
    // participant whose node went with its session while it waited (not a
    // second join under the new session, which nobody asked for).
    if (session != 0 && coordinator.session_id() != session) {
      return MakeError(Error::kSessionExpired,
                       absl::StrCat("the session ended while ", node,
                                    " was being created"));
    }
    // It did not apply: create again while there is time.
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("could not join the barrier ", path, " in time"));
    }
  }
}

absl::Status DoubleBarrier::State::Open(const std::vector<Participant>& all,
                                        absl::Time deadline) {
  std::vector<Op> marks;
  const std::string data =
      absl::StrCat(kMark, internal::NewProtectedPrefix().substr(3));
  for (const Participant& p : all) {
    if (!p.data.empty()) continue;  // entered an earlier round
    // Version-checked: a participant that gave up (deleted its node) or
    // was marked meanwhile makes the whole Multi fail.
    marks.push_back(Op::Set(absl::StrCat(path, "/", p.name), data, p.version));
  }
  if (marks.size() < static_cast<size_t>(count)) return absl::OkStatus();
  absl::StatusOr<std::vector<OpResult>> done =
      coordinator.Multi(std::move(marks));
  if (done.ok()) return absl::OkStatus();
  const Error e = ErrorOf(done.status());
  if (e == Error::kBadVersion || e == Error::kNoNode) return absl::OkStatus();
  if (!internal::Retryable(done.status())) return done.status();
  // Applied or not, the next reading (after a Sync) tells.
  internal::Pause(coordinator, deadline);
  return SyncUntil(std::max(deadline, absl::Now() + kWriteTimeout));
}

absl::Status DoubleBarrier::State::GiveUp(absl::Status why) {
  const absl::Time settle_by = absl::Now() + kWriteTimeout;
  while (true) {
    // Only an unmarked node (version 0) may go: if the opening marked it
    // first, the delete fails and we are in.
    const absl::Status deleted = coordinator.Delete(node, 0);
    if (deleted.ok() || ErrorOf(deleted) == Error::kNoNode) return why;
    const bool lost = internal::Retryable(deleted);
    if (!lost && ErrorOf(deleted) != Error::kBadVersion) break;
    if (lost) {
      if (absl::Now() >= settle_by) break;
      internal::Pause(coordinator, settle_by);
      if (!SyncUntil(settle_by).ok()) break;
    }
    absl::StatusOr<Node> mine = coordinator.Get(node);
    if (!mine.ok()) {
      if (ErrorOf(mine.status()) == Error::kNoNode) return why;
      break;
    }
    if (absl::StartsWith(mine->data, kMark)) return Entered(mine->data);
  }
  MutexLock lock(&mu);
  leftover = true;  // the next Enter, or the destructor, deletes it
  return why;
}

absl::Status DoubleBarrier::State::DeleteOurs(absl::Time deadline) {
  absl::StatusOr<std::optional<Stat>> stat = coordinator.Exists(node);
  if (!stat.ok()) return stat.status();
  if (!stat->has_value() ||
      (*stat)->ephemeral_owner != coordinator.session_id()) {
    return absl::OkStatus();
  }
  return internal::DeleteContender(coordinator, node, deadline);
}

DoubleBarrier::DoubleBarrier(Coordinator& coordinator, std::string path,
                             int count, std::string id)
    : state_(std::make_unique<State>(coordinator, std::move(path), count,
                                     std::move(id))) {}

DoubleBarrier::~DoubleBarrier() {
  State& s = *state_;
  {
    MutexLock lock(&s.mu);
    if (!s.entered && !s.leftover) return;
  }
  s.DeleteOurs(absl::Now() + kWriteTimeout).IgnoreError();
}

absl::Status DoubleBarrier::Enter(absl::Duration timeout) {
  State& s = *state_;
  const absl::Time deadline = absl::Now() + timeout;
  if (s.count < 1 || s.id.empty() || s.id.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a double barrier needs count >= 1 and an id with no '/': ", s.count,
        ", \"", s.id, "\""));
  }
  bool leftover;
  {
    MutexLock lock(&s.mu);
    if (s.busy || s.entered) {
      return absl::FailedPreconditionError(absl::StrCat(
          "participant ", s.id, " is already entering or inside ", s.path));
    }
    s.busy = true;
    leftover = s.leftover;
  }
  struct Done {
    State& s;
    ~Done() {
      MutexLock lock(&s.mu);
      s.busy = false;
    }
  } done{s};
  if (leftover) {
    absl::Status deleted =
        s.DeleteOurs(std::max(deadline, absl::Now() + kWriteTimeout));
    if (!deleted.ok()) return deleted;
    MutexLock lock(&s.mu);
    s.leftover = false;
  }
  absl::Status created = s.CreateNode(deadline);
  if (!created.ok()) {
    if (ErrorOf(created) != Error::kNodeExists) {
      // A create may have applied unseen: the next Enter, or the
      // destructor, deletes it if it is ours.
      MutexLock lock(&s.mu);
      s.leftover = true;
    }
    return created;
  }
  // One data watch on our own node at a time: the opening's mark (or the
  // node's deletion by a session expiry) fires it.
  std::shared_ptr<internal::Signal> changed;
  while (true) {
    Watcher watcher;
    if (changed == nullptr || changed->IsSet()) {
      changed = std::make_shared<internal::Signal>();
      watcher = internal::Notifier(changed);
    }
    absl::StatusOr<Node> mine = s.coordinator.Get(s.node, std::move(watcher));
    if (!mine.ok()) {
      if (ErrorOf(mine.status()) == Error::kNoNode) {
        return MakeError(Error::kSessionExpired,
                         absl::StrCat("the participant's node ", s.node,
                                      " is gone: its session ended"));
      }
      return s.GiveUp(mine.status());
    }
    if (absl::StartsWith(mine->data, kMark)) return s.Entered(mine->data);
    if (absl::Now() >= deadline) {
      return s.GiveUp(absl::DeadlineExceededError(absl::StrCat(
          "fewer than ", s.count, " participants entered ", s.path,
          " in time")));
    }
    absl::StatusOr<std::vector<Participant>> all = s.Read();
    if (!all.ok()) return s.GiveUp(all.status());
    const size_t waiting = std::count_if(
        all->begin(), all->end(),
        [](const Participant& p) { return p.data.empty(); });
    if (waiting >= static_cast<size_t>(s.count)) {
      absl::Status opened = s.Open(*all, deadline);
      if (!opened.ok()) return s.GiveUp(opened);
      continue;  // our node tells whether it opened
    }
    changed->WaitUntil(deadline);
  }
}

absl::Status DoubleBarrier::Leave(absl::Duration timeout) {
  State& s = *state_;
  const absl::Time deadline = absl::Now() + timeout;
  std::string token;
  {
    MutexLock lock(&s.mu);
    if (s.busy || !s.entered) {
      return absl::FailedPreconditionError(
          absl::StrCat("participant ", s.id, " is not inside ", s.path));
    }
    s.entered = false;
    token = std::move(s.token);
    s.token.clear();
  }
  const absl::Status deleted = internal::DeleteContender(
      s.coordinator, s.node, absl::Now() + kWriteTimeout);
  if (!deleted.ok()) {
    MutexLock lock(&s.mu);
    s.leftover = true;
    return deleted;
  }
  // Wait until no node of our round is left, watching one at a time.
  while (true) {
    absl::StatusOr<std::vector<Participant>> all = s.Read();
    if (!all.ok()) return all.status();
    auto in_round = std::find_if(
        all->begin(), all->end(),
        [&token](const Participant& p) { return p.data == token; });
    if (in_round == all->end()) return absl::OkStatus();
    auto changed = std::make_shared<internal::Signal>();
    absl::StatusOr<std::optional<Stat>> exists = s.coordinator.Exists(
        absl::StrCat(s.path, "/", in_round->name),
        internal::Notifier(changed));
    if (!exists.ok()) return exists.status();
    if (!exists->has_value()) continue;  // gone already
    if (!changed->WaitUntil(deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "not every participant left ", s.path, " in time"));
    }
  }
}

bool DoubleBarrier::entered() const {
  MutexLock lock(&state_->mu);
  return state_->entered;
}

}  // namespace synod::recipes
