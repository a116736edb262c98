// File: synod/recipes/tree_cache.h
//
// A local view of a whole subtree, kept current by one persistent recursive
// watch (Curator's TreeCache), built on the public Coordinator API only.
//
//   synod::recipes::TreeCache services(*coordinator, "/services",
//       [](const synod::recipes::TreeCacheEvent& e) {
//         // a node was added, updated or removed (dispatcher thread)
//       });
//   services.Start();
//   for (const std::string& name : services.Children("/services/db")) ...
//
// How it works (docs/recipes.md): one persistent recursive watch on the
// root reports every creation, deletion and data change below it; after
// each, the node is read and the view brought to it (its parent's Stat
// too). After a reconnection or a new session the whole subtree is read
// again and compared with the view. Each read gives the tree as it is
// now, so the view ends equal to the subtree even when changes come
// together, and the listener hears each difference once.
//
// Never call Start from a watcher or callback of the same Coordinator.

#ifndef SYNOD_RECIPES_TREE_CACHE_H_
#define SYNOD_RECIPES_TREE_CACHE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

// A change of a TreeCache's view.
struct TreeCacheEvent {
  enum class Type {
    kAdded,        // `path` entered the view (created, or first seen)
    kUpdated,      // its data changed
    kRemoved,      // it left the view (deleted); `node` as last held
    kInitialized,  // the first load is complete (`path` is the root)
  };
  Type type = Type::kInitialized;
  std::string path;
  Node node;
};

class TreeCache {
 public:
  // Called for each change of the view, on the Coordinator's dispatcher
  // thread, one at a time and in order: a node is added before its
  // children, its children are removed before it. Not for changes of a
  // node's children list or ACL alone (those refresh its Stat).
  using Listener = std::function<void(const TreeCacheEvent& event)>;

  // A cache of the subtree at `root` (the root included; it need not
  // exist). `coordinator` must outlive it.
  TreeCache(Coordinator& coordinator, std::string root,
            Listener listener = nullptr);
  // Closes it: no listener call starts after the destructor returns
  // (waiting for one under way, unless called from it).
  ~TreeCache();

  TreeCache(const TreeCache&) = delete;
  TreeCache& operator=(const TreeCache&) = delete;

  // Sets the watch and loads the subtree: returns OK once the view holds it
  // and the listener has heard kAdded for each node, then kInitialized,
  // DeadlineExceeded after `timeout`, FailedPrecondition if started
  // already, or the Coordinator's error for the watch.
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));

  // The node at `path` as the view holds it, or nullopt.
  std::optional<Node> Get(std::string_view path) const;

  // The names of the children of `path` in the view, sorted (empty if it
  // has none or is not in the view).
  std::vector<std::string> Children(std::string_view path) const;

  // Every node of the view, by path.
  std::map<std::string, Node> Snapshot() const;

  // How many nodes the view holds.
  size_t size() const;

 private:
  struct State;
  const std::shared_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_TREE_CACHE_H_
