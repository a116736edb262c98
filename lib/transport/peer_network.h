// PeerNetwork: one peer's links to the others over gRPC (service PeerLink
// in transport/link.proto).
//
// Sending: one outbound client stream per destination, opened on demand
// and reopened with exponential backoff after any failure. Send never
// blocks: frames queue per destination and a sender thread per destination
// writes them in order (gRPC's flow control paces it). A stream carries
// frames only once the receiver has accepted its hello (the receiver
// answers with its initial metadata; a refusal ends the stream with the
// reason instead). Frames queued while a link is down wait for it, up to
// `max_queued_bytes` per destination; past that the queue is dropped (zab
// tolerates lost messages: a learner that sees a gap rejoins, an election
// resends).
//
// Receiving: the service this class provides is registered on the peer's
// gRPC server by its owner. Each inbound stream must open with a LinkHello
// naming this ensemble; every later frame is validated (zab messages by
// transport/wire.h, plus: `from` equals the hello's sender and `to` is this
// peer). A stream that breaks a rule is ended with the reason in LinkReply
// and in its status, and a logged warning; neither the offending frame nor
// anything after it reaches the host (nothing at all, if the hello is the
// offender).
//
// Addresses: the owner gives the configuration's addresses (SetAddresses,
// again whenever the configuration changes), and every accepted hello
// teaches the address its sender listens on now (a member that moved, or a
// new peer asking to join). The latest word on a peer wins. An address may
// be a host name: it is resolved each time the link connects.
//
// Thread-safe. Handlers run on gRPC threads, concurrently for different
// senders and in order for one sender; they must not block.

#ifndef SYNOD_TRANSPORT_PEER_NETWORK_H_
#define SYNOD_TRANSPORT_PEER_NETWORK_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "synod/options.h"
#include "transport/tls.h"
#include "transport/wire.h"
#include "zab/message.h"

namespace grpc {
class Service;
class ServerBuilder;
}

namespace synod::transport {

struct PeerNetworkConfig {
  zab::PeerId self = 0;
  std::string listen;       // this peer's own address ("host:port")
  // The ensemble's identity (docs/membership.md): links whose hello names
  // another are refused.
  std::string ensemble_id;
  // The members' addresses to start with (see SetAddresses).
  std::map<zab::PeerId, std::string> addresses;
  WireLimits limits;
  // Reconnect backoff: doubles from min to max after each failed attempt,
  // back to min once a link carries a frame.
  absl::Duration min_backoff = absl::Milliseconds(20);
  absl::Duration max_backoff = absl::Seconds(1);
  // Frames queued for one destination beyond this are dropped (all of them).
  // A leader queues a whole snapshot for a learner at once (SNAP), so this
  // bounds the snapshot a learner can be sent; otherwise a queue only grows
  // while its link is down, and the core stops sending to a silent peer
  // within its timeout.
  size_t max_queued_bytes = size_t{4} << 30;
  // Receives the network's log records (link up/down, refusals).
  std::function<void(LogLevel, std::string_view)> log;
  // The links' credentials (plaintext, or mutual TLS: transport/tls.h).
  // Null: plaintext.
  std::shared_ptr<const TransportCredentials> credentials;
  // The ensemble secret (Options::ensemble_secret; empty: none). With one,
  // a link opens only between peers that both prove it
  // (transport/link_auth.h); a peer with a secret and one without never
  // link.
  std::string secret;
};

struct PeerNetworkHandler {
  // A validated zab message addressed to this peer.
  std::function<void(zab::Message&&)> on_message;
  // A peer reports the sessions it keeps alive (see SendTouch), as of
  // `sent_ms` on its clock.
  std::function<void(zab::PeerId from, std::vector<int64_t>&& sessions,
                     int64_t sent_ms)>
      on_touch;
  // A leader acknowledges the touch this peer sent at `sent_ms`, but for
  // the sessions `untracked` (see SendTouchAck).
  std::function<void(zab::PeerId from, int64_t sent_ms,
                     std::vector<int64_t>&& untracked)>
      on_touch_ack;
};

// Returns the id of an ensemble founded by `seeds`: a digest of the sorted,
// deduplicated addresses. Founders with different seed lists get different
// ids, so their links refuse each other.
std::string EnsembleId(std::vector<std::string> seeds);

class PeerNetwork {
 public:
  PeerNetwork(PeerNetworkConfig config, PeerNetworkHandler handler);
  // Shuts down (see Shutdown).
  ~PeerNetwork();

  PeerNetwork(const PeerNetwork&) = delete;
  PeerNetwork& operator=(const PeerNetwork&) = delete;

  // The PeerLink service, for the owner to register on its server before
  // starting it. Owned by this object.
  grpc::Service* service();

  // Applies to `builder` the server settings the links need: a receive
  // limit that fits the largest frame within `limits` (gRPC's default is
  // 4 MiB), and a ping policy that admits the senders' keepalive pings (by
  // default a gRPC server ends, with GOAWAY "too_many_pings", a connection
  // pinged more often than every 5 minutes while it sends no data, which an
  // idle link is after a few seconds). The owner calls it on the builder it
  // registers service() with. It also makes the server ping idle clients
  // every few seconds, so a link from a peer that vanished ends.
  void ConfigureServer(grpc::ServerBuilder* builder) const;

  // Queues `m` for `m.to` (m.from is set to this peer). Never blocks.
  // Messages to peers of no known address are dropped.
  void Send(zab::Message m);
  // Queues, in order with Send, the list of sessions this peer keeps alive,
  // stamped with this peer's clock `sent_ms`.
  void SendTouch(zab::PeerId to, std::vector<int64_t> sessions,
                 int64_t sent_ms);
  // Queues, in order with Send, a leader's acknowledgement of the touch
  // `to` sent at `sent_ms`, naming the sessions of it the leader does not
  // track.
  void SendTouchAck(zab::PeerId to, int64_t sent_ms,
                    std::vector<int64_t> untracked);

  // The address of `peer` if known ("" otherwise).
  std::string AddressOf(zab::PeerId peer) const;

  // The configuration's addresses, now: each one that differs from what the
  // last call (or the constructor) gave replaces what the network knows of
  // that peer (a hello may have taught it since). Links to a peer whose
  // address changed reconnect to the new one.
  void SetAddresses(const std::map<zab::PeerId, std::string>& addresses);

  // Records that `peer` listens on `address`, if nothing else says where it
  // does (a leader named in a decided peer's election reply). Addresses
  // longer than zab::kMaxAddressBytes are ignored.
  void LearnAddress(zab::PeerId peer, const std::string& address);

  // Stops the sender threads and makes the service refuse and end every
  // stream; no handler runs after it returns. The owner shuts its server
  // down after this. Idempotent.
  void Shutdown();

  // Fault injection, for tests: while `blocked`, every frame to `peer` is
  // dropped and every frame from it is ignored (a partition).
  void SetBlocked(zab::PeerId peer, bool blocked);

  // Counters, for health and tests.
  struct Stats {
    int64_t frames_sent = 0;
    int64_t frames_received = 0;
    int64_t frames_dropped = 0;   // queue overflow, blocked, unknown peer
    int64_t links_refused = 0;    // inbound streams ended for a broken rule
    int64_t connects = 0;         // outbound streams accepted by the receiver
  };
  Stats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_PEER_NETWORK_H_
