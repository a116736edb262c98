// The recipe examples (examples/), each run as the three processes of an
// ensemble, under the faults they are written for: leader election with
// fencing through a paused and a killed leader, a lock protecting a file
// through a killed process, and a configuration every process watches.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "integration/process_util.h"

namespace synod::testing {
namespace {

// The path of the example program `name`.
std::string Example(const std::string& name) {
  return absl::StrCat(SYNOD_EXAMPLES_DIR, "/", name);
}

// One line of the election example's journal.
struct JournalLine {
  bool accepted = false;
  int64_t token = 0;
  std::string id;
};

std::vector<JournalLine> Journal(const std::string& path) {
  std::vector<JournalLine> lines;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() != 4) continue;
    JournalLine j;
    j.accepted = f[0] == "ACCEPT";
    if (!absl::SimpleAtoi(f[1], &j.token)) continue;
    j.id = f[2];
    lines.push_back(j);
  }
  return lines;
}

// The id of the last accepted writer, or "".
std::string LastLeader(const std::string& journal) {
  std::vector<JournalLine> lines = Journal(journal);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->accepted) return it->id;
  }
  return "";
}

TEST_CASE("Examples: leader election with fencing through a paused and a "
          "killed leader",
          "[integration][examples]") {
  EmbeddedEnsemble e(Example("election_fencing"));
  const std::string journal = e.Sub("journal");
  for (int i = 0; i < 3; ++i) {
    e.Start(i, {"--id", absl::StrCat("p", i), "--journal", journal});
  }
  REQUIRE(WaitForCli([&] { return !LastLeader(journal).empty(); }));
  // The leader is paused past its session timeout: another takes over.
  const std::string first = LastLeader(journal);
  const int paused = first[1] - '0';
  e.at(paused).Pause();
  REQUIRE(WaitForCli([&] {
    const std::string now = LastLeader(journal);
    return !now.empty() && now != first;
  }));
  const std::string second = LastLeader(journal);
  // Back, it learns it was deposed (any write it tries first is refused).
  e.at(paused).Resume();
  REQUIRE(WaitForCli([&] {
    return e.at(paused).Log().find("following") != std::string::npos;
  }));
  // The second leader is killed: a third leadership follows.
  const size_t before = Journal(journal).size();
  e.at(second[1] - '0').Kill();
  REQUIRE(WaitForCli([&] {
    std::vector<JournalLine> lines = Journal(journal);
    for (size_t i = before; i < lines.size(); ++i) {
      if (lines[i].accepted && lines[i].id != second) return true;
    }
    return false;
  }));
  e.StopAll();

  const std::vector<JournalLine> lines = Journal(journal);
  // Tokens never go back among accepted writes, and every change of
  // writer came with a greater token: three leaderships at least.
  int64_t greatest = 0;
  std::string writer;
  int leaderships = 0;
  for (const JournalLine& j : lines) {
    if (!j.accepted) {
      // Only the paused leader, writing before it learned, is refused:
      // a leader elected in turn always holds the greatest token.
      CHECK(j.id == first);
      CHECK(j.token < greatest);
      continue;
    }
    CHECK(j.token >= greatest);
    if (j.id != writer) {
      CHECK(j.token > greatest);
      ++leaderships;
      writer = j.id;
    }
    greatest = j.token;
  }
  CHECK(leaderships >= 3);
}

