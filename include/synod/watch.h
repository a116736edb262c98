// File: synod/watch.h
//
// Watch events and watchers. A watcher is a function that synod calls on its
// dispatcher thread, one event at a time, in zxid order, never while holding
// an internal lock. A watcher may call back into the Coordinator, but it
// should return quickly: events behind it wait.
//
// Example:
//
//   coordinator->Get("/config", [](const synod::WatchEvent& e) {
//     if (e.type == synod::EventType::kDataChanged) Reload(e.path);
//   });

#ifndef SYNOD_WATCH_H_
#define SYNOD_WATCH_H_

#include <functional>
#include <string>

namespace synod {

// What happened. The node events are ZooKeeper's; kSession reports a change
// of the Coordinator's session state; the *Removed events tell a watcher that
// RemoveWatches took it away.
enum class EventType {
  kSession,
  kCreated,
  kDeleted,
  kDataChanged,
  kChildrenChanged,
  kDataWatchRemoved,
  kChildWatchRemoved,
  kPersistentWatchRemoved,
};

// The state of the Coordinator's session, reported with EventType::kSession
// and carried by every event.
enum class SessionState {
  kConnected,     // the session is established with the ensemble's leader
  kDisconnected,  // no leader reachable; the session may still be resumed
  kExpired,       // the ensemble ended the session; its ephemerals are gone.
                  // The Coordinator opens a new session next (Connected
                  // follows); its watches stay registered.
  kClosed,        // the Coordinator is shutting down
};

// Returns ZooKeeper's name of `type`, e.g. "NodeDataChanged".
const char* EventTypeName(EventType type);
// Returns the name of `state`, e.g. "SyncConnected".
const char* SessionStateName(SessionState state);

// One notification. `path` is the node the event is about (for a recursive
// watch, the descendant that changed); empty for session events.
struct WatchEvent {
  EventType type = EventType::kSession;
  SessionState state = SessionState::kConnected;
  std::string path;
};

// A callback for watch events. Runs on the Coordinator's dispatcher thread.
using Watcher = std::function<void(const WatchEvent&)>;

// How AddWatch registers a watch that stays until removed.
//  kPersistent: every Created, Deleted, DataChanged and ChildrenChanged event
//    of the path itself.
//  kPersistentRecursive: Created, Deleted and DataChanged of the path and of
//    every node below it (no ChildrenChanged, as in ZooKeeper).
enum class WatchMode { kPersistent, kPersistentRecursive };

// Which watches RemoveWatches takes away from a path.
enum class WatcherType {
  kChildren,             // one-shot child watches (GetChildren)
  kData,                 // one-shot data and exists watches (Get, Exists)
  kPersistent,           // AddWatch(kPersistent)
  kPersistentRecursive,  // AddWatch(kPersistentRecursive)
  kAny,                  // all of the above
};

}  // namespace synod

#endif  // SYNOD_WATCH_H_
