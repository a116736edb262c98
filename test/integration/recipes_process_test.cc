// The counter, the queue and the double barrier used by three processes,
// each a peer of their ensemble (test/integration/recipe_worker.cc), under
// process faults: the process whose peer leads is killed in the middle of
// the counter's and the queue's work, and paused in the middle of the
// barrier's rounds. The workers' shared journal is the witness.

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "integration/process_util.h"

namespace synod::testing {
namespace {

// One line of the journal: "ID verb arg".
struct Entry {
  std::string id;
  std::string verb;
  std::string arg;
};

std::vector<Entry> ReadJournal(const std::string& path) {
  std::vector<Entry> entries;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n')) {
    if (line.empty()) continue;
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(' ', 2));
    f.resize(3);
    entries.push_back({f[0], f[1], f[2]});
  }
  return entries;
}

size_t CountVerb(const std::vector<Entry>& journal, const std::string& verb) {
  size_t n = 0;
  for (const Entry& e : journal) n += e.verb == verb ? 1 : 0;
  return n;
}

// The errors the workers journaled, for a failed check's message.
std::string Errors(const std::vector<Entry>& journal) {
  std::string out;
  for (const Entry& e : journal) {
    if (e.verb == "error") absl::StrAppend(&out, e.id, ": ", e.arg, "\n");
  }
  return out;
}

// Starts the three workers of `recipe` (ids w0, w1, w2), worker i with
// `flags(i)` too.
void StartWorkers(
    EmbeddedEnsemble& e, const std::string& journal, const std::string& recipe,
    int count,
    const std::function<std::vector<std::string>(int)>& flags = [](int) {
      return std::vector<std::string>();
    }) {
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> args = {
        "--journal", journal, "--id", absl::StrCat("w", i), "--recipe",
        recipe, "--count", std::to_string(count)};
    for (std::string& f : flags(i)) args.push_back(std::move(f));
    e.Start(i, std::move(args));
  }
}

