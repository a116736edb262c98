// Published: what the server publishes for other threads (health, the
// session state the API checks), as atomics. The server writes them; the
// runtime reads them and counts submissions.

#ifndef SYNOD_SERVER_PUBLISHED_H_
#define SYNOD_SERVER_PUBLISHED_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "synod/types.h"
#include "util/latency_histogram.h"
#include "util/mutex.h"
#include "zab/config.h"
#include "zab/core.h"

namespace synod::server {

struct Published {
  // This Coordinator's own session (0: none yet, or expired and none new
  // yet).
  std::atomic<int64_t> session_id{0};
  std::atomic<bool> connected{false};
  // Until when (the server's steady clock, ms) the ensemble certainly holds
  // our session (session/own_lease.h): 0 for no lease.
  std::atomic<int64_t> session_lease_until_ms{0};
  // How many of our sessions the ensemble expired (OwnSession::generation).
  std::atomic<int64_t> session_generation{0};
  std::atomic<zab::PeerState> role{zab::PeerState::kLooking};
  std::atomic<int64_t> epoch{0};
  std::atomic<uint64_t> leader_id{0};
  // The last txn applied to the replica: set after its watch events are
  // queued for the dispatcher, before its completion runs.
  std::atomic<Zxid> last_applied{0};
  // Recovering from a damaged log (no vote until a leader synced us).
  std::atomic<bool> recovering{false};
  // The configuration of this peer's history (its last config entry).
  mutable Mutex config_mu;
  zab::Config config ABSL_GUARDED_BY(config_mu);
  // On the serving leader: what it knows of each other member, refreshed
  // every tick (empty elsewhere).
  std::vector<zab::MemberState> member_states ABSL_GUARDED_BY(config_mu);

  // Counters.
  std::atomic<int64_t> writes{0};
  std::atomic<int64_t> write_errors{0};
  std::atomic<int64_t> pending_writes{0};
  std::atomic<int64_t> log_syncs{0};
  std::atomic<int64_t> txns_logged{0};
  std::atomic<int64_t> snapshots_installed{0};
  std::atomic<int64_t> snapshots_sent{0};
  // Elections this peer came out of: times it went from looking to a role
  // (leading, following, observing).
  std::atomic<int64_t> elections{0};
  // Latencies: successful writes from submission to completion, and synced
  // log appends.
  LatencyRecorder write_latency;
  LatencyRecorder fsync_latency;
  // The preparer's quota counters (txn/preparer.h), while this peer leads.
  std::atomic<int64_t> quota_soft_exceeded{0};
  std::atomic<int64_t> quota_hard_exceeded{0};
};

}  // namespace synod::server

#endif  // SYNOD_SERVER_PUBLISHED_H_
