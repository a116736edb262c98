// WatchManager: ZooKeeper 3.6+'s watch firing rules over a path-keyed table.

#include "watch/watch_manager.h"

#include <algorithm>
#include <utility>

#include "acl/acl.h"
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
// taken registrations of a WatchHandle down from `counts[0]` and the
// dormant ones from `counts[1]`. Returns how many were taken.
template <typename List>
int64_t TakeOwned(List& list, int64_t owner, int64_t handle,
                  std::string_view path, EventType type,
                  std::vector<Delivery>* out, int64_t* counts) {
  auto keep = list.begin();
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->owner == owner && (handle == 0 || it->handle == handle)) {
      if (it->handle != 0) --counts[0];
      if (it->dormant) --counts[1];
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
    for (Registration& reg : list) {
      if (reg.handle == handle && reg.owner == owner) {
        // Registered again: armed again (a ZooKeeper read re-arms the
        // server's watch of a watcher its client still holds).
        if (reg.dormant) {
          reg.dormant = false;
          --counts_[1];
        }
        return false;
      }
    }
    ++counts_[0];
  }
  list.push_back(Registration{std::move(watcher), owner, handle});
  if (owner != kLocalOwner) ++owners_[owner][AV(path)];
  ++size_;
  return true;
}

void WatchManager::Forget(const Registration& reg) {
  if (reg.handle != 0) --counts_[0];
  if (reg.dormant) --counts_[1];
}

// True if `acl` lets anyone read (no identity to look at).
static bool WorldReadable(const AclList& acl) {
  for (const Acl& a : acl) {
    if ((a.perms & perms::kRead) && a.scheme == "world") return true;
  }
  return false;
}

bool WatchManager::MayRead(int64_t owner, const AclList* acl) const {
  if (acl == nullptr || WorldReadable(*acl)) return true;
  auto it = auth_.find(owner);
  if (it == auth_.end()) return true;  // an owner not filtered
  return Permits(*acl, perms::kRead, *it->second);
}

bool WatchManager::OwnerMayRead(int64_t owner, const AclList* acl) const {
  ReaderLock lock(&mu_);
  return MayRead(owner, acl);
}

bool WatchManager::Has(std::string_view path, WatcherType type,
                       int64_t owner) const {
  const bool any = type == WatcherType::kAny;
  auto armed = [owner](const Registrations& list) {
    return std::any_of(list.begin(), list.end(), [owner](const auto& r) {
      return r.owner == owner && !r.dormant;
    });
  };
  ReaderLock lock(&mu_);
  auto it = watches_.find(AV(path));
  if (it == watches_.end()) return false;
  const PathWatches& w = it->second;
  return ((any || type == WatcherType::kData) && armed(w.data)) ||
         ((any || type == WatcherType::kChildren) && armed(w.child)) ||
         ((any || type == WatcherType::kPersistent) && armed(w.persistent)) ||
         ((any || type == WatcherType::kPersistentRecursive) &&
          armed(w.recursive));
}

void WatchManager::SetOwnerAuth(int64_t owner,
                                std::shared_ptr<const AuthInfo> auth) {
  WriterLock lock(&mu_);
  if (auth == nullptr) {
    auth_.erase(owner);
  } else {
    auth_[owner] = std::move(auth);
  }
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
  Trigger(path, type, nullptr, out);
}

void WatchManager::Trigger(std::string_view path, EventType type,
                           const AclList* acl, std::vector<Delivery>* out) {
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
  } dedup{out, from, counts_[0] > 0};
  if (counts_[1] > 0 ||
      (acl != nullptr && !auth_.empty() && !WorldReadable(*acl))) {
    TriggerFiltered(path, type, acl, out);
    return;
  }
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

