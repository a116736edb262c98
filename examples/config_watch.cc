// Configuration watched by all: every process of the ensemble runs this and
// keeps a NodeCache of /examples/config, printing each value it takes.
// Change it from anywhere (synod-cli set /examples/config VALUE, or any
// process's Coordinator) and every process prints the new value.
//
//   config_watch --listen HOST:PORT --seeds A,B,C --data-dir DIR
//       [--session-timeout 4s]
//
// Prints "config: VALUE" on start (or "config: (none)") and on each change.

#include <cstdio>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "example_peer.h"
#include "synod/recipes.h"

namespace {

void Print(const std::optional<synod::Node>& node) {
  std::printf("config: %s\n", node ? node->data.c_str() : "(none)");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const auto flags = example::ParseFlags(argc, argv);
  example::StopOnSignals();
  auto coordinator = example::JoinEnsemble(flags);

  synod::recipes::NodeCache config(*coordinator, "/examples/config", Print);
  example::Check(config.Start(), "watch the configuration");
  Print(config.Current());
  while (!example::stopping) absl::SleepFor(absl::Milliseconds(50));
  std::printf("stopping\n");
  return 0;
}
