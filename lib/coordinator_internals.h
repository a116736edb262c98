// Access to an embedded Coordinator's internals for synod's own tests and
// tools (fault injection in the transport, the runtime's lower-level
// calls). Not installed; applications never see it.

#ifndef SYNOD_COORDINATOR_INTERNALS_H_
#define SYNOD_COORDINATOR_INTERNALS_H_

#include <memory>
#include <utility>

#include "embedded_coordinator.h"
#include "runtime/peer_runtime.h"
#include "synod/coordinator.h"

namespace synod {

class CoordinatorInternals {
 public:
  // The runtime of `c`, which Coordinator::Start (or StartWithEnv) made.
  static PeerRuntime* runtime(Coordinator& c) {
    return static_cast<EmbeddedCoordinator&>(c).runtime();
  }

  // Starts a Coordinator as Coordinator::Start does, with its storage on
  // `env` (which must outlive it).
  static absl::StatusOr<std::unique_ptr<Coordinator>> StartWithEnv(
      Options options, Env* env) {
    auto runtime = std::make_unique<PeerRuntime>(std::move(options));
    runtime->storage_env_ = env;
    absl::Status s = runtime->Init();
    if (!s.ok()) return s;
    return std::unique_ptr<Coordinator>(
        new EmbeddedCoordinator(std::move(runtime)));
  }
};

}  // namespace synod

#endif  // SYNOD_COORDINATOR_INTERNALS_H_
