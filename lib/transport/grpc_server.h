// GrpcServer: the peer's gRPC server at Options::listen, serving the client
// service (over a ClientHost) and, in an ensemble, the peer links on the
// same port.
//
// It owns the grpc::Server, the cap on its connections (ConnectionLimit,
// with slots kept for the peers' links) and the ClientService. One owner
// per address: a busy port is refused, never shared (no SO_REUSEPORT).
// Idle connections and handshakes that do not finish are closed after
// Options::connection_idle_timeout; half-open ones are dropped by
// keepalive pings (the peer network's rules in an ensemble, the same pings
// alone).

#ifndef SYNOD_TRANSPORT_GRPC_SERVER_H_
#define SYNOD_TRANSPORT_GRPC_SERVER_H_

#include <memory>

#include "absl/status/status.h"
#include "synod/options.h"

namespace grpc {
class Server;
}

namespace synod::transport {

class ClientHost;
class ClientService;
class ConnectionLimit;
class PeerNetwork;
class TransportCredentials;

class GrpcServer {
 public:
  // Serves nothing until Start. `host` must outlive this object; `network`
  // (null: no peer links, a peer alone) must outlive Shutdown. The server
  // accepts connections with `credentials` (plaintext or mutual TLS; null:
  // plaintext).
  GrpcServer(const Options& options, ClientHost* host, PeerNetwork* network,
             std::shared_ptr<const TransportCredentials> credentials = nullptr);
  // Shutdown, then the client service goes.
  ~GrpcServer();

  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Listens on options.listen and serves. BadArguments "cannot listen on
  // <listen>" if it cannot (": address <listen> is in use" when that is
  // why); the server is then not running and the client service is shut
  // down. Call once.
  absl::Status Start();

  // The port the server listens on (the one chosen, for a listen address
  // ending in ":0"); 0 before a successful Start.
  int port() const { return port_; }

  // Ends the remote clients' streams, closing their sessions while the
  // host still can (see ClientService::Shutdown); the server keeps serving
  // the peer links. Idempotent.
  void StopClients();

  // StopClients, then stops the server, giving calls still running 200 ms.
  // The owner of the peer network shuts it down before this, so its streams
  // end. Idempotent.
  void Shutdown();

 private:
  const Options options_;
  PeerNetwork* const network_;
  const std::shared_ptr<const TransportCredentials> credentials_;
  std::unique_ptr<ClientService> client_service_;
  // The cap on the connections server_ accepts (Options::max_connections).
  std::unique_ptr<ConnectionLimit> connection_limit_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_GRPC_SERVER_H_
