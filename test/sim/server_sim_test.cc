// Whole-server simulation sweeps (test/sim/server_sim.h) and the bite tests:
// each deliberate host bug (server/mutation.h) is caught by the rule it
// breaks, and the correct server passes the same fault mixes.

#include "sim/server_sim.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/mutation.h"

namespace synod::sim {
namespace {

using server::Mutation;

// Seeds per CI run: 10,000 in all (fewer under the sanitizers, which are
// many times slower; SYNOD_SERVER_SIM_SEEDS overrides).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSweepSeeds = 250;
#else
constexpr int kSweepSeeds = 2500;
#endif
// Failing runs a sweep reports in full (the rest only count).
constexpr int kReported = 2;

int SweepSeeds() {
  const char* env = std::getenv("SYNOD_SERVER_SIM_SEEDS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : kSweepSeeds;
}

std::string Report(const ServerSimOptions& o, const ServerSimResult& r) {
  return "seed " + std::to_string(o.seed) + ": " + r.failure +
         "\nreplay: " + ServerSimReplayCommand(o) +
         "\n---- last trace lines ----\n" + r.trace;
}

// Runs `seeds` seeds from `first` with `base`; returns how many failed.
// A run whose history was too large to check for linearizability counts
// as failed if more than one in a hundred are (the check must bite).
int Sweep(ServerSimOptions base, uint64_t first, int seeds) {
  int failed = 0;
  int unchecked = 0;
  for (int i = 0; i < seeds; ++i) {
    ServerSimOptions o = base;
    o.seed = first + static_cast<uint64_t>(i);
    ServerSimResult r = RunServerSim(o);
    if (!r.ok && ++failed <= kReported) {
      UNSCOPED_INFO(Report(o, r));
    }
    if (r.history_unchecked) ++unchecked;
  }
  if (unchecked * 100 > seeds) {
    UNSCOPED_INFO(unchecked << " of " << seeds
                            << " histories too large to check");
    ++failed;
  }
  return failed;
}

// The fault mix under which losing the disk's last write matters most:
// frequent crashes, slow disks and many writes.
ServerSimOptions CrashHeavy() {
  ServerSimOptions o;
  o.crash_rate = 0.005;
  o.slow_disk_rate = 0.01;
  o.write_rate = 0.1;
  return o;
}

// Returns the first seed in [1, max_seeds] whose run with `mutation` fails,
// with its failure in *failure; 0 if none does.
uint64_t FirstFailure(ServerSimOptions o, Mutation mutation, int max_seeds,
                      std::string* failure) {
  o.mutation = mutation;
  for (int s = 1; s <= max_seeds; ++s) {
    o.seed = static_cast<uint64_t>(s);
    ServerSimResult r = RunServerSim(o);
    if (!r.ok) {
      *failure = r.failure;
      return o.seed;
    }
  }
  return 0;
}

// The rule a failure names: "t=T: <rule>: ...".
std::string RuleOf(const std::string& failure) {
  const size_t a = failure.find(": ");
  const size_t b = failure.find(": ", a + 2);
  if (a == std::string::npos || b == std::string::npos) return failure;
  return failure.substr(a + 2, b - a - 2);
}

TEST_CASE("Server sweep: 3 voters, every fault, seeds 1-2500", "[sim]") {
  CHECK(Sweep(ServerSimOptions{}, 1, SweepSeeds()) == 0);
}

TEST_CASE("Server sweep: 3 voters, every fault, seeds 2501-5000", "[sim]") {
  CHECK(Sweep(ServerSimOptions{}, 2501, SweepSeeds()) == 0);
}

TEST_CASE("Server sweep: 3 voters, crash-heavy, seeds 5001-7500", "[sim]") {
  CHECK(Sweep(CrashHeavy(), 5001, SweepSeeds()) == 0);
}

TEST_CASE("Server sweep: 5 voters, every fault, seeds 7501-10000", "[sim]") {
  ServerSimOptions o;
  o.voters = 5;
  CHECK(Sweep(o, 7501, SweepSeeds()) == 0);
}

TEST_CASE("Server sweep: configuration changes, every fault, seeds "
          "10001-11250",
          "[sim][membership]") {
  // The serving leader demotes voters (itself included) and promotes them
  // back; the end checks one configuration everywhere, applied and in every
  // history, restarted peers included (their stored configuration).
  ServerSimOptions o;
  o.config_change_rate = 0.003;
  int failed = 0;
  int64_t changes = 0;
  const int seeds = std::max(1, SweepSeeds() / 2);
  for (int i = 0; i < seeds; ++i) {
    o.seed = 10001 + static_cast<uint64_t>(i);
    ServerSimResult r = RunServerSim(o);
    if (!r.ok && ++failed <= kReported) UNSCOPED_INFO(Report(o, r));
    changes += r.config_changes;
  }
  CHECK(failed == 0);
  CHECK(changes > seeds);  // the sweep did change configurations
}

TEST_CASE("A seed replays exactly", "[sim]") {
  ServerSimOptions o;
  o.seed = 42;
  const ServerSimResult a = RunServerSim(o);
  const ServerSimResult b = RunServerSim(o);
  CHECK(a.ok == b.ok);
  CHECK(a.rounds == b.rounds);
  CHECK(a.applied == b.applied);
  CHECK(a.acknowledged == b.acknowledged);
  CHECK(a.refused == b.refused);
  CHECK(a.crashes == b.crashes);
  // The run did something worth checking.
  CHECK(a.acknowledged > 0);
  CHECK(a.applied > 0);
}

TEST_CASE("The sweeps exercise every fault and outcome", "[sim]") {
  ServerSimResult total;
  for (uint64_t s = 1; s <= 40; ++s) {
    ServerSimOptions o = CrashHeavy();
    o.seed = s;
    ServerSimResult r = RunServerSim(o);
    REQUIRE(r.ok);
    total.acknowledged += r.acknowledged;
    total.refused += r.refused;
    total.unknown += r.unknown;
    total.syncs += r.syncs;
    total.watches_fired += r.watches_fired;
    total.crashes += r.crashes;
    total.partitions += r.partitions;
    total.clock_jumps += r.clock_jumps;
    total.snapshots += r.snapshots;
    total.remote_sessions += r.remote_sessions;
    total.history_ops += r.history_ops;
    total.quota_refused += r.quota_refused;
    total.quotas_checked += r.quotas_checked;
    total.own_expiries += r.own_expiries;
    total.renewed_acks += r.renewed_acks;
    total.lease_rounds += r.lease_rounds;
    total.lease_lapses += r.lease_lapses;
    if (r.history_unchecked) total.history_unchecked = true;
  }
  CHECK(total.acknowledged > 0);
  CHECK(total.refused > 0);
  CHECK(total.unknown > 0);
  CHECK(total.syncs > 0);
  CHECK(total.watches_fired > 0);
  CHECK(total.crashes > 0);
  CHECK(total.partitions > 0);
  CHECK(total.clock_jumps > 0);
  CHECK(total.snapshots > 0);
  CHECK(total.remote_sessions > 0);
  CHECK(total.quota_refused > 0);
  CHECK(total.quotas_checked > 0);
  // Peers' own sessions expired, and the sessions that replaced them
  // served writes.
  CHECK(total.own_expiries > 0);
  CHECK(total.renewed_acks > 0);
  // Peers held session leases, and leases lapsed under the faults (on
  // sessions no replica had closed: the lease is conservative).
  CHECK(total.lease_rounds > 0);
  CHECK(total.lease_lapses > 0);
  // Every run's history was checked: writes and reads, by the hundred.
  CHECK(total.history_ops > 40 * 75);
  CHECK_FALSE(total.history_unchecked);
}

// ---- Bite tests: each host bug is caught, by the rule it breaks.

// The rule the first run of `o` with `mutation` to fail (seeds 1 to
// `max_seeds`) broke; "" if none failed.
std::string CaughtBy(ServerSimOptions o, Mutation mutation, int max_seeds) {
  std::string failure;
  if (FirstFailure(o, mutation, max_seeds, &failure) == 0) return "";
  UNSCOPED_INFO(failure);
  return RuleOf(failure);
}

TEST_CASE("Bite: acking entries before they are durable loses a committed "
          "write",
          "[sim]") {
  const std::string rule =
      CaughtBy(CrashHeavy(), Mutation::kAckBeforeDurable, 200);
  CHECK((rule == "agreement" || rule == "acknowledged" || rule == "storage"));
}

TEST_CASE("Bite: sending every message before its entries are durable loses "
          "a committed write",
          "[sim]") {
  const std::string rule =
      CaughtBy(CrashHeavy(), Mutation::kSendEverythingEarly, 200);
  CHECK((rule == "agreement" || rule == "acknowledged"));
}

TEST_CASE("Bite: applying proposals before they commit splits the replicas",
          "[sim]") {
  const std::string rule =
      CaughtBy(ServerSimOptions{}, Mutation::kApplyBeforeCommit, 100);
  CHECK((rule == "agreement" || rule == "refused"));
}

TEST_CASE("Bite: expiring sessions on a follower closes live sessions",
          "[sim]") {
  CHECK(CaughtBy(ServerSimOptions{}, Mutation::kExpireOnFollower, 100) ==
        "live session");
}

TEST_CASE("Bite: keeping forwarded writes after losing the leader is caught",
          "[sim]") {
  CHECK(CaughtBy(ServerSimOptions{}, Mutation::kKeepWritesOnLostLeader, 100) ==
        "lost leader");
}

TEST_CASE("Bite: a peer that forgets the remote sessions it hosts lets them "
          "expire",
          "[sim]") {
  CHECK(CaughtBy(ServerSimOptions{}, Mutation::kForgetHostedSessions, 100) ==
        "live session");
}

TEST_CASE("Bite: a leader that confirms sessions it no longer tracks gives "
          "a peer a lease on a closed session",
          "[sim]") {
  CHECK(CaughtBy(ServerSimOptions{}, Mutation::kLeaseAcksUntracked, 100) ==
        "lease");
}

TEST_CASE("Bite: reads that do not wait for their sync are not linearizable",
          "[sim]") {
  ServerSimOptions o;
  o.reads_skip_sync = true;
  CHECK(CaughtBy(o, Mutation::kNone, 100) == "linearizable");
}

}  // namespace
}  // namespace synod::sim
