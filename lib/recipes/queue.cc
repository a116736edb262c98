// Queue and PriorityQueue (synod/recipes/queue.h): persistent sequential
// items, put and taken exactly once through op markers
// (recipes/op_marker.h), takers woken by a watch on the children.

#include "synod/recipes/queue.h"

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
#include "recipes/op_marker.h"
#include "recipes/waits.h"
#include "util/mutex.h"
#include "util/strings.h"

namespace synod::recipes {
namespace {

// Bounds every loop of a call; each round is at least one local read, and
// the deadlines bound them first.
constexpr int kMaxRounds = 100000;

// A waiting Take looks at the children again at least this often, even
// without a watch event (a safety net only: the watch wakes it).
constexpr absl::Duration kRecheck = absl::Seconds(5);

constexpr size_t kSequenceDigits = 10;

std::string ParentPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Changes of the queue's children, counted. One child watch is kept armed
// at a time (re-armed by the next read of the children after it fired),
// whatever the number of waiting takers. Shared with the watcher, which
// may fire after the queue object is gone.
class ChildWatch {
 public:
  // Reads the children of `path`, arming the watch if none is armed.
  // `*generation` receives the count of changes the read is at least as
  // new as: a change after the read moves the count past it.
  absl::StatusOr<std::vector<std::string>> Read(
      const std::shared_ptr<ChildWatch>& self, Coordinator& coordinator,
      const std::string& path, int64_t* generation) {
    int64_t id = 0;
    {
      MutexLock lock(&mu_);
      *generation = generation_;
      if (!armed_) id = ++next_id_;
    }
    if (id == 0) return coordinator.GetChildren(path);
    absl::StatusOr<std::vector<std::string>> children = coordinator.GetChildren(
        path, [self, id](const WatchEvent&) { self->Fired(id); });
    if (children.ok()) {
      MutexLock lock(&mu_);
      // Armed unless it fired already (then the count moved on).
      if (generation_ == *generation) {
        armed_ = true;
        armed_id_ = id;
      }
    }
    return children;
  }

  // Waits until the count passes `generation` or `deadline` comes.
  void WaitPast(int64_t generation, absl::Time deadline) {
    MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(
        [this, generation]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return generation_ != generation;
        },
        deadline - absl::Now());
  }

 private:
  void Fired(int64_t id) {
    MutexLock lock(&mu_);
    ++generation_;
    if (armed_ && armed_id_ == id) armed_ = false;
  }

  Mutex mu_;
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  int64_t armed_id_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
};

// What one attempt at an item came to.
enum class Attempt { kTaken, kGone, kLookAgain };

}  // namespace

namespace internal {

struct QueueState {
  // `priority`: item names carry a priority (PriorityQueue).
  QueueState(Coordinator& c, std::string p, bool prioritized)
      : coordinator(c),
        path(std::move(p)),
        priority(prioritized),
        puts(c, absl::StrCat(path, "/", AV(kMarkerArea)), "p"),
        takes(c, absl::StrCat(path, "/", AV(kMarkerArea)), "t") {}

  absl::Status Put(std::string_view data, int32_t priority);
  absl::StatusOr<std::string> Take(absl::Duration timeout);

  // The name (before its sequence number) of an item at `item_priority`:
  // "q-", or "p" and the priority as 8 hex digits, offset so that the
  // names of lower priorities sort first, and "-".
  std::string ItemPrefix(int32_t item_priority) const;
  // True if `name` is an item's (not the marker area's).
  bool IsItem(const std::string& name) const;
  // Makes the queue's node and its parents, until `deadline`. Idempotent.
  absl::Status Make(absl::Time deadline);
  // Tries to take the item `name`: kTaken with its data in `*data`
  // (perhaps an earlier attempt's item), kGone (another taker has it),
  // kLookAgain (the children may have changed: read them again).
  absl::StatusOr<Attempt> TryTake(OpMarker& marker, const std::string& name,
                                  std::string* data);

