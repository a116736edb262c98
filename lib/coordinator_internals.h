// Access to a Coordinator's internals for synod's own tests and tools
// (fault injection in the transport, the Impl's lower-level calls). Not
// installed; applications never see it.

#ifndef SYNOD_COORDINATOR_INTERNALS_H_
#define SYNOD_COORDINATOR_INTERNALS_H_

#include "coordinator_impl.h"
#include "synod/coordinator.h"

namespace synod {

class CoordinatorInternals {
 public:
  static Coordinator::Impl* impl(Coordinator& c) { return c.impl_.get(); }
};

}  // namespace synod

#endif  // SYNOD_COORDINATOR_INTERNALS_H_
