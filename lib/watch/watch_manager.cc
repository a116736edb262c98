// WatchManager: ZooKeeper 3.6+'s watch firing rules over a path-keyed table.

#include "watch/watch_manager.h"

#include <algorithm>
#include <utility>

#include "tree/path.h"
#include "util/strings.h"

namespace synod {
namespace {

// Appends one delivery of `type` on `path` per registration of `list`.
template <typename List>
void Emit(const List& list, std::string_view path, EventType type,
          std::vector<Delivery>* out) {
  for (const auto& reg : list) {
    out->push_back(Delivery{
        reg.watcher,
        WatchEvent{type, SessionState::kConnected, std::string(path)}});
  }
}

// Moves `owner`'s registrations (only those of WatchHandle `handle`, unless
// it is 0) out of `list`, keeping the others in order; appends a delivery
// of `type` on `path` for each to `out` unless it is null, and counts the
// taken registrations of any WatchHandle down from `*identified`. Returns
// how many were taken.
template <typename List>
int64_t TakeOwned(List& list, int64_t owner, int64_t handle,
                  std::string_view path, EventType type,
                  std::vector<Delivery>* out, int64_t* identified) {
  auto keep = list.begin();
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->owner == owner && (handle == 0 || it->handle == handle)) {
      if (it->handle != 0) --*identified;
      if (out != nullptr) {
        out->push_back(Delivery{
            std::move(it->watcher),
            WatchEvent{type, SessionState::kConnected, std::string(path)}});
      }
    } else {
      if (keep != it) *keep = std::move(*it);
      ++keep;
    }
  }
  const auto n = static_cast<int64_t>(list.end() - keep);
  list.erase(keep, list.end());
  return n;
}

}  // namespace

bool WatchManager::AddLocked(std::string_view path,
                             Registrations PathWatches::*kind,
                             std::shared_ptr<const Watcher> watcher,
                             int64_t owner) {
  const int64_t handle = WatchHandleId(*watcher);
  Registrations& list = watches_[AV(path)].*kind;
  if (handle != 0) {
    // A WatchHandle is registered once per path and kind, as a watcher in
    // ZooKeeper's per-path sets.
    for (const Registration& reg : list) {
      if (reg.handle == handle && reg.owner == owner) return false;
    }
    ++identified_count_;
  }
  list.push_back(Registration{std::move(watcher), owner, handle});
  if (owner != kLocalOwner) ++owners_[owner][AV(path)];
  ++size_;
  return true;
}

void WatchManager::Forget(const Registration& reg) {
  if (reg.handle != 0) --identified_count_;
}

void WatchManager::DedupHandles(std::vector<Delivery>* out, size_t from) {
  std::vector<int64_t> seen;
  auto keep = out->begin() + static_cast<std::ptrdiff_t>(from);
  for (auto it = keep; it != out->end(); ++it) {
    const int64_t handle = WatchHandleId(*it->watcher);
    if (handle != 0) {
      if (std::find(seen.begin(), seen.end(), handle) != seen.end()) continue;
      seen.push_back(handle);
    }
    if (keep != it) *keep = std::move(*it);
    ++keep;
  }
  out->erase(keep, out->end());
}

void WatchManager::AddDataWatch(std::string_view path, Watcher watcher,
                                int64_t owner) {
  auto ptr = std::make_shared<const Watcher>(std::move(watcher));
  WriterLock lock(&mu_);
  AddLocked(path, &PathWatches::data, std::move(ptr), owner);
}

void WatchManager::AddChildWatch(std::string_view path, Watcher watcher,
                                 int64_t owner) {
  auto ptr = std::make_shared<const Watcher>(std::move(watcher));
  WriterLock lock(&mu_);
  AddLocked(path, &PathWatches::child, std::move(ptr), owner);
}

void WatchManager::AddPersistentWatch(std::string_view path, WatchMode mode,
                                      Watcher watcher, int64_t owner) {
  auto ptr = std::make_shared<const Watcher>(std::move(watcher));
  WriterLock lock(&mu_);
  if (mode == WatchMode::kPersistentRecursive) {
    if (AddLocked(path, &PathWatches::recursive, std::move(ptr), owner)) {
      ++recursive_count_;
    }
  } else {
    AddLocked(path, &PathWatches::persistent, std::move(ptr), owner);
  }
}

void WatchManager::Unindex(int64_t owner, std::string_view path, int64_t n) {
  auto o = owners_.find(owner);
  if (o == owners_.end()) return;  // not indexed (cannot happen)
  OwnerPaths& paths = o->second;
  auto p = paths.find(AV(path));
  if (p == paths.end()) return;
  p->second -= n;
  if (p->second > 0) return;
  paths.erase(p);
  if (paths.empty()) owners_.erase(o);
}

