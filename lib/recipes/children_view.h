// ChildrenView: the children of a node and their data, with a listener
// told of every change (the part of Curator's CuratorCache that group
// membership and service discovery need). Built on the public Coordinator
// API only.
//
// It keeps one one-shot watch armed on the node's children (an exists
// watch while the node is absent) and one on each child's data, re-arming
// each only after it fired, and re-reads after every event. Each read is
// registered atomically with its watch and compared with what the listener
// was last told, so no change between two reads is missed: changes that
// land together may reach the listener as one call, and the listener is
// never told the same children twice in a row.

#ifndef SYNOD_RECIPES_CHILDREN_VIEW_H_
#define SYNOD_RECIPES_CHILDREN_VIEW_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "synod/coordinator.h"
#include "util/mutex.h"

namespace synod::recipes::internal {

class ChildrenView : public std::enable_shared_from_this<ChildrenView> {
 public:
  // Children's names -> their data.
  using Children = std::map<std::string, std::string>;
  using Listener = std::function<void(const Children&)>;

  // Watches the children of `path` (which need not exist: then there are
  // none). `coordinator` must outlive the view.
  ChildrenView(Coordinator& coordinator, std::string path, Listener listener);

  // Starts watching: the listener is called on the dispatcher thread, first
  // with the children as they are, then after every change, one call at a
  // time. Call once.
  void Start();

  // Stops: no listener call starts after Stop returns, and one under way
  // has finished (unless Stop is called from the listener itself). Watches
  // still armed fire once more into nothing.
  void Stop();

 private:
  // Reads the children (arming the watches that are not armed) and tells
  // the listener if they changed. Dispatcher thread only.
  void Refresh();
  enum class Kind { kChildren, kExists, kData };
  // A watcher that marks its watch (of `kind`, on `child` for kData) as
  // fired and refreshes.
  Watcher Rearm(Kind kind, std::string child);

  Coordinator& coordinator_;
  const std::string path_;
  const Listener listener_;

  Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool children_armed_ ABSL_GUARDED_BY(mu_) = false;  // on the children
  bool exists_armed_ ABSL_GUARDED_BY(mu_) = false;    // on the node itself
  std::set<std::string> data_armed_ ABSL_GUARDED_BY(mu_);
  bool told_ ABSL_GUARDED_BY(mu_) = false;  // the listener heard once
  Children last_ ABSL_GUARDED_BY(mu_);      // what it heard last
  int running_ ABSL_GUARDED_BY(mu_) = 0;    // Refresh calls under way
  std::thread::id runner_ ABSL_GUARDED_BY(mu_);
};

// Returns the children of `path` and their data, from the local replica
// (none if `path` does not exist).
absl::StatusOr<ChildrenView::Children> ReadChildren(Coordinator& coordinator,
                                                    const std::string& path);

}  // namespace synod::recipes::internal

#endif  // SYNOD_RECIPES_CHILDREN_VIEW_H_
