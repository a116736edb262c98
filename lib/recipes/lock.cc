// Lock (synod/recipes/lock.h) and the two sides of a ReadWriteLock
// (synod/recipes/read_write_lock.h): one queue of ephemeral sequential
// nodes, each waiter watching the one node whose deletion can let it in.
//
// The rules, by a node's kind (its name after the protected prefix):
//   "lock-", "write-"  holds when first in the queue and no "downgrade-"
//                      node is queued; watches its predecessor (or, when
//                      first, that downgrade node);
//   "read-"            holds when no "lock-" or "write-" node is before it;
//                      watches the last such node before it;
//   "downgrade-"       a read queued by the thread that holds the write
//                      side: holds at once, and keeps later writers out
//                      even when one queued before it.

#include "synod/recipes/lock.h"

#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "synod/recipes/read_write_lock.h"
#include "util/mutex.h"

namespace synod::recipes {
namespace {

// How long Release keeps trying to delete the node through a lost
// connection.
constexpr absl::Duration kReleaseTimeout = absl::Seconds(30);

constexpr std::string_view kRead = "read-";
constexpr std::string_view kDowngrade = "downgrade-";

bool IsReadKind(std::string_view kind) {
  return kind == kRead || kind == kDowngrade;
}

// Returns the node (a child name of the queue) that the contender at
// `index` of `queue` must see go before it may hold, or "" if it holds.
std::string Blocker(const std::vector<std::string>& queue, size_t index,
                    bool reader) {
  if (reader) {
    // The last writer before it: when that one goes, every reader between
    // it and the next writer holds at once.
    for (size_t i = index; i-- > 0;) {
      if (!IsReadKind(internal::KindOf(queue[i]))) return queue[i];
    }
    return "";
  }
  if (index > 0) return queue[index - 1];
  // First: still, a read held through a downgrade came after the write it
  // downgraded, maybe behind us; it must go first.
  for (size_t i = 1; i < queue.size(); ++i) {
    if (internal::KindOf(queue[i]) == kDowngrade) return queue[i];
  }
  return "";
}

}  // namespace

struct Lock::State {
  State(Coordinator& c, std::string p, Mode m, const Lock* s)
      : coordinator(c), path(std::move(p)), mode(m), sibling(s), alarm(c) {}

  // Queues a node of `kind` and waits for its turn, until `deadline`;
  // returns the node that holds the lock.
  absl::StatusOr<std::string> AcquireNode(std::string_view kind,
                                          absl::Time deadline);

  struct Hold {
    int count = 0;
    std::string node;
  };

