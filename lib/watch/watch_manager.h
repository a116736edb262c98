// The watch registry of one replica: one-shot data and child watches and
// persistent (recursive) watches, with ZooKeeper's firing rules.

#ifndef SYNOD_WATCH_WATCH_MANAGER_H_
#define SYNOD_WATCH_WATCH_MANAGER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "synod/watch.h"
#include "util/mutex.h"

namespace synod {

// One watcher call to make: `watcher` with `event`.
struct Delivery {
  std::shared_ptr<const Watcher> watcher;
  WatchEvent event;
};

// Thread-safe. Readers register watches concurrently while the applying
// thread triggers them; nothing here calls a watcher: triggered watchers are
// returned as Deliveries for the dispatcher.
class WatchManager {
 public:
  // Registers a one-shot data watch (Get, Exists) on `path`.
  void AddDataWatch(std::string_view path, Watcher watcher);
  // Registers a one-shot child watch (GetChildren) on `path`.
  void AddChildWatch(std::string_view path, Watcher watcher);
  // Registers a watch on `path` that stays until removed.
  void AddPersistentWatch(std::string_view path, WatchMode mode,
                          Watcher watcher);

  // Appends to `out` the deliveries of an event of `type` on `path` and
  // removes the one-shot watches that fire. Rules (ZooKeeper's):
  //  kCreated:         data watches of path; persistent of path;
  //                    recursive of path and every ancestor.
  //  kDeleted:         data and child watches of path; persistent of path;
  //                    recursive of path and every ancestor.
  //  kDataChanged:     data watches of path; persistent of path;
  //                    recursive of path and every ancestor.
  //  kChildrenChanged: child watches of path; persistent of path (never
  //                    recursive ones).
  // Each registration fires at most once per call; order: one-shot data,
  // one-shot child, persistent, recursive (nearest ancestor first), each in
  // registration order. Every event carries `path` and kConnected.
  // REQUIRES: `type` is one of the four node events.
  void Trigger(std::string_view path, EventType type,
               std::vector<Delivery>* out);

  // Removes the watches of `type` on `path` and appends one delivery per
  // removed registration: kDataWatchRemoved for data watches,
  // kChildWatchRemoved for child watches, kPersistentWatchRemoved for
  // persistent and recursive ones. Returns how many were removed.
  int Remove(std::string_view path, WatcherType type,
             std::vector<Delivery>* out);

  // Removes every watch; appends nothing.
  void Clear();

  // Returns the number of registrations.
  int64_t size() const;

 private:
  struct PathWatches {
    std::vector<std::shared_ptr<const Watcher>> data;
    std::vector<std::shared_ptr<const Watcher>> child;
    std::vector<std::shared_ptr<const Watcher>> persistent;
    std::vector<std::shared_ptr<const Watcher>> recursive;
    bool empty() const {
      return data.empty() && child.empty() && persistent.empty() &&
             recursive.empty();
    }
  };

  mutable SharedMutex mu_;
  absl::flat_hash_map<std::string, PathWatches> watches_ ABSL_GUARDED_BY(mu_);
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t recursive_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace synod

#endif  // SYNOD_WATCH_WATCH_MANAGER_H_
