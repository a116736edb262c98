// Waits the recipes share: a Signal that a watcher sets, and a pause
// between retries of a lost connection.

#ifndef SYNOD_RECIPES_WAITS_H_
#define SYNOD_RECIPES_WAITS_H_

#include <algorithm>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"
#include "synod/watch.h"
#include "util/mutex.h"

namespace synod::recipes::internal {

// Set once by a watcher on the dispatcher thread, waited for by the thread
// that registered the watch (synod's Mutex, not absl::Notification, so
// that ThreadSanitizer sees it).
class Signal {
 public:
  // Sets the signal; waiters return.
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
  // True once notified.
  bool IsSet() {
    MutexLock lock(&mu_);
    return set_;
  }

 private:
  Mutex mu_;
  bool set_ ABSL_GUARDED_BY(mu_) = false;
};

// Returns a watcher that notifies `signal` (held shared, so the watcher may
// fire after its registrant gave up waiting).
inline Watcher Notifier(const std::shared_ptr<Signal>& signal) {
  return [signal](const WatchEvent&) { signal->Notify(); };
}

// Waits (up to `deadline`, at most about a second) for a session with a
// serving leader, then a moment more, so that a retry loop never spins.
inline void Pause(Coordinator& coordinator, absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return;
  coordinator.WaitConnected(std::min(left, absl::Seconds(1))).IgnoreError();
  absl::SleepFor(std::min(left, absl::Milliseconds(20)));
}

}  // namespace synod::recipes::internal

#endif  // SYNOD_RECIPES_WAITS_H_
