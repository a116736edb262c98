// ClientService: the gRPC Client service (transport/client.proto) over a
// peer's ClientHost (the Coordinator), for synod-cli and other remote
// clients.
//
// Each Session stream carries one session: the first request must be
// OpenSession; the service creates the session (through the leader, like
// any write) with a password for the client, or resumes the one the client
// names with its password; keeps it alive while the stream lives (the peer
// touches it to the leader), runs the stream's requests in order with that
// session and the stream's own identities (AuthRequest), and pushes watch
// events on the stream. CloseSession closes it. A stream that ends without
// one (and a peer that dies) leaves the session open for its timeout, for
// the client to resume on any peer. While no leader serves the peer, the
// streams of open sessions end (checked each tick), as ZooKeeper's server
// closes its connections then: their clients resume elsewhere rather than
// read from a replica left behind while the ensemble expires their
// sessions. Status answers at once with the peer's role and view.
//
// Bounded whatever remote clients do: no thread per stream (gRPC's callback
// API, and one worker thread of the service's own), at most
// Options::max_client_sessions sessions (one more is refused with
// ConnectionLoss "too many sessions at <listen>"), a bounded number of
// unanswered requests per stream (the stream is not read from meanwhile)
// and of replies queued for it. A malformed request gets BadArguments and
// the session carries on.

#ifndef SYNOD_TRANSPORT_CLIENT_SERVICE_H_
#define SYNOD_TRANSPORT_CLIENT_SERVICE_H_

#include <memory>

#include "synod/options.h"

namespace grpc {
class Service;
}

namespace synod::transport {

class ClientHost;
class SessionStream;

class ClientService {
 public:
  // Serves sessions over `host`, which must outlive the service's last
  // stream (see Shutdown). Of `options` it follows listen (named in
  // refusals), tick and session_timeout (the sessions' timeouts),
  // max_client_sessions, and the identity limits (max_acl_id_bytes,
  // max_auth_ids, super_digest).
  ClientService(ClientHost* host, const Options& options);
  ~ClientService();

  ClientService(const ClientService&) = delete;
  ClientService& operator=(const ClientService&) = delete;

  // The service, for the owner to register on its server.
  grpc::Service* service();

  // Refuses new streams and ends the open ones (their sessions stay open
  // for their clients to resume elsewhere; a CloseSession under way gets
  // a second to complete); returns once no stream touches `host` any
  // more (the streams still open finish as soon as gRPC lets them: the
  // server's Shutdown waits for them). Idempotent.
  void Shutdown();

 private:
  class Impl;
  friend class SessionStream;  // one stream, in the .cc
  std::unique_ptr<Impl> impl_;
};

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_CLIENT_SERVICE_H_
