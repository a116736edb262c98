// File: synod/recipes/node_cache.h
//
// A local view of one node, kept current by a watch (Curator's NodeCache),
// built on the public Coordinator API only.
//
//   synod::recipes::NodeCache config(*coordinator, "/config/app",
//       [](const std::optional<synod::Node>& node) {
//         // the node was created, changed or deleted (dispatcher thread)
//       });
//   config.Start();
//   if (auto node = config.Current()) Apply(node->data);
//
// How it works (docs/recipes.md): a persistent watch on the path (it stays
// across events, so no change falls between a watch firing and the next
// one being set) and a read of the node after each event; after a
// reconnection or a new session the node is read again. Each read gives
// the node as it is now, so the view ends equal to the node even when
// several changes come together; the listener hears each difference once.
//
// Never call Start from a watcher or callback of the same Coordinator.

#ifndef SYNOD_RECIPES_NODE_CACHE_H_
#define SYNOD_RECIPES_NODE_CACHE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class NodeCache {
 public:
  // Called when the node is created, its data changes, or it is deleted
  // (nullopt), with the node as the view now holds it. On the
  // Coordinator's dispatcher thread, one call at a time, in order; not for
  // changes of its children or ACL, nor for the first load.
  using Listener = std::function<void(const std::optional<Node>& node)>;

  // A cache of `path`. `coordinator` must outlive it.
  NodeCache(Coordinator& coordinator, std::string path,
            Listener listener = nullptr);
  // Closes it: no listener call starts after the destructor returns
  // (waiting for one under way, unless called from it).
  ~NodeCache();

  NodeCache(const NodeCache&) = delete;
  NodeCache& operator=(const NodeCache&) = delete;

  // Sets the watch and loads the node: returns once Current() holds it (OK),
  // DeadlineExceeded after `timeout`, FailedPrecondition if started
  // already, or the Coordinator's error for the watch or the first read
  // (e.g. NoAuth; the cache then loads once a later event finds the node
  // readable).
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));

  // The node as the view holds it: nullopt while it does not exist (or
  // before Start).
  std::optional<Node> Current() const;

 private:
  struct State;
  const std::shared_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_NODE_CACHE_H_
