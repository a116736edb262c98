// A whole ensemble of real servers in one process: N server::Server (the
// host synod runs: routing, the Ready host, apply, checkpoints, sessions)
// each with its own Replica, MemoryStorage and clock, over the
// deterministic sim::Network, driven in virtual milliseconds by a seeded
// scheduler. The scheduler plays every part the threaded runtime plays: it
// feeds each server's rounds with what arrived (writes, peer messages,
// touches, the end of a log write), completes the one log write in flight
// after a random disk latency, and runs the tasks the server posts.
//
// Clients submit writes (creates of every mode, sets, deletes, multis) and
// syncs (each followed by reads) at random peers, on those peers' own
// sessions or on remote sessions the peers host (opened and closed by
// their clients, kept alive by their host, lost with it). Faults: message
// drops, duplicates and delays, partitions and isolation, crashes (the
// disk keeps what MemoryStorage's crash model allows: unsynced writes may
// be lost, the write in flight is lost), restarts from storage, slow disks,
// and jumps of a peer's wall clock.
//
// Checked after every round (a failure names its rule):
//   agreement      every peer applies txns in increasing zxid order, each
//                  one equal to the txn any other peer applied at that zxid,
//                  skipping none another peer applied (except by installing
//                  a snapshot or by restarting from its own storage);
//   acknowledged   a write that completed OK was applied at the zxid it was
//                  told (with its own data); none is lost (agreement then
//                  keeps it everyone's);
//   refused        a write that failed definitely (any error but
//                  ConnectionLoss or Closing) never applies anywhere;
//   session order  one session's OK writes complete in submission order
//                  with increasing zxids;
//   sync           a sync that completed OK at a peer leaves it holding
//                  every write acknowledged anywhere before the sync began;
//   lost leader    a round in which a peer loses its leader leaves nothing
//                  it forwarded or proposed waiting (their outcome is
//                  unknown, reported as ConnectionLoss at once);
//   live session   no session is closed while its peer has been served by
//                  a leader, without a break, for longer than the session
//                  timeout (a remote one: while its host kept it alive);
//   sessions       a remote session opened OK exists at its peer, one
//                  closed OK is gone there;
//   watches        a one-shot watch (data or child) fires exactly once,
//                  right after the round in which its peer applied the
//                  first txn that changes what it watches, with that
//                  change's event type, and never otherwise (a snapshot
//                  installed meanwhile excuses it);
// and at the end, once faults stop (heal, restart everything, fast disks):
// every live peer reaches the same last zxid and the same tree, holds every
// acknowledged write and no ephemeral of a session that is gone, holds
// only sessions someone holds (the others expire), and a fresh write at
// every peer completes OK; then the whole client history (writes, reads
// after syncs, session ends) is linearizable (sim_history.h).
//
// Deterministic: everything random comes from sim::Rng seeded by the seed;
// a failing seed replays exactly, with a trace.

#ifndef SYNOD_TEST_SIM_SERVER_SIM_H_
#define SYNOD_TEST_SIM_SERVER_SIM_H_

#include <cstdint>
#include <string>

#include "server/mutation.h"

namespace synod::sim {

struct ServerSimOptions {
  uint64_t seed = 1;
  int voters = 3;
  // Virtual milliseconds of the faulty phase.
  int64_t duration_ms = 3000;
  // Per-message faults and latency (ms).
  double drop_rate = 0.01;
  double dup_rate = 0.01;
  int64_t min_delay_ms = 0;
  int64_t max_delay_ms = 4;
  // Per-millisecond probabilities.
  double write_rate = 0.04;      // a client write at a random live peer
  double sync_rate = 0.005;      // a client sync at a random live peer
  double watch_rate = 0.01;      // a client watch at a random live peer
  double open_rate = 0.002;      // a remote client opens a session
  double close_rate = 0.001;     // a remote client closes its session
  double crash_rate = 0.0006;    // crash a random live peer
  double restart_rate = 0.004;   // restart a random crashed peer
  double partition_rate = 0.0006;  // partition, isolate or heal
  double slow_disk_rate = 0.0006;  // one peer's disk slow for a while
  double clock_jump_rate = 0.0006;  // one peer's wall clock jumps
  // The serving leader demotes a voter (never below two) or promotes an
  // observer (zab configuration changes through the log).
  double config_change_rate = 0;
  // After the faulty phase: at most this long to converge and to complete
  // a fresh write at every peer.
  int64_t settle_ms = 6000;
  // A deliberate host bug (tests of the checks only).
  server::Mutation mutation = server::Mutation::kNone;
  // Tests of the linearizability check only: reads that do not wait for
  // their sync (taken when it is submitted), which may be stale.
  bool reads_skip_sync = false;
  // Record a trace (kept whole); without it a failing run is replayed once
  // with a trace to report its tail.
  bool trace = false;
};

struct ServerSimResult {
  bool ok = true;
  // On failure: "t=T: <rule>: <details>".
  std::string failure;
  // The whole trace with options.trace; else, on failure, its tail.
  std::string trace;
  int64_t rounds = 0;
  int64_t applied = 0;       // length of the global applied sequence
  int64_t writes = 0;        // client writes submitted
  int64_t acknowledged = 0;  // completed OK
  int64_t refused = 0;       // failed definitely
  int64_t unknown = 0;       // ConnectionLoss or Closing
  int64_t syncs = 0;
  int64_t remote_sessions = 0;  // opened OK
  int64_t history_ops = 0;      // operations the linearizability check saw
  // The history was too large to check within the checker's bound (not a
  // violation; counted by the tests).
  bool history_unchecked = false;
  int64_t watches_fired = 0;
  int64_t crashes = 0;
  int64_t partitions = 0;
  int64_t clock_jumps = 0;
  int64_t snapshots = 0;     // snapshots installed
  int64_t config_changes = 0;  // configuration changes a leader took
  int64_t quota_refused = 0;   // writes refused with QuotaExceeded
  int64_t quotas_checked = 0;  // quotas whose counts the end state checked
  int64_t own_expiries = 0;    // peers' own sessions expired (then renewed)
  int64_t renewed_acks = 0;    // writes acknowledged on a renewed session
  int64_t lease_rounds = 0;    // rounds after which a peer held a lease
  int64_t lease_lapses = 0;    // leases that lapsed on a session not closed
};

// Runs one simulation. Deterministic in `options`.
ServerSimResult RunServerSim(const ServerSimOptions& options);

// The command that replays `options` with synod_server_sim.
std::string ServerSimReplayCommand(const ServerSimOptions& options);

}  // namespace synod::sim

#endif  // SYNOD_TEST_SIM_SERVER_SIM_H_
