// The leader's session deadlines, as ZooKeeper's SessionTrackerImpl keeps
// them: every open session has a deadline (its last touch plus its
// timeout); the leader proposes close_session for each session whose
// deadline passed. Only a serving leader tracks; other peers forward the
// touches of their sessions to it.
//
// Deadlines are grouped in buckets of a fixed interval (ZooKeeper's
// ExpiryQueue, with the tick as the interval): a session whose deadline is
// d sits in the bucket at ExpiryTime(d), the first multiple of the interval
// strictly after d. Finding the expired sessions visits only the buckets
// passed since the last call, so it costs O(expired + buckets passed), not
// O(sessions); a touch moves a session between buckets in O(1) (expected,
// hashing).
//
// Guarantee: TakeExpired(now) reports a tracked session exactly when
// now >= ExpiresAt(id), where d < ExpiresAt(id) <= d + interval and d is
// the time of its last Add, Touch or StartLeading plus its timeout. So a
// session is never reported before its timeout has passed since it was
// last heard from (strictly more than timeout ms), and at most one interval
// after: it is reported by the first TakeExpired call at or after
// d + interval.
//
// Pure and deterministic: no clock (callers pass `now_ms`, a monotonic
// millisecond clock they own), no threads, no I/O; the ids reported are
// sorted, so no hash order reaches the caller. Not thread-safe.

#ifndef SYNOD_SESSION_SESSION_TRACKER_H_
#define SYNOD_SESSION_SESSION_TRACKER_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace synod {

class SessionTracker {
 public:
  // Groups deadlines in buckets of `interval_ms` (the tick; values below 1
  // are taken as 1). Starts not leading, tracking nothing.
  explicit SessionTracker(int64_t interval_ms);

  // Begins a leadership: forgets every deadline, then tracks each session
  // of `sessions` (a range of (id, timeout_ms) pairs, such as
  // DataTree::sessions()) with a full timeout from `now_ms`, as ZooKeeper's
  // new leader does. Called again (a new epoch), it starts over the same
  // way.
  template <typename Range>
  void StartLeading(const Range& sessions, int64_t now_ms) {
    Clear();
    leading_ = true;
    for (const auto& [id, timeout_ms] : sessions) Add(id, timeout_ms, now_ms);
  }

  // Ends the leadership (or notes that there is none): forgets every
  // deadline; Add and Touch are ignored until StartLeading.
  void StopLeading();

  // Returns true between StartLeading and StopLeading.
  bool leading() const { return leading_; }

  // A create_session of `id` with `timeout_ms` committed: tracks it with
  // deadline now_ms + timeout_ms (negative timeouts count as 0). An id
  // already tracked takes the new timeout and deadline. Ignored when not
  // leading.
  void Add(int64_t id, int32_t timeout_ms, int64_t now_ms);

  // A close_session of `id` committed: stops tracking it. Ignored for ids
  // not tracked (already reported expired, or unknown).
  void Remove(int64_t id);

  // `id` was heard from: its deadline becomes now_ms + its timeout.
  // Ignored for ids not tracked (unknown, closed, or already reported
  // expired: a session the leader is closing cannot be revived).
  void Touch(int64_t id, int64_t now_ms);

  // Returns, sorted, the sessions whose bucket time has come
  // (now_ms >= ExpiresAt(id)) and stops tracking them: each is reported
  // once, and again only if re-added (Add or StartLeading). The leader then
  // proposes close_session for each.
  std::vector<int64_t> TakeExpired(int64_t now_ms);

  // Returns the time at or after which TakeExpired reports `id`, or nullopt
  // if `id` is not tracked.
  std::optional<int64_t> ExpiresAt(int64_t id) const;

  // Returns the number of sessions tracked.
  size_t size() const { return sessions_.size(); }
  // Returns true if `id` is tracked.
  bool Tracks(int64_t id) const { return sessions_.contains(id); }
  // Returns the bucket interval in ms.
  int64_t interval_ms() const { return interval_ms_; }

  // Returns the first multiple of the interval strictly after `deadline_ms`:
  // the bucket a session with that deadline is reported in.
  int64_t ExpiryTime(int64_t deadline_ms) const;

 private:
  struct Entry {
    int32_t timeout_ms = 0;
    int64_t bucket = 0;  // ExpiryTime(deadline), a key of buckets_
  };
  static constexpr int64_t kNeverPolled = std::numeric_limits<int64_t>::min();

  // Forgets every session and bucket (the leadership flag stays).
  void Clear();
  // Puts `id` (in sessions_) into the bucket for now_ms + its timeout;
  // now_ms below the latest TakeExpired time counts as that time, so that a
  // caller's out-of-order clock readings never place a session in a bucket
  // TakeExpired has already passed (its deadline only gets later).
  void Place(int64_t id, Entry* entry, int64_t now_ms);
  // Takes `id` out of the bucket `bucket`, dropping the bucket if empty.
  void Unplace(int64_t id, int64_t bucket);

  const int64_t interval_ms_;
  bool leading_ = false;
  // The latest time TakeExpired was called with (kNeverPolled before the
  // first call), and the first bucket time after it: every bucket time is
  // >= next_bucket_, since TakeExpired took all the earlier ones.
  int64_t polled_ms_ = kNeverPolled;
  int64_t next_bucket_ = kNeverPolled;
  absl::flat_hash_map<int64_t, Entry> sessions_;
  // Bucket time -> the sessions in it; never holds an empty set.
  absl::flat_hash_map<int64_t, absl::flat_hash_set<int64_t>> buckets_;
};

}  // namespace synod

#endif  // SYNOD_SESSION_SESSION_TRACKER_H_
