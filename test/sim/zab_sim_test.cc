// Tests for test/sim/ensemble: the invariant checkers on synthetic states,
// replayability, whole ensembles without faults, seed sweeps with every
// fault, and (bite tests) that deliberately broken cores are caught.
//
// A failing run prints its summary, the synod_zab_sim command that replays
// it, and the last trace lines before the first violation.

#include "sim/ensemble.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "synod/types.h"
#include "zab/core.h"
#include "zab/message.h"

namespace synod::sim {
namespace {

using zab::DurableState;
using zab::Entry;
using zab::Mutation;
using zab::Ready;

// Runs per sweep (each of 3 and 5 voters); SYNOD_SIM_SWEEP_RUNS overrides.
// Under the sanitizers, which are many times slower, a third: the seed
// coverage comes from the plain build's pass, the sanitized pass looks for
// memory and race errors in the same code.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSweepRuns = 1000;
#else
constexpr int kSweepRuns = 3000;
#endif
constexpr int64_t kSweepSteps = 1000;
// Failing runs a sweep reports in full (the rest only count).
constexpr int kReportedFailures = 3;

Entry E(int64_t epoch, int64_t counter, const std::string& data) {
  return Entry{MakeZxid(epoch, counter), data};
}

// The full story of a failing run.
std::string Report(const SimOptions& o, const RunResult& r) {
  return Summary(o, r) + "\nreplay: " + ReplayCommand(o.seed, o) +
         "\n---- last trace lines ----\n" + r.trace;
}

int SweepRuns() {
  const char* env = std::getenv("SYNOD_SIM_SWEEP_RUNS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : kSweepRuns;
}

// ---- The checkers on synthetic states ---------------------------------------

TEST_CASE("AppliedHistory accepts prefixes and extensions", "[sim]") {
  AppliedHistory h;
  CHECK(h.Apply(0, E(1, 1, "a")) == "");
  CHECK(h.Apply(1, E(1, 2, "b")) == "");
  // A second peer applies the same prefix, then extends it.
  CHECK(h.Apply(0, E(1, 1, "a")) == "");
  CHECK(h.Apply(1, E(1, 2, "b")) == "");
  CHECK(h.Apply(2, E(2, 1, "c")) == "");
  CHECK(h.size() == 3);
  CHECK(h.Find(MakeZxid(1, 2)) == std::optional<size_t>(1));
  CHECK_FALSE(h.Find(MakeZxid(1, 3)).has_value());
}

TEST_CASE("AppliedHistory catches divergence, gaps and reordering", "[sim]") {
  AppliedHistory h;
  REQUIRE(h.Apply(0, E(1, 1, "a")) == "");
  REQUIRE(h.Apply(1, E(1, 2, "b")) == "");
  // Same position, different zxid (a skipped entry) or different data.
  CHECK_THAT(h.Apply(1, E(1, 3, "c")), Catch::Contains("as entry #1"));
  CHECK_THAT(h.Apply(1, E(1, 2, "x")), Catch::Contains("another peer"));
  // Beyond the end.
  CHECK_THAT(h.Apply(5, E(1, 9, "z")), Catch::Contains("only 2"));
  // Extending with a zxid that does not increase.
  CHECK_THAT(h.Apply(2, E(1, 2, "b2")), Catch::Contains("not increasing"));
  CHECK(h.size() == 2);
}

TEST_CASE("CheckContainedIn demands every applied entry, same data", "[sim]") {
  AppliedHistory h;
  REQUIRE(h.Apply(0, E(1, 1, "a")) == "");
  REQUIRE(h.Apply(1, E(1, 2, "b")) == "");
  CHECK(h.CheckContainedIn({E(1, 1, "a"), E(1, 2, "b"), E(2, 1, "u")}) == "");
  CHECK_THAT(h.CheckContainedIn({E(1, 1, "a")}),
             Catch::Contains("lacks applied entry #1"));
  CHECK_THAT(h.CheckContainedIn({E(1, 1, "a"), E(2, 1, "u")}),
             Catch::Contains("lacks applied entry #1"));
  CHECK_THAT(h.CheckContainedIn({E(1, 1, "a"), E(1, 2, "other")}),
             Catch::Contains("where entry #1"));
  CHECK_THAT(h.CheckContainedIn({E(1, 2, "b"), E(1, 1, "a")}),
             Catch::Contains("not strictly increasing"));
}

TEST_CASE("CheckIncreasing", "[sim]") {
  CHECK(CheckIncreasing({}, "log") == "");
  CHECK(CheckIncreasing({E(1, 1, ""), E(1, 2, ""), E(2, 1, "")}, "log") == "");
  CHECK_THAT(CheckIncreasing({E(1, 1, ""), E(1, 1, "")}, "log 3"),
             Catch::Contains("log 3: zxids not strictly increasing at index 1"));
}

TEST_CASE("PersistTo follows the Ready's order and tears at any write",
          "[sim]") {
  Ready rd;
  rd.truncate_after = MakeZxid(1, 1);
  rd.entries = {E(2, 1, "x"), E(2, 2, "y")};
  rd.accepted_epoch = 2;
  rd.current_epoch = 2;
  REQUIRE(WriteCount(rd) == 5);
  DurableState base;
  base.accepted_epoch = 1;
  base.current_epoch = 1;
  base.log = {E(1, 1, "a"), E(1, 2, "b"), E(1, 3, "c")};

  DurableState all = base;
  CHECK(PersistTo(rd, WriteCount(rd), &all) == "");
  CHECK(all.log == std::vector<Entry>{E(1, 1, "a"), E(2, 1, "x"), E(2, 2, "y")});
  CHECK(all.accepted_epoch == 2);
  CHECK(all.current_epoch == 2);

  // Torn after the truncate and one entry: no epochs yet.
  DurableState torn = base;
  CHECK(PersistTo(rd, 2, &torn) == "");
  CHECK(torn.log == std::vector<Entry>{E(1, 1, "a"), E(2, 1, "x")});
  CHECK(torn.accepted_epoch == 1);
  CHECK(torn.current_epoch == 1);
  // Torn between the epochs: accepted before current.
  DurableState half = base;
  CHECK(PersistTo(rd, 4, &half) == "");
  CHECK(half.accepted_epoch == 2);
  CHECK(half.current_epoch == 1);
  // Nothing.
  DurableState none = base;
  CHECK(PersistTo(rd, 0, &none) == "");
  CHECK(none.log == base.log);
}

TEST_CASE("PersistTo writes a snapshot first, replacing the log", "[sim]") {
  Ready rd;
  rd.snapshot = zab::Snapshot{MakeZxid(1, 5), "state"};
  rd.entries = {E(2, 1, "x")};
  REQUIRE(WriteCount(rd) == 2);
  DurableState base;
  base.log = {E(1, 1, "a"), E(1, 2, "b")};
  DurableState all = base;
  std::string snapshot;
  CHECK(PersistTo(rd, WriteCount(rd), &all, &snapshot) == "");
  CHECK(all.base_zxid == MakeZxid(1, 5));
  CHECK(all.log == std::vector<Entry>{E(2, 1, "x")});
  CHECK(snapshot == "state");
  // Torn after the snapshot: the old log is gone, nothing appended yet.
  DurableState torn = base;
  std::string torn_snapshot;
  CHECK(PersistTo(rd, 1, &torn, &torn_snapshot) == "");
  CHECK(torn.log.empty());
  CHECK(torn.base_zxid == MakeZxid(1, 5));
  CHECK(torn_snapshot == "state");
}

TEST_CASE("PersistTo rejects logs and epochs that break zab's rules", "[sim]") {
  DurableState d;
  d.accepted_epoch = 2;
  d.current_epoch = 2;
  d.log = {E(1, 1, "a"), E(2, 1, "b")};
  Ready overlap;  // appends without truncating first
  overlap.entries = {E(2, 1, "b2")};
  CHECK_THAT(PersistTo(overlap, 9, &d), Catch::Contains("does not extend"));
  Ready back;
  back.accepted_epoch = 1;
  CHECK_THAT(PersistTo(back, 9, &d), Catch::Contains("acceptedEpoch decreases"));
  Ready ahead;
  ahead.current_epoch = 3;
  CHECK_THAT(PersistTo(ahead, 9, &d), Catch::Contains("exceeds acceptedEpoch"));
  Ready older;
  older.current_epoch = 1;
  CHECK_THAT(PersistTo(older, 9, &d), Catch::Contains("currentEpoch decreases"));
}

TEST_CASE("ReplayCommand names what differs from the default mix", "[sim]") {
  SimOptions o;
  o.voters = 5;
  CHECK(ReplayCommand(123, o) ==
        "synod_zab_sim --seed=123 --voters=5 --steps=1000 --trace");
  o.observers = 1;
  o.crash_rate = 0.02;
  o.torn_writes = true;
  o.core.mutation = Mutation::kSkipTrunc;
  CHECK(ReplayCommand(7, o) ==
        "synod_zab_sim --seed=7 --voters=5 --observers=1 --steps=1000 "
        "--crash=0.02 --torn --mutation=skip-trunc --trace");
  Mutation m = Mutation::kNone;
  CHECK(ParseMutation("follow-old-epoch-leader", &m));
  CHECK(m == Mutation::kFollowOldEpochLeader);
  CHECK_FALSE(ParseMutation("bogus", &m));
}

TEST_CASE("A seed replays the same run, trace and all", "[sim]") {
  SimOptions o;
  o.seed = 99;
  o.voters = 5;
  o.observers = 1;
  o.trace = true;
  RunResult a = Run(o);
  RunResult b = Run(o);
  CHECK(a.ok == b.ok);
  CHECK(a.failure == b.failure);
  CHECK(a.steps == b.steps);
  CHECK(a.messages == b.messages);
  CHECK(a.commits == b.commits);
  CHECK(a.trace == b.trace);
  CHECK(a.trace.size() > 1000);
  // Without a trace, the same run (a failure would be replayed with one).
  o.trace = false;
  RunResult c = Run(o);
  CHECK(c.failure == a.failure);
  CHECK(c.steps == a.steps);
  CHECK(c.messages == a.messages);
}

// ---- Whole ensembles -----------------------------------------------------------

TEST_CASE("No faults: a leader is elected and 100 proposals commit everywhere",
          "[sim]") {
  for (int voters : {3, 5}) {
    INFO("voters=" << voters);
    SimOptions o = WithoutFaults(SimOptions());
    o.seed = 42;
    o.voters = voters;
    o.propose_rate = 0;
    o.trace = true;
    o.trace_capacity = Network::kTraceTailLines;
    Ensemble e(o);
    const bool elected = e.RunUntil(
        [&] { return e.ServingLeader() && e.ServingVoters() == voters; }, 200);
    INFO(e.failure() << "\n" << e.network().Trace());
    REQUIRE(elected);
    Rng rng(7);
    std::vector<std::string> payloads;
    for (int i = 0; i < 100; ++i) {
      payloads.push_back("p" + std::to_string(i));
      e.Propose(e.peers()[rng.Uniform(e.peers().size())], payloads.back());
      for (int s = 0; s < 5; ++s) e.Step();
    }
    const bool applied = e.RunUntil(
        [&] {
          for (zab::PeerId id : e.peers()) {
            if (e.Applied(id).size() < payloads.size()) return false;
          }
          return true;
        },
        500);
    INFO(e.failure() << "\n" << e.network().Trace());
    REQUIRE(e.failure() == "");
    REQUIRE(applied);
    const std::vector<Entry>& first = e.Applied(e.peers()[0]);
    CHECK(first.size() == payloads.size());
    for (zab::PeerId id : e.peers()) CHECK(e.Applied(id) == first);
    std::map<std::string, int> times;
    for (const Entry& entry : first) ++times[entry.data];
    for (const std::string& p : payloads) CHECK(times[p] == 1);
    for (const auto& [payload, prop] : e.proposals()) {
      INFO(payload);
      CHECK(prop.state == Ensemble::Proposal::State::kAcknowledged);
    }
    CHECK(e.Counters().elections == 1);
    CHECK(e.CheckAcknowledged(/*all_applied=*/false));
  }
}

TEST_CASE("A follower behind the leader's compaction is synced by SNAP",
          "[sim]") {
  SimOptions o = WithoutFaults(SimOptions());
  o.seed = 7;
  o.voters = 3;
  o.propose_rate = 0;
  o.compact_rate = 0;
  o.trace = true;
  o.trace_capacity = Network::kTraceTailLines;
  Ensemble e(o);
  REQUIRE(e.RunUntil(
      [&] { return e.ServingLeader() && e.ServingVoters() == 3; }, 200));
  const zab::PeerId leader = *e.ServingLeader();
  std::vector<zab::PeerId> followers;
  for (zab::PeerId id : e.voters()) {
    if (id != leader) followers.push_back(id);
  }
  const zab::PeerId down = followers[0];
  const zab::PeerId other = followers[1];
  e.CrashNow(down);
  for (int i = 0; i < 30; ++i) {
    e.Propose(leader, "s" + std::to_string(i));
    for (int s = 0; s < 5; ++s) e.Step();
  }
  const bool committed = e.RunUntil(
      [&] {
        return e.Applied(leader).size() == 30 && e.Applied(other).size() == 30;
      },
      300);
  INFO(e.failure() << "\n" << e.network().Trace());
  REQUIRE(committed);
  // Both live peers drop their whole log: no DIFF can reach back to it.
  REQUIRE(e.CompactNow(leader));
  REQUIRE(e.CompactNow(other));
  CHECK(e.Durable(leader).log.empty());
  CHECK(e.Durable(leader).base_zxid == e.Applied(leader).back().zxid);
  const uint64_t snaps_before = e.SentOfType(zab::MessageType::kSnap);
  e.RestartNow(down);
  const bool synced = e.RunUntil(
      [&] {
        return e.IsUp(down) && e.Status(down).serving &&
               e.Applied(down).size() == 30;
      },
      300);
  INFO(e.failure() << "\n" << e.network().Trace());
  REQUIRE(e.failure() == "");
  REQUIRE(synced);
  CHECK(e.SentOfType(zab::MessageType::kSnap) > snaps_before);
  // 30 entries serialize to far more than 16 bytes: many chunks.
  CHECK(e.SentOfType(zab::MessageType::kSnapChunk) > 10);
  CHECK(e.Applied(down) == e.Applied(leader));
  CHECK(e.Durable(down).base_zxid == e.Applied(leader).back().zxid);
  // It serves on: a new proposal reaches it through its fresh log.
  e.Propose(leader, "after-snap");
  const bool applied = e.RunUntil(
      [&] { return e.Applied(down).size() == 31; }, 100);
  REQUIRE(e.failure() == "");
  REQUIRE(applied);
  CHECK(e.Applied(down) == e.Applied(leader));
  CHECK(e.Durable(down).log.size() == 1);
}

TEST_CASE("Snapshots encode and decode an applied sequence", "[sim]") {
  std::vector<Entry> applied = {E(1, 1, "a"), E(1, 2, ""), E(2, 1, "x:y:1")};
  std::vector<Entry> back;
  REQUIRE(DecodeApplied(EncodeApplied(applied), &back));
  CHECK(back == applied);
  REQUIRE(DecodeApplied("", &back));
  CHECK(back.empty());
  CHECK_FALSE(DecodeApplied("12:5:abc", &back));
  CHECK_FALSE(DecodeApplied("x:1:a", &back));
}

TEST_CASE("No faults: runs with client load pass, liveness included", "[sim]") {
  for (int voters : {3, 5}) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      SimOptions o = WithoutFaults(SimOptions());
      o.seed = seed;
      o.voters = voters;
      RunResult r = Run(o);
      INFO(Report(o, r));
      REQUIRE(r.ok);
      CHECK(r.elections == 1);
      CHECK(r.commits > 10);
    }
  }
}

TEST_CASE("No faults with observers: they apply what voters apply", "[sim]") {
  for (int observers : {1, 2}) {
    for (uint64_t seed = 1; seed <= 200; ++seed) {
      SimOptions o = WithoutFaults(SimOptions());
      o.seed = seed;
      o.voters = 3;
      o.observers = observers;
      RunResult r = Run(o);
      INFO(Report(o, r));
      REQUIRE(r.ok);
    }
  }
}

// ---- Seed sweeps with every fault ----------------------------------------------

// Runs `runs` seeds from `first_seed`; returns how many failed and reports
// the first few in full.
int Sweep(int voters, uint64_t first_seed, int runs, bool observer_on_odd) {
  int failed = 0;
  int64_t steps = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) {
    SimOptions o;
    o.seed = first_seed + static_cast<uint64_t>(i);
    o.voters = voters;
    o.observers = observer_on_odd && (o.seed % 2 == 1) ? 1 : 0;
    o.steps = kSweepSteps;
    RunResult r = Run(o);
    steps += r.steps;
    if (r.ok) continue;
    if (++failed <= kReportedFailures) FAIL_CHECK(Report(o, r));
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "[sim] sweep voters=%d%s: %d runs x %lld steps, %d failed, %lld steps "
      "in %.2fs (%.0f runs/s, %.0f steps/s)\n",
      voters, observer_on_odd ? " (+1 observer on odd seeds)" : "", runs,
      static_cast<long long>(kSweepSteps), failed,
      static_cast<long long>(steps), secs, secs > 0 ? runs / secs : 0.0,
      secs > 0 ? steps / secs : 0.0);
  std::fflush(stdout);
  return failed;
}

