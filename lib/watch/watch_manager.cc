// WatchManager: ZooKeeper 3.6+'s watch firing rules over a path-keyed table.

#include "watch/watch_manager.h"

#include <utility>

#include "tree/path.h"
#include "util/strings.h"

namespace synod {
namespace {

using WatcherList = std::vector<std::shared_ptr<const Watcher>>;

// Appends one delivery of `type` on `path` per watcher of `list`.
void Emit(const WatcherList& list, std::string_view path, EventType type,
          std::vector<Delivery>* out) {
  for (const auto& watcher : list) {
    out->push_back(Delivery{watcher, WatchEvent{type, SessionState::kConnected,
                                                std::string(path)}});
  }
}

// As Emit, then empties `list`; returns how many were emitted.
int64_t EmitAndClear(WatcherList& list, std::string_view path, EventType type,
                     std::vector<Delivery>* out) {
  for (auto& watcher : list) {
    out->push_back(Delivery{
        std::move(watcher),
        WatchEvent{type, SessionState::kConnected, std::string(path)}});
  }
  const auto n = static_cast<int64_t>(list.size());
  list.clear();
  return n;
}

}  // namespace

void WatchManager::AddDataWatch(std::string_view path, Watcher watcher) {
  auto ptr = std::make_shared<const Watcher>(std::move(watcher));
  WriterLock lock(&mu_);
  watches_[AV(path)].data.push_back(std::move(ptr));
  ++size_;
}

void WatchManager::AddChildWatch(std::string_view path, Watcher watcher) {
  auto ptr = std::make_shared<const Watcher>(std::move(watcher));
  WriterLock lock(&mu_);
  watches_[AV(path)].child.push_back(std::move(ptr));
  ++size_;
}

void WatchManager::AddPersistentWatch(std::string_view path, WatchMode mode,
                                      Watcher watcher) {
  auto ptr = std::make_shared<const Watcher>(std::move(watcher));
  WriterLock lock(&mu_);
  PathWatches& watches = watches_[AV(path)];
  if (mode == WatchMode::kPersistentRecursive) {
    watches.recursive.push_back(std::move(ptr));
    ++recursive_count_;
  } else {
    watches.persistent.push_back(std::move(ptr));
  }
  ++size_;
}

void WatchManager::Trigger(std::string_view path, EventType type,
                           std::vector<Delivery>* out) {
  const bool data = type != EventType::kChildrenChanged;
  const bool child =
      type == EventType::kDeleted || type == EventType::kChildrenChanged;
  // ChildrenChanged never reaches recursive watches, on the path or above.
  const bool recursive = type != EventType::kChildrenChanged;

  WriterLock lock(&mu_);
  if (watches_.empty()) return;  // the common case: nothing to look up
  if (auto it = watches_.find(AV(path)); it != watches_.end()) {
    PathWatches& watches = it->second;
    if (data) size_ -= EmitAndClear(watches.data, path, type, out);
    if (child) size_ -= EmitAndClear(watches.child, path, type, out);
    Emit(watches.persistent, path, type, out);
    if (recursive) Emit(watches.recursive, path, type, out);
    if (watches.empty()) watches_.erase(it);
  }
  if (!recursive || recursive_count_ == 0) return;
  for (std::string_view p = ParentOf(path); !p.empty(); p = ParentOf(p)) {
    if (auto it = watches_.find(AV(p)); it != watches_.end()) {
      Emit(it->second.recursive, path, type, out);
    }
  }
}

int WatchManager::Remove(std::string_view path, WatcherType type,
                         std::vector<Delivery>* out) {
  const bool any = type == WatcherType::kAny;
  WriterLock lock(&mu_);
  auto it = watches_.find(AV(path));
  if (it == watches_.end()) return 0;
  PathWatches& watches = it->second;
  int64_t removed = 0;
  if (any || type == WatcherType::kData) {
    removed +=
        EmitAndClear(watches.data, path, EventType::kDataWatchRemoved, out);
  }
  if (any || type == WatcherType::kChildren) {
    removed +=
        EmitAndClear(watches.child, path, EventType::kChildWatchRemoved, out);
  }
  if (any || type == WatcherType::kPersistent) {
    removed += EmitAndClear(watches.persistent, path,
                            EventType::kPersistentWatchRemoved, out);
  }
  if (any || type == WatcherType::kPersistentRecursive) {
    const int64_t n = EmitAndClear(watches.recursive, path,
                                   EventType::kPersistentWatchRemoved, out);
    recursive_count_ -= n;
    removed += n;
  }
  size_ -= removed;
  if (watches.empty()) watches_.erase(it);
  return static_cast<int>(removed);
}

void WatchManager::Clear() {
  WriterLock lock(&mu_);
  watches_.clear();
  size_ = 0;
  recursive_count_ = 0;
}

int64_t WatchManager::size() const {
  ReaderLock lock(&mu_);
  return size_;
}

}  // namespace synod
