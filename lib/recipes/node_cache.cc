// NodeCache (synod/recipes/node_cache.h): a persistent watch on the path,
// and a read of the node on the dispatcher thread after every event and
// every reconnection, compared with the view.

#include "synod/recipes/node_cache.h"

#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "recipes/on_dispatcher.h"
#include "util/errors.h"
#include "util/mutex.h"

namespace synod::recipes {

struct NodeCache::State : std::enable_shared_from_this<State> {
  State(Coordinator& c, std::string p, Listener l)
      : coordinator(c), path(std::move(p)), listener(std::move(l)) {}

  // Reads the node and brings the view to it, telling the listener of a
  // difference. Dispatcher thread only.
  void Refresh();

  Coordinator& coordinator;
  const std::string path;
  const Listener listener;

  mutable Mutex mu;
  bool started ABSL_GUARDED_BY(mu) = false;
  bool loaded ABSL_GUARDED_BY(mu) = false;  // the first Refresh is done
  absl::Status load_error ABSL_GUARDED_BY(mu);  // why it was not, if known
  bool closed ABSL_GUARDED_BY(mu) = false;
  std::optional<Node> current ABSL_GUARDED_BY(mu);
  int64_t session_listener ABSL_GUARDED_BY(mu) = 0;
  // Refreshes running now (the destructor waits for them), and on which
  // thread (a listener that destroys the cache must not wait for itself).
  int running ABSL_GUARDED_BY(mu) = 0;
  std::thread::id runner ABSL_GUARDED_BY(mu);
};

void NodeCache::State::Refresh() {
  {
    MutexLock lock(&mu);
    if (closed) return;
    ++running;
    runner = std::this_thread::get_id();
  }
  std::optional<Node> now;
  absl::StatusOr<Node> read = coordinator.Get(path);
  bool readable = true;
  if (read.ok()) {
    now = std::move(*read);
  } else if (ErrorOf(read.status()) != Error::kNoNode) {
    readable = false;  // look again on the next event or reconnection
    MutexLock lock(&mu);
    if (!loaded) load_error = read.status();
  }
  bool tell = false;
  std::optional<Node> told;
  {
    MutexLock lock(&mu);
    if (readable) {
      const bool was = current.has_value();
      // Created, deleted, replaced (another creation) or its data changed:
      // a difference for the listener. Child and ACL changes only refresh
      // the Stat.
      tell = loaded &&
             (was != now.has_value() ||
              (was && (current->stat.czxid != now->stat.czxid ||
                       current->stat.mzxid != now->stat.mzxid)));
      current = now;
      loaded = true;
      if (tell) told = std::move(now);
    }
  }
  if (tell && listener) listener(told);
  MutexLock lock(&mu);
  --running;
}

NodeCache::NodeCache(Coordinator& coordinator, std::string path,
                     Listener listener)
    : state_(std::make_shared<State>(coordinator, std::move(path),
                                     std::move(listener))) {}

NodeCache::~NodeCache() {
  State& s = *state_;
  int64_t handle;
  {
    MutexLock lock(&s.mu);
    s.closed = true;
    handle = s.session_listener;
    const std::thread::id me = std::this_thread::get_id();
    s.mu.Await([&s, me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
      return s.running == 0 || s.runner == me;
    });
  }
  if (handle != 0) s.coordinator.RemoveSessionListener(handle);
  // The persistent watch stays registered, inert (it holds the state
  // weakly): removing it by path would remove every other persistent
  // watch on the path too (docs/recipes.md).
}

absl::Status NodeCache::Start(absl::Duration timeout) {
  State& s = *state_;
  {
    MutexLock lock(&s.mu);
    if (s.started) {
      return absl::FailedPreconditionError(
          absl::StrCat("the cache of ", s.path, " is started already"));
    }
    s.started = true;
  }
  const std::weak_ptr<State> weak = state_;
  // Any change of the node, and any new session or reconnection: read it.
  absl::Status watched = s.coordinator.AddWatch(
      s.path, WatchMode::kPersistent, [weak](const WatchEvent&) {
        if (auto self = weak.lock()) self->Refresh();
      });
  if (!watched.ok()) {
    MutexLock lock(&s.mu);
    s.started = false;
    return watched;
  }
  const int64_t handle =
      s.coordinator.AddSessionListener([weak](const WatchEvent& e) {
        if (e.state != SessionState::kConnected) return;
        if (auto self = weak.lock()) self->Refresh();
      });
  {
    MutexLock lock(&s.mu);
    s.session_listener = handle;
  }
  // The first load on the dispatcher too, ordered with the events.
  internal::RunOnDispatcher(s.coordinator, [weak] {
    if (auto self = weak.lock()) self->Refresh();
  });
  MutexLock lock(&s.mu);
  if (!s.mu.AwaitWithTimeout(
          [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
            return s.loaded || !s.load_error.ok();
          },
          timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("the cache of ", s.path, " did not load in ",
                     absl::FormatDuration(timeout)));
  }
  // Unreadable (e.g. NoAuth): said now; the view loads once it can be read.
  return s.loaded ? absl::OkStatus() : s.load_error;
}

std::optional<Node> NodeCache::Current() const {
  MutexLock lock(&state_->mu);
  return state_->current;
}

}  // namespace synod::recipes
