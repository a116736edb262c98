// Counter (synod/recipes/counter.h): a version-checked set of the value,
// made exactly once by an op marker (recipes/op_marker.h).

#include "synod/recipes/counter.h"

#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "recipes/op_marker.h"
#include "recipes/waits.h"
#include "util/strings.h"

namespace synod::recipes {
namespace {

// Bounds every loop of a call (version races, settles, re-creations); each
// round is at least one round trip, and the deadline bounds them first.
constexpr int kMaxRounds = 100000;

// What the counter's node holds, locally: its value and version, or
// nothing (the node does not exist).
struct Reading {
  bool exists = false;
  int64_t value = 0;
  int32_t version = 0;
};

std::string ParentPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

struct Counter::State {
  State(Coordinator& c, std::string p)
      : coordinator(c),
        path(std::move(p)),
        markers(c, absl::StrCat(path, "/", AV(internal::kMarkerArea)), "a") {}

  // Reads the counter from the local replica.
  absl::StatusOr<Reading> Read();
  // Makes the counter's node (holding "0") and its parents, until
  // `deadline`. Idempotent: a create lost with the connection is simply
  // made again (NodeExists).
  absl::Status Make(absl::Time deadline);
  // Writes `next` in place of `seen` as one op of `marker`: the value
  // after the op (the note of the attempt that applied), nullopt when the
  // op did not apply and the caller should read again, or an error.
  // After a version race it Syncs when the local replica has not seen the
  // newer version yet, so the next read is current.
  absl::StatusOr<std::optional<int64_t>> Write(internal::OpMarker& marker,
                                               const Reading& seen,
                                               int64_t next,
                                               absl::Time deadline);

  Coordinator& coordinator;
  const std::string path;
  internal::OpMarkers markers;
};

absl::StatusOr<Reading> Counter::State::Read() {
  absl::StatusOr<Node> node = coordinator.Get(path);
  Reading r;
  if (ErrorOf(node.status()) == Error::kNoNode) return r;
  if (!node.ok()) return node.status();
  r.exists = true;
  r.version = node->stat.version;
  if (!node->data.empty() && !absl::SimpleAtoi(AV(node->data), &r.value)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the counter ", path,
                     " holds no decimal int64 (it holds ",
                     node->data.size(), " bytes)"));
  }
  return r;
}

absl::Status Counter::State::Make(absl::Time deadline) {
  absl::Status s =
      internal::EnsureParents(coordinator, ParentPath(path), deadline);
  if (!s.ok()) return s;
  for (int round = 0; round < kMaxRounds; ++round) {
    s = coordinator.Create(path, "0", CreateMode::kPersistent).status();
    if (s.ok() || ErrorOf(s) == Error::kNodeExists) return absl::OkStatus();
    if (ErrorOf(s) == Error::kNoNode) {
      // The parent container went (emptied meanwhile): make it again.
      s = internal::EnsureParents(coordinator, ParentPath(path), deadline);
      if (!s.ok()) return s;
      continue;
    }
    if (!internal::OutcomeUnknown(s)) return s;
    if (absl::Now() >= deadline) break;
    internal::Pause(coordinator, deadline);
  }
  return MakeError(Error::kConnectionLoss,
                   absl::StrCat("no leader answered in time to create ", path));
}

absl::StatusOr<std::optional<int64_t>> Counter::State::Write(
    internal::OpMarker& marker, const Reading& seen, int64_t next,
    absl::Time deadline) {
  std::vector<Op> ops;
  ops.push_back(Op::Set(path, absl::StrCat(next), seen.version));
  absl::StatusOr<internal::Settled> settled =
      marker.Write(std::move(ops), absl::StrCat(next), "", deadline);
  if (settled.ok()) {
    if (!settled->applied) return std::nullopt;
    int64_t value = 0;
    if (!absl::SimpleAtoi(AV(settled->note), &value)) {
      return absl::InternalError(absl::StrCat(
          "the marker ", marker.path(), " holds a note that is no value"));
    }
    return value;
  }
  switch (ErrorOf(settled.status())) {
    case Error::kNoNode:  // deleted meanwhile: the caller makes it again
      return std::nullopt;
    case Error::kBadVersion: {
      // Another writer came first. If this replica has not seen its write
      // yet, catch up, so the next read is not the same stale one.
      absl::StatusOr<Reading> now = Read();
      if (now.ok() && now->exists && now->version == seen.version) {
        const absl::Status synced = coordinator.Sync(path);
        if (!synced.ok() && !internal::OutcomeUnknown(synced)) return synced;
      }
      return std::nullopt;
    }
    default:
      return settled.status();
  }
}

