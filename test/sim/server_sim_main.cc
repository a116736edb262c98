// synod_server_sim: runs whole-server simulations (test/sim/server_sim) for
// one seed or a range of seeds, prints each failing run (every run with
// --verbose) and totals, and exits non-zero if any run failed.
//
//   synod_server_sim --seed=123 --trace
//   synod_server_sim --seed=1 --seeds=2000 --voters=5
//
// Flags: --seed=S (first seed, default 1), --seeds=N (how many consecutive
// seeds), --voters=V, --duration=MS (the faulty phase, virtual ms),
// --trace (print each run's whole trace), --verbose, --no-faults; fault
// mix (per virtual ms): --crash=P, --slow-disk=P, --partition=P, --write=P;
// --mutation=NAME (tests the checks: ack-before-durable,
// apply-before-commit, send-everything-early, expire-on-follower,
// keep-writes-on-lost-leader, forget-hosted-sessions, lease-acks-untracked); --reads-skip-sync (tests the linearizability
// check: the clients' reads do not wait for their sync).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/mutation.h"
#include "sim/server_sim.h"
#include "sim/sim_flags.h"

namespace {

using synod::sim::ServerSimOptions;
using synod::sim::Flag;
using synod::sim::ServerSimResult;

bool ParseMutation(const std::string& name, synod::server::Mutation* out) {
  using synod::server::Mutation;
  for (Mutation m :
       {Mutation::kNone, Mutation::kAckBeforeDurable,
        Mutation::kApplyBeforeCommit, Mutation::kSendEverythingEarly,
        Mutation::kExpireOnFollower, Mutation::kKeepWritesOnLostLeader,
        Mutation::kForgetHostedSessions, Mutation::kLeaseAcksUntracked}) {
    if (name == synod::server::MutationName(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

int Usage(const char* bad) {
  std::fprintf(stderr,
               "synod_server_sim: bad flag '%s'\n"
               "usage: synod_server_sim [--seed=S] [--seeds=N] [--voters=V] "
               "[--duration=MS] [--trace] [--verbose] [--no-faults] "
               "[--mutation=NAME] [--reads-skip-sync] [--config-change=P]\n",
               bad);
  return 2;
}

std::string Summary(const ServerSimOptions& o, const ServerSimResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "seed %llu: %s: %lld rounds, %lld applied, %lld writes "
                "(%lld ok, %lld refused, %lld unknown), %lld syncs, %lld "
                "watch events, %lld remote sessions, %lld ops checked "
                "linearizable%s, %lld "
                "crashes, %lld partitions, %lld clock jumps, %lld snapshots",
                static_cast<unsigned long long>(o.seed),
                r.ok ? "ok" : r.failure.c_str(),
                static_cast<long long>(r.rounds),
                static_cast<long long>(r.applied),
                static_cast<long long>(r.writes),
                static_cast<long long>(r.acknowledged),
                static_cast<long long>(r.refused),
                static_cast<long long>(r.unknown),
                static_cast<long long>(r.syncs),
                static_cast<long long>(r.watches_fired),
                static_cast<long long>(r.remote_sessions),
                static_cast<long long>(r.history_ops),
                r.history_unchecked ? " (too large: unchecked)" : "",
                static_cast<long long>(r.crashes),
                static_cast<long long>(r.partitions),
                static_cast<long long>(r.clock_jumps),
                static_cast<long long>(r.snapshots));
  std::string out = buf;
  if (r.config_changes != 0) {
    out += ", " + std::to_string(r.config_changes) + " config changes";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  ServerSimOptions options;
  uint64_t first_seed = 1;
  uint64_t seeds = 1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    std::string v;
    if (Flag(a, "seed", &v)) {
      first_seed = std::strtoull(v.c_str(), nullptr, 10);
    } else if (Flag(a, "seeds", &v)) {
      seeds = std::strtoull(v.c_str(), nullptr, 10);
    } else if (Flag(a, "voters", &v)) {
      options.voters = std::atoi(v.c_str());
    } else if (Flag(a, "duration", &v)) {
      options.duration_ms = std::atoll(v.c_str());
    } else if (Flag(a, "crash", &v)) {
      options.crash_rate = std::atof(v.c_str());
    } else if (Flag(a, "slow-disk", &v)) {
      options.slow_disk_rate = std::atof(v.c_str());
    } else if (Flag(a, "partition", &v)) {
      options.partition_rate = std::atof(v.c_str());
    } else if (Flag(a, "config-change", &v)) {
      options.config_change_rate = std::atof(v.c_str());
    } else if (Flag(a, "write", &v)) {
      options.write_rate = std::atof(v.c_str());
    } else if (Flag(a, "mutation", &v)) {
      if (!ParseMutation(v, &options.mutation)) return Usage(a);
    } else if (std::strcmp(a, "--reads-skip-sync") == 0) {
      options.reads_skip_sync = true;
    } else if (std::strcmp(a, "--trace") == 0) {
      options.trace = true;
    } else if (std::strcmp(a, "--verbose") == 0) {
      verbose = true;
    } else if (std::strcmp(a, "--no-faults") == 0) {
      options.drop_rate = options.dup_rate = 0;
      options.crash_rate = options.partition_rate = 0;
      options.slow_disk_rate = options.clock_jump_rate = 0;
    } else {
      return Usage(a);
    }
  }
  if (seeds == 0 || options.voters < 1 || options.duration_ms < 0) {
    return Usage("(values)");
  }
  const auto start = std::chrono::steady_clock::now();
  uint64_t failed = 0;
  int64_t rounds = 0;
  for (uint64_t s = 0; s < seeds; ++s) {
    ServerSimOptions o = options;
    o.seed = first_seed + s;
    ServerSimResult r = synod::sim::RunServerSim(o);
    rounds += r.rounds;
    if (options.trace) std::fputs(r.trace.c_str(), stdout);
    if (!r.ok || verbose || seeds == 1) {
      std::printf("%s\n", Summary(o, r).c_str());
    }
    if (!r.ok) {
      ++failed;
      if (!options.trace) {
        std::printf("---- last trace lines ----\n%s", r.trace.c_str());
      }
      std::printf("replay: %s\n",
                  synod::sim::ServerSimReplayCommand(o).c_str());
    }
    std::fflush(stdout);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("%llu runs, %llu failed, %lld rounds in %.2fs (%.0f runs/s)\n",
              static_cast<unsigned long long>(seeds),
              static_cast<unsigned long long>(failed),
              static_cast<long long>(rounds), secs,
              secs > 0 ? seeds / secs : 0.0);
  return failed == 0 ? 0 : 1;
}
