// WatchHandle: a watcher's identity, from one process-wide counter.

#include <atomic>
#include <utility>

#include "synod/watch.h"

namespace synod {

WatchHandle::WatchHandle(Watcher watcher)
    : id_([] {
        static std::atomic<int64_t> next{0};
        return next.fetch_add(1, std::memory_order_relaxed) + 1;
      }()),
      watcher_(std::make_shared<const Watcher>(std::move(watcher))) {}

int64_t WatchHandleId(const Watcher& watcher) {
  const WatchHandle* handle = watcher.target<WatchHandle>();
  return handle == nullptr ? 0 : handle->id();
}

}  // namespace synod
