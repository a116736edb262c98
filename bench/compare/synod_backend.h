// The embedded synod backend of the side-by-side benchmark: the load
// generator's process is one of the ensemble's peers, and the load goes
// through its Coordinator's public API, as an application's would.

#ifndef SYNOD_BENCH_COMPARE_SYNOD_BACKEND_H_
#define SYNOD_BENCH_COMPARE_SYNOD_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "load.h"
#include "load_main.h"

namespace synod::bench {

// Starts a Coordinator from --listen, --seeds and --data-dir (and
// --session-timeout-ms) and waits until it has a session (up to 60 s).
// Its sessions are all views of that one Coordinator: an application
// process has one session, shared by all its threads. Writes use the
// asynchronous calls; reads are the blocking local Get (they never leave
// the process), completed before the call returns.
absl::StatusOr<std::unique_ptr<Backend>> MakeEmbeddedBackend(
    const Flags& flags);

}  // namespace synod::bench

#endif  // SYNOD_BENCH_COMPARE_SYNOD_BACKEND_H_
