// Replica: this peer's copy of the tree and the watches registered on it.
// The server is its only writer, under the exclusive lock; readers on any
// thread take the shared lock.

#ifndef SYNOD_SERVER_REPLICA_H_
#define SYNOD_SERVER_REPLICA_H_

#include "tree/data_tree.h"
#include "util/mutex.h"
#include "watch/watch_manager.h"

namespace synod::server {

// Lock order: mu -> WatchManager's mutex -> the outbox's dispatcher.
struct Replica {
  mutable SharedMutex mu;
  DataTree tree ABSL_GUARDED_BY(mu);
  WatchManager watches;
};

}  // namespace synod::server

#endif  // SYNOD_SERVER_REPLICA_H_
