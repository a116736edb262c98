// What every recipe example shares: it is one process of an ensemble (the
// Coordinator embedded, as an application would have it), started from a
// few flags, and it stops cleanly on SIGTERM or SIGINT.
//
//   --listen HOST:PORT  --seeds A,B,C  --data-dir DIR  [--session-timeout S]
//
// plus the example's own flags, read with Flag().

#ifndef SYNOD_EXAMPLES_EXAMPLE_PEER_H_
#define SYNOD_EXAMPLES_EXAMPLE_PEER_H_

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "synod/synod.h"
// Each example runs a peer: under ThreadSanitizer it needs the suppressions
// synod-peer has for gRPC's callback API (nothing otherwise). Included once
// per example, as this header is.
#include "util/tsan_suppressions.h"

namespace example {

// "--name value" pairs of the command line.
inline std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) {
      std::fprintf(stderr, "unexpected argument %s\n", argv[i]);
      std::exit(2);
    }
    flags[name.substr(2)] = argv[i + 1];
  }
  return flags;
}

// The flag `name`, or `fallback`; exits if it is required (no fallback) and
// absent.
inline std::string Flag(const std::map<std::string, std::string>& flags,
                        const std::string& name,
                        const char* fallback = nullptr) {
  auto it = flags.find(name);
  if (it != flags.end()) return it->second;
  if (fallback == nullptr) {
    std::fprintf(stderr, "missing --%s\n", name.c_str());
    std::exit(2);
  }
  return fallback;
}

// Exits with a message unless `status` is OK.
inline void Check(const absl::Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

// Starts this process's Coordinator as a peer of the ensemble the flags
// name, and waits for its session.
inline std::unique_ptr<synod::Coordinator> JoinEnsemble(
    const std::map<std::string, std::string>& flags) {
  synod::Options options;
  options.listen = Flag(flags, "listen");
  options.seeds = absl::StrSplit(Flag(flags, "seeds"), ',');
  options.data_dir = Flag(flags, "data-dir");
  absl::Duration timeout;
  if (!absl::ParseDuration(Flag(flags, "session-timeout", "10s"), &timeout)) {
    std::fprintf(stderr, "bad --session-timeout\n");
    std::exit(2);
  }
  options.session_timeout = timeout;
  auto started = synod::Coordinator::Start(options);
  Check(started.status(), "start");
  Check((*started)->WaitConnected(absl::Minutes(2)), "connect");
  return std::move(*started);
}

// Set by SIGTERM or SIGINT: the example's loop ends and it shuts down.
inline volatile std::sig_atomic_t stopping = 0;
inline void StopOnSignals() {
  std::signal(SIGTERM, [](int) { stopping = 1; });
  std::signal(SIGINT, [](int) { stopping = 1; });
}

}  // namespace example

#endif  // SYNOD_EXAMPLES_EXAMPLE_PEER_H_
