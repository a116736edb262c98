// LeaderElection (synod/recipes/leader_election.h): the first of the
// queued participants leads while its session is connected. Every decision
// and every listener call happens on the Coordinator's dispatcher thread
// (Check), so the listener hears gains and losses one at a time, in order.

#include "synod/recipes/leader_election.h"

#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "recipes/on_dispatcher.h"
#include "util/mutex.h"

namespace synod::recipes {
namespace {

constexpr absl::Duration kWriteTimeout = absl::Seconds(30);

}  // namespace

struct LeaderElection::State : std::enable_shared_from_this<State> {
  State(Coordinator& c, std::string p, std::string i, Listener l)
      : coordinator(c),
        path(std::move(p)),
        id(std::move(i)),
        listener(std::move(l)) {}

  // Runs Check on the dispatcher thread (after whatever it runs now).
  void ScheduleCheck();
  // Decides whether this participant leads, arms the watches it needs,
  // and tells the listener of a change. Dispatcher thread only.
  void Check();
  // The session's events (a session listener). Dispatcher thread.
  void OnSession(const WatchEvent& event);
  // Queues this participant's node and starts taking part (Start, and the
  // rejoin after an expiry). Any thread but the dispatcher.
  absl::Status Join();
  // Starts the rejoin thread if our node was lost (rejoin) and the session
  // is connected. Dispatcher thread.
  void MaybeRejoin();
  // The rejoin thread's body: Join once a session expiry took our node.
  void Rejoin();
  // A watcher that runs Check, holding the state weakly.
  Watcher Rechecker();

  Coordinator& coordinator;
  const std::string path;
  const std::string id;
  const Listener listener;

  Mutex mu;
  bool closed ABSL_GUARDED_BY(mu) = false;     // the election is destroyed
  bool starting ABSL_GUARDED_BY(mu) = false;   // Start is queueing us
  bool participating ABSL_GUARDED_BY(mu) = false;  // our node is queued
  bool connected ABSL_GUARDED_BY(mu) = false;  // the session's last state
  std::string node ABSL_GUARDED_BY(mu);        // our node's path
  int64_t token ABSL_GUARDED_BY(mu) = 0;       // its czxid
  bool leading ABSL_GUARDED_BY(mu) = false;    // the truth, for IsLeader
  bool announced ABSL_GUARDED_BY(mu) = false;  // what the listener was told
  std::string watched ABSL_GUARDED_BY(mu);     // the predecessor watched
  int64_t session_listener ABSL_GUARDED_BY(mu) = 0;
  // Our node is gone while we took part (a session expiry took it, or
  // someone deleted it): we join again once the session is connected
  // (Curator's LeaderLatch does the same).
  bool rejoin ABSL_GUARDED_BY(mu) = false;
  bool rejoining ABSL_GUARDED_BY(mu) = false;  // the rejoin thread runs
  bool resigned ABSL_GUARDED_BY(mu) = false;   // Resign came since it began
  std::thread rejoiner ABSL_GUARDED_BY(mu);    // joined by the destructor
  // Checks running now (the destructor waits for them), and on which
  // thread (a listener that destroys the election must not wait for
  // itself).
  int running ABSL_GUARDED_BY(mu) = 0;
  std::thread::id runner ABSL_GUARDED_BY(mu);
};

Watcher LeaderElection::State::Rechecker() {
  return [weak = std::weak_ptr<State>(shared_from_this())](const WatchEvent&) {
    if (auto self = weak.lock()) self->Check();
  };
}

void LeaderElection::State::ScheduleCheck() {
  internal::RunOnDispatcher(
      coordinator, [weak = std::weak_ptr<State>(shared_from_this())] {
        if (auto self = weak.lock()) self->Check();
      });
}

void LeaderElection::State::OnSession(const WatchEvent& event) {
  {
    MutexLock lock(&mu);
    if (closed) return;
    connected = event.state == SessionState::kConnected;
    if (event.state == SessionState::kExpired) {
      // The session took our node: take part again on the next session.
      rejoin = rejoin || participating;
      participating = false;
    } else if (event.state == SessionState::kClosed) {
      participating = false;
      rejoin = false;
    }
  }
  MaybeRejoin();
  Check();
}

void LeaderElection::State::MaybeRejoin() {
  std::thread finished;
  {
    MutexLock lock(&mu);
    if (closed || !connected || !rejoin || rejoining) return;
    ++running;  // the destructor waits for this, and so for the spawn
    runner = std::this_thread::get_id();
    rejoin = false;
    rejoining = true;
    resigned = false;
    finished = std::move(rejoiner);  // its last step is done
  }
  if (finished.joinable()) finished.join();
  // Join blocks on writes: never on the dispatcher.
  std::thread t([self = shared_from_this()] { self->Rejoin(); });
  MutexLock lock(&mu);
  rejoiner = std::move(t);
  --running;
}

void LeaderElection::State::Rejoin() {
  // A few rounds of Join's own 30 s of retries: a new session that cannot
  // write for minutes gives up, and AwaitLeadership says so.
  constexpr int kAttempts = 4;
  std::string undo;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    {
      MutexLock lock(&mu);
      if (resigned || closed) break;
    }
    const absl::Status joined = Join();
    MutexLock lock(&mu);
    if (joined.ok()) {
      if ((resigned || closed) && participating) {
        participating = false;  // resigned meanwhile: leave again
        undo = node;
      }
      break;
    }
  }
  if (!undo.empty()) {
    internal::DeleteContender(coordinator, undo, absl::Now() + kWriteTimeout)
        .IgnoreError();
  }
  ScheduleCheck();
  MutexLock lock(&mu);
  rejoining = false;
}