  Coordinator& coordinator;
  const std::string path;
  const Mode mode;
  const Lock* const sibling;  // the other side of a ReadWriteLock, or null
  internal::SessionAlarm alarm;
  Mutex mu;
  // The holds of this object, by thread (several only for a read side).
  std::map<std::thread::id, Hold> holds ABSL_GUARDED_BY(mu);
};

absl::StatusOr<std::string> Lock::State::AcquireNode(std::string_view kind,
                                                     absl::Time deadline) {
  const int64_t since = alarm.ends();
  absl::StatusOr<std::string> node = internal::CreateContender(
      coordinator, path, internal::NewProtectedPrefix(), std::string(kind),
      "", deadline);
  if (!node.ok()) return node.status();
  if (kind == kDowngrade) return node;  // the write hold lets it in
  const std::string name = node->substr(node->rfind('/') + 1);
  const bool reader = mode == Mode::kRead;
  auto give_up = [&](absl::Status why) {
    internal::DeleteContender(coordinator, *node,
                              absl::Now() + kReleaseTimeout)
        .IgnoreError();
    return why;
  };
  auto late = [&] {
    return give_up(absl::DeadlineExceededError(
        absl::StrCat("the lock ", path, " was not acquired in time")));
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
    const std::string blocker = Blocker(*queue, index, reader);
    if (blocker.empty()) return node;
    if (absl::Now() >= deadline) return late();
    auto changed = std::make_shared<internal::Signal>();
    absl::StatusOr<std::optional<Stat>> exists = coordinator.Exists(
        absl::StrCat(path, "/", blocker),
        [changed](const WatchEvent&) { changed->Notify(); });
    if (!exists.ok()) {
      if (!internal::Retryable(exists.status())) {
        return give_up(exists.status());
      }
      absl::SleepFor(absl::Milliseconds(20));
      continue;
    }
    if (!exists->has_value()) continue;  // gone already: look again
    switch (alarm.Wait(changed, since, deadline)) {
      case internal::SessionAlarm::Wake::kSignalled:
        break;
      case internal::SessionAlarm::Wake::kTimedOut:
        return late();
      case internal::SessionAlarm::Wake::kSessionEnded:
        return give_up(alarm.Ended(absl::StrCat("waiting for the lock ", path)));
    }
  }
}

Lock::Lock(Coordinator& coordinator, std::string path)
    : Lock(coordinator, std::move(path), Mode::kExclusive, nullptr) {}

Lock::Lock(Coordinator& coordinator, std::string path, Mode mode,
           const Lock* sibling)
    : state_(std::make_unique<State>(coordinator, std::move(path), mode,
                                     sibling)) {}

Lock::~Lock() {
  std::map<std::thread::id, State::Hold> holds;
  {
    MutexLock lock(&state_->mu);
    holds.swap(state_->holds);
  }
  for (const auto& [thread, hold] : holds) {
    internal::DeleteContender(state_->coordinator, hold.node,
                              absl::Now() + kReleaseTimeout)
        .IgnoreError();
  }
}

absl::Status Lock::Acquire(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  State& s = *state_;
  const std::thread::id me = std::this_thread::get_id();
  {
    MutexLock lock(&s.mu);
    auto held = s.holds.find(me);
    if (held != s.holds.end()) {
      ++held->second.count;
      return absl::OkStatus();
    }
  }
  // Only this thread changes whether it holds the other side.
  const bool other_side = s.sibling && s.sibling->IsHeldByThisThread();
  std::string_view kind = "lock-";
  switch (s.mode) {
    case Mode::kExclusive:
      break;
    case Mode::kWrite:
      if (other_side) {
        return absl::FailedPreconditionError(absl::StrCat(
            "this thread holds the read lock ", s.path,
            ": it cannot take the write lock (it would wait for itself)"));
      }
      kind = "write-";
      break;
    case Mode::kRead:
      kind = other_side ? kDowngrade : kRead;
      break;
  }
  absl::StatusOr<std::string> node = s.AcquireNode(kind, deadline);
  if (!node.ok()) return node.status();
  MutexLock lock(&s.mu);
  s.holds[me] = State::Hold{1, *std::move(node)};
  return absl::OkStatus();
}

absl::Status Lock::Release() {
  State& s = *state_;
  std::string node;
  {
    MutexLock lock(&s.mu);
    auto held = s.holds.find(std::this_thread::get_id());
    if (held == s.holds.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the lock ", s.path, " is not held by this thread"));
    }
    if (--held->second.count > 0) return absl::OkStatus();
    node = std::move(held->second.node);
    s.holds.erase(held);
  }
  return internal::DeleteContender(s.coordinator, node,
                                   absl::Now() + kReleaseTimeout);
}

bool Lock::IsHeld() const {
  // First, so that a process resumed after a pause answers false at once,
  // before its replica has heard of the expiry.
  if (!state_->coordinator.SessionLeaseValid()) return false;
  std::vector<std::string> nodes;
  {
    MutexLock lock(&state_->mu);
    for (const auto& [thread, hold] : state_->holds) nodes.push_back(hold.node);
  }
  const int64_t session = state_->coordinator.session_id();
  for (const std::string& node : nodes) {
    absl::StatusOr<std::optional<Stat>> stat =
        state_->coordinator.Exists(node);
    if (stat.ok() && stat->has_value() &&
        (*stat)->ephemeral_owner == session) {
      return true;
    }
  }
  return false;
}

bool Lock::IsHeldByThisThread() const {
  MutexLock lock(&state_->mu);
  return state_->holds.count(std::this_thread::get_id()) > 0;
}

std::string Lock::node() const {
  MutexLock lock(&state_->mu);
  auto held = state_->holds.find(std::this_thread::get_id());
  if (held != state_->holds.end()) return held->second.node;
  return state_->holds.empty() ? "" : state_->holds.begin()->second.node;
}

ReadWriteLock::ReadWriteLock(Coordinator& coordinator, std::string path)
    : read_(coordinator, path, Lock::Mode::kRead, &write_),
      write_(coordinator, std::move(path), Lock::Mode::kWrite, &read_) {}

ReadWriteLock::~ReadWriteLock() = default;

}  // namespace synod::recipes