TEST_CASE("Seed sweep: 3 voters, every fault", "[sim][sweep]") {
  const int runs = SweepRuns();
  CHECK(Sweep(3, 1, runs, /*observer_on_odd=*/false) == 0);
}

TEST_CASE("Seed sweep: 5 voters (+1 observer on odd seeds), every fault",
          "[sim][sweep]") {
  const int runs = SweepRuns();
  CHECK(Sweep(5, 100001, runs, /*observer_on_odd=*/true) == 0);
}

TEST_CASE("Seed sweep: torn writes, every fault",
          "[sim][sweep]") {
  int failed = 0;
  for (int voters : {3, 5}) {
    for (uint64_t seed = 1; seed <= 250; ++seed) {
      SimOptions o;
      o.seed = 200001 + seed;
      o.voters = voters;
      o.torn_writes = true;
      RunResult r = Run(o);
      if (!r.ok && ++failed <= kReportedFailures) FAIL_CHECK(Report(o, r));
    }
  }
  CHECK(failed == 0);
}

TEST_CASE("Seed sweep: damaged disks lose log entries, every fault",
          "[sim][sweep]") {
  // A crash may also cut a peer's log (acknowledged, committed entries
  // among what is lost); the peer comes back recovering and must not vote,
  // ack or lead until a leader elected without it has synced it.
  int failed = 0;
  int64_t losses = 0;
  for (int voters : {3, 5}) {
    for (uint64_t seed = 1; seed <= 250; ++seed) {
      SimOptions o;
      o.seed = 300001 + seed;
      o.voters = voters;
      o.crash_rate = 0.01;
      o.log_loss_rate = 0.5;
      o.torn_writes = (seed % 3 == 0);
      RunResult r = Run(o);
      if (!r.ok && ++failed <= kReportedFailures) FAIL_CHECK(Report(o, r));
      losses += r.log_losses;
    }
  }
  CHECK(failed == 0);
  CHECK(losses > 200);  // the sweep did damage disks
}