Counter::Counter(Coordinator& coordinator, std::string path)
    : state_(std::make_unique<State>(coordinator, std::move(path))) {}

Counter::~Counter() = default;

absl::StatusOr<int64_t> Counter::Add(int64_t delta) {
  State& s = *state_;
  const absl::Time deadline = absl::Now() + internal::kSettleTimeout;
  internal::OpMarkers::Lease marker = s.markers.Acquire();
  absl::StatusOr<std::optional<internal::Settled>> begun =
      marker->Begin(deadline);
  if (!begun.ok()) return begun.status();
  for (int round = 0; round < kMaxRounds; ++round) {
    absl::StatusOr<Reading> seen = s.Read();
    if (!seen.ok()) return seen.status();
    if (!seen->exists) {
      const absl::Status made = s.Make(deadline);
      if (!made.ok()) return made;
      continue;
    }
    int64_t next = 0;
    if (__builtin_add_overflow(seen->value, delta, &next)) {
      return absl::OutOfRangeError(
          absl::StrCat("adding ", delta, " to the counter ", s.path,
                       " (", seen->value, ") overflows int64"));
    }
    absl::StatusOr<std::optional<int64_t>> value =
        s.Write(*marker, *seen, next, deadline);
    if (!value.ok()) return value.status();
    if (value->has_value()) return **value;
    if (absl::Now() >= deadline) break;
  }
  return MakeError(Error::kConnectionLoss,
                   absl::StrCat("the add to ", s.path,
                                " was not made in time"));
}

absl::StatusOr<int64_t> Counter::Get() {
  absl::StatusOr<Reading> r = state_->Read();
  if (!r.ok()) return r.status();
  return r->value;
}

absl::StatusOr<bool> Counter::CompareAndSet(int64_t expected, int64_t value) {
  State& s = *state_;
  const absl::Time deadline = absl::Now() + internal::kSettleTimeout;
  internal::OpMarkers::Lease marker = s.markers.Acquire();
  absl::StatusOr<std::optional<internal::Settled>> begun =
      marker->Begin(deadline);
  if (!begun.ok()) return begun.status();
  bool synced = false;  // the last read came after a Sync
  for (int round = 0; round < kMaxRounds; ++round) {
    absl::StatusOr<Reading> seen = s.Read();
    if (!seen.ok()) return seen.status();
    if (seen->value != expected) {
      // A false answer must not come from a stale replica, nor hide an
      // attempt lost earlier that applied after all.
      if (synced) {
        absl::StatusOr<internal::Settled> late = marker->Confirm(deadline);
        if (!late.ok()) return late.status();
        return late->applied;
      }
      const absl::Status sync = s.coordinator.Sync(s.path);
      if (!sync.ok()) {
        if (!internal::OutcomeUnknown(sync)) return sync;
        internal::Pause(s.coordinator, deadline);
      } else {
        synced = true;
      }
    } else if (!seen->exists) {
      // A missing counter holds 0, the value expected: make it.
      const absl::Status made = s.Make(deadline);
      if (!made.ok()) return made;
    } else {
      absl::StatusOr<std::optional<int64_t>> written =
          s.Write(*marker, *seen, value, deadline);
      if (!written.ok()) return written.status();
      if (written->has_value()) return true;
      synced = false;  // it changed: the next verdict needs a fresh Sync
    }
    if (absl::Now() >= deadline) break;
  }
  return MakeError(Error::kConnectionLoss,
                   absl::StrCat("the compare-and-set of ", s.path,
                                " was not made in time"));
}

}  // namespace synod::recipes