int64_t WatchManager::EmitAndClear(Registrations& list, std::string_view path,
                                   EventType type, std::vector<Delivery>* out) {
  for (Registration& reg : list) {
    // Local watches (the common case) skip the owner index entirely.
    if (reg.owner != kLocalOwner) Unindex(reg.owner, path, 1);
    Forget(reg);
    out->push_back(Delivery{
        std::move(reg.watcher),
        WatchEvent{type, SessionState::kConnected, std::string(path)}});
  }
  const auto n = static_cast<int64_t>(list.size());
  list.clear();
  return n;
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
  const size_t from = out->size();
  // One event calls a WatchHandle once, however many kinds it is in.
  struct Dedup {
    std::vector<Delivery>* out;
    size_t from;
    bool any;
    ~Dedup() {
      if (any && out->size() - from > 1) DedupHandles(out, from);
    }
  } dedup{out, from, identified_count_ > 0};
  if (auto it = watches_.find(AV(path)); it != watches_.end()) {
    PathWatches& watches = it->second;
    if (data && !watches.data.empty()) {
      size_ -= EmitAndClear(watches.data, path, type, out);
    }
    if (child && !watches.child.empty()) {
      size_ -= EmitAndClear(watches.child, path, type, out);
    }
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
                         int64_t owner, int64_t handle,
                         std::vector<Delivery>* out) {
  const bool any = type == WatcherType::kAny;
  WriterLock lock(&mu_);
  auto it = watches_.find(AV(path));
  if (it == watches_.end()) return 0;
  PathWatches& watches = it->second;
  int64_t removed = 0;
  if (any || type == WatcherType::kData) {
    removed += TakeOwned(watches.data, owner, handle, path,
                         EventType::kDataWatchRemoved, out, &identified_count_);
  }
  if (any || type == WatcherType::kChildren) {
    removed += TakeOwned(watches.child, owner, handle, path,
                         EventType::kChildWatchRemoved, out, &identified_count_);
  }
  if (any || type == WatcherType::kPersistent) {
    removed += TakeOwned(watches.persistent, owner, handle, path,
                         EventType::kPersistentWatchRemoved, out, &identified_count_);
  }
  if (any || type == WatcherType::kPersistentRecursive) {
    const int64_t n = TakeOwned(watches.recursive, owner, handle, path,
                                EventType::kPersistentWatchRemoved, out, &identified_count_);
    recursive_count_ -= n;
    removed += n;
  }
  size_ -= removed;
  if (removed > 0 && owner != kLocalOwner) Unindex(owner, path, removed);
  if (watches.empty()) watches_.erase(it);
  return static_cast<int>(removed);
}

int64_t WatchManager::DropOwned(PathWatches& watches, int64_t owner) {
  constexpr EventType kUnused = EventType::kSession;  // nothing is emitted
  int64_t removed = 0;
  removed += TakeOwned(watches.data, owner, 0, {}, kUnused, nullptr,
                         &identified_count_);
  removed += TakeOwned(watches.child, owner, 0, {}, kUnused, nullptr,
                         &identified_count_);
  removed += TakeOwned(watches.persistent, owner, 0, {}, kUnused, nullptr,
                         &identified_count_);
  const int64_t recursive =
      TakeOwned(watches.recursive, owner, 0, {}, kUnused, nullptr,
                         &identified_count_);
  recursive_count_ -= recursive;
  removed += recursive;
  size_ -= removed;
  return removed;
}

int64_t WatchManager::RemoveOwner(int64_t owner) {
  WriterLock lock(&mu_);
  int64_t removed = 0;
  if (owner != kLocalOwner) {
    auto o = owners_.find(owner);
    if (o == owners_.end()) return 0;  // the common case: it has none
    for (const auto& entry : o->second) {
      auto it = watches_.find(entry.first);
      if (it == watches_.end()) continue;  // cannot happen: the index is exact
      removed += DropOwned(it->second, owner);
      if (it->second.empty()) watches_.erase(it);
    }
    owners_.erase(o);
    return removed;
  }
  // Local watches are not indexed: every path is looked at.
  if (size_ == 0) return 0;
  for (auto it = watches_.begin(); it != watches_.end();) {
    removed += DropOwned(it->second, owner);
    if (it->second.empty()) {
      watches_.erase(it++);
    } else {
      ++it;
    }
  }
  return removed;
}

void WatchManager::Clear() {
  WriterLock lock(&mu_);
  watches_.clear();
  owners_.clear();
  size_ = 0;
  identified_count_ = 0;
  recursive_count_ = 0;
}

int64_t WatchManager::size() const {
  ReaderLock lock(&mu_);
  return size_;
}

}  // namespace synod