void LeaderElection::State::Check() {
  std::string mine;
  {
    MutexLock lock(&mu);
    if (closed) return;
    ++running;
    runner = std::this_thread::get_id();
    mine = participating ? node : "";
  }
  bool first = false;
  bool gone = false;
  std::string before;
  if (!mine.empty()) {
    absl::StatusOr<std::vector<std::string>> queue =
        internal::SortedContenders(coordinator, path);
    const std::string name = mine.substr(mine.rfind('/') + 1);
    gone = true;
    if (queue.ok()) {
      for (size_t i = 0; i < queue->size(); ++i) {
        if ((*queue)[i] != name) continue;
        gone = false;
        first = i == 0;
        if (i > 0) before = absl::StrCat(path, "/", (*queue)[i - 1]);
        break;
      }
    } else if (internal::Retryable(queue.status())) {
      gone = false;  // look again on the next event
    }
  }
  bool tell = false;
  bool now_leading = false;
  bool arm = false;
  {
    MutexLock lock(&mu);
    if (gone && participating && node == mine) {
      participating = false;
      rejoin = true;  // not by our Resign (that clears participating first)
    }
    leading = participating && node == mine && first && connected;
    now_leading = leading;
    if (participating && !before.empty() && watched != before) {
      watched = before;
      arm = true;
    }
    tell = announced != leading;
    announced = leading;
  }
  if (arm) {
    // Only the node before ours: its deletion is our cue.
    absl::StatusOr<std::optional<Stat>> exists =
        coordinator.Exists(before, Rechecker());
    if (exists.ok() && !exists->has_value()) ScheduleCheck();  // gone already
  }
  MaybeRejoin();  // our node went without our Resign
  if (tell && listener) listener(now_leading);
  MutexLock lock(&mu);
  --running;
}

LeaderElection::LeaderElection(Coordinator& coordinator, std::string path,
                               std::string id, Listener listener)
    : state_(std::make_shared<State>(coordinator, std::move(path),
                                     std::move(id), std::move(listener))) {}

LeaderElection::~LeaderElection() {
  Resign().IgnoreError();
  State& s = *state_;
  int64_t handle;
  bool tell;
  std::thread rejoiner;
  {
    MutexLock lock(&s.mu);
    s.closed = true;
    handle = s.session_listener;
    const std::thread::id me = std::this_thread::get_id();
    auto idle = [&s, me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
      return s.running == 0 || s.runner == me;
    };
    s.mu.Await(idle);
    // No Check runs from here on: the loss (if it led) is told here.
    tell = s.announced;
    s.announced = false;
    rejoiner = std::move(s.rejoiner);
  }
  if (handle != 0) s.coordinator.RemoveSessionListener(handle);
  // A rejoin under way ends within its write timeout and leaves again.
  if (rejoiner.joinable()) rejoiner.join();
  if (tell && s.listener) s.listener(false);
}

