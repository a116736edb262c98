// synod-peer: one peer of a synod ensemble as a process of its own. It
// serves its peers and remote clients (synod-cli) on --listen until SIGINT
// or SIGTERM, then shuts down cleanly (its session closed, its log synced).
//
//   synod-peer --listen 127.0.0.1:7001 --data-dir /var/lib/synod/1
//       --seeds 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "synod/coordinator.h"
#include "tools/flags.h"
#include "util/tsan_suppressions.h"  // gRPC's callback API under TSan

namespace {

// Prints `message` and the usage to stderr; the exit status of a usage error.
int UsageError(const std::string& message) {
  std::fprintf(stderr, "synod-peer: %s\n%s", message.c_str(),
               synod::tools::kPeerUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<synod::tools::PeerFlags> flags =
      synod::tools::ParsePeerFlags(args);
  if (!flags.ok()) return UsageError(std::string(flags.status().message()));
  if (flags->help) {
    std::fputs(synod::tools::kPeerUsage, stdout);
    return 0;
  }

  // Block the stop signals before any thread starts, so every thread
  // inherits the mask and they reach only sigwait below: nothing runs in a
  // signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
    std::fprintf(stderr, "synod-peer: cannot block signals\n");
    return 1;
  }

  synod::Options options = synod::tools::PeerOptions(*flags);
  options.log_sink = synod::StderrLogSink(flags->log_level);
  // synod-peer is the host here: gRPC's and protobuf's messages go to its
  // sink too, with its format and level.
  synod::RouteLibraryLogs(options.log_sink);
  absl::StatusOr<std::unique_ptr<synod::Coordinator>> coordinator =
      synod::Coordinator::Start(options);
  if (!coordinator.ok()) {
    std::fprintf(stderr, "synod-peer: cannot start: %s\n",
                 coordinator.status().ToString().c_str());
    return 1;
  }
  std::printf("synod-peer: serving on %s\n", flags->listen.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  std::fprintf(stderr, "synod-peer: %s received, shutting down\n",
               signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  if (flags->leave_on_shutdown) {
    // Bounded: with no leader the change fails after the session timeout.
    const absl::Status left = (*coordinator)->Leave();
    if (left.ok()) {
      std::fprintf(stderr, "synod-peer: left the ensemble\n");
    } else {
      std::fprintf(stderr, "synod-peer: could not leave the ensemble: %s\n",
                   left.ToString().c_str());
    }
  }
  coordinator->reset();  // closes the session, stops every thread
  std::fprintf(stderr, "synod-peer: stopped\n");
  return 0;
}
