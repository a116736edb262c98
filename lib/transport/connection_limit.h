// ConnectionLimit: caps the TCP connections a gRPC server holds open.
//
// gRPC 1.51 has no such cap (its ResourceQuota bounds memory and the
// threads of synchronous services, not descriptors). ConnectionLimit
// installs a socket mutator on the server: gRPC calls it on every
// connection it accepts, before it reads a byte. The mutator counts the
// connections still open (it remembers each accepted descriptor with its
// socket's inode, and a descriptor whose inode changed or that is closed no
// longer counts) and, past the cap, shuts the new socket down: gRPC's first
// read sees the end of the stream and closes it at once, so the descriptors
// held never exceed the cap by more than the connections being torn down.
// (The mutator cannot refuse the connection itself: a mutator that fails
// makes gRPC 1.51 stop accepting on the port altogether.)
//
// Peers' links share the port with clients. So that clients cannot starve
// them, connections from clients may take only `max_connections - reserve`
// of the slots; a connection whose source address is one of the ensemble's
// hosts (`trusted_hosts`, resolved once at construction) may take any slot.
// (On one host, where peers and clients share an address, clients get the
// whole cap.)
//
// Thread-safe.

#ifndef SYNOD_TRANSPORT_CONNECTION_LIMIT_H_
#define SYNOD_TRANSPORT_CONNECTION_LIMIT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace grpc {
class ServerBuilder;
}

namespace synod::transport {

class ConnectionLimit {
 public:
  // `max_connections` >= 1; `reserve` < max_connections. `trusted_hosts`
  // are "host:port" addresses (the port is ignored) or hosts.
  ConnectionLimit(int max_connections, int reserve,
                  const std::vector<std::string>& trusted_hosts);
  ~ConnectionLimit();

  ConnectionLimit(const ConnectionLimit&) = delete;
  ConnectionLimit& operator=(const ConnectionLimit&) = delete;

  // Installs the cap on `builder`'s server. Call once, before BuildAndStart.
  // The server may outlive this object (the mutator holds what it needs).
  void ConfigureServer(grpc::ServerBuilder* builder);

  // Connections accepted and still open (counted now).
  int open_connections() const;
  // Connections shut down at accept because the cap was reached.
  int64_t refused() const;

  class State;  // shared with the mutator

 private:
  std::shared_ptr<State> state_;
};

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_CONNECTION_LIMIT_H_