absl::Status LeaderElection::Start() {
  State& s = *state_;
  bool listen = false;
  {
    MutexLock lock(&s.mu);
    if (s.starting || s.participating || s.rejoining) {
      return absl::FailedPreconditionError(
          absl::StrCat("already in the election ", s.path));
    }
    s.rejoin = false;
    listen = s.session_listener == 0;
  }
  if (listen) {
    const int64_t handle = s.coordinator.AddSessionListener(
        [weak = std::weak_ptr<State>(state_)](const WatchEvent& e) {
          if (auto self = weak.lock()) self->OnSession(e);
        });
    MutexLock lock(&s.mu);
    s.session_listener = handle;
  }
  if (absl::Status joined = s.Join(); !joined.ok()) return joined;
  // The first decision, on the dispatcher like every other.
  s.ScheduleCheck();
  return absl::OkStatus();
}

absl::Status LeaderElection::State::Join() {
  {
    MutexLock lock(&mu);
    if (starting || participating) {
      return absl::FailedPreconditionError(
          absl::StrCat("already in the election ", path));
    }
    starting = true;
  }
  const bool now_connected =
      coordinator.WaitConnected(absl::ZeroDuration()).ok();
  const absl::Time deadline = absl::Now() + kWriteTimeout;
  absl::StatusOr<std::string> created = internal::CreateContender(
      coordinator, path, internal::NewProtectedPrefix(), "n-", id, deadline);
  absl::StatusOr<std::optional<Stat>> stat =
      created.ok() ? coordinator.Exists(*created)
                   : absl::StatusOr<std::optional<Stat>>(created.status());
  MutexLock lock(&mu);
  starting = false;
  if (!stat.ok()) return stat.status();
  if (!stat->has_value()) {
    return MakeError(Error::kSessionExpired,
                     absl::StrCat("the election node ", *created,
                                  " is gone: its session ended"));
  }
  participating = true;
  node = *created;
  token = (*stat)->czxid;
  connected = connected || now_connected;
  watched.clear();
  return absl::OkStatus();
}

bool LeaderElection::IsLeader() const {
  // The lease first: a process resumed after a pause answers false at
  // once, before its Coordinator has reported anything.
  if (!state_->coordinator.SessionLeaseValid()) return false;
  MutexLock lock(&state_->mu);
  return state_->leading;
}

absl::Status LeaderElection::AwaitLeadership(absl::Duration timeout) {
  State& s = *state_;
  MutexLock lock(&s.mu);
  // Out of the election: neither in it nor on the way back into it.
  auto out = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    return !s.participating && !s.starting && !s.rejoin && !s.rejoining;
  };
  auto settled = [&s, &out]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    return s.leading || out() || s.closed;
  };
  s.mu.AwaitWithTimeout(settled, timeout);
  if (s.leading) return absl::OkStatus();
  if (out()) {
    return absl::FailedPreconditionError(
        absl::StrCat("not in the election ", s.path,
                     " (not started, resigned, or it could not rejoin after its "
                     "session expired)"));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("not elected in ", s.path, " in time"));
}

absl::StatusOr<std::string> LeaderElection::CurrentLeader() {
  State& s = *state_;
  for (int attempt = 0; attempt < 10; ++attempt) {
    absl::StatusOr<std::vector<std::string>> queue =
        internal::SortedContenders(s.coordinator, s.path);
    if (!queue.ok() && ErrorOf(queue.status()) != Error::kNoNode) {
      return queue.status();
    }
    if (!queue.ok() || queue->empty()) {
      return MakeError(Error::kNoNode,
                       absl::StrCat("nobody takes part in ", s.path));
    }
    absl::StatusOr<Node> first =
        s.coordinator.Get(absl::StrCat(s.path, "/", queue->front()));
    if (first.ok()) return first->data;
    if (ErrorOf(first.status()) != Error::kNoNode) return first.status();
    // It left between the two reads: look again.
  }
  return MakeError(Error::kNoNode,
                   absl::StrCat("no stable leader in ", s.path));
}

absl::StatusOr<int64_t> LeaderElection::FencingToken() const {
  MutexLock lock(&state_->mu);
  if (!state_->leading) {
    return absl::FailedPreconditionError(
        absl::StrCat("not the leader of ", state_->path));
  }
  return state_->token;
}

absl::Status LeaderElection::Resign() {
  State& s = *state_;
  std::string node;
  {
    MutexLock lock(&s.mu);
    s.rejoin = false;
    s.resigned = true;  // a rejoin under way leaves again
    if (!s.participating) return absl::OkStatus();
    s.participating = false;
    s.leading = false;
    node = s.node;
  }
  const absl::Status deleted = internal::DeleteContender(
      s.coordinator, node, absl::Now() + kWriteTimeout);
  s.ScheduleCheck();  // tells the listener of the loss, on the dispatcher
  return deleted;
}

}  // namespace synod::recipes
