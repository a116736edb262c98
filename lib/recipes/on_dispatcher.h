// RunOnDispatcher: how a recipe gets onto the Coordinator's dispatcher
// thread (where watchers and callbacks run) through the public API alone:
// an asynchronous local read whose callback runs `task`. Recipes that keep
// all their decisions on that one thread need no other ordering.

#ifndef SYNOD_RECIPES_ON_DISPATCHER_H_
#define SYNOD_RECIPES_ON_DISPATCHER_H_

#include <functional>
#include <optional>
#include <utility>

#include "synod/coordinator.h"

namespace synod::recipes::internal {

// Runs `task` on `coordinator`'s dispatcher thread, after whatever that
// thread runs now. `task` runs once, also if the Coordinator is shutting
// down (its read then fails; the callback still runs).
inline void RunOnDispatcher(Coordinator& coordinator,
                            std::function<void()> task) {
  coordinator.ExistsAsync(
      "/", nullptr,
      [task = std::move(task)](absl::StatusOr<std::optional<Stat>>) {
        task();
      });
}

}  // namespace synod::recipes::internal

#endif  // SYNOD_RECIPES_ON_DISPATCHER_H_
