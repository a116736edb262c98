// Access to a Coordinator's internals for synod's own tests and tools
// (fault injection in the transport, the Impl's lower-level calls). Not
// installed; applications never see it.

#ifndef SYNOD_COORDINATOR_INTERNALS_H_
#define SYNOD_COORDINATOR_INTERNALS_H_

#include <memory>
#include <utility>

#include "coordinator_impl.h"
#include "synod/coordinator.h"

namespace synod {

class CoordinatorInternals {
 public:
  static Coordinator::Impl* impl(Coordinator& c) { return c.impl_.get(); }

  // Starts a Coordinator as Coordinator::Start does, with its storage on
  // `env` (which must outlive it).
  static absl::StatusOr<std::unique_ptr<Coordinator>> StartWithEnv(
      Options options, Env* env) {
    auto impl = std::make_unique<Coordinator::Impl>(std::move(options));
    impl->storage_env_ = env;
    absl::Status s = impl->Init();
    if (!s.ok()) return s;
    return std::unique_ptr<Coordinator>(new Coordinator(std::move(impl)));
  }
};

}  // namespace synod

#endif  // SYNOD_COORDINATOR_INTERNALS_H_