// Waits up to 3 minutes until every worker but `except` printed "done".
bool AllDone(EmbeddedEnsemble& e, int except = -1) {
  return WaitForCli(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (i != except && e.at(i).Log().find("done") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      absl::Minutes(3));
}

// Stops every worker but `except` (killed): each exits cleanly.
void StopAll(EmbeddedEnsemble& e, int except = -1) {
  for (int i = 0; i < 3; ++i) {
    if (i != except) CHECK(e.at(i).Stop() == 0);
  }
}

// The index of the process whose peer leads.
int LeaderProcess(EmbeddedEnsemble& e) {
  int leader = -1;
  REQUIRE(WaitForCli([&] {
    for (int i = 0; i < 3; ++i) {
      if (RoleOf(e.listen(i)) == "leader") leader = i;
    }
    return leader >= 0;
  }));
  return leader;
}

TEST_CASE("Recipes in processes: a counter stays exact through a kill of "
          "the leader's process",
          "[integration][recipes]") {
  constexpr int kThreads = 4;  // per worker: many adds in flight at the kill
  constexpr int kAdds = 25;    // per thread
  // Worker i adds 1000^i, so the value tells how many adds of each worker
  // it counts, and each step between returned values which worker made it.
  const int64_t delta[3] = {1, 1000, 1000000};
  EmbeddedEnsemble e(SYNOD_RECIPE_WORKER);
  const std::string journal = e.Sub("journal");
  StartWorkers(e, journal, "counter", kAdds, [&](int i) {
    return std::vector<std::string>{"--delta", std::to_string(delta[i]),
                                    "--threads", std::to_string(kThreads)};
  });
  REQUIRE(WaitForCli(
      [&] { return CountVerb(ReadJournal(journal), "add") >= kAdds * 4; }));
  const int killed = LeaderProcess(e);
  e.at(killed).Kill();
  // The two others finish their adds.
  REQUIRE(AllDone(e, killed));
  const int reader = killed == 0 ? 1 : 0;
  REQUIRE(Cli(e.listen(reader), "sync /work/counter").exit_code == 0);
  const CliResult final_value = Cli(e.listen(reader), "get /work/counter");
  REQUIRE(final_value.exit_code == 0);
  // The data, then the Stat.
  const std::string value_line =
      final_value.out.substr(0, final_value.out.find('\n'));
  INFO(final_value.out);
  int64_t n = 0;
  REQUIRE(absl::SimpleAtoi(value_line, &n));

  const std::vector<Entry> lines = ReadJournal(journal);
  INFO(Errors(lines));
  CHECK(CountVerb(lines, "error") == 0);
  std::map<int64_t, int> by_value;  // value -> the worker that got it
  int adds[3] = {0, 0, 0};
  for (const Entry& x : lines) {
    if (x.verb != "add") continue;
    int64_t v = 0;
    REQUIRE(absl::SimpleAtoi(x.arg, &v));
    const int w = x.id[1] - '0';
    INFO("value " << v << " from " << x.id);
    CHECK(by_value.emplace(v, w).second);  // never returned twice
    ++adds[w];
  }
  for (int i = 0; i < 3; ++i) {
    if (i != killed) CHECK(adds[i] == kThreads * kAdds);
  }
  // Each returned value is the one before it plus the delta of its own add:
  // no add counted twice, none lost. The killed process's adds in flight
  // (never journaled), one per thread at most, may have applied, once
  // each, anywhere in between.
  int64_t previous = 0;
  int64_t unjournaled = 0;
  auto unjournaled_adds = [&](int64_t gap) {
    INFO("a gap of " << gap);
    CHECK(gap >= 0);
    CHECK(gap % delta[killed] == 0);
    unjournaled += gap / delta[killed];
  };
  for (const auto& [value, w] : by_value) {
    INFO("value " << value << " from w" << w << " after " << previous);
    unjournaled_adds(value - previous - delta[w]);
    previous = value;
  }
  unjournaled_adds(n - previous);
  CHECK(unjournaled <= kThreads);
  StopAll(e, killed);
}

TEST_CASE("Recipes in processes: queue items are taken exactly once through "
          "a kill of the leader's process",
          "[integration][recipes]") {
  constexpr int kItems = 40;
  EmbeddedEnsemble e(SYNOD_RECIPE_WORKER);
  const std::string journal = e.Sub("journal");
  StartWorkers(e, journal, "queue", kItems);
  REQUIRE(WaitForCli(
      [&] { return CountVerb(ReadJournal(journal), "put") >= kItems; }));
  const int killed = LeaderProcess(e);
  e.at(killed).Kill();
  const std::string dead = absl::StrCat("w", killed);
  // The others put all theirs and take until the queue stays empty: each
  // one's last line is "idle", after every put.
  REQUIRE(WaitForCli(
      [&] {
        const std::vector<Entry> lines = ReadJournal(journal);
        std::map<std::string, std::string> last;
        std::map<std::string, int> puts;
        for (const Entry& x : lines) {
          last[x.id] = x.verb;
          if (x.verb == "put") ++puts[x.id];
        }
        for (int i = 0; i < 3; ++i) {
          const std::string id = absl::StrCat("w", i);
          if (id != dead && (last[id] != "idle" || puts[id] != kItems)) {
            return false;
          }
        }
        return true;
      },
      absl::Minutes(3)));
  StopAll(e, killed);

  const std::vector<Entry> lines = ReadJournal(journal);
  INFO(Errors(lines));
  CHECK(CountVerb(lines, "error") == 0);
  std::set<std::string> put, taken;
  std::map<std::string, int> puts_by;
  for (const Entry& x : lines) {
    if (x.verb == "put") {
      CHECK(put.insert(x.arg).second);
      ++puts_by[x.id];
    } else if (x.verb == "took") {
      INFO("item " << x.arg << " taken by " << x.id);
      CHECK(taken.insert(x.arg).second);  // never taken twice
    }
  }
  // The one item whose put the kill may have cut short: it may or may not
  // be in the queue.
  const std::string in_flight_put = absl::StrCat(dead, "-", puts_by[dead]);
  for (const std::string& item : taken) {
    INFO("taken " << item);
    CHECK((put.count(item) == 1 || item == in_flight_put));
  }
  // Every item put was taken, but for at most the one the killed process
  // may have taken without journaling it.
  int missing = 0;
  for (const std::string& item : put) {
    if (taken.count(item) == 0) {
      INFO("never taken: " << item);
      ++missing;
    }
  }
  CHECK(missing <= 1);
}

TEST_CASE("Recipes in processes: a double barrier never lets a process in "
          "or out early, through a pause of the leader's process",
          "[integration][recipes]") {
  constexpr int kRounds = 8;
  // Sessions of 20 s: the pause below, the election after it and the
  // sessions' move to the new leader stay well within them on a busy
  // machine (with 3 s a loaded run saw a session expire; with 8 s, three
  // full runs of the suite in one day, beside the differential tests'
  // ZooKeeper servers, saw a participant's session expire, the whole case
  // taking 14 s instead of 4; why a rejoin took that long is open).
  EmbeddedEnsemble e(SYNOD_RECIPE_WORKER, "20s");
  const std::string journal = e.Sub("journal");
  StartWorkers(e, journal, "double-barrier", kRounds);
  REQUIRE(WaitForCli(
      [&] { return CountVerb(ReadJournal(journal), "left") >= 6; }));
  // Paused for less than the session timeout: the ensemble may
  // elect another leader, but every participant keeps its session.
  const int paused = LeaderProcess(e);
  e.at(paused).Pause();
  absl::SleepFor(absl::Milliseconds(1500));
  e.at(paused).Resume();
  REQUIRE(AllDone(e));
  StopAll(e);

  const std::vector<Entry> lines = ReadJournal(journal);
  INFO(Errors(lines));
  CHECK(CountVerb(lines, "error") == 0);
  // In journal order (real time): nobody enters round r before all three
  // arrived at it, nobody leaves it before all three began to leave.
  std::map<std::string, int> arrived, leaving;
  for (const Entry& x : lines) {
    if (x.verb == "arrive") ++arrived[x.arg];
    if (x.verb == "leaving") ++leaving[x.arg];
    INFO(x.id << " " << x.verb << " " << x.arg);
    if (x.verb == "entered") CHECK(arrived[x.arg] == 3);
    if (x.verb == "left") CHECK(leaving[x.arg] == 3);
  }
  CHECK(CountVerb(lines, "left") == 3 * kRounds);
}

}  // namespace
}  // namespace synod::testing
