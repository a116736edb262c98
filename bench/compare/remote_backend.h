// The side-by-side benchmark's backend for synod through its client
// service (transport/client.proto): each session is one Session stream to a
// peer, with many requests in flight on it at once (pipelined), as
// ZooKeeper's client pipelines requests on its connection.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<Backend>> backend =
//       MakeRemoteBackend({{"peer", "127.0.0.1:7301"}});
//   absl::StatusOr<Session*> session = (*backend)->OpenSession();
//   (*session)->Get("/bench/k/0000000", 1024, &completion);

#ifndef SYNOD_BENCH_COMPARE_REMOTE_BACKEND_H_
#define SYNOD_BENCH_COMPARE_REMOTE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "load.h"
#include "load_main.h"

namespace synod::bench {

// What the remote backend connects to and how.
struct RemoteOptions {
  // The peer's listen address (HOST:PORT), which serves the Client service.
  std::string peer;
  // The sessions' timeout in ms; 0: the peer's default.
  int64_t session_timeout_ms = 0;
  // How long OpenSession waits for the peer to open the session (in an
  // ensemble the session waits for a serving leader).
  absl::Duration open_timeout = absl::Seconds(15);
  // How long destruction waits for each stream to end after half-closing
  // it (the peer closes the session first) before cancelling it.
  absl::Duration close_timeout = absl::Seconds(5);
};

// Returns the backend for `options`. Nothing is connected before the first
// OpenSession, which fails with Unavailable if the peer cannot be reached
// or opens no session within open_timeout, or with the peer's error.
//
// Each session is a Session stream on a connection of its own. Its calls
// return at once, without waiting for the reply; any number of operations
// may be in flight on a session. Completions run on the session's reader
// thread (or on the calling thread, for a call on a session whose stream
// is lost or closed), never with a lock of the backend held, so they may
// issue the next operation. Error statuses carry the peer's synod::Error
// (ErrorOf): NodeExists is AlreadyExists, NoNode is NotFound. A lost stream
// fails every operation outstanding on it, each once, and every later one,
// with Unavailable. Destroying the backend ends every session (the peer
// answers what is in flight, then closes the session), waiting a bounded
// time and failing what got no reply: no completion runs after the
// destructor returns.
absl::StatusOr<std::unique_ptr<Backend>> MakeRemoteBackend(
    const RemoteOptions& options);

// As above, from the flags --peer=HOST:PORT (required) and
// --remote-session-timeout-ms=N (default 0: the peer's default).
// InvalidArgument if --peer is missing or a number is malformed.
absl::StatusOr<std::unique_ptr<Backend>> MakeRemoteBackend(const Flags& flags);

}  // namespace synod::bench

#endif  // SYNOD_BENCH_COMPARE_REMOTE_BACKEND_H_