// Runs `runs` seeds from `first` with `base` (each its own seed), reports
// the first failures, prints a summary line; returns the failures and the
// configuration changes the runs made.
struct MixOutcome {
  int failed = 0;
  int64_t changes = 0;
};
MixOutcome RunMix(const char* sweep, const char* name, const SimOptions& base,
                  uint64_t first, int runs) {
  MixOutcome out;
  for (int i = 0; i < runs; ++i) {
    SimOptions o = base;
    o.seed = first + static_cast<uint64_t>(i);
    RunResult r = Run(o);
    if (!r.ok && ++out.failed <= kReportedFailures) FAIL_CHECK(Report(o, r));
    out.changes += r.config_changes;
  }
  std::printf("[sim] %s sweep %s: %d runs, %d failed, %lld changes\n", sweep,
              name, runs, out.failed, static_cast<long long>(out.changes));
  return out;
}

SimOptions WithPeers(int voters, int observers) {
  SimOptions o;
  o.voters = voters;
  o.observers = observers;
  return o;
}

TEST_CASE("Seed sweep: configuration changes under every fault",
          "[sim][sweep][membership]") {
  // The serving leader promotes observers and demotes voters (itself
  // included) while every fault of the mix strikes; the checks add the
  // configuration's (h, i, j) and liveness counts the leader's voters.
  std::vector<std::pair<const char*, SimOptions>> mixes;
  mixes.emplace_back("3 voters + 2 observers + 1 joiner", WithPeers(3, 2));
  mixes.back().second.config_change_rate = 0.02;
  mixes.back().second.joiners = 1;
  mixes.emplace_back("5 voters + 2 observers", WithPeers(5, 2));
  mixes.back().second.config_change_rate = 0.02;
  mixes.emplace_back("3 voters + 3 observers, torn writes", WithPeers(3, 3));
  mixes.back().second.config_change_rate = 0.03;
  mixes.back().second.torn_writes = true;
  mixes.emplace_back("3 voters + 2 observers, damaged disks", WithPeers(3, 2));
  mixes.back().second.config_change_rate = 0.02;
  mixes.back().second.log_loss_rate = 0.3;
  const int runs = std::max(1, SweepRuns() / 3);
  uint64_t first = 400001;
  for (const auto& [name, options] : mixes) {
    const MixOutcome out = RunMix("config-change", name, options, first, runs);
    CHECK(out.failed == 0);
    CHECK(out.changes > runs / 2);  // the sweep did change configurations
    first += 100000;
  }
}

