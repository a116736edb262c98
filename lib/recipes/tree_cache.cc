// TreeCache (synod/recipes/tree_cache.h): one persistent recursive watch on
// the root; after each event the node named is read and the view brought
// to it; after each (re)connection the whole subtree is read and compared.
// Every change of the view happens on the dispatcher thread, so events and
// walks are ordered without further locking; the mutex only guards the
// view against readers on other threads.

#include "synod/recipes/tree_cache.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "recipes/cache_core.h"
#include "util/errors.h"

namespace synod::recipes {
namespace {

using Type = TreeCacheEvent::Type;
using View = std::map<std::string, Node>;

// The prefix of every path below `path`.
std::string Below(std::string_view path) {
  std::string below(path);
  if (below != "/") below += '/';
  return below;
}

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

// The first entry of `view` after `path`'s descendants.
View::iterator EndOfSubtree(View& view, const std::string& path) {
  const std::string below = Below(path);
  auto it = view.lower_bound(below);
  while (it != view.end() && absl::StartsWith(it->first, below)) ++it;
  return it;
}

}  // namespace

struct TreeCache::State : std::enable_shared_from_this<State>,
                          internal::CacheCore {
  State(Coordinator& c, std::string r, Listener l)
      : CacheCore(c, r), root(std::move(r)), listener(std::move(l)) {}

  // True for the root and the paths below it.
  bool InSubtree(const std::string& p) const {
    return p == root || absl::StartsWith(p, Below(root));
  }
  // Reads `path` (and its parent's Stat) and brings the view to them.
  // Dispatcher thread only.
  void Reconcile(const std::string& path);
  // Reads the whole subtree and brings the view to it. Dispatcher only.
  void Resync();
  // Removes `path` and its descendants from the view, children first.
  void RemoveSubtree(const std::string& path,
                     std::vector<TreeCacheEvent>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Tells the listener `events` (no lock held) and ends the task.
  void Tell(const std::vector<TreeCacheEvent>& events) {
    if (listener) {
      for (const TreeCacheEvent& e : events) listener(e);
    }
    Leave();
  }

  const std::string root;
  const Listener listener;
  View view ABSL_GUARDED_BY(mu);
};

void TreeCache::State::RemoveSubtree(const std::string& path,
                                     std::vector<TreeCacheEvent>* out) {
  auto self = view.find(path);
  if (self == view.end()) return;
  auto end = EndOfSubtree(view, path);
  // Descendants in reverse order: every child before its parent.
  for (auto it = end; it != std::next(self);) {
    --it;
    out->push_back(TreeCacheEvent{Type::kRemoved, it->first, it->second});
  }
  out->push_back(TreeCacheEvent{Type::kRemoved, self->first, self->second});
  view.erase(self, end);
}

void TreeCache::State::Reconcile(const std::string& path) {
  if (!InSubtree(path) || !Enter()) return;
  absl::StatusOr<Node> read = coordinator.Get(path);
  const bool gone = !read.ok() && ErrorOf(read.status()) == Error::kNoNode;
  std::optional<Node> parent;
  if (path != root && (read.ok() || gone)) {
    absl::StatusOr<Node> p = coordinator.Get(ParentOf(path));
    if (p.ok()) parent = std::move(*p);
  }
  std::vector<TreeCacheEvent> events;
  {
    MutexLock lock(&mu);
    if (loaded) {
      if (gone) {
        RemoveSubtree(path, &events);
      } else if (read.ok()) {
        auto it = view.find(path);
        if (it != view.end() && it->second.stat.czxid != read->stat.czxid) {
          RemoveSubtree(path, &events);  // deleted and created again
          it = view.end();
        }
        if (it == view.end()) {
          it = view.emplace(path, *read).first;
          events.push_back(TreeCacheEvent{Type::kAdded, path, *read});
        } else if (it->second.stat.mzxid != read->stat.mzxid) {
          it->second = *read;
          events.push_back(TreeCacheEvent{Type::kUpdated, path, *read});
        } else {
          it->second = std::move(*read);  // the Stat of a child change
        }
      }
      // A child came or went: the parent's Stat changed with it.
      if (parent) {
        auto p = view.find(ParentOf(path));
        if (p != view.end() && p->second.stat.czxid == parent->stat.czxid) {
          // Only what a child changes: a change of the parent's own data
          // is the parent's event, told when it comes.
          Stat& stat = p->second.stat;
          stat.cversion = parent->stat.cversion;
          stat.num_children = parent->stat.num_children;
          stat.pzxid = parent->stat.pzxid;
        }
      }
    }
  }
  Tell(events);
}

void TreeCache::State::Resync() {
  if (!Enter()) return;
  // The subtree as the replica holds it now (reads are local).
  View fresh;
  std::vector<std::string> stack{root};
  while (!stack.empty()) {
    const std::string path = std::move(stack.back());
    stack.pop_back();
    absl::StatusOr<Node> node = coordinator.Get(path);
    if (!node.ok()) continue;  // gone meanwhile, or unreadable: not in view
    absl::StatusOr<std::vector<std::string>> children =
        coordinator.GetChildren(path);
    fresh.emplace(path, std::move(*node));
    if (!children.ok()) continue;
    for (const std::string& child : *children) {
      stack.push_back(Below(path) + child);
    }
  }
  std::vector<TreeCacheEvent> events;
  {
    MutexLock lock(&mu);
    // Removals first, children before parents; then additions (parents
    // first, map order) and updates.
    for (auto it = view.rbegin(); it != view.rend(); ++it) {
      auto now = fresh.find(it->first);
      if (now == fresh.end() || now->second.stat.czxid != it->second.stat.czxid) {
        events.push_back(TreeCacheEvent{Type::kRemoved, it->first, it->second});
      }
    }
    for (const auto& [path, node] : fresh) {
      auto was = view.find(path);
      if (was == view.end() || was->second.stat.czxid != node.stat.czxid) {
        events.push_back(TreeCacheEvent{Type::kAdded, path, node});
      } else if (was->second.stat.mzxid != node.stat.mzxid) {
        events.push_back(TreeCacheEvent{Type::kUpdated, path, node});
      }
    }
    view = std::move(fresh);
    if (!loaded) {
      loaded = true;
      events.push_back(TreeCacheEvent{Type::kInitialized, root, Node{}});
    }
  }
  Tell(events);
}

TreeCache::TreeCache(Coordinator& coordinator, std::string root,
                     Listener listener)
    : state_(std::make_shared<State>(coordinator, std::move(root),
                                     std::move(listener))) {}

TreeCache::~TreeCache() { state_->Close(); }

absl::Status TreeCache::Start(absl::Duration timeout) {
  const std::weak_ptr<State> weak = state_;
  return state_->Start(
      WatchMode::kPersistentRecursive,
      [weak](const WatchEvent& e) {
        if (auto self = weak.lock()) self->Reconcile(e.path);
      },
      [weak] {
        if (auto self = weak.lock()) self->Resync();
      },
      timeout);
}

std::optional<Node> TreeCache::Get(std::string_view path) const {
  MutexLock lock(&state_->mu);
  auto it = state_->view.find(std::string(path));
  if (it == state_->view.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> TreeCache::Children(std::string_view path) const {
  const std::string below = Below(path);
  std::vector<std::string> names;
  MutexLock lock(&state_->mu);
  for (auto it = state_->view.lower_bound(below);
       it != state_->view.end() && absl::StartsWith(it->first, below); ++it) {
    const std::string_view rest =
        std::string_view(it->first).substr(below.size());
    if (!rest.empty() && rest.find('/') == std::string_view::npos) {
      names.emplace_back(rest);
    }
  }
  return names;
}

std::map<std::string, Node> TreeCache::Snapshot() const {
  MutexLock lock(&state_->mu);
  return state_->view;
}

size_t TreeCache::size() const {
  MutexLock lock(&state_->mu);
  return state_->view.size();
}

}  // namespace synod::recipes
