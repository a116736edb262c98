// Service discovery among processes: every process of the ensemble runs
// this, registers itself as an instance of the service "api" (its data: the
// address it would serve on) and watches the service's instances, printing
// the list each time it changes. A process that dies leaves the list once
// its session expires; one that starts joins it.
//
//   service_discovery --listen HOST:PORT --seeds A,B,C --data-dir DIR \
//       --id NAME --serves HOST:PORT [--session-timeout 4s]
//
// Prints "instances: ID=ADDRESS,..." on start and on every change. (A
// client would call registry.Pick("api", Strategy::kRoundRobin) to choose
// where to send a request.)

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "example_peer.h"
#include "synod/recipes.h"

int main(int argc, char** argv) {
  const auto flags = example::ParseFlags(argc, argv);
  const std::string id = example::Flag(flags, "id");
  const std::string serves = example::Flag(flags, "serves");
  example::StopOnSignals();
  auto coordinator = example::JoinEnsemble(flags);

  using Registry = synod::recipes::ServiceRegistry;
  Registry registry(*coordinator, "/examples/services");
  example::Check(registry.Register("api", id, serves), "register");
  auto watched = registry.Watch(
      "api", [](const std::vector<Registry::Instance>& instances) {
        std::vector<std::string> shown;
        for (const Registry::Instance& i : instances) {
          shown.push_back(i.id + "=" + i.data);
        }
        std::printf("instances: %s\n", absl::StrJoin(shown, ",").c_str());
        std::fflush(stdout);
      });
  example::Check(watched.status(), "watch");
  while (!example::stopping) absl::SleepFor(absl::Milliseconds(50));
  registry.Unwatch(*watched);
  std::printf("stopping\n");
  return 0;
}