void WatchManager::TriggerFiltered(std::string_view path, EventType type,
                                   const AclList* acl,
                                   std::vector<Delivery>* out) {
  const bool data = type != EventType::kChildrenChanged;
  const bool child =
      type == EventType::kDeleted || type == EventType::kChildrenChanged;
  const bool recursive = type != EventType::kChildrenChanged;
  // The owners the event is sent to, as a ZooKeeper server sends it to a
  // session: those with an armed (not dormant) one-shot watch of a kind the
  // event fires, or a persistent watch on the path, or a recursive one on
  // it or above; each with whether it may READ the node.
  std::vector<std::pair<int64_t, bool>> owners;
  auto note = [&](int64_t owner) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& o : owners) {
      if (o.first == owner) return;
    }
    owners.emplace_back(owner, MayRead(owner, acl));
  };
  auto sent = [&](int64_t owner) -> const std::pair<int64_t, bool>* {
    for (const auto& o : owners) {
      if (o.first == owner) return &o;
    }
    return nullptr;
  };
  auto it = watches_.find(AV(path));
  PathWatches* here = it == watches_.end() ? nullptr : &it->second;
  if (here != nullptr) {
    if (data) {
      for (const Registration& r : here->data) {
        if (!r.dormant) note(r.owner);
      }
    }
    if (child) {
      for (const Registration& r : here->child) {
        if (!r.dormant) note(r.owner);
      }
    }
    for (const Registration& r : here->persistent) note(r.owner);
    if (recursive) {
      for (const Registration& r : here->recursive) note(r.owner);
    }
  }
  if (recursive && recursive_count_ > 0) {
    for (std::string_view p = ParentOf(path); !p.empty(); p = ParentOf(p)) {
      if (auto a = watches_.find(AV(p)); a != watches_.end()) {
        for (const Registration& r : a->second.recursive) note(r.owner);
      }
    }
  }
  auto emit = [&](const Registration& r) {
    out->push_back(Delivery{
        r.watcher, WatchEvent{type, SessionState::kConnected, std::string(path)}});
  };
  // One-shot watches: an owner sent the event and allowed to read hears
  // every one it has of the kinds fired, dormant ones too (its client
  // holds them all), and they are gone; one not allowed hears nothing,
  // and its watches stay, dormant: the server consumed its registration,
  // so only a later event sent for another watch of that owner wakes them.
  auto fire = [&](Registrations& list) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto keep = list.begin();
    for (auto r = list.begin(); r != list.end(); ++r) {
      const auto* o = sent(r->owner);
      if (o != nullptr && o->second) {
        emit(*r);
        if (r->owner != kLocalOwner) Unindex(r->owner, path, 1);
        Forget(*r);
        --size_;
        continue;
      }
      if (o != nullptr && !r->dormant) {
        r->dormant = true;
        ++counts_[1];
      }
      if (keep != r) *keep = std::move(*r);
      ++keep;
    }
    list.erase(keep, list.end());
  };
  auto fire_persistent = [&](const Registrations& list) {
    for (const Registration& r : list) {
      const auto* o = sent(r.owner);
      if (o != nullptr && o->second) emit(r);
    }
  };
  if (here != nullptr) {
    if (data) fire(here->data);
    if (child) fire(here->child);
    fire_persistent(here->persistent);
    if (recursive) fire_persistent(here->recursive);
    if (here->empty()) watches_.erase(it);
  }
  if (!recursive || recursive_count_ == 0) return;
  for (std::string_view p = ParentOf(path); !p.empty(); p = ParentOf(p)) {
    if (auto a = watches_.find(AV(p)); a != watches_.end()) {
      fire_persistent(a->second.recursive);
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
                         EventType::kDataWatchRemoved, out, counts_);
  }
  if (any || type == WatcherType::kChildren) {
    removed += TakeOwned(watches.child, owner, handle, path,
                         EventType::kChildWatchRemoved, out, counts_);
  }
  if (any || type == WatcherType::kPersistent) {
    removed += TakeOwned(watches.persistent, owner, handle, path,
                         EventType::kPersistentWatchRemoved, out, counts_);
  }
  if (any || type == WatcherType::kPersistentRecursive) {
    const int64_t n = TakeOwned(watches.recursive, owner, handle, path,
                                EventType::kPersistentWatchRemoved, out, counts_);
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
                         counts_);
  removed += TakeOwned(watches.child, owner, 0, {}, kUnused, nullptr,
                         counts_);
  removed += TakeOwned(watches.persistent, owner, 0, {}, kUnused, nullptr,
                         counts_);
  const int64_t recursive =
      TakeOwned(watches.recursive, owner, 0, {}, kUnused, nullptr,
                         counts_);
  recursive_count_ -= recursive;
  removed += recursive;
  size_ -= removed;
  return removed;
}

int64_t WatchManager::RemoveOwner(int64_t owner) {
  WriterLock lock(&mu_);
  int64_t removed = 0;
  if (owner != kLocalOwner) auth_.erase(owner);
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
  counts_[0] = counts_[1] = 0;
  recursive_count_ = 0;
}

int64_t WatchManager::size() const {
  ReaderLock lock(&mu_);
  return size_;
}

WatchManager::Summary WatchManager::Summarize() const {
  ReaderLock lock(&mu_);
  return {static_cast<int64_t>(watches_.size()),
          static_cast<int64_t>(owners_.size())};
}

}  // namespace synod
