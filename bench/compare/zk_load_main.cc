// zk_load: the side-by-side benchmark's load generator for Apache ZooKeeper,
// through its multithreaded C client. See load_main.h for the modes and
// common flags; its own flags are --servers=host:port[,host:port...] and
// --zk-session-timeout-ms=N (see zk_backend.h).

#include <memory>

#include "absl/status/statusor.h"
#include "load.h"
#include "load_main.h"
#include "zk_backend.h"

int main(int argc, char** argv) {
  return synod::bench::LoadMain(
      argc, argv, {"servers", "zk-session-timeout-ms"},
      [](const synod::bench::Flags& flags)
          -> absl::StatusOr<std::unique_ptr<synod::bench::Backend>> {
        return synod::bench::MakeZooKeeperBackend(flags);
      });
}
