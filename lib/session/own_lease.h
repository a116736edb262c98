// OwnLease: how long the ensemble certainly still holds this Coordinator's
// session, on the local monotonic clock, from what this peer has seen
// (docs/sessions.md, "The session lease").
//
// A leader expires a session strictly more than its timeout after it last
// heard of it (session/session_tracker.h); a new leader gives every
// session a full timeout from when it starts to serve. So:
//
//  - A learner's touch sent at S and acknowledged by the leader was
//    applied at some R >= S, so that leader cannot expire the session
//    before S + timeout. A leader that was deposed without knowing yet
//    still acknowledges; but it steps down at most follower_timeout ticks
//    after its quorum last spoke to it, and no new leader serves before
//    that quorum stopped following it, so a new leader starts no earlier
//    than R less that bound (plus a ping interval and a tick of slack).
//  - A serving leader's own session is in the same position at every
//    round: it confirms "now".
//  - A session's create sent at C is applied at a time >= C: C is the
//    first confirmation, so the lease holds from the moment the session
//    exists, before the first acknowledgement.
//
// The lease therefore lasts until the latest confirmation plus `window`:
// the session timeout less that leader-change bound and a clock-rate
// allowance. While now < until(), no leader can have expired the session
// (closed it); the converse does not hold (a lapsed lease says "maybe").
// A peer cut off or a process paused past the window sees its lease lapse
// before the ensemble may expire its session, which is what lets a lock
// holder or a leader stop acting before another may start.
//
// Pure and deterministic: the caller passes the times. Not thread-safe.

#ifndef SYNOD_SESSION_OWN_LEASE_H_
#define SYNOD_SESSION_OWN_LEASE_H_

#include <cstdint>
#include <limits>

namespace synod {

class OwnLease {
 public:
  // The window for a session of `timeout_ms` on an ensemble whose tick is
  // `tick_ms`, whose leader steps down `follower_timeout_ticks` after its
  // quorum went silent and heartbeats every `ping_ticks`: timeout less
  // (follower_timeout + ping + 2) ticks less 2% for clock rates. At most 0
  // when the timeout is too short for a lease (then none is ever held).
  static int64_t Window(int64_t timeout_ms, int64_t tick_ms,
                        int follower_timeout_ticks, int ping_ticks);

  // No lease, for a session of `window_ms`.
  explicit OwnLease(int64_t window_ms) : window_ms_(window_ms) {}

  // A peer alone: its session lasts as long as it does.
  void SetUnbounded() { unbounded_ = true; }

  // The session `id` was created by a request sent at `create_sent_ms`;
  // known from `now_ms` (touches sent from then on name it). Replaces any
  // earlier session's lease.
  void Started(int64_t id, int64_t create_sent_ms, int64_t now_ms);
  // The session is gone or being closed: no lease until the next Started.
  void Ended();
  // This peer is the serving leader at `now_ms`.
  void Leading(int64_t now_ms);
  // The serving leader acknowledged this peer's touch sent at `sent_ms`.
  // Touches sent before the session was known do not count.
  void Acknowledged(int64_t sent_ms);

  // The session id the lease is for (0: none).
  int64_t session() const { return session_; }
  // The end of the lease on the caller's clock: 0 when there is none,
  // int64 max when unbounded.
  int64_t until() const;
  bool Valid(int64_t now_ms) const { return now_ms < until(); }

 private:
  const int64_t window_ms_;
  bool unbounded_ = false;
  int64_t session_ = 0;
  int64_t known_since_ms_ = 0;
  int64_t confirmed_ms_ = 0;  // the latest confirmation, 0: none
};

}  // namespace synod

#endif  // SYNOD_SESSION_OWN_LEASE_H_
