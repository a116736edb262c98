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
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes::internal {

// A random prefix for one contender's node names: "_c_" and 32 hex digits.
std::string NewProtectedPrefix();

// Returns the sequence number of a sequential node's name (its last 10
// digits), or -1 if it has none.
int64_t SequenceOf(std::string_view name);

// Returns the children of `parent` that carry a sequence number, in
// sequence order (names as GetChildren gives them).
absl::StatusOr<std::vector<std::string>> SortedContenders(
    Coordinator& coordinator, const std::string& parent);

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

// True for an error after which the same request may be tried again once
// a leader serves (its outcome was unknown, or it was never sent).
bool Retryable(const absl::Status& status);

}  // namespace synod::recipes::internal

#endif  // SYNOD_RECIPES_CONTENDERS_H_
