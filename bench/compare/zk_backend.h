// The ZooKeeper backend of the side-by-side benchmark: sessions of Apache
// ZooKeeper's multithreaded C client (libzookeeper_mt), one zhandle_t each,
// issuing every operation through the client's asynchronous calls
// (zoo_acreate, zoo_aset, zoo_aget, zoo_amulti) so that many operations can
// be outstanding on one session.
//
// Example:
//   Flags flags = {{"servers", "127.0.0.1:22181,127.0.0.1:22182"}};
//   absl::StatusOr<std::unique_ptr<Backend>> zk = MakeZooKeeperBackend(flags);
//   absl::StatusOr<Session*> s = (*zk)->OpenSession();
//
// Completions run on the handle's completion thread (one per session); a
// completion may issue the session's next operation. The client's own log
// is cut to its errors, each distinct message printed to stderr at most
// once per 10 s.

#ifndef SYNOD_BENCH_COMPARE_ZK_BACKEND_H_
#define SYNOD_BENCH_COMPARE_ZK_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "load.h"
#include "load_main.h"

namespace synod::bench {

// Makes a ZooKeeper backend from its flags:
//   --servers=host:port[,host:port...]  the connection string (required)
//   --zk-session-timeout-ms=N           the requested session timeout
//                                       (default 10000)
// Connects nothing yet: each OpenSession() creates one handle and waits up
// to 30 s for it to reach ZOO_CONNECTED_STATE (Unavailable otherwise).
// Session operations map ZooKeeper's results to absl codes: NodeExists is
// AlreadyExists, NoNode is NotFound (also a create under a missing parent),
// connection loss is Unavailable; every message names the call, the path
// and zerror(rc). Destroying the backend closes every handle; operations
// still outstanding then complete with Cancelled (ZCLOSING).
// Returns InvalidArgument for a missing or malformed flag.
absl::StatusOr<std::unique_ptr<Backend>> MakeZooKeeperBackend(
    const Flags& flags);

}  // namespace synod::bench

#endif  // SYNOD_BENCH_COMPARE_ZK_BACKEND_H_
