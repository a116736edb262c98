// Lock (synod/recipes/lock.h): a queue of ephemeral sequential nodes, each
// waiter watching its predecessor only.

#include "synod/recipes/lock.h"

#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "util/mutex.h"

namespace synod::recipes {
namespace {

// How long Release keeps trying to delete the node through a lost
// connection.
constexpr absl::Duration kReleaseTimeout = absl::Seconds(30);

std::string BaseName(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// Set once by a watcher, waited for by the thread that registered it.
// (synod's Mutex, not absl::Notification: ThreadSanitizer sees it.)
class Signal {
 public:
  void Notify() {
    MutexLock lock(&mu_);
    set_ = true;
  }
  // True once notified; false if `deadline` passed first.
  bool WaitUntil(absl::Time deadline) {
    MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return set_; },
        deadline - absl::Now());
  }

 private:
  Mutex mu_;
  bool set_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

struct Lock::State {
  State(Coordinator& c, std::string p)
      : coordinator(c),
        path(std::move(p)),
        prefix(internal::NewProtectedPrefix()) {}

  // Queues this process and waits for its turn, until `deadline`; returns
  // the node that holds the lock.
  absl::StatusOr<std::string> AcquireNode(absl::Time deadline);

  Coordinator& coordinator;
  const std::string path;
  const std::string prefix;  // unique to this Lock (protected mode)
  Mutex mu;
  bool acquiring ABSL_GUARDED_BY(mu) = false;  // a thread of ours is queued
  int holds ABSL_GUARDED_BY(mu) = 0;
  std::thread::id owner ABSL_GUARDED_BY(mu);
  std::string node ABSL_GUARDED_BY(mu);
};

absl::StatusOr<std::string> Lock::State::AcquireNode(absl::Time deadline) {
  absl::StatusOr<std::string> node = internal::CreateContender(
      coordinator, path, prefix, "lock-", "", deadline);
  if (!node.ok()) return node.status();
  const std::string name = BaseName(*node);
  auto give_up = [&](absl::Status why) {
    internal::DeleteContender(coordinator, *node,
                              absl::Now() + kReleaseTimeout)
        .IgnoreError();
    return why;
  };
  while (true) {
    // Our create applied here before it returned, and every node queued
    // before ours did too (log order): the local replica is enough.
    absl::StatusOr<std::vector<std::string>> queue =
        internal::SortedContenders(coordinator, path);
    if (!queue.ok()) return give_up(queue.status());
    size_t index = 0;
    while (index < queue->size() && (*queue)[index] != name) ++index;
    if (index == queue->size()) {
      return MakeError(Error::kSessionExpired,
                       absl::StrCat("the lock's node ", *node,
                                    " is gone: its session ended"));
    }
    if (index == 0) return *node;
    // Wait for the node just before ours only.
    const std::string before = absl::StrCat(path, "/", (*queue)[index - 1]);
    auto changed = std::make_shared<Signal>();
    absl::StatusOr<std::optional<Stat>> exists = coordinator.Exists(
        before, [changed](const WatchEvent&) { changed->Notify(); });
    if (!exists.ok()) {
      if (!internal::Retryable(exists.status())) {
        return give_up(exists.status());
      }
      continue;
    }
    if (!exists->has_value()) continue;  // gone already: look again
    if (!changed->WaitUntil(deadline)) {
      return give_up(absl::DeadlineExceededError(
          absl::StrCat("the lock ", path, " was not acquired in time")));
    }
  }
}

Lock::Lock(Coordinator& coordinator, std::string path)
    : state_(std::make_unique<State>(coordinator, std::move(path))) {}

Lock::~Lock() {
  {
    MutexLock lock(&state_->mu);
    if (state_->holds == 0) return;
    state_->holds = 1;
    state_->owner = std::this_thread::get_id();
  }
  Release().IgnoreError();
}

absl::Status Lock::Acquire(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  State& s = *state_;
  {
    MutexLock lock(&s.mu);
    const std::thread::id me = std::this_thread::get_id();
    if (s.holds > 0 && s.owner == me) {
      ++s.holds;
      return absl::OkStatus();
    }
    // Another thread of ours holds it or is queued: wait for it locally.
    auto free = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
      return s.holds == 0 && !s.acquiring;
    };
    if (!s.mu.AwaitWithTimeout(free, deadline - absl::Now())) {
      return absl::DeadlineExceededError(
          absl::StrCat("the lock ", s.path, " was not acquired in time"));
    }
    s.acquiring = true;
  }
  absl::StatusOr<std::string> node = s.AcquireNode(deadline);
  MutexLock lock(&s.mu);
  s.acquiring = false;
  if (!node.ok()) return node.status();
  s.holds = 1;
  s.owner = std::this_thread::get_id();
  s.node = *std::move(node);
  return absl::OkStatus();
}

absl::Status Lock::Release() {
  State& s = *state_;
  std::string node;
  {
    MutexLock lock(&s.mu);
    if (s.holds == 0 || s.owner != std::this_thread::get_id()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the lock ", s.path, " is not held by this thread"));
    }
    if (--s.holds > 0) return absl::OkStatus();
    node = std::move(s.node);
    s.node.clear();
    s.owner = std::thread::id();
  }
  return internal::DeleteContender(s.coordinator, node,
                                   absl::Now() + kReleaseTimeout);
}

bool Lock::IsHeld() const {
  std::string node;
  {
    MutexLock lock(&state_->mu);
    if (state_->holds == 0) return false;
    node = state_->node;
  }
  absl::StatusOr<std::optional<Stat>> stat = state_->coordinator.Exists(node);
  return stat.ok() && stat->has_value() &&
         (*stat)->ephemeral_owner == state_->coordinator.session_id();
}

std::string Lock::node() const {
  MutexLock lock(&state_->mu);
  return state_->node;
}

}  // namespace synod::recipes
