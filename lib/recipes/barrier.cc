// Barrier (synod/recipes/barrier.h): closed while its persistent node
// exists; waiters watch the node.

#include "synod/recipes/barrier.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "recipes/waits.h"

namespace synod::recipes {
namespace {

// How long Set and Remove retry a lost connection.
constexpr absl::Duration kWriteTimeout = absl::Seconds(30);

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

struct Barrier::State {
  State(Coordinator& c, std::string p) : coordinator(c), path(std::move(p)) {}

  Coordinator& coordinator;
  const std::string path;
};

Barrier::Barrier(Coordinator& coordinator, std::string path)
    : state_(std::make_unique<State>(coordinator, std::move(path))) {}

Barrier::~Barrier() = default;

absl::Status Barrier::Set() {
  State& s = *state_;
  const absl::Time deadline = absl::Now() + kWriteTimeout;
  const std::string parent = ParentOf(s.path);
  while (true) {
    // Every attempt is safe to repeat: a create that applied unseen is
    // found as NodeExists by the next.
    const absl::Status created =
        s.coordinator.Create(s.path, "", CreateMode::kPersistent).status();
    if (created.ok() || ErrorOf(created) == Error::kNodeExists) {
      return absl::OkStatus();
    }
    if (ErrorOf(created) == Error::kNoNode && !parent.empty()) {
      absl::Status parents =
          internal::EnsureParents(s.coordinator, parent, deadline);
      if (!parents.ok()) return parents;
    } else if (!internal::Retryable(created)) {
      return created;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the barrier ", s.path, " could not be set in time: ",
                       created.message()));
    }
    if (internal::Retryable(created)) internal::Pause(s.coordinator, deadline);
  }
}

absl::Status Barrier::Remove() {
  return internal::DeleteContender(state_->coordinator, state_->path,
                                   absl::Now() + kWriteTimeout);
}

absl::Status Barrier::Wait(absl::Duration timeout) {
  State& s = *state_;
  const absl::Time deadline = absl::Now() + timeout;
  auto late = [&s] {
    return absl::DeadlineExceededError(
        absl::StrCat("the barrier ", s.path, " stayed set"));
  };
  // Catch up with the leader first: a Set or Remove that completed before
  // this call is then in the local replica.
  while (true) {
    const absl::Status synced = s.coordinator.Sync(s.path);
    if (synced.ok()) break;
    if (!internal::Retryable(synced)) return synced;
    if (absl::Now() >= deadline) return late();
    internal::Pause(s.coordinator, deadline);
  }
  // One watch at a time: a new one only after the last one fired.
  while (true) {  // each round waits for an event, until the deadline
    auto changed = std::make_shared<internal::Signal>();
    absl::StatusOr<std::optional<Stat>> exists =
        s.coordinator.Exists(s.path, internal::Notifier(changed));
    if (!exists.ok()) return exists.status();
    if (!exists->has_value()) return absl::OkStatus();
    if (!changed->WaitUntil(deadline)) return late();
    // Created again, data changed or deleted: look again.
  }
}

bool Barrier::IsSet() const {
  absl::StatusOr<std::optional<Stat>> exists =
      state_->coordinator.Exists(state_->path);
  return exists.ok() && exists->has_value();
}

}  // namespace synod::recipes