TEST_CASE("Examples: a lock protecting a file keeps every number through the "
          "leader's process killed",
          "[integration][examples]") {
  EmbeddedEnsemble e(Example("lock_file"));
  const std::string file = e.Sub("numbers");
  for (int i = 0; i < 3; ++i) {
    e.Start(i, {"--file", file, "--count", "40"});
  }
  REQUIRE(WaitForCli([&] {
    const std::string numbers = ReadFile(file);
    return std::count(numbers.begin(), numbers.end(), '\n') >= 20;
  }));
  // The process whose peer leads the ensemble is killed, whatever it held
  // or was doing.
  int leader = -1;
  REQUIRE(WaitForCli([&] {
    for (int i = 0; i < 3; ++i) {
      if (RoleOf(e.listen(i)) == "leader") leader = i;
    }
    return leader >= 0;
  }));
  e.at(leader).Kill();
  // The other two finish (and stay up: each is a peer the other needs).
  CHECK(WaitForCli(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (i != leader &&
              e.at(i).Log().find("done 40") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      absl::Minutes(3)));
  for (int i = 0; i < 3; ++i) {
    if (i != leader) CHECK(e.at(i).Stop() == 0);
  }
  // 1, 2, 3, ... without a repeat or a gap: no two holders ever read the
  // same last number.
  std::vector<int64_t> numbers;
  for (absl::string_view line : absl::StrSplit(ReadFile(file), '\n')) {
    int64_t n;
    if (absl::SimpleAtoi(line, &n)) numbers.push_back(n);
  }
  REQUIRE(numbers.size() >= 80);
  for (size_t i = 0; i < numbers.size(); ++i) {
    INFO("line " << i);
    REQUIRE(numbers[i] == static_cast<int64_t>(i) + 1);
  }
}

TEST_CASE("Examples: a killed lock holder's lock passes once its session "
          "expired, not before",
          "[integration][examples]") {
  EmbeddedEnsemble e(Example("lock_file"));
  const std::string file = e.Sub("numbers");
  e.Start(0, {"--file", file, "--count", "1000", "--hold-first-ms", "600000"});
  for (int i = 1; i < 3; ++i) e.Start(i, {"--file", file, "--count", "1000"});
  // Process 0 takes the lock at some point and keeps it.
  REQUIRE(WaitForCli([&] {
    return e.at(0).Log().find("holding") != std::string::npos;
  }));
  auto lines = [&] {
    const std::string numbers = ReadFile(file);
    return std::count(numbers.begin(), numbers.end(), '\n');
  };
  const auto held_at = lines();
  absl::SleepFor(absl::Milliseconds(500));
  CHECK(lines() == held_at);  // the others wait
  const absl::Time killed = absl::Now();
  e.at(0).Kill();
  // The others go on once process 0's session expired (3 s), not before.
  REQUIRE(WaitFor([&] { return lines() > held_at; }, absl::Seconds(60),
                  absl::Milliseconds(5)));
  const absl::Duration waited = absl::Now() - killed;
  INFO("the lock passed " << waited << " after the kill");
  CHECK(waited >= absl::Milliseconds(2900));
  CHECK(e.StopAll() == 0);
}

TEST_CASE("Examples: a lock holder paused past its session timeout learns "
          "it lost the lock before it writes again",
          "[integration][examples]") {
  EmbeddedEnsemble e(Example("lock_file"));
  const std::string file = e.Sub("numbers");
  // Process 0's first hold lasts 5 s; it is paused for 7 s (sessions of
  // 3 s) right as it begins, so it resumes after its hold would have ended,
  // in the middle of another's.
  e.Start(0, {"--file", file, "--count", "5", "--hold-first-ms", "5000"});
  for (int i = 1; i < 3; ++i) e.Start(i, {"--file", file, "--count", "30"});
  REQUIRE(WaitFor([&] {
    return e.at(0).Log().find("holding") != std::string::npos;
  }, absl::Seconds(60), absl::Milliseconds(5)));
  e.at(0).Pause();
  auto lines = [&] {
    const std::string numbers = ReadFile(file);
    return std::count(numbers.begin(), numbers.end(), '\n');
  };
  const auto held_at = lines();
  // The others take the lock once process 0's session expired.
  CHECK(WaitForCli([&] { return lines() > held_at; }, absl::Seconds(20)));
  absl::SleepFor(absl::Seconds(7) - absl::Seconds(3));
  e.at(0).Resume();
  // Its first word after the pause is that it lost the lock: it never
  // appended on the strength of a hold that had passed to another.
  REQUIRE(WaitForCli([&] {
    return e.at(0).Log().find("lost the lock") != std::string::npos;
  }));
  const std::string log = e.at(0).Log();
  const size_t holding = log.find("holding");
  const size_t lost = log.find("lost the lock");
  INFO(log);
  CHECK(log.find("appended", holding) > lost);
  // Everyone finishes, process 0 too (under a new session): the numbers
  // run 1, 2, 3, ... without a repeat or a gap.
  CHECK(WaitForCli(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (e.at(i).Log().find("done ") == std::string::npos) return false;
        }
        return true;
      },
      absl::Minutes(3)));
  for (int i = 0; i < 3; ++i) CHECK(e.at(i).Stop() == 0);
  std::vector<int64_t> numbers;
  for (absl::string_view line : absl::StrSplit(ReadFile(file), '\n')) {
    int64_t n;
    if (absl::SimpleAtoi(line, &n)) numbers.push_back(n);
  }
  CHECK(numbers.size() == 65);
  for (size_t i = 0; i < numbers.size(); ++i) {
    INFO("line " << i);
    REQUIRE(numbers[i] == static_cast<int64_t>(i) + 1);
  }
}

