// What every remote client's session shares, whichever protocol it came
// by (synod's gRPC client service, ZooKeeper's protocol): the identity the
// services open and close sessions with, and the range of timeouts a
// client may ask for.

#ifndef SYNOD_TRANSPORT_REMOTE_SESSION_H_
#define SYNOD_TRANSPORT_REMOTE_SESSION_H_

#include <cstdint>
#include <memory>

#include "acl/acl.h"
#include "synod/options.h"

namespace synod::transport {

// The system's identity (super), for the services' own requests: opening,
// resuming and closing sessions.
std::shared_ptr<const AuthInfo> SystemAuth();

// The timeout a remote session gets when its client asks for `asked_ms`
// (0 or less: the peer's Options::session_timeout): within 100 ms (and at
// least 20 ticks, so that a session outlives a failover) to 10 minutes.
int32_t RemoteSessionTimeoutMs(const Options& options, int64_t asked_ms);

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_REMOTE_SESSION_H_
