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

#include <cstdint>
#include <functional>
#include <memory>
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

// A watcher with an identity, so that Coordinator::RemoveWatch can take
// away its registrations and leave every other watcher's (ZooKeeper's
// removeWatches of one Watcher object). Pass it wherever a Watcher is
// taken (Get, Exists, GetChildren, AddWatch; on any path, any number of
// times): every registration made with it or a copy of it carries its id.
// As in ZooKeeper, where watchers are a set per path: registering it again
// where it is already registered (same path, same kind) adds nothing, and
// one event calls it once even where it is registered in several kinds
// (a data and a child watch on a deleted node, say).
class WatchHandle {
 public:
  // Gives `watcher` a new identity (unique in the process).
  explicit WatchHandle(Watcher watcher);

  // Calls the watcher (how a registration made with the handle fires).
  void operator()(const WatchEvent& event) const {
    if (*watcher_) (*watcher_)(event);
  }

  // The identity: never 0, equal for copies.
  int64_t id() const { return id_; }

 private:
  int64_t id_;
  std::shared_ptr<const Watcher> watcher_;
};

// The identity of the WatchHandle that `watcher` was made from, or 0 for a
// plain function.
int64_t WatchHandleId(const Watcher& watcher);

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
