#include "session/session_tracker.h"

#include <algorithm>

namespace synod {

SessionTracker::SessionTracker(int64_t interval_ms)
    : interval_ms_(std::max<int64_t>(interval_ms, 1)) {}

int64_t SessionTracker::ExpiryTime(int64_t deadline_ms) const {
  // Floor division, so that negative times round the same way.
  int64_t q = deadline_ms / interval_ms_;
  if (deadline_ms % interval_ms_ < 0) --q;
  return (q + 1) * interval_ms_;
}

void SessionTracker::StopLeading() {
  Clear();
  leading_ = false;
}

void SessionTracker::Clear() {
  sessions_.clear();
  buckets_.clear();
}

void SessionTracker::Add(int64_t id, int32_t timeout_ms, int64_t now_ms) {
  if (!leading_) return;
  auto [it, added] = sessions_.try_emplace(id);
  if (!added) Unplace(id, it->second.bucket);
  it->second.timeout_ms = std::max<int32_t>(timeout_ms, 0);
  Place(id, &it->second, now_ms);
}

void SessionTracker::Remove(int64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Unplace(id, it->second.bucket);
  sessions_.erase(it);
}

void SessionTracker::Touch(int64_t id, int64_t now_ms) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  const int64_t bucket = it->second.bucket;
  const int64_t base = std::max(now_ms, polled_ms_);
  // Most touches land in the bucket the session is already in.
  if (ExpiryTime(base + it->second.timeout_ms) == bucket) return;
  Unplace(id, bucket);
  Place(id, &it->second, now_ms);
}

void SessionTracker::Place(int64_t id, Entry* entry, int64_t now_ms) {
  const int64_t base = std::max(now_ms, polled_ms_);
  entry->bucket = ExpiryTime(base + entry->timeout_ms);
  buckets_[entry->bucket].insert(id);
}

void SessionTracker::Unplace(int64_t id, int64_t bucket) {
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) buckets_.erase(it);
}

std::vector<int64_t> SessionTracker::TakeExpired(int64_t now_ms) {
  std::vector<int64_t> expired;
  if (now_ms < next_bucket_) return expired;  // no bucket is due yet
  auto take = [&](absl::flat_hash_set<int64_t>& ids) {
    for (int64_t id : ids) {
      expired.push_back(id);
      sessions_.erase(id);
    }
  };
  // Walk the bucket times passed since the last call, unless there are
  // more of them than buckets (a first call, or a long pause): then visit
  // each bucket once instead. Either way O(buckets passed).
  if (next_bucket_ == kNeverPolled ||
      static_cast<uint64_t>((now_ms - next_bucket_) / interval_ms_) >=
          buckets_.size()) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      if (it->first <= now_ms) {
        take(it->second);
        buckets_.erase(it++);
      } else {
        ++it;
      }
    }
  } else {
    for (int64_t t = next_bucket_; t <= now_ms; t += interval_ms_) {
      auto it = buckets_.find(t);
      if (it == buckets_.end()) continue;
      take(it->second);
      buckets_.erase(it);
    }
  }
  polled_ms_ = now_ms;
  next_bucket_ = ExpiryTime(now_ms);
  std::sort(expired.begin(), expired.end());
  return expired;
}

std::optional<int64_t> SessionTracker::ExpiresAt(int64_t id) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second.bucket;
}

}  // namespace synod