TEST_CASE("Examples: a configuration every process watches",
          "[integration][examples]") {
  EmbeddedEnsemble e(Example("config_watch"));
  for (int i = 0; i < 3; ++i) e.Start(i, {});
  auto all_print = [&](const std::string& line) {
    return WaitForCli([&] {
      for (int i = 0; i < 3; ++i) {
        if (e.at(i).Log().find(line) == std::string::npos) return false;
      }
      return true;
    });
  };
  REQUIRE(all_print("config: (none)\n"));
  REQUIRE(Cli(e.listen(0), "create /examples x").exit_code == 0);
  REQUIRE(Cli(e.listen(1), "create /examples/config v1").exit_code == 0);
  CHECK(all_print("config: v1\n"));
  REQUIRE(Cli(e.listen(2), "set /examples/config v2").exit_code == 0);
  CHECK(all_print("config: v2\n"));
  REQUIRE(Cli(e.listen(0), "delete /examples/config").exit_code == 0);
  CHECK(WaitForCli([&] {
    for (int i = 0; i < 3; ++i) {
      const std::string log = e.at(i).Log();
      const size_t none = log.rfind("config: (none)");
      if (none == std::string::npos || none < log.rfind("config: v2")) {
        return false;
      }
    }
    return true;
  }));
  for (int i = 0; i < 3; ++i) CHECK(e.at(i).Stop() == 0);
}

TEST_CASE("Examples: service discovery among processes, through a killed "
          "and a restarted instance",
          "[integration][examples]") {
  EmbeddedEnsemble e(Example("service_discovery"));
  auto start = [&](int i) {
    e.Start(i, {"--id", absl::StrCat("p", i), "--serves",
                absl::StrCat("10.0.0.", i, ":80")});
  };
  for (int i = 0; i < 3; ++i) start(i);
  // The last list a process printed.
  auto last_list = [&](int i) {
    const std::string log = e.at(i).Log();
    const size_t at = log.rfind("instances: ");
    if (at == std::string::npos) return std::string();
    return log.substr(at, log.find('\n', at) - at);
  };
  const std::string all =
      "instances: p0=10.0.0.0:80,p1=10.0.0.1:80,p2=10.0.0.2:80";
  REQUIRE(WaitForCli([&] {
    return last_list(0) == all && last_list(1) == all && last_list(2) == all;
  }));
  // Killed: it leaves the others' lists once its session expired.
  e.at(2).Kill();
  const std::string two = "instances: p0=10.0.0.0:80,p1=10.0.0.1:80";
  CHECK(WaitForCli([&] { return last_list(0) == two && last_list(1) == two; }));
  // Started again: it is back in every list.
  start(2);
  CHECK(WaitForCli([&] {
    return last_list(0) == all && last_list(1) == all && last_list(2) == all;
  }));
  CHECK(e.StopAll() == 0);
}

}  // namespace
}  // namespace synod::testing
