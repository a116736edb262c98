// Op markers: exactly-once writes for the recipes whose writes are not
// idempotent (a counter's add, a queue's put and take). Built on the public
// Coordinator API only.
//
// A write that ends in ConnectionLoss may or may not have applied, and
// retrying it blindly applies it twice (an add counted twice, an item put
// twice), while giving up may lose it (a take that deleted the item but
// never delivered it). So every such write is one Multi of the recipe's
// ops and a write to a marker node of the writer's own, recording the
// op's sequence number and a note (for the recipe: the counter's new value,
// the item taken). After an unknown outcome the writer waits for a leader,
// Syncs, and reads its marker: the marker says whether the op applied (and
// which attempt of it, by the note), because the marker changes exactly
// when the recipe's ops do. After the Sync the answer is final: a write the
// new leader did not take never applies.
//
// Every attempt of one op writes the marker on the condition of the
// marker's version as it was before the op, so at most one attempt of an
// op can ever apply, even one that arrives after the settle said it had
// not: the next attempt then fails on the marker, and the settle finds the
// op applied with the earlier attempt's note.
//
// Markers live under the recipe's node, in `<node>/.ops` (persistent), as
// persistent TTL nodes: a writer that dies leaves its markers, and the
// ensemble deletes each once unmodified for kMarkerTtl. A marker pool
// deletes its markers when destroyed.

#ifndef SYNOD_RECIPES_OP_MARKER_H_
#define SYNOD_RECIPES_OP_MARKER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"
#include "util/mutex.h"

namespace synod::recipes::internal {

// How long a marker outlives the last op written through it (its TTL).
// Must exceed, by far, the time from sending a write to settling it
// (kSettleTimeout): the settle reads a missing marker as "not applied".
inline constexpr absl::Duration kMarkerTtl = absl::Minutes(10);

// How long a write keeps trying to settle an unknown outcome.
inline constexpr absl::Duration kSettleTimeout = absl::Seconds(30);

// The name of the marker area under a recipe's node.
inline constexpr std::string_view kMarkerArea = ".ops";

// True for an error after which a write's outcome is unknown: it may have
// applied (ConnectionLoss, OperationTimeout, and SessionExpired for a
// request in flight when the session ended).
bool OutcomeUnknown(const absl::Status& status);

// What became of an op.
struct Settled {
  // True if the op applied (once): by the attempt just made, or by an
  // earlier attempt of the same op. False if no attempt applied: the caller
  // reads again (the settle Synced: local reads are current) and retries.
  bool applied = false;
  // The note and payload of the attempt that applied.
  std::string note;
  std::string payload;
  // The results of the caller's ops when the attempt just made applied
  // and its reply came; empty when a settle found the op applied.
  std::vector<OpResult> results;
};

// One marker node, used by one op at a time (a pool leases it out).
class OpMarker {
 public:
  OpMarker(Coordinator& coordinator, std::string area, std::string path);

  OpMarker(const OpMarker&) = delete;
  OpMarker& operator=(const OpMarker&) = delete;

  // Starts a new op. If the previous op may have applied unbeknown to its
  // caller (its settle gave up, or it failed after an attempt was in
  // doubt), settles it first, until `deadline`: returns its Settled if it
  // turned out applied (once: the caller delivers it), nullopt otherwise.
  // An error if it is still in doubt (the new op does not start).
  absl::StatusOr<std::optional<Settled>> Begin(absl::Time deadline);

  // Applies `ops` and this op's marker write (recording `note`; `payload`
  // stays in memory, returned with the attempt that applied) as one Multi.
  // Returns Settled (applied, or not applied after a settle); the error of
  // the caller's op that failed (FailedOpIndex < ops.size(): nothing
  // applied); or another error. ConnectionLoss (kUnavailable) when the
  // outcome is still unknown at `deadline`: the op stays in doubt, and the
  // next Begin settles it.
  // REQUIRES: Begin succeeded; `note` holds no newline.
  absl::StatusOr<Settled> Write(std::vector<Op> ops, std::string note,
                                std::string payload, absl::Time deadline);

  // Before an op ends without applying (a take that found nothing, a
  // compare-and-set that answers false): if an attempt of it was ever in
  // doubt, reads the marker again after a Sync, until `deadline`, since
  // that attempt may have applied after its settle (its own ops then made
  // the later attempts fail before reaching the marker). Returns Settled:
  // applied (deliver that attempt's result instead) or not.
  absl::StatusOr<Settled> Confirm(absl::Time deadline);

  // True if the last op's outcome is unknown.
  bool in_doubt() const { return in_doubt_; }
  // True if the marker node may exist (written, or a write in doubt).
  bool may_exist() const { return exists_ || in_doubt_; }
  const std::string& path() const { return path_; }

 private:
  // Reads the marker after a Sync: applied (with the attempt's note), not
  // applied (the marker's version learnt), or an error when `deadline`
  // passes first.
  absl::StatusOr<Settled> Settle(absl::Time deadline);
  // Creates the marker area (persistent), until `deadline`.
  absl::Status EnsureArea(absl::Time deadline);
  // The marker's data for the current op and `note`.
  std::string Record(std::string_view note) const;

  Coordinator& coordinator_;
  const std::string area_;
  const std::string path_;
  // What this writer knows of its marker: whether it exists, and its
  // version before the current op (every attempt writes on it).
  bool exists_ = false;
  int32_t version_ = 0;
  int64_t seq_ = 0;        // the current op's number
  bool in_doubt_ = false;  // the current op's outcome is unknown
  // An attempt of the current op was in doubt, and the op has not been
  // found applied since.
  bool doubted_ = false;
  // The attempts of the current op, by note: their payloads, and whether
  // one was in doubt (then it is kept until the op ends, whatever later
  // attempts with the same note come to).
  struct Attempt {
    std::string payload;
    bool in_doubt = false;
  };
  std::map<std::string, Attempt> attempts_;
};

// The markers of one recipe object: one per op in progress at once, made
// as needed and kept for the object's life. Thread-safe.
class OpMarkers {
 public:
  // Markers named `area`/<random prefix>-`tag`<n> (`area` is the recipe's
  // marker area, `tag` tells kinds of op apart).
  OpMarkers(Coordinator& coordinator, std::string area, std::string tag);
  // Deletes the markers (without waiting: their TTL deletes those whose
  // delete fails). REQUIRES: none leased.
  ~OpMarkers();

  OpMarkers(const OpMarkers&) = delete;
  OpMarkers& operator=(const OpMarkers&) = delete;

  // A marker held for one op; returned to the pool when destroyed.
  class Lease {
   public:
    Lease(OpMarkers* pool, OpMarker* marker) : pool_(pool), marker_(marker) {}
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), marker_(other.marker_) {
      other.marker_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    OpMarker* operator->() const { return marker_; }
    OpMarker& operator*() const { return *marker_; }

   private:
    OpMarkers* pool_;
    OpMarker* marker_;
  };

  // Leases a free marker (one left in doubt first: its Begin settles it),
  // or a new one.
  Lease Acquire();

 private:
  Coordinator& coordinator_;
  const std::string area_;
  const std::string prefix_;
  Mutex mu_;
  std::vector<std::unique_ptr<OpMarker>> all_ ABSL_GUARDED_BY(mu_);
  std::vector<OpMarker*> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synod::recipes::internal

#endif  // SYNOD_RECIPES_OP_MARKER_H_
