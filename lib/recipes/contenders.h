// Contenders: what the queue-shaped recipes (locks, election, semaphores)
// share. Each contender creates an ephemeral sequential child of the
// recipe's node; the children in sequence order are the queue. Built on the
// public Coordinator API only.
//
// A create whose outcome is unknown (ConnectionLoss: the request may have
// applied) would leave a node nobody owns in the queue, and the queue would
// stall until the session ended. So every contender node's name starts with
// a prefix unique to its creator (Curator's "protected" mode): after a lost
// create the contender looks for its prefix among the children, and either
// finds its node or creates again.

#ifndef SYNOD_RECIPES_CONTENDERS_H_
#define SYNOD_RECIPES_CONTENDERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "recipes/waits.h"
#include "synod/coordinator.h"
#include "util/mutex.h"

namespace synod::recipes::internal {

// A random prefix for one contender's node names: "_c_" and 32 hex digits.
std::string NewProtectedPrefix();

// Returns the sequence number of a sequential node's name (its last 10
// digits), or -1 if it has none.
int64_t SequenceOf(std::string_view name);

// Returns the name a contender gave its node: what lies between the
// protected prefix and the sequence number ("lock-" of
// "_c_<32 hex>lock-0000000007"). A name without a protected prefix loses
// only its sequence number.
std::string_view KindOf(std::string_view name);

// Returns the children of `parent` that carry a sequence number, in
// sequence order (names as GetChildren gives them). A `watcher`, when
// given, is registered as a child watch of `parent` with the read.
absl::StatusOr<std::vector<std::string>> SortedContenders(
    Coordinator& coordinator, const std::string& parent,
    Watcher watcher = nullptr);

// Creates `parent` and its missing ancestors as containers (they vanish
// once empty, as Curator's creatingParentContainersIfNeeded does), retrying
// ConnectionLoss until `deadline`.
absl::Status EnsureParents(Coordinator& coordinator, const std::string& parent,
                           absl::Time deadline);

// Creates the ephemeral sequential node `parent`/`prefix``name` holding
// `data`, its parents first, and returns its path. A create that ends in
// ConnectionLoss is settled by looking for `prefix` among the children
// (after a Sync), retrying until `deadline`: OK with the node, or the
// error (DeadlineExceeded when the deadline passed first). `prefix` must be
// unique to the caller (NewProtectedPrefix).
absl::StatusOr<std::string> CreateContender(Coordinator& coordinator,
                                            const std::string& parent,
                                            const std::string& prefix,
                                            const std::string& name,
                                            const std::string& data,
                                            absl::Time deadline);

// Deletes `path`, retrying ConnectionLoss until `deadline`. NoNode counts
// as done (a session expiry took it already).
absl::Status DeleteContender(Coordinator& coordinator, const std::string& path,
                             absl::Time deadline);

// Tells a recipe's blocking waits that its session ended (expired, or the
// Coordinator closed it): the nodes they queued are gone or going, and the
// node they watch may outlive them, so its watch may never fire. Listens
// to the Coordinator's session events from construction to destruction.
class SessionAlarm {
 public:
  explicit SessionAlarm(Coordinator& coordinator);
  ~SessionAlarm();

  SessionAlarm(const SessionAlarm&) = delete;
  SessionAlarm& operator=(const SessionAlarm&) = delete;

  // The session ends heard so far: take it before queueing a node, and a
  // later value that differs says the node's session may be gone.
  int64_t ends() const;

  // The error for a wait that a session end cut short: SessionExpired, or
  // Closing once the Coordinator is shutting down.
  absl::Status Ended(const std::string& what) const;

  enum class Wake { kSignalled, kSessionEnded, kTimedOut };
  // Waits until `signal` is notified, the session has ended since `since`
  // (a value of ends()), or `deadline` passes. The session end wins over
  // the other two.
  Wake Wait(const std::shared_ptr<Signal>& signal, int64_t since,
            absl::Time deadline);

 private:
  struct Shared;
  Coordinator& coordinator_;
  const std::shared_ptr<Shared> shared_;
  int64_t handle_ = 0;
};

// True for an error after which the same request may be tried again once
// a leader serves (its outcome was unknown, or it was never sent).
bool Retryable(const absl::Status& status);

}  // namespace synod::recipes::internal

#endif  // SYNOD_RECIPES_CONTENDERS_H_
