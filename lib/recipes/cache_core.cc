#include "recipes/cache_core.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "recipes/on_dispatcher.h"

namespace synod::recipes::internal {

absl::Status CacheCore::Start(WatchMode mode, Watcher on_event,
                              std::function<void()> reload,
                              absl::Duration timeout) {
  {
    MutexLock lock(&mu);
    if (started_) {
      return absl::FailedPreconditionError(
          absl::StrCat("the cache of ", path, " is started already"));
    }
    started_ = true;
  }
  // The watch first: a change after it is an event, one before it is in
  // the first load.
  WatchHandle watch(std::move(on_event));
  if (absl::Status watched = coordinator.AddWatch(path, mode, watch);
      !watched.ok()) {
    MutexLock lock(&mu);
    started_ = false;
    return watched;
  }
  const int64_t handle =
      coordinator.AddSessionListener([reload](const WatchEvent& e) {
        if (e.state == SessionState::kConnected) reload();
      });
  {
    MutexLock lock(&mu);
    session_listener_ = handle;
    watch_.emplace(std::move(watch));
    watch_type_ = mode == WatchMode::kPersistentRecursive
                      ? WatcherType::kPersistentRecursive
                      : WatcherType::kPersistent;
  }
  // The first load on the dispatcher, ordered with the events.
  RunOnDispatcher(coordinator, reload);
  MutexLock lock(&mu);
  if (!mu.AwaitWithTimeout(
          [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
            return load_told_ || !load_error.ok();
          },
          timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("the cache of ", path, " did not load in ",
                     absl::FormatDuration(timeout)));
  }
  // Unreadable (e.g. NoAuth): said now; the view loads once it can be read.
  return load_told_ ? absl::OkStatus() : load_error;
}

void CacheCore::Close() {
  int64_t handle;
  std::optional<WatchHandle> watch;
  WatcherType type;
  {
    MutexLock lock(&mu);
    closed_ = true;
    handle = std::exchange(session_listener_, 0);
    watch = std::exchange(watch_, std::nullopt);
    type = watch_type_;
    const std::thread::id me = std::this_thread::get_id();
    mu.Await([this, me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return running_ == 0 || runner_ == me;
    });
  }
  if (handle != 0) coordinator.RemoveSessionListener(handle);
  // Only this cache's watch, whatever the session's state. Its removal
  // event finds the cache closed and does nothing.
  if (watch) {
    coordinator.RemoveWatch(path, *watch, type, /*local=*/true).IgnoreError();
  }
}

bool CacheCore::Enter() {
  MutexLock lock(&mu);
  if (closed_) return false;
  ++running_;
  runner_ = std::this_thread::get_id();
  return true;
}

void CacheCore::Leave() {
  MutexLock lock(&mu);
  --running_;
  if (loaded) load_told_ = true;
}

}  // namespace synod::recipes::internal
