// A process that writes as fast as it can and reports each acknowledged
// write on stdout ("ack <path>"), for crash_test to kill with SIGKILL.
//
// Usage: crash_writer DATA_DIR PREFIX
// It creates the ephemeral /eph-PREFIX, prints "ready", then keeps up to 64
// sequential creates under /PREFIX in flight until it is killed.

#include <cstdio>
#include <string>

#include "synod/synod.h"
#include "util/mutex.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR PREFIX\n");
    return 2;
  }
  synod::Options options;
  options.data_dir = argv[1];
  const std::string prefix = argv[2];
  auto c = synod::Coordinator::Start(options);
  if (!c.ok()) {
    std::fprintf(stderr, "start: %s\n", c.status().ToString().c_str());
    return 1;
  }
  auto parent = (*c)->Create("/" + prefix, "");
  auto eph = (*c)->Create("/eph-" + prefix, "", synod::CreateMode::kEphemeral);
  if (!parent.ok() || !eph.ok()) return 1;
  std::printf("ready\n");
  std::fflush(stdout);

  synod::Mutex mu;
  int in_flight = 0;
  for (int i = 0;; ++i) {
    {
      synod::MutexLock lock(&mu);
      auto room = [&in_flight] { return in_flight < 64; };
      mu.Await(room);
      ++in_flight;
    }
    (*c)->CreateAsync("/" + prefix + "/n-", std::to_string(i),
                      synod::CreateMode::kPersistentSequential, {},
                      [&](absl::StatusOr<std::string> r) {
                        if (r.ok()) {
                          // One write per line: a torn last line is possible
                          // only if the kill lands mid-write, and the reader
                          // ignores a line without its newline.
                          std::printf("ack %s\n", r->c_str());
                          std::fflush(stdout);
                        }
                        synod::MutexLock lock(&mu);
                        --in_flight;
                      });
  }
}
