// CacheCore: what NodeCache and TreeCache share. A cache keeps every change
// of its view on the Coordinator's dispatcher thread (its watch's events,
// its loads after each Connected); CacheCore starts that (the watch, the
// session listener, the first load, and the wait for it) and ends it (no
// task starts after Close, which waits for one under way unless called
// from it). The caches add their view, guarded by `mu`.

#ifndef SYNOD_RECIPES_CACHE_CORE_H_
#define SYNOD_RECIPES_CACHE_CORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"
#include "util/mutex.h"

namespace synod::recipes::internal {

class CacheCore {
 public:
  CacheCore(Coordinator& coordinator, std::string path)
      : coordinator(coordinator), path(std::move(path)) {}

  // Registers the watch (`mode` on `path`, each event to `on_event`), a
  // session listener that calls `reload` on every Connected, and `reload`
  // on the dispatcher; returns once the task that marked the view loaded
  // has ended, its listener calls made (OK), the error that task recorded, DeadlineExceeded after `timeout`, or
  // FailedPrecondition if started already. The callbacks run on the
  // dispatcher; they must hold only a weak reference to their cache.
  absl::Status Start(WatchMode mode, Watcher on_event,
                     std::function<void()> reload, absl::Duration timeout);

  // Ends the cache: no task starts after it returns, and it waits for one
  // under way (unless called from it). Its watch is removed (that one
  // registration: other code's watches on the path stay), locally, so even
  // while disconnected.
  void Close();

  // A dispatcher task begins: false if the cache is closed (then skip it).
  bool Enter();
  // The task ends (call after telling the listener, without `mu`).
  void Leave();

  Coordinator& coordinator;
  const std::string path;

  mutable Mutex mu;
  // The first load is done, or why it failed (Start returns that).
  bool loaded ABSL_GUARDED_BY(mu) = false;
  absl::Status load_error ABSL_GUARDED_BY(mu);

 private:
  bool started_ ABSL_GUARDED_BY(mu) = false;
  bool closed_ ABSL_GUARDED_BY(mu) = false;
  // A task ended with the view loaded: the first load's listener calls
  // are made (tasks run one at a time on the dispatcher).
  bool load_told_ ABSL_GUARDED_BY(mu) = false;
  int64_t session_listener_ ABSL_GUARDED_BY(mu) = 0;
  // The cache's watch, once registered, and its kind.
  std::optional<WatchHandle> watch_ ABSL_GUARDED_BY(mu);
  WatcherType watch_type_ ABSL_GUARDED_BY(mu) = WatcherType::kPersistent;
  int running_ ABSL_GUARDED_BY(mu) = 0;
  std::thread::id runner_ ABSL_GUARDED_BY(mu);
};

}  // namespace synod::recipes::internal

#endif  // SYNOD_RECIPES_CACHE_CORE_H_
