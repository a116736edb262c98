// The command line shared by the side-by-side benchmark's load generators:
// each main makes its backend from the flags and hands over to LoadMain.
//
// Modes (one per run):
//   (default)        prepares the keys, then runs every --workloads at every
//                    --in-flight, printing a table to stdout and appending
//                    CSV rows to --csv.
//   --populate=N     creates the big tree (Populate) and prints
//                    "last=/big/pNNNN/cNNNN".
//   --probe=PATH     opens a backend and reads PATH, again and again until
//                    it succeeds or --probe-timeout passes; prints
//                    "probe_seconds=S", S measured from --since-ns (a
//                    CLOCK_REALTIME timestamp in ns, e.g. `date +%s%N`) or
//                    from the probe's start. Exit status 1 on timeout.
//
// Common flags: --system=NAME (the CSV's system column), --workloads=LIST,
// --in-flight=1,256, --sessions=4 (sessions at in-flight > 1; 1 in flight
// uses one), --seconds=5, --warmup=1, --value-bytes=1024, --keys=10000,
// --multi-ops=10, --csv=PATH, --populate-value-bytes=100,
// --probe-timeout=120.

#ifndef SYNOD_BENCH_COMPARE_LOAD_MAIN_H_
#define SYNOD_BENCH_COMPARE_LOAD_MAIN_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "load.h"

namespace synod::bench {

// --name=value flags (a bare --name is "true"). Unknown names are the
// backend's to check.
using Flags = std::map<std::string, std::string>;

// Returns flags[name], or `fallback` if absent.
std::string FlagOr(const Flags& flags, const std::string& name,
                   const std::string& fallback);

// Makes a backend from the flags (its own flags: --servers, --peer, ...).
// Called once per run, and once per attempt in --probe mode.
using BackendFactory =
    std::function<absl::StatusOr<std::unique_ptr<Backend>>(const Flags&)>;

// Parses argv, runs the mode, returns the process exit status. Errors are
// printed to stderr as "<program>: <message>". `backend_flags` names the
// flags the factory takes, so anything else is refused as unknown.
int LoadMain(int argc, char** argv, const std::vector<std::string>& backend_flags,
             const BackendFactory& factory);

}  // namespace synod::bench

#endif  // SYNOD_BENCH_COMPARE_LOAD_MAIN_H_
