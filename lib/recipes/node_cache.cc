// NodeCache (synod/recipes/node_cache.h): a persistent watch on the path,
// and a read of the node on the dispatcher thread after every event and
// every reconnection, compared with the view.

#include "synod/recipes/node_cache.h"

#include <utility>

#include "recipes/cache_core.h"
#include "util/errors.h"

namespace synod::recipes {

struct NodeCache::State : std::enable_shared_from_this<State>,
                          internal::CacheCore {
  State(Coordinator& c, std::string p, Listener l)
      : CacheCore(c, std::move(p)), listener(std::move(l)) {}

  // Reads the node and brings the view to it, telling the listener of a
  // difference. Dispatcher thread only.
  void Refresh();

  const Listener listener;
  std::optional<Node> current ABSL_GUARDED_BY(mu);
};

void NodeCache::State::Refresh() {
  if (!Enter()) return;
  std::optional<Node> now;
  absl::StatusOr<Node> read = coordinator.Get(path);
  bool readable = true;
  if (read.ok()) {
    now = std::move(*read);
  } else if (ErrorOf(read.status()) != Error::kNoNode) {
    readable = false;  // look again on the next event or reconnection
  }
  bool tell = false;
  std::optional<Node> told;
  {
    MutexLock lock(&mu);
    if (!readable) {
      if (!loaded) load_error = read.status();
    } else {
      const bool was = current.has_value();
      // Created, deleted, replaced (another creation) or its data changed:
      // a difference for the listener. Child and ACL changes only refresh
      // the Stat.
      tell = loaded &&
             (was != now.has_value() ||
              (was && (current->stat.czxid != now->stat.czxid ||
                       current->stat.mzxid != now->stat.mzxid)));
      current = now;
      loaded = true;
      if (tell) told = std::move(now);
    }
  }
  if (tell && listener) listener(told);
  Leave();
}

NodeCache::NodeCache(Coordinator& coordinator, std::string path,
                     Listener listener)
    : state_(std::make_shared<State>(coordinator, std::move(path),
                                     std::move(listener))) {}

NodeCache::~NodeCache() { state_->Close(); }

absl::Status NodeCache::Start(absl::Duration timeout) {
  const std::weak_ptr<State> weak = state_;
  auto refresh = [weak] {
    if (auto self = weak.lock()) self->Refresh();
  };
  return state_->Start(
      WatchMode::kPersistent, [refresh](const WatchEvent&) { refresh(); },
      refresh, timeout);
}

std::optional<Node> NodeCache::Current() const {
  MutexLock lock(&state_->mu);
  return state_->current;
}

}  // namespace synod::recipes