TEST_CASE("Seed sweep: the autopilot under every fault",
          "[sim][sweep][membership]") {
  // The serving leader runs the autopilot on its ticks (a short dead-voter
  // threshold, so crashes and partitions trigger replacements); at the end
  // it must bring the voters to min(target, peers).
  auto autopilot = [](int voters, int observers, size_t target,
                      int64_t dead_ticks) {
    SimOptions o = WithPeers(voters, observers);
    o.autopilot_voters = target;
    o.autopilot_dead_ticks = dead_ticks;
    return o;
  };
  std::vector<std::pair<const char*, SimOptions>> mixes;
  mixes.emplace_back("3 voters + 1 observer + 1 joiner",
                     autopilot(3, 1, 3, 30));
  mixes.back().second.joiners = 1;
  mixes.emplace_back("5 voters + 2 observers, target 5",
                     autopilot(5, 2, 5, 30));
  mixes.emplace_back("1 voter + 2 joiners grows to 3",
                     autopilot(1, 0, 3, 30));
  mixes.back().second.joiners = 2;
  mixes.emplace_back("damaged disks", autopilot(3, 2, 3, 20));
  mixes.back().second.log_loss_rate = 0.3;
  mixes.emplace_back("with random changes too", autopilot(3, 2, 3, 30));
  mixes.back().second.config_change_rate = 0.01;
  const int runs = std::max(1, SweepRuns() / 6);
  uint64_t first = 900001;
  for (const auto& [name, options] : mixes) {
    const MixOutcome out = RunMix("autopilot", name, options, first, runs);
    CHECK(out.failed == 0);
    CHECK(out.changes > 0);  // the autopilot did act
    first += 100000;
  }
}

