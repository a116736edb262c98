// synod_zab_sim: runs whole-ensemble zab simulations (test/sim/ensemble)
// for one seed or a range of seeds, prints a summary per failing run (every
// run with --verbose) and totals, and exits non-zero if any run failed.
//
//   synod_zab_sim --seed=123 --voters=5 --steps=1000 --trace
//   synod_zab_sim --seed=1 --seeds=500 --voters=3 --observers=1
//
// Flags: --seed=S (first seed, default 1), --seeds=N (how many consecutive
// seeds, default 1), --voters=V, --observers=O, --steps=N, --trace (print
// the whole trace of each run), --verbose; fault mix: --drop=P, --dup=P,
// --crash=P, --partition=P, --slow-disk=P, --propose=P, --compact=P (a
// host compacts through its applied state), --config-change=P (the leader
// promotes an observer or demotes a voter), --no-faults, --min-delay=U,
// --max-delay=U, --torn, --log-loss=P (a crash damages the disk's log);
// liveness:
// --settle-ticks=T, --apply-ticks=T, --no-liveness; --no-agreement-check
// (skip the core-log == disk check); --mutation=NAME (tests the checks:
// commit-without-quorum, forget-accepted-epoch, follow-old-epoch-leader,
// skip-trunc, ignore-recovering).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sim/ensemble.h"
#include "sim/sim_flags.h"
#include "zab/core.h"

namespace {

using synod::sim::ReplayCommand;
using synod::sim::RunResult;
using synod::sim::SimOptions;

using synod::sim::Flag;

int Usage(const char* bad) {
  std::fprintf(stderr,
               "synod_zab_sim: bad flag '%s'\n"
               "usage: synod_zab_sim [--seed=S] [--seeds=N] [--voters=V] "
               "[--observers=O] [--joiners=J] [--steps=N] [--trace] [--verbose]\n"
               "  [--drop=P] [--dup=P] [--crash=P] [--partition=P] "
               "[--slow-disk=P] [--propose=P] [--compact=P] [--config-change=P] [--no-faults]\n"
               "  [--min-delay=U] [--max-delay=U] [--torn] [--log-loss=P]\n"
               "  [--settle-ticks=T] [--apply-ticks=T] [--no-liveness] "
               "[--mutation=NAME] [--no-agreement-check]\n"
               "  [--autopilot=DEAD_TICKS] [--autopilot-voters=N]\n",
               bad);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions options;
  uint64_t first_seed = 1;
  uint64_t seeds = 1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    std::string v;
    if (Flag(a, "seed", &v)) first_seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (Flag(a, "seeds", &v)) seeds = std::strtoull(v.c_str(), nullptr, 10);
    else if (Flag(a, "voters", &v)) options.voters = std::atoi(v.c_str());
    else if (Flag(a, "observers", &v)) options.observers = std::atoi(v.c_str());
    else if (Flag(a, "joiners", &v)) options.joiners = std::atoi(v.c_str());
    else if (Flag(a, "steps", &v)) options.steps = std::atoll(v.c_str());
    else if (Flag(a, "drop", &v)) options.drop_rate = std::atof(v.c_str());
    else if (Flag(a, "dup", &v)) options.dup_rate = std::atof(v.c_str());
    else if (Flag(a, "crash", &v)) options.crash_rate = std::atof(v.c_str());
    else if (Flag(a, "partition", &v)) options.partition_rate = std::atof(v.c_str());
    else if (Flag(a, "slow-disk", &v)) options.slow_disk_rate = std::atof(v.c_str());
    else if (Flag(a, "compact", &v)) options.compact_rate = std::atof(v.c_str());
    else if (Flag(a, "config-change", &v)) options.config_change_rate = std::atof(v.c_str());
    else if (Flag(a, "autopilot", &v)) options.autopilot_dead_ticks = std::atoll(v.c_str());
    else if (Flag(a, "autopilot-voters", &v)) options.autopilot_voters = static_cast<size_t>(std::atoll(v.c_str()));
    else if (Flag(a, "log-loss", &v)) options.log_loss_rate = std::atof(v.c_str());
    else if (Flag(a, "propose", &v)) options.propose_rate = std::atof(v.c_str());
    else if (Flag(a, "min-delay", &v)) options.min_delay = std::atoll(v.c_str());
    else if (Flag(a, "max-delay", &v)) options.max_delay = std::atoll(v.c_str());
    else if (Flag(a, "settle-ticks", &v)) options.settle_ticks = std::atoll(v.c_str());
    else if (Flag(a, "apply-ticks", &v)) options.apply_ticks = std::atoll(v.c_str());
    else if (Flag(a, "mutation", &v)) {
      if (!synod::sim::ParseMutation(v, &options.core.mutation)) {
        return Usage(a);
      }
    } else if (std::strcmp(a, "--trace") == 0) options.trace = true;
    else if (std::strcmp(a, "--verbose") == 0) verbose = true;
    else if (std::strcmp(a, "--no-faults") == 0) options = synod::sim::WithoutFaults(options);
    else if (std::strcmp(a, "--torn") == 0) options.torn_writes = true;
    else if (std::strcmp(a, "--no-liveness") == 0) options.check_liveness = false;
    else if (std::strcmp(a, "--no-agreement-check") == 0) options.check_host_agreement = false;
    else return Usage(a);
  }
  if (seeds == 0 || options.voters < 1 || options.observers < 0 ||
      options.steps < 0) {
    return Usage("(values)");
  }

  const auto start = std::chrono::steady_clock::now();
  uint64_t failed = 0;
  int64_t steps = 0;
  for (uint64_t s = 0; s < seeds; ++s) {
    SimOptions o = options;
    o.seed = first_seed + s;
    RunResult r = synod::sim::Run(o);
    steps += r.steps;
    if (options.trace) std::fputs(r.trace.c_str(), stdout);
    if (!r.ok || verbose || seeds == 1) {
      std::printf("%s\n", synod::sim::Summary(o, r).c_str());
    }
    if (!r.ok) {
      ++failed;
      if (!options.trace) {
        std::printf("---- last trace lines ----\n%s", r.trace.c_str());
      }
      std::printf("replay: %s\n", ReplayCommand(o.seed, o).c_str());
    }
    std::fflush(stdout);
  }
  const double secs = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  std::printf("%llu runs, %llu failed, %lld steps in %.2fs (%.0f runs/s, "
              "%.0f steps/s)\n",
              static_cast<unsigned long long>(seeds),
              static_cast<unsigned long long>(failed),
              static_cast<long long>(steps), secs,
              secs > 0 ? seeds / secs : 0.0, secs > 0 ? steps / secs : 0.0);
  return failed == 0 ? 0 : 1;
}
