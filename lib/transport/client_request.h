// The checks of a remote client's request (transport/client.proto) that
// need no tree: what the client service answers BadArguments to at once,
// without submitting or reading anything. Pure: no gRPC, no Coordinator.

#ifndef SYNOD_TRANSPORT_CLIENT_REQUEST_H_
#define SYNOD_TRANSPORT_CLIENT_REQUEST_H_

#include "absl/status/status.h"
#include "transport/client.pb.h"

namespace synod::transport {

// Returns OK if a client may submit `request`: the ZooKeeper operations
// (create, delete, set data, set ACL, check, and a multi of them), not the
// session and cleanup requests that only the system makes. An empty or
// unknown body (an op type this peer does not know) is BadArguments.
absl::Status CheckClientWrite(const txn::Request& request);

// Returns OK if `request` is well formed for a session that is already
// open: a known kind (a write per CheckClientWrite; a read of a known kind
// on a valid path, with a known watch mode or watcher type; a sync of a
// valid path; an auth; a close; a set_watches of valid paths);
// BadArguments (with why) otherwise,
// including a second open. Paths are checked by ValidatePath (UTF-8 included); a
// write's paths and data are checked later, against the tree, by the
// leader's preparer.
absl::Status CheckClientRequest(const ClientRequest& request);

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_CLIENT_REQUEST_H_