// ---- The checks bite -------------------------------------------------------------

bool IsMembershipMutation(Mutation mutation) {
  return mutation == Mutation::kConcurrentConfigChanges ||
         mutation == Mutation::kConfigAtCommit ||
         mutation == Mutation::kKeepTruncatedConfig;
}

// The fault mix for bite tests: crashes, duplicates, slow disks and long
// delays (concurrent would-be leaders), but no message loss, so that the
// correct core passes nearly every seed.
SimOptions BiteOptions(uint64_t seed, int voters, Mutation mutation) {
  SimOptions o;
  o.seed = seed;
  o.voters = voters;
  o.drop_rate = 0;
  o.partition_rate = 0;
  o.crash_rate = 0.03;
  o.dup_rate = 0.05;
  o.max_delay = 25;
  o.core.mutation = mutation;
  o.check_host_agreement = false;  // the protocol invariants must catch it
  // Damaged disks, for the mutation that ignores them (and the correct
  // core's run of the same seed).
  if (mutation == Mutation::kIgnoreRecovering) o.log_loss_rate = 0.7;
  // The membership mutations: configuration changes under the default
  // mix (loss and partitions too: stale configurations need peers cut
  // off), with more crashes.
  if (IsMembershipMutation(mutation)) {
    o = SimOptions();
    o.seed = seed;
    o.voters = voters;
    o.observers = 2;
    o.config_change_rate = 0.05;
    o.crash_rate = 0.03;
    o.core.mutation = mutation;
    o.check_host_agreement = false;
  }
  return o;
}