  Coordinator& coordinator;
  const std::string path;
  const bool priority;
  OpMarkers puts;
  OpMarkers takes;
  const std::shared_ptr<ChildWatch> watch = std::make_shared<ChildWatch>();
};

std::string QueueState::ItemPrefix(int32_t item_priority) const {
  if (!priority) return "q-";
  const uint32_t key = static_cast<uint32_t>(item_priority) ^ 0x80000000u;
  return absl::StrCat("p", absl::Hex(key, absl::kZeroPad8), "-");
}

bool QueueState::IsItem(const std::string& name) const {
  const size_t prefix = priority ? 10 : 2;
  return name.size() == prefix + kSequenceDigits &&
         name[0] == (priority ? 'p' : 'q') && name[prefix - 1] == '-' &&
         SequenceOf(name) >= 0;
}

absl::Status QueueState::Make(absl::Time deadline) {
  absl::Status s = EnsureParents(coordinator, ParentPath(path), deadline);
  if (!s.ok()) return s;
  for (int round = 0; round < kMaxRounds; ++round) {
    s = coordinator.Create(path, "", CreateMode::kPersistent).status();
    if (s.ok() || ErrorOf(s) == Error::kNodeExists) return absl::OkStatus();
    if (ErrorOf(s) == Error::kNoNode) {
      s = EnsureParents(coordinator, ParentPath(path), deadline);
      if (!s.ok()) return s;
      continue;
    }
    if (!OutcomeUnknown(s)) return s;
    if (absl::Now() >= deadline) break;
    Pause(coordinator, deadline);
  }
  return MakeError(Error::kConnectionLoss,
                   absl::StrCat("no leader answered in time to create ", path));
}

absl::Status QueueState::Put(std::string_view data, int32_t item_priority) {
  const absl::Time deadline = absl::Now() + kSettleTimeout;
  const std::string item = absl::StrCat(path, "/", ItemPrefix(item_priority));
  OpMarkers::Lease marker = puts.Acquire();
  absl::StatusOr<std::optional<Settled>> begun = marker->Begin(deadline);
  if (!begun.ok()) return begun.status();
  for (int round = 0; round < kMaxRounds; ++round) {
    std::vector<Op> ops;
    ops.push_back(Op::Create(item, std::string(data),
                             CreateMode::kPersistentSequential));
    absl::StatusOr<Settled> settled =
        marker->Write(std::move(ops), "put", "", deadline);
    if (settled.ok()) {
      if (settled->applied) return absl::OkStatus();
    } else if (ErrorOf(settled.status()) == Error::kNoNode &&
               FailedOpIndex(settled.status()) == 0) {
      const absl::Status made = Make(deadline);
      if (!made.ok()) return made;
    } else {
      return settled.status();
    }
    if (absl::Now() >= deadline) break;
  }
  return MakeError(Error::kConnectionLoss,
                   absl::StrCat("the put to ", path,
                                " was not made in time"));
}

absl::StatusOr<Attempt> QueueState::TryTake(OpMarker& marker,
                                            const std::string& name,
                                            std::string* data) {
  const std::string item = absl::StrCat(path, "/", name);
  absl::StatusOr<Node> node = coordinator.Get(item);
  if (ErrorOf(node.status()) == Error::kNoNode) return Attempt::kGone;
  if (!node.ok()) return node.status();
  std::vector<Op> ops;
  ops.push_back(Op::Delete(item, node->stat.version));
  absl::StatusOr<Settled> settled =
      marker.Write(std::move(ops), name, std::move(node->data),
                   absl::Now() + kSettleTimeout);
  if (settled.ok()) {
    if (!settled->applied) return Attempt::kLookAgain;
    *data = std::move(settled->payload);
    return Attempt::kTaken;
  }
  if (FailedOpIndex(settled.status()) == 0) {
    // Another taker deleted it (NoNode), or it was changed (BadVersion).
    return ErrorOf(settled.status()) == Error::kNoNode ? Attempt::kGone
                                                       : Attempt::kLookAgain;
  }
  return settled.status();
}

absl::StatusOr<std::string> QueueState::Take(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  OpMarkers::Lease marker = takes.Acquire();
  absl::StatusOr<std::optional<Settled>> begun =
      marker->Begin(absl::Now() + kSettleTimeout);
  if (!begun.ok()) return begun.status();
  // An earlier Take of this object deleted an item and lost the reply.
  if (begun->has_value()) return std::move((*begun)->payload);
  for (int round = 0; round < kMaxRounds; ++round) {
    int64_t generation = 0;
    absl::StatusOr<std::vector<std::string>> children =
        watch->Read(watch, coordinator, path, &generation);
    if (ErrorOf(children.status()) == Error::kNoNode) {
      const absl::Status made = Make(absl::Now() + kSettleTimeout);
      if (!made.ok()) return made;
      continue;
    }
    if (!children.ok()) return children.status();
    // GetChildren sorts the names: items in (priority,) sequence order.
    bool look_again = false;
    for (const std::string& name : *children) {
      if (!IsItem(name)) continue;
      std::string data;
      absl::StatusOr<Attempt> attempt = TryTake(*marker, name, &data);
      if (!attempt.ok()) return attempt.status();
      if (*attempt == Attempt::kTaken) return data;
      if (*attempt == Attempt::kLookAgain) {
        look_again = true;
        break;
      }
    }
    // (An attempt that did not apply is no reason to give up: items are
    // there.)
    if (look_again) continue;
    // Nothing to take. An attempt lost earlier may have taken its item
    // after all (only then does this read anything).
    absl::StatusOr<Settled> late =
        marker->Confirm(absl::Now() + kSettleTimeout);
    if (!late.ok()) return late.status();
    if (late->applied) return std::move(late->payload);
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no item came to the queue ", path, " in time"));
    }
    // Nothing to take: wait for the children to change.
    watch->WaitPast(generation, std::min(deadline, now + kRecheck));
  }
  absl::StatusOr<Settled> late = marker->Confirm(absl::Now() + kSettleTimeout);
  if (!late.ok()) return late.status();
  if (late->applied) return std::move(late->payload);
  return absl::DeadlineExceededError(
      absl::StrCat("no item could be taken from the queue ", path));
}

}  // namespace internal

Queue::Queue(Coordinator& coordinator, std::string path)
    : state_(std::make_unique<internal::QueueState>(
          coordinator, std::move(path), /*prioritized=*/false)) {}

Queue::~Queue() = default;

absl::Status Queue::Put(std::string_view data) { return state_->Put(data, 0); }

absl::StatusOr<std::string> Queue::Take(absl::Duration timeout) {
  return state_->Take(timeout);
}

PriorityQueue::PriorityQueue(Coordinator& coordinator, std::string path)
    : state_(std::make_unique<internal::QueueState>(
          coordinator, std::move(path), /*prioritized=*/true)) {}

PriorityQueue::~PriorityQueue() = default;

absl::Status PriorityQueue::Put(std::string_view data, int32_t priority) {
  return state_->Put(data, priority);
}

absl::StatusOr<std::string> PriorityQueue::Take(absl::Duration timeout) {
  return state_->Take(timeout);
}

}  // namespace synod::recipes
