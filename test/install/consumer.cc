// Uses synod as an application would, through the installed package only:
// create, read, update, delete, watch, multi and recipes. Exits 0 if all
// behave.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "synod/recipes.h"
#include "synod/synod.h"

#define EXPECT(cond)                                             \
  do {                                                           \
    if (!(cond)) {                                               \
      std::fprintf(stderr, "consumer: failed: %s\n", #cond);     \
      return 1;                                                  \
    }                                                            \
  } while (0)

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  synod::Options options;
  options.data_dir = argv[1];
  auto c = synod::Coordinator::Start(options);
  EXPECT(c.ok());
  synod::Coordinator& coord = **c;
  EXPECT(coord.Create("/x", "1").ok());
  int fired = 0;
  EXPECT(coord.Get("/x", [&](const synod::WatchEvent& e) {
    if (e.type == synod::EventType::kDataChanged) ++fired;
  }).ok());
  EXPECT(coord.Set("/x", "2", 0).ok());
  auto m = coord.Multi({synod::Op::Check("/x", 1), synod::Op::Create("/y", "")});
  EXPECT(m.ok() && m->size() == 2);
  EXPECT(synod::ErrorOf(coord.Create("/x", "").status()) ==
         synod::Error::kNodeExists);
  EXPECT(coord.Delete("/y").ok());
  EXPECT(coord.Sync("/").ok());
  {
    synod::recipes::Lock lock(coord, "/locks/consumer");
    EXPECT(lock.Acquire(absl::Seconds(10)).ok());
    EXPECT(lock.IsHeld());
    EXPECT(lock.Release().ok());
  }
  {
    synod::recipes::Counter counter(coord, "/counters/consumer");
    EXPECT(counter.Add(2).ok() && *counter.Get() == 2);
    synod::recipes::Queue queue(coord, "/queues/consumer");
    EXPECT(queue.Put("job").ok());
    auto job = queue.Take(absl::Seconds(10));
    EXPECT(job.ok() && *job == "job");
  }
  c->reset();  // shutdown runs every queued watcher
  EXPECT(fired == 1);
  std::printf("consumer: ok\n");
  return 0;
}