// Returns the first seed in [1, max_seeds] whose run with `mutation` breaks
// a safety invariant (not merely liveness) while the same seed passes with
// the correct core, or 0.
uint64_t FirstSafetyFailure(Mutation mutation, int voters, int max_seeds,
                            RunResult* result, SimOptions* options) {
  for (int s = 1; s <= max_seeds; ++s) {
    SimOptions o = BiteOptions(static_cast<uint64_t>(s), voters, mutation);
    RunResult r = Run(o);
    if (r.ok || r.failure.find("liveness") != std::string::npos) continue;
    SimOptions correct = o;
    correct.core.mutation = Mutation::kNone;
    if (!Run(correct).ok) continue;
    *result = r;
    *options = o;
    return o.seed;
  }
  return 0;
}

TEST_CASE("Each deliberate protocol bug breaks an invariant", "[sim][bite]") {
  for (Mutation m :
       {Mutation::kCommitWithoutQuorum, Mutation::kForgetAcceptedEpoch,
        Mutation::kFollowOldEpochLeader, Mutation::kSkipTrunc,
        Mutation::kIgnoreRecovering, Mutation::kConcurrentConfigChanges,
        Mutation::kConfigAtCommit, Mutation::kKeepTruncatedConfig}) {
    INFO("mutation=" << MutationName(m));
    RunResult r;
    SimOptions o;
    uint64_t seed = 0;
    // Membership bugs need a stale peer at the wrong moment: more seeds.
    const int max_seeds = IsMembershipMutation(m) ? 4000 : 1000;
    for (int voters : {3, 5}) {
      seed = FirstSafetyFailure(m, voters, max_seeds, &r, &o);
      if (seed != 0) break;
    }
    CHECK(seed != 0);
    if (seed == 0) continue;
    std::printf("[sim] bite %s: voters=%d seed=%llu: %s\n", MutationName(m),
                o.voters, static_cast<unsigned long long>(seed),
                r.failure.c_str());
    // The failure replays exactly.
    RunResult again = Run(o);
    CHECK(again.failure == r.failure);
  }
}

TEST_CASE("The correct core passes the bite tests' fault mix", "[sim][bite]") {
  int failed = 0;
  for (int voters : {3, 5}) {
    for (uint64_t seed = 1; seed <= 200; ++seed) {
      SimOptions o = BiteOptions(seed, voters, Mutation::kNone);
      RunResult r = Run(o);
      if (!r.ok && ++failed <= kReportedFailures) FAIL_CHECK(Report(o, r));
      // And the membership mutations' mix.
      o = BiteOptions(seed, voters, Mutation::kConfigAtCommit);
      o.core.mutation = Mutation::kNone;
      r = Run(o);
      if (!r.ok && ++failed <= kReportedFailures) FAIL_CHECK(Report(o, r));
    }
  }
  CHECK(failed == 0);
}

}  // namespace
}  // namespace synod::sim
