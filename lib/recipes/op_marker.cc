// Op markers (recipes/op_marker.h): one Multi per write with the writer's
// marker, settled by reading the marker after a Sync.

#include "recipes/op_marker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "recipes/waits.h"
#include "util/strings.h"

namespace synod::recipes::internal {

bool OutcomeUnknown(const absl::Status& status) {
  const Error e = ErrorOf(status);
  return e == Error::kConnectionLoss || e == Error::kOperationTimeout ||
         e == Error::kSessionExpired;
}

OpMarker::OpMarker(Coordinator& coordinator, std::string area,
                   std::string path)
    : coordinator_(coordinator),
      area_(std::move(area)),
      path_(std::move(path)) {}

std::string OpMarker::Record(std::string_view note) const {
  return absl::StrCat(seq_, " ", AV(note));
}

absl::StatusOr<std::optional<Settled>> OpMarker::Begin(absl::Time deadline) {
  std::optional<Settled> earlier;
  // The previous op ended in doubt, or with an error after an attempt of
  // it was in doubt: it may have applied.
  if (in_doubt_ || doubted_) {
    absl::StatusOr<Settled> settled = Settle(deadline);
    if (!settled.ok()) return settled.status();
    if (settled->applied) earlier = *std::move(settled);
  }
  ++seq_;
  attempts_.clear();
  in_doubt_ = false;
  doubted_ = false;
  return earlier;
}

absl::StatusOr<Settled> OpMarker::Confirm(absl::Time deadline) {
  if (!doubted_) return Settled{};
  absl::StatusOr<Settled> settled = Settle(deadline);
  if (settled.ok()) doubted_ = false;  // the op's outcome is known
  return settled;
}

absl::StatusOr<Settled> OpMarker::Write(std::vector<Op> ops, std::string note,
                                        std::string payload,
                                        absl::Time deadline) {
  const int n = static_cast<int>(ops.size());
  std::string record = Record(note);
  Attempt& attempt = attempts_[note];
  attempt.payload = std::move(payload);
  // On the marker's state before the op: at most one attempt can apply.
  ops.push_back(exists_ ? Op::Set(path_, std::move(record), version_)
                        : Op::Create(path_, std::move(record),
                                     CreateMode::kPersistentWithTtl, {},
                                     absl::ToInt64Milliseconds(kMarkerTtl)));
  absl::StatusOr<std::vector<OpResult>> done =
      coordinator_.Multi(std::move(ops));
  if (done.ok()) {
    exists_ = true;
    version_ = done->back().stat.version;
    done->pop_back();
    in_doubt_ = false;
    doubted_ = false;
    Settled settled;
    settled.applied = true;
    settled.payload = std::move(attempt.payload);
    settled.note = std::move(note);
    settled.results = *std::move(done);
    return settled;
  }
  const absl::Status& status = done.status();
  const int failed = FailedOpIndex(status);
  if (failed >= 0 && failed < n) {  // nothing applied
    if (!attempt.in_doubt) attempts_.erase(note);
    return status;
  }
  if (failed == n) {
    switch (ErrorOf(status)) {
      case Error::kNoNode:
        if (exists_) {
          exists_ = false;  // unused for kMarkerTtl: the ensemble deleted it
        } else {
          const absl::Status area = EnsureArea(deadline);
          if (!area.ok()) return area;
        }
        return Settled{};
      case Error::kNodeExists:
      case Error::kBadVersion:
        // The marker is not as this writer knew it: an earlier attempt of
        // the op applied after all, or the marker was made anew.
        return Settle(deadline);
      default:
        return status;
    }
  }
  if (!OutcomeUnknown(status)) return status;
  in_doubt_ = true;
  doubted_ = true;
  attempt.in_doubt = true;
  return Settle(deadline);
}

absl::StatusOr<Settled> OpMarker::Settle(absl::Time deadline) {
  for (int round = 0;; ++round) {
    if (round > 0 && absl::Now() >= deadline) {
      return MakeError(Error::kConnectionLoss,
                       absl::StrCat("the outcome of a write recorded by ",
                                    path_,
                                    " is unknown: no leader answered in time"));
    }
    if (round > 0) Pause(coordinator_, deadline);
    const absl::Status synced = coordinator_.Sync(area_);
    if (!synced.ok()) {
      if (OutcomeUnknown(synced)) continue;
      return synced;
    }
    absl::StatusOr<Node> marker = coordinator_.Get(path_);
    if (ErrorOf(marker.status()) == Error::kNoNode) {
      // Never made, or unused for kMarkerTtl: no attempt of this op (sent
      // less than kSettleTimeout ago) applied.
      exists_ = false;
      in_doubt_ = false;
      return Settled{};
    }
    if (!marker.ok()) {
      if (OutcomeUnknown(marker.status())) continue;
      return marker.status();
    }
    exists_ = true;
    version_ = marker->stat.version;
    in_doubt_ = false;
    const std::string_view data = marker->data;
    const size_t space = data.find(' ');
    int64_t seq = -1;
    if (space == std::string_view::npos ||
        !absl::SimpleAtoi(AV(data.substr(0, space)), &seq) || seq != seq_) {
      return Settled{};
    }
    doubted_ = false;  // applied: the op's outcome is known
    Settled settled;
    settled.applied = true;
    settled.note = std::string(data.substr(space + 1));
    auto attempt = attempts_.find(settled.note);
    if (attempt != attempts_.end()) {
      settled.payload = std::move(attempt->second.payload);
    }
    return settled;
  }
}

absl::Status OpMarker::EnsureArea(absl::Time deadline) {
  while (true) {
    const absl::Status s =
        coordinator_.Create(area_, "", CreateMode::kPersistent).status();
    // NoNode: the recipe's node is gone; the caller's ops find that out.
    if (s.ok() || ErrorOf(s) == Error::kNodeExists ||
        ErrorOf(s) == Error::kNoNode) {
      return absl::OkStatus();
    }
    if (!OutcomeUnknown(s)) return s;
    if (absl::Now() >= deadline) {
      return MakeError(Error::kConnectionLoss,
                       absl::StrCat("no leader answered in time to create ",
                                    area_));
    }
    Pause(coordinator_, deadline);
  }
}

OpMarkers::OpMarkers(Coordinator& coordinator, std::string area,
                     std::string tag)
    : coordinator_(coordinator),
      area_(std::move(area)),
      prefix_(absl::StrCat(NewProtectedPrefix(), "-", tag)) {}

OpMarkers::~OpMarkers() {
  std::vector<std::string> paths;
  {
    MutexLock lock(&mu_);
    for (const std::unique_ptr<OpMarker>& marker : all_) {
      if (marker->may_exist()) paths.push_back(marker->path());
    }
  }
  for (const std::string& path : paths) {
    // Not waited for: a marker whose delete fails goes with its TTL.
    coordinator_.DeleteAsync(path, -1, [](absl::Status) {});
  }
}

OpMarkers::Lease::~Lease() {
  if (marker_ == nullptr) return;
  MutexLock lock(&pool_->mu_);
  pool_->free_.push_back(marker_);
}

OpMarkers::Lease OpMarkers::Acquire() {
  MutexLock lock(&mu_);
  // A marker left in doubt first: its next Begin settles (and, for a
  // take, delivers) the op it holds.
  auto doubt = std::find_if(free_.begin(), free_.end(),
                            [](OpMarker* m) { return m->in_doubt(); });
  if (doubt != free_.end()) {
    std::iter_swap(doubt, free_.end() - 1);
  }
  if (!free_.empty()) {
    OpMarker* marker = free_.back();
    free_.pop_back();
    return Lease(this, marker);
  }
  all_.push_back(std::make_unique<OpMarker>(
      coordinator_, area_,
      absl::StrCat(area_, "/", prefix_, all_.size())));
  return Lease(this, all_.back().get());
}

}  // namespace synod::recipes::internal
