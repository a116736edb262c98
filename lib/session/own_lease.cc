// OwnLease: see own_lease.h.

#include "session/own_lease.h"

#include <algorithm>

namespace synod {

int64_t OwnLease::Window(int64_t timeout_ms, int64_t tick_ms,
                         int follower_timeout_ticks, int ping_ticks) {
  const int64_t leader_change =
      (static_cast<int64_t>(follower_timeout_ticks) + ping_ticks + 2) *
      tick_ms;
  return timeout_ms - leader_change - timeout_ms / 50;
}

void OwnLease::Started(int64_t id, int64_t create_sent_ms, int64_t now_ms) {
  session_ = id;
  known_since_ms_ = now_ms;
  confirmed_ms_ = create_sent_ms;
}

void OwnLease::Ended() {
  session_ = 0;
  confirmed_ms_ = 0;
}

void OwnLease::Leading(int64_t now_ms) {
  if (session_ == 0) return;
  confirmed_ms_ = std::max(confirmed_ms_, now_ms);
}

void OwnLease::Acknowledged(int64_t sent_ms) {
  if (session_ == 0 || sent_ms < known_since_ms_) return;
  confirmed_ms_ = std::max(confirmed_ms_, sent_ms);
}

int64_t OwnLease::until() const {
  if (session_ == 0) return 0;
  if (unbounded_) return std::numeric_limits<int64_t>::max();
  if (window_ms_ <= 0) return 0;
  return confirmed_ms_ + window_ms_;
}

}  // namespace synod
