// A worker of the recipes' process test (recipes_process_test.cc): one
// process of an ensemble (its Coordinator embedded, started from
// examples/example_peer.h's flags) that runs one recipe and records each
// outcome as a line appended to a journal file the workers share:
//
//   recipe_worker --listen ... --seeds ... --data-dir ... --session-timeout S
//       --journal FILE --id ID --recipe counter|queue|double-barrier
//       [--count N] [--delta D] [--threads T]
//
//   counter         N adds of D (1 unless said) to /work/counter by each of
//                   T threads (1 unless said) sharing one Counter: "ID add
//                   V" for each value returned.
//   queue           N puts to /work/queue ("ID put ID-K" once each applied),
//                   then takes until stopped ("ID took ITEM"); "ID idle"
//                   whenever a take found the queue empty for 2 s.
//   double-barrier  N rounds of a double barrier of 3 on /work/barrier:
//                   "ID arrive R", "ID entered R", "ID leaving R",
//                   "ID left R".
//
// Appends of one short line with O_APPEND are atomic and ordered as they
// happened: the journal is a real-time order the test can check across
// processes. Any failure is journaled as "ID error ..." and ends the work.
// After the work the worker prints "done" and stays up (it is a peer the
// others need) until SIGTERM.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "../../examples/example_peer.h"
#include "absl/strings/str_cat.h"
#include "synod/recipes.h"

namespace {

class Journal {
 public:
  Journal(const std::string& path, std::string id)
      : fd_(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644)),
        id_(std::move(id)) {
    if (fd_ < 0) {
      std::perror("journal");
      std::exit(2);
    }
  }
  // Appends "ID what\n" in one write.
  void Write(const std::string& what) {
    const std::string line = absl::StrCat(id_, " ", what, "\n");
    if (write(fd_, line.data(), line.size()) !=
        static_cast<ssize_t>(line.size())) {
      std::perror("journal write");
      std::exit(2);
    }
  }
  // Journals `status` as an error; returns whether it was OK.
  bool Ok(const absl::Status& status, const std::string& what) {
    if (status.ok()) return true;
    Write(absl::StrCat("error ", what, ": ", status.ToString()));
    return false;
  }

 private:
  const int fd_;
  const std::string id_;
};

void RunCounter(synod::Coordinator& c, Journal& journal, int count,
                int64_t delta, int threads) {
  synod::recipes::Counter counter(c, "/work/counter");
  std::vector<std::thread> adders;
  for (int t = 0; t < threads; ++t) {
    adders.emplace_back([&] {
      for (int i = 0; i < count && !example::stopping; ++i) {
        absl::StatusOr<int64_t> value = counter.Add(delta);
        if (!journal.Ok(value.status(), "add")) return;
        journal.Write(absl::StrCat("add ", *value));
      }
    });
  }
  for (std::thread& t : adders) t.join();
}

void RunQueue(synod::Coordinator& c, Journal& journal, const std::string& id,
              int count) {
  synod::recipes::Queue queue(c, "/work/queue");
  for (int i = 0; i < count && !example::stopping; ++i) {
    const std::string item = absl::StrCat(id, "-", i);
    if (!journal.Ok(queue.Put(item), "put")) return;
    journal.Write(absl::StrCat("put ", item));
  }
  while (!example::stopping) {
    absl::StatusOr<std::string> item = queue.Take(absl::Seconds(2));
    if (absl::IsDeadlineExceeded(item.status())) {
      journal.Write("idle");
      continue;
    }
    if (!journal.Ok(item.status(), "take")) return;
    journal.Write(absl::StrCat("took ", *item));
  }
}

void RunDoubleBarrier(synod::Coordinator& c, Journal& journal,
                      const std::string& id, int rounds) {
  synod::recipes::DoubleBarrier barrier(c, "/work/barrier", 3, id);
  for (int r = 0; r < rounds && !example::stopping; ++r) {
    journal.Write(absl::StrCat("arrive ", r));
    if (!journal.Ok(barrier.Enter(absl::Minutes(1)), "enter")) return;
    journal.Write(absl::StrCat("entered ", r));
    absl::SleepFor(absl::Milliseconds(20 * (id.back() - '0')));
    journal.Write(absl::StrCat("leaving ", r));
    if (!journal.Ok(barrier.Leave(absl::Minutes(1)), "leave")) return;
    journal.Write(absl::StrCat("left ", r));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto flags = example::ParseFlags(argc, argv);
  const std::string id = example::Flag(flags, "id");
  const std::string recipe = example::Flag(flags, "recipe");
  const int count = std::stoi(example::Flag(flags, "count", "50"));
  Journal journal(example::Flag(flags, "journal"), id);
  example::StopOnSignals();
  auto coordinator = example::JoinEnsemble(flags);

  if (recipe == "counter") {
    RunCounter(*coordinator, journal, count,
               std::stoll(example::Flag(flags, "delta", "1")),
               std::stoi(example::Flag(flags, "threads", "1")));
  } else if (recipe == "queue") {
    RunQueue(*coordinator, journal, id, count);
  } else if (recipe == "double-barrier") {
    RunDoubleBarrier(*coordinator, journal, id, count);
  } else {
    std::fprintf(stderr, "unknown --recipe %s\n", recipe.c_str());
    return 2;
  }
  std::printf("done\n");
  std::fflush(stdout);
  while (!example::stopping) absl::SleepFor(absl::Milliseconds(50));
  return 0;
}
