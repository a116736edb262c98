// GrpcServer: builds the peer's gRPC server (channel arguments, the
// connection cap, keepalive, the services) and stops it in order.

#include "transport/grpc_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "transport/client_service.h"
#include "transport/connection_limit.h"
#include "transport/peer_network.h"
#include "transport/tls.h"
#include "transport/wire.h"
#include "util/errors.h"

namespace synod::transport {
namespace {

// Returns true if binding `address` ("host:port") fails with EADDRINUSE:
// why gRPC could not listen there, since gRPC does not say.
bool AddressInUse(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(),
                  address.substr(colon + 1).c_str(), &hints, &found) != 0) {
    return false;
  }
  bool in_use = false;
  for (addrinfo* a = found; a != nullptr && !in_use; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    in_use = bind(fd, a->ai_addr, a->ai_addrlen) != 0 && errno == EADDRINUSE;
    close(fd);
  }
  freeaddrinfo(found);
  return in_use;
}

}  // namespace

GrpcServer::GrpcServer(const Options& options, ClientHost* host,
                       PeerNetwork* network,
                       std::shared_ptr<const TransportCredentials> credentials)
    : options_(options),
      network_(network),
      credentials_(credentials ? std::move(credentials)
                               : TransportCredentials::Plaintext()),
      client_service_(std::make_unique<ClientService>(host, options)) {}

GrpcServer::~GrpcServer() { Shutdown(); }

absl::Status GrpcServer::Start() {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options_.listen, credentials_->Server(),
                           &port);
  // One owner per address: without this gRPC binds with SO_REUSEPORT, and a
  // second peer on a busy port would start and take half of its clients.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  const int max_message = static_cast<int>(WireLimits().max_bytes) + (1 << 20);
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  // Idle connections (no stream) and connections that never finish their
  // HTTP/2 handshake are closed after the idle timeout; half-open ones are
  // dropped by keepalive pings (sent after 10 s without traffic, 10 s to
  // answer; PeerNetwork::ConfigureServer's in an ensemble).
  const int idle_ms = static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(options_.connection_idle_timeout), INT32_MAX));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, idle_ms);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, idle_ms);
  // Peers' links may always take the last slots (see ConnectionLimit):
  // two per voter (a link each way may be reconnecting) and a few for
  // observers.
  const int reserve = std::min<int>(
      options_.max_connections / 2,
      2 * static_cast<int>(options_.seeds.size()) + 8);
  connection_limit_ = std::make_unique<ConnectionLimit>(
      options_.max_connections, reserve, options_.seeds);
  connection_limit_->ConfigureServer(&builder);
  if (network_) {
    network_->ConfigureServer(&builder);  // keepalive rules for the links
    builder.RegisterService(network_->service());
  } else {
    // Alone: the same pings for clients' connections.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  }
  builder.RegisterService(client_service_->service());
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    client_service_->Shutdown();
    if (AddressInUse(options_.listen)) {
      return MakeError(Error::kBadArguments,
                       absl::StrCat("cannot listen on ", options_.listen,
                                    ": address ", options_.listen,
                                    " is in use"));
    }
    return MakeError(Error::kBadArguments,
                     absl::StrCat("cannot listen on ", options_.listen));
  }
  port_ = port;
  return absl::OkStatus();
}

void GrpcServer::StopClients() { client_service_->Shutdown(); }

void GrpcServer::Shutdown() {
  StopClients();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(200));
    server_.reset();
  }
}

}  // namespace synod::transport
