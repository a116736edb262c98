// Registrations: ephemeral nodes kept in place (Curator's PersistentNode in
// its ephemeral mode), for the recipes that announce a process (group
// membership, service discovery). Built on the public Coordinator API only.
//
// Each registration is a path and the data its node should hold. One
// keeper thread per Registrations reconciles the replica with that wish:
// a node that is missing (never created, taken by a session expiry, deleted
// by someone) is created, one that holds old data is set. It acts on events
// only (a watch on each node, the session's events, the caller's requests),
// with a 10 s safety net. Its writes are settled: after a lost connection
// it Syncs and reads the node's owner before doing anything else, so a
// create that applied unseen is adopted, never doubled or orphaned.
//
// Whose node is it: one owned by the current session is ours; one owned by
// a session this object saw earlier (ours before an expiry) is waited out
// (the ensemble deletes it, its watch fires, the keeper creates it again);
// one owned by any other session is another process's: the first
// registration reports AlreadyExists, a later one waits for it to go.

#ifndef SYNOD_RECIPES_REGISTRATIONS_H_
#define SYNOD_RECIPES_REGISTRATIONS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes::internal {

class Registrations {
 public:
  // `coordinator` must outlive this object.
  explicit Registrations(Coordinator& coordinator);
  // Deletes every node it registered (up to 30 s through a lost
  // connection; after that they go with the session) and stops its thread.
  // REQUIRES: not called on the Coordinator's dispatcher thread.
  ~Registrations();

  Registrations(const Registrations&) = delete;
  Registrations& operator=(const Registrations&) = delete;

  // Registers the ephemeral node `path` holding `data` (its parents are
  // created as containers when needed) and keeps it registered until
  // Remove. OK once the node exists for this session with `data`.
  // AlreadyExists if `path` is registered here already, or if another
  // session's node holds it (then nothing is kept). DeadlineExceeded if
  // `timeout` passed first: the keeper goes on trying. The Coordinator's
  // error if it refused the create for good (NoAuth, ...; nothing kept).
  absl::Status Add(const std::string& path, std::string data,
                   absl::Duration timeout);

  // Makes the registered node hold `data` (also when it is created again).
  // OK once it does; DeadlineExceeded if `timeout` passed first (the data
  // is kept and applied when the node can be written); NotFound if `path`
  // is not registered here.
  absl::Status SetData(const std::string& path, std::string data,
                       absl::Duration timeout);

  // Stops keeping `path` and deletes its node if it is ours. OK once done
  // (or if `path` was not registered); DeadlineExceeded if `timeout`
  // passed first (the keeper goes on trying).
  absl::Status Remove(const std::string& path, absl::Duration timeout);

  // True if `path` is registered here and its node exists in the local
  // replica, owned by the current session.
  bool Registered(const std::string& path) const;

 private:
  struct Core;
  const std::shared_ptr<Core> core_;
};

}  // namespace synod::recipes::internal

#endif  // SYNOD_RECIPES_REGISTRATIONS_H_
