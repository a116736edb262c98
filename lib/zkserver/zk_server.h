// ZkServer: ZooKeeper's client protocol on a TCP address of a peer
// (Options::zk_listen, synod-peer --zk-listen), so that ZooKeeper's own
// clients (zkCli, the C and Java clients, Curator, kazoo) reach the
// ensemble. The protocol of each connection is ZkConnection's; this is the
// socket loop around them: one thread with epoll, non-blocking sockets, an
// eventfd that wakes it for the host's completions and watch events, and a
// tick (Options::tick) for idle and expired sessions. With Options::tls
// every connection is mutual TLS (tls_channel.h), its certificate subject
// the connection's x509 identity.
//
// Bounded whatever clients do: at most Options::max_connections
// connections (one more is accepted and closed at once), reads stop while a
// connection has too much unanswered, and each connection's bounds are
// ZkConnection's.

#ifndef SYNOD_ZKSERVER_ZK_SERVER_H_
#define SYNOD_ZKSERVER_ZK_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "synod/options.h"
#include "transport/client_host.h"

namespace synod::zkserver {

class ZkServer {
 public:
  // Listens on options.zk_listen ("host:port"; port 0: the system picks
  // one) and serves on a thread of its own. `host` must outlive the
  // server. Unavailable (naming the address) if it cannot listen there.
  static absl::StatusOr<std::unique_ptr<ZkServer>> Start(
      transport::ClientHost* host, const Options& options);
  // Stops.
  ~ZkServer();

  ZkServer(const ZkServer&) = delete;
  ZkServer& operator=(const ZkServer&) = delete;

  // The address it listens on, with the port it bound.
  std::string address() const;

  // Closes every connection (their sessions stay open on the ensemble for
  // their timeouts, for the clients to resume at another peer) and stops
  // the thread; nothing touches the host after it returns. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit ZkServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace synod::zkserver

#endif  // SYNOD_ZKSERVER_ZK_SERVER_H_
